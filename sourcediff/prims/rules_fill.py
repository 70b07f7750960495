"""Rules of the functions that build an array from values (read a line as in
:mod:`sourcediff.prims.rules`).

``np.full``, ``np.full_like``, ``np.linspace`` and ``np.arange`` carry the gradient of
the values they are given (fill value, start, stop, step); their shapes, counts and
dtypes carry none. ``np.random.normal(loc, scale)`` draws: its result depends on ``loc``
and ``scale`` only through a draw the rule cannot see, so a differentiated ``loc`` or
``scale`` is refused (write ``loc + scale * np.random.standard_normal(size)``).
"""

from __future__ import annotations

import numpy as np

from ..runtime import numeric_fill as nf
from .registry import defrule

defrule(np.full, "shape, fill_value, dtype=None, order='C'",
        (None, "unbroadcast(g, fill_value)"), (None, "np.full(np.shape(ans), dfill_value)"),
        fresh=True, like=True, shaped=True)
defrule(np.full_like, "a, fill_value, dtype=None, order='K', subok=True, shape=None",
        (None, "unbroadcast(g, fill_value)"), (None, "np.full(np.shape(ans), dfill_value)"),
        fresh=True, like=True, shaped=True)
defrule(np.linspace, "start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0",
        ("linspace_cot(g, start, stop, num, endpoint, retstep, axis, 0)",
         "linspace_cot(g, start, stop, num, endpoint, retstep, axis, 1)"),
        ("linspace_dot(dstart, ans, num, endpoint, axis, 0)",
         "linspace_dot(dstop, ans, num, endpoint, axis, 1)"), fresh=True, shaped=True)
defrule(nf.linspace_cot, "v, start, stop, num=50, endpoint=True, retstep=False, axis=0, which=0",
        ("linspace_dot(g, v, num, endpoint, axis, which)", None, None),
        ("linspace_cot(dv, start, stop, num, endpoint, retstep, axis, which)", None, None))
defrule(nf.linspace_dot, "d, ans_, num=50, endpoint=True, axis=0, which=0",
        ("linspace_cot(g, d, d, num, endpoint, False, axis, which)", None),
        ("linspace_dot(dd, ans_, num, endpoint, axis, which)", None))
defrule(np.arange, "start, stop=None, step=None, dtype=None",
        ("arange_cot(g, stop, 0)", None, "arange_cot(g, stop, 2)"),
        ("arange_dot(dstart, ans, stop, 0)", None, "arange_dot(dstep, ans, stop, 2)"), fresh=True,
        shaped=True)
defrule(nf.arange_cot, "v, stop, which=0", ("arange_dot(g, v, stop, which)", None),
        ("arange_cot(dv, stop, which)", None))
defrule(nf.arange_dot, "d, ans_, stop, which=0", ("arange_cot(g, stop, which)", None, None),
        ("arange_dot(dd, ans_, stop, which)", None, None))
defrule(np.heaviside, "x1, x2", deriv=(None, "x1 == 0"), broadcast=True)
defrule(np.random.normal, "loc=0.0, scale=1.0, size=None", refuse=("loc", "scale"))

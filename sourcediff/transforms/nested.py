"""Forward over forward: the tangent of a Jacobian ``jacobian(f)`` made, so that
``jacobian(jacobian(f))`` and ``jvp(jacobian(f), ...)`` compose.

Column ``m`` of ``jacobian(f)(*args)`` is ``jvp(f, args, e_m)``: the tangent code
sourcediff generates for ``f``, plain Python ``T(*args, x_dot) -> (out, out_dot)``. Its
own tangent along the arguments' tangents is one more forward pass, over that generated
code, which the compiler reads like user code: ``jvp(T, (*args, e_m), (*tangents, 0))``.
Exact second directional derivatives, one pass per column, whichever mode the Jacobian
itself took (the matrix is the same).

Only for ``f`` a plain Python function (not a gradient, a method or a function
sourcediff made) with an integer ``wrt``, every argument a float or float array passed
by position, and one array output; any other Jacobian sourcediff made is refused as
before (:mod:`front.own`).
"""

from __future__ import annotations

import types

import numpy as np

from ..front import own
from ..opt.shapes import spec_of
from ..pipeline.compiled import flat_primals, jvp_adjoint
from ..runtime import zeros_tangent
from .jvp_inputs import float_leaf

TAG = "__sourcediff_jacobian__"  # on the function jacobian(f, wrt) returns: (f, wrt)


def tag(jac, fn, wrt):
    """``jac``, remembering it is ``jacobian(fn, wrt)``."""
    setattr(jac, TAG, (fn, wrt))
    return jac


def of(fn, primals):
    """``(f, wrt)`` if ``fn`` is ``jacobian(f, wrt)`` of a kind whose tangent this module
    takes at ``primals``, else None."""
    made = getattr(fn, TAG, None)
    if made is None or getattr(fn, own.MADE_BY, None) is not None:  # (hessian: refused)
        return None
    f, wrt = made
    if not isinstance(f, types.FunctionType) or own.is_own(f) or any(
            getattr(f, a, None) is not None for a in ("plain_function",
                                                      "__sourcediff_state__")):
        return None
    if type(wrt) is not int or not 0 <= wrt < len(primals) or not all(
            float_leaf(p) for p in primals):
        return None
    if flat_primals(f, tuple(primals))[2]:  # (*args filled: positions differ)
        return None
    return f, wrt


def tangent(fn, primals, tangents, jvp):
    """``(J, dJ)``: ``fn = jacobian(f, wrt)`` at ``primals`` and its tangent along
    ``tangents``, by ``jvp`` over ``f``'s generated tangent code; None if ``fn`` is not
    such a Jacobian (:func:`of`)."""
    made = of(fn, primals)
    if made is None:
        return None
    f, wrt = made
    out = fn(*primals)
    x = primals[wrt]
    if not isinstance(out, (np.ndarray, float, np.floating)):
        return None  # (a tuple of blocks: refused)
    shape_f = np.shape(out)[:np.ndim(out) - np.ndim(x)]
    T = jvp_adjoint(f, (wrt,), spec_of(tuple(primals))).fn
    cols = []
    for m in range(int(np.size(x))):
        e = np.zeros(np.shape(x))
        e.flat[m] = 1.0
        e = e if np.ndim(x) else float(e)
        t = jvp(T, (*primals, e), (*tangents, zeros_tangent(e)))[1][1]
        cols.append(np.ravel(np.broadcast_to(t, shape_f)))
    dJ = np.stack(cols, axis=-1).reshape(np.shape(out)) if cols else np.zeros(np.shape(out))
    return out, dJ if np.ndim(out) else float(dJ)

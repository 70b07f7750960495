"""The rule of ``scipy.integrate.odeint`` (issue #18), by the adjoint method
(:mod:`sourcediff.runtime.numeric_ode`), registered when SciPy is importable. The user's ``func``
is differentiated by sourcediff itself (its own generated adjoint and tangent code).
Differentiable in ``y0`` and ``args``; ``t`` is refused, and so is a second derivative
(``odeint_vjp`` has no rule).
"""

from __future__ import annotations

import scipy.integrate as si

from ..runtime import numeric_ode
from .. import runtime as rt
from .registry import defrule

rt.HELPERS.update(numeric_ode.HELPERS)
_OPTS = "rtol, atol, tfirst, full_output"
defrule(si.odeint, "func, y0, t, args=(), Dfun=None, col_deriv=0, full_output=0, ml=None, "
        "mu=None, rtol=None, atol=None, tcrit=None, h0=0.0, hmax=0.0, hmin=0.0, ixpr=0, "
        "mxstep=0, mxhnil=0, mxordn=12, mxords=5, printmessg=0, tfirst=False",
        {"func": None, "y0": f"odeint_vjp(g, ans, func, y0, t, args, {_OPTS})[0]"},
        {"y0": f"odeint_jvp(func, y0, t, args, dy0, None, {_OPTS})",
         "args": f"odeint_jvp(func, y0, t, args, None, dargs, {_OPTS})"},
        seq_vjp={"args": f"odeint_vjp(g, ans, func, y0, t, args, {_OPTS})[1]"},
        name="scipy.integrate.odeint")

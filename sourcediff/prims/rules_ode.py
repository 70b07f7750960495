"""The rule of ``scipy.integrate.odeint`` (issue #18), by the adjoint method
(:mod:`sourcediff.runtime.numeric_ode`), registered when SciPy is importable. The user's ``func``
is differentiated by sourcediff itself (its own generated adjoint and tangent code).
Differentiable in ``y0`` and ``args`` to second order (``hessian``, ``vjp(grad(f))``):
the adjoint solves ``odeint_vjp`` and ``odeint_vjp_args`` have rules of their own, by the
tangent of the backward solve (``odeint_hvp``). ``t`` is refused, and so is a third
derivative (``odeint_hvp`` and ``odeint_jvp`` are not differentiated again).
"""

from __future__ import annotations

import scipy.integrate as si

from ..runtime import numeric_ode as no
from .. import runtime as rt
from .registry import defrule

rt.HELPERS.update(no.HELPERS)
_OPTS = "rtol, atol, tfirst, full_output"
_AT = f"func, y0, t, args, {_OPTS}"   # the arguments every helper takes after its own
_TIMES = "the output times: no rule; scale time by a parameter of func instead"
defrule(si.odeint, "func, y0, t, args=(), Dfun=None, col_deriv=0, full_output=0, ml=None, "
        "mu=None, rtol=None, atol=None, tcrit=None, h0=0.0, hmax=0.0, hmin=0.0, ixpr=0, "
        "mxstep=0, mxhnil=0, mxordn=12, mxords=5, printmessg=0, tfirst=False",
        {"func": None, "y0": f"odeint_vjp(g, {_AT})"},
        {"y0": f"odeint_jvp(func, y0, t, args, dy0, None, {_OPTS})",
         "args": f"odeint_jvp(func, y0, t, args, None, dargs, {_OPTS})"},
        seq_vjp={"args": f"unflat_cot(odeint_vjp_args(g, {_AT}), args)"},
        name="scipy.integrate.odeint", why={"t": _TIMES})

# The adjoint solves are v . J with J odeint's derivative in (y0, args): linear in v, whose
# reverse rule is J g (odeint_jvp). In y0 and args their tangent along d is v . H[d, .]
# (odeint_hvp), and so is their cotangent for g (H is symmetric).
_HELPER = "v, func, y0, t, args=(), rtol=None, atol=None, tfirst=False, full_output=0"
for _fn, _i, _dir in ((no.odeint_vjp, 0, "g, None"),
                      (no.odeint_vjp_args, 1, "None, unflat_cot(g, args)")):
    defrule(_fn, _HELPER,
            {"v": f"odeint_jvp(func, y0, t, args, {_dir}, {_OPTS})", "func": None,
             "y0": f"odeint_hvp(v, func, y0, t, args, {_dir}, {_OPTS})[0]"},
            {"v": f"{_fn.__name__}(dv, {_AT})",
             "y0": f"odeint_hvp(v, func, y0, t, args, dy0, None, {_OPTS})[{_i}]",
             "args": f"odeint_hvp(v, func, y0, t, args, None, dargs, {_OPTS})[{_i}]"},
            seq_vjp={"args": f"unflat_cot(odeint_hvp(v, func, y0, t, args, {_dir}, "
                             f"{_OPTS})[1], args)"}, why={"t": _TIMES})
# the vector of args' cotangents, cut into args' shapes, and back: linear, each the
# other's transpose
defrule(no.unflat_cot, "vec, like", ("flat_cot(g, like)", None), ("unflat_cot(dvec, like)",
                                                                    None))
defrule(no.flat_cot, "c, like", {"like": None}, {"c": "flat_cot(dc, like)"},
        seq_vjp={"c": "unflat_cot(g, like)"})

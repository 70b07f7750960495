"""More of ``scipy.special`` (issue #18): Gamma and Beta relatives and Bessel functions,
registered when SciPy is importable (:mod:`sourcediff.prims.rules_scipy` imports this module).

Integer orders (``jn``'s and ``yn``'s ``n``, ``multigammaln``'s ``d``) carry no gradient; a
real order (``jv``, ``yv``, ``iv``, ``ive``'s ``v``) and ``betainc``'s ``a`` and ``b`` have
no closed-form derivative and are refused (a ``MissingRuleError``). The incomplete gamma
functions are differentiated in their order ``a`` by a series
(:mod:`sourcediff.runtime.numeric_special`).
"""

from __future__ import annotations

import scipy.special as sp

from ..runtime import numeric_special as ns
from .. import runtime as rt
from .registry import defrule
from .rules_complex import refuse_complex

rt.HELPERS.update(ns.HELPERS)
rt.HELPERS.update({f"sp_{n}": getattr(sp, n) for n in
                   ("betaln", "j0", "j1", "jv", "y0", "y1", "yv", "i0", "i1", "iv", "ive")})


def _rule(fn, params, vjp=(), jvp=(), **kw):
    defrule(fn, params, vjp, jvp, name=f"scipy.special.{fn.__name__}", **kw)


def _elementwise(fn, params, derivs):
    """An elementwise function from ``d(fn)/d(param)`` templates (None: no gradient;
    "REFUSE": no rule, an error when a differentiated value reaches it)."""
    names = [p.strip().split("=")[0] for p in params.split(",")]
    _rule(fn, params, deriv={n: None if d is None else f"({d})"
                             for n, d in zip(names, derivs) if d != "REFUSE"}, broadcast=True)


_elementwise(sp.rgamma, "x", ("-ans * sp_digamma(x)",))
_elementwise(sp.beta, "a, b", ("ans * (sp_digamma(a) - sp_digamma(a + b))",
                               "ans * (sp_digamma(b) - sp_digamma(a + b))"))
_rule(sp.betainc, "a, b, x",
      {"x": "unbroadcast(g * np.exp((a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - "
            "sp_betaln(a, b)), x)"},
      {"x": "broadcast_like(dx * np.exp((a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - "
            "sp_betaln(a, b)), ans)"})
_MULTI = "np.sum(sp_digamma(np.expand_dims(a, -1) - 0.5 * np.arange(d)), axis=-1)"
_rule(sp.multigammaln, "a, d", deriv=(_MULTI, None))

# Bessel functions: J, Y (and their recurrences), I and the scaled I
_elementwise(sp.j0, "x", ("-sp_j1(x)",))
_elementwise(sp.j1, "x", ("0.5 * (sp_j0(x) - sp_jv(2, x))",))
_elementwise(sp.jv, "v, x", ("REFUSE", "0.5 * (sp_jv(v - 1, x) - sp_jv(v + 1, x))"))
_elementwise(sp.y0, "x", ("-sp_y1(x)",))
_elementwise(sp.y1, "x", ("0.5 * (sp_y0(x) - sp_yv(2, x))",))
_elementwise(sp.yv, "v, x", ("REFUSE", "0.5 * (sp_yv(v - 1, x) - sp_yv(v + 1, x))"))
_elementwise(sp.yn, "n, x", (None, "0.5 * (sp_yv(n - 1, x) - sp_yv(n + 1, x))"))
_elementwise(sp.i0, "x", ("sp_i1(x)",))
_elementwise(sp.i1, "x", ("0.5 * (sp_i0(x) + sp_iv(2, x))",))
_elementwise(sp.iv, "v, x", ("REFUSE", "0.5 * (sp_iv(v - 1, x) + sp_iv(v + 1, x))"))
_elementwise(sp.ive, "v, x", ("REFUSE", "0.5 * (sp_ive(v - 1, x) + sp_ive(v + 1, x)) - "
                                        "np.sign(x) * ans"))
refuse_complex(sp.ive, "x")   # (exp(-|Re x|) is not holomorphic: this rule is for real x)

# the incomplete gamma functions, in x (closed form) and in a (series: numeric_special)
_F = "np.exp((a - 1.0) * np.log(x) - x - sp_gammaln(a))"         # dP/dx
for _fn, _s in ((sp.gammainc, ""), (sp.gammaincc, "-")):
    _rule(_fn, "a, x", (f"unbroadcast({_s}g * gammainc_da(a, x), a)",
                        f"unbroadcast({_s}g * {_F}, x)"),
          (f"broadcast_like({_s}da * gammainc_da(a, x), ans)",
           f"broadcast_like({_s}dx * {_F}, ans)"))
_L = "(np.log(x) - sp_digamma(a))"
_DXN = f"{_F} * ({_L} if n == 1 else {_L} ** 2 - sp_polygamma(1, a))"   # d/dx d^nP/da^n
defrule(ns.gammainc_da, "a, x, n=1", ("unbroadcast(g * gammainc_da(a, x, n + 1), a)",
                                      f"unbroadcast(g * {_DXN}, x)"),
        ("broadcast_like(da * gammainc_da(a, x, n + 1), ans)",
         f"broadcast_like(dx * {_DXN}, ans)"))

"""Rules of SciPy's special functions and triangular solves (issue #18), registered only
when SciPy is importable (:mod:`sourcediff.prims.rules` tries); the rest of SciPy's are in
:mod:`sourcediff.prims.rules_special`, :mod:`sourcediff.prims.rules_stats`, :mod:`sourcediff.prims.rules_ode`
(imported at the end) and :mod:`sourcediff.prims.rules_matfun`. A call with keywords
(``logsumexp(z, axis=1, keepdims=True)``) binds them to these parameters.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sl
import scipy.special as sp
import scipy.stats as st

from .. import runtime as rt
from .registry import defnondiff, defrule
from .rules_complex import refuse_complex

# the templates call SciPy by these names
rt.HELPERS.update(sp_digamma=sp.digamma, sp_polygamma=sp.polygamma, sp_xlogy=sp.xlogy,
                  sp_xlog1py=sp.xlog1py, sp_gammaln=sp.gammaln,
                  solve_triangular=sl.solve_triangular,
                  cho_solve=sl.cho_solve)


def _rule(fn, params, vjp=(), jvp=(), **kw):
    where = "scipy.linalg" if getattr(sl, fn.__name__, None) is fn else "scipy.special"
    defrule(fn, params, vjp, jvp, name=f"{where}.{fn.__name__}", **kw)


_rule(sp.gammaln, "x", deriv="sp_digamma(x)")
_rule(sp.digamma, "x", deriv="sp_polygamma(1, x)")
_rule(sp.polygamma, "n, x", deriv=(None, "sp_polygamma(n + 1, x)"))
_rule(sp.gamma, "x", deriv="ans * sp_digamma(x)")
_rule(sp.erf, "x", deriv="1.1283791670955126 * np.exp(-x * x)")
refuse_complex(sp.digamma, "x")   # (its derivative: polygamma, real only in SciPy)
_rule(sp.erfc, "x", deriv="-1.1283791670955126 * np.exp(-x * x)")
_rule(sp.erfinv, "y", deriv="0.886226925452758 * np.exp(ans * ans)")
_rule(sp.erfcinv, "y", deriv="-0.886226925452758 * np.exp(ans * ans)")
# the regularised incomplete gamma functions: rules_special.py
_rule(sp.expit, "x", deriv="ans * (1 - ans)")
_rule(sp.logit, "x", deriv="1 / (x * (1 - x))")
_rule(sp.xlogy, "x, y", ("sp_xlogy(g, y)", "g * x / y"), ("sp_xlogy(dx, y)", "dy * x / y"),
      broadcast=True)
_rule(sp.xlog1py, "x, y", ("sp_xlog1py(g, y)", "g * x / (1 + y)"),
      ("sp_xlog1py(dx, y)", "dy * x / (1 + y)"), broadcast=True)
_rule(sp.betaln, "a, b",
      deriv=("sp_digamma(a) - sp_digamma(a + b)", "sp_digamma(b) - sp_digamma(a + b)"),
      broadcast=True)
_SHARE = "np.exp(a - unreduce(ans, a, axis, keepdims))"
_rule(sp.logsumexp, "a, axis=None, b=None, keepdims=False",
      (f"unreduce(g, a, axis, keepdims) * {_SHARE} * (1.0 if b is None else b)", None,
       f"unbroadcast(unreduce(g, a, axis, keepdims) * {_SHARE}, b)"),
      (f"np.sum(da * {_SHARE} * (1.0 if b is None else b), axis=axis, keepdims=keepdims)",
       None, f"np.sum(db * {_SHARE}, axis=axis, keepdims=keepdims)"))
_rule(sp.softmax, "x, axis=None", ("ans * (g - np.sum(g * ans, axis=axis, keepdims=True))",),
      ("ans * (dx - np.sum(dx * ans, axis=axis, keepdims=True))",))
_rule(sp.log_softmax, "x, axis=None", ("g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True)",),
      ("dx - np.sum(np.exp(ans) * dx, axis=axis, keepdims=True)",))

# scipy.stats.norm: z = (x - loc) / scale; each template is d/d(x, loc, scale) times g
_Z = "((x - loc) / scale)"
_PDF = f"(np.exp(-0.5 * {_Z} ** 2) / (2.5066282746310002 * scale))"
for _how, _f in (("logpdf", "1.0"), ("pdf", "ans")):
    defrule(st.norm.__getattribute__(_how), "x, loc=0, scale=1",
            tuple(f"g * {_f} * {d}" for d in (f"-{_Z} / scale", f"{_Z} / scale",
                                               f"({_Z} ** 2 - 1.0) / scale")),
            tuple(f"d{v} * {_f} * {d}" for v, d in (("x", f"-{_Z} / scale"),
                                                     ("loc", f"{_Z} / scale"),
                                                     ("scale", f"({_Z} ** 2 - 1.0) / scale"))),
            broadcast=True, name=f"scipy.stats.norm.{_how}")
_LOGPDF = f"(-0.5 * {_Z} ** 2 - np.log(2.5066282746310002 * scale))"   # (tails: no log(0))
for _how, _f in (("cdf", _PDF), ("logcdf", f"np.exp({_LOGPDF} - ans)")):
    defrule(st.norm.__getattribute__(_how), "x, loc=0, scale=1",
            tuple(f"g * {_f} * {d}" for d in ("1.0", "-1.0", f"-{_Z}")),
            tuple(f"d{v} * {_f} * {d}" for v, d in (("x", "1.0"), ("loc", "-1.0"),
                                                     ("scale", f"-{_Z}"))),
            broadcast=True, name=f"scipy.stats.norm.{_how}")

# x = solve_triangular(a, b): reads one triangle of a (and not its diagonal if unit_diagonal)
_GB = ("solve_triangular(a, g, trans=1 - tri_trans(trans), lower=lower, "
       "unit_diagonal=unit_diagonal)")
_OUTER = "np.matmul(np.reshape({}, (np.shape(a)[0], -1)), np.transpose(np.reshape({}, (np.shape(a)[0], -1))))".format
_rule(sl.solve_triangular, "a, b, trans=0, lower=False, unit_diagonal=False",
      (f"-tri_part({_OUTER(_GB, 'ans')} if tri_trans(trans) == 0 else {_OUTER('ans', _GB)}, "
       "lower, unit_diagonal)", _GB),
      ("solve_triangular(a, -np.reshape(np.matmul(tri_part(da, lower, unit_diagonal) if "
       "tri_trans(trans) == 0 else np.transpose(tri_part(da, lower, unit_diagonal)), "
       "np.reshape(ans, (np.shape(a)[0], -1))), np.shape(ans)), trans=trans, lower=lower, "
       "unit_diagonal=unit_diagonal)",
       "solve_triangular(a, db, trans=trans, lower=lower, unit_diagonal=unit_diagonal)"))


def tri_trans(trans):
    """``solve_triangular``'s ``trans`` as 0 (a) or 1 (a.T); 'C' of a real a is 'T'."""
    return {0: 0, "N": 0, 1: 1, "T": 1, 2: 1, "C": 1}[trans]


def tri_part(m, lower=False, unit_diagonal=False):
    """The part of ``m`` a triangular solve reads."""
    part = np.tril(m) if lower else np.triu(m)
    return part - m * np.eye(np.shape(m)[-1]) if unit_diagonal else part


rt.HELPERS.update(tri_trans=tri_trans, tri_part=tri_part)
defrule(tri_part, "m, lower=False, unit_diagonal=False", ("tri_part(g, lower, unit_diagonal)",),
        ("tri_part(dm, lower, unit_diagonal)",))
defnondiff(tri_trans)
from . import rules_special, rules_stats  # noqa: E402,F401  (more of scipy.special; scipy.stats)
from . import rules_ode  # noqa: E402,F401  (scipy.integrate.odeint)

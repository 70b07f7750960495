"""Rules of ``scipy.stats`` distributions (issue #18), registered when SciPy is importable
(:mod:`sourcediff.prims.rules_scipy` imports this module).

A continuous location-scale family is written once from its standard log-density
``l(z; shapes)``, ``z = (x - loc) / scale``: ``logpdf = l(z) - log(scale)``, so each
method's rule needs only ``l'(z)`` and ``dl/dshape``. ``cdf``/``sf`` (and their logs) are
differentiated in ``x``, ``loc`` and ``scale`` (through the density); in a shape
parameter they are differentiated where the incomplete gamma function's order derivative
serves (``gamma``'s ``a``, ``chi2``'s ``df``) and refused otherwise (``t``'s ``df``,
``beta``'s ``a`` and ``b``): a ``MissingRuleError``, never a silent zero. ``poisson`` is differentiated in ``mu`` (``k``
and ``loc`` are integers: its functions are piecewise constant in them),
``multivariate_normal.logpdf/pdf`` in ``x``, ``mean`` and ``cov`` (a number, a diagonal or
a matrix, read through its lower triangle as SciPy's ``eigh`` does), ``dirichlet.logpdf/pdf``
in ``x`` and ``alpha``.
"""

from __future__ import annotations

import scipy.stats as st

from ..runtime import numeric_stats
from .. import runtime as rt
from .registry import defnondiff, defrule

rt.HELPERS.update(numeric_stats.HELPERS)
_METHODS = ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "pmf", "logpmf")
for _dist in ("norm", "t", "beta", "gamma", "chi2", "poisson"):
    for _how in _METHODS:
        if hasattr(getattr(st, _dist), _how):
            rt.HELPERS[f"st_{_dist}_{_how}"] = getattr(getattr(st, _dist), _how)

_Z = "((x - loc) / scale)"


def _define(dist, how, params, vjps):
    """One method's rule from its reverse terms ``param -> d(method)/d(param)``; each
    forward term is the same derivative times the tangent."""
    defrule(getattr(getattr(st, dist), how), params,
            {p: f"g * {d}" for p, d in vjps.items()},
            {p: f"d{p} * ({d})" for p, d in vjps.items()},
            broadcast=True, name=f"scipy.stats.{dist}.{how}")


def location_scale(dist, shapes, dlz, dshape, methods=("pdf", "logpdf", "cdf", "logcdf", "sf",
                                                         "logsf"), cdf_shape=None):
    """Rules of a location-scale family from ``l'(z)`` (``dlz``) and ``dl/dshape``
    (``dshape``), both written in ``z``; ``cdf_shape``: ``d cdf/d shape`` where one is known
    (else the cdf's rules refuse the shape parameters)."""
    lead = "".join(f"{s}, " for s in shapes)
    params = f"x, {lead}loc=0, scale=1"
    dl = f"({dlz.format(z=_Z)})"
    dlog = {"x": f"{dl} / scale", "loc": f"-{dl} / scale",
            "scale": f"-({dl} * {_Z} + 1.0) / scale"}
    dlog.update({s: f"({d.format(z=_Z)})" for s, d in dshape.items()})
    args = f"x, {lead}loc, scale"
    pdf, logpdf = f"st_{dist}_pdf({args})", f"st_{dist}_logpdf({args})"
    dcdf = {"x": "1.0", "loc": "-1.0", "scale": f"-{_Z}"}    # times the density
    for how in methods:
        if how in ("logpdf", "pdf"):
            f = "" if how == "logpdf" else "ans * "
            vjps = {p: f + d for p, d in dlog.items()}
        else:
            f = {"cdf": pdf, "sf": f"-{pdf}", "logcdf": f"np.exp({logpdf} - ans)",
                 "logsf": f"-np.exp({logpdf} - ans)"}[how]
            vjps = {p: f"{f} * {d}" for p, d in dcdf.items()}
            for p, d in (cdf_shape or {}).items():
                d = f"({d.format(z=_Z)})"
                vjps[p] = {"cdf": d, "sf": f"-{d}", "logcdf": f"{d} * np.exp(-ans)",
                           "logsf": f"-{d} * np.exp(-ans)"}[how]
        _define(dist, how, params, vjps)


# norm: pdf, logpdf, cdf and logcdf are in rules_scipy (numerically guarded tails); the
# quantiles ppf and isf: ans = loc + scale z with z their standard quantile
location_scale("norm", (), "-{z}", {}, methods=("sf", "logsf"))
for _how, _s in (("ppf", ""), ("isf", "-")):
    _define("norm", _how, "q, loc=0, scale=1",
            {"q": f"{_s}scale * 2.5066282746310002 * np.exp(0.5 * ((ans - loc) / scale) ** 2)",
             "loc": "1.0", "scale": "((ans - loc) / scale)"})
location_scale("t", ("df",), "-(df + 1.0) * {z} / (df + {z} ** 2)",
               {"df": "0.5 * (sp_digamma(0.5 * (df + 1.0)) - sp_digamma(0.5 * df) - 1.0 / df"
                      " - np.log1p({z} ** 2 / df)) + (df + 1.0) * {z} ** 2 / "
                      "(2.0 * df * (df + {z} ** 2))"})
location_scale("beta", ("a", "b"), "(a - 1.0) / {z} - (b - 1.0) / (1.0 - {z})",
               {"a": "np.log({z}) - sp_digamma(a) + sp_digamma(a + b)",
                "b": "np.log1p(-{z}) - sp_digamma(b) + sp_digamma(a + b)"})
# (gamma's and chi2's cdf in their shape parameter: the incomplete gamma function's order)
location_scale("gamma", ("a",), "(a - 1.0) / {z} - 1.0",
               {"a": "np.log({z}) - sp_digamma(a)"}, cdf_shape={"a": "gammainc_da(a, {z})"})
location_scale("chi2", ("df",), "(0.5 * df - 1.0) / {z} - 0.5",
               {"df": "0.5 * (np.log(0.5 * {z}) - sp_digamma(0.5 * df))"},
               cdf_shape={"df": "0.5 * gammainc_da(0.5 * df, 0.5 * {z})"})

# poisson: in mu only (k and loc are integers); cdf(k) = Q(floor(k - loc) + 1, mu)
_K = "(np.asarray(k) - loc)"
_PMF_AT = f"st_poisson_pmf(np.floor({_K}), mu)"
_LOGPMF_AT = f"st_poisson_logpmf(np.floor({_K}), mu)"
for _how, _d in (("logpmf", f"({_K} / mu - 1.0)"), ("pmf", f"ans * ({_K} / mu - 1.0)"),
                 ("cdf", f"-{_PMF_AT}"), ("sf", _PMF_AT),
                 ("logcdf", f"-np.exp({_LOGPMF_AT} - ans)"),
                 ("logsf", f"np.exp({_LOGPMF_AT} - ans)")):
    defrule(getattr(st.poisson, _how), "k, mu, loc=0", (None, f"g * {_d}"),
            (None, f"dmu * ({_d})"), broadcast=True, name=f"scipy.stats.poisson.{_how}")

# multivariate_normal: x (..., d) (1-D x of d = 1: points); out: the batch shape, squeezed
_D = "mvn_dim(mean, cov)"
_XR = "np.reshape(x, mvn_xshape(x, mean, cov))"
_S = f"lower_sym(mvn_cov(cov, {_D}))"
_R = f"({_XR} - (0.0 if mean is None else mean))"
_SOL = f"np.linalg.solve({_S}, {_R}[..., None])[..., 0]"        # inv(S) (x - mean)
_DS = f"lower_sym(mvn_cov(dcov, {_D}))"
_FLAT = f"np.reshape({{}}, (-1, {_D}))".format                  # the batch as rows
_MVN_PARAMS = "x, mean=None, cov=1, allow_singular=False"
for _how, _g, _f in (("logpdf", "g", ""), ("pdf", "(g * ans)", " * ans")):
    _GB = f"np.reshape({_g}, np.shape({_R})[:-1])"
    defrule(getattr(st.multivariate_normal, _how), _MVN_PARAMS,
            {"x": f"np.reshape(unbroadcast(-{_GB}[..., None] * {_SOL}, {_XR}), np.shape(x))",
             "mean": f"unbroadcast({_GB}[..., None] * {_SOL}, mean)",
             "cov": f"mvn_cov_adj(lower_sym_adj(0.5 * (np.matmul(np.transpose("
                    f"{_FLAT(_GB + '[..., None] * ' + _SOL)}), {_FLAT(_SOL)}) - np.sum({_GB}) * "
                    f"np.linalg.inv({_S}))), cov)"},
            {"x": f"np.reshape(-np.sum(np.reshape(dx, np.shape({_XR})) * {_SOL}, axis=-1), "
                  f"np.shape(ans)){_f}",
             "mean": f"np.reshape(np.sum(dmean * {_SOL}, axis=-1), np.shape(ans)){_f}",
             "cov": f"np.reshape(0.5 * np.einsum('...i,ij,...j->...', {_SOL}, {_DS}, {_SOL}) - "
                    f"0.5 * np.trace(np.linalg.solve({_S}, {_DS})), np.shape(ans)){_f}"},
            name=f"scipy.stats.multivariate_normal.{_how}")

# dirichlet: x (K, ...) on the simplex, or its first K - 1 rows (the last is 1 - their sum)
_FULL = "(np.shape(x)[0] == np.shape(alpha)[0])"
_XF = (f"(x if {_FULL} else np.concatenate((x, 1.0 - np.sum(x, axis=0, keepdims=True)), "
       "axis=0))")
_AL = "np.reshape(alpha, np.shape(alpha) + (1,) * (np.ndim(x) - 1))"
_TX = f"(({_AL} - 1.0) / {_XF})"
_DX = f"({_TX}[:np.shape(x)[0]] - (0.0 if {_FULL} else {_TX}[-1:]))"    # dlogpdf/dx
_DA = f"(np.log({_XF}) - np.reshape(sp_digamma(alpha) - sp_digamma(np.sum(alpha)), np.shape({_AL})))"
for _how, _g, _f in (("logpdf", "g", ""), ("pdf", "(g * ans)", " * ans")):
    defrule(getattr(st.dirichlet, _how), "x, alpha",
            {"x": f"{_g} * {_DX}",
             "alpha": f"np.reshape(np.sum({_g} * {_DA}, axis=tuple(range(1, np.ndim(x)))), "
                      "np.shape(alpha))"},
            {"x": f"np.sum(dx * {_DX}, axis=0){_f}",
             "alpha": f"np.sum(np.reshape(dalpha, np.shape({_AL})) * {_DA}, axis=0){_f}"},
            name=f"scipy.stats.dirichlet.{_how}")

# the covariance helpers: each linear map's transpose is its partner
defrule(numeric_stats.mvn_cov, "cov, d", ("mvn_cov_adj(g, cov)", None), ("mvn_cov(dcov, d)", None))
defrule(numeric_stats.mvn_cov_adj, "g_, cov", ("mvn_cov(g, np.shape(g_)[-1])", None),
        ("mvn_cov_adj(dg_, cov)", None))
defnondiff(numeric_stats.mvn_dim, numeric_stats.mvn_xshape)

"""Helpers of the ``scipy.stats`` rules (:mod:`sourcediff.prims.rules_stats`).

``multivariate_normal`` accepts its covariance as a number (``c * I``), a vector (a
diagonal) or a matrix: ``mvn_cov`` is that reading (linear in ``cov``) and ``mvn_cov_adj``
its transpose; each is the other's rule, so the adjoints differentiate again.
"""

from __future__ import annotations

import numpy as np

from ..errors import MissingRuleError


def mvn_cov(cov, d):
    """The ``d x d`` covariance matrix ``multivariate_normal`` reads from ``cov``."""
    if np.ndim(cov) == 0:
        return cov * np.eye(d)
    if np.ndim(cov) == 1:
        return cov * np.eye(d)
    return cov


def mvn_cov_adj(g_, cov):
    """The transpose of :func:`mvn_cov`: a matrix cotangent as one of ``cov``'s shape."""
    if np.ndim(cov) == 0:
        return np.trace(g_)
    if np.ndim(cov) == 1:
        return np.diagonal(g_).copy()
    return g_


def mvn_dim(mean, cov):
    """The dimension ``multivariate_normal`` infers from its mean and covariance."""
    if mean is not None:
        return int(np.size(mean)) if np.ndim(mean) else (np.shape(cov) or (1,))[0]
    return (np.shape(cov) or (1,))[0]


def mvn_xshape(x, mean, cov):
    """The shape ``(..., d)`` in which ``multivariate_normal`` reads its points ``x``."""
    shape = np.shape(x)
    if len(shape) == 0:
        return (1,)
    if len(shape) == 1 and mvn_dim(mean, cov) == 1:
        return shape + (1,)
    return shape


def mvn_cdf_dx(x, mean, cov, lower_limit=None):
    """``d multivariate_normal.cdf(x, mean, cov) / dx`` at the points ``x`` (..., d): for
    each i the density of ``x_i`` times the cdf of the other coordinates given ``x_i``
    (a normal one; SciPy's own in two dimensions and more). Exact (to SciPy's accuracy
    of those cdfs: to machine precision up to three dimensions)."""
    if lower_limit is not None:
        raise MissingRuleError(
            "no derivative rule for scipy.stats.multivariate_normal.cdf with a lower_limit",
            construct="scipy.stats.multivariate_normal.cdf", hint="leave lower_limit None")
    from scipy.stats import multivariate_normal, norm
    d = mvn_dim(mean, cov)
    s = np.asarray(mvn_cov(cov, d), dtype=float)
    r = np.reshape(x, mvn_xshape(x, mean, cov)) - (0.0 if mean is None else mean)
    out = np.zeros(np.shape(r))
    for i in range(d):
        o = [j for j in range(d) if j != i]
        dens = norm.pdf(r[..., i], 0.0, np.sqrt(s[i, i]))
        if not o:
            out[..., i] = dens
            continue
        rest = r[..., o] - s[o, i] * r[..., i:i + 1] / s[i, i]   # given x_i, centred
        cond = s[np.ix_(o, o)] - np.outer(s[o, i], s[i, o]) / s[i, i]
        if len(o) == 1:
            below = norm.cdf(rest[..., 0], 0.0, np.sqrt(cond[0, 0]))
        else:
            below = np.reshape(multivariate_normal.cdf(rest, np.zeros(len(o)), cond),
                               np.shape(rest)[:-1])
        out[..., i] = dens * below
    return out


HELPERS = {"mvn_cdf_dx": mvn_cdf_dx, "mvn_cov": mvn_cov, "mvn_cov_adj": mvn_cov_adj, "mvn_dim": mvn_dim,
           "mvn_xshape": mvn_xshape}

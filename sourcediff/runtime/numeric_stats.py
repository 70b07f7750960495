"""Helpers of the ``scipy.stats`` rules (:mod:`sourcediff.prims.rules_stats`).

``multivariate_normal`` accepts its covariance as a number (``c * I``), a vector (a
diagonal) or a matrix: ``mvn_cov`` is that reading (linear in ``cov``) and ``mvn_cov_adj``
its transpose; each is the other's rule, so the adjoints differentiate again.
"""

from __future__ import annotations

import numpy as np


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


HELPERS = {"mvn_cov": mvn_cov, "mvn_cov_adj": mvn_cov_adj, "mvn_dim": mvn_dim,
           "mvn_xshape": mvn_xshape}

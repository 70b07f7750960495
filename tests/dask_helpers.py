"""Module-level losses for tests/test_dask.py: a gradient sent to a dask.distributed
worker is pickled by reference, so the worker process must be able to import them."""

import numpy as np


def poisson_nll(w, X, y):
    """A Poisson GLM (log link): mean of exp(Xw) - y * Xw."""
    z = X @ w
    return np.sum(np.exp(z) - y * z) / X.shape[0]


def logistic_nll(w, X, y, lam):
    z = X @ w
    nll = np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))
    return nll + 0.5 * lam * np.sum(w ** 2)


def mlp_loss(W1, b1, w2, X, y):
    h = np.tanh(X @ W1 + b1)
    return np.mean((h @ w2 - y) ** 2)


def where_loss(x, X):
    """np.where, and reductions over each axis (max along rows, mean down columns)."""
    z = X * x
    r = np.where(z > 0, z, 0.1 * z)
    return np.sum(np.max(r, axis=1)) + np.sum(np.mean(r ** 2, axis=0) * x)


def _scaled(v, s):
    return np.sum(v * v) * s


def calls_helper(x, X, s):
    """A user function called from differentiated code, a slice, a float argument."""
    t = X[:, 1:] @ x[1:] + x[0]
    return _scaled(np.sin(t), s) + s * s


def shard_value_and_grad(w, X, y):
    """What a worker runs on one shard: a NumPy result from Dask-free arrays."""
    from sourcediff import value_and_grad
    return value_and_grad(poisson_nll)(w, X, y)

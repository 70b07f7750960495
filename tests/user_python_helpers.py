"""Module-level functions for tests/test_user_python.py: pickled by reference, so a
fresh process (a multiprocessing worker) must be able to import them."""

import numpy as np


def rosen(x, y):
    return np.sum((1.0 - x) ** 2 + 100.0 * (y - x ** 2) ** 2)


def mse(w, X, y):
    return np.mean((X @ w - y) ** 2)


def helper(x):
    return x ** 2


def outer(x):
    return helper(x) * 3.0

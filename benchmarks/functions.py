"""The benchmarked functions, written as a user would write them: plain NumPy / math.

Every method differentiates exactly these definitions. sourcediff and tangent
read their source; autograd and JAX run the same source re-executed with ``np``
(and ``math``) bound to their own NumPy work-alikes (see ``methods.py``). Only
PyTorch needs its own spelling (``torch_versions.py``).

Keep this module's globals to ``math`` and ``np``: the re-execution relies on it.
"""

import math

import numpy as np


def scalar20(x, y):
    """(a) About twenty scalar operations on two Python floats."""
    a = x * y
    b = math.sin(a)
    c = b + x
    d = math.exp(c / 3.0)
    e = d * y - x
    f = math.log(1.0 + e * e)
    g = f / (1.0 + y * y)
    h = math.cos(g) * a
    k = math.sqrt(h * h + 1.0)
    return k * math.tanh(x - y)


def logistic(w, b, x, t, lam):
    """(b) The seed-002 logistic loss on Python floats."""
    z = w * x + b
    y = 1.0 / (1.0 + np.exp(-z))
    return 0.5 * (y - t) ** 2 + 0.5 * lam * w ** 2


def mlp(W1, b1, W2, b2, x, y):
    """(c, d) MLP, tanh hidden layer, softmax cross-entropy (``y`` one-hot), mean over batch."""
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    s = z - np.max(z, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.sum(y * (s - lse)) / x.shape[0]


def recurrence(a, b):
    """(e) A 1000-step scalar recurrence in a Python loop; the loss is the last state."""
    h = 0.5
    for _ in range(1000):
        h = np.tanh(a * h + b)
    return h


def rosenbrock(x):
    """(f) The n-dimensional Rosenbrock function."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

"""Found by the long fuzz run: a value overwritten in a loop whose final value is
never read keeps a scalar ``0.0`` adjoint; the rules of ``np.dot``/``@``,
``np.concatenate`` and ``np.stack`` indexed that placeholder like an array
("'float' object is not subscriptable")."""
import numpy as np


def f(a, b, w):
    y = a @ w
    s = 0.0
    for _ in range(2):
        y = np.concatenate([y, b]) * 0.5
        z = np.stack([y, y])  # noqa: F841
        y = np.dot(y[:2], w)
        s = s + np.sum(np.tanh(w))
    return s


VALUES = (np.array([0.3, -0.2]), np.array([1.0, 2.0]), np.array([[0.5, -1.0], [2.0, 0.1]]))
WRT = (0, 1, 2)
CHECK = "grad"
BUG = None  # fixed: those rules broadcast a scalar zero cotangent first

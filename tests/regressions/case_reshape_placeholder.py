"""Found by the final long fuzz run: ``v4 = np.reshape(v1, (2, 1))`` read only in the
branch not taken, so ``v4_bar`` stayed the scalar placeholder ``0.0`` and
``reshape_like(0.0, v1)`` failed ("cannot reshape array of size 1 into shape (2,)")."""
import numpy as np


def f(x0, x1, x2):
    v1 = np.arccosh(1.5 + (x0[1:]) ** 2)
    v2 = x1
    v4 = np.reshape(v1, (2, 1))
    if v2 > 0:
        b5 = 1.0 * v2
    else:
        b5 = np.mean(v4)
    return np.sum(x2) + np.mean(b5 * b5)


VALUES = (np.array([0.3, -0.5, 0.8]), 0.7, np.ones(2))
WRT = (0, 1)
CHECK = "grad"
BUG = None  # fixed: reshape_like passes a scalar zero placeholder through

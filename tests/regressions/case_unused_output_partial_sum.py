"""Found by the long fuzz run: a helper returns ``(np.sum(p0, axis=0), np.sum(p1,
axis=0))`` and the caller never uses the second; its cotangent stays a scalar zero
placeholder, and the adjoint of the partial sum tried to reshape it to (1, 3)."""
# ruff: noqa: B007
import numpy as np


def helper1(p0, p1):
    for i2 in range(1):
        v3 = np.arcsinh(p0[::2])
        p1 = np.tanh(0.5 * p1 + np.sum(v3))
    return np.sum(p0, axis=0), np.max(p1, axis=0)


def f(x0, x1):
    r5, r6 = helper1(x1, x0)
    return np.sum(r5)


VALUES = (np.array([[0.03546487, 1.35139109, -1.06752116]]),
          np.array([1.34594834, -0.56450564, -0.23002065]))
WRT = (0, 1)
CHECK = "grad"
BUG = None  # fixed: unreduce (and max/min/prod rules) let a scalar cotangent broadcast

"""Found by the long fuzz run: ``x1 = x1 * np.cos(u3)`` in a loop, where the final
``x1`` (2, 3) is never read (its adjoint is a scalar zero placeholder) and ``u3`` is
(1, 3): ``unbroadcast(0.0 * cos(u3), x1)`` tried to reshape (1, 3) into (2, 3)."""
# ruff: noqa: F841, E501, B007
import numpy as np


def helper4(p0, p1):
    return np.sqrt(1.0 + (p1[:, ::-1]) ** 2)


def f(x0, x1):
    c1 = x1, x0
    u2, u3 = c1
    r5 = helper4(u2, x1)
    for i6 in range(4):
        x0 = x0 + r5.sum()
    for i7 in range(1):
        v8 = (x1) / (1.0 + ((x0[0, 0])) ** 2)
        x0 = u3
        x1 = x1 * np.cos(u3)
    y9 = np.zeros(4)
    y9[1:] = np.cbrt(1.5 + np.tanh(r5[1]))
    return np.sum(y9) + np.mean(x0 * x0) + np.sum(np.sin(x0)) + np.sum(u3)


VALUES = (np.array([[0.10764073, -1.28622109, -1.30843509]]),
          np.array([[-1.12456298, -0.58099533, 0.99707902], [0.47440671, -0.68710502, -0.46530571]]))
WRT = 0
CHECK = "grad"
BUG = None  # fixed: a placeholder-sized cotangent broadcasts up to the operand's shape

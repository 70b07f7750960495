"""Found by the long fuzz run: ``r3`` comes out of a helper's tuple (so its adjoint
starts as None, a container's zero) and is then updated in a loop but never read
afterwards; the reverse loop negated its still-None adjoint ("bad operand type for
unary -: 'NoneType'")."""
import numpy as np


def helper1(p0):
    v2 = (0.5) ** 3
    return np.arccos(0.9 * np.tanh(v2)), np.arcsin(0.9 * np.tanh(p0))


def f(x0, d):
    r3, r4 = helper1(d['b'])
    v5 = r3
    y7 = np.zeros(4)
    for i8 in range(4):
        y7[i8] += (d['b'][0, 0]) + v5
    j9 = 0
    while j9 < 4:
        r3 = r3 + -(np.sqrt(1.0 + np.sum(y7 * y7)))
        j9 = j9 + 1
    return np.mean(y7 * y7) + 0.5 * np.sum(d['b'])


VALUES = (0.55, {"w": np.array([[-1.3385], [-0.8389]]), "b": np.array([[-0.9469], [-0.9723]])})
WRT = 1
CHECK = "grad"
BUG = None  # fixed: adjoints that may still be None are guarded where arithmetic reads them

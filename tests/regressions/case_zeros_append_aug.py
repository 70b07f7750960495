"""list.append + np.stack, np.zeros_like + item writes and x.copy() += / *= in one
function: the compiled gradient is wrong ([5, 6, 12]; the tape and FD give [6, 6, 9])."""
import numpy as np


def f(x):
    acc = []
    for i in range(3):
        acc.append(x * i)
    s = np.stack(acc)
    y = np.zeros_like(x)
    y[1] = x[0] * 2.0
    y[0] += x[2]
    z = x.copy()
    z += 1.0
    z *= x
    return np.sum(s) + np.sum(y) + np.sum(z)


VALUES = (np.array([0.0, 1.0, 2.0]),)
WRT = 0
CHECK = "grad"
BUG = None  # fixed in HEAD (was: see docstring)

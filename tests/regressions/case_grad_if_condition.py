"""grad with respect to a scalar used in an `if` condition, when nothing inside the
branch is active: the optimiser drops `_t1 = x > 0` (NameError) and the value (None)."""
import numpy as np


def f(x, y):
    if x > 0:
        y = 2.0 * y
    return x + np.sum(y)


VALUES = (0.5, np.array([1.0, 1.0, 1.0]))
WRT = 0
CHECK = "grad"
BUG = None  # fixed in HEAD (was: see docstring)

"""A name defined only inside the branch that is not taken: the reverse sweep reads it
anyway -> UnboundLocalError (also for a list built in one branch only)."""
import numpy as np


def f(x, s):
    if s > 0:
        b = x * 2.0
    else:
        c = [x, x]
        v = c[0] * 3.0
        b = v * v
    return np.sum(b)


VALUES = (np.array([1.0, 2.0, 3.0]), 0.5)
WRT = 0
CHECK = "grad"
BUG = None  # fixed in the working tree (was: branch-local names read in the reverse sweep of the other branch (UnboundLocalError))

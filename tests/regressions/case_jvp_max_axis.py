"""jvp of np.max(x, axis=0) (no keepdims): the forward rule calls
unreduce_select(1.0, ans, a, axis, True) with the reduced `ans` -> "cannot reshape"."""
import numpy as np


def f(x):
    return np.sum(np.max(x, axis=0))


VALUES = (np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]]),)
WRT = 0
CHECK = "jvp"
BUG = None  # fixed in HEAD (was: see docstring)

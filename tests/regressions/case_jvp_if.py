"""jvp of any function with an `if`: the branch condition (`_t1 = s > 0`) is dropped
from the generated tangent code, so it raises NameError: name '_t1' is not defined."""
import numpy as np


def f(x, s):
    if s > 0:
        z = x * 2.0
    else:
        z = x * 3.0
    return np.sum(z)


VALUES = (np.array([1.0, 2.0, 3.0]), 0.5)
WRT = (0, 1)
CHECK = "jvp"
BUG = None  # fixed in HEAD (was: see docstring)

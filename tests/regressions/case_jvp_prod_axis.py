"""jvp of np.prod(x, axis=1): the forward rule calls prod_vjp(..., keepdims=True) with
the non-keepdims `ans`, so it raises "operands could not be broadcast together"."""
import numpy as np


def f(x):
    return np.sum(np.prod(x, axis=1))


VALUES = (np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]]),)
WRT = 0
CHECK = "jvp"
BUG = None  # fixed in HEAD (was: see docstring)

"""A helper returning a tuple whose used element is a constant: the compiled adjoint
crashes with "cannot reshape array of size 1 into shape (2,3)" (expected: zeros)."""
import numpy as np


def helper(p):
    return 1.0 * p, 0.5


def f(x):
    a, b = helper(x)
    return np.sum(b)


VALUES = (np.ones((2, 3)),)
WRT = 0
CHECK = "grad"
BUG = None  # fixed in the working tree (was: inactive tuple element returned by a helper: reshape crash)

"""Found by the long fuzz run: a helper whose result does not depend on its argument
(``return np.tanh(np.sin(0.5))`` after a loop over the argument) got an adjoint without
a cotangent parameter, so ``vjp_call`` raised "helper_adjoint() takes 1 positional
argument but 2 were given"."""
import numpy as np


def helper(p0):
    j = 0
    while j < 3:
        p0 = p0 + p0[:, 0]
        j += 1
    return np.tanh(np.sin(0.5))


def f(x0):
    r = helper(x0)
    return np.sum(x0) * r


VALUES = (np.arange(9.0).reshape(3, 3) / 10,)
WRT = 0
CHECK = "grad"
BUG = None  # fixed: the adjoint of a call always takes the output cotangent

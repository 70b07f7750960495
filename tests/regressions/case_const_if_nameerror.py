"""Found by the CI fuzz (hypothesis-shrunk): nested `if` with a constant condition in the
else branch -> the compiled adjoint raises NameError: name '_t7' is not defined."""
# ruff: noqa: F841
import numpy as np


def f(x0, x1, x2, x3):
    if (0.5 - np.square(x2 @ x0)) > 0:
        b1 = np.arctan2((np.reshape(x0, (1, 3))), 1.5 + (2.0) ** 2)
    else:
        if 0.5 > 0:
            v3 = x3
            x1 = 1.0 * (x1[:, ::-1])
        b1 = np.arccos(0.9 * np.tanh(np.mean(x1, axis=0, keepdims=True)))
    v4 = (np.mean(b1)) / (1.0 + ((-0.75)) ** 2)
    return np.mean(v4 * v4) + np.sum(x0)


VALUES = (np.array([1.32916832, 0.03398266, 1.42873112]),
          np.array([[-1.25749193, 0.3220675, -0.37054025], [0.90570362, -0.97641655, 1.11490582]]),
          np.array([0.1318242, 1.20664524, -0.06853943]),
          np.array([-0.20851117, 0.86684015]))
WRT = (0, 1, 2, 3)
CHECK = "grad"
BUG = None

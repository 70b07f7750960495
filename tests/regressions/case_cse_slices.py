"""Found by the long fuzz run on the commit that made the optimiser's tree keys fast:
the new fingerprint did not record which field held a child node, so ``v1[:-1]`` and
``v1[::-1]`` got the same key, common subexpression elimination merged them, and the
forward pass computed ``v3 = v1[:-1]`` ("operands could not be broadcast together with
shapes (3,) (2,)"; with other shapes it would have been a wrong value). Fixed: the key
marks every child node's field (``tests/test_nodes.py`` checks it against ``gast.dump``)."""
# ruff: noqa: F841
import numpy as np
from numpy import array  # noqa: F401  (VALUES below is a repr)


def f(x0, x1):
    v1 = x0
    v2 = np.arccos(0.9 * np.tanh(v1[:-1]))
    v3 = v1[::-1]
    return np.mean(v3 * v3) + np.mean(v1 * v1)


VALUES = (array([0.41088506, -0.69063986, -1.37707943]), array(-1.45041709))
WRT = 0
CHECK = "grad"
BUG = None  # fixed: fingerprint marks child fields

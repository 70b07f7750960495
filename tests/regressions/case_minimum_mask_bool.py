"""Found by the long fuzz run: the rule of ``np.minimum`` is ``g * (a <= b)``; with
``g = 1.0`` constant folding dropped the ``1.0 *`` and left a boolean mask, which the
next rule negated ("The numpy boolean negative ... is not supported")."""
import numpy as np


def f(x1):
    v1 = np.minimum(np.divide(x1, 2.0 + np.sin(x1)), np.multiply(2.0, 0.3))
    return np.sum(v1)


VALUES = (-0.1575579914139582,)
WRT = 0
CHECK = "grad"
BUG = None  # fixed: 1.0 * mask keeps its 1.0 (a float), -mask * g becomes -g * mask

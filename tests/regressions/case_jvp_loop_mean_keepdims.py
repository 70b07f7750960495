# ruff: noqa: F841
"""Found by the long fuzz run (not minimised): forward mode crashes with "cannot reshape
array of size 1 into shape (3,3)" (a keepdims mean inside nested while/for loops)."""
import numpy as np


def f(x0, x1, x2, x3):
    v1 = np.sin(np.log2(1.0 + (np.dot(x3, x3)) ** 2))
    v2 = np.sum(x0)
    j3 = 0
    while j3 < 3:
        for _i4 in range(1):
            v5 = np.mean(v1, axis=0, keepdims=True)
            v6 = v5
            x2 = np.tanh(0.5 * x2 + x2)
        v7 = v2
        x3 = x3 + v1[2, 2]
        j3 = j3 + 1
    v8 = v1.sum(axis=0)
    return np.sum(v8) + np.mean(x1 * x1)


VALUES = (np.array([[1.32916832, 0.03398266, 1.42873112], [-1.25749193, 0.3220675, -0.37054025]]),
          np.array([[0.90570362, -0.97641655, 1.11490582], [0.1318242, 1.20664524, -0.06853943]]),
          -0.20851116681176052,
          np.array([[0.86684015, 1.452459, -0.39082262], [1.40679861, 1.28707916, -0.96692224],
                    [0.32655485, 0.61459424, 1.32841104]]))
WRT = 0
CHECK = "jvp"
BUG = None  # fixed in the working tree (was: jvp crash (reshape size 1 into (3,3)) with a keepdims mean in nested loops)

"""Found by the final long fuzz run: a WRONG GRADIENT. In the reverse sweep the ``if``
branch cut ``v5_bar`` to zero inside its loop; the ``else`` branch still believed that
zero and assigned ``v5_bar = ...`` instead of adding to the cotangent ``v5`` already had
from the return statement."""
# ruff: noqa: B007
import numpy as np


def f(x1, x2):
    for i4 in range(3):
        x2 = np.tanh(0.5 * x2 + np.mean(x2, axis=0, keepdims=True))
    v5 = np.expm1(np.mean(x2, axis=1))
    if x1 > 0:
        for i7 in range(2):
            v5 = np.sum(x2, axis=1)
        b6 = x1
    else:
        b6 = np.prod(1.5 + np.tanh(v5), axis=0)
    return np.sum(v5) + np.mean(b6 * b6)


VALUES = (-0.5, np.array([[0.68150461, 1.17521798, 0.23637624], [0.07649902, -0.94944733, 0.02165512]]))
WRT = 1
CHECK = "grad"
BUG = None  # fixed: zeros known in one branch, or in a loop, are forgotten after it

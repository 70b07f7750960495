"""Found by the long fuzz run on the final code: shape specialisation wrote the 2-D
matmul cotangent ``g @ b.T`` where ``g`` was a scalar zero placeholder ("matmul: Input
operand 0 does not have enough dimensions")."""
# ruff: noqa: B007, F841, E501
import numpy as np
from numpy import array  # noqa: F401  (VALUES below is a repr)


def f(x0, x1, x2, x3):
    v1 = (1.0 + (np.mean(x2, axis=1, keepdims=True)) ** 2) ** (0.5 * np.tanh(np.sum(x0)))
    for i2 in range(4):
        x2 = v1 @ x1
        x0 = np.maximum(x0 + x0, np.sum(v1))
        v1 = np.tanh(0.5 * v1 + np.max(x0))
    v3 = 0.5
    v4 = np.arcsin(0.9 * np.tanh((x0[0, 0]) + (np.arctanh(0.9 * np.tanh(x1 * np.ones((3, 3)))))))
    if v3 > 0:
        b5 = 1.0 * v3
    else:
        b5 = np.arccos(0.9 * np.tanh(v3))
    return np.sum(np.sin(v4)) + np.sum(b5)


VALUES = (array([[ 0.41088506, -0.69063986, -1.37707943],
       [-1.45041709,  0.93981072,  1.23826673]]), array([[0.31990733, 0.68848968, 0.13087497]]), array([[ 1.30521727,  0.94756066, -1.4917845 ],
       [ 1.07221283, -1.39924327,  0.68896634]]), array([[-0.97303314,  1.08953677,  0.12438366]]))
WRT = 1
CHECK = "grad"
BUG = None  # fixed: the 2-D formulas are used only when the cotangent's shape is known

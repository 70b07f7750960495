"""Found by the CI fuzz (hypothesis-shrunk, not minimised): the compiled adjoint
raises "TypeError: unsupported operand type(s) for *: 'NoneType' and 'float'"."""
# ruff: noqa: F841, E501
import numpy as np


def f(x0, x1, x2, x3):
    v1 = np.sqrt(1.0 + (x0) ** 2)
    v2 = (1.0 + ((x1[0]) / (1.0 + (np.mean(x1)) ** 2)) ** 2) ** 0.5
    if (np.maximum((v2[2]) - 0.25, np.arctan2(np.max(v2, axis=0), 1.5 + (np.sum(x3)) ** 2))) > 0:
        x3 = x3
        b3 = np.arctan2(x3, 1.5 + ((np.multiply((-0.75), np.sum(v1)))) ** 2)
    else:
        if (-1.25) > 0:
            b4 = np.matmul(v1, x2)
        elif np.max(v1) > 0:
            b4 = 1.0 * v1
        else:
            v5 = np.reciprocal(2.0 + np.cos(0.3))
            b4 = 0.5 * (np.hypot(np.mean(x0, axis=0, keepdims=True), 1.0 + (v2) ** 2))
        v6 = -0.75
        b3 = (x3) - 0.25
    if (-0.75) > 0:
        j8 = 0
        while j8 < 1:
            x3 = (1.0 + (0.5) ** 2) ** (0.5 * np.tanh(b3))
            x3 = np.hypot((b3[0, 0]), 1.0 + ((1.0 / (1.0 + (np.prod(1.5 + np.tanh(b3), axis=1, keepdims=True)) ** 2))) ** 2)
            v1 = v1 * np.cos(np.max(x2, axis=0))
            j8 += 1
        if (np.arccosh(1.5 + (np.tan(0.5 * np.tanh(v2 @ v2))) ** 2)) > 0:
            v1 += v2
            v2 += x0.sum(axis=0)
            b9 = np.abs(np.arctanh(0.9 * np.tanh(np.sum(x3, axis=1, keepdims=True))))
        elif v2[0] > 0:
            v10 = np.where((x2.sum(axis=1)) > 0, v2, np.max(x1))
            b9 = np.logaddexp((np.add((v1.sum()), b3)), (np.hypot(2.0, 1.0 + (np.mean(v1)) ** 2)))
        else:
            b9 = x3.sum(axis=1, keepdims=True)
        x3 = np.prod(1.5 + np.tanh(b9), axis=1, keepdims=True)
    return np.sum(v2) + np.sum(v1) + np.sum(x3)


VALUES = (np.array([[ 1.3996714 , -0.52879343,  0.94169869]]), np.array([[-1.38143644, -1.05221641,  0.27910929],
       [ 0.68804273, -0.8397129 ,  0.25680567],
       [-1.12273681,  0.53754452,  0.32382587]]), np.array([[-1.40951783, -1.33274724, -1.4731068 ],
       [-0.54494044,  1.05181684,  0.61267805],
       [-0.05172079,  0.56542665,  0.99399311]]), np.array([[0.58303459],
       [0.84869983]]))
WRT = (0, 1, 2, 3)
CHECK = "grad"
BUG = None

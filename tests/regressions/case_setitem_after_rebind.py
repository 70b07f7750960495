"""Found by the long fuzz run: ``y1`` is written by index (``y1[0] = ...``), then rebound
inside a loop (``y1 = x0[:, ::-1] * ...``); the rebinding cut its adjoint to the scalar
placeholder ``0.0`` and the adjoint of ``y1[0] = v`` indexed it."""
# ruff: noqa: F841, E501
import numpy as np


def f(x0, x1, x2, x3):
    y1 = np.zeros((3, 3))
    y1[0] = (np.hypot(x1, 1.0 + ((x2.sum(axis=0))) ** 2)) ** 3
    y1[1] = np.add(x1, (np.log2(1.0 + (x1.sum()) ** 2)))
    y1[1] = x1
    j2 = 0
    while j2 < 1:
        y3 = np.zeros(4)
        y3[1:] = np.subtract(((-0.75) - (-1.25)), ((x1) / (1.0 + (x1) ** 2)))
        y1 = (x0[:, ::-1]) * np.sum(x0, axis=0)
        x2 = 0.9 * x2 + 0.1 * (x2.sum(axis=0))
        j2 = j2 + 1
    v4 = np.add(x3, (x0[1:, :]))
    return np.sum(np.sin(y1)) + np.sum(np.sin(v4))


VALUES = (np.array([[0.79021066, -0.3432798, 1.37327235], [0.11866476, 1.18598782, -1.09528049],
                    [0.90663442, 1.42114906, 0.10051751]]),
          np.array([1.2617823, 0.45883122, -1.21904552]), np.array([-0.37175881, -0.06807316]),
          np.array([[0.13024684], [-1.29446815]]))
WRT = (0, 2, 3)
CHECK = "grad"
BUG = None  # fixed: y[idx] = v of a rebound y takes its cotangent with take_cot

"""Found by the long fuzz run: ``x0 = x0 + np.sum(x0, axis=0, keepdims=True) - 0.25``
in a while loop whose final ``x0`` is never read. Shape specialisation took
``unbroadcast(x0_bar, _t)`` to have ``_t``'s shape, but ``x0_bar`` was the scalar
placeholder ``0.0``, and ``np.reshape(np.sum(0.0, axis=0), (1, 3))`` failed."""
# ruff: noqa: B007, F841, E501
import numpy as np


def f(x0, x1):
    for i1 in range(2):
        x0 = x0 + (((np.sum(x1)) / (1.0 + (0.5) ** 2))) / (1.0 + ((np.sum(x0) - (x1[2, 2]))) ** 2)
    c2 = [x1, x0]
    acc3 = []
    for i4 in range(1):
        acc3.append(np.divide(1.5, 2.0 + np.sin(0.3)))
    st5 = np.stack(acc3)
    y6 = np.zeros((2, 3))
    y6[1:] = np.arctan2(np.sum(st5, axis=0, keepdims=True), 1.5 + (np.sum(c2[0], axis=0, keepdims=True)) ** 2)
    for i7 in range(4):
        j8 = 0
        while j8 < 3:
            v9 = np.hypot((np.divide(np.mean(x1, axis=0, keepdims=True), 2.0 + np.sin((np.sqrt(1.0 + (c2[-1][0, 0]) ** 2))))), 1.0 + ((0.5 * (np.cbrt(1.5 + np.tanh(np.dot(x1, x1)))))) ** 2)
            x0 = x0 + (np.sum(x0, axis=0, keepdims=True)) - 0.25
            j8 = j8 + 1
        v10 = (1.0 + ((np.subtract((st5.sum(axis=0, keepdims=True)), st5))) ** 2) ** (0.5 * np.tanh((np.tanh(np.mean(st5, axis=0, keepdims=True)))))
        x1 = np.tanh(0.5 * x1 + x1)
    v11 = np.exp(np.log2(1.0 + (y6.sum(axis=0)) ** 2))
    return np.sum(np.sin(y6)) + np.sum(c2[-1])


VALUES = (np.array([[1.17297842, -0.01350057, 0.77784951], [1.08517244, 1.06476655, -1.21708265]]),
          np.array([[0.95956332, 0.03438141, -0.90243454], [-0.33125208, 0.83168869, 0.55239329],
                    [1.41537754, 0.335524, 0.33687174]]))
WRT = 1
CHECK = "grad"
BUG = None  # fixed: the zero is instantiated before unbroadcast, whose result has x's shape

"""Found by the long fuzz run, a regression of the fix for
``case_scatter_into_placeholder``: a tuple's adjoint is a list of cotangents, and
``np.ndim`` of that list (checking for a scalar placeholder) raised "setting an array
element with a sequence"."""
# ruff: noqa: B007, F841
import numpy as np


def f(x0, x1, x2):
    acc1 = []
    for i2 in range(1):
        acc1.append(np.arcsin(0.9 * np.tanh(np.mean(x0, axis=1))))
    st3 = np.stack(acc1)
    c4 = x0, x0
    u5, u6 = c4
    c7 = (u6, u5)
    u8 = c7[1]
    v9 = u5[1, 0]
    return np.sum(v9) + 0.5 * np.sum(u6)


VALUES = (np.array([[0.41088506], [-0.69063986]]), -1.3770794281914158,
          np.array([[-1.45041709, 0.93981072, 1.23826673]]))
WRT = 0
CHECK = "grad"
BUG = None  # fixed: only numbers and 0-d arrays count as scalar placeholders

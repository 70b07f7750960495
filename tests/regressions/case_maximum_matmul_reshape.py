# ruff: noqa: F841
"""Found by the long fuzz run (straight-line, not minimised): the compiled adjoint
crashes with "cannot reshape array of size 9 into shape (2,3)"."""
import numpy as np


def f(x0, x1, x2, x3):
    v1 = (np.maximum(x2[1:, :], x3)) / (1.0 + ((x0[1, 0])) ** 2)
    v2 = (np.arctan2(np.mean(x2), 1.5 + (1.5) ** 2)) * ((x1.sum()) + np.matmul(v1, x3))
    x0 = np.arctanh(0.9 * np.tanh(x1))
    v3 = np.hypot(v1, 1.0 + ((-1.25)) ** 2)
    v4 = v1[1, 2]
    return 0.5 * np.sum(v4) + np.sum(v2)


VALUES = (np.array([[0.41088506], [-0.69063986]]),
          np.array([[-1.37707943], [-1.45041709]]),
          np.array([[0.93981072, 1.23826673, 0.31990733],
                    [0.68848968, 0.13087497, 1.30521727],
                    [0.94756066, -1.4917845, 1.07221283]]),
          np.array([-1.39924327, 0.68896634, -0.97303314]))
WRT = (0, 1, 2)
CHECK = "grad"
BUG = None  # fixed in the working tree (was: compiled adjoint crashes (reshape size 9 into (2,3)); not yet minimised)

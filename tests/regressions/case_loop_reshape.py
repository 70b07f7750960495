"""Shrunk by hypothesis: nested for/while loops updating several arrays crash the
compiled adjoint with "cannot reshape array of size 1 into shape (3,)"."""
import numpy as np


def f(x0, x1, x2):
    for _i1 in range(2):
        j2 = 0
        while j2 < 4:
            x2 = x2 * np.cos(1.5)
            j2 += 1
        x1 = x1 - 0.1 * x1 * (0.3)
    j4 = 0
    while j4 < 2:
        for _i5 in range(2):
            x0 = x0 - 0.1 * x0 * (np.dot(x1, x1))
        x1 = x1 + np.log10(2.0 + np.sin((2.0) / (1.0 + ((x2[0, 2])) ** 2)))
        j4 = j4 + 1
    return np.sum(np.sin(x2)) + np.sum(np.sin(x0))


VALUES = (np.array([[0.41088506, -0.69063986, -1.37707943], [-1.45041709, 0.93981072, 1.23826673]]),
          np.array([0.31990733, 0.68848968, 0.13087497]),
          np.array([[1.30521727, 0.94756066, -1.4917845]]))
WRT = (1, 2)
CHECK = "grad"
BUG = None  # fixed in the working tree (was: nested loops: reverse sweep restores the wrong saved values (reshape error))

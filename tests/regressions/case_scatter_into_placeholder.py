"""Found by the long fuzz run: ``st5`` is overwritten in a while loop and read as
``st5[1, 1]`` in an inner loop; its lazily allocated adjoint became the scalar zero
placeholder (``add_owned(None, 0.0)``) and ``scatter_into`` indexed it."""
# ruff: noqa: B007, E501
import numpy as np


def f(x0, d):
    y1 = np.zeros(3)
    y1[0] += np.sum(d['b']) + np.sum(x0)
    y1[0] = np.sum(d['w'])
    y2 = np.zeros(3)
    y2[2] = -(d['w'][1, 2])
    y2[1] += (1.0 + ((-0.75)) ** 2) ** (0.5 * np.tanh(0.5))
    acc3 = []
    for i4 in range(2):
        acc3.append(((1.0 / (1.0 + (2.0) ** 2))) / (1.0 + ((d['w'][:, 1])) ** 2))
    st5 = np.stack(acc3)
    j6 = 0
    while j6 < 2:
        for i7 in range(2):
            y1 = y1 - 0.1 * y1 * (st5[1, 1])
        st5 = np.tanh(0.5 * st5 + np.matmul(y2, y2))
        j6 = j6 + 1
    return 0.5 * np.sum(y2) + np.mean(y1 * y1)


VALUES = (np.array([[1.125], [1.03]]),
          {"w": np.array([[-1.16266259, 0.23734322, 0.57080249], [-1.35639295, 0.17530742, -1.36257531]]),
           "b": np.array([[-1.16868013, 0.24923872, 1.36414027], [0.12057635, -0.55836469, -0.7913189]])})
WRT = 1
CHECK = "grad"
BUG = None  # fixed: scatter_into, take_cot and cut_index accept a scalar zero placeholder

"""Found by the CI fuzz (hypothesis-shrunk): if/elif with constant conditions then a loop:
grad w.r.t. all arguments raises "ValueError: output array is read-only"."""
import numpy as np


def f(x0, x1, x2, x3):
    if (0.5 - np.square(0.5)) > 0:
        b1 = np.arccos(0.9 * np.tanh(x1))
    elif 0.5 > 0:
        if (np.logaddexp(1.5, np.mean(x0))) > 0:
            x1 = 1.0 * (np.reshape(x2, (1, 3)))
        b1 = 1.0 * x1
    else:
        b1 = np.abs(np.cos(np.prod(1.5 + np.tanh(x1), axis=0, keepdims=True)))
    for _i3 in range(2):
        x1 = np.divide(np.subtract(b1[0], 2.0), 2.0 + np.sin(x1))
        x0 = x0 + np.arccos(0.9 * np.tanh((x0) / (1.0 + ((x3[-1])) ** 2)))
    return np.sum(b1) + np.sum(np.sin(x1))


VALUES = (np.array([-1.2430525, -0.78956848, 0.9038234]),
          np.array([[0.24648611, -1.21761407, -0.20061918]]),
          np.array([-0.06284611, -1.02078326, 0.70373145]),
          np.array([-1.15898394, -0.32631543]))
WRT = (0, 1, 2, 3)
CHECK = "grad"
BUG = None

"""Found by the long fuzz run (shrunk by line deletion, not further minimised): the
compiled gradient w.r.t. x0 is [0.4353, 0.4347, 0.9652]; the tape and finite
differences agree on [-0.2900, -0.0261, 0.9652]."""
import numpy as np


def f(x0, x1, x2):
    v1 = np.hypot(((np.hypot(np.matmul(x0, x0), 1.0 + (np.sum(x1, axis=0, keepdims=True)) ** 2)) + (np.arcsin(0.9 * np.tanh(np.mean(x0, axis=0))))), 1.0 + ((x1[:, ::-1])) ** 2)
    v2 = np.divide((x1[1:, :]), 2.0 + np.sin((v1[2, 2])))
    v3 = np.divide((np.stack([x0, x0]) - np.sum(v2, axis=1, keepdims=True)), 2.0 + np.sin(((1.0 + (np.sum(v2, axis=0, keepdims=True)) ** 2) ** (0.5 * np.tanh((x2[-1]))))))
    return 0.5 * np.sum(v3) + np.sum(v2)


VALUES = (np.array([-1.2430525, -0.78956848, 0.9038234]),
          np.array([[0.24648611, -1.21761407, -0.20061918],
                    [-0.06284611, -1.02078326, 0.70373145],
                    [-1.15898394, -0.32631543, 0.05022055]]),
          np.array([-0.20811594, 0.26039571]))
WRT = (0, 1)
CHECK = "grad"
BUG = None  # fixed in the working tree (was: wrong compiled gradient (tape and FD agree); not yet minimised)

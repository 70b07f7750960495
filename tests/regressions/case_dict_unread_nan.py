"""grad with respect to a dict argument gives NaN (not 0) for entries never read:
runtime.like(None, ndarray) does np.array(np.broadcast_to(None, shape), float)."""
import numpy as np


def f(d):
    return np.sum(d["b"])


VALUES = ({"w": np.array([1.0, 2.0, 3.0]), "b": np.array([1.0, 2.0])},)
WRT = 0
CHECK = "grad"
BUG = None  # fixed in HEAD (was: see docstring)

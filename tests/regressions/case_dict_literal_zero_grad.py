"""A dict literal built inside the function loses the gradient of its values:
scatter_add(zeros_for(c), 'p', ...) is never propagated back to x -> gradient 0."""
import numpy as np


def f(x):
    c = {"p": x, "q": x}
    return np.sum(c["p"])


VALUES = (np.array([1.0, 2.0, 3.0]),)
WRT = 0
CHECK = "grad"
BUG = None  # fixed in HEAD (was: see docstring)

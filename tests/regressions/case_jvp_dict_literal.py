"""Forward mode through a dict literal drops that path: jvp gives 6.0 along ones(2, 3),
grad . v (and finite differences) give 12.0."""
import numpy as np


def f(x):
    r = x + 0.5
    c = {"p": r, "q": r}
    return np.sum(r) + np.sum(c["p"])


VALUES = (np.ones((2, 3)),)
WRT = 0
CHECK = "jvp"
BUG = None  # fixed in the working tree (was: jvp loses the tangent of values read back from a dict literal)

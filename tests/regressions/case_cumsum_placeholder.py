"""Found by the long fuzz run (jvp check, seed 251): ``x0`` reaches the output only
through a branch that does not run, so in the loop its adjoint stays None and the
adjoints of the loop's temporaries keep their scalar ``0.0`` placeholder. The cumsum
rule then ravelled that placeholder to one element and reshaped it to ``x0``'s shape
("cannot reshape array of size 1 into shape (2,)"). Fixed at the root: an adjoint that
may still hold the placeholder becomes real zeros (``real_cot``) before a rule reads it."""
import numpy as np
from numpy import array  # noqa: F401  (VALUES below is a repr)


def f(x0, x2, x3):
    for _ in range(2):
        x0 = 0.9 * x0 + 0.1 * np.cumsum(x0)
    if x3 > 0:
        b = x2 * 2.0
    else:
        x2 = x0
        b = x2 * 3.0
    return np.sum(np.tanh(b)) + np.sum(x2)


VALUES = (array([0.1531068, 1.1625486]), array([-0.13912972, -0.33836192]), array(0.73327081))
WRT = (0, 1, 2)
CHECK = "grad"
BUG = None  # fixed: real_cot before a rule reads a maybe-placeholder adjoint

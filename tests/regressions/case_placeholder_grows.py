"""Found by the long fuzz run: the adjoint of ``st9`` (overwritten in a loop, its final
value unread) is the scalar placeholder ``0.0``; times ``v10`` (3,) it became a (3,)
array that ``unbroadcast`` could not take to ``x0.T``'s (3, 2), and it reached
``x0_bar`` with the wrong shape ("operands could not be broadcast together")."""
# ruff: noqa: B007
import numpy as np


def f(x0):
    acc7 = []
    for i8 in range(3):
        acc7.append(np.sum(x0, axis=1))
    st9 = np.stack(acc7)
    v10 = np.tan(0.5 * np.tanh(np.mean(st9, axis=0)))
    for i11 in range(3):
        for i12 in range(2):
            st9 = st9 + np.multiply(v10, x0.T)
    return np.mean(v10 * v10)


VALUES = (np.array([[0.93081687, 0.99673447, -0.09033836], [-0.15413953, 0.44409534, 0.32693494]]),)
WRT = 0
CHECK = "grad"
BUG = None  # fixed: the sweep instantiates the symbolic zero (real_cot) before a rule reads it

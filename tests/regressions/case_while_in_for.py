"""A while loop nested in a for loop: the reverse sweep pops the trip-counter inside the
inner loop (`for _ in range(_n1): _n1 = _stack.pop()`), corrupting the stack -> wrong
shapes ("cannot reshape"), and the value is returned as None."""
import numpy as np


def f(x):
    for _ in range(2):
        j = 0
        while j < 3:
            x = x * 0.9
            j = j + 1
    return np.sum(x)


VALUES = (np.array([1.0, 2.0]),)
WRT = 0
CHECK = "grad"
BUG = None  # fixed in the working tree (was: while nested in for: trip counter popped inside the inner reverse loop)

"""Shared by the tests of the optimiser's loop passes (test_remat, test_zero_adjoints):
a gradient checked against central differences, then its generated source read."""

import re

import numpy as np
from conftest import numeric_grad

import sourcediff as sd


def checked_source(f, args, wrt):
    """The source of ``grad(f, wrt)``, after its gradient at ``args`` has matched
    central differences."""
    g = sd.grad(f, wrt=wrt)
    grads = g(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for got, want in zip(grads, numeric_grad(f, args, wrt)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    return sd.source(g)


def pushed(src):
    """The names generated code saves on its stack: one value, ``_stack.append(x)``, or
    a loop iteration's values as one tuple, ``_stack.append((x, v))``."""
    out = set(re.findall(r"_stack\.append\((\w+)\)", src))
    for group in re.findall(r"_stack\.append\(\(([\w\s,]+)\)\)", src):
        out.update(n.strip() for n in group.split(",") if n.strip())
    return out

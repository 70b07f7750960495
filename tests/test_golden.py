"""Golden snapshots of generated source, and the numbers that source computes.

A change to the compiler that changes what it writes shows up here as a diff
to review. To accept new output: ``UPDATE_GOLDEN=1 pytest tests/test_golden.py``.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import showcase

from conftest import fd
from sourcediff import grad, source

GOLDEN = Path(__file__).parent / "golden"
RNG = np.random.default_rng(0)

CASES = {
    "loss": (showcase.loss, ("w", "b"), (0.3, -0.2, 1.5, 1.0, 0.1)),
    "recurrence": (showcase.recurrence, (0, 1), (0.9, 0.1)),
    "relu_or_leak": (showcase.relu_or_leak, 0, (1.5, 0.1)),
    "mlp": (showcase.mlp, (0, 1, 2), (RNG.standard_normal((3, 4)), RNG.standard_normal(4),
                                      RNG.standard_normal((4, 2)), RNG.standard_normal((5, 3)),
                                      RNG.standard_normal((5, 2)))),
    # x[:-1] read twice: its cotangents added, then written once into the zero buffer
    "rosenbrock": (showcase.rosenbrock, 0, (RNG.uniform(-1.0, 1.0, 7),)),
    # np.diff's shape known: every shape specialised to the end
    "tv_denoise": (showcase.tv_denoise, 0, (RNG.standard_normal(9), RNG.standard_normal(9),
                                            0.5, 1e-3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_source_and_numbers(name):
    f, wrt, args = CASES[name]
    g = grad(f, wrt=wrt)
    result = g(*args)
    src = source(g)
    path = GOLDEN / f"{name}.py.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(src)
    assert src == path.read_text(), f"generated source for {name} changed; see {path}"
    grads = result if isinstance(wrt, tuple) else (result,)
    names = wrt if isinstance(wrt, tuple) else (wrt,)
    params = f.__code__.co_varnames
    for gi, w in zip(grads, names):
        i = params.index(w) if isinstance(w, str) else w
        np.testing.assert_allclose(gi, fd(f, args, i), rtol=1e-5, atol=1e-7)


def test_loss_adjoint_computes_each_subexpression_once():
    """Seed 002: the sweep computes w * x + b once and calls np.exp once."""
    g = grad(showcase.loss, wrt=("w", "b"))
    g(0.3, -0.2, 1.5, 1.0, 0.1)
    code = "\n".join(line.split("#")[0] for line in source(g).splitlines())
    assert code.count("w * x") == 1
    assert code.count("np.exp") == 1
    assert "unbroadcast" not in code


def test_recurrence_saves_only_what_the_sweep_reads():
    g = grad(showcase.recurrence, wrt=(0, 1))
    g(0.9, 0.1)
    src = source(g)
    assert src.count("_stack.append") == 1  # h, once per step; nothing else

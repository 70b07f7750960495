"""The workloads: what is differentiated, on which inputs, and its hand-written gradient."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import functions as F
from . import handwritten as H


@dataclass
class Workload:
    name: str               # unique, e.g. "rosenbrock-n1000"
    group: str              # function name in functions.py / torch_versions.py
    letter: str             # (a)..(f) as in the README
    title: str
    fn: Callable            # the NumPy function every method differentiates
    grad: Callable          # the hand-written gradient (reference and speed limit)
    wrt: tuple              # positional indices differentiated
    make_args: Callable     # () -> tuple of arguments
    size: int | None = None  # problem size for the scaling sweep
    memory: bool = False    # report tracemalloc peak memory
    notes: list = field(default_factory=list)

    @property
    def wrt_arg(self):
        """What to pass as ``wrt=``: an int for one argument, else the tuple."""
        return self.wrt[0] if len(self.wrt) == 1 else self.wrt


def _mlp_args(batch, hidden, n_in=784, n_out=10, seed=0):
    def make():
        rng = np.random.default_rng(seed)
        W1 = rng.standard_normal((n_in, hidden)) / np.sqrt(n_in)
        b1 = 0.1 * rng.standard_normal(hidden)
        W2 = rng.standard_normal((hidden, n_out)) / np.sqrt(hidden)
        b2 = 0.1 * rng.standard_normal(n_out)
        x = rng.standard_normal((batch, n_in))
        y = np.zeros((batch, n_out))
        y[np.arange(batch), rng.integers(0, n_out, batch)] = 1.0
        return W1, b1, W2, b2, x, y
    return make


def _rosen_args(n, seed=0):
    def make():
        rng = np.random.default_rng(seed)
        return (0.5 + 0.5 * rng.standard_normal(n),)
    return make


def all_workloads(quick=False):
    """Every workload, in report order. ``quick`` shrinks the array sizes."""
    hidden = 32 if quick else 256
    batches = (8, 32) if quick else (64, 1024)
    wls = [
        Workload("scalar20", "scalar20", "a",
                 "20-operation scalar function of two Python floats, grad w.r.t. (x, y)",
                 F.scalar20, H.scalar20_grad, (0, 1), lambda: (0.7, 1.3)),
        Workload("logistic", "logistic", "b",
                 "logistic loss on Python floats (seed-002), grad w.r.t. (w, b)",
                 F.logistic, H.logistic_grad, (0, 1), lambda: (0.5, -0.2, 1.5, 1.0, 0.1)),
    ]
    for letter, batch in zip("cd", batches):
        wls.append(Workload(
            f"mlp-b{batch}", "mlp", letter,
            f"MLP 784-{hidden}-10 (tanh, softmax cross-entropy), batch {batch}, "
            "grad w.r.t. (W1, b1, W2, b2)",
            F.mlp, H.mlp_grad, (0, 1, 2, 3), _mlp_args(batch, hidden), memory=True))
    wls.append(Workload(
        "recurrence", "recurrence", "e",
        "1000-step scalar recurrence h = tanh(a*h + b) in a Python loop, grad w.r.t. (a, b)",
        F.recurrence, H.recurrence_grad, (0, 1), lambda: (0.9, 0.1)))
    exponents = (2, 3) if quick else (2, 3, 4, 5, 6)
    for e in exponents:
        n = 10 ** e
        wls.append(Workload(
            f"rosenbrock-n{n}", "rosenbrock", "f",
            f"Rosenbrock, n = 10^{e}, grad w.r.t. x",
            F.rosenbrock, H.rosenbrock_grad, (0,), _rosen_args(n), size=n))
    return wls


def select(workloads, only):
    """Workloads whose name, group, letter or name prefix is in ``only`` (all if empty)."""
    if not only:
        return list(workloads)
    keys = [k.strip().lower() for k in only if k.strip()]
    picked = [w for w in workloads
              if any(k in (w.name, w.group, w.letter) or w.name.startswith(k) for k in keys)]
    unknown = [k for k in keys
               if not any(k in (w.name, w.group, w.letter) or w.name.startswith(k)
                          for w in workloads)]
    if unknown:
        names = ", ".join(sorted({w.group for w in workloads} | {w.name for w in workloads}))
        raise SystemExit(f"unknown workload(s): {', '.join(unknown)} (known: {names})")
    return picked

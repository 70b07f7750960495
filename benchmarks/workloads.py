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
    wls += _issue21_workloads(quick)
    n_tv = 200 if quick else 10_000

    def tv_args():
        r = np.random.default_rng(0)
        t = np.linspace(0.0, 1.0, n_tv)
        f = np.sign(np.sin(8.0 * t)) + 0.3 * r.standard_normal(n_tv)
        return f + 0.1 * r.standard_normal(n_tv), f, 0.5, 1e-4
    wls.append(Workload(
        "tv", "tv_denoise", "m",
        f"total-variation denoising of a 1-D signal (np.diff), n={n_tv}, grad w.r.t. u",
        F.tv_denoise, H.tv_denoise_grad, (0,), tv_args, memory=True))
    return wls


def _issue21_workloads(quick):
    """Workloads written before the optimiser saw them (issue 21); quick shrinks them."""
    def rng():
        return np.random.default_rng(0)

    N, p = (100, 8) if quick else (1000, 50)

    def ridge_args():
        r = rng()
        X = r.standard_normal((N, p))
        return (r.standard_normal(p), 1.0 + 0.1 * r.standard_normal(p), X,
                X @ r.standard_normal(p) + 0.1 * r.standard_normal(N), 0.1)

    n_gmm, K = (200, 3) if quick else (5000, 8)

    def gmm_args():
        r = rng()
        return (r.standard_normal((K, 2)), 0.1 * r.standard_normal((K, 2)),
                0.1 * r.standard_normal(K), 1.5 * r.standard_normal((n_gmm, 2)))

    n_p = 6 if quick else 16

    def springs_args():
        r = rng()
        return r.uniform(0.0, 1.0, (n_p, 2)), 0.1 * r.standard_normal((n_p, 2)), 1.0, 0.3

    T, B, n_in, nh = (8, 4, 5, 6) if quick else (50, 16, 32, 64)

    def lstm_args():
        r = rng()
        return (r.standard_normal((n_in, 4 * nh)) / np.sqrt(n_in),
                r.standard_normal((nh, 4 * nh)) / np.sqrt(nh),
                0.1 * r.standard_normal(4 * nh), r.standard_normal((T, B, n_in)))

    L, d = (16, 8) if quick else (128, 64)

    def attention_args():
        r = rng()
        return tuple(r.standard_normal((d, d)) / np.sqrt(d) for _ in range(3)) + (
            r.standard_normal((L, d)),)

    return [
        Workload("ridge", "ridge", "g",
                 f"ridge regression with a learned feature scale, N={N}, p={p}, "
                 "grad w.r.t. (w, s)", F.ridge, H.ridge_grad, (0, 1), ridge_args, memory=True),
        Workload("gmm", "gmm", "h",
                 f"Gaussian-mixture NLL with log-sum-exp, N={n_gmm}, K={K}, D=2, "
                 "grad w.r.t. (mu, log_s, logit_pi)", F.gmm, H.gmm_grad, (0, 1, 2),
                 gmm_args, memory=True),
        Workload("springs", "springs", "i",
                 f"spring-mass system, {n_p} particles, all pairs, 200 Euler steps, "
                 "grad w.r.t. (x, v, k)", F.springs, H.springs_grad, (0, 1, 2),
                 springs_args, memory=True),
        Workload("lstm", "lstm", "j",
                 f"LSTM, {T} steps, batch {B}, hidden {nh}, grad w.r.t. (W, U, b)",
                 F.lstm, H.lstm_grad, (0, 1, 2), lstm_args, memory=True),
        Workload("rk4", "rk4", "k",
                 "Runge-Kutta 4 on Python floats, 500 steps, grad w.r.t. (k, c)",
                 F.rk4, H.rk4_grad, (0, 1), lambda: (2.0, 0.3), memory=True),
        Workload("attention", "attention", "l",
                 f"single-head self-attention, L={L}, d={d}, grad w.r.t. (Wq, Wk, Wv)",
                 F.attention, H.attention_grad, (0, 1, 2), attention_args, memory=True),
    ]


def select(workloads, only):
    """Workloads whose name, group, letter or name prefix is in ``only`` (all if empty)."""
    if not only:
        return list(workloads)
    keys = [k.strip().lower() for k in only if k.strip()]

    def chosen(w, k):  # (a letter is a letter: "a" is not a prefix of "attention")
        return k in (w.name, w.group, w.letter) or len(k) > 1 and w.name.startswith(k)
    picked = [w for w in workloads if any(chosen(w, k) for k in keys)]
    unknown = [k for k in keys if not any(chosen(w, k) for w in workloads)]
    if unknown:
        names = ", ".join(sorted({w.group for w in workloads} | {w.name for w in workloads}))
        raise SystemExit(f"unknown workload(s): {', '.join(unknown)} (known: {names})")
    return picked

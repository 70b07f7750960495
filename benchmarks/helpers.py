"""Does a helper cost anything? The same loss written with helper functions and inline.

A user's loss usually calls helpers (``dense``, ``log_softmax``, ``cross_entropy``).
sourcediff runs each helper once per gradient (its split adjoint: the forward part in
the caller's forward pass, the pullback in its reverse pass), so the helper version
should cost what the inline version costs, plus a few Python calls per helper.

    python -m benchmarks.helpers            # ratio helpers / inline, medians, interleaved
    python -m benchmarks.helpers --quick    # tiny sizes: a smoke test, not numbers

Both are checked against the hand-written gradient of the inline loss first.
"""

from __future__ import annotations

import argparse

import numpy as np

from . import handwritten as H
from .functions import mlp as mlp_inline
from .timing import Settings, measure_all
from .workloads import _mlp_args


def dense(x, W, b):
    return np.tanh(x @ W + b)


def log_softmax(z):
    s = z - np.max(z, axis=1, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))


def cross_entropy(logp, y):
    return -np.sum(y * logp) / y.shape[0]


def mlp_helpers(W1, b1, W2, b2, x, y):
    """``functions.mlp``, its three steps written as helpers."""
    h = dense(x, W1, b1)
    return cross_entropy(log_softmax(h @ W2 + b2), y)


def run(quick=False):
    """Rows (batch, ms inline, ms helpers, ratio, hand-written ms) after checking values."""
    import sourcediff
    rows = []
    for batch in ((8,) if quick else (64, 1024)):
        args = _mlp_args(batch, 32 if quick else 256)()
        inline = sourcediff.grad(mlp_inline, wrt=(0, 1, 2, 3))
        helpers = sourcediff.grad(mlp_helpers, wrt=(0, 1, 2, 3))
        expected = H.mlp_grad(*args)
        for g in (inline, helpers):
            for got, want in zip(g(*args), expected):
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
        settings = Settings.quick() if quick else Settings()
        t_in, t_help, t_hand = measure_all([(inline, args), (helpers, args),
                                            (H.mlp_grad, args)], settings)
        rows.append((batch, 1e3 * t_in.median, 1e3 * t_help.median,
                     t_help.median / t_in.median, 1e3 * t_hand.median))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.helpers", description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny sizes, few samples")
    args = p.parse_args(argv)
    print("| MLP batch | inline (ms) | with helpers (ms) | helpers / inline | hand-written (ms) |")
    print("|---:|---:|---:|---:|---:|")
    for batch, t_in, t_help, ratio, t_hand in run(args.quick):
        print(f"| {batch} | {t_in:.3f} | {t_help:.3f} | {ratio:.2f} | {t_hand:.3f} |")


if __name__ == "__main__":
    main()

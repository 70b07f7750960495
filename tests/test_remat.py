"""Per-iteration temporaries recomputed instead of saved (sourcediff/opt/remat.py).

A loop's reverse sweep reads values of each iteration; where they are pure, cheap
functions of the loop-carried state (saved anyway) and of loop-invariant values, they
are recomputed at the start of the reverse iteration, so only the state is saved.
Each case checks the gradient against central differences and what is pushed.
"""

from __future__ import annotations

import math

import numpy as np
import gast
from generated_checks import checked_source, pushed

from sourcediff.opt import remat


def pendulum(k, c):
    x, v = 1.0, 0.0
    for _ in range(20):
        a = -k * math.sin(x) - c * v
        xm = x + 0.05 * v
        am = -k * math.sin(xm) - c * (v + 0.05 * a)
        x = x + 0.1 * (v + 0.05 * a)
        v = v + 0.1 * am
    return x * x + v


def test_only_the_state_is_saved():
    src = checked_source(pendulum, (2.0, 0.3), (0, 1))
    assert pushed(src) <= {"x", "v"}, src
    assert "# recomputed, not saved" in src


def pairs(x, k):
    for _ in range(5):
        d = x[:, None] - x[None, :]
        r = np.sqrt(d ** 2 + 1.0)
        x = x - 0.01 * np.sum(k * d / r, axis=1)
    return np.sum(x ** 2)


def test_array_temporaries_recomputed():
    x = np.random.default_rng(0).standard_normal(6)
    src = checked_source(pairs, (x, 0.7), (0, 1))
    assert pushed(src) == {"x"}, src


def with_matmul(W, x):
    for _ in range(4):
        z = W @ x
        x = np.tanh(z)
    return np.sum(x)


def test_a_matrix_product_is_saved_not_recomputed():
    r = np.random.default_rng(1)
    src = checked_source(with_matmul, (0.5 * r.standard_normal((4, 4)), r.standard_normal(4)), (0, 1))
    assert "z" in pushed(src) or "x" in pushed(src)
    assert "recomputed" not in src


def carried_twice(a):
    s = 0.0
    y = a
    for i in range(5):
        t = np.sin(y) * (i + 1)
        s = s + np.sum(t * t)
        y = y * 0.9 + t
    return s


def test_loop_index_and_carried_values():
    checked_source(carried_twice, (np.linspace(0.1, 0.9, 5),), (0,))


def mixture(mu, x):
    d = x[:, None] - mu
    logp = -0.5 * d ** 2
    m = np.max(logp, axis=1, keepdims=True)
    return -np.sum(m[:, 0] + np.log(np.sum(np.exp(logp - m), axis=1)))


def test_large_temporaries_released_after_last_use():
    # (sourcediff/opt/free.py) an array of 4096+ entries is let go after its last read
    r = np.random.default_rng(2)
    src = checked_source(mixture, (r.standard_normal(8), r.standard_normal(1000)), (0,))
    lines = [ln.strip() for ln in src.splitlines()]
    assert "logp = None" in lines, src
    last_read = max(i for i, ln in enumerate(lines) if "logp" in ln and not ln.startswith(
        "#") and ln != "logp = None")
    assert lines.index("logp = None") == last_read + 1



def pairwise(x, k):
    for _ in range(20):
        d = x[:, None, :] - x[None, :, :]
        r = np.sqrt(np.einsum('abc,abc->ab', d, d) + 1e-6)
        f = np.einsum('ab,abc->ac', k * (r - 1.0) / r, d)
        x = x - 0.01 * f
    return np.sum(x ** 2)


def test_a_one_pass_einsum_is_recomputed_not_saved():
    """An ``np.einsum`` whose loops are one operand's (``'abc,abc->ab'``: a sum of an
    elementwise product) costs what elementwise work does: it is recomputed like
    ``np.sum(d * d, axis=2)`` (it was taken for a matrix product, and a pairwise force
    then kept five arrays per step on the stack); a real contraction is still saved."""
    def call(text):
        return gast.parse(text).body[0].value

    assert not remat._expensive(call("np.einsum('abc,abc->ab', d, d)"))
    assert not remat._expensive(call("np.einsum('ac,abc->ab', g, d)"))
    assert remat._expensive(call("np.einsum('ij,jk->ik', a, b)"))
    assert remat._expensive(call("np.einsum(spec, a, b)"))  # (subscripts not known)
    assert remat._expensive(call("np.einsum('...i,...i->...', a, b)"))
    x = np.random.default_rng(3).standard_normal((6, 2))
    src = checked_source(pairwise, (x, 0.7), (0, 1))
    assert pushed(src) == {"x"}, src
    assert "# recomputed, not saved" in src

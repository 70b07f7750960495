"""In-place updates of fresh arrays (pass 8c, sourcediff/opt/inplace.py).

Each case checks the gradient against central differences (along random
directions for large arrays), that the arguments are unchanged, and where the
rewrite must or must not happen, the generated source.
"""

from __future__ import annotations

import numpy as np
import pytest

import sourcediff as sd
from sourcediff.opt import inplace


@pytest.fixture
def everywhere(monkeypatch):
    """Rewrite arrays of every size (so small cases can use full finite differences)."""
    monkeypatch.setattr(inplace, "MIN_SIZE", 1)


def _directional(f, args, grads, wrt, rng, eps=1e-6, count=3):
    """grad . v against the central difference of f along random directions v."""
    for _ in range(count):
        vs = [rng.standard_normal(np.shape(args[i])) for i in wrt]
        plus, minus = list(args), list(args)
        for i, v in zip(wrt, vs):
            plus[i] = args[i] + eps * v
            minus[i] = args[i] - eps * v
        fd = (f(*plus) - f(*minus)) / (2 * eps)
        ad = sum(float(np.sum(g * v)) for g, v in zip(grads, vs))
        assert ad == pytest.approx(fd, rel=1e-6, abs=1e-8)


def _mlp(W1, b1, W2, b2, x, y):
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    s = z - np.max(z, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.sum(y * (s - lse)) / x.shape[0]


def _mlp_args(rng, batch=64, n_in=50, hidden=128, n_out=10):
    y = np.zeros((batch, n_out))
    y[np.arange(batch), rng.integers(0, n_out, batch)] = 1.0
    return (rng.standard_normal((n_in, hidden)) / 7, 0.1 * rng.standard_normal(hidden),
            rng.standard_normal((hidden, n_out)) / 11, 0.1 * rng.standard_normal(n_out),
            rng.standard_normal((batch, n_in)), y)


def test_mlp_updates_large_arrays_in_place_and_stays_exact():
    rng = np.random.default_rng(0)
    args = _mlp_args(rng)
    before = [a.copy() for a in args]
    g = sd.grad(_mlp, wrt=(0, 1, 2, 3))
    grads = g(*args)
    src = sd.source(g)
    assert "h += b1" in src and "np.tanh(h, out=h)" in src      # forward
    assert "t1_bar *= 1 - h * h" in src                          # reverse
    _directional(_mlp, args, grads, (0, 1, 2, 3), rng)
    assert all(np.array_equal(a, b) for a, b in zip(args, before))
    # hand-written: the same numbers
    W1, b1, W2, b2, x, y = args
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - y) / x.shape[0]
    da = dz @ W2.T * (1 - h * h)
    for got, want in zip(grads, (x.T @ da, da.sum(0), h.T @ dz, dz.sum(0))):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_small_arrays_are_left_alone():
    def f(x, W):
        return np.sum(np.tanh(x @ W + 1.0))
    g = sd.grad(f, wrt=1)
    g(np.ones((3, 4)), np.ones((4, 5)))
    src = sd.source(g)
    assert "+=" not in src and "out=" not in src


def test_float32_arguments_are_never_rewritten():
    """In place, a float32 fresh array would keep float32 where NumPy gives float64."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 80)).astype(np.float32)
    W = rng.standard_normal((80, 70)).astype(np.float32)

    def f(x, W):
        return np.sum(np.tanh(x @ W + 0.5) * 2.0)
    g = sd.grad(f, wrt=1)
    gw = g(x, W)
    assert gw.dtype == np.float32
    assert "out=" not in sd.source(g) and "+=" not in sd.source(g)
    x64, W64 = x.astype(np.float64), W.astype(np.float64)
    want = x64.T @ (2.0 * (1 - np.tanh(x64 @ W64 + 0.5) ** 2))
    np.testing.assert_allclose(gw, want, rtol=1e-3, atol=1e-3)


def test_operand_that_reads_the_target_is_not_applied_after_it(everywhere):
    """``h = h @ W + h``: ``h += h`` would read the new h. Not rewritten that way."""
    def f(h, W):
        h = h @ W + h
        h = np.tanh(h) * h
        return np.sum(h * h)
    rng = np.random.default_rng(2)
    args = (rng.standard_normal((3, 4)), 0.3 * rng.standard_normal((4, 4)))
    assert sd.check_grad(f, *args, wrt=(0, 1))
    vg = sd.value_and_grad(f, wrt=(0, 1))
    assert vg(*args)[0] == pytest.approx(f(*args), rel=1e-14)
    assert "h += h" not in sd.source(vg) and "h *= h" not in sd.source(vg)


def test_fresh_right_operand_and_subtraction(everywhere):
    def f(x, W, k):
        a = 1.0 - x @ W                  # a = x @ W; np.subtract(1.0, a, out=a)
        b = k * (x @ (W * 2.0))          # commutative: b = x @ ...; b *= k
        return np.sum(a * a + b)
    rng = np.random.default_rng(3)
    args = (rng.standard_normal((3, 4)), rng.standard_normal((4, 5)),
            rng.standard_normal((3, 1)))
    vg = sd.value_and_grad(f, wrt=(0, 1))
    value, _ = vg(*args)
    src = sd.source(vg)
    assert "np.subtract(1.0, a, out=a)" in src and "b *= k" in src
    assert value == f(*args)          # exact: the same operations on the same values
    assert sd.check_grad(f, *args, wrt=(0, 1))


def test_no_rewrite_where_the_result_outgrows_the_fresh_operand(everywhere):
    def f(x, w, B):
        return np.sum(np.tanh(x @ w + B))   # (n, 1) + (n, m): the sum is larger
    rng = np.random.default_rng(4)
    args = (rng.standard_normal((5, 3)), rng.standard_normal((3, 1)),
            rng.standard_normal((5, 4)))
    g = sd.grad(f, wrt=(0, 1))
    g(*args)
    assert "+= B" not in sd.source(g)
    assert sd.check_grad(f, *args, wrt=(0, 1, 2))


def test_integer_and_bool_operands(everywhere):
    def f(x, k, m):
        return np.sum(np.exp(x * 0.5) * k + np.sin(x) * m)
    rng = np.random.default_rng(5)
    x = rng.standard_normal(6)
    k = np.arange(6)
    m = x > 0
    g = sd.grad(f)
    gx = g(x, k, m)
    np.testing.assert_allclose(gx, 0.5 * np.exp(0.5 * x) * k + np.cos(x) * m, rtol=1e-13)
    assert sd.check_grad(f, x, k, m)


def test_loops_with_saved_states(everywhere):
    def f(x, c):
        s = 0.0
        for _ in range(3):
            s = s + np.sum(np.tanh(x * c + 1.0))
            c = c * 0.5
        return s
    args = (np.array([0.1, -0.2, 0.3]), 0.7)
    before = args[0].copy()
    g = sd.grad(f, wrt=(0, 1))
    gx, gc = g(*args)
    assert "+= 1.0" in sd.source(g)
    x, c = args
    want_x, want_c = 0.0, 0.0
    for k in range(3):   # by hand: d/dx and d/dc of sum(tanh(x c / 2^k + 1))
        d = 1 - np.tanh(x * c / 2 ** k + 1.0) ** 2
        want_x = want_x + d * c / 2 ** k
        want_c += float(np.sum(d * x)) / 2 ** k
    np.testing.assert_allclose(gx, want_x, rtol=1e-13)
    assert gc == pytest.approx(want_c, rel=1e-13)
    assert sd.check_grad(f, *args, wrt=(0, 1))
    assert np.array_equal(args[0], before)


def test_higher_order_differentiates_code_without_in_place_updates(everywhere):
    def f(x):
        return np.sum(np.tanh(x * 2.0 + 1.0))
    x = np.array([0.1, -0.4, 0.7])
    H = sd.hessian(f)(x)
    t = np.tanh(2 * x + 1)
    np.testing.assert_allclose(H, np.diag(-8 * t * (1 - t * t)), rtol=1e-12, atol=1e-14)
    d2 = sd.grad(sd.grad(lambda s: float(np.sum(np.tanh(np.ones(3) * s * 2.0 + 1.0)))))
    t = np.tanh(1.6)   # three equal terms: d2/ds2 tanh(2 s + 1) = -8 t (1 - t^2)
    assert d2(0.3) == pytest.approx(3 * -8 * t * (1 - t * t), rel=1e-12)


def test_an_argument_rebound_to_another_dtype_is_not_trusted(everywhere):
    """x arrives as float64 but is rebound to float32: x * 2.0 is then a float32 array,
    and updating it in place by a float64 b would round where NumPy does not."""
    def f(x, b):
        x = x.astype(np.float32)
        y = x * 2.0 + b
        return np.sum(y * y)
    x = np.array([0.1, 0.2, 0.3])
    b = np.array([1e-9, 2e-9, 3e-9])
    vg = sd.value_and_grad(f, wrt=1)
    value, gb = vg(x, b)
    assert "+= b" not in sd.source(vg)
    assert value == f(x, b)
    y = x.astype(np.float32) * 2.0 + b
    np.testing.assert_allclose(gb, 2 * y, rtol=1e-15)


def test_rosenbrock_subtracts_into_its_fresh_square():
    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    rng = np.random.default_rng(7)
    x = 0.5 + 0.5 * rng.standard_normal(5000)
    before = x.copy()
    vg = sd.value_and_grad(rosen)
    value, gx = vg(x)
    assert "np.subtract(x[1:], " in sd.source(vg)
    assert value == rosen(x)
    want = np.zeros_like(x)     # by hand
    d = x[1:] - x[:-1] ** 2
    want[1:] += 200.0 * d
    want[:-1] += -400.0 * d * x[:-1] - 2.0 * (1.0 - x[:-1])
    np.testing.assert_allclose(gx, want, rtol=1e-12, atol=1e-12)
    _directional(rosen, (x,), (gx,), (0,), rng)
    assert np.array_equal(x, before)

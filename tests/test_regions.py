"""Updates of one region of an adjoint buffer written once (sourcediff/opt/regions.py),
arrays whose last read takes the result (owners.dying_of), and gradients returned
without a finishing check where they are their argument's zeros updated in place.

Gradients are checked against hand-computed values and central differences at order
1 and 2; the rewrites themselves on small programs, and where they must not happen.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sourcediff as sd
from sourcediff.ir import codegen
from sourcediff.ir import nodes as N
from sourcediff.opt import inplace, regions

from conftest import fd


@pytest.fixture
def everywhere(monkeypatch):
    """Rewrite arrays of every size (so small cases can use full finite differences)."""
    monkeypatch.setattr(inplace, "MIN_SIZE", 1)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_by_hand(x):
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[1:] = 200.0 * d
    g[:-1] += -400.0 * d * x[:-1] - 2.0 * (1.0 - x[:-1])
    return g


@pytest.mark.parametrize("n", [7, 100, 6000])
def test_rosenbrock_adds_its_two_reads_of_a_slice_once(n):
    x = np.random.default_rng(n).uniform(-1.5, 1.5, n)
    before = x.copy()
    g = sd.grad(rosenbrock)
    got = g(x)
    np.testing.assert_allclose(got, rosenbrock_by_hand(x), rtol=1e-13, atol=1e-12)
    assert np.array_equal(x, before)
    src = sd.source(g)
    # one write, no +=: a store, or (large arrays) computed in that view of x_bar
    assert src.count("x_bar[:-1]") == 1 and ("x_bar[:-1] = " in src or "= x_bar[:-1]\n" in src)
    # the gradient is its argument's zero buffer: returned as it is, a new writeable array
    assert type(got) is np.ndarray and got.shape == x.shape and got.flags.writeable
    assert not np.shares_memory(got, x) and got is not g(x)


def test_rosenbrock_second_order_against_differences():
    x = np.random.default_rng(1).uniform(-1.2, 1.2, 6)
    h = sd.hessian(rosenbrock)(x)
    want = np.array([fd(lambda v, i=i: sd.grad(rosenbrock)(v)[i], (x,), 0) for i in range(6)])
    np.testing.assert_allclose(h, want, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(fd(rosenbrock, (x,), 0), sd.grad(rosenbrock)(x), rtol=1e-6)


def test_float32_gradient_keeps_its_dtype():
    x = np.linspace(-1, 1, 9).astype(np.float32)
    got = sd.grad(rosenbrock)(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, rosenbrock_by_hand(x.astype(np.float64)), rtol=1e-4,
                               atol=1e-3)


def _program(src):
    return N.parse(src).body[0]


def _lines(fdef):
    return [line.strip() for line in codegen.to_source(fdef).splitlines()[1:]]


def test_merge_moves_the_first_update_to_the_second():
    fdef = _program("def f(b, a, c, t):\n    b[:-1] += a * 2\n    t = c + 1\n"
                    "    b[:-1] += t\n    if t:\n        pass\n    return b\n")
    assert regions.merge_updates(fdef, lambda e: True, lambda b: True)
    assert _lines(fdef) == ["t = c + 1", "b[:-1] += 2 * a + t", "if t:", "pass", "return b"]


@pytest.mark.parametrize("between", [
    "y = b[0]",            # reads the buffer
    "a += 1",              # changes what the first update reads
    "a[0] = 3",            # ... an item of it
    "g(a)",                # ... perhaps, in a call
    "i = 2",               # changes the index
    "b[1:] += c",          # another region of the same buffer
])
def test_merge_never_moves_an_update_past_what_it_depends_on(between):
    fdef = _program(f"def f(b, a, c, i, g):\n    b[i:] += a * 2\n    {between}\n"
                    "    b[i:] += c\n    return b\n")
    assert not regions.merge_updates(fdef, lambda e: True, lambda b: True)


def test_merge_needs_an_owned_real_buffer():
    src = "def f(b, a, c):\n    b[0] += a\n    b[0] += c\n    return b\n"
    assert not regions.merge_updates(_program(src), lambda e: True, lambda b: False)
    assert not regions.merge_updates(_program(src), lambda e: False, lambda b: True)


def test_first_update_of_a_zero_buffer_is_a_store():
    fdef = _program("def f(x, a, c):\n    b = zeros_for(x)\n    b[1:] += a\n"
                    "    b[1:] += c\n    return b\n")
    assert regions.first_into_zeros(fdef, lambda e: True, lambda b: True)
    assert _lines(fdef)[1:3] == ["b[1:] = a", "b[1:] += c"]
    # not once the buffer was read, nor for a value that may be complex
    fdef = _program("def f(x, a):\n    b = zeros_for(x)\n    y = b\n    b[1:] += a\n"
                    "    return b\n")
    assert not regions.first_into_zeros(fdef, lambda e: True, lambda b: True)
    fdef = _program("def f(x, a):\n    b = zeros_for(x)\n    b[1:] += a\n    return b\n")
    assert not regions.first_into_zeros(fdef, lambda e: False, lambda b: True)


def test_last_read_of_an_array_holds_the_result(everywhere):
    def f(x, w):
        t = np.sin(x) * w           # t: read once more, for the last time, below
        u = 3.0 * t
        return np.sum(u * u) + np.sum(x * w)
    rng = np.random.default_rng(3)
    args = (rng.standard_normal(5), rng.standard_normal(5))
    vg = sd.value_and_grad(f, wrt=(0, 1))
    value, grads = vg(*args)
    assert value == pytest.approx(f(*args), rel=1e-14)
    for i in (0, 1):
        np.testing.assert_allclose(grads[i], fd(f, args, i), rtol=1e-6, atol=1e-8)
    assert "u = t\n" in sd.source(vg) and "u *= 3.0" in sd.source(vg)


def test_array_read_twice_by_its_last_statement_is_not_taken(everywhere):
    def f(x):
        t = np.sin(x) * 2.0
        u = (t + 1.0) * t            # t + 1.0 written into t would change the second t
        return np.sum(u)
    x = np.linspace(-1, 1, 5)
    vg = sd.value_and_grad(f)
    value, grad = vg(x)
    assert value == pytest.approx(f(x), rel=1e-14)
    np.testing.assert_allclose(grad, fd(f, (x,), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(grad, (4.0 * np.sin(x) + 1.0) * 2.0 * np.cos(x), rtol=1e-12)
    assert "u = t\n" not in sd.source(vg)


def test_stored_value_computed_in_place_then_stored(everywhere):
    def f(x):
        return np.sum((1.0 - x[:-1]) ** 2 + 3.0 * x[1:] * x[:-1])
    x = np.linspace(-1, 2, 6)
    g = sd.grad(f)
    got = g(x)
    np.testing.assert_allclose(got, fd(f, (x,), 0), rtol=1e-6, atol=1e-8)
    want = np.zeros(6)
    want[:-1] += -2.0 * (1.0 - x[:-1]) + 3.0 * x[1:]
    want[1:] += 3.0 * x[:-1]
    np.testing.assert_allclose(got, want, rtol=1e-13)
    h = sd.hessian(f)(x)
    np.testing.assert_allclose(h, [fd(lambda v, i=i: g(v)[i], (x,), 0) for i in range(6)],
                               rtol=1e-5, atol=1e-6)


def test_zero_buffer_of_a_float64_array_is_allocated_directly():
    """``zeros_for(x)`` for a float64 array is ``np.zeros(x.shape)`` (its tests known), and
    the gradient is still returned as a new array of x's type, shape and dtype."""
    x = np.linspace(-1.0, 1.0, 8)
    g = sd.grad(rosenbrock)
    got = g(x)
    assert "x_bar = np.zeros(x.shape)" in sd.source(g)
    np.testing.assert_allclose(got, rosenbrock_by_hand(x), rtol=1e-13)
    x32 = x.astype(np.float32)   # (a float32 array keeps zeros_for: its own dtype)
    assert g(x32).dtype == np.float32


def scalar_chain(x, y):
    k = math.sqrt(x * x + 1.0)
    return k * math.tanh(y) + math.log(1.0 + x * x) / (1.0 + y * y)


def test_numbers_in_a_dividend_meet_the_product_around_it():
    """sqrt's rule writes 0.5 * g / k, the product around it 2 * (...) * x: the constants
    fold to one (here 1: no multiplication at all)."""
    g = sd.grad(scalar_chain, wrt=(0, 1))
    got = g(0.7, -0.4)
    want = (0.7 / math.sqrt(1.49) * math.tanh(-0.4) + 2 * 0.7 / 1.49 / 1.16,
            math.sqrt(1.49) * (1 - math.tanh(-0.4) ** 2) - math.log(1.49) * 2 * -0.4 / 1.16 ** 2)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(got, [fd(scalar_chain, (0.7, -0.4), i) for i in (0, 1)],
                               rtol=1e-6)
    src = sd.source(g)
    assert "x_bar = x_bar + _t5 / k * x" in src and "0.5" not in src, src


def smoothed_rows(x):
    d = np.diff(x, axis=0)
    return np.sum(np.sqrt(d ** 2 + 1e-3))


def test_a_reciprocal_times_a_value_is_a_quotient():
    """sqrt's rule and the product around it leave 1.0 / s * d: that is d / s, one
    operation (and one rounding) less, computed in place into s's array."""
    x = np.random.default_rng(6).standard_normal((80, 60))
    g = sd.grad(smoothed_rows)
    d = np.diff(x, axis=0)
    want = np.zeros_like(x)
    want[1:] += d / np.sqrt(d ** 2 + 1e-3)
    want[:-1] -= d / np.sqrt(d ** 2 + 1e-3)
    np.testing.assert_allclose(g(x), want, rtol=1e-13, atol=1e-15)
    src = sd.source(g)
    assert "np.divide(d, d_bar, out=d_bar)" in src and "1.0" not in src, src
    small = x[:4, :3]
    np.testing.assert_allclose(g(small), fd(smoothed_rows, (small,), 0), rtol=1e-6,
                               atol=1e-8)


def fills_a_slice(x):
    y = np.zeros(x.shape)
    y[1:] = np.sin(x[:-1]) * 2.0          # stores into a view ...
    z = np.zeros(x.shape)
    z[[0, 2]] = np.cos(x[1:3]) * 3.0      # ... and through a fancy index
    return np.sum(y * x + z * x)


def test_values_stored_into_arrays_stay_right(everywhere):
    x = np.linspace(-1.0, 1.0, 6)
    vg = sd.value_and_grad(fills_a_slice)
    value, grad = vg(x)
    assert value == pytest.approx(fills_a_slice(x), rel=1e-14)
    np.testing.assert_allclose(grad, fd(fills_a_slice, (x,), 0), rtol=1e-6, atol=1e-8)
    h = sd.hessian(fills_a_slice)(x)
    g = sd.grad(fills_a_slice)
    np.testing.assert_allclose(h, [fd(lambda v, i=i: g(v)[i], (x,), 0) for i in range(6)],
                               rtol=1e-5, atol=1e-6)


def test_rosenbrock_first_store_is_computed_in_the_gradient_buffer(everywhere):
    x = np.random.default_rng(8).uniform(-1.0, 1.0, 9)
    g = sd.grad(rosenbrock)
    np.testing.assert_allclose(g(x), rosenbrock_by_hand(x), rtol=1e-13, atol=1e-12)
    src = sd.source(g)
    assert "= x_bar[:-1]\n" in src and "np.subtract(1.0, _t8, out=" in src


def refills_from_itself(x, w):
    y = w * 2.0                           # not differentiated (wrt x): stored as written
    y[:3] = np.exp(y[3:]) - y[:3]         # reads y[:3] after the exp: not computed there
    return np.sum(np.sin(x) * y)


def test_a_value_that_reads_the_buffer_is_not_computed_in_its_view(everywhere):
    """``y[:3] = np.exp(y[3:]) - y[:3]`` computed in the view ``y[:3]`` would write the
    exp over the values the subtraction then reads (value and gradient: y[:3] = 0)."""
    x, w = np.linspace(-1.0, 1.0, 6), np.linspace(0.2, 0.9, 6)
    y = 2.0 * w
    y[:3] = np.exp(2.0 * w[3:]) - 2.0 * w[:3]
    vg = sd.value_and_grad(refills_from_itself)
    value, grad = vg(x, w)
    assert value == pytest.approx(np.sum(np.sin(x) * y), rel=1e-14)
    np.testing.assert_allclose(grad, y * np.cos(x), rtol=1e-14)
    np.testing.assert_allclose(grad, fd(refills_from_itself, (x, w), 0), rtol=1e-6, atol=1e-8)
    g = sd.grad(refills_from_itself)
    np.testing.assert_allclose(sd.hessian(refills_from_itself)(x, w),
                               [fd(lambda v, i=i: g(v, w)[i], (x,), 0) for i in range(6)],
                               rtol=1e-5, atol=1e-6)
    src = sd.source(vg)
    assert "_t8 -= y[:3]\n" in src and "y[:3] = _t8\n" in src, src   # in a temporary


@pytest.mark.parametrize("src, printed, want", [
    ("zeros_for(x)", False, "x"),
    ("_sd.zeros_for(x)", True, "x"),
    ("np.zeros(x.shape)", False, "x"),
    ("np.zeros(x.shape)", True, "x"),
    ("zeros_for(x)", True, None),        # printed, a plain zeros_for is the user's
    ("_sd.zeros_for(x)", False, None),
    ("zeros_for(x + 1)", False, "x + 1"),
    ("np.zeros(x.shape, np.float32)", False, None),
    ("np.ones(x.shape)", False, None),
])
def test_one_recognizer_of_a_zero_buffer(src, printed, want):
    """regions.zeros_of: the zero buffers of the rewrites and of grad's entry code (which
    returns one updated in place as it is), in code as the compiler holds it and as printed."""
    p = regions.zeros_of(N.parse_expr(src), printed=printed)
    assert (p if p is None else codegen.to_source(N.expr_stmt(p)).strip()) == want

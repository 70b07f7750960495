"""Shapes through NumPy's shape functions (np.diff, np.repeat, np.pad, ...): declared
``shaped`` in the primitive table, so shape specialisation carries on past them, and a
number whose value decides a shape (``np.diff(x, n)`` with ``n`` an argument) leaves
that shape unknown rather than wrong.

Gradients are checked against hand-computed values and central differences, at
order 1 and 2.
"""

from __future__ import annotations

import inspect

import gast
import numpy as np
import pytest

import sourcediff as sd
from sourcediff.ir import nodes as N
from sourcediff.opt import shapes
from sourcediff.runtime.numeric_shape import undiff

from conftest import fd


def tv_denoise(u, f, lam, eps):
    """A scientist's loss: data term plus smoothed total variation (np.diff)."""
    return 0.5 * np.sum((u - f) ** 2) + lam * np.sum(np.sqrt(np.diff(u) ** 2 + eps))


def tv_by_hand(u, f, lam, eps):
    d = np.diff(u)
    s = lam * d / np.sqrt(d * d + eps)
    g = u - f
    g[1:] += s
    g[:-1] -= s
    return g


def test_total_variation_is_specialised_past_np_diff():
    rng = np.random.default_rng(0)
    u, f = rng.standard_normal(50), rng.standard_normal(50)
    g = sd.grad(tv_denoise)
    got = g(u, f, 0.5, 1e-3)
    np.testing.assert_allclose(got, tv_by_hand(u, f, 0.5, 1e-3), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got, fd(tv_denoise, (u, f, 0.5, 1e-3), 0), rtol=1e-5, atol=1e-7)
    entry = inspect.getsource(g)
    # the output is known to be a number and every shape known: no run-time checks left
    assert "_sd_value" not in entry and "unbroadcast" not in entry and "unreduce" not in entry


def test_total_variation_second_order():
    rng = np.random.default_rng(1)
    u, f = rng.standard_normal(6), rng.standard_normal(6)
    h = sd.hessian(tv_denoise)(u, f, 0.5, 1e-2)
    g = sd.grad(tv_denoise)
    want = np.array([fd(lambda v, i=i: g(v, f, 0.5, 1e-2)[i], (u,), 0) for i in range(6)])
    np.testing.assert_allclose(h, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape, n, axis", [((7,), 1, -1), ((7,), 3, 0), ((4, 5), 2, 0),
                                            ((3, 4, 5), 2, -2), ((1,), 1, -1)])
def test_undiff_is_the_adjoint_of_diff(shape, n, axis):
    rng = np.random.default_rng(2)
    a = rng.standard_normal(shape)
    d = np.diff(a, n, axis)
    g = rng.standard_normal(d.shape)
    u = undiff(g, a, n, axis)
    assert u.shape == a.shape
    assert np.sum(d * g) == pytest.approx(np.sum(a * u), rel=1e-12, abs=1e-12)


def _name(name):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def test_a_number_that_decides_a_shape_leaves_it_unknown():
    """np.diff(x, n) with n a number known only as a number: evaluated with n standing in
    as 0.0, 1 and 2, the shapes disagree, so the shape is unknown (never the shape for
    n = 0); with n a constant, it is known."""
    shapes._MEMO.clear()
    sh = shapes.Shapes({"np": np}, {"x": (8,), "n": (), "c": ()}, {})
    assert sh.evaluate(np.diff, [_name("x"), _name("n")], []) is None
    assert sh.evaluate(np.repeat, [_name("x"), _name("n")], []) is None
    assert sh.evaluate(np.diff, [_name("x"), N.const(2)], []) == (6,)
    assert sh.evaluate(np.roll, [_name("x"), _name("n")], []) == (8,)  # (any shift)


def diff_n(x, n):
    return np.sum(np.diff(x, n) ** 2)


def repeat_tile(x, k):
    return np.sum(np.repeat(x, k) ** 2 * np.tile(x, k) ** 2)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_shapes_decided_by_arguments_stay_right(k):
    x = np.linspace(0.0, 1.0, 8) ** 3
    for f in (diff_n, repeat_tile):
        np.testing.assert_allclose(sd.grad(f)(x, k), fd(f, (x, k), 0), rtol=1e-5, atol=1e-7)


def pad_arange(x):
    return np.sum(np.pad(x, 2) ** 2 * np.arange(x.size + 4))


def roll_flip_sort(x):
    return np.sum(np.roll(x, 1) * x ** 2 + np.flipud(x) * np.sort(x) ** 2)


def cross_kron_vdot(x):
    return np.sum(np.cross(x[:3], x[1:4]) ** 2) + np.sum(np.kron(x[:2], x[2:]) ** 2) \
        + np.vdot(x, x ** 2)


def diag_triu_tensordot(x):
    m = np.outer(x, x)
    return np.sum(np.diag(x) @ np.diag(x ** 2)) + np.sum(np.triu(m, 1) ** 2) \
        + np.tensordot(m, np.outer(x, 1.0 + x), 2)


def take_along_append(x):
    return np.sum(np.take_along_axis(x, np.argsort(x), 0) * np.arange(x.size)) \
        + np.sum(np.append(x, x ** 2) ** 2)


@pytest.mark.parametrize("f", [pad_arange, roll_flip_sort, cross_kron_vdot,
                               diag_triu_tensordot, take_along_append])
def test_shaped_functions_differentiate_right_and_leave_no_check(f):
    x = np.random.default_rng(3).standard_normal(5)
    g = sd.grad(f)
    np.testing.assert_allclose(g(x), fd(f, (x,), 0), rtol=1e-5, atol=1e-7)
    assert "_sd_value" not in inspect.getsource(g)  # (the output is known to be a number)
    h = sd.hessian(f)(x)
    want = np.array([fd(lambda v, i=i: g(v)[i], (x,), 0) for i in range(5)])
    np.testing.assert_allclose(h, want, rtol=1e-4, atol=1e-5)


def linalg_losses(a):
    m = a @ a.T + 3.0 * np.eye(3)
    x = np.linalg.solve(m, a[:, 0])
    return np.sum(np.linalg.inv(m) ** 2) + np.log(np.linalg.det(m)) \
        + np.sum(np.linalg.cholesky(m)) + x @ x


def spectrum(x):
    return np.sum(np.abs(np.fft.rfft(x)) ** 2) + np.sum(np.real(np.fft.fft(x) * np.arange(8)))


@pytest.mark.parametrize("f, shape", [(linalg_losses, (3, 3)), (spectrum, (8,))])
def test_matrix_and_fft_shapes_are_known(f, shape):
    x = np.random.default_rng(4).standard_normal(shape)
    g = sd.grad(f)
    np.testing.assert_allclose(g(x), fd(f, (x,), 0), rtol=1e-5, atol=1e-6)
    assert "_sd_value" not in inspect.getsource(g)


def test_tv_benchmark_gradient_updates_its_own_arrays_in_place():
    """The total-variation workload of benchmarks/ (n = 10^4): its cotangent arrays are
    computed in place, and np.diff's adjoint added into the data term's u - f, as the
    hand-written gradient's are (tests/test_undiff_regions.py: line for line)."""
    n = 10_000
    rng = np.random.default_rng(5)
    u, f = rng.standard_normal(n), rng.standard_normal(n)
    g = sd.grad(tv_denoise)
    np.testing.assert_allclose(g(u, f, 0.5, 1e-4), tv_by_hand(u, f, 0.5, 1e-4), rtol=1e-11,
                               atol=1e-12)
    entry = inspect.getsource(g)
    assert "np.sqrt(t9_bar, out=t9_bar)" in entry and "u_bar = u - f" in entry
    assert "u_bar[1:] += t9_bar" in entry and "undiff" not in entry


def diff_then_add(x, y, n):
    d = np.diff(x, n)
    d = d + y             # (np.diff(x, 0) is x itself: never d += y)
    return np.sum(d * d)


def test_np_diff_of_order_zero_is_not_written_into():
    x = np.linspace(0.0, 1.0, 6000) ** 2
    y = np.ones(6000)
    before = x.copy()
    g = sd.grad(diff_then_add, wrt=(0, 1))
    gx, gy = g(x, y, 0)
    assert np.array_equal(x, before)
    np.testing.assert_allclose(gx, 2 * (x + y), rtol=1e-12)
    np.testing.assert_allclose(gy, 2 * (x + y), rtol=1e-12)
    gx, gy = g(x, y[1:], 1)
    assert np.array_equal(x, before)
    np.testing.assert_allclose(gy, 2 * (np.diff(x) + y[1:]), rtol=1e-12)


def test_mixture_gradient_divides_the_sum_not_every_term():
    """A broadcast dropped from a quotient's dividend is one of a name or a number only:
    dropping that of an expression (the mixture's -(1.0 / n)) left contract_sums unable to
    hoist the division out of np.sum over (N, K, D) (1.75x the hand-written peak memory)."""
    from benchmarks.workloads import all_workloads
    wl = next(w for w in all_workloads(quick=True) if w.name == "gmm")
    g = sd.grad(wl.fn, wrt=wl.wrt_arg)
    args = wl.make_args()
    for got, want in zip(g(*args), wl.grad(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    entry = inspect.getsource(g)
    assert "np.sum(d_bar, axis=0) / _t3" in entry and "np.sum(-d_bar" not in entry, entry

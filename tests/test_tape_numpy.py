"""The runtime tape on NumPy code: every case is checked against finite differences."""

import numpy as np
import pytest

from conftest import fd
from sourcediff import grad, tape
from sourcediff.errors import MissingRuleError

rng = np.random.default_rng(42)
A = rng.normal(size=(3, 4))
B = rng.normal(size=(4, 2))
V3 = rng.normal(size=3)
V4 = rng.normal(size=4)
POS = rng.uniform(0.5, 2.0, size=(3, 4))
T3 = rng.normal(size=(2, 3, 4))
W = rng.normal(size=(4, 3))


def check(f, *args):
    """tape.grad of ``f`` in every argument agrees with finite differences."""
    grads = tape.grad(f, wrt=tuple(range(len(args))))(*args)
    for i, g in enumerate(grads):
        expected = fd(f, args, i)
        assert np.shape(g) == np.shape(args[i])
        np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-7)


CASES = {
    # elementwise and broadcasting
    "sin_cos_tan": (lambda x: np.sum(np.sin(x) * np.cos(x) + np.tan(x / 4)), A),
    "exp_log_sqrt": (lambda x: np.sum(np.exp(-x) + np.log(x) * np.sqrt(x)), POS),
    "tanh_arctan": (lambda x: np.sum(np.tanh(x) + np.arctan(x) + np.arcsinh(x)), A),
    "log1p_expm1": (lambda x: np.sum(np.log1p(x) + np.expm1(x) + np.log2(x) + np.log10(x)), POS),
    "square_recip_abs": (lambda x: np.sum(np.square(x) + np.reciprocal(x) + abs(x - 1)), POS),
    "power": (lambda x, y: np.sum(x ** y + 2.0 ** y + np.power(x, 3)), POS, POS[0]),
    "divide": (lambda x, y: np.sum(x / y - y / x), POS, POS[:, :1]),
    "max_min": (lambda x, y: np.sum(np.maximum(x, y) + np.minimum(x, 0.1)), A, A.T[0][:, None] * 0.3),
    "arctan2_hypot": (lambda x, y: np.sum(np.arctan2(y, x) + np.hypot(x, y)), POS, A),
    "logaddexp": (lambda x, y: np.sum(np.logaddexp(x, y)), A, V4),
    "where_clip": (lambda x: np.sum(np.where(x > 0, x ** 2, -x) + np.clip(x, -0.5, 0.5)), A),
    "broadcast_rows_cols": (lambda c, r: np.sum((c * r + c - r) ** 2), V3[:, None], V4[None, :]),
    "scalar_with_array": (lambda s, x: np.sum(s * x + s), 1.7, A),
    "neg_pos_sub": (lambda x: np.sum(-x + (+x) * 2 - 1.0 - x), A),
    # reductions
    "sum_axis": (lambda x: np.sum(np.sum(x, axis=0) ** 2) + np.sum(x.sum(axis=1) ** 3), A),
    "sum_keepdims": (lambda x: np.sum(x / np.sum(x, axis=1, keepdims=True)), POS),
    "mean": (lambda x: np.mean(x ** 2) + np.sum(np.mean(x, axis=(0, 2)) ** 2), T3),
    "prod": (lambda x: np.prod(x) + np.sum(np.prod(x, axis=0)), POS),
    "max_min_reduce": (lambda x: np.max(x) - np.min(x) + np.sum(x.max(axis=1) ** 2), A),
    "norm": (lambda x: np.linalg.norm(x) + np.sum(np.linalg.norm(x, axis=0)), A),
    "take_flip": (lambda x: np.sum(np.take(x, [0, 2, 2], axis=1) ** 2) + np.sum(np.take(x, [1, 5]))
                  + np.sum(np.flip(x, 0)[0] ** 3) + np.sum(np.take(x, 1, axis=-1) ** 2), A),
    "cumsum": (lambda x: np.sum(np.cumsum(x) ** 2) + np.sum(np.cumsum(x, axis=1) ** 2), A),
    "builtin_sum": (lambda x: sum([x[0], x[1] * 2]), V3),
    # linear algebra
    "matmul_2d": (lambda a, b: np.sum((a @ b) ** 2), A, B),
    "matmul_vec": (lambda a, v, w: np.sum((a @ v) * 2) + v @ v + np.sum(w @ a), A, V4, V3),
    "matmul_batched": (lambda t, w: np.sum(np.tanh(t @ w)), T3, W),
    "dot": (lambda a, b, v: np.sum(np.dot(a, b) ** 2) + np.dot(v, v) + a.dot(b)[0, 0], A, B, V4),
    "outer_inner": (lambda u, v: np.sum(np.outer(u, v) ** 2) + np.inner(v, v), V3, V4),
    "trace": (lambda x: np.trace(x @ x.T), A),
    "einsum": (lambda a, b: np.sum(np.einsum("ij,jk->ik", a, b) ** 2)
               + np.einsum("ij,ij->", a, a), A, B),
    "einsum_summed_and_repeated": (lambda a, t: np.einsum("ii->", a @ a.T) ** 2
                                   + np.sum(np.einsum("ij->i", a) ** 2)
                                   + np.sum(np.einsum("iij->j", t) ** 2), A, T3[:, :2, :2]),
    # shapes
    "transpose_T": (lambda x: np.sum(x.T @ x) + np.sum(np.transpose(x, (1, 0))[0]), A),
    "transpose_axes": (lambda t: np.sum(np.transpose(t, (2, 0, 1))[0] ** 2)
                       + np.sum(t.transpose(1, 2, 0)[0] ** 3), T3),
    "swap_move": (lambda t: np.sum(np.swapaxes(t, 0, 2)[0] ** 2)
                  + np.sum(np.moveaxis(t, 0, -1)[..., 1] ** 3), T3),
    "reshape_forms": (lambda x: np.sum(x.reshape(2, 6)[0] ** 2) + np.sum(x.reshape((6, 2))[1] ** 3)
                      + np.sum(np.reshape(x, (12,))[::3] ** 2), A),
    "ravel_squeeze_expand": (lambda x: np.sum(x.ravel()[:5] ** 2)
                             + np.sum(np.squeeze(np.expand_dims(x, 0), 0) ** 3), A),
    "broadcast_to": (lambda v: np.sum(np.broadcast_to(v, (3, 4)) * A), V4),
    "concatenate": (lambda a, b: np.sum(np.concatenate([a, b.T], axis=0) ** 2)
                    + np.sum(np.concatenate([a[0], b[:, 0]]) ** 3), A, B),
    "stack": (lambda u, v: np.sum(np.stack([u, v * 2], axis=1) ** 2)
              + np.sum(np.stack([u[0], v[1]]) ** 3), V3, V3 + 1),
    "methods": (lambda x: x.mean() + x.prod() * 0 + x.copy().sum() + np.sum(x.flatten() ** 2), A),
    # indexing reads
    "index_int_slice": (lambda x: x[1, 2] * x[0, 0] + np.sum(x[1:, ::2] ** 2) + x[-1, -1], A),
    "index_mask": (lambda x: np.sum(x[x > 0] ** 2), A),
    "index_int_array": (lambda x: np.sum(x[[0, 2, 0]] ** 2) + np.sum(x[:, [1, 1]] * 3), A),
    "index_newaxis_ellipsis": (lambda t: np.sum(t[..., 1][None] ** 2), T3),
    "iterate_rows": (lambda x: sum(np.sum(row ** 2) * k for k, row in enumerate(x)), A),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_finite_differences(name):
    f, *args = CASES[name]
    check(f, *args)


def test_astype_float32_round_trip():
    g = tape.grad(lambda x: np.sum(x.astype(np.float32).astype(np.float64) ** 2))(V3)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * V3, rtol=1e-6)
    assert tape.grad(lambda x: np.sum(x * x.astype(int)))(np.array([1.5, 2.5]))[1] == 2.0


# --- assignment ------------------------------------------------------------------------

def test_setitem_into_traced_array():
    def f(x):
        y = x * 1.0
        y[0] = x[1] ** 2                 # overwritten slot: x[0] gets no gradient through y[0]
        y[1:] += x[:2] * 3.0
        y[-1] = 7.0
        return np.sum(y ** 2)
    check(f, V3)


def test_setitem_into_zeros_like():
    def f(x):
        out = np.zeros_like(x)
        for i in range(len(x)):
            out[i] = x[i] * (i + 1.0)
        out[[0, 2]] += x[1]
        return np.sum(out ** 2)
    check(f, V4)


def test_setitem_2d_rows_broadcast():
    def f(x, r):
        y = x * 1.0
        y[1] = r                         # a row from a vector
        y[:, 0] = r[0]                   # a column from a scalar (broadcast)
        return np.sum(np.sin(y))
    check(f, A, V4)


# --- errors --------------------------------------------------------------------------------------

def test_unsupported_keyword_is_missing_rule():
    with pytest.raises(MissingRuleError, match="where"):
        tape.grad(lambda x: np.sum(x, where=x > 0))(A)


def test_ufunc_method_without_rule():
    with pytest.raises(MissingRuleError, match="accumulate"):
        tape.grad(lambda x: np.sum(np.add.accumulate(x)))(V3)


# --- higher order ----------------------------------------------------------------------------------

def _weighted_grad_sum(f, n):
    """A scalar function of the same arguments: a fixed weighting of grad(f)'s entries."""
    def total(*args):
        grads = tape.grad(f, wrt=tuple(range(n)))(*args)
        return sum(np.sum(g * np.cos(np.arange(np.size(g)).reshape(np.shape(g)) + 1.0))
                   for g in grads)
    return [lambda a: total(a), lambda a, b: total(a, b), lambda a, b, c: total(a, b, c)][n - 1]


@pytest.mark.parametrize("name", sorted(set(CASES) - {"concatenate"}))
def test_second_order_against_finite_differences(name):
    """grad of (a weighted sum of) grad: the sweep records itself on the outer trace."""
    f, *args = CASES[name]
    check(_weighted_grad_sum(f, len(args)), *args)


def test_second_order_through_concatenate_uses_the_split_rule():
    """(np.split's rule, issue #18, is what the cotangent of concatenate records.)"""
    f, *args = CASES["concatenate"]
    check(_weighted_grad_sum(f, 2), *args)


def test_second_and_third_derivative_scalar():
    f = lambda x: x ** 3 + np.sin(x)        # noqa: E731
    d2 = tape.grad(tape.grad(f))
    d3 = tape.grad(d2)
    assert d2(0.7) == pytest.approx(6 * 0.7 - np.sin(0.7))
    assert d3(0.7) == pytest.approx(6 - np.cos(0.7))


def test_hessian_vector_product_through_matmul_and_indexing():
    def f(x):
        return np.sum(np.tanh(A @ x) ** 2) + x[0] * x[1] ** 2

    v = rng.normal(size=4)
    hvp = tape.grad(lambda x: np.sum(tape.grad(f)(x) * v))(V4)

    def hessian_column(k, eps=1e-5):
        e = np.zeros(4)
        e[k] = eps
        return (tape.grad(f)(V4 + e) - tape.grad(f)(V4 - e)) / (2 * eps)
    H = np.stack([hessian_column(k) for k in range(4)], axis=1)
    np.testing.assert_allclose(hvp, H @ v, rtol=1e-6, atol=1e-8)


def test_nested_grads_do_not_confuse_perturbations():
    # d/dx [x * d/dy (x * y)] = d/dx [x * x] = 2x
    def outer(x):
        return x * tape.grad(lambda y: x * y)(3.0)
    assert tape.grad(outer)(2.0) == 4.0


def filled(x):
    a = np.full((2, 3), x[0], dtype=float)
    b = np.full_like(x, x[1] * 2.0)
    c = np.full_like(x, 1.5)
    c[0] = x[2] * 3.0
    e = np.full_like(x[:, None], x[1], shape=(3, 2))
    return np.sum(a * a) + np.sum(b * x) + np.sum(c * c) + np.sum(np.sin(e))


def test_full_and_full_like_record_through_their_rules():
    """np.full / np.full_like of a traced fill value go through rules_fill.py's rules
    (the shim had its own broadcast for them); of a constant, a traced constant that
    a later store records into."""
    x = np.array([0.3, -0.7, 1.1])
    assert np.allclose(tape.grad(filled)(x), fd(filled, (x,), 0))
    assert np.allclose(tape.grad(filled)(x), grad(filled)(x))

"""Gradients checked against hand-derived formulas (no finite differences)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import sourcediff
from sourcediff import grad, no_grad, primitive, source, stop_gradient, value_and_grad, vjp

from sourcediff import tape as _tape


@pytest.fixture(params=["compile", "tape"])
def mode(request):
    return request.param


def G(f, wrt=0, mode="compile"):
    return grad(f, wrt, mode=mode)


def VG(f, wrt=0, mode="compile"):
    return value_and_grad(f, wrt, mode=mode)


# --- elementary -----------------------------------------------------------------------


def sum_sq(x):
    return np.sum(x ** 2)


def sq(x):
    return x ** 2


def sin_sq(x):
    return np.sin(x ** 2)


def math_sin_sq(x):
    return math.sin(x ** 2)


def test_sum_of_squares(mode):
    x = np.array([1.0, -2.0, 3.5])
    g = G(sum_sq, mode=mode)(x)
    assert_allclose(g, 2 * x, rtol=1e-15)
    assert g.dtype == np.float64 and g.shape == (3,)


def test_square_at_two(mode):
    g = G(sq, mode=mode)(2.0)
    assert g == 4.0
    assert type(g) is float


def test_sin_of_square(mode):
    for x in (0.3, 1.3, -2.0):
        assert_allclose(G(sin_sq, mode=mode)(x), 2 * x * math.cos(x * x), rtol=1e-14)
    if mode == "compile":
        assert_allclose(G(math_sin_sq)(1.3), 2 * 1.3 * math.cos(1.69), rtol=1e-14)


def _d2_sin_sq(x):
    return 2 * math.cos(x * x) - 4 * x * x * math.sin(x * x)


def test_second_derivative(mode):
    for x in (0.3, 1.3, -2.0):
        assert_allclose(G(G(sin_sq, mode=mode), mode=mode)(x), _d2_sin_sq(x), rtol=1e-12)


def test_second_derivative_math():
    assert_allclose(grad(grad(math_sin_sq))(1.3), _d2_sin_sq(1.3), rtol=1e-12)


def test_third_derivative_cube():
    def cube(x):
        return x * x * x
    assert_allclose(grad(grad(grad(cube)))(1.7), 6.0, rtol=1e-14)


def grad_of_sum_sq_sum(x):
    return np.sum(grad(sum_sq)(x) * x)


def test_grad_inside_differentiated_function():
    # d/dx sum(2x * x) = 4x
    x = np.array([1.0, 2.0])
    assert_allclose(grad(grad_of_sum_sq_sum)(x), 4 * x)


# --- seed-002 loss --------------------------------------------------------------------------


def seed002(w, b, x, t, lam):
    z = w * x + b
    y = 1 / (1 + np.exp(-z))
    return 0.5 * (y - t) ** 2 + 0.5 * lam * w ** 2


def _seed002_hand(w, b, x, t, lam):
    y = 1 / (1 + np.exp(-(w * x + b)))
    dw = (y - t) * y * (1 - y) * x + lam * w
    db = (y - t) * y * (1 - y)
    return dw, db


@pytest.mark.parametrize("point", [(0.3, -0.2, 1.5, 1.0, 0.1), (-1.2, 0.7, -0.4, 0.0, 0.5),
                                   (2.0, 1.0, 3.0, 1.0, 0.0)])
def test_seed002_floats(point, mode):
    dw, db = G(seed002, ("w", "b"), mode=mode)(*point)
    ew, eb = _seed002_hand(*point)
    assert_allclose(dw, ew, rtol=1e-13, atol=1e-16)
    assert_allclose(db, eb, rtol=1e-13, atol=1e-16)
    assert type(dw) is float and type(db) is float


def test_seed002_value_and_grad(mode):
    point = (0.3, -0.2, 1.5, 1.0, 0.1)
    value, (dw, db) = VG(seed002, (0, 1), mode=mode)(*point)
    assert_allclose(value, seed002(*point), rtol=1e-15)
    assert_allclose((dw, db), _seed002_hand(*point), rtol=1e-13)


def test_seed002_keyword_call(mode):
    dw = G(seed002, "w", mode=mode)(0.3, -0.2, x=1.5, t=1.0, lam=0.1)
    assert_allclose(dw, _seed002_hand(0.3, -0.2, 1.5, 1.0, 0.1)[0], rtol=1e-13)


def test_seed002_elementwise_arrays(mode):
    rng = np.random.default_rng(2)
    w, b, x = rng.standard_normal((3, 5))
    # elementwise loss: the gradient of the sum is the per-element derivative
    ew, eb = _seed002_hand(w, b, x, 1.0, 0.1)
    dw, db = G(total_seed002, (0, 1), mode=mode)(w, b, x)
    assert_allclose(dw, ew, rtol=1e-13)
    assert_allclose(db, eb, rtol=1e-13)


def total_seed002(w, b, x):
    return np.sum(seed002_inline(w, b, x, 1.0, 0.1))


def seed002_inline(w, b, x, t, lam):
    z = w * x + b
    y = 1 / (1 + np.exp(-z))
    return 0.5 * (y - t) ** 2 + 0.5 * lam * w ** 2


# --- models ---------------------------------------------------------------------------------


def logreg(w, b, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def test_logistic_regression(mode):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((8, 3))
    y = (rng.uniform(size=8) > 0.5).astype(float)
    w = rng.standard_normal(3)
    b = 0.3
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    gw, gb = G(logreg, ("w", "b"), mode=mode)(w, b, X, y)
    assert_allclose(gw, X.T @ (p - y) / len(y), rtol=1e-12)
    assert_allclose(gb, np.mean(p - y), rtol=1e-12)
    assert type(gb) is float


def softmax_ce(W, X, Y):
    logits = X @ W
    logits = logits - np.max(logits, axis=1, keepdims=True)
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


def test_softmax_cross_entropy(mode):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((6, 3))
    W = rng.standard_normal((3, 4))
    Y = np.eye(4)[rng.integers(0, 4, 6)]
    logits = X @ W
    P = np.exp(logits - logits.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    assert_allclose(G(softmax_ce, mode=mode)(W, X, Y), X.T @ (P - Y) / 6, rtol=1e-12)


def mlp(W1, W2, X, y):
    h = np.tanh(X @ W1)
    out = h @ W2
    return 0.5 * np.sum((out - y) ** 2)


def test_mlp_backprop(mode):
    rng = np.random.default_rng(5)
    X, W1, W2 = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)
    y = rng.standard_normal(4)
    h = np.tanh(X @ W1)
    d_out = h @ W2 - y
    gW2 = h.T @ d_out
    gW1 = X.T @ (np.outer(d_out, W2) * (1 - h ** 2))
    g1, g2 = G(mlp, (0, 1), mode=mode)(W1, W2, X, y)
    assert_allclose(g1, gW1, rtol=1e-12)
    assert_allclose(g2, gW2, rtol=1e-12)


# --- linear algebra -------------------------------------------------------------------------


def weighted_matmul(A, B, Gm):
    return np.sum(Gm * (A @ B))


def weighted_dot(A, B, Gm):
    return np.sum(Gm * np.dot(A, B))


@pytest.mark.parametrize("f", [weighted_matmul, weighted_dot])
def test_matmul_gradient(f, mode):
    rng = np.random.default_rng(6)
    A, B, Gm = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    gA, gB = G(f, (0, 1), mode=mode)(A, B, Gm)
    assert_allclose(gA, Gm @ B.T, rtol=1e-13)
    assert_allclose(gB, A.T @ Gm, rtol=1e-13)


def test_batched_matmul_gradient(mode):
    rng = np.random.default_rng(7)
    A, B = rng.standard_normal((5, 2, 3)), rng.standard_normal((3, 4))
    Gm = rng.standard_normal((5, 2, 4))
    gA, gB = G(weighted_matmul, (0, 1), mode=mode)(A, B, Gm)
    assert_allclose(gA, Gm @ B.T, rtol=1e-13)
    assert_allclose(gB, np.einsum("nij,nik->jk", A, Gm), rtol=1e-12)


def matmul_out(A, B):
    return A @ B


def test_matmul_vjp():
    rng = np.random.default_rng(8)
    A, B, Gm = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    out, pullback = vjp(matmul_out, A, B)
    assert_allclose(out, A @ B)
    gA, gB = pullback(Gm)
    assert_allclose(gA, Gm @ B.T, rtol=1e-13)
    assert_allclose(gB, A.T @ Gm, rtol=1e-13)


def quad_form(x, M):
    return x @ M @ x


def test_quadratic_form(mode):
    rng = np.random.default_rng(9)
    x, M = rng.standard_normal(3), rng.standard_normal((3, 3))
    assert_allclose(G(quad_form, mode=mode)(x, M), (M + M.T) @ x, rtol=1e-13)
    assert_allclose(G(quad_form, 1, mode=mode)(x, M), np.outer(x, x), rtol=1e-13)


def trace_of(A):
    return np.trace(A)


def test_trace(mode):
    assert_allclose(G(trace_of, mode=mode)(np.arange(9.0).reshape(3, 3)), np.eye(3))


def einsum_bilinear(A, x, y):
    return np.einsum("i,ij,j->", x, A, y)


def test_einsum_bilinear():
    rng = np.random.default_rng(10)
    A, x, y = rng.standard_normal((3, 4)), rng.standard_normal(3), rng.standard_normal(4)
    assert_allclose(grad(einsum_bilinear)(A, x, y), np.outer(x, y), rtol=1e-13)


def test_einsum_bilinear_tape():
    rng = np.random.default_rng(10)
    A, x, y = rng.standard_normal((3, 4)), rng.standard_normal(3), rng.standard_normal(4)
    assert_allclose(_tape.grad(einsum_bilinear)(A, x, y), np.outer(x, y), rtol=1e-13)


# --- reductions with ties and kinks ------------------------------------------------------------


def max_of(x):
    return np.max(x)


def abs_sum(x):
    return np.sum(np.abs(x))


def test_max_ties_share_gradient(mode):
    assert_allclose(G(max_of, mode=mode)(np.array([1.0, 3.0, 3.0])), [0.0, 0.5, 0.5])


def test_abs_at_zero_is_zero(mode):
    assert_allclose(G(abs_sum, mode=mode)(np.array([-2.0, 0.0, 3.0])), [-1.0, 0.0, 1.0])


def mean_axis0(x):
    return np.sum(np.mean(x, axis=0) * np.array([1.0, 2.0, 3.0]))


def test_mean_axis(mode):
    g = G(mean_axis0, mode=mode)(np.ones((4, 3)))
    assert_allclose(g, np.tile([0.25, 0.5, 0.75], (4, 1)))


def prod_of(x):
    return np.prod(x)


def test_prod(mode):
    x = np.array([2.0, 3.0, 5.0])
    assert_allclose(G(prod_of, mode=mode)(x), [15.0, 10.0, 6.0])


# --- markers and custom rules -------------------------------------------------------------------


def with_stop(x):
    return np.sum(x * stop_gradient(x))


def with_no_grad(x):
    with no_grad():
        c = np.sum(x)
    return np.sum(x ** 2) * c


def test_stop_gradient(mode):
    x = np.array([1.0, -2.0, 0.5])
    assert_allclose(G(with_stop, mode=mode)(x), x)


def test_no_grad(mode):
    x = np.array([1.0, -2.0, 0.5])
    assert_allclose(G(with_no_grad, mode=mode)(x), 2 * x * np.sum(x))


@primitive
def my_cube(x):
    return x ** 3


my_cube.defvjp(lambda g, ans, x: (g * 3.0 * x ** 2,))


def uses_primitive(x):
    return np.sum(my_cube(x) * 2.0)


def test_primitive_rule(mode):
    x = np.array([1.0, 2.0])
    assert_allclose(G(uses_primitive, mode=mode)(x), 6.0 * x ** 2)


# --- shapes, types, API details ---------------------------------------------------------------


def two_args(x, y):
    return np.sum(x * y) + np.sum(y)


def test_wrt_forms(mode):
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    assert_allclose(G(two_args, 1, mode=mode)(x, y), x + 1)
    assert_allclose(G(two_args, "y", mode=mode)(x, y), x + 1)
    assert_allclose(G(two_args, -1, mode=mode)(x, y), x + 1)
    gx, gy = G(two_args, (0, "y"), mode=mode)(x, y)
    assert_allclose(gx, y)
    assert_allclose(gy, x + 1)
    (gx_only,) = G(two_args, (0,), mode=mode)(x, y)
    assert_allclose(gx_only, y)


def unused_arg(x, y):
    return np.sum(x ** 2)


def test_unused_argument_gets_zeros(mode):
    gy = G(unused_arg, 1, mode=mode)(np.ones(2), np.ones((2, 3), dtype=np.float32))
    assert isinstance(gy, np.ndarray) and gy.shape == (2, 3) and gy.dtype == np.float32
    assert not gy.any()


def unused_float(x, y):
    return x * 2.0


def test_unused_float_argument(mode):
    gy = G(unused_float, 1, mode=mode)(1.0, 3.0)
    assert gy == 0.0 and type(gy) is float


def constant_fn(x):
    return 3.0


def test_constant_function(mode):
    g = G(constant_fn, mode=mode)(np.ones(3))
    assert g.shape == (3,) and not g.any()


def f32_fn(x):
    return np.sum(np.sin(x) * 2.0)


def test_float32_in_float32_out(mode):
    x = np.array([0.5, 1.0], dtype=np.float32)
    g = G(f32_fn, mode=mode)(x)
    assert g.dtype == np.float32
    assert_allclose(g, 2 * np.cos(x.astype(np.float64)), rtol=1e-6)


def test_same_function_different_shapes(mode):
    g = G(sum_sq, mode=mode)
    assert_allclose(g(np.ones(2)), 2 * np.ones(2))
    assert_allclose(g(np.ones((2, 3))), 2 * np.ones((2, 3)))
    assert g(1.5) == 3.0


def test_source_is_python():
    g = grad(sum_sq)
    g(np.ones(3))
    src = source(g)
    assert isinstance(src, str) and src.lstrip().startswith("def ")
    compile(src, "<generated>", "exec")


def test_public_api():
    for name in ("grad", "value_and_grad", "vjp", "source", "primitive", "stop_gradient",
                 "no_grad", "SourceDiffError"):
        assert hasattr(sourcediff, name)


def cumsum_axis(x):
    return np.sum(np.cumsum(x, axis=1) ** 2)


def test_generated_code_compiles_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grad(cumsum_axis)(np.ones((2, 3)))


def loop_accumulate(x, n):
    acc = 0.0
    for _ in range(n):
        acc = acc + x
    return acc * x


def test_loop_accumulate(mode):
    # acc = n x, so f = n x^2 and f' = 2 n x
    for n in (0, 1, 4):
        assert_allclose(G(loop_accumulate, mode=mode)(1.5, n), 2 * n * 1.5)


def poly_loop(x):
    p = 1.0
    for _ in range(3):
        p = p * x
    return p


def test_power_by_loop():
    assert_allclose(grad(poly_loop)(2.0), 12.0)
    assert_allclose(value_and_grad(poly_loop)(2.0)[0], 8.0)


def test_power_by_loop_tape():
    assert_allclose(_tape.grad(poly_loop)(2.0), 12.0)

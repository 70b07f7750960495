"""Contractions (sourcediff/opt/contract.py) and the closed-form adjoints of ``@`` with a
vector (shapes._vector_vjp): gradients against finite differences, and the generated
source checked for the mechanism having fired (or, where it must not, not)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_grad

import sourcediff


def ridge(w, s, X, y):
    Xs = X * s
    r = Xs @ w - y
    return 0.5 * np.sum(r ** 2) + 0.1 * np.sum(w ** 2)


def row_vector(x, B):
    return np.sum(np.sin(x @ B))


def inner(a, b):
    return np.tanh(a @ b)


def outer_sum_all(a, b, X):
    return np.sum(X * np.outer(a, b)) ** 2


def outer_sum_rows(a, b, X):
    return np.sum(np.sum(X * np.outer(a, b), axis=1) ** 2)


def outer_sum_keepdims(a, b, X):
    return np.sum(np.sum(X * np.outer(a, b), axis=0, keepdims=True) ** 2)


def _args(rng):
    return (rng.standard_normal(5), rng.standard_normal(4), rng.standard_normal((5, 4)))


def _check(f, args, wrt):
    g = sourcediff.grad(f, wrt=wrt if len(wrt) > 1 else wrt[0])
    got = g(*args)
    got = got if len(wrt) > 1 else (got,)
    for a, e in zip(got, numeric_grad(f, args, wrt)):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-7)
    return sourcediff.source(g)


def test_feature_scale_gradient_is_one_matrix_vector_product(rng):
    args = (rng.standard_normal(4), 1.0 + 0.1 * rng.standard_normal(4),
            rng.standard_normal((30, 4)), rng.standard_normal(30))
    src = _check(ridge, args, (0, 1))
    assert "np.outer" not in src and "matmul_vjp" not in src, src
    # X * s is never built (scaling.py): the scale moves through the products, and the
    # one matrix-vector product r @ X serves both gradients
    code = "\n".join(ln for ln in src.splitlines() if not ln.strip().startswith("#"))
    assert "X * s" not in code and code.count("r @ X") == 1, src


def test_vector_times_matrix_adjoints(rng):
    src = _check(row_vector, (rng.standard_normal(3), rng.standard_normal((3, 5))), (0, 1))
    assert "matmul_vjp" not in src, src
    src = _check(inner, (rng.standard_normal(3), rng.standard_normal(3)), (0, 1))
    assert "matmul_vjp" not in src, src


@pytest.mark.parametrize("f", [outer_sum_all, outer_sum_rows, outer_sum_keepdims])
def test_user_sums_of_outer_products(f, rng):
    # (the outer product is kept here: the adjoints of a and b read it)
    _check(f, _args(rng), (0, 1, 2))
    _check(f, _args(rng), (0, 1))


def test_values_are_those_of_the_written_sum(rng):
    from sourcediff.opt import contract, shapes

    a, b, X = _args(rng)
    env = {"a": (5,), "b": (4,), "X": (5, 4)}
    sh = shapes.Shapes({"np": np}, env)
    import gast
    for axis in ("", ", axis=0", ", axis=1", ", axis=(0, 1)", ", axis=-1"):
        src = f"np.sum(X * np.outer(a, b){axis})"
        node = gast.parse(src).body[0].value
        new = contract._rewrite(node, sh, None)
        assert new is not None, src
        got = eval(gast.unparse(new), {"np": np, "a": a, "b": b, "X": X})  # noqa: S307
        np.testing.assert_allclose(got, eval(src), rtol=1e-12)  # noqa: S307


def pairwise(x, k):
    diff = x[:, None, :] - x[None, :, :]
    dist = np.sqrt(np.sum(diff ** 2, axis=2) + 1e-6)
    f = np.sum((k * dist)[:, :, None] * diff, axis=1)
    return np.sum(f * f)


def test_sums_of_products_over_some_axes_are_einsums(rng):
    """No product is materialised for a partial sum: diff ** 2 summed over its last axis,
    a broadcast product summed over one axis, and their adjoints (whose factors are
    spread with None: g[:, None])."""
    src = _check(pairwise, (rng.standard_normal((4, 2)), 0.7), (0, 1))
    code = "\n".join(ln for ln in src.splitlines() if not ln.strip().startswith("#"))
    assert "np.einsum('abc,abc->ab', diff, diff)" in code, src
    assert "np.sum(diff ** 2" not in code and "np.expand_dims" not in code, src
    assert "np.einsum('ab,abc->ac', " in code, src


def masks(x, y):
    count = np.sum((x > 0) * (y > 0), axis=0)
    return np.sum(count * x[0])


def small_ints(x, n):
    return np.sum(np.sum(n * n, axis=0) * x)


def test_sums_of_masks_and_small_integers_are_left_as_written(rng):
    """np.sum counts a product of masks (an int) and sums int8 in a wider type; np.einsum
    would do neither."""
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    vg = sourcediff.value_and_grad(masks)
    value, g = vg(x, y)
    assert value == masks(x, y)
    want = np.zeros((6, 3))
    want[0] = np.sum((x > 0) * (y > 0), axis=0)
    np.testing.assert_array_equal(g, want)
    assert "einsum" not in sourcediff.source(vg)
    n = np.full((300, 2), 10, dtype=np.int8)
    vg = sourcediff.value_and_grad(small_ints)
    value, g = vg(np.ones(2), n)
    assert value == small_ints(np.ones(2), n) == 2 * 300 * 100
    assert "einsum" not in sourcediff.source(vg)


def mixture(mu, x):
    d = x[:, None, :] - mu
    logp = -0.5 * np.sum(d ** 2, axis=2)
    m = np.max(logp, axis=1, keepdims=True)
    return -np.sum(m[:, 0] + np.log(np.sum(np.exp(logp - m), axis=1)))


def test_constants_leave_an_index_and_the_adjoint_is_one_contraction(rng):
    """The adjoint of ``-0.5 * np.sum(d ** 2, axis=2)`` is ``2 * (-0.5 * g)[:, :, None] *
    d``: the constant leaves the index (indexing moves no number), and ``mu``'s gradient,
    a sum of that product, is one contraction: no (n, K, D) product is built."""
    src = _check(mixture, (rng.standard_normal((3, 2)), rng.standard_normal((7, 2))), (0,))
    code = "\n".join(ln for ln in src.splitlines() if not ln.strip().startswith("#"))
    assert "(-0.5 * " not in code and "* d" not in code, src
    assert "np.einsum('ab,abc->bc', " in code, src


def scaled_rows(k, a, b):
    return np.sum(np.sum(k * a * b, axis=1) ** 2)


def test_a_number_among_the_factors_scales_the_contraction(rng):
    args = (0.7, rng.standard_normal((4, 3)), rng.standard_normal((4, 3)))
    src = _check(scaled_rows, args, (0, 1, 2))
    assert "np.einsum('ab,ab->a', " in src, src


def scaled_rows_inline(a, b, k):
    return np.sum(np.sum(a * b * k, axis=1))


def test_a_number_among_the_factors_of_a_contraction_is_taken_out(rng):
    """(a compile-time error once: a factor without axes had no einsum labels)"""
    args = (rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), 0.7)
    vg = sourcediff.value_and_grad(scaled_rows_inline, wrt=(0, 1))
    value, grads = vg(*args)
    assert value == pytest.approx(scaled_rows_inline(*args), rel=1e-13)
    for got, want in zip(grads, numeric_grad(scaled_rows_inline, args, (0, 1))):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert "np.einsum('ab,ab->a', a, b)" in sourcediff.source(vg)

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
        new = contract._rewrite(node, sh)
        assert new is not None, src
        got = eval(gast.unparse(new), {"np": np, "a": a, "b": b, "X": X})  # noqa: S307
        np.testing.assert_allclose(got, eval(src), rtol=1e-12)  # noqa: S307

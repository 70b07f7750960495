"""The symbolic zero (docs/architecture.md): an adjoint that nothing has written yet is
``0.0`` standing for zeros of its primal's shape, and ``real_cot`` (instantiate) is the
one place that makes it real. Each program here reads an adjoint that is still zero on
some path (a branch not taken, a loop whose branch never fires), through a rule whose
helper expects an array shaped like the primal (concatenate, stack, reshape, matmul,
indexing, containers ...). No helper handles a scalar zero by hand any more, so a
missing instantiate fails here. Checked against central finite differences at order 1
and 2, at a point where the branch runs on some paths and at one where it never runs.
"""

from __future__ import annotations

import numpy as np
import pytest

import sourcediff as sd
from checks import fd

M = np.array([[0.5, -1.0, 2.0, 0.3], [1.5, 0.2, -0.7, 1.1], [0.4, 0.9, 0.6, -0.2]])
B = np.array([[1.0, -0.5], [0.3, 2.0]])


def concatenate(x):
    y = np.concatenate([x, np.cos(x)])
    s = 0.5 * np.sum(x * x)
    for i in range(3):
        if x[i] > 0:
            s = s + np.sum(np.sin(y) * (i + 1))
    return s


def stack(x):
    y = np.stack([x, x * x])
    s = np.sum(x)
    if x[0] > 0:
        s = s + np.sum(y[1] * y[0])
    return s


def reshape(x):
    y = np.reshape(x, (2, 2))
    s = np.sum(np.cos(x))
    for i in range(2):
        if x[i] > 0:
            s = s + np.sum(y[i] ** 3)
    return s


def matmul(x):
    y = np.reshape(x, (2, 2)) @ B
    s = np.sum(x ** 2)
    if x[1] > 0:
        s = s + np.sum(np.tanh(y))
    return s


def matmul_vector(x):
    y = M @ x
    s = np.sum(x)
    if x[2] > 0:
        s = s + np.sum(y * y)
    return s


def einsum(x):
    y = np.einsum("ij,j->i", M, x)
    s = np.sum(np.sin(x))
    if x[0] > 0:
        s = s + np.sum(y ** 2)
    return s


def slicing(x):
    y = x[1:3]
    s = np.sum(x ** 3)
    for i in range(3):
        if x[i] > 0:
            s = s + np.sum(y * x[i])
    return s


def stored_slice(x):
    z = np.zeros(6)
    z[1:5] = np.sin(x)
    s = np.sum(x)
    if x[3] > 0:
        s = s + np.sum(z * z)
    return s


def hstack_tile_repeat(x):
    y = np.hstack([np.tile(x, 2), np.repeat(x, 2)])
    s = np.sum(x * x)
    if x[0] > 0:
        s = s + np.sum(np.sin(y))
    return s


def pad_append(x):
    y = np.append(np.pad(x, 1), x[:2])
    s = np.sum(x)
    if x[1] > 0:
        s = s + np.sum(y ** 2)
    return s


def diag_tensordot(x):
    y = np.diag(x) + np.tensordot(M, x, axes=0)[0]
    s = np.sum(x)
    if x[2] > 0:
        s = s + np.sum(np.cos(y))
    return s


def tuple_entries(x):
    t = (x, np.cos(x))
    s = np.sum(x)
    for i in range(2):
        if x[i] > 0:
            s = s + np.sum(t[0] * t[1])
    return s


def list_entries(x):
    parts = [x * 2.0, np.sin(x)]
    s = np.sum(x ** 2)
    if x[0] > 0:
        s = s + np.sum(parts[0] * parts[1])
    return s


def dict_entries(x):
    d = {"a": x, "b": np.exp(x)}
    s = np.sum(x)
    if x[3] > 0:
        s = s + np.sum(d["a"] * d["b"])
    return s


def _joined(v):
    return np.concatenate([v, v ** 2])


def _pair(v):
    return np.reshape(v, (2, 2)), np.cos(v)


def user_function(x):
    y = _joined(x)  # a call into user code: its pullback is given the adjoint of y
    s = np.sum(x)
    if x[0] > 0:
        s = s + np.sum(np.sin(y))
    return s


def user_function_tuple(x):
    a, c = _pair(x)
    s = np.sum(x * x)
    for i in range(2):
        if x[i] > 0:
            s = s + np.sum(a @ B) + np.sum(c)
    return s


def gradient_still_zero(x):
    s = 1.0
    for i in range(3):
        if x[i] > 0:
            s = s * np.sum(np.reshape(x, (2, 2)) @ B)  # x's own adjoint: zero on no path
    return s


def loop_local(x):
    s = np.sum(x)
    for i in range(3):
        y = np.concatenate([x, x * i])
        if x[i] > 0:
            s = s + np.sum(np.reshape(y, (2, 4)) ** 2)
    return s


PROGRAMS = [concatenate, stack, reshape, matmul, matmul_vector, einsum, slicing,
            stored_slice, hstack_tile_repeat, pad_append, diag_tensordot, tuple_entries,
            list_entries, dict_entries, user_function, user_function_tuple, gradient_still_zero,
            loop_local]
# the branch runs on some paths / on none: the adjoint is read while still zero
POINTS = {"some": np.array([0.7, 0.4, 0.9, 0.6]), "none": np.array([-0.7, -0.4, -0.9, -0.6])}


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_first_order(f, point):
    x = POINTS[point]
    want = fd(f, x)
    for got in (sd.grad(f)(x), sd.tape.grad(f)(x)):
        assert np.shape(got) == x.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_second_order(f, point):
    x = POINTS[point]
    want = fd(lambda z: fd(f, z, 1e-4), x, 1e-4)
    got = sd.hessian(f)(x)
    assert np.shape(got) == x.shape * 2
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def returned_while_zero(x):
    s = 0.0
    if np.sum(x) > 0:
        s = np.sum(np.reshape(x, (2, 2)) @ B)  # x's adjoint: the symbolic zero if not
    return s


@pytest.mark.parametrize("point", POINTS)
def test_gradient_returned_while_still_zero(point):
    x = POINTS[point]
    got = sd.grad(returned_while_zero)(x)
    assert np.shape(got) == x.shape
    np.testing.assert_allclose(got, fd(returned_while_zero, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("point", POINTS)
def test_hessian_where_the_gradient_may_still_be_zero(point):
    """jvp gives the output's tangent the output's shape (the symbolic zero the gradient
    returns on the branch not taken was a scalar tangent jacobian could not reshape)."""
    x = POINTS[point]
    want = fd(lambda z: fd(returned_while_zero, z, 1e-4), x, 1e-4)
    np.testing.assert_allclose(sd.hessian(returned_while_zero)(x), want, rtol=1e-5,
                               atol=1e-5)
    _, t = sd.jvp(sd.grad(returned_while_zero), (x,), (np.ones(4),))
    assert np.shape(t) == (4,)

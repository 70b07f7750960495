"""Control flow against central finite differences."""

import numpy as np
import pytest

from conftest import fd
from sourcediff import grad


def recurrence(a, b):
    h = 0.0
    for i in range(50):  # noqa: B007
        h = np.tanh(a * h + b)
    return h


def branch(x):
    if x > 0:
        y = x * x
    else:
        y = -x * 3.0
    return y


def while_loop(x):
    while x < 10.0:
        x = x * 1.5
    return x


def with_break(x):
    s = 0.0
    for i in range(10):
        s = s + x * i
        if s > 20.0:
            break
    return s


def early_return(x):
    if x > 1.0:
        return x * x
    return x * 3.0


def with_continue(x):
    s = 0.0
    for i in range(6):
        if i % 2 == 0:
            continue
        s = s + np.sin(x * i)
    return s


def over_rows(X, w):
    total = 0.0
    for row in X:
        total = total + np.dot(row, w) ** 2
    return total


def in_place(x):
    y = np.zeros(3)
    y[0] = x[1] * 2
    y[1] = x[0] * x[2]
    y[2] = np.sin(x[0])
    return np.sum(y * y)


CASES = [
    (recurrence, (0.5, 0.3), (0, 1)),
    (branch, (2.0,), (0,)),
    (branch, (-2.0,), (0,)),
    (while_loop, (1.3,), (0,)),
    (with_break, (1.7,), (0,)),
    (early_return, (2.0,), (0,)),
    (early_return, (0.5,), (0,)),
    (with_continue, (0.7,), (0,)),
    (over_rows, (np.arange(6.0).reshape(3, 2), np.array([0.5, -0.2])), (0, 1)),
    (in_place, (np.array([1.0, 2.0, 3.0]),), (0,)),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_against_finite_differences(f, args, wrt):
    grads = grad(f, wrt=wrt)(*args)
    for g, i in zip(grads, wrt):
        np.testing.assert_allclose(g, fd(f, args, i), rtol=1e-5, atol=1e-6)


def enumerate_of_zip(xs, ys):
    s = 0.0
    for i, (a, b) in enumerate(zip(xs, ys), 1):
        s = s + a * b * i
    return s


def zip_into_one_name(xs, ys):
    s = 0.0
    for pair in zip(xs, ys[1:]):
        s = s + pair[0] * np.sin(pair[1])
    return s


def zip_of_enumerate(xs, ys):
    s = 0.0
    for (i, a), b in zip(enumerate(xs), ys):
        s = s + a * b ** i
    return s


@pytest.mark.parametrize("f", [enumerate_of_zip, zip_into_one_name, zip_of_enumerate])
def test_nested_zip_and_enumerate(f):
    args = (np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.3, -0.7, 2.0]))
    g = grad(f, wrt=(0, 1))(*args)
    for i in (0, 1):
        np.testing.assert_allclose(g[i], fd(f, args, i), rtol=1e-6, atol=1e-8)


def test_enumerate_of_zip_by_hand():
    # s = 1 a0 b0 + 2 a1 b1: ds/da = [b0, 2 b1], ds/db = [a0, 2 a1]
    ga, gb = grad(enumerate_of_zip, wrt=(0, 1))(np.array([3.0, 4.0]), np.array([5.0, 6.0]))
    np.testing.assert_allclose(ga, [5.0, 12.0])
    np.testing.assert_allclose(gb, [3.0, 8.0])


def dict_loops(p):
    s = 0.0
    for k in p:
        s = s + np.sum(p[k] ** 2)
    for k, v in p.items():
        s = s + np.sum(v) * len(k)
    for v in p.values():
        s = s + np.sum(v * 2)
    for k in p.keys():
        s = s + np.sum(np.sin(p[k]))
    return s


def test_loops_over_a_dict_by_hand():
    p = {"a": np.array([0.5, 1.0]), "bb": np.array([1.0, -2.0])}
    g = grad(dict_loops)(p)
    assert set(g) == {"a", "bb"}
    for k, v in p.items():  # d/dv = 2 v + len(k) + 2 + cos(v)
        np.testing.assert_allclose(g[k], 2 * v + len(k) + 2 + np.cos(v))


def generator_sums(xs, a, b):
    return sum(x ** 2 for x in xs if x > 0) + max(a, b) * min(a, 2.0 * b)


def test_generator_expressions_and_builtin_max_min():
    xs, a, b = np.array([1.5, -2.0, 3.0]), 0.7, 0.4
    gx, ga, gb = grad(generator_sums, wrt=(0, 1, 2))(xs, a, b)
    np.testing.assert_allclose(gx, [3.0, 0.0, 6.0])
    # max(a, b) = a, min(a, 2b) = a (0.7 < 0.8): value a * a
    assert ga == pytest.approx(2 * a)
    assert gb == pytest.approx(0.0)
    args = (xs, a, b)
    assert fd(generator_sums, args, 1) == pytest.approx(ga, abs=1e-6)
    assert fd(generator_sums, args, 2) == pytest.approx(gb, abs=1e-6)

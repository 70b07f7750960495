"""A loop's variable assigned again: in its own body (``i = i + 1``, ``i += 1``, a nested
loop or ``while`` over the same name), or elsewhere in the function (a differentiated
value before or after the loop, a parameter).

The reverse sweep sets a loop's target from the range at each reversed iteration, and
neither sweep gives it a derivative; such a loop once read the range's value where the
body had left another (``i = i + 1``: gradient [1, 2, 3, 1, 1] for [1, 2, 3, 4, 1]) or
took a differentiated value for a constant, with no error. The front end now counts
such a loop with a name of its own (``normalize_stmts.own_counters``). Each case is
checked against a hand-computed gradient in both modes and on the tape, and against
central differences at order 1 and 2 (forward over reverse, reverse over reverse, the
tape over itself).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_grad

import sourcediff as sd
from sourcediff import tape
from sourcediff.errors import MissingRuleError

X = np.linspace(0.1, 1.0, 5)  # [0.1, 0.325, 0.55, 0.775, 1.0]
V = np.array([0.3, -1.2, 0.7, 2.0, -0.4])


def reviewer(x):  # the report: f = sum_k k x_k (k = 1..3) + sum(x)
    s = 0.0
    for i in range(3):
        i = i + 1
        s = s + x[i] * i
    return s + np.sum(x)


def plain(x):  # sum_k k x_k^2, k = 1..3
    s = 0.0
    for i in range(3):
        i = i + 1
        s = s + x[i] ** 2 * i
    return s


def augmented(x):  # sum_k k x_k^2, k = 1..3
    s = 0.0
    for i in range(3):
        i += 1
        s = s + x[i] * i * x[i]
    return s


def read_before_and_after(x):  # x1^2 + 5 x2^2 + 4 x3^2 + 5 x4^2
    s = 0.0
    for i in range(3):
        s = s + x[i] ** 2 * i
        i = 4 - i
        s = s + x[i] ** 2 * (i + 1)
    return s


def in_a_branch(x):  # 2 x2^2 + 3 x3^2 + 4 x4^2 at X (x1 > 0.3: every i from 1 moves up)
    s = 0.0
    for i in range(4):
        if x[i] > 0.3:
            i = i + 1
        s = s + x[i] ** 2 * i
    return s


def with_break(x):  # sum_k k x_k^2, k = 1..3
    s = 0.0
    for i in range(5):
        i = i + 1
        if i > 3:
            break
        s = s + x[i] ** 2 * i
    return s


def read_after_the_loop(x):  # (x1 + x2 + x3) x0 x3
    s = 0.0
    for i in range(3):
        i = i + 1
        s = s + x[i] * x[0]
    return s * x[i]


def differentiated_in_the_body(x):  # sum_i (i x0)^2 x1 = 5 x0^2 x1
    s = 0.0
    for i in range(3):
        i = i * x[0]
        s = s + i * i * x[1]
    return s


def zip_of_items(x):  # sum_k x_k x_k+1 (x_k+1 + 1)
    s = 0.0
    for a, b in zip(x[:-1], x[1:]):
        a = a * b
        b = b + 1.0
        s = s + a * b
    return s


def zip_of_ranges_swapped(x):  # sum_k k x_k x_k-1, k = 1..4
    s = 0.0
    for i, j in zip(range(4), range(1, 5)):
        i, j = j, i
        s = s + x[i] * x[j] * i
    return s


def enumerated(x):  # sum_k (k + 1) x_k x_(k+1 mod 5)
    s = 0.0
    for k, v in enumerate(x):
        k = k + 1
        v = v * k
        s = s + v * x[k % 5]
    return s


def nested_same_name(x):  # 3 (x0 x2 + x1 x3 + x1 x4)
    s = 0.0
    for i in range(3):
        for i in range(2):
            s = s + x[i] * x[i + 2]
        s = s + x[i + 3] * x[i]
    return s


def nested_inner_rebound(x):  # x0 x1 + 2 x0 x2 + x1^2 + 2 x1 x2 + 3 x1 x3
    s = 0.0
    for i in range(2):
        for j in range(3):
            j = j + i
            s = s + x[j] * x[i] * j
    return s


def while_in_the_body(x):  # x0^2 + 2 x1^2 + 2 x2^2
    s = 0.0
    for i in range(2):
        while i < 3:
            s = s + x[i] ** 2
            i = i + 1
    return s


def while_counter(x):  # sum_k k x_k^2, k = 1..4
    s = 0.0
    i = 0
    while i < 4:
        i = i + 1
        s = s + x[i] ** 2 * i
    return s


def differentiated_before(x):  # (2 x0 + 3 x1) 2 x1: the loop replaces i
    i = 2.0 * x[0]
    s = i
    for i in range(3):
        s = s + i * x[1]
    return s * i * x[1]


def differentiated_after(x):  # (x1^2 + 2 x1 x2) 3 x0
    s = 0.0
    for i in range(3):
        s = s + i * x[1] * x[i]
    i = 3.0 * x[0]
    return s * i


def loop_over_the_result(x):  # x1 (x0 is replaced by the loop's last number, 1)
    s = x[0]
    for s in range(2):  # noqa: B007
        pass
    return s * x[1]


def _ramp(x, k):
    return k * x ** 2  # d/dx of sum k x_k^2 is 2 k x_k


def _grad_zip(x):
    g = np.zeros_like(x)
    a, b = x[:-1], x[1:]
    g[:-1] += b ** 2 + b
    g[1:] += 2 * a * b + a
    return g


HAND = {  # the hand-computed gradient of each case at x
    reviewer: lambda x: np.array([1.0, 2.0, 3.0, 4.0, 1.0]),
    plain: lambda x: 2 * np.array([0, 1, 2, 3, 0]) * x,
    augmented: lambda x: 2 * np.array([0, 1, 2, 3, 0]) * x,
    read_before_and_after: lambda x: 2 * np.array([0, 1, 5, 4, 5]) * x,
    in_a_branch: lambda x: 2 * np.array([0, 0, 2, 3, 4]) * x,
    with_break: lambda x: 2 * np.array([0, 1, 2, 3, 0]) * x,
    read_after_the_loop: lambda x: np.array([
        (x[1] + x[2] + x[3]) * x[3], x[0] * x[3], x[0] * x[3],
        x[0] * x[3] + (x[1] + x[2] + x[3]) * x[0], 0.0]),
    differentiated_in_the_body: lambda x: np.array([10 * x[0] * x[1], 5 * x[0] ** 2, 0, 0, 0]),
    zip_of_items: _grad_zip,
    zip_of_ranges_swapped: lambda x: np.array([
        x[1], x[0] + 2 * x[2], 2 * x[1] + 3 * x[3], 3 * x[2] + 4 * x[4], 4 * x[3]]),
    enumerated: lambda x: np.array([(k + 1) * x[(k + 1) % 5] + k * x[k - 1] if k else
                                    x[1] + 5 * x[4] for k in range(5)]),
    nested_same_name: lambda x: 3 * np.array([x[2], x[3] + x[4], x[0], x[1], x[1]]),
    nested_inner_rebound: lambda x: np.array([
        x[1] + 2 * x[2], x[0] + 2 * x[1] + 2 * x[2] + 3 * x[3], 2 * x[0] + 2 * x[1],
        3 * x[1], 0.0]),
    while_in_the_body: lambda x: 2 * np.array([1, 2, 2, 0, 0]) * x,
    while_counter: lambda x: 2 * np.array([0, 1, 2, 3, 4]) * x,
    differentiated_before: lambda x: np.array([4 * x[1], 4 * x[0] + 12 * x[1], 0, 0, 0]),
    differentiated_after: lambda x: np.array([
        3 * (x[1] ** 2 + 2 * x[1] * x[2]), 3 * x[0] * (2 * x[1] + 2 * x[2]),
        6 * x[0] * x[1], 0, 0]),
    loop_over_the_result: lambda x: np.array([0.0, 1.0, 0, 0, 0]),
}
CASES = list(HAND)
NESTED = {nested_same_name, nested_inner_rebound}  # (hessian refuses nested loops)


def _jacobian_fd(g, x, h=1e-5):
    """Central differences of the vector function ``g`` at ``x``, one column per x_k."""
    cols = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        cols.append((g(x + e) - g(x - e)) / (2 * h))
    return np.stack(cols, axis=1)


def test_the_hand_computed_values_are_the_functions():
    for f, hand in HAND.items():
        np.testing.assert_allclose(hand(X), numeric_grad(f, (X,), (0,))[0], rtol=1e-6,
                                   atol=1e-8, err_msg=f.__name__)


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_first_order_is_the_hand_computed_value(f):
    want = HAND[f](X)
    np.testing.assert_allclose(sd.grad(f)(X), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sd.jvp(f, (X,), (V,))[1], want @ V, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tape.grad(f)(X), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sd.vjp(f, X)[1](1.0)[0], want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_second_order_agrees_with_central_differences(f):
    hand_h = _jacobian_fd(HAND[f], X)  # central differences of the hand gradient
    np.testing.assert_allclose(hand_h, _jacobian_fd(sd.grad(f), X), atol=1e-6)
    rows = [sd.vjp(sd.grad(f), X)[1](e)[0] for e in np.eye(X.size)]  # reverse over reverse
    np.testing.assert_allclose(np.array(rows), hand_h, atol=1e-6)
    hvp = tape.grad(lambda y: tape.grad(f)(y) @ V)(X)  # the tape over itself
    np.testing.assert_allclose(hvp, hand_h @ V, atol=1e-6)
    if f in NESTED:  # forward over reverse does not run nested loops: a clear refusal
        with pytest.raises(MissingRuleError, match="reversed"):
            sd.hessian(f)(X)
        assert sd.check_grad(f, X, order=1)
        return
    np.testing.assert_allclose(sd.hessian(f)(X), hand_h, atol=1e-6)
    assert sd.check_grad(f, X, order=2)


def test_a_differentiated_parameter_replaced_by_a_loop():
    def f(x, y):  # (y x0 + x1) * 1: the loop's last y
        s = y * x[0]
        for y in range(2):
            s = s + x[y] * y
        return s * y * y
    gx, gy = sd.grad(f, wrt=(0, 1))(X, 0.7)
    np.testing.assert_allclose(gx, [0.7, 1.0, 0, 0, 0], atol=1e-14)
    np.testing.assert_allclose(gy, X[0], atol=1e-14)
    assert sd.check_grad(f, X, 0.7, wrt=(0, 1), order=2)


def test_only_a_loop_whose_variable_is_assigned_again_counts_with_its_own_name():
    def untouched(x):
        s = 0.0
        for i in range(3):
            s = s + x[i] ** 2
        for i in range(2):  # (another loop's target: still a plain counter)
            s = s + x[i] * x[i + 1]

        def local(i):
            i = i + 1  # (a nested function's own i)
            return i
        return s * local(1.0)
    src = sd.source(sd.grad(untouched))
    assert src.count("for i in reversed(") == 2
    src = sd.source(sd.grad(plain))
    assert "for i in reversed(" not in src and "i = _t" in src

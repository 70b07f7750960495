"""A loop with a trip count (a ``while``, a ``for`` with ``break``) inside another loop,
running a different number of times on each outer iteration.

Its count ``_n1`` is set to 0 before it at one place, so the saves pass took it for
loop-invariant (one site, a constant) and never saved it: every reversed outer iteration
ran the inner loop the last count's times, a wrong gradient with no error
(``saves.loop_invariants`` now counts the increments). Checked against hand-computed
values, and central differences at order 1 and 2 (reverse over reverse, the tape).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_grad

import sourcediff as sd
from sourcediff import tape
from sourcediff.errors import MissingRuleError

X = np.linspace(0.1, 1.0, 5)
V = np.array([0.3, -1.2, 0.7, 2.0, -0.4])


def while_in_for(x):  # x0^2 + 2 x1^2 + 2 x2^2: 3 then 2 inner iterations
    s = 0.0
    for k in range(2):
        i = k
        while i < 3:
            s = s + x[i] ** 2
            i = i + 1
    return s


def break_in_for(x):  # 2 x0^2 + 2 x1^2 + x2^2: 3 then 2 inner iterations
    s = 0.0
    for k in range(2):
        for i in range(5):
            if i + k >= 3:
                break
            s = s + x[i] ** 2
    return s


def while_in_while(x):  # x0 x1 + 2 x1 x2 + 3 x2 x3: 3, 2, then 1 inner iterations
    s = 0.0
    k = 0
    while k < 3:
        i = k
        while i < 3:
            s = s + x[i] * x[i + 1]
            i = i + 1
        k = k + 1
    return s


HAND = {
    while_in_for: lambda x: 2 * np.array([1, 2, 2, 0, 0]) * x,
    break_in_for: lambda x: 2 * np.array([2, 2, 1, 0, 0]) * x,
    while_in_while: lambda x: np.array([x[1], x[0] + 2 * x[2], 2 * x[1] + 3 * x[3],
                                        3 * x[2], 0.0]),
}
HESSIAN = {
    while_in_for: np.diag([2.0, 4, 4, 0, 0]),
    break_in_for: np.diag([4.0, 4, 2, 0, 0]),
    while_in_while: np.array([[0, 1, 0, 0, 0], [1, 0, 2, 0, 0], [0, 2, 0, 3, 0],
                              [0, 0, 3, 0, 0], [0, 0, 0, 0, 0.0]]),
}


@pytest.mark.parametrize("f", list(HAND), ids=lambda f: f.__name__)
def test_first_order(f):
    want = HAND[f](X)
    np.testing.assert_allclose(want, numeric_grad(f, (X,), (0,))[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sd.grad(f)(X), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sd.jvp(f, (X,), (V,))[1], want @ V, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tape.grad(f)(X), want, rtol=1e-12, atol=1e-14)
    assert sd.check_grad(f, X)


@pytest.mark.parametrize("f", list(HAND), ids=lambda f: f.__name__)
def test_second_order(f):
    h = 1e-5
    fd = np.stack([(sd.grad(f)(X + e) - sd.grad(f)(X - e)) / (2 * h)
                   for e in h * np.eye(X.size)], axis=1)
    np.testing.assert_allclose(fd, HESSIAN[f], atol=1e-6)
    rows = [sd.vjp(sd.grad(f), X)[1](e)[0] for e in np.eye(X.size)]  # reverse over reverse
    np.testing.assert_allclose(np.array(rows), HESSIAN[f], atol=1e-12)
    hvp = tape.grad(lambda y: tape.grad(f)(y) @ V)(X)
    np.testing.assert_allclose(hvp, HESSIAN[f] @ V, atol=1e-12)
    if f is break_in_for:  # forward over reverse does not run its nested loops: refused
        with pytest.raises(MissingRuleError, match="reversed"):
            sd.hessian(f)(X)
        return
    np.testing.assert_allclose(sd.hessian(f)(X), HESSIAN[f], atol=1e-12)
    assert sd.check_grad(f, X, order=2)

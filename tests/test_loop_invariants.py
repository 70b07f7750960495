"""Loop-invariant values are not saved on the stack (sourcediff/ad/saves.py).

A value assigned at one place, directly in a loop's body, from values no loop changes
(``0.5 * dt``, ``-k``) is the same on every iteration: the reverse sweep reads the last
one, so nothing is pushed or popped for it. Each case checks the gradient against
central differences, and where the rule must or must not fire, the generated source.
(A call, even ``W.T`` once normalised to ``np.transpose(W)``, is not taken as invariant.)
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from conftest import numeric_grad
from generated_checks import pushed

import sourcediff as sd
from sourcediff.ad import saves


def _check(f, args, wrt):
    grads = sd.grad(f, wrt=wrt)(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for got, want in zip(grads, numeric_grad(f, args, wrt)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    return sd.source(sd.grad(f, wrt=wrt))




def _assigned(src, expr):
    """The names the generated code assigns ``expr`` to."""
    return set(re.findall(rf"(\w+) = {re.escape(expr)}\n", src))


def euler(k, c):
    x = 1.0
    v = 0.0
    dt = 0.05
    for _ in range(20):
        a = -k * math.sin(x) - c * v
        x = x + 0.5 * dt * (v + v + dt * a)
        v = v + dt * a
    return x * x + v


def test_scalar_invariants_are_not_pushed():
    src = _check(euler, (1.3, 0.2), (0, 1))
    half, neg = _assigned(src, "0.5 * dt"), _assigned(src, "-k")
    assert half and neg, src
    assert not (half | neg) & pushed(src), src
    assert {"x", "v"} <= pushed(src)  # what the loop changes is still saved
    # one tuple per iteration, pushed at its top, popped once at the top of the reverse
    # iteration; the restores read the unpacked names
    assert src.count("_stack.append(") == 1 and src.count("_stack.pop()") == 1, src
    assert re.search(r"_stack\.append\(\((\w+, )+\w+\)\)", src), src
    assert "x = x_prev" in src and "v = v_prev" in src, src


def scaled(W, x):
    s = 0.0
    for _ in range(4):
        n = W - 1.0
        m = 2.0 * W
        x = np.tanh(n @ x + m @ x)
        s = s + np.sum(x)
    return s


def test_array_invariants_are_not_pushed():
    rng = np.random.default_rng(0)
    src = _check(scaled, (0.3 * rng.standard_normal((3, 3)), rng.standard_normal(3)), (0, 1))
    assert not {"n", "m"} & pushed(src), src


def nested(a, b):
    s = 0.0
    for _ in range(3):
        a = a * 1.1
        for _ in range(2):
            c = a * 2.0  # the same in the inner loop, not across the outer one
            s = s + c * b * s + b
    return s


def param_reassigned(k, t):
    y = t * k
    for _ in range(3):
        t = -k  # t held the argument before the loop
        y = y * t + 1.0
    return y + t


def in_branch(k, x):
    for i in range(4):
        if i > 1:
            h = 0.5 * k
            x = x * h + x
        x = np.sin(x)
    return x


def counted(k, x):
    n = 0
    while n < 3:
        h = k / 3.0
        x = x * h + np.cos(x)
        n = n + 1
    return x


@pytest.mark.parametrize("f, args", [(nested, (0.7, 0.4)), (param_reassigned, (0.9, 1.7)),
                                     (in_branch, (0.8, 0.3)), (counted, (1.2, 0.5))],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_gradients_where_the_rule_may_not_fire(f, args):
    _check(f, args, (0, 1))


def test_which_names_are_invariant():
    import gast

    def body(f):
        import inspect
        import textwrap
        return gast.parse(textwrap.dedent(inspect.getsource(f))).body[0].body

    assert saves.loop_invariants(body(nested), ("a", "b")) == set()
    assert saves.loop_invariants(body(param_reassigned), ("k", "t")) == set()
    assert saves.loop_invariants(body(in_branch), ("k", "x")) == set()
    assert saves.loop_invariants(body(counted), ("k", "x")) == {"h"}
    assert saves.loop_invariants(body(scaled), ("W", "x")) == {"n", "m"}


def branchy(k, c):
    x, v = 1.0, 0.0
    for i in range(12):
        a = -k * math.sin(x) - c * v
        if i % 3 == 0:
            a = a * math.cos(v)
        x = x + 0.1 * v
        v = v + 0.1 * a
    return x * x + v


def test_a_push_inside_a_branch_keeps_single_pushes():
    # a value pushed only on some iterations cannot join the iteration's tuple: the
    # loop keeps one push per value, and the gradient matches central differences
    src = _check(branchy, (1.7, 0.4), (0, 1))
    assert src.count("_stack.append(") > 2, src  # (the test has something to batch)
    assert not re.search(r"_stack\.append\(\(", src), src
    assert src.count("_stack.pop()") == src.count("_stack.append("), src


def normalised_cell(w, a, x0):
    x = x0
    loss = 0.0
    for t in range(6):
        pre = w @ x
        pre = pre - np.mean(pre)              # (pre assigned twice in an iteration)
        x = np.tanh(pre) * (1.0 + 0.1 * math.sin(a * t))
        x = x * (1.0 / (1.0 + np.sum(x * x)))  # (and x)
        loss = loss + np.sum(x ** 2) * a
    return loss


def test_one_push_per_iteration_when_a_value_is_assigned_twice():
    """A loop assigning a name twice per iteration saved each value with a push of its
    own (one tuple was pushed only where the top of the iteration holds every value
    pushed); now each is kept by name where it was pushed (``pre_prev2 = pre``) and the
    names go as one tuple at the end of the iteration, popped once at the top of the
    reverse iteration. Checked at order 1 and 2 against central differences."""
    r = np.random.default_rng(5)
    args = (0.5 * r.standard_normal((4, 4)), 0.7, r.standard_normal(4))
    src = _check(normalised_cell, args, (0, 1, 2))
    loops = src.split("for t in")
    assert len(loops) == 3, src  # (the forward loop, then the reverse one)
    assert loops[1].count("_stack.append(") == 1 and loops[2].count("_stack.pop()") == 1, src
    assert {"pre_prev", "pre_prev2"} <= pushed(src), src
    # order 2: the Hessian in the scalar a, and in w along a direction
    da = numeric_grad(lambda a: sd.grad(normalised_cell, wrt=1)(args[0], a, args[2]),
                      (args[1],), (0,))[0]
    np.testing.assert_allclose(sd.hessian(normalised_cell, wrt=1)(*args), da, rtol=1e-5)
    v = r.standard_normal((4, 4))
    fd = numeric_grad(lambda s: np.sum(sd.grad(normalised_cell)(args[0] + s * v, *args[1:])
                                       * v), (0.0,), (0,))[0]
    np.testing.assert_allclose(np.sum(sd.hvp(normalised_cell)(args[0], args[1], args[2], v)
                                      * v), fd, rtol=1e-5)

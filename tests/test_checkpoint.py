"""``checkpoint.loop``: a loop differentiated in O(sqrt(n)) memory gives the gradient of
the same loop written as a plain ``for`` loop (stored tape) and of central differences,
in every mode; the states it holds are counted; what it cannot do is refused."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

import sourcediff
from sourcediff import ArgumentError, MissingRuleError, SourceDiffError, grad, jvp, primitive, value_and_grad, vjp
from sourcediff.transforms import checkpoint
from sourcediff.runtime import schedules

EVERY3 = checkpoint.make_loop(every=3)
REVOLVE0 = checkpoint.make_loop(snapshots=0)
REVOLVE2 = checkpoint.make_loop(snapshots=2)
LOOPS = {"sqrt": checkpoint.loop, "every3": EVERY3, "revolve0": REVOLVE0, "revolve2": REVOLVE2}


def step(h, a, b):
    return np.tanh(a * h + b)


def scalar_loop(loop):
    def f(a, b, h0, n):
        return loop(step, h0, n, a, b)
    return f


def scalar_plain(a, b, h0, n):
    h = h0
    for _ in range(n):
        h = np.tanh(a * h + b)
    return h


def rnn_step(h, W, u):
    return np.tanh(W @ h + u)


def array_loop(loop):
    def f(W, u, h0, n):
        return np.sum(loop(rnn_step, h0, n, W, u) ** 2)
    return f


def array_plain(W, u, h0, n):
    h = h0
    for _ in range(n):
        h = np.tanh(W @ h + u)
    return np.sum(h ** 2)


def _array_args():
    r = np.random.default_rng(0)
    return 0.6 * r.standard_normal((3, 3)), 0.1 * r.standard_normal(3), r.standard_normal(3)


def _central(f, args, i, eps=1e-6):
    """Central differences of scalar ``f`` w.r.t. argument ``i`` (float or array)."""
    x = np.asarray(args[i], dtype=float)
    out = np.zeros(x.shape)
    for j in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[j] += eps
        down[j] -= eps
        lo = [*args[:i], down if x.shape else float(down), *args[i + 1:]]
        hi = [*args[:i], up if x.shape else float(up), *args[i + 1:]]
        out[j] = (f(*hi) - f(*lo)) / (2 * eps)
    return out


@pytest.mark.parametrize("name", sorted(LOOPS))
@pytest.mark.parametrize("n", [0, 1, 2, 7, 10, 38])
def test_scalar_state_matches_the_plain_loop_and_differences(name, n):
    f = scalar_loop(LOOPS[name])
    args = (0.9, 0.1, 0.5, n)
    got = grad(f, wrt=(0, 1, 2))(*args)
    want = grad(scalar_plain, wrt=(0, 1, 2))(*args)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    for i in range(3):
        np.testing.assert_allclose(got[i], _central(f, args, i), rtol=1e-6, atol=1e-8)
    assert all(isinstance(g, float) for g in got)


@pytest.mark.parametrize("name", sorted(LOOPS))
@pytest.mark.parametrize("n", [1, 5, 17])
def test_array_state_matches_the_plain_loop_and_differences(name, n):
    f = array_loop(LOOPS[name])
    args = (*_array_args(), n)
    got = grad(f, wrt=(0, 1, 2))(*args)
    want = grad(array_plain, wrt=(0, 1, 2))(*args)
    for g, w, i in zip(got, want, range(3)):
        assert g.shape == args[i].shape
        np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(g, _central(f, args, i), rtol=1e-6, atol=1e-8)


def test_value_and_grad_vjp_jvp_and_the_tape():
    f = scalar_loop(checkpoint.loop)
    args = (0.9, 0.1, 0.5, 50)
    value, g = value_and_grad(f, wrt=(0, 1))(*args)
    assert value == scalar_plain(*args)
    np.testing.assert_allclose(g, grad(scalar_plain, wrt=(0, 1))(*args), rtol=1e-12)
    def states(W, u, h0):  # an array output
        return checkpoint.loop(rnn_step, h0, 20, W, u)

    def plain_states(W, u, h0):
        h = h0
        for _ in range(20):
            h = np.tanh(W @ h + u)
        return h
    out, pullback = vjp(states, *_array_args())
    want_out, want = vjp(plain_states, *_array_args())
    np.testing.assert_allclose(out, want_out, rtol=1e-14)
    ct = np.array([1.0, -2.0, 0.5])
    for a, b in zip(pullback(ct), want(ct)):
        np.testing.assert_allclose(a, b, rtol=1e-11)
    W, u, h0 = _array_args()
    tangents = (np.ones_like(W), np.zeros_like(u), np.ones_like(h0))
    got = jvp(states, (W, u, h0), tangents)
    np.testing.assert_allclose(got, jvp(plain_states, (W, u, h0), tangents), rtol=1e-11)
    tape = sourcediff.tape.grad(array_loop(EVERY3), wrt=(0, 1, 2))(W, u, h0, 20)
    for a, b in zip(tape, grad(array_plain, wrt=(0, 1, 2))(W, u, h0, 20)):
        np.testing.assert_allclose(a, b, rtol=1e-11)


def _pend(s, k, c):
    x, v = s
    return x + 0.01 * v, v - 0.01 * (k * np.sin(x) + c * v)


def test_container_state_integer_parameter_and_a_primitive_step():
    def f(k, c):
        x, v = checkpoint.loop(_pend, (1.0, 0.0), 30, k, c)
        return x * v

    def plain(k, c):
        s = (1.0, 0.0)
        for _ in range(30):
            s = _pend(s, k, c)
        return s[0] * s[1]
    np.testing.assert_allclose(grad(f, wrt=(0, 1))(2.0, 0.3), grad(plain, wrt=(0, 1))(2.0, 0.3),
                               rtol=1e-12)

    def g(a, shift):  # an int parameter: no gradient flows to it, and it is not refused
        return checkpoint.loop(lambda h, a, k: np.tanh(a * h + k), 0.5, 9, a, shift)
    np.testing.assert_allclose(grad(g)(0.9, 2), _central(lambda a: g(a, 2), (0.9,), 0),
                               rtol=1e-6)

    @primitive
    def twice(h, a):
        return 2.0 * a * h
    twice.defvjp(lambda g, ans, h, a: (2.0 * a * g, 2.0 * h * g))
    twice.defjvp(lambda t, ans, h, a: 2.0 * a * t[0] + (0.0 if t[1] is None else 2.0 * h * t[1]))

    def p(a):
        return checkpoint.loop(twice, 1.0, 5, a)
    assert np.isclose(grad(p)(0.5), 5 * 2 ** 5 * 0.5 ** 4)
    assert np.isclose(jvp(p, (0.5,), (1.0,))[1], 5 * 2 ** 5 * 0.5 ** 4)


def rnn_input_step(h, x, W, U):
    return np.tanh(W @ h + U @ x)


def test_a_loop_over_items_gives_their_gradients_too():
    """``loop(step, state, xs, *params)`` is ``for x in xs: state = step(state, x, *params)``."""
    r = np.random.default_rng(1)
    W, U, h0 = 0.5 * r.standard_normal((3, 3)), r.standard_normal((3, 2)), np.zeros(3)
    xs = r.standard_normal((11, 2))

    def plain(W, U, xs, h0):
        h = h0
        for x in xs:
            h = np.tanh(W @ h + U @ x)
        return np.sum(h ** 2)
    want = grad(plain, wrt=(0, 1, 2, 3))(W, U, xs, h0)
    for loop in (checkpoint.loop, EVERY3, REVOLVE2):
        got = grad(_over_items(loop), wrt=(0, 1, 2, 3))(W, U, xs, h0)
        for a, b in zip(got, want):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    tangents = (np.ones_like(W), np.zeros_like(U), np.ones_like(xs), np.ones_like(h0))
    got = jvp(lambda W, U, xs, h0: checkpoint.loop(rnn_input_step, h0, xs, W, U),
              (W, U, xs, h0), tangents)
    np.testing.assert_allclose(
        got[1], jvp(lambda W, U, xs, h0: plain_states(W, U, xs, h0), (W, U, xs, h0),
                    tangents)[1], rtol=1e-11)

    def ints(a, ks):  # integer items: no gradient to them
        return checkpoint.loop(lambda h, k, a: np.tanh(a * h + k), 0.5, ks, a)
    np.testing.assert_allclose(grad(ints)(0.9, np.arange(4)),
                               _central(lambda a: ints(a, np.arange(4)), (0.9,), 0), rtol=1e-6)


def _over_items(loop):
    def f(W, U, xs, h0):
        return np.sum(loop(rnn_input_step, h0, xs, W, U) ** 2)
    return f


def plain_states(W, U, xs, h0):
    h = h0
    for x in xs:
        h = np.tanh(W @ h + U @ x)
    return h


def test_nested_loops():
    def inner(h, a):
        return checkpoint.loop(step, h, 3, a, 0.1)

    def f(a):
        return checkpoint.loop(inner, 0.5, 4, a)
    np.testing.assert_allclose(grad(f)(0.9), grad(scalar_plain)(0.9, 0.1, 0.5, 12), rtol=1e-12)


@pytest.mark.parametrize("n", [1, 99, 100, 101, 10_000])
def test_sqrt_segments_hold_about_two_sqrt_n_states(n):
    grad(scalar_loop(checkpoint.loop))(0.9, 0.1, 0.5, n)
    stats = checkpoint.last_stats()
    k = math.isqrt(n - 1) + 1
    assert stats.n == n and stats.schedule == f"segments of {k}"
    assert stats.peak_states <= math.ceil(n / k) + k <= 2 * math.sqrt(n) + 2
    assert stats.forward_steps <= 2 * n and stats.backward_steps == n
    if n == 10_000:
        assert (stats.peak_states, stats.forward_steps) == (199, 19_900)


def test_binomial_schedule_holds_its_snapshots_only():
    grad(scalar_loop(REVOLVE2))(0.9, 0.1, 0.5, 300)
    stats = checkpoint.last_stats()
    assert stats.peak_states <= 3 and stats.backward_steps == 300
    r = schedules.repetitions(300, 2)  # binom(2 + r, 2) >= 300
    assert math.comb(2 + r, 2) >= 300 > math.comb(1 + r, 2)
    assert stats.forward_steps <= (r + 1) * 300


@pytest.mark.parametrize("snapshots", [0, 1, 3])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 21, 60])
def test_schedules_visit_each_step_once_last_first(n, snapshots):
    for run in (lambda *a: schedules.segments(*a, every=snapshots + 1, count=schedules.Count()),
                lambda *a: schedules.binomial(*a, snapshots=snapshots, count=schedules.Count())):
        seen: list[int] = []

        def advance(i, s):
            assert i == s  # step i starts from the state after i steps
            return s + 1

        def back(i, s, g, seen=seen):
            assert i == s
            seen.append(s)
            return g + 1
        g = run(0, n, 0, advance, lambda i, s: (advance(i, s), s), back)
        assert seen == list(reversed(range(n))) and g == n


def test_memory_grows_with_sqrt_n_not_n():
    """tracemalloc's peak while differentiating 5,000 steps of a 16-float state."""
    h0, W = np.zeros(16), 0.1 * np.eye(16)

    def peak(f):
        g = grad(f, wrt=1)
        g(h0, W, 10)  # compiled outside the measure
        tracemalloc.start()
        g(h0, W, 5_000)
        out = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return out

    def with_loop(h0, W, n):
        return np.sum(checkpoint.loop(rnn_step, h0, n, W, 1.0))

    def plain(h0, W, n):
        h = h0
        for _ in range(n):
            h = np.tanh(W @ h + 1.0)
        return np.sum(h)
    assert peak(with_loop) * 10 < peak(plain)


def test_bad_input_is_refused_clearly():
    f = scalar_loop(checkpoint.loop)
    with pytest.raises(ArgumentError, match="a step count .an int >= 0. or the items"):
        grad(f)(0.9, 0.1, 0.5, 2.5)
    with pytest.raises(ArgumentError, match="a step count .an int >= 0. or the items"):
        f(0.9, 0.1, 0.5, -1)
    with pytest.raises(ArgumentError, match="must hold floats"):
        checkpoint.loop(step, 1, 3, 0.9, 0.1)
    with pytest.raises(ArgumentError, match="shaped like its input"):
        checkpoint.loop(lambda h: np.ones(3) * h, 0.5, 3)
    with pytest.raises(ArgumentError, match="the step function"):
        checkpoint.loop(0.5, 0.5, 3)
    with pytest.raises(ArgumentError, match="not both"):
        checkpoint.make_loop(every=3, snapshots=2)
    with pytest.raises(ArgumentError, match="every must be an int >= 1"):
        checkpoint.make_loop(every=0)


def test_a_closure_over_a_differentiated_value_is_refused():
    def f(a):
        def st(h):
            return np.tanh(a * h)
        return checkpoint.loop(st, 0.5, 10)
    with pytest.raises(MissingRuleError, match="pass those values to it as arguments"):
        grad(f)(0.9)
    with pytest.raises(SourceDiffError, match="reads a differentiated value from its closure"):
        sourcediff.tape.grad(f)(0.9)


def test_second_derivatives_are_refused():
    f = scalar_loop(checkpoint.loop)
    for make in (lambda: grad(grad(f))(0.9, 0.1, 0.5, 5),
                 lambda: sourcediff.hessian(f, wrt=(0, 1))(0.9, 0.1, 0.5, 5),
                 lambda: sourcediff.tape.grad(sourcediff.tape.grad(f))(0.9, 0.1, 0.5, 5)):
        with pytest.raises(MissingRuleError, match="differentiated once"):
            make()

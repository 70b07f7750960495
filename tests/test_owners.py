"""Adjoints accumulated in place in arrays the generated code owns (sourcediff/opt/owners.py).

Each case checks the gradient against central differences, that no argument changed, and
the generated source: ``a += e`` where the name owns its array, ``a = a + e`` where the
array could be seen elsewhere (a user's array, a saved value, another returned gradient).
"""

from __future__ import annotations

import numpy as np
from generated_checks import checked_source, pushed

import sourcediff as sd


def _rnn(W, U, b, xs):
    h = np.zeros((xs.shape[1], U.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ W + h @ U + b)
    return np.sum(h ** 2)


def _rnn_args(seed=0, T=4, B=3, n=2, H=5):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, H)) / 2, rng.standard_normal((H, H)) / 3,
            0.1 * rng.standard_normal(H), rng.standard_normal((T, B, n)))


def test_loop_carried_weight_adjoints_are_one_buffer_each():
    args = _rnn_args()
    before = [a.copy() for a in args]
    src = checked_source(_rnn, args, (0, 1, 2))
    for name in ("W_bar", "U_bar", "b_bar"):
        assert f"{name} += " in src, src
        assert f"{name} = {name} +" not in src, src
    for a, b in zip(args, before):
        assert np.array_equal(a, b)


def test_the_accumulated_buffers_are_not_shared_between_calls():
    g = sd.grad(_rnn, wrt=(0, 1))
    args = _rnn_args(1)
    first = g(*args)
    kept = [a.copy() for a in first]
    second = g(*args)
    assert "W_bar += " in sd.source(g)
    assert all(a is not b for a, b in zip(first, second))
    for a, b, c in zip(first, kept, second):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_a_pullback_called_twice_gives_the_same_cotangents():
    args = _rnn_args(2)
    value, pullback = sd.vjp(lambda W, U: _rnn(W, U, args[2], args[3]), args[0], args[1])
    one = [a.copy() for a in pullback(1.0)]
    two = pullback(2.0)
    for a, b in zip(one, two):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-13)


def _starts_at_argument(x, w):
    return np.sum(x * w) + np.sum(x * x * 0.5)


def test_an_adjoint_that_starts_as_a_users_array_is_not_written_into():
    """``x_bar = x; x_bar = x_bar + w``: ``x_bar += w`` would change the caller's ``x``."""
    rng = np.random.default_rng(3)
    args = (rng.standard_normal(4), rng.standard_normal(4))
    before = [a.copy() for a in args]
    src = checked_source(_starts_at_argument, args, (0, 1))
    assert "x_bar = x\n" in src and "x_bar +=" not in src, src
    for a, b in zip(args, before):
        assert np.array_equal(a, b)


def _shared(x, y):
    a = np.sin(x)
    z = x + y
    return np.sum(z * z) + np.sum(a * a)


def test_an_adjoint_shared_with_another_returned_gradient_is_not_written_into():
    """``x_bar = z_bar`` and ``y``'s gradient is ``z_bar``: adding ``x``'s own term into
    ``x_bar`` in place would change ``y``'s gradient too."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    src = checked_source(_shared, (x, y), (0, 1))
    assert "x_bar = z_bar\n" in src and "x_bar = x_bar + " in src, src
    gx, gy = sd.grad(_shared, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(gy, 2 * (x + y), rtol=1e-14)
    np.testing.assert_allclose(gx, 2 * (x + y) + 2 * np.sin(x) * np.cos(x), rtol=1e-14)


def _saved_accumulator(w, x):
    s = x * 1.0
    out = 0.0
    for _ in range(4):
        out = out + np.sum(np.sin(s) * w)
        s = s + w
    return out


def test_an_accumulator_whose_value_is_saved_is_not_written_into():
    """Each iteration's ``s`` is saved for the reverse sweep (``np.cos(s)``): updated in
    place, every saved value would be the last one."""
    rng = np.random.default_rng(5)
    args = (rng.standard_normal(3), rng.standard_normal(3))
    src = checked_source(_saved_accumulator, args, (0, 1))
    assert "s" in pushed(src) and "s += " not in src, src


def _starts_as_arguments(w, x):
    s = np.zeros(3)
    for _ in range(3):
        s = s + w * np.sin(x)
    return np.sum(s) + np.sum(x * w)


def test_a_users_array_an_adjoint_starts_as_is_copied_once_before_the_loop():
    """``x_bar`` starts as the caller's ``w`` (the adjoint of ``np.sum(x * w)``): it is
    copied once, outside the loop, and the loop adds into the copy; ``w`` is unchanged."""
    rng = np.random.default_rng(6)
    args = (rng.standard_normal(3), rng.standard_normal(3))
    before = [a.copy() for a in args]
    src = checked_source(_starts_as_arguments, args, (0, 1))
    assert "x_bar = _sd.copy_of(w)" in src and "x_bar += " in src, src
    assert "w_bar = _sd.copy_of(x)" in src and "w_bar += " in src, src
    for a, b in zip(args, before):
        assert np.array_equal(a, b)


def _subtracted(x, y):
    z = x[:, None] - y[None, :]
    return np.sum(np.tanh(z) ** 2)


def test_a_negated_cotangent_is_subtracted_in_place():
    rng = np.random.default_rng(7)
    args = (rng.standard_normal(4), rng.standard_normal(5))
    src = checked_source(_subtracted, args, (0, 1))
    assert "+= -" not in src, src


_OWNERS_SOURCE = '''
def f(x, lst):
    a = x * 2.0
    a = a + 1.0
    b = x * 2.0
    c = b
    d = x * 2.0
    e = d.T
    p = x * 2.0
    lst.append(p)
    q = x * 2.0
    r = [q]
    g = np.exp(x)
    h = np.sum(g, axis=0) + g.shape[0]
    k = np.reshape(x * 2.0, (4,))
    m = x * 2.0
    np.exp(x, out=m)
    n = x * 2.0
    s = np.transpose(n) * 2.0
    u = 0.0
    for v in range(3):
        u = u + g
    o = np.broadcast_to(1.0, (3,))
    for v in range(3):
        o = o + g
    return a, u
'''


def test_ownership_follows_every_read_of_a_name():
    """Owned: bound to new values only (arithmetic, ufuncs, reductions, numbers), read
    only where the value is used, never kept (another name, a view, a container, a call,
    out=), returned at the end. A view made and used at once (np.transpose(n) * 2.0)
    keeps nothing. A read-only broadcast is not a new array."""
    from sourcediff.ir import nodes as N
    from sourcediff.opt.owners import Owners
    fdef = N.parse(_OWNERS_SOURCE).body[0]
    owners = Owners(fdef, {"np": np}, ())
    owned = {n for n in "abcdepqrghkmnosuvx" if owners.owned(n)}
    assert owned == {"a", "g", "h", "n", "s", "u"}
    assert owners.owned("o", copied=True)  # (its first value copied, it would be)


def _euler(x, v):
    for _ in range(4):
        f = -np.sin(x)
        v = v + 0.1 * f
        x = x + 0.1 * v
    return np.sum(x ** 2) + np.sum(v ** 2)


def test_a_copy_bound_back_to_its_source_goes_and_the_adjoint_is_updated_in_place():
    """The reverse sweep of ``v = v + 0.1 * f`` writes ``_g = v_bar; v_bar = _g``: the
    second assignment changes nothing (fold drops it), ``_g`` propagates away, and
    ``v_bar`` owns its array again: ``v_bar += ...``."""
    rng = np.random.default_rng(9)
    args = (rng.standard_normal(5), rng.standard_normal(5))
    src = checked_source(_euler, args, (0, 1))
    assert "v_bar = _g" not in src and "v_bar += " in src, src


def _softmax_rows(W, X):
    S = X @ W
    S = S - np.max(S, axis=1, keepdims=True)
    P = np.exp(S)
    P = P / np.sum(P, axis=1, keepdims=True)
    return np.sum(P * P)


def test_an_array_takes_a_smaller_one_in_place_and_may_read_itself_first():
    """``S = S - np.max(S, ...)``: the max is a new (n, 1) array, made before ``S`` is
    written; the softmax's adjoint subtracts its (n, 1) row sums in place, the sum of the
    product a contraction with its constant factor taken out."""
    rng = np.random.default_rng(10)
    args = (rng.standard_normal((3, 4)), rng.standard_normal((5, 3)))
    src = checked_source(_softmax_rows, args, (0,))
    assert "S -= np.max(S, axis=1, keepdims=True)" in src, src
    assert "[:, None] / " in src and "np.einsum('ab,ab->a', " in src, src


def _symmetric(A):
    B = A * 2.0
    B = B + B.T
    return np.sum(B * B * A)


def test_an_accumulation_reading_a_view_of_itself_makes_a_new_array():
    rng = np.random.default_rng(11)
    src = checked_source(_symmetric, (rng.standard_normal((3, 3)),), (0,))
    assert "B += " not in src and "B = B + B.T" in src, src


def _springs(x, v, k):
    for _ in range(3):
        diff = x[:, None, :] - x[None, :, :]
        dist = np.sqrt(np.sum(diff ** 2, axis=2) + 1e-6)
        f = np.sum((k * dist)[:, :, None] * diff, axis=1)
        v = v - 0.1 * f
        x = x + 0.1 * v
    return np.sum(x ** 2) + np.sum(v ** 2)


def test_a_recomputed_loop_body_is_optimised_again():
    """Once the reverse loop recomputes ``diff`` instead of popping it, no pop separates a
    temporary from its one use: ``-np.sum(...)`` goes into the update, as ``-=``; the
    recomputed sums are contractions; ``v_bar`` owns its array."""
    rng = np.random.default_rng(12)
    args = (rng.standard_normal((4, 2)), 0.1 * rng.standard_normal((4, 2)), 0.8)
    before = [np.copy(a) for a in args]
    src = checked_source(_springs, args, (0, 1, 2))
    assert "x_bar[None, :, :] -= np.sum(diff_bar, axis=0, keepdims=True)" in src, src
    assert src.count("np.einsum('abc,abc->ab', diff, diff)") == 2, src
    assert "v_bar += " in src and "zeros_for" not in src, src
    for a, b in zip(args, before):
        assert np.array_equal(a, b)

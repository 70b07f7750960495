"""Everyday Python that autograd's own tests and examples use (issues #18, #22).

Each case is checked against central finite differences of the scalar
``<cotangent, f(x)>`` and against a value worked out by hand, through the
compiler and, where it applies, the runtime tape.
"""

import warnings

import numpy as np
import pytest

import sourcediff as sd
from checks import check_orders
from conftest import fd

ENGINES = {"compiler": sd.vjp, "tape": sd.tape.vjp}


def _pair(x):
    return np.sin(x), x[0] * x


def _ragged(x):
    return np.sin(x), np.sum(x * x)


def _as_list(x):
    return [np.sin(x), x[0] * x]


def _as_dict(x):
    return {"s": np.sin(x), "total": np.sum(x)}


def _nested(x):
    return np.sin(x), [x * x, {"c": np.sum(x)}]


X = np.array([0.3, 0.7])
ONES = np.ones(2)


def _contract(out, ct):
    """<ct, out> over every leaf (None: no contribution)."""
    if ct is None:
        return 0.0
    if isinstance(out, dict):
        return sum(_contract(out[k], ct[k]) for k in out)
    if isinstance(out, (tuple, list)):
        return sum(_contract(o, c) for o, c in zip(out, ct))
    return float(np.sum(np.asarray(out) * ct))


# (function, cotangent, hand-computed gradient at X)
TUPLE_CASES = {
    "tuple": (_pair, (ONES, 2 * ONES),
              np.cos(X) + 2 * (X[0] + np.array([np.sum(X), 0.0]))),
    "ragged": (_ragged, (ONES, 3.0), np.cos(X) + 6 * X),
    "list": (_as_list, [ONES, ONES], np.cos(X) + X[0] + np.array([np.sum(X), 0.0])),
    "dict": (_as_dict, {"total": 2.0, "s": ONES}, np.cos(X) + 2),
    "none entry": (_pair, (None, ONES), X[0] + np.array([np.sum(X), 0.0])),
    "nested": (_nested, (ONES, [None, {"c": 2.0}]), np.cos(X) + 2),
    "tuple for a list": (_as_list, (ONES, None), np.cos(X)),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", TUPLE_CASES)
def test_vjp_of_a_function_returning_a_container(engine, case):
    f, ct, hand = TUPLE_CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the compiler takes these itself: no tape fallback
        out, pullback = ENGINES[engine](f, X)
    expected = f(X)
    assert type(out) is type(expected)
    numeric = fd(lambda x: _contract(f(x), ct), (X,), 0)
    for _ in range(2):  # a second call reruns the forward pass (compiler)
        (got,) = pullback(ct)
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(got, hand, rtol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("ct, message", [
    ((ONES,), "the cotangent is a tuple of 1 part(s) but the output is a tuple of 2"),
    ((ONES, np.ones(3)), "the cotangent[1] has shape (3,) but the output[1] has shape (2,)"),
    (ONES, "the cotangent is an array of shape (2,) but the output is a tuple of 2"),
    (({"a": ONES}, ONES), "the cotangent[0] is a dict but the output[0] is an array"),
])
def test_a_cotangent_of_the_wrong_structure_is_refused(engine, ct, message):
    out, pullback = ENGINES[engine](_pair, X)
    with pytest.raises(sd.ArgumentError) as info:
        pullback(ct)
    assert message in str(info.value)
    assert "_pair" in str(info.value)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_dict_cotangent_needs_the_outputs_keys(engine):
    out, pullback = ENGINES[engine](_as_dict, X)
    with pytest.raises(sd.ArgumentError, match=r"keys \['s'\] but the output is a dict with "
                                               r"keys \['s', 'total'\]"):
        pullback({"s": ONES})


def test_jacobian_of_a_function_returning_a_tuple():
    J_sin, J_scaled = sd.jacobian(_pair)(X)
    np.testing.assert_allclose(J_sin, np.diag(np.cos(X)), rtol=1e-12)
    # d(x0 * x)/dx = x0 * I + x e0^T
    np.testing.assert_allclose(J_scaled, [[2 * X[0], 0.0], [X[1], X[0]]], rtol=1e-12)
    for k in range(2):
        np.testing.assert_allclose(J_scaled[k], fd(lambda x, k=k: _pair(x)[1][k], (X,), 0),
                                   rtol=1e-6)


# --- f(*args) with args a tuple or list display ------------------------------------------

def _helper(a, b, c=1.0):
    return np.sum(a * np.sin(b)) * c


def _star_tuple(x):
    args = (x, 2 * x)
    return _helper(*args)


def _star_list_and_more(x, y):
    args = [x, y]
    last = (x,)
    return _helper(*args, 3.0) + _helper(y, *last)


def test_a_starred_tuple_display_is_expanded():
    got = sd.grad(_star_tuple)(X)
    np.testing.assert_allclose(got, fd(_star_tuple, (X,), 0), rtol=1e-6)
    np.testing.assert_allclose(got, np.sin(2 * X) + 2 * X * np.cos(2 * X), rtol=1e-12)
    # order 2: d2/dx2 of x sin 2x = 4 cos 2x - 4 x sin 2x (elementwise)
    hand = np.diag(4 * np.cos(2 * X) - 4 * X * np.sin(2 * X))
    np.testing.assert_allclose(sd.hessian(_star_tuple)(X), hand, rtol=1e-10, atol=1e-12)
    for k in range(2):
        np.testing.assert_allclose(
            sd.hessian(_star_tuple)(X)[k],
            fd(lambda x, k=k: sd.grad(_star_tuple)(x)[k], (X,), 0), rtol=1e-6)
    assert "_helper(*args)" in sd.source(sd.grad(_star_tuple))  # the comment keeps the line


def test_a_starred_list_display_among_other_arguments():
    Y = np.array([1.0, 2.0])
    dx, dy = sd.grad(_star_list_and_more, wrt=(0, 1))(X, Y)
    np.testing.assert_allclose(dx, fd(_star_list_and_more, (X, Y), 0), rtol=1e-6)
    np.testing.assert_allclose(dy, fd(_star_list_and_more, (X, Y), 1), rtol=1e-6)
    # 3 sum(x sin y) + sum(y sin x)
    np.testing.assert_allclose(dx, 3 * np.sin(Y) + Y * np.cos(X), rtol=1e-12)
    np.testing.assert_allclose(dy, 3 * X * np.cos(Y) + np.sin(X), rtol=1e-12)


def _star_changed(x):
    args = [x, x]
    args.append(2.0)
    return _helper(*args)


def _star_assigned_twice(x):
    args = (x, x)
    if np.sum(x) > 0:
        args = (x, 2 * x)
    return _helper(*args)


def _star_slice(x):
    args = (x, x)
    return _helper(*args[:2])


def _star_lengths_differ(x):
    args = (x,)
    if np.sum(x) > 0:
        args = (x, 2 * x)
    return _helper(*args)


def _star_of_a_list_copy(x):
    args = list((x, x, 3.0))
    args[1] = np.sin(args[1])
    return _helper(args[0], *args[1:])


def _star_changed_through_a_second_name(x):
    args = list((x, x))
    other = args
    other.append(3.0)   # args has three items now: _helper's c is 3.0
    return _helper(*args)


@pytest.mark.parametrize("f", [_star_changed, _star_lengths_differ,
                               _star_changed_through_a_second_name])
def test_a_starred_call_of_unknown_length_is_still_refused(f):
    with pytest.raises(sd.UnsupportedSyntaxError, match=r"a \*args call"):
        sd.grad(f)(X)


@pytest.mark.parametrize("f", [_star_assigned_twice, _star_slice, _star_of_a_list_copy],
                         ids=lambda f: f.__name__)
def test_a_starred_call_whose_length_every_store_agrees_on(f):
    """Stored twice with the same length, a constant slice of it, a list(...) copy whose
    items are assigned: the length is known, the call is spelled out."""
    check_orders(lambda x: np.sum(f(x)), X, tape=False)


# --- dicts built key by key (was refused as "an in-place update ... may share its data") --
def dict_stepwise(x):
    d = {}
    d["a"] = x * 2.0
    d["b"] = np.sin(x)
    return np.sum(d["a"] * d["b"])


def dict_key_overwritten(x):
    d = {"a": x}
    d["a"] = d["a"] * 3.0
    d["b"] = d["a"] ** 2
    return np.sum(d["b"]) + np.sum(d["a"])


def dict_in_a_loop(x):
    terms = {}
    for i in range(3):
        terms[i] = x[i] ** 2 * (i + 1.0)
    total = 0.0
    for i in range(3):
        total = total + terms[i] * x[(i + 1) % 3]
    return total


@pytest.mark.parametrize("f", [dict_stepwise, dict_key_overwritten, dict_in_a_loop],
                         ids=lambda f: f.__name__)
def test_a_dict_built_key_by_key(f):
    x = np.array([0.4, -1.3, 0.9])
    check_orders(f, x)


def test_a_dict_argument_updated_by_key_is_not_changed():
    def f(p):
        p["w"] = p["w"] * 2.0
        return np.sum(p["w"] ** 2) + p["b"]
    p = {"w": np.array([1.0, -2.0]), "b": 0.5}
    g = sd.grad(f)(p)
    assert set(g) == {"w", "b"} and g["b"] == pytest.approx(1.0)
    np.testing.assert_allclose(g["w"], 8.0 * np.array([1.0, -2.0]))
    np.testing.assert_array_equal(p["w"], [1.0, -2.0])   # the caller's dict is unchanged


# --- builtin max/min of one sequence (was refused: the table's max takes two arguments) ---
def max_of_a_list(x):
    parts = [x[0] * 2.0, np.sin(x[1]), x[2] ** 2]
    return max(parts) * min(parts) + max(x) - min(x[1:] * 3.0)


def max_of_a_tuple_in_a_loop(x):
    best = 0.0
    for i in range(2):
        best = best + max((x[i] * x[i + 1], np.cos(x[i])))
    return best


@pytest.mark.parametrize("f", [max_of_a_list, max_of_a_tuple_in_a_loop],
                         ids=lambda f: f.__name__)
def test_builtin_max_and_min_of_a_sequence(f):
    x = np.array([0.4, -1.3, 0.9])
    check_orders(f, x)


def test_builtin_max_of_equal_items_takes_the_first():
    """As builtin max does: the value, and so the gradient, is the first maximal item's."""
    def f(x):
        return max([x[0], x[1], x[0] * 0.0 + 1.0])
    g = sd.grad(f)(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(g, [1.0, 0.0])


# --- f(**kw) where kw is a dict display of the function (was refused: a **kwargs call) ---
def _dense(a, scale=2.0, *, shift=0.5):
    return np.tanh(a * scale + shift)


def kwargs_of_a_display(x):
    options = {"shift": x[0] * 0.5, "scale": 3.0}
    fixed = {"shift": 0.1}
    return np.sum(_dense(x, **options)) + np.sum(_dense(x, 1.5, **fixed))


def test_a_call_with_the_keywords_of_a_dict_display():
    x = np.array([0.4, -1.3, 0.9])
    f = kwargs_of_a_display
    check_orders(f, x, tape=False)


# --- a, *rest = seq (was refused: starred assignment) --------------------------------------
def star_at_the_end(x):
    a, b, *rest = x
    return a * b + rest[0] * rest[1] + len(rest)


def star_in_the_middle(x):
    first, *middle, last = [x[0] * 2.0, np.sin(x[1]), x[2] ** 2, x[0] * x[2]]
    return first * last + sum(middle) * middle[0]


def star_first(x):
    *init, z = tuple(x)
    return z * np.sum(np.stack(init)) + len(init)


@pytest.mark.parametrize("f", [star_at_the_end, star_in_the_middle, star_first],
                         ids=lambda f: f.__name__)
def test_starred_assignment(f):
    x = np.array([0.4, -1.3, 0.9, 0.6])
    check_orders(f, x)


# --- a, b = seq with a seq of another length raises as Python does (was: a value) -------
def _unpack_two(p, x):
    W, b = p
    return np.sum(np.tanh(x * W + b))


def _unpack_star(x):
    first, *_, last = x
    return first * last


@pytest.mark.parametrize("f,args", [
    (_unpack_two, ((1.0, 2.0, 3.0), np.ones(2))),
    (_unpack_two, ((1.0,), np.ones(2))),
    (_unpack_star, (np.array([2.0]),)),
], ids=["too_many", "too_few", "starred_too_few"])
def test_unpacking_a_sequence_of_another_length_raises(f, args):
    with pytest.raises(ValueError, match="values to unpack"):
        f(*args)
    for transform in (sd.grad, sd.value_and_grad, sd.tape.grad):
        with pytest.raises(ValueError, match="values to unpack"):
            transform(f)(*args)
    with pytest.raises(ValueError, match="values to unpack"):
        sd.jvp(f, args, tuple(np.zeros_like(np.asarray(a, dtype=float)) if not isinstance(
            a, tuple) else tuple(0.0 for _ in a) for a in args))


def test_unpacking_of_the_right_length_is_differentiated():
    x = np.array([0.4, -1.3, 0.9])
    check_orders(lambda v: _unpack_two((v[0], v[1]), x) + _unpack_star(v), x)


# --- an array where a sequence of arrays is expected: np.concatenate(x) joins x's rows ---
@pytest.mark.parametrize("join", [
    lambda x: np.concatenate(x[None] * x),
    lambda x: np.stack(np.reshape(x, (2, 2)), axis=1),
    lambda x: np.vstack(x),
    lambda x: np.hstack(np.reshape(x, (2, 2))),
], ids=["concatenate", "stack", "vstack", "hstack"])
def test_an_array_given_as_the_sequence_to_join(join):
    def f(x):
        return np.sum(np.sin(join(x)) * np.arange(1.0, join(x).size + 1).reshape(
            join(x).shape))
    check_orders(f, np.array([0.4, -1.3, 0.9, 0.2]))


# --- a, b = b, a of arguments of different shapes (zeros_for saw the swapped value) -------
def _swap_if_longer(a, v):
    if len(v) > len(a):
        a, v = v, a
    return np.sum(a[:2] * v[0]) + np.sum(np.sin(a))


def test_swapping_two_arguments_of_different_shapes():
    a, v = np.array([0.4, 1.3, 0.9]), np.array([2.0, 3.0, 4.0, 5.0])
    ga, gv = sd.grad(_swap_if_longer, wrt=(0, 1))(a, v)
    np.testing.assert_allclose(ga, fd(_swap_if_longer, (a, v), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gv, fd(_swap_if_longer, (a, v), 1), rtol=1e-6, atol=1e-8)
    check_orders(lambda x: _swap_if_longer(x[:2], x), np.array([0.4, 1.3, 0.9]))

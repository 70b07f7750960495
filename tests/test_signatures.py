"""Ordinary Python signatures: defaults, keyword-only parameters, keyword calls,
``*args`` and ``**kwargs``, in the differentiated function and in the functions it
calls; reverse mode (grad, value_and_grad, vjp) and forward mode (jvp), checked
against central differences, hand-computed values and the runtime tape.

Decisions these tests pin down (see ``sourcediff/ir/signature.py``):

* generated code takes every parameter flat and positional (``*args`` as its tuple,
  ``**kwargs`` as its dict); a call to user code is bound to the callee's signature
  at compile time, defaults filled in (a constant printed, an array passed as data);
* ``wrt`` as an int counts the call's positional arguments, those landing in ``*args``
  too (as JAX and the tape do); ``wrt`` as a name selects a parameter and keeps its
  structure: the ``*args`` tuple gives a tuple, ``**kwargs`` a dict, and a keyword-only
  parameter may be named, passed by keyword or left to its default;
* ``vjp`` and ``jvp`` take the primals by position: keyword-only parameters and the
  defaults of parameters not given keep their values and get no derivative.
"""

import importlib.util
import textwrap

import numpy as np
import pytest

import sourcediff as sd
from sourcediff import check_grad, grad, jvp, source, tape, value_and_grad, vjp
from sourcediff.errors import ArgumentError, SourceDiffError

X = np.array([0.3, 1.2, 2.0])
Y = np.array([0.5, -0.4, 1.1])
W = np.arange(3.0)


def fd(f, x, eps=1e-6):
    """Central differences of scalar ``f`` at ``x`` (a float or an array)."""
    if np.ndim(x) == 0:
        return (f(x + eps) - f(x - eps)) / (2 * eps)
    out = np.zeros(np.shape(x))
    for i in np.ndindex(np.shape(x)):
        e = np.zeros(np.shape(x))
        e[i] = eps
        out[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return out


def close(a, b, rtol=1e-6, atol=1e-8):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# --- 1. defaults left out ------------------------------------------------------------------

def softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def loss_default(x):
    return np.sum(softmax(x) ** 2 * W)


def loss_positional(x):
    return np.sum(softmax(x, -1) ** 2 * W)


def loss_keyword(x):
    return np.sum(softmax(x, axis=-1) ** 2 * W)


def test_callee_default_left_out_grad_jvp_fd():
    expected = fd(loss_default, X)
    for f in (loss_default, loss_positional, loss_keyword):
        close(grad(f)(X), expected)
        value, g = value_and_grad(f)(X)
        assert value == pytest.approx(loss_default(X))
        close(g, expected)
        out, pull = vjp(f, X)
        close(pull(1.0)[0], expected)
        assert jvp(f, (X,), (Y,))[1] == pytest.approx(expected @ Y, rel=1e-6)
        close(tape.grad(f)(X), expected)
        check_grad(f, X)


def test_callee_keyword_picks_the_axis():
    m = np.array([[0.2, -0.1, 0.7], [1.0, 0.4, -0.3]])

    def by_columns(a):
        return np.sum(softmax(a, axis=0) ** 2 * W)

    expected = fd(by_columns, m)
    close(grad(by_columns)(m), expected)
    t = np.ones_like(m) * 0.3
    assert jvp(by_columns, (m,), (t,))[1] == pytest.approx(np.sum(expected * t), rel=1e-6)
    close(tape.grad(by_columns)(m), expected)


SHIFT = np.array([1.0, 2.0, 3.0])


def scaled(x, scale=3.0, shift=SHIFT):
    return np.sum((x * scale + shift) ** 2)


def test_own_defaults_left_out_or_given_same_gradient():
    hand = 2 * (X * 3.0 + SHIFT) * 3.0
    calls = [lambda g: g(X), lambda g: g(X, 3.0), lambda g: g(X, scale=3.0),
             lambda g: g(X, 3.0, SHIFT), lambda g: g(x=X, shift=SHIFT)]
    for call in calls:
        close(call(grad(scaled)), hand)
        close(call(tape.grad(scaled)), hand)
        value, g = call(value_and_grad(scaled))
        assert value == pytest.approx(scaled(X))
        close(g, hand)
    close(grad(scaled)(X, 2.0), 2 * (X * 2.0 + SHIFT) * 2.0)  # a value given is used
    close(grad(scaled)(X, shift=Y), 2 * (X * 3.0 + Y) * 3.0)


def test_gradient_with_respect_to_a_default():
    # d/dscale sum((x s + b)^2) = sum(2 (x s + b) x);  d/db = 2 (x s + b)
    assert grad(scaled, wrt="scale")(X) == pytest.approx(np.sum(2 * (X * 3.0 + SHIFT) * X))
    assert grad(scaled, wrt=1)(X) == pytest.approx(fd(lambda s: scaled(X, s), 3.0))
    close(grad(scaled, wrt="shift")(X), 2 * (X * 3.0 + SHIFT))
    gx, gs = grad(scaled, wrt=("x", "scale"))(X)
    close(gx, fd(scaled, X))
    assert gs == pytest.approx(tape.grad(scaled, wrt=1)(X, 3.0))  # (the tape: passed)


def test_jvp_and_vjp_fill_defaults():
    hand = 2 * (X * 3.0 + SHIFT) * 3.0
    value, tangent = jvp(scaled, (X,), (Y,))
    assert value == pytest.approx(scaled(X))
    assert tangent == pytest.approx(hand @ Y)
    value, tangent = jvp(scaled, (X, 3.0), (Y, 0.5))
    assert tangent == pytest.approx(hand @ Y + 0.5 * np.sum(2 * (X * 3.0 + SHIFT) * X))
    _, pull = vjp(scaled, X)
    (gx,) = pull(1.0)
    close(gx, hand)


OFFSET = np.array([0.5, -1.0, 2.0])


def shifted(x, offset=OFFSET, power=2):
    return np.sum((x - offset) ** power)


def loss_array_default(x):
    return shifted(x) * 2.0


def test_array_default_of_a_callee_is_data_not_a_literal():
    g = grad(loss_array_default)
    close(g(X), 4 * (X - OFFSET))
    assert jvp(loss_array_default, (X,), (Y,))[1] == pytest.approx(4 * (X - OFFSET) @ Y)
    close(tape.grad(loss_array_default)(X), 4 * (X - OFFSET))
    src = source(g)
    assert "shifted_offset_default" in src and "-1.0" not in src
    assert "split_call(_pullbacks1, shifted" in src  # run once: split.py


# --- 2. keyword-only parameters --------------------------------------------------------------

def power_sum(x, *, power=2.0):
    return np.sum(x ** power)


def loss_kwonly(x):
    return power_sum(x, power=3.0) + power_sum(x)


def test_keyword_only_own_parameter():
    close(grad(power_sum)(X), 2 * X)
    close(grad(power_sum)(X, power=3.0), 3 * X ** 2)
    close(tape.grad(power_sum)(X, power=3.0), 3 * X ** 2)
    value, g = value_and_grad(power_sum)(X, power=3.0)
    assert value == pytest.approx(np.sum(X ** 3))
    close(g, 3 * X ** 2)
    assert jvp(power_sum, (X,), (Y,))[1] == pytest.approx(2 * X @ Y)  # its default


def test_keyword_only_parameter_named_in_wrt():
    # d/dp sum(x^p) = sum(x^p log x), passed by keyword or left to its default
    hand3 = np.sum(X ** 3 * np.log(X))
    assert grad(power_sum, wrt="power")(X, power=3.0) == pytest.approx(hand3)
    assert grad(power_sum, wrt="power")(X) == pytest.approx(np.sum(X ** 2 * np.log(X)))
    assert grad(power_sum, wrt="power")(X, power=3.0) == pytest.approx(
        fd(lambda p: power_sum(X, power=p), 3.0), rel=1e-6)
    gx, gp = grad(power_sum, wrt=(0, "power"))(X, power=3.0)
    close(gx, 3 * X ** 2)
    assert gp == pytest.approx(hand3)


def test_keyword_only_parameter_of_a_callee():
    hand = 3 * X ** 2 + 2 * X
    close(grad(loss_kwonly)(X), hand)
    close(fd(loss_kwonly, X), hand)
    assert jvp(loss_kwonly, (X,), (Y,))[1] == pytest.approx(hand @ Y)
    close(vjp(loss_kwonly, X)[1](1.0)[0], hand)
    close(tape.grad(loss_kwonly)(X), hand)


# --- 3. keyword arguments in calls to user and library functions ----------------------------

def blend(a, b, t=0.5):
    return a * (1.0 - t) + b * t


def loss_keywords_out_of_order(x, y):
    return np.sum(blend(b=np.sin(x), t=0.25, a=y * x) ** 2)


def test_keywords_out_of_order():
    expected = (fd(lambda x: loss_keywords_out_of_order(x, Y), X),
                fd(lambda y: loss_keywords_out_of_order(X, y), Y))
    for got in (grad(loss_keywords_out_of_order, wrt=(0, 1))(X, Y),
                tape.grad(loss_keywords_out_of_order, wrt=(0, 1))(X, Y),
                vjp(loss_keywords_out_of_order, X, Y)[1](1.0)):
        close(got[0], expected[0])
        close(got[1], expected[1])
    tangent = jvp(loss_keywords_out_of_order, (X, Y), (Y, X))[1]
    assert tangent == pytest.approx(expected[0] @ Y + expected[1] @ X, rel=1e-6)


def loss_keyword_differentiated(x, t):
    return np.sum(blend(x, np.cos(x), t=t) ** 2)


def test_keyword_argument_that_is_differentiated():
    gt = grad(loss_keyword_differentiated, wrt=1)(X, 0.3)
    assert gt == pytest.approx(fd(lambda t: loss_keyword_differentiated(X, t), 0.3), rel=1e-6)
    tangent = jvp(loss_keyword_differentiated, (X, 0.3), (np.zeros(3), 1.0))[1]
    assert tangent == pytest.approx(gt)
    assert tape.grad(loss_keyword_differentiated, wrt=1)(X, 0.3) == pytest.approx(gt)


LIBRARY = '''
import numpy as np


def logsumexp(a, axis=None, keepdims=False, *, scale=1.0):
    m = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp((a - m) * scale), axis=axis, keepdims=True)) / scale + m
    if not keepdims:
        out = np.squeeze(out, axis=axis)
    return out
'''


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A library module (not this file) whose functions sourcediff reads the source of."""
    path = tmp_path_factory.mktemp("lib") / "siglib.py"
    path.write_text(textwrap.dedent(LIBRARY))
    spec = importlib.util.spec_from_file_location("siglib", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_keyword_call_to_a_library_function(library):
    m = np.array([[0.2, -0.1, 0.7], [1.0, 0.4, -0.3]])

    def loss(a):
        return np.sum(library.logsumexp(a, axis=1, scale=2.0) * np.array([1.0, -2.0]))

    expected = fd(loss, m)
    close(grad(loss)(m), expected)
    close(tape.grad(loss)(m), expected)
    t = np.full_like(m, 0.2)
    assert jvp(loss, (m,), (t,))[1] == pytest.approx(np.sum(expected * t), rel=1e-6)
    src = " ".join(source(grad(loss)).split())  # (the printer may wrap the call)
    assert "_sd.split_call(_pullbacks1, library.logsumexp, a, 1, False, 2.0, wrt=(0,))" in src


# --- 4. *args and **kwargs -------------------------------------------------------------------

def star(x, *args, **kw):
    return np.sum(x ** 2) * len(args)


def sum_squares(*xs):
    total = 0.0
    for x in xs:
        total = total + np.sum(x ** 2)
    return total


def weighted(x, *ws, **opts):
    total = 0.0
    for w in ws:
        total = total + np.sum(w * x) * opts["scale"]
    return total


def test_star_args_and_kwargs_in_the_signature():
    close(grad(star)(X, 1, 2), 4 * X)
    close(grad(star)(X, 1, 2, k=3), 4 * X)
    close(tape.grad(star)(X, 1, 2, k=3), 4 * X)
    assert grad(star)(X) == pytest.approx(np.zeros(3))
    value, g = value_and_grad(star)(X, "a", "b", "c")
    assert value == pytest.approx(3 * np.sum(X ** 2))
    close(g, 6 * X)
    assert jvp(star, (X, 1.0, 2.0), (Y, 0.0, 0.0))[1] == pytest.approx(4 * X @ Y)


def test_wrt_counts_positions_and_names_keep_structure():
    close(grad(sum_squares)(X, Y), 2 * X)               # position 0: the first of *xs
    close(grad(sum_squares, wrt=1)(X, Y), 2 * Y)
    gx, gy = grad(sum_squares, wrt=(0, 1))(X, Y)
    close(gx, 2 * X)
    close(gy, 2 * Y)
    for got, want in ((tape.grad(sum_squares)(X, Y), 2 * X),
                      (tape.grad(sum_squares, wrt=1)(X, Y), 2 * Y)):
        close(got, want)
    whole = grad(sum_squares, wrt="xs")(X, Y, 2.0)      # the *args tuple: a tuple
    assert isinstance(whole, tuple) and len(whole) == 3
    close(whole[0], 2 * X)
    close(whole[1], 2 * Y)
    assert whole[2] == pytest.approx(4.0)
    with pytest.raises(ArgumentError):
        grad(sum_squares, wrt=2)(X, Y)
    close(grad(sum_squares)(X, 1), 2 * X)  # an int elsewhere in *xs is not selected
    with pytest.raises(ArgumentError, match="argument 1: it is an int"):
        grad(sum_squares, wrt=1)(X, 1)


def test_kwargs_gradient_is_a_dict():
    g = grad(weighted, wrt="opts")(X, Y, scale=2.0)
    assert isinstance(g, dict) and set(g) == {"scale"}
    assert g["scale"] == pytest.approx(np.sum(Y * X))
    gws = grad(weighted, wrt="ws")(X, Y, X, scale=2.0)
    close(gws[0], 2 * X)
    close(gws[1], 2 * X)
    close(grad(weighted)(X, Y, X, scale=2.0), 2.0 * (Y + X))
    close(tape.grad(weighted)(X, Y, X, scale=2.0), 2.0 * (Y + X))


def test_varargs_jvp_and_vjp():
    value, tangent = jvp(sum_squares, (X, Y), (Y, X))
    assert value == pytest.approx(np.sum(X ** 2) + np.sum(Y ** 2))
    assert tangent == pytest.approx(4 * X @ Y)
    gx, gy = vjp(sum_squares, X, Y)[1](1.0)
    close(gx, 2 * X)
    close(gy, 2 * Y)


def loss_calls_star(x, y):
    return sum_squares(x, y, x) + star(x, 1, 2, k=3)


def loss_calls_kwargs(x, s):
    return weighted(x, x, 2.0 * x, scale=s)


def test_callees_with_star_args_and_kwargs():
    hand = (4 * X + 4 * X, 2 * Y)  # x twice in *xs, and star's 2 * sum(x^2)
    for got in (grad(loss_calls_star, wrt=(0, 1))(X, Y),
                tape.grad(loss_calls_star, wrt=(0, 1))(X, Y), vjp(loss_calls_star, X, Y)[1](1.0)):
        close(got[0], hand[0])
        close(got[1], hand[1])
    assert jvp(loss_calls_star, (X, Y), (Y, X))[1] == pytest.approx(hand[0] @ Y + hand[1] @ X)

    s = 1.5  # weighted = s * (sum(x x) + sum(2 x x)) = 3 s sum(x^2)
    gx, gs = grad(loss_calls_kwargs, wrt=(0, 1))(X, s)
    close(gx, 6 * s * X)
    assert gs == pytest.approx(3 * np.sum(X ** 2))
    close(gx, fd(lambda x: loss_calls_kwargs(x, s), X))
    tx, ts = tape.grad(loss_calls_kwargs, wrt=(0, 1))(X, s)
    close(tx, gx)
    assert ts == pytest.approx(gs)
    assert jvp(loss_calls_kwargs, (X, s), (Y, 0.5))[1] == pytest.approx(gx @ Y + 0.5 * gs)


# --- nested functions and lambdas ------------------------------------------------------------

def loss_nested_defaults(x):
    def inner(v, k=2.0):
        return v * k
    sq = lambda v, p=2: v ** p  # noqa: E731
    return np.sum(inner(x)) + np.sum(inner(x, k=3.0)) + np.sum(sq(x))


def loss_lifted_defaults(x):
    c = np.sin(x)

    def inner(v, k=2.0, *, p=1.0):
        return v * c * k + p
    return np.sum(inner(x, p=0.5) * inner(x))


def test_nested_functions_with_defaults_and_keywords():
    for f in (loss_nested_defaults, loss_lifted_defaults):
        expected = fd(f, X)
        close(grad(f)(X), expected)
        close(tape.grad(f)(X), expected)
        assert jvp(f, (X,), (Y,))[1] == pytest.approx(expected @ Y, rel=1e-6)
    close(grad(loss_nested_defaults)(X), 5.0 + 2 * X)


# --- errors ----------------------------------------------------------------------------------

def loss_bad_keyword(x):
    return np.sum(softmax(x, axes=0))


def loss_keyword_to_unknown(x, act):
    return np.sum(act(x, k=2))


def loss_nested_data_default(x):
    k0 = np.sum(x)

    def inner(v, k=k0):
        return v * k
    return np.sum(inner(x))


@pytest.mark.parametrize("f,args,word", [
    (loss_bad_keyword, (X,), "axes"),
    (loss_keyword_to_unknown, (X, np.sin), "keyword arguments"),
    (loss_nested_data_default, (X,), "not a constant"),
])
def test_signature_errors_name_the_call(f, args, word):
    with pytest.raises(SourceDiffError) as info:
        grad(f)(*args)
    err = info.value
    assert word in str(err) and err.function == f.__name__ and err.lineno is not None
    assert err.hint


def test_a_bad_call_of_the_differentiated_function_is_an_argument_error():
    with pytest.raises(ArgumentError) as info:
        grad(power_sum)(X, 3.0)  # power is keyword-only
    assert "power_sum" in str(info.value)
    with pytest.raises(ArgumentError):
        tape.grad(power_sum, wrt="power")(X, power=3.0)  # the tape selects by position


def test_plain_signatures_keep_the_fast_entry():
    def plain(a, b):
        return np.sum(a * b)
    g = grad(plain)
    assert not isinstance(g, sd.transforms.api.GradFunction)  # the generated plain function
    close(g(X, Y), Y)
    close(g(a=X, b=Y), Y)


def cubic(x, a=2.0):
    return a * x ** 3


def test_derivatives_of_derivatives_fill_defaults_too():
    assert grad(grad(cubic))(1.5) == pytest.approx(6 * 2.0 * 1.5)
    assert grad(grad(cubic))(1.5, 3.0) == pytest.approx(6 * 3.0 * 1.5)
    assert sd.hessian(cubic)(1.5) == pytest.approx(6 * 2.0 * 1.5)


class Scaler:
    def loss(self, x, scale=2.0, *, power=2.0):
        return scale * np.sum(x ** power)


def test_bound_method_with_defaults_and_keyword_only():
    m = Scaler()
    close(grad(m.loss)(X), 4 * X)
    close(grad(m.loss)(X, power=3.0), 6 * X ** 2)
    assert grad(m.loss, wrt="power")(X, power=3.0) == pytest.approx(
        2 * np.sum(X ** 3 * np.log(X)))
    assert grad(m.loss, wrt="scale")(X) == pytest.approx(np.sum(X ** 2))


def test_two_gradients_are_two_arrays():
    """The optimiser may give x and y one adjoint (np.sum(np.sin(x + y))): the gradients
    returned are still separate arrays, so updating one in place leaves the other."""
    def f(x, y):
        return np.sum(np.sin(x + y))
    x, y = np.array([0.3, 0.5]), np.array([1.0, -0.2])
    for transform in (grad, sd.value_and_grad):
        for _ in range(2):  # (the second call takes the installed entry code)
            out = transform(f, wrt=(0, 1))(x, y)
            gx, gy = out[1] if transform is sd.value_and_grad else out
            assert gx is not gy
            gx *= 0.0
            np.testing.assert_allclose(gy, np.cos(x + y))
    _, pull = vjp(f, x, y)
    gx, gy = pull(1.0)
    assert gx is not gy

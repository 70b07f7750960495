"""Arguments forwarded with ``f(*args)`` and ``f(**kwargs)`` (a decorator's wrapper, a
``lambda *a: f(*a)``): spelled out at the length and keys of the call being
differentiated, and compiled again for another length. Checked against central
differences at order 1 and 2."""

import functools

import numpy as np
import pytest

import sourcediff as sd
from checks import check_orders, fd


def _model(x, w, shift=0.0):
    return np.sum(np.tanh(x * w + shift) ** 2)


def _forward(*args):
    return _model(*args)


def _forward_all(*args, **kwargs):
    return _model(*args, **kwargs)


def logged(f):
    """A decorator as users write them: the wrapper forwards everything."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)
    return wrapper


@logged
def _decorated(x, w, shift=0.0):
    return np.sum(np.sin(x) * w) + shift * np.sum(x ** 2)


_lambda = lambda *a: _model(*a)  # noqa: E731 (as users write it)


X = np.array([0.4, -1.3, 0.9])
W = np.array([0.7, 0.2, -0.5])


@pytest.mark.parametrize("f", [
    lambda x: _forward(x, W),
    lambda x: _forward(x, W, 0.3),
    lambda x: _forward_all(x, W, shift=0.3),
    lambda x: _forward_all(x, w=W),
    lambda x: _decorated(x, W, shift=0.2),
    lambda x: _lambda(x, W),
], ids=["args2", "args3", "args_kwargs", "kwargs_only", "decorator", "lambda"])
def test_a_forwarding_call_inside_a_differentiated_function(f):
    check_orders(f, X)


def test_the_forwarding_function_itself_by_position_and_through_varargs():
    g = sd.grad(_forward, wrt=(0, 1))(X, W)
    np.testing.assert_allclose(g[0], fd(lambda x: _model(x, W), X), rtol=1e-6)
    np.testing.assert_allclose(g[1], fd(lambda w: _model(X, w), W), rtol=1e-6)
    # a third positional argument: compiled again, not the two-argument code
    g3 = sd.grad(_forward, wrt=(0, 2))(X, W, 0.5)
    np.testing.assert_allclose(g3[0], fd(lambda x: _model(x, W, 0.5), X), rtol=1e-6)
    np.testing.assert_allclose(g3[1], fd(lambda s: _model(X, W, s), 0.5), rtol=1e-6)
    assert isinstance(g3[1], float)


def test_the_keywords_forwarded_decide_the_code():
    f = sd.grad(_forward_all)
    a = f(X, W, shift=0.5)
    b = f(X, W)
    np.testing.assert_allclose(a, fd(lambda x: _model(x, W, 0.5), X), rtol=1e-6)
    np.testing.assert_allclose(b, fd(lambda x: _model(x, W), X), rtol=1e-6)
    assert not np.allclose(a, b)


def test_a_decorated_function_differentiated_directly():
    g = sd.grad(_decorated, wrt=(0, 1, 2))(X, W, 0.2)
    want = [fd(lambda v: _decorated(v, W, 0.2), X), fd(lambda v: _decorated(X, v, 0.2), W),
            fd(lambda s: _decorated(X, W, s), 0.2)]
    for got, ref in zip(g, want):
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-9)
    H = sd.hessian(_decorated)(X, W, 0.2)
    np.testing.assert_allclose(H, fd(lambda v: sd.grad(_decorated)(v, W, 0.2), X, 1e-5),
                               rtol=1e-5, atol=1e-6)


def test_a_varargs_tuple_that_is_changed_is_still_refused():
    def f(*args):
        args = args[1:]
        return _model(*args)
    with pytest.raises(sd.SourceDiffError, match=r"\*args call"):
        sd.grad(f)(0.0, X, W)


def _unpacks_a_tuple(x, rest):
    return _model(x, *rest)


def test_a_tuple_argument_of_another_length_is_not_given_the_old_code():
    """The compiled entry checks a tuple argument's length as it checks an array's shape."""
    f = sd.grad(_unpacks_a_tuple)
    for rest, shift in [((W,), 0.0), ((W, 0.5), 0.5), ((W,), 0.0), ((W, -0.3), -0.3)]:
        for _ in range(2):  # (the second call goes through the installed entry)
            np.testing.assert_allclose(f(X, rest), fd(lambda x, s=shift: _model(x, W, s), X),
                                       rtol=1e-6)


def test_an_error_inside_a_function_taking_keywords_is_the_users_own():
    """Where the compiled code fails, the function is run as the user called it, so its
    own error shows (it was run with the bound flat arguments: a TypeError from inside)."""
    def f(x, **kw):
        return np.sum(np.reshape(np.log(x) * kw["s"], kw["shape"]))
    g = sd.grad(f)
    np.testing.assert_allclose(g(np.ones(4), s=2.0, shape=(2, 2)), 2.0 * np.ones(4))
    with pytest.raises(ValueError, match="cannot reshape"):
        g(np.ones(4), s=2.0, shape=(3, 2))


def _symmetrized(fun, argnum):
    """A wrapper that changes one forwarded argument (as test helpers write them)."""
    def wrapped(*args, **kwargs):
        args = list(args)
        args[argnum] = 0.5 * (args[argnum] + args[argnum].T)
        return fun(*args, **kwargs)
    return wrapped


def _quad(A, v, scale=1.0):
    return scale * (v @ A @ v) + np.sum(np.sin(A))


def test_a_wrapper_that_changes_one_forwarded_argument():
    A = np.array([[1.0, 0.3], [-0.2, 2.0]])
    v = np.array([0.5, -1.5])
    f = _symmetrized(_quad, 0)
    g = sd.grad(f)(A, v, scale=2.0)
    np.testing.assert_allclose(g, fd(lambda a: f(a, v, scale=2.0), A), rtol=1e-6, atol=1e-8)
    check_orders(lambda a: f(a, v, scale=2.0), A, tape=False)  # called inside: order 2


def test_a_gradient_through_star_args_differentiated_again_is_refused_clearly():
    f = _symmetrized(_quad, 0)
    A = np.array([[1.0, 0.3], [-0.2, 2.0]])
    with pytest.raises(sd.SourceDiffError, match=r"\*args"):
        sd.hessian(f)(A, np.array([0.5, -1.5]))


def test_the_rest_of_the_arguments_forwarded_by_a_slice():
    f = lambda *args: _quad(np.tril(args[0]), *args[1:])  # noqa: E731
    A = np.array([[1.0, 0.3], [-0.2, 2.0]])
    v = np.array([0.5, -1.5])
    for extra in [(v,), (v, 3.0)]:
        got = sd.grad(f, wrt=(0, 1))(A, *extra)
        want = (fd(lambda a, e=extra: f(a, *e), A), fd(lambda u, e=extra: f(A, u, *e[1:]), v))
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)

"""The entry code ``grad`` installs after its first call (transforms/entry.py): an array
argument's gradient is checked inline and given the argument's type, shape and dtype by
``like`` only where it is not already so. Every case is called twice (the second call
runs the entry code) and checked against central finite differences."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from sourcediff import grad, value_and_grad
from sourcediff.errors import SourceDiffError

from checks import fd, fd_complex


def _twice(g, *args, **kwargs):
    """The gradient of the first call (the dispatcher) and of the second (entry code)."""
    first = g(*args, **kwargs)
    return first, g(*args, **kwargs)


def _same(a, b):
    """Equal values of the same type, shape and dtype."""
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_allclose(a, b, rtol=1e-12)


def mixed(x, y, c):
    return np.sum(np.sin(x) * c) + np.sum(y ** 2 * x[0])


def test_float64_float32_and_float_arguments_against_fd():
    x = np.array([0.3, -0.7, 1.1])
    y = np.array([[0.5, 2.0], [-1.5, 0.25]], dtype=np.float32)
    c = 0.8
    g = grad(mixed, wrt=(0, 1, 2))
    first, second = _twice(g, x, y, c)
    assert "_sd_like" in inspect.getsource(g)  # the second call ran the entry code
    for a, b in zip(first, second):
        _same(a, b)
    gx, gy, gc = second
    assert gx.dtype == np.float64 and gy.dtype == np.float32 and type(gc) is float
    y64 = y.astype(np.float64)
    np.testing.assert_allclose(gx, fd(lambda v: mixed(v, y64, c), x), rtol=1e-6)
    np.testing.assert_allclose(gy, fd(lambda v: mixed(x, v, c), y64), rtol=1e-5)
    np.testing.assert_allclose(gc, fd(lambda v: mixed(x, y64, v), c), rtol=1e-6)


def scaled_by_constants(x, k):
    return np.sum(x * k)


def test_gradient_of_another_dtype_takes_the_arguments():
    # float32 x times a float64 array: the raw gradient is float64, like() casts it
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    k = np.array([0.5, -1.0, 2.0])
    gx, gx2 = _twice(grad(scaled_by_constants), x, k)
    _same(gx, gx2)
    assert gx2.dtype == np.float32
    np.testing.assert_allclose(gx2, fd(lambda v: scaled_by_constants(v, k), x), rtol=1e-6)


def three_sums(x):
    return 3.0 * np.sum(x)


def test_read_only_gradient_is_copied():
    # the raw gradient is np.broadcast_to(3.0, shape), a read-only view: the caller gets
    # an array of its own it may write to
    x = np.array([0.1, 0.2, 0.3, 0.4])
    g = grad(three_sums)
    for got in _twice(g, x):
        assert type(got) is np.ndarray and got.shape == x.shape and got.flags.writeable
        np.testing.assert_allclose(got, fd(three_sums, x), rtol=1e-6)
        got += 1.0  # (writeable, and nothing the next call reads)
    np.testing.assert_allclose(g(x), [3.0] * 4)


def sum_sin(x, y):
    return np.sum(np.sin(x + y))


def test_one_cotangent_for_two_arguments_of_different_dtypes():
    # both gradients are the same variable in the generated code: each is finished
    # from it, not one from the other (no float32 rounding in the float64 one)
    x = np.array([0.1, 0.2, 1e-9], dtype=np.float32)
    y = np.array([0.3, 0.4, 0.5])
    g = grad(sum_sin, wrt=(0, 1))
    (a1, b1), (a2, b2) = _twice(g, x, y)
    _same(a1, a2)
    _same(b1, b2)
    assert a2.dtype == np.float32 and b2.dtype == np.float64
    np.testing.assert_array_equal(b2, np.cos(x.astype(np.float64) + y))
    np.testing.assert_allclose(b2, fd(lambda v: sum_sin(x.astype(np.float64), v), y),
                               rtol=1e-6)


def complex_loss(z, w):
    return np.real(np.sum(z * np.conj(z) * w))


def test_complex_argument_keeps_complex_gradient():
    z = np.array([0.5 + 1.0j, -0.25 + 0.5j])
    w = np.array([1.5, 0.5])
    g = grad(complex_loss, wrt=(0, 1))
    (gz1, gw1), (gz2, gw2) = _twice(g, z, w)
    _same(gz1, gz2)
    _same(gw1, gw2)
    assert gz2.dtype == np.complex128 and gw2.dtype == np.float64
    np.testing.assert_allclose(gz2, fd_complex(lambda v: complex_loss(v, w), z), rtol=1e-6)
    np.testing.assert_allclose(gw2, fd(lambda v: complex_loss(z, v), w), rtol=1e-6)


def loss_of_named(a, b, scale):
    return scale * np.sum(a * b ** 2)


def test_keywords_names_and_value_on_the_fast_path():
    a = np.array([1.0, -2.0, 0.5])
    b = np.array([0.3, 0.6, -0.9])
    g = grad(loss_of_named, wrt="b")
    first, second = _twice(g, a, b=b, scale=2.0)
    _same(first, second)
    np.testing.assert_allclose(second, fd(lambda v: loss_of_named(a, v, 2.0), b), rtol=1e-6)
    vg = value_and_grad(loss_of_named, wrt=("a", "b"))
    (v1, (ga1, gb1)), (v2, (ga2, gb2)) = _twice(vg, a, b, 2.0)
    assert v1 == pytest.approx(loss_of_named(a, b, 2.0)) and v2 == v1
    for x, y in ((ga1, ga2), (gb1, gb2)):
        _same(x, y)
    np.testing.assert_allclose(ga2, fd(lambda v: loss_of_named(v, b, 2.0), a), rtol=1e-6)
    np.testing.assert_allclose(gb2, fd(lambda v: loss_of_named(a, v, 2.0), b), rtol=1e-6)


def test_other_arguments_after_the_fast_path_still_dispatch_or_fail():
    g = grad(loss_of_named, wrt=(0, 1))
    a = np.array([1.0, -2.0, 0.5])
    b = np.array([0.3, 0.6, -0.9])
    g(a, b, 2.0)
    g(a, b, 2.0)
    # another shape: compiled again, its own gradient shape
    a4, b4 = np.arange(4.0), np.linspace(0.1, 0.4, 4)
    ga, gb = g(a4, b4, 2.0)
    assert ga.shape == gb.shape == (4,)
    np.testing.assert_allclose(ga, fd(lambda v: loss_of_named(v, b4, 2.0), a4), rtol=1e-6)
    # a list instead of an array: the gradient is a list again
    ga, gb = g([1.0, -2.0, 0.5], b, 2.0)
    assert type(ga) is list and len(ga) == 3
    np.testing.assert_allclose(ga, fd(lambda v: loss_of_named(v, b, 2.0), a), rtol=1e-6)
    # integers cannot be differentiated: a clear error, also after the fast path ran
    with pytest.raises(SourceDiffError, match="dtype int64"):
        g(np.array([1, 2, 3]), b, 2.0)


W_DEFAULT = np.array([0.5, -1.5])


def with_defaults(x, w=W_DEFAULT, scale=2.0):
    return scale * np.sum(np.sin(x) * w)


def test_defaults_filled_in_by_python_on_the_fast_path():
    # positional parameters with defaults: the returned function has the same defaults
    # (so the entry code takes every argument) and the user's signature
    g = grad(with_defaults)
    assert str(inspect.signature(g)) == str(inspect.signature(with_defaults))
    x = np.array([0.3, 1.2])
    w = np.array([0.5, -1.5])
    for call in (lambda: g(x), lambda: g(x, w), lambda: g(x, scale=2.0),
                 lambda: g(x=x, w=w, scale=2.0)):
        first, second = _twice(call)
        _same(first, second)
        np.testing.assert_allclose(second, fd(lambda v: with_defaults(v, w, 2.0), x), rtol=1e-6)
    assert "_sd_like" in inspect.getsource(g)
    got = g(x, scale=-1.0)  # another value of the same type: the same code
    np.testing.assert_allclose(got, fd(lambda v: with_defaults(v, w, -1.0), x), rtol=1e-6)
    # with respect to a parameter left to its default: the gradient at the default
    gw, gs = grad(with_defaults, wrt=("w", "scale"))(x)
    assert gw.shape == w.shape and type(gs) is float
    np.testing.assert_allclose(gw, fd(lambda v: with_defaults(x, v, 2.0), w), rtol=1e-6)
    np.testing.assert_allclose(gs, fd(lambda v: with_defaults(x, w, v), 2.0), rtol=1e-6)
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'x'"):
        g()
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        g(x, bogus=1.0)


def keyword_only(x, *, scale=3.0):
    return scale * np.sum(x)


def test_keyword_only_parameters_bind_each_call_with_the_same_finishing():
    # (no plain function here: each call is bound; float arrays get the same checks)
    x = np.array([1.0, 2.0], dtype=np.float32)
    g = grad(keyword_only)
    for got in _twice(g, x, scale=0.5):
        assert got.dtype == np.float32 and got.shape == (2,) and got.flags.writeable
        np.testing.assert_allclose(got, fd(lambda v: keyword_only(v, scale=0.5), x),
                                   rtol=1e-6)


def neighbours(x):
    return np.real(np.sum(x[1:] * np.conj(x[:-1]) + x[:-1] ** 2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.complex64])
def test_slice_reads_accumulate_into_a_buffer_of_the_arguments_dtype(dtype):
    # x_bar = zeros_for(x); x_bar[1:] += ...; x_bar[:-1] += ...: the buffer (from
    # zeros_for's fast path for plain float and complex arrays) has x's dtype
    x = np.array([0.3, -1.1, 0.7, 2.0], dtype=dtype)
    if np.iscomplexobj(x):
        x = x + np.array([0.5j, -0.2j, 0.1j, 1.0j], dtype=dtype)
    g = grad(neighbours)
    first, second = _twice(g, x)
    _same(first, second)
    assert second.dtype == dtype and second.shape == x.shape
    x64 = x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)
    expected = fd_complex(neighbours, x64)
    np.testing.assert_allclose(second, expected, rtol=1e-5 if dtype in (np.float32, np.complex64) else 1e-7,
                               atol=1e-5)


def sin_squares(x, scale=2.0):
    return scale * np.sum(np.sin(x) ** 2)


def test_a_defaulted_function_composes_and_pickles():
    import pickle
    from sourcediff import hessian, jacobian
    x = np.array([0.3, 0.7])
    g = grad(sin_squares)
    expected = np.diag(2.0 * 2.0 * np.cos(2 * x))  # d2/dx2 of 2 sin^2 = 4 cos 2x
    np.testing.assert_allclose(jacobian(g)(x), expected, rtol=1e-10)
    np.testing.assert_allclose(hessian(sin_squares)(x), expected, rtol=1e-10)
    np.testing.assert_allclose(hessian(sin_squares)(x, 3.0), 1.5 * expected, rtol=1e-10)
    g(x)
    again = pickle.loads(pickle.dumps(g))
    np.testing.assert_allclose(again(x), g(x), rtol=0)
    np.testing.assert_allclose(again(x), fd(sin_squares, x), rtol=1e-6)

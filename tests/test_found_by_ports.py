"""What porting more of HIPS autograd's examples (examples/ported/, issue #22) found:
each test is the smallest form of what an example does, checked against hand-computed
values and central differences."""

from __future__ import annotations

import numpy as np
import pytest

from sourcediff import MissingRuleError, UnsupportedSyntaxError, grad, hessian, hvp, jvp


def central(f, x, eps=1e-6):
    out = np.zeros(np.size(x))
    for k in range(np.size(x)):
        e = np.zeros(np.shape(x))
        e.flat[k] = eps
        out[k] = (f(x + e) - f(x - e)) / (2 * eps)
    return out.reshape(np.shape(x))


# --- examples/tanh.py: elementwise_grad nested four times -------------------------------------

def _tanh(x):
    return (1.0 - np.exp(-2 * x)) / (1.0 + np.exp(-(2 * x)))


def _egrad(f):
    def g(x):
        return grad(lambda y: np.sum(f(y)))(x)
    return g


def test_third_and_fourth_elementwise_derivative():
    """The third derivative runs the second one's generated code on the tape, which makes
    the lambda ``lambda y: np.sum(f(y))`` there: its globals were the tape's view of the
    generated module, in which the compiler did not find ``f`` (NameError from inside)."""
    x = np.linspace(-2.0, 2.0, 5)
    t = np.tanh(x)
    d1 = 1 - t ** 2
    d2 = -2 * t * d1
    d3 = -2 * d1 ** 2 - 2 * t * d2
    d4 = -4 * d1 * d2 - 2 * d1 * d2 - 2 * t * d3
    e1 = _egrad(_tanh)
    e2 = _egrad(e1)
    e3 = _egrad(e2)
    e4 = _egrad(e3)
    assert np.allclose(e1(x), d1) and np.allclose(e2(x), d2)
    assert np.allclose(e3(x), d3, rtol=1e-10, atol=1e-12)
    assert np.allclose(e4(x), d4, rtol=1e-10, atol=1e-12)
    # and the third against central differences of the second, elementwise
    assert np.allclose(e3(x), (e2(x + 1e-5) - e2(x - 1e-5)) / 2e-5, atol=1e-8)


# --- examples/gmm.py: hessian_vector_product of a list built by appends in a loop ------------

def _sum_of_outer_squares(x):
    out = []
    for i in range(2):
        out.append(x[i] * x)
    return np.sum(np.vstack(out) ** 2)


def test_hessian_of_a_list_appended_in_a_loop():
    """The reverse pass pops the list it replays (``out.pop()``): forward mode over it
    (hessian, hvp) refused that statement of the generated code. ``f = (x . x)^2`` for
    two coordinates: ``H = 4 (x . x) I + 8 x x^T``."""
    x = np.array([1.0, 2.0])
    v = np.array([0.3, -0.5])
    H = 4 * (x @ x) * np.eye(2) + 8 * np.outer(x, x)
    assert np.allclose(hessian(_sum_of_outer_squares)(x), H)
    assert np.allclose(hvp(_sum_of_outer_squares)(x, v), H @ v)
    dfdx = grad(_sum_of_outer_squares)
    assert np.allclose(hessian(_sum_of_outer_squares)(x),
                       np.array([central(lambda y, i=i: dfdx(y)[i], x) for i in range(2)]),
                       atol=1e-6)


# --- examples/variational_autoencoder.py: rs.randn(*mean.shape) -----------------------------

def test_star_of_a_shape_in_a_call():
    """``rs.randn(*x.shape)``: a *args call whose starred value is a ``.shape`` passes no
    gradient; it was refused by the fence."""
    def f(x):
        rs = np.random.RandomState(0)
        return np.sum(rs.randn(*x.shape) * x ** 2)
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    r = np.random.RandomState(0).randn(2, 3)
    assert np.allclose(grad(f)(x), 2 * r * x)
    assert np.allclose(grad(f)(x), central(f, x))
    assert np.allclose(hessian(f)(x).reshape(6, 6), np.diag(2 * r.ravel()))


def test_star_call_with_a_differentiated_argument_is_refused():
    """The positions of the arguments are known at run time only: a differentiated one
    next to a star (``np.full(*x.shape, x[0])``, ``helper(x, *x.shape)``) is refused,
    never bound to the wrong parameter; ``x.reshape(*shape)`` stays refused as before."""
    def helper(y, a, b=0.0):
        return y * a + b

    def full(x):
        return np.sum(np.full(*x.shape, x[0]) ** 2)

    def user(x):
        return np.sum(helper(x, *x.shape) ** 2)

    def method(x):
        return np.sum(x.reshape(*x.shape) ** 2)
    x = np.array([1.0, 2.0, 3.0])
    for f in (full, user):
        with pytest.raises(MissingRuleError, match=r"\*args call with a differentiated"):
            grad(f)(x)
        with pytest.raises(MissingRuleError, match=r"\*args call with a differentiated"):
            jvp(f, (x,), (x,))
    with pytest.raises(UnsupportedSyntaxError):
        grad(method)(x)
    with pytest.raises(UnsupportedSyntaxError, match=r"\*args call"):
        grad(lambda x: np.sum(np.reshape(x, *x.shape[::-1])))(x)


# --- examples/ode_net.py: tuple((params,)) and a list of (W, b) in odeint's args ------------

def test_tuple_and_list_of_a_display():
    def f(x):
        t = tuple((x,))
        u = list((x, 2 * x))
        return np.sum(t[0] ** 2 * u[1])

    def g(p):
        t = tuple(p)  # not a display: builtins.tuple's rule
        return np.sum(t[0] ** 2)
    x = np.array([1.0, -2.0])
    assert np.allclose(grad(f)(x), 6 * x ** 2)
    assert np.allclose(hessian(f)(x), np.diag(12 * x))
    dg = grad(g)([x, x])
    assert isinstance(dg, list) and np.allclose(dg[0], 2 * x) and np.allclose(dg[1], 0.0)


def _layers(y, t, params):
    for W, b in params:
        y = np.tanh(np.dot(y, W) + b)
    return y


def test_odeint_with_nested_args():
    """``odeint(func, y0, t, (params,))`` with ``params`` a list of ``(W, b)``: the
    adjoint flattened the args one level only (a ValueError from inside)."""
    odeint = pytest.importorskip("scipy.integrate").odeint
    t = np.linspace(0.0, 0.5, 4)
    y0 = np.array([1.0, -0.5])
    rs = np.random.RandomState(0)
    params = [(rs.randn(2, 3) * 0.5, rs.randn(3) * 0.5),
              (rs.randn(3, 2) * 0.5, rs.randn(2) * 0.5)]

    def loss(W0, b1):
        p = [(W0, params[0][1]), (params[1][0], b1)]
        y = odeint(_layers, y0, t, args=(p,), rtol=1e-10, atol=1e-10)
        return np.sum(y ** 2)
    W0, b1 = params[0][0], params[1][1]
    gW, gb = grad(loss, wrt=(0, 1))(W0, b1)
    assert np.allclose(gW, central(lambda w: loss(w, b1), W0), atol=1e-6)
    assert np.allclose(gb, central(lambda b: loss(W0, b), b1), atol=1e-6)
    V = rs.randn(2, 3)
    assert np.isclose(jvp(lambda w: loss(w, b1), (W0,), (V,))[1], np.sum(gW * V), rtol=1e-6)

    def whole(p):
        return np.sum(odeint(_layers, y0, t, args=(p,), rtol=1e-10, atol=1e-10) ** 2)
    g = grad(whole)(params)
    assert [type(layer) for layer in g] == [tuple, tuple]
    assert np.allclose(g[0][0], gW, atol=1e-7) and np.allclose(g[1][1], gb, atol=1e-7)

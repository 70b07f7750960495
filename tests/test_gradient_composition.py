"""Gradients composed with gradients and with containers (found by running autograd's own
test suite against sourcediff, scripts/peer_suite/): a gradient held in a name
(``df = grad(f)``) called inside differentiated code, to order 3; the vjp of a gradient
whose container argument gets no cotangent; the vjp of a gradient through ``np.vstack``
of an array; the tangent of a gradient with respect to a list of arrays of different
shapes. Each against hand-computed derivatives and central differences."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

try:
    import scipy.stats
except ImportError:  # pragma: no cover - SciPy is optional
    scipy = None

from checks import fd
from sourcediff import ArgumentError, grad, hessian, jvp, vjp
from sourcediff.runtime.numeric_shape import unjoin


# --- a gradient held in a name, called inside differentiated code -------------------------
def cubic_cos(x):
    return x ** 2 * np.cos(x)


def d1(x):  # hand-computed derivatives of x^2 cos x
    return 2 * x * np.cos(x) - x ** 2 * np.sin(x)


def d2(x):
    return 2 * np.cos(x) - 4 * x * np.sin(x) - x ** 2 * np.cos(x)


def d3(x):
    return -6 * np.sin(x) - 6 * x * np.cos(x) + x ** 2 * np.sin(x)


def d4(x):
    return -12 * np.cos(x) + 8 * x * np.sin(x) + x ** 2 * np.cos(x)


HELD_DEF = grad(cubic_cos)
HELD_LAMBDA = grad(lambda x: x ** 2 * np.cos(x))
HELD_KEYWORD = grad(lambda a, b=2.0: a * b)


def scaled_by_held_def(x):
    return 1.5 * HELD_DEF(x)


def times_held_lambda(x):
    return x * HELD_LAMBDA(x)


@pytest.mark.parametrize("x", [0.4, -1.3])
def test_a_held_gradient_called_inside_differentiated_code(x):
    """``1.5 f'(x)`` and ``x f'(x)``: order 1 and 2 in reverse and forward mode."""
    np.testing.assert_allclose(grad(scaled_by_held_def)(x), 1.5 * d2(x), rtol=1e-12)
    np.testing.assert_allclose(grad(scaled_by_held_def)(x), fd(scaled_by_held_def, x),
                               rtol=1e-6)
    want = d1(x) + x * d2(x)
    np.testing.assert_allclose(grad(times_held_lambda)(x), want, rtol=1e-12)
    np.testing.assert_allclose(grad(times_held_lambda)(x), fd(times_held_lambda, x), rtol=1e-6)
    np.testing.assert_allclose(jvp(times_held_lambda, (x,), (1.0,))[1], want, rtol=1e-12)
    want2 = 2 * d2(x) + x * d3(x)
    for value in (grad(grad(times_held_lambda))(x), hessian(times_held_lambda)(x),
                  vjp(grad(times_held_lambda), x)[1](1.0)[0]):
        np.testing.assert_allclose(value, want2, rtol=1e-10)
    np.testing.assert_allclose(grad(grad(times_held_lambda))(x),
                               fd(grad(times_held_lambda), x, 1e-5), rtol=1e-6)


def test_gradients_of_lambdas_calling_gradients_of_lambdas_to_order_four():
    """Each order a lambda calling the gradient of the one before, as a name."""
    first = grad(lambda x: x ** 2 * np.cos(x))
    second = grad(lambda x: first(x))
    third = grad(lambda x: second(x))
    fourth = grad(lambda x: third(x))
    for x in (0.3, 2.1):
        for fn, want in ((first, d1), (second, d2), (third, d3), (fourth, d4)):
            np.testing.assert_allclose(fn(x), want(x), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(third(x), fd(second, x, 1e-5), rtol=1e-6)
        np.testing.assert_allclose(fourth(x), fd(third, x, 1e-5), rtol=1e-6)
        np.testing.assert_allclose(grad(third)(x), d4(x), rtol=1e-10)


def test_a_gradient_has_its_functions_signature():
    """So a call of it inside differentiated code is bound as a call of the function."""
    f = lambda a, b=2.0: a * b  # noqa: E731
    assert inspect.signature(grad(f)) == inspect.signature(f)

    def uses(x):
        return HELD_KEYWORD(x, b=x) * x  # d/da (a b) = b: d/dx x^2 = 2x

    for x in (0.7, -1.2):
        np.testing.assert_allclose(grad(uses)(x), 2 * x, rtol=1e-12)
        np.testing.assert_allclose(grad(uses)(x), fd(uses, x), rtol=1e-8)


# --- vjp of a gradient: a container argument that gets no cotangent -----------------------
def lookup(d, x):
    return d.get("a", x) ** 2


def through_lookup(d, x):
    return np.sin(lookup(d, x))


@pytest.mark.parametrize("d", [{}, {"b": 1.0, "c": -2.0}, {"a": 0.5, "b": 3.0}])
def test_vjp_of_a_gradient_with_a_dict_argument(d):
    """d/dx (and d/d d["a"]) of sin(v^2): 2v cos(v^2); the second derivative
    2 cos(v^2) - 4 v^2 sin(v^2), v = d.get("a", x)."""
    x = 0.8
    g = grad(through_lookup, wrt=(0, 1))
    out, pull = vjp(g, d, x)
    v = d.get("a", x)
    second = 2 * np.cos(v * v) - 4 * v * v * np.sin(v * v)
    cd = {k: 1.0 for k in d}
    ct_d, ct_x = pull((cd, 1.0))
    assert set(ct_d) == set(d)
    if "a" in d:
        np.testing.assert_allclose(out[0]["a"], 2 * v * np.cos(v * v), rtol=1e-12)
        np.testing.assert_allclose(ct_d["a"], second, rtol=1e-12)
        assert ct_x == 0.0
    else:
        np.testing.assert_allclose(out[1], 2 * v * np.cos(v * v), rtol=1e-12)
        np.testing.assert_allclose(ct_x, second, rtol=1e-12)
        np.testing.assert_allclose(ct_x, fd(lambda t: g(d, t)[1], x, 1e-5), rtol=1e-6)
    assert all(ct_d[k] == 0.0 for k in d if k != "a")


# --- vjp of a gradient through np.vstack (and friends) of an array -------------------------
W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def stacked(a):
    return np.sum(W * np.vstack(a) ** 3)


def stacked_in_call(a):
    return np.sum(np.cos(inner_stack(a)))


def inner_stack(a):
    return np.column_stack(a) * W.T


@pytest.mark.parametrize("f", [stacked, stacked_in_call])
def test_vjp_of_a_gradient_through_a_join_of_an_array(f):
    """np.vstack(a) and np.column_stack(a) read an array's rows: the cotangent of ``a``
    is an array, so the gradient's vjp (the Hessian times v) takes an array."""
    a = np.array([[0.3, -0.7, 1.1], [0.9, 0.2, -0.4]])
    g = grad(f)(a)
    assert type(g) is np.ndarray and g.shape == a.shape
    np.testing.assert_allclose(g, fd(f, a), rtol=1e-6, atol=1e-9)
    v = np.arange(6.0).reshape(2, 3) - 2.0
    out, pull = vjp(grad(f), a)
    (hv,) = pull(v)
    H = fd(grad(f), a, 1e-5).reshape(6, 6)
    np.testing.assert_allclose(hv.ravel(), H.T @ v.ravel(), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("join, how", [(np.vstack, "v"), (np.hstack, "h"),
                                       (np.dstack, "d"), (np.column_stack, "c")])
def test_the_cotangent_of_a_joined_array_is_an_array(join, how):
    a = np.arange(6.0).reshape(2, 3)
    out = join(a)
    parts = unjoin(np.ones(out.shape) * 2.0, a, how)
    assert type(parts) is np.ndarray and parts.shape == a.shape
    listed = unjoin(np.ones(join([a[0], a[1]]).shape), [a[0], a[1]], how)
    assert type(listed) is list and [p.shape for p in listed] == [(3,), (3,)]


# --- the tangent of a gradient with respect to a list of arrays of different shapes --------
def ragged(xs):
    return np.sum(np.sin(xs[0])) + np.sum(xs[1] ** 3)


def test_tangent_of_a_gradient_with_respect_to_a_ragged_list():
    xs = [np.array([[0.2, -0.5], [1.0, 0.4]]), np.array([0.3, -1.2, 0.8])]
    vs = [np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([0.5, 1.0, -2.0])]
    g, t = jvp(grad(ragged), (xs,), (vs,))
    np.testing.assert_allclose(g[0], np.cos(xs[0]), rtol=1e-12)
    np.testing.assert_allclose(t[0], -np.sin(xs[0]) * vs[0], rtol=1e-12)
    np.testing.assert_allclose(t[1], 6 * xs[1] * vs[1], rtol=1e-12)
    h = 1e-5
    plus = grad(ragged)([x + h * v for x, v in zip(xs, vs)])
    minus = grad(ragged)([x - h * v for x, v in zip(xs, vs)])
    for k in range(2):
        np.testing.assert_allclose(t[k], (plus[k] - minus[k]) / (2 * h), rtol=1e-6, atol=1e-9)


# --- a function of a gradient that reads some of a dict's items, or stacks a tuple's ------
def weighted(p):
    return np.sum(np.sin(p["w"]) * p["b"]) + np.sum(p["c"] ** 2)


def reads_one_item(p):
    g = grad(weighted)(p)  # {"w": cos(w) b, "b": sin(w), "c": 2c}
    return np.sum(g["w"] ** 2) + np.sum(g["b"])


def test_grad_of_a_function_reading_some_items_of_a_dict_gradient():
    p = {"w": np.array([0.3, -1.1]), "b": np.array([2.0, 0.5]), "c": np.array([1.5])}
    got = grad(reads_one_item)(p)
    w, b = p["w"], p["b"]
    # d/dw [(cos w b)^2 + sin w] = -2 cos w sin w b^2 + cos w; d/db = 2 cos^2 w b
    np.testing.assert_allclose(got["w"], -2 * np.cos(w) * np.sin(w) * b ** 2 + np.cos(w),
                               rtol=1e-12)
    np.testing.assert_allclose(got["b"], 2 * np.cos(w) ** 2 * b, rtol=1e-12)
    np.testing.assert_allclose(got["c"], 0.0)
    for k in p:
        part = lambda t, k=k: reads_one_item({**p, k: t})  # noqa: E731
        np.testing.assert_allclose(got[k], fd(part, p[k]), rtol=1e-6, atol=1e-9)


def pair_product(y):
    return y[0] * y[1] ** 2


def stacks_a_tuple_gradient(x):
    # the gradient (y1^2, 2 y0 y1) at (x, x) is (x^2, 2 x^2): sin(x^2) + sin(2 x^2)
    return np.sum(np.sin(np.array(grad(pair_product)((x, x)))))


def s1(x):
    return 2 * x * np.cos(x * x) + 4 * x * np.cos(2 * x * x)


def s2(x):
    return (2 * np.cos(x * x) - 4 * x * x * np.sin(x * x) + 4 * np.cos(2 * x * x)
            - 16 * x * x * np.sin(2 * x * x))


def s3(x):
    return (-12 * x * np.sin(x * x) - 8 * x ** 3 * np.cos(x * x) - 48 * x * np.sin(2 * x * x)
            - 64 * x ** 3 * np.cos(2 * x * x))


def outer_of_stacked(x):
    return 0.3 * DERIVATIVE_OF_STACKED(x)


DERIVATIVE_OF_STACKED = grad(stacks_a_tuple_gradient)


@pytest.mark.parametrize("x", [0.7, -1.1])
def test_the_gradient_of_a_tuple_gets_an_array_cotangent(x):
    """np.array(g) of a tuple gradient ``g``: its cotangent is an array, at order 2 (vjp
    of the gradient) and 3 (the tape over generated code calling that gradient)."""
    g = grad(stacks_a_tuple_gradient)
    np.testing.assert_allclose(g(x), s1(x), rtol=1e-12)
    np.testing.assert_allclose(vjp(g, x)[1](1.0)[0], s2(x), rtol=1e-10)
    np.testing.assert_allclose(grad(g)(x), s2(x), rtol=1e-10)
    np.testing.assert_allclose(grad(g)(x), fd(g, x, 1e-5), rtol=1e-6)
    h = grad(outer_of_stacked)
    np.testing.assert_allclose(h(x), 0.3 * s2(x), rtol=1e-10)
    np.testing.assert_allclose(vjp(h, x)[1](1.0)[0], 0.3 * s3(x), rtol=1e-9)
    np.testing.assert_allclose(vjp(h, x)[1](1.0)[0], fd(h, x, 1e-5), rtol=1e-6)


# --- vjp of a gradient with respect to nested lists: a helper reads a list for its shape --
C3 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [0.3, 0.6, -0.9]])


def appended(a, b):
    return np.sum(C3 * np.append(a, b, axis=0))  # linear: the second derivative is zero


def sin_appended(a, b):
    return np.sum(C3 * np.sin(np.append(a, b, axis=0)))


def test_vjp_of_a_gradient_with_respect_to_nested_lists():
    A = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    B = [[7.0, 8.0, 9.0]]
    ones = ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], [[1.0, 1.0, 1.0]])
    out, pull = vjp(grad(appended, wrt=(0, 1)), A, B)
    np.testing.assert_allclose(np.vstack([*out[0], *out[1]]), C3)
    np.testing.assert_allclose(np.vstack([*pull(ones)[0], *pull(ones)[1]]), 0.0)
    out, pull = vjp(grad(sin_appended, wrt=(0, 1)), A, B)
    stacked = np.vstack([A, B])
    np.testing.assert_allclose(np.vstack([*out[0], *out[1]]), C3 * np.cos(stacked), rtol=1e-12)
    ca, cb = pull(ones)
    np.testing.assert_allclose(np.vstack([*ca, *cb]), -C3 * np.sin(stacked), rtol=1e-12)


# --- the tape over generated code: grad(f)(x) made there, a SciPy distribution's method ---
def exp_energy(a):
    return np.sum(np.exp(a) * a)


def sine_of_inline_gradient(a):
    return 0.5 * np.sum(np.sin(grad(exp_energy)(a)))  # grad made where it is called


ALPHA = np.array([1.5, 2.0, 3.0])


def dirichlet_density(x):
    return 2.0 * scipy.stats.dirichlet.pdf(x / np.sum(x), ALPHA)


@pytest.mark.parametrize("f, x", [(sine_of_inline_gradient, np.array([0.3, -0.2, 0.5])),
                                  pytest.param(dirichlet_density, np.array([0.2, 0.3, 0.5]),
                                               marks=pytest.mark.skipif(scipy is None,
                                                                        reason="SciPy"))])
def test_vjp_of_a_gradient_through_code_the_tape_runs(f, x):
    """vjp(grad(f)) runs f's generated code on the tape: a gradient made inside it and
    scipy.stats.dirichlet.pdf (read through two attributes) record their rules."""
    g = grad(f)
    np.testing.assert_allclose(g(x), fd(f, x), rtol=1e-6)
    v = np.array([1.0, -0.5, 2.0])
    np.testing.assert_allclose(vjp(g, x)[1](v)[0], fd(g, x, 1e-5).T @ v, rtol=1e-6)


# --- a NumPy function passed as a value (a parameter's default): its rule ----------------
BASE = np.array([1.5, 0.5, 2.0])


def reduced_by(a, r=np.sum):
    return r(np.exp(a) * BASE)


def mapped_by(a, r=np.sin):
    return np.sum(r(a) * BASE)


def calls_reduced_by(a):
    return reduced_by(a, np.max) + mapped_by(a)


def test_a_library_function_passed_as_a_value():
    """``r(x)`` with ``r`` a parameter holding np.sum, np.max or np.sin: the call goes
    through the function's rule, at order 1 and 2 (reverse over reverse included)."""
    a = 0.7
    np.testing.assert_allclose(grad(reduced_by)(a), np.exp(a) * 4.0, rtol=1e-12)
    np.testing.assert_allclose(hessian(reduced_by)(a), np.exp(a) * 4.0, rtol=1e-12)
    x = np.array([0.7, -0.2, 0.4])
    want = np.cos(x) * BASE
    np.testing.assert_allclose(grad(mapped_by)(x), want, rtol=1e-12)
    np.testing.assert_allclose(jvp(mapped_by, (x,), (np.ones(3),))[1], np.sum(want), rtol=1e-12)
    np.testing.assert_allclose(hessian(mapped_by)(x), np.diag(-np.sin(x) * BASE), atol=1e-12)
    g = grad(calls_reduced_by)  # max(exp(a) BASE) = 2 exp(a) at a scalar a
    np.testing.assert_allclose(g(a), 2 * np.exp(a) + np.sum(np.cos(a) * BASE), rtol=1e-12)
    np.testing.assert_allclose(vjp(g, a)[1](1.0)[0], fd(g, a, 1e-5), rtol=1e-6)


# --- a gradient of a gradient called inside differentiated code, differentiated twice ----
SECOND_OF_STACKED = grad(grad(stacks_a_tuple_gradient))


def scaled_second(x):
    return 0.3 * SECOND_OF_STACKED(x)


def s4(x):  # the fourth derivative of sin(x^2) + sin(2 x^2), by hand
    return (-12 * np.sin(x * x) - 48 * x * x * np.cos(x * x) + 16 * x ** 4 * np.sin(x * x)
            - 48 * np.sin(2 * x * x) - 384 * x * x * np.cos(2 * x * x)
            + 256 * x ** 4 * np.sin(2 * x * x))


@pytest.mark.parametrize("x", [0.7, -0.4])
def test_second_derivative_through_a_call_of_a_gradient_of_a_gradient(x):
    """0.3 f''(x) with f'' = grad(grad(f)) called inside: order 1 (0.3 f''') and order 2
    (0.3 f'''') by forward over reverse (the derivative's view) and reverse over reverse."""
    g = grad(scaled_second)
    np.testing.assert_allclose(g(x), 0.3 * s3(x), rtol=1e-10)
    for value in (hessian(scaled_second)(x), jvp(g, (x,), (1.0,))[1], vjp(g, x)[1](1.0)[0]):
        np.testing.assert_allclose(value, 0.3 * s4(x), rtol=1e-9)
    np.testing.assert_allclose(hessian(scaled_second)(x), fd(g, x, 1e-4), rtol=1e-6)


# --- dict(...) of a display: the dict display itself ------------------------------------------
def built_by_dict(x):
    d = dict([("a", x * x), ("c", 2.0)], b=np.sin(x))
    e = dict({"u": d["a"]}, v=d["b"])
    return e["u"] + e["v"] * d["c"]  # x^2 + 2 sin x


def dict_output(x):
    return dict([("a", x)], b=x * x)


def test_dict_of_a_display():
    for x in (0.7, -1.3):
        np.testing.assert_allclose(grad(built_by_dict)(x), 2 * x + 2 * np.cos(x), rtol=1e-12)
        np.testing.assert_allclose(grad(built_by_dict)(x), fd(built_by_dict, x), rtol=1e-7)
        np.testing.assert_allclose(hessian(built_by_dict)(x), 2 - 2 * np.sin(x), rtol=1e-12)
        out, pull = vjp(dict_output, x)
        assert out == {"a": x, "b": x * x}
        np.testing.assert_allclose(pull({"a": 1.0, "b": 0.5})[0], 1.0 + x, rtol=1e-12)
        np.testing.assert_allclose(jvp(dict_output, (x,), (1.0,))[1]["b"], 2 * x, rtol=1e-12)


def scaled(a, r=2.0):
    return a * r


def calls_a_value(x, fn=scaled):
    return fn(x)  # scaled's default r is left out, in a call of a value


def test_a_call_through_a_value_leaving_out_a_default_is_a_clear_error():
    with pytest.raises(ArgumentError, match="leaving out its parameter 'r'"):
        grad(calls_a_value)(0.7)

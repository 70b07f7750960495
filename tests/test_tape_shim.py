"""The tape on code written for the compiler: math.*, float(), arrays built in place.

The tape runs a copy of the differentiated function that sees ``math``,
``numpy`` and ``float`` replaced (sourcediff/tape/shim.py). Every pattern here
is checked against central finite differences and, where short, hand values.
"""

import functools
import math
import math as m
from math import exp as e
from math import sin

import numpy as np
import pytest
from numpy import array as make_array
from numpy import zeros

from conftest import fd
from sourcediff import stop_gradient, tape
from sourcediff.errors import MissingRuleError
from sourcediff.values.markers import no_grad
from sourcediff.tape import Tracer, TracerConversionError

rng = np.random.default_rng(7)


def check(f, x, rtol=1e-6, atol=1e-8):
    got = tape.grad(f)(x)
    np.testing.assert_allclose(got, fd(f, (x,), 0), rtol=rtol, atol=atol)
    return got


# --- math.* ----------------------------------------------------------------------------------

def math_everything(x):
    a = math.sin(x) * math.cos(x) + math.tan(x / 3) + math.exp(x / 2) + math.expm1(x / 4)
    b = math.log(x) + math.log(x, 3.0) + math.log2(x) + math.log10(x) + math.log1p(x)
    c = math.sqrt(x) + math.pow(x, 1.5) + math.atan(x) + math.atan2(x, 2.0)
    d = math.asin(x / 4) + math.acos(x / 4) + math.sinh(x) * math.cosh(x) + math.tanh(x)
    return a + b + c + d + math.erf(x) + math.hypot(x, 1.0) + math.fabs(x - 3.0)


def test_every_math_function_with_a_rule():
    for x in (0.4, 1.3, 2.2):
        check(math_everything, x, rtol=1e-6)


def test_math_hand_value_and_float_result():
    g = tape.grad(lambda x: math.sin(x) * math.exp(x))(0.5)
    assert type(g) is float
    assert g == pytest.approx(math.cos(0.5) * math.exp(0.5) + math.sin(0.5) * math.exp(0.5))


def aliases(x):
    return sin(x) * e(x) + m.cos(x)


def test_math_under_other_names():
    assert tape.grad(aliases)(0.7) == pytest.approx(
        math.cos(0.7) * math.exp(0.7) + math.sin(0.7) * math.exp(0.7) - math.sin(0.7))


def _helper_same_module(x):
    return math.exp(x) * 2.0


def uses_helper(x):
    return _helper_same_module(x) + math.sqrt(x)


def factorial_like(x, n):
    return x if n == 0 else math.sin(factorial_like(x, n - 1))


def test_helpers_of_the_same_module_and_recursion():
    assert tape.grad(uses_helper)(1.2) == pytest.approx(2 * math.exp(1.2) + 0.5 / math.sqrt(1.2))
    check(lambda x: factorial_like(x, 3), 0.8)


def test_lambdas_and_comprehensions_inside_see_math_too():
    def f(x):
        return sum([math.sin(x * k) for k in range(1, 4)]) + (lambda v: math.exp(v))(x)
    check(f, 0.3)


def test_math_second_derivative():
    # d2/dx2 [sin(x) exp(x)] = 2 cos(x) exp(x)
    h = tape.grad(tape.grad(lambda x: math.sin(x) * math.exp(x)))(0.5)
    assert h == pytest.approx(2 * math.cos(0.5) * math.exp(0.5), rel=1e-10)


def test_math_with_control_flow_and_vjp():
    def f(x):
        return math.exp(x) if x < 0 else math.sqrt(x) * x
    assert tape.grad(f)(-1.0) == pytest.approx(math.exp(-1.0))
    assert tape.grad(f)(4.0) == pytest.approx(1.5 * 2.0)
    out, pullback = tape.vjp(lambda x: math.sin(x) * 3.0, 0.2)
    assert out == pytest.approx(3 * math.sin(0.2))
    assert pullback(2.0)[0] == pytest.approx(6 * math.cos(0.2))


def test_math_on_plain_values_inside_is_math():
    def f(x):
        return x * math.pi + math.sqrt(4.0) + math.floor(x) + (not math.isnan(x))
    assert tape.grad(f)(1.5) == pytest.approx(math.pi)


def test_math_without_rule_names_it():
    with pytest.raises(MissingRuleError, match="math.gamma"):
        tape.grad(lambda x: math.gamma(x))(1.5)


# --- float() ---------------------------------------------------------------------------------

def test_float_of_traced_value_records():
    def f(x):
        return float(np.sum(x ** 2)) * 3.0
    x = rng.normal(size=3)
    np.testing.assert_allclose(tape.grad(f)(x), 6 * x)
    assert tape.grad(lambda v: float(v) ** 3)(2.0) == pytest.approx(12.0)
    assert tape.grad(tape.grad(lambda v: float(v) ** 3))(2.0) == pytest.approx(12.0)


def float_also_as_type(x):
    if isinstance(x, float):     # the name is used as a type here: float stays builtins.float
        return x
    return float(x) * 2.0


def test_float_used_also_as_a_type_is_not_replaced():
    with pytest.raises(TracerConversionError):
        tape.grad(float_also_as_type)(np.array(1.0))


# --- arrays built inside the function ----------------------------------------------------------

def fill_buffer(x):
    y = np.zeros(4)
    for i in range(4):
        y[i] = x[i] * (i + 1.0)
    y[0] += x[3] ** 2
    y[1:3] *= x[:2]
    return np.sum(np.sin(y))


def fill_2d(x):
    M = np.ones((2, 3))
    M[0] = x
    M[1, :] = x ** 2
    M[:, 0] = M[:, 0] * 3.0
    return np.sum(M ** 2)


def other_creators(x):
    a = np.empty(2)
    a[0], a[1] = x[0], 1.0
    b = np.full(3, x[1])
    c = np.full_like(x, 2.0)
    c[2] = x[2] * x[0]
    d = np.eye(3)
    d[1, 1] = x[1]
    f = np.copy(np.arange(3.0))
    f[0] = x[2]
    g = np.linspace(0.0, 1.0, 3)
    g[2] = np.tanh(x[0])
    return np.sum(a ** 2) + np.sum(b * x) + np.sum(c) + np.sum(d @ x) + f @ x + np.sum(g ** 3)


def imported_creators(x):
    y = zeros(2)
    y[1] = x[0] * x[1]
    return np.sum(y) + np.sum(make_array([x[0], 2.0]) ** 2)


@pytest.mark.parametrize("f", [fill_buffer, fill_2d, other_creators, imported_creators])
def test_storing_traced_values_into_new_arrays(f):
    check(f, rng.normal(size=3) if f is not fill_buffer else rng.normal(size=4))


def test_store_hand_value():
    def f(x):
        y = np.zeros(3)
        y[0] = x[1] * 2.0
        y[1:] = x[:2] ** 2
        return np.sum(y * y)
    x = np.array([1.0, 2.0, 3.0])
    # y = [2 x1, x0^2, x1^2]: d/dx0 = 4 x0^3, d/dx1 = 8 x1 + 4 x1^3
    np.testing.assert_allclose(tape.grad(f)(x), [4.0, 16.0 + 32.0, 0.0])


def test_aliases_of_a_buffer_see_the_store():
    def f(x):
        y = np.zeros(3)
        z = y
        z[0] = x[0] * 3.0
        return np.sum(y) + np.sum(x)
    np.testing.assert_allclose(tape.grad(f)(np.ones(3)), [4.0, 1.0, 1.0])


def test_buffer_methods_and_conversions_of_constants():
    def f(x):
        y = np.zeros(3)
        scale = float(np.ones(2)[0]) + np.asarray(np.ones(2)).sum() + len(y.tolist())
        y.fill(x)
        return np.sum(y) * scale
    assert tape.grad(f)(2.0) == pytest.approx(3 * 6.0)


def test_constant_buffer_dot_and_rule_free_functions():
    def f(x):
        A = np.eye(2) * 2.0
        B = np.linalg.inv(A)            # no rule for inv, but A is a constant
        return np.sum(A.dot(x)) + np.sum(B.dot(x))
    np.testing.assert_allclose(tape.grad(f)(np.ones(2)), [2.5, 2.5])


def test_integer_arrays_stay_plain():
    seen = []

    def f(x):
        idx = np.zeros(2, dtype=int)
        seen.append(type(idx))
        return x[idx[0]] * 2.0
    np.testing.assert_allclose(tape.grad(f)(np.ones(2)), [2.0, 0.0])
    assert seen == [np.ndarray]


def test_creators_are_plain_outside_a_trace_and_inside_no_grad():
    kinds = []

    def f(x):
        kinds.append(type(np.zeros(2)))
        with no_grad():
            kinds.append(type(np.zeros(2)))
        return x * 1.0
    tape.grad(f)(1.0)
    assert kinds == [Tracer, np.ndarray]
    kinds.clear()
    f(1.0)
    assert kinds == [np.ndarray, np.ndarray]


def test_buffer_in_second_derivative():
    def f(x):
        y = np.zeros(2)
        y[0] = x ** 3
        y[1] = math.sin(x)
        return np.sum(y)
    assert tape.grad(tape.grad(f))(0.7) == pytest.approx(6 * 0.7 - math.sin(0.7))


# --- lists of traced values ---------------------------------------------------------------------

def lists(x):
    v = np.array([x[0], 2.0 * x[1], x[0] * x[1]])
    w = np.asarray([[x[0], 1.0], [x[1], x[0]]], dtype=float)
    return np.sum(v ** 2) + np.sum(w @ w) + np.sum([x * x, x]) + np.mean([x[0], x[1] ** 2])


def test_arrays_from_lists_of_traced_values():
    check(lists, rng.normal(size=2))


def test_asarray_of_traced_value_is_itself():
    def f(x):
        return np.sum(np.asarray(x) * np.ascontiguousarray(x) + np.array(x))
    x = rng.normal(size=3)
    np.testing.assert_allclose(tape.grad(f)(x), 2 * x + 1)


# --- plain arrays passed in -------------------------------------------------------------------

def test_plain_argument_dot_traced():
    W, X = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))

    def loss(W, X):
        return np.sum(np.tanh(X.dot(W)) ** 2) + X[0].dot(W[:, 0]) + np.sum(X.T.T.dot(W))
    got = tape.grad(loss)(W, X)
    np.testing.assert_allclose(got, fd(lambda w: loss(w, X), (W,), 0), rtol=1e-6, atol=1e-8)


def test_plain_argument_keeps_memory_and_aux_is_plain():
    X = np.zeros(2)

    def f(w, X):
        X[0] = 5.0                      # a plain store into the caller's array
        return np.sum(X * w), X
    (value, aux), g = tape.value_and_grad(f, has_aux=True)(np.ones(2), X)
    assert X[0] == 5.0 and type(aux) is np.ndarray and value == 5.0
    np.testing.assert_allclose(g, [5.0, 0.0])


# --- the copy of the function ----------------------------------------------------------------

SCALE = 1.0


def scaled(x):
    return SCALE * math.sin(x)


def test_globals_are_read_live():
    global SCALE
    g = tape.grad(scaled)
    assert g(0.0) == pytest.approx(1.0)
    SCALE = 3.0
    try:
        assert g(0.0) == pytest.approx(3.0)
    finally:
        SCALE = 1.0


COUNTER = 0


def writes_a_global(x):
    global COUNTER
    COUNTER += 1
    return np.sin(x)


def test_functions_that_assign_globals_run_unchanged():
    before = COUNTER
    assert tape.grad(writes_a_global)(0.0) == pytest.approx(1.0)
    assert COUNTER == before + 1


class Model:
    def __init__(self, k):
        self.k = k

    def energy(self, x):
        return self.k * math.cos(x)


def test_bound_methods_and_partials():
    assert tape.grad(Model(2.0).energy)(0.3) == pytest.approx(-2 * math.sin(0.3))
    part = functools.partial(lambda k, x: k * math.exp(x), 3.0)
    assert tape.grad(part)(0.0) == pytest.approx(3.0)


def test_stop_gradient_still_cuts():
    assert tape.grad(lambda x: math.sin(stop_gradient(x)) + x)(0.3) == 1.0


def test_user_function_itself_is_untouched():
    f = scaled
    tape.grad(f)(0.1)
    assert f.__globals__ is globals() and scaled(0.5) == pytest.approx(math.sin(0.5))

"""Scalar code runs in Python floats (sourcediff/transforms/pyfloats.py): the entry code
of a gradient of Python scalars makes NumPy's float64 scalar results Python floats.

Checked here: gradients against central differences at order 1 and 2 on scalar code
written as people write it; the converted code gives the same bits as the code as it was
(the adjoint run by the slow path, never converted); where Python raises or turns
complex (a division by zero, an overflow, a negative base to a fractional power) the
result is still NumPy's inf or nan; integer results stay integers; np.float64 arguments
and the other transforms stay right.
"""

from __future__ import annotations

import inspect
import math
import struct
import warnings

import gast
import numpy as np
import pytest

import sourcediff as sd
from sourcediff.ir import codegen
from sourcediff.ir import nodes as N
from sourcediff.transforms import pyfloats


def logistic(w, b, x, t, lam):
    z = w * x + b
    y = 1.0 / (1.0 + np.exp(-z))
    return 0.5 * (y - t) ** 2 + 0.5 * lam * w ** 2


def cross_entropy(w, b, x, t):
    p = 1.0 / (1.0 + np.exp(-(w * x + b)))
    return -(t * np.log(p) + (1.0 - t) * np.log(1.0 - p))


def tanh_layer(a, c):
    h = np.tanh(a * 0.7 + c)
    r = np.sqrt(h * h + a * a)
    return r / (1.0 + c * c) + h ** 3


def powers(x, y):
    s = np.exp(x) / (1.0 + np.exp(y))
    return s ** 2 + (x * y) ** 3 / 7.0 + np.sqrt(s) ** 1.5


def recurrence(a, b):
    h = 0.5
    for _ in range(6):
        h = np.tanh(a * h + b)
    return h * h


def mixed_math(x, y):
    u = math.sin(x) * np.exp(-y)
    v = np.log1p(u * u) / (2.0 + math.cos(y))
    return v + math.sqrt(1.0 + x * x) * np.tanh(u)


def updates(w, lr):
    for k in range(4):
        g = np.tanh(w) - 0.25
        w = w - lr * g / (k + 1.0)
    return w * w


CASES = [(logistic, (0.3, 0.1, 2.0, 1.0, 0.01), (0, 1)),
         (cross_entropy, (0.4, -0.3, 1.5, 1.0), (0, 1)),
         (tanh_layer, (0.6, -0.2), (0, 1)),
         (powers, (0.3, 0.7), (0, 1)),
         (recurrence, (0.8, 0.1), (0, 1)),
         (mixed_math, (0.5, 0.4), (0, 1)),
         (updates, (0.9, 0.3), (0, 1))]


def bits(v):
    """A float's bits (nan included), so equality is bit for bit."""
    return struct.pack("<d", v)


def central(f, args, i, h=1e-6):
    hi, lo = list(args), list(args)
    hi[i] += h
    lo[i] -= h
    return (f(*hi) - f(*lo)) / (2 * h)


def converted(g):
    """The code the gradient runs, once it is installed."""
    return inspect.getsource(g)


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradient_is_right_and_in_python_floats(f, args, wrt):
    g = sd.grad(f, wrt=wrt)
    first = g(*args)
    assert "float(np." in converted(g)  # (the conversion is in the code that runs)
    again = g(*args)
    for k, i in enumerate(wrt):
        assert type(again[k]) is float
        assert again[k] == pytest.approx(central(f, args, i), rel=1e-6, abs=1e-9)
        assert bits(again[k]) == bits(first[k])


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_second_order(f, args, wrt):
    """Central differences of the converted gradient against the Hessian, and the
    Hessian against second differences of ``f``."""
    g = sd.grad(f, wrt=wrt)
    g(*args)
    hess = sd.hessian(f, wrt=wrt)(*args)
    for r, i in enumerate(wrt):
        for c, j in enumerate(wrt):
            of_grad = central(lambda *a, r=r: g(*a)[r], args, j, h=1e-5)
            second = central(lambda *a, i=i: central(f, a, i, h=1e-4), args, j, h=1e-4)
            assert float(hess[r][c]) == pytest.approx(of_grad, rel=1e-5, abs=1e-7)
            assert float(hess[r][c]) == pytest.approx(second, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
@pytest.mark.parametrize("shift", [0.0, 0.37, -1.3])
def test_bits_equal_the_code_as_it_was(f, args, wrt, shift):
    """The slow path runs the adjoint itself, never converted: the same bits."""
    g = sd.value_and_grad(f, wrt=wrt)
    g(*args)
    point = tuple(a + shift if isinstance(a, float) else a for a in args)
    value, grads = g(*point)
    value0, grads0 = g.__sourcediff_state__(*point)
    assert type(value) is type(value0)
    assert bits(value) == bits(value0)
    assert [bits(x) for x in grads] == [bits(x) for x in grads0]


def reciprocal(x):
    e = np.exp(x)
    return 1.0 / (e - 1.0)


def cube_of_exp(x):
    return np.exp(x) ** 3 / 3.0


def fractional(x):
    return np.tanh(x) ** 1.5


@pytest.mark.parametrize("f, x, where", [
    (reciprocal, 0.0, "division by zero"),     # Python: ZeroDivisionError; NumPy: inf
    (cube_of_exp, 400.0, "overflow"),        # Python: OverflowError; NumPy: inf
    (fractional, -0.5, "negative base"),       # Python: complex; NumPy: nan
])
def test_non_finite_points_give_numpys_result(f, x, where):
    g = sd.grad(f)
    g(0.25)
    assert "float(np." in converted(g)
    exact, reran = g.__globals__["_sd_exact"], []
    g.__globals__["_sd_exact"] = lambda *a: reran.append(a) or exact(*a)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = g(x)                       # no exception
            want = g.__sourcediff_state__(x)  # the code as it was
    finally:
        g.__globals__["_sd_exact"] = exact
    assert type(got) is float
    assert bits(got) == bits(want)
    assert not math.isfinite(got), where
    # Python raised (or the gradient is nan: its power, that Python could have made
    # complex, computed in NumPy), and the code as it was ran instead
    assert reran == [(x,)]
    assert g(0.3) == pytest.approx(central(f, (0.3,), 0), rel=1e-6)


def test_negative_base_to_a_fractional_power_stays_in_numpy():
    g = sd.grad(fractional)
    g(0.25)
    assert "_sd_f64(" in converted(g)  # (a float64 again: NumPy's power, never complex)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert math.isnan(g(-0.5))
    assert g(0.4) == pytest.approx(central(fractional, (0.4,), 0), rel=1e-6)


def python_zero_division(x, y):
    return np.exp(x) * x / y


def test_an_error_of_python_floats_is_still_raised():
    """Arguments that are Python floats divided by zero raise today: they still do."""
    g = sd.grad(python_zero_division, wrt=(0, 1))
    g(0.5, 2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ZeroDivisionError):
            g.__sourcediff_state__(0.5, 0.0)
        with pytest.raises(ZeroDivisionError):
            g(0.5, 0.0)


def int_cube(x, n):
    m = np.multiply(n, n)           # an np.int64: it wraps around as one
    e = np.exp(x)
    if m * m * m > 0:
        return e * e / 3.0 + x
    return e * e / 3.0 - x


def test_int64_results_stay_integers():
    g = sd.grad(int_cube)
    g(0.1, 3)
    assert "float(np.multiply" not in converted(g)
    assert "float(np.exp" in converted(g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = g(0.1, 2 ** 21)       # m ** 3 = 2 ** 126 is 0 in int64 (it wraps around)
        want = g.__sourcediff_state__(0.1, 2 ** 21)
    assert bits(got) == bits(want)
    assert got == pytest.approx(2.0 * np.exp(0.2) / 3.0 - 1.0, rel=1e-12)


@pytest.mark.parametrize("f, args, wrt", CASES[:4], ids=[c[0].__name__ for c in CASES[:4]])
def test_float64_arguments(f, args, wrt):
    g = sd.grad(f, wrt=wrt)
    g(*args)                                  # Python floats first
    np_args = tuple(np.float64(a) for a in args)
    got = g(*np_args)                         # then NumPy scalars: dispatched again
    for k, i in enumerate(wrt):
        assert got[k] == pytest.approx(central(f, args, i), rel=1e-6, abs=1e-9)


def test_value_keeps_its_type():
    g = sd.value_and_grad(logistic, wrt=(0, 1))
    g(0.3, 0.1, 2.0, 1.0, 0.01)
    value, _ = g(0.3, 0.1, 2.0, 1.0, 0.01)
    assert type(value) is np.float64          # as without the conversion
    assert value == logistic(0.3, 0.1, 2.0, 1.0, 0.01)


def steps(x, n):
    h = x
    for _ in range(n):
        h = np.tanh(h) + 0.5
    return h


@pytest.mark.parametrize("n", [0, 3])
def test_value_that_is_a_float_or_a_float64(n):
    """``h`` is a float after no step, a float64 after some: returned as it is, the value
    is never converted (nor what it comes from); a gradient still is."""
    g = sd.value_and_grad(steps)
    g(0.2, 2)
    value, grad = g(0.2, n)
    assert type(value) is type(steps(0.2, n))
    assert grad == pytest.approx(central(lambda x: steps(x, n), (0.2,), 0), rel=1e-6)
    assert sd.grad(steps)(0.2, n) == grad


SEEN = []


def counted(u):
    SEEN.append(u)
    return u * 2.0


def calls_user_code(x, k):
    e = np.exp(x)
    return e / (e - 1.0) + float(counted(k))


def test_code_that_calls_user_code_is_not_run_twice():
    """A division needs the code to be able to run again; a call into user code could
    have effects: then the code stays as it was, and runs once."""
    g = sd.grad(calls_user_code)
    g(0.5, 1.0)
    del SEEN[:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = g(0.0, 1.0)
    runs = len(SEEN)
    del SEEN[:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = g.__sourcediff_state__(0.0, 1.0)
    assert runs == len(SEEN) > 0
    assert bits(got) == bits(want)
    assert "float(np." not in converted(g)


def test_other_transforms_on_scalars():
    args = (0.3, 0.1, 2.0, 1.0, 0.01)
    g = sd.grad(logistic, wrt=(0, 1))
    g(*args)
    out, pull = sd.vjp(logistic, *args)
    assert pull(1.0)[0] == pytest.approx(central(logistic, args, 0), rel=1e-6)
    hess = sd.hessian(logistic, wrt=0)(*args)
    assert float(hess) == pytest.approx(
        central(lambda *a: g(*a)[0], args, 0, h=1e-5), rel=1e-5)
    gg = sd.grad(lambda w: sd.grad(logistic)(w, 0.1, 2.0, 1.0, 0.01))
    assert gg(0.3) == pytest.approx(float(hess), rel=1e-9)


def rebinds(x, y):
    x = np.exp(x)
    return x * y / (x - 1.0)


def test_the_code_as_it_was_gets_the_arguments_passed():
    """``x`` rebound in the body: the code run again gets the argument, not exp(x)."""
    g = sd.grad(rebinds, wrt=(0, 1))
    g(0.3, 2.0)
    assert "return _sd_exact(_sd_arg0, y)" in converted(g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = g(0.0, 2.0)                       # exp(0) - 1.0 == 0.0: inf or nan in NumPy
        want = g.__sourcediff_state__(0.0, 2.0)
    assert [bits(v) for v in got] == [bits(v) for v in want]
    assert not math.isfinite(got[0]) and not math.isfinite(got[1])
    assert g(0.3, 2.0)[0] == pytest.approx(central(rebinds, (0.3, 2.0), 0), rel=1e-6)


def with_aux(x, y):
    e = np.exp(x)
    return e / y, {"e": e}


def test_aux_keeps_its_type():
    g = sd.grad(with_aux, wrt=(0, 1), has_aux=True)
    g(0.3, 2.0)
    grads, aux = g(0.3, 2.0)
    assert type(aux["e"]) is np.float64        # returned as it is: never converted
    assert grads[0] == pytest.approx(central(lambda *a: with_aux(*a)[0], (0.3, 2.0), 0))


def test_a_node_the_tree_holds_twice_is_converted_once():
    """(A pass may leave one node in two places: it is wrapped once, not float(float()).)"""
    body = N.parse_stmts("s = np.exp(x) + 1.0\nr = s * 2.0\nreturn r")
    shared = body[0].value                     # np.exp(x) + 1.0
    body[1].value.left = gast.BinOp(left=shared, op=gast.Mult(), right=shared)
    ret = body.pop()
    plan = pyfloats.plan(body, {"np": np}, ["x"], [pyfloats.PYF], [(ret.value, "float")])
    assert plan is not None and len(plan.calls) == 1
    fdef = N.function_def("f", ["x"], pyfloats.rewrite(body, plan) + [ret])
    src = codegen.to_source(fdef)
    assert src.count("float(np.exp(x))") == 3 and "float(float(" not in src


@pytest.mark.parametrize("point", [(-800.0, 0.0, 1.0, 1.0, 0.01), (-400.0, 0.0, 2.0, 0.0, 0.0)])
def test_numpys_warnings_and_errors_where_a_gradient_is_not_finite(point):
    """A gradient that is inf or nan comes from the code as it was: NumPy's warnings (its
    invalid value in 0 * inf, which Python's floats do not report), and its error under
    np.errstate."""
    g = sd.grad(logistic, wrt=(0, 1))
    g(0.3, 0.1, 2.0, 1.0, 0.01)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = g(*point)
    with warnings.catch_warnings(record=True) as seen_before:
        warnings.simplefilter("always")
        want = g.__sourcediff_state__(*point)
    assert [bits(v) for v in got] == [bits(v) for v in want]
    assert not all(math.isfinite(v) for v in got)
    messages = {str(w.message) for w in seen_before}
    assert any("invalid value" in m for m in messages)
    assert {str(w.message) for w in seen} == messages
    with np.errstate(over="ignore", invalid="raise"):
        with pytest.raises(FloatingPointError):
            g.__sourcediff_state__(*point)
        with pytest.raises(FloatingPointError):
            g(*point)

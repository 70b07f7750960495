"""The tape on conversions and on functions made by either engine.

* ``x.item()`` / ``x.tolist()`` keep the gradient, exactly like ``float(x)``;
* ``%``, ``divmod``, ``np.mod``, ``np.remainder``, ``math.fmod``, ``np.fmod`` record
  through the shared rule table;
* ``float(x)`` is recorded on every Python version (3.10 has no "load for a call"
  bit in its bytecode: sourcediff/tape/callsites.py follows the stack instead);
* functions made by the tape: the tape over the tape is right, ``sourcediff.grad``
  of them is right (it falls back to the tape), forward mode refuses them, and the
  tape refuses compiled gradients -- never a wrong number.

Checked against central finite differences (conftest.fd) and hand values.
"""

import inspect
import math
import warnings

import numpy as np
import pytest

import sourcediff
from conftest import fd
from sourcediff import tape
from sourcediff.errors import MissingRuleError, SourceDiffError
from sourcediff.values.markers import no_grad
from sourcediff.tape import Tracer
from sourcediff.tape.callsites import only_called

rng = np.random.default_rng(11)


def check(f, args, wrt=0, rtol=1e-6, atol=1e-8):
    wrt_t = wrt if isinstance(wrt, tuple) else (wrt,)
    got = tape.grad(f, wrt=wrt)(*args)
    got = got if isinstance(wrt, tuple) else (got,)
    for g, i in zip(got, wrt_t):
        np.testing.assert_allclose(g, fd(f, args, i), rtol=rtol, atol=atol)
    return got


# --- x.item() ---------------------------------------------------------------------------------

def item_square(x):
    return x.item() ** 2 * 3.0


def float_square(x):
    return float(x) ** 2 * 3.0


@pytest.mark.parametrize("x", [np.array(1.3), np.array([1.3]), np.array([[1.3]]),
                               np.float64(-0.4)])
def test_item_keeps_the_gradient(x):
    (g,) = check(item_square, (x,))
    np.testing.assert_allclose(g, 6.0 * np.asarray(x))            # by hand: 6x
    assert np.shape(g) == np.shape(x)


def test_item_is_recorded_like_float():
    x = np.array(0.8)           # (float() of a 1-element array is an error in NumPy 2)
    np.testing.assert_array_equal(tape.grad(item_square)(x), tape.grad(float_square)(x))
    seen = []
    tape.grad(lambda v: seen.append(v.item()) or seen[-1] * 2.0)(np.array(0.5))
    assert isinstance(seen[0], Tracer) and isinstance(seen[0].value, float)


def test_item_of_a_reduction_and_with_an_index():
    def f(x):
        return np.sum(x ** 2).item() * x.item(2) + x.item(0)
    x = np.array([0.7, -1.2, 2.0])
    (g,) = check(f, (x,))
    s = np.sum(x ** 2)
    np.testing.assert_allclose(g, 2 * x * x[2] + np.array([1.0, 0.0, s]))

    def g2(x):
        return x.item(1, 0) * x.item(0, 2) ** 2
    x2 = rng.normal(size=(2, 3))
    (g,) = check(g2, (x2,))
    want = np.zeros((2, 3))
    want[1, 0] = x2[0, 2] ** 2
    want[0, 2] = 2 * x2[1, 0] * x2[0, 2]
    np.testing.assert_allclose(g, want)


def item_where_float_is_also_a_type(x):
    if isinstance(x, float):      # float stays builtins.float here; .item() still records
        return x
    return x.item() * 2.0


def test_item_works_where_float_cannot_be_replaced():
    assert tape.grad(item_where_float_is_also_a_type)(np.array(1.5)) == pytest.approx(2.0)


def test_item_of_several_elements_is_numpys_error():
    with pytest.raises(ValueError, match="size 1"):
        tape.grad(lambda x: x.item())(np.array([1.0, 2.0]))


def test_item_outside_recording_and_of_constants_is_plain():
    def f(x):
        with no_grad():
            plain = x.item()
        const = np.zeros(1).item()            # a traced constant: no gradient to keep
        assert type(plain) is float and type(const) is float
        return x * (plain + const)
    assert tape.grad(f)(np.array(3.0)) == pytest.approx(3.0)


def test_item_second_order():
    assert tape.grad(tape.grad(lambda v: v.item() ** 3))(2.0) == pytest.approx(12.0)
    inner = tape.grad(lambda u: u.item(0) ** 3)
    np.testing.assert_allclose(tape.grad(lambda v: np.sum(inner(v)))(np.array([2.0])), [12.0])


# --- x.tolist() --------------------------------------------------------------------------------

def test_tolist_gives_traced_floats_with_gradients():
    def f(x):
        return sum(v * v for v in x.tolist())
    x = np.array([0.7, -1.2, 2.0])
    (g,) = check(f, (x,))
    np.testing.assert_allclose(g, 2 * x)

    def nested(x):
        rows = (x ** 2).tolist()
        assert isinstance(rows, list) and isinstance(rows[1], list)
        return rows[1][0] * 2.0 + rows[0][1]
    x2 = np.array([[0.7, -1.2], [2.0, 3.0]])
    (g,) = check(nested, (x2,))
    np.testing.assert_allclose(g, [[0.0, 2 * -1.2], [8.0, 0.0]])


def test_tolist_of_0d_and_outside_recording():
    assert tape.grad(lambda x: x.tolist() ** 3)(np.array(2.0)) == pytest.approx(12.0)

    def f(x):
        with no_grad():
            assert x.tolist() == [1.0, 2.0]
        return np.sum(x)
    tape.grad(f)(np.array([1.0, 2.0]))


# --- x % y and friends ------------------------------------------------------------------------

def mod_op(x, y):
    return np.sum(x % y) + np.sum(2.5 % y)


def mod_np(x, y):
    return np.sum(np.mod(x, y) * np.remainder(y + 3.0, x))


def fmod_all(x, y):
    return math.fmod(x, y) * 2.0 + np.fmod(x, y) ** 2


def with_divmod(x, y):
    q, r = divmod(x, y)
    q2, r2 = divmod(3.5, y)
    return r * 2.0 + r2 + q * 0.0


@pytest.mark.parametrize("f, args", [
    (mod_op, (np.array([2.3, -1.7, 5.1]), 0.9)),
    (mod_op, (np.array([2.3, -1.7, 5.1]), -0.9)),
    (mod_np, (np.array([2.3, 1.7, 5.1]), 0.9)),
    (fmod_all, (2.3, -0.9)),
    (fmod_all, (-2.3, 0.9)),
    (with_divmod, (2.3, 0.9)),
], ids=["op", "op-negative-y", "np", "fmod", "fmod-negative-x", "divmod"])
def test_mod_family_matches_finite_differences(f, args):
    check(f, args, wrt=(0, 1))


def test_mod_by_hand():
    # d/dx (x % y) = 1, d/dy = -floor(x / y); fmod: -trunc(x / y)
    gx, gy = tape.grad(lambda x, y: x % y, wrt=(0, 1))(-2.3, 0.9)
    assert (gx, gy) == (1.0, 3.0)                       # floor(-2.555) = -3
    gx, gy = tape.grad(lambda x, y: math.fmod(x, y), wrt=(0, 1))(-2.3, 0.9)
    assert (gx, gy) == (1.0, 2.0)                       # trunc(-2.555) = -2
    gx, gy = tape.grad(with_divmod, wrt=(0, 1))(2.3, 0.9)
    assert gx == 2.0 and gy == pytest.approx(2 * -2.0 - 3.0)


def test_mod_tape_agrees_with_compiler_and_second_order():
    x, y = np.array([2.3, -1.7, 5.1]), 0.9
    for f in (mod_op, mod_np):
        args = (np.abs(x), y) if f is mod_np else (x, y)
        t = tape.grad(f, wrt=(0, 1))(*args)
        c = sourcediff.grad(f, wrt=(0, 1))(*args)
        for a, b in zip(t, c):
            np.testing.assert_allclose(a, b)
    # (x * x) % 1.0 has second derivative 2 away from its jumps
    assert tape.grad(tape.grad(lambda v: (v * v) % 1.0))(1.3) == pytest.approx(2.0)


# --- float(x) on every Python version ------------------------------------------------------------

def float_in_branches(x, c):
    return float(x if c else -x) ** 2 + float(np.sum(x * 2.0), ) * 3.0


def test_float_records_with_arguments_of_any_form():
    x = np.array(0.6)
    assert tape.grad(float_in_branches)(x, True) == pytest.approx(2 * 0.6 + 6.0)
    assert tape.grad(float_in_branches)(x, False) == pytest.approx(2 * 0.6 + 6.0)


def _calls(x, c, a):
    return (float(x) + float(a if c else x) + float(*a) + float(x, **a) + float(y := x)
            + float(x.attr[0], key=1) + float(c and x) + float(g(lambda: 1, float(x)))
            + float(f"{x:>3}") + float(-x[1:2]) + float({1: x}[1]) + y)


def _as_type(x):
    return isinstance(x, float)


def _method_of_it(x):
    return float.fromhex(x)


def _passed(x):
    return g(x, float)


def _dtype(x):
    return np.zeros(3, dtype=float)


def _comprehension(x):
    return [float(v) for v in x]


def g(*args, **kwargs):
    return 0.0


@pytest.mark.parametrize("fn, called", [(_calls, True), (_as_type, False), (_method_of_it, False),
                                        (_passed, False), (_dtype, False)])
def test_only_called_reads_the_bytecode(fn, called):
    assert only_called(fn.__code__, "float") is called


def test_only_called_in_a_comprehension():
    codes = [_comprehension.__code__] + [c for c in _comprehension.__code__.co_consts
                                         if inspect.iscode(c)]
    assert all(only_called(c, "float") for c in codes if "float" in c.co_names)


# --- functions made by the tape, and by the compiler -----------------------------------------------

def poly_sin(x):
    return np.sin(x) * x ** 3


def d1(x):
    return np.cos(x) * x ** 3 + 3 * x ** 2 * np.sin(x)


def d2(x):
    return -np.sin(x) * x ** 3 + 6 * x ** 2 * np.cos(x) + 6 * x * np.sin(x)


def d3(x):
    return (-np.cos(x) * x ** 3 - 9 * x ** 2 * np.sin(x) + 18 * x * np.cos(x)
            + 6 * np.sin(x))


def test_tape_over_tape_is_right():
    x = 1.3
    assert tape.grad(poly_sin)(x) == pytest.approx(d1(x))
    assert tape.grad(tape.grad(poly_sin))(x) == pytest.approx(d2(x))
    assert tape.grad(tape.grad(poly_sin))(x) == pytest.approx(fd(tape.grad(poly_sin), (x,), 0),
                                                                rel=1e-6)
    assert tape.grad(tape.grad(tape.grad(poly_sin)))(x) == pytest.approx(d3(x))
    assert d3(x) == pytest.approx(fd(d2, (x,), 0), rel=1e-6)       # the hand value itself


def test_compiled_grad_of_a_tape_function_falls_back_to_the_tape():
    x = 1.3
    with pytest.warns(UserWarning, match="runtime tape"):
        assert sourcediff.grad(tape.grad(poly_sin))(x) == pytest.approx(d2(x))


def _calls_a_tape_gradient(x):
    return TAPE_D1(x) * 2.0


TAPE_D1 = tape.grad(poly_sin)


def test_compiled_code_calling_a_tape_function_is_an_error_not_a_wrong_number():
    with pytest.raises(MissingRuleError):
        sourcediff.grad(_calls_a_tape_gradient)(1.3)
    assert tape.grad(_calls_a_tape_gradient)(1.3) == pytest.approx(2 * d2(1.3))


def test_forward_mode_over_a_tape_function_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # the fallback's warning
        with pytest.raises(SourceDiffError, match="runtime tape"):
            sourcediff.hessian(tape.grad(poly_sin))(np.array(1.3))
    with pytest.raises(SourceDiffError):
        sourcediff.hvp(tape.grad(poly_sin))(1.3, 1.0)


def test_the_tape_refuses_compiled_gradients():
    with pytest.raises(SourceDiffError, match="made by the sourcediff compiler"):
        tape.grad(sourcediff.grad(poly_sin))
    with pytest.raises(SourceDiffError, match="made by the sourcediff compiler"):
        tape.vjp(sourcediff.value_and_grad(poly_sin), 1.3)


def test_a_tape_function_looks_like_f_but_shows_no_source():
    tg = tape.grad(poly_sin)
    assert tg.__name__ == "poly_sin" and tg.__doc__ == poly_sin.__doc__
    assert list(inspect.signature(tg).parameters) == ["x"]
    assert not hasattr(tg, "__wrapped__") and not hasattr(tg, "__code__")
    assert "tape.grad" in repr(tg)
    assert "value_and_grad" in repr(tape.value_and_grad(poly_sin))


class Model:
    scale = 2.0

    @tape.grad(wrt=1)
    def loss_grad(self, w):
        return self.scale * w ** 2


def test_a_tape_function_as_a_method_decorator():
    assert Model().loss_grad(1.5) == pytest.approx(6.0)      # binds self, like a function
    assert Model.loss_grad(Model(), 1.5) == pytest.approx(6.0)

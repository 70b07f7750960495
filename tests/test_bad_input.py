"""The bad-input corpus: every unsupported construct and every API misuse.

Each case must raise a :class:`sourcediff.SourceDiffError` subclass (never a
raw KeyError/AttributeError/NameError from inside sourcediff) whose message
names the function, points at ``file:line`` of the offending construct where
there is one, and carries a ``Hint:`` saying what to do instead. Cases where
sourcediff currently falls short are strict xfails with the reason.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import warnings

import numpy as np
import pytest

import sourcediff as sd
from sourcediff import SourceDiffError
from sourcediff.errors import ArgumentError, MissingRuleError, NonScalarOutputError, SourceUnavailableError, UnsupportedSyntaxError

from sourcediff import tape

THIS = "test_bad_input.py"
counter = 0


def marked_line(fn):
    """The line number of the line in ``fn`` carrying the marker comment ``# <-``."""
    lines, first = inspect.getsourcelines(fn)
    for k, line in enumerate(lines):
        if "# <-" in line:
            return first + k
    return first


def assert_good_error(err, fn_name, line=None, kind=SourceDiffError):
    assert isinstance(err, kind), f"{type(err).__name__} is not a {kind.__name__}: {err}"
    msg = str(err)
    assert fn_name in msg, f"message does not name {fn_name!r}: {msg!r}"
    assert "Hint:" in msg, f"no hint in: {msg!r}"
    assert "Traceback" not in msg
    if line is not None:
        m = re.search(re.escape(THIS) + r":(\d+)", msg)
        assert m, f"no {THIS}:<line> in: {msg!r}"
        assert int(m.group(1)) == line, f"points at line {m.group(1)}, expected {line}: {msg!r}"


# --- unsupported constructs -------------------------------------------------------------
def uses_try(x):
    try:  # <-
        y = x * 2.0
    except ValueError:
        y = x
    return y


def uses_global(x):
    global counter  # <-
    counter = counter + 1
    return x * 2.0


def uses_nonlocal(x):
    k = 1.0

    def inner(v):
        nonlocal k  # <-
        k = v
        return v
    return inner(x) * k


def uses_yield(x):
    yield x * 2.0  # <-


def uses_yield_from(x):
    yield from [x]  # <-


def uses_genexp(x):
    gen = (v * v for v in x)  # <-
    return sum(gen)


def uses_setcomp(x):
    return len({v for v in x}) * np.sum(x)  # <-


def uses_class(x):
    class Box:  # <-
        pass
    return x * 2.0


def uses_walrus(x):
    if (y := x * 2.0) > 0:  # <-
        return y
    return x


def uses_match(x, k):
    match k:  # <-
        case 0:
            return x
        case _:
            return x * 2.0


def uses_del(x):
    y = x * 2.0
    del y  # <-
    return x


def uses_import(x):
    import math as m  # <-
    return m.pi * x


def uses_import_from(x):
    from math import pi  # <-
    return pi * x


async def uses_async(x):  # <-
    return x * 2.0


def uses_with_open(x):
    with open(__file__) as fh:  # <-
        fh.read()
    return x * 2.0


def uses_starred_assign(x):
    (a, *rest), b = x, 2.0  # <-  (nested: one flat a, *rest = seq is supported)
    return a * 2.0 + b * rest[0]


class Holder:
    value = 0.0


HOLDER = Holder()


def uses_attribute_assign(x):
    HOLDER.value = x  # <-  (read back below: a gradient through it would be lost)
    return HOLDER.value * 2.0


def uses_loop_else(x):
    for _ in range(2):  # <-
        x = x * 2.0
    else:
        x = x + 1.0
    return x


def uses_starred_call(x):
    args = tuple(np.atleast_1d(x))  # (its length is known at run time only; a known
    return np.sin(*args[:1])  # <-   length is spelled out: tests/test_forwarding.py)


def uses_kwargs_call(x):
    kw = {"a_min": 0.0}
    kw["a_max"] = 1.0  # (keys not known from a display: a display alone is expanded)
    return np.clip(x, **kw)  # <-


def uses_ufunc_out(x):
    h = x * 2.0
    np.tanh(h, out=h)  # <-
    return np.sum(h)


def uses_sort_in_place(x):
    h = x * 2.0
    h.sort()  # <-
    return np.sum(h * x)


def _sorts(v):
    v.sort()


def _passes_on(a, v):
    _sorts(v)


def _writes_through_alias(v):
    w = v
    w[0] = 1.0


def _adds_in_place(v):
    v += 1.0


def _copies_into(v):
    np.copyto(v, 0.0)


def _looks(label, v):  # reads v only: a log, a plot
    print(label, np.sum(v), v.shape)
    return v.sum()


def uses_helper_sorting(x):
    h = x * 2.0
    _passes_on(1, h)  # <-
    return np.sum(h * x)


def uses_helper_writing_alias(x):
    h = x * 2.0
    _writes_through_alias(h)  # <-
    return np.sum(h * x)


def uses_helper_adding_in_place(x):
    h = x * 2.0
    _adds_in_place(h)  # <-
    return np.sum(h * x)


def uses_helper_copying_into(x):
    h = x * 2.0
    _copies_into(h)  # <-
    return np.sum(h * x)


UNSUPPORTED = [
    (uses_try, (1.0,)), (uses_global, (1.0,)), (uses_nonlocal, (1.0,)),
    (uses_yield, (1.0,)), (uses_yield_from, (1.0,)), (uses_genexp, (np.ones(2),)),
    (uses_setcomp, (np.ones(2),)), (uses_class, (1.0,)), (uses_walrus, (1.0,)),
    (uses_match, (1.0, 0)), (uses_del, (1.0,)), (uses_import, (1.0,)),
    (uses_import_from, (1.0,)), (uses_async, (1.0,)), (uses_with_open, (1.0,)),
    (uses_starred_assign, (np.ones(3),)),  # (*args, **kwargs: tests/test_signatures.py)
    (uses_attribute_assign, (1.0,)), (uses_loop_else, (1.0,)),
    (uses_starred_call, (1.0,)), (uses_kwargs_call, (1.0,)),
    (uses_ufunc_out, (np.array([0.1, 0.2]),)), (uses_sort_in_place, (np.array([0.3, 0.1]),)),
    (uses_helper_sorting, (np.array([0.3, 0.1]),)),
    (uses_helper_writing_alias, (np.array([0.3, 0.1]),)),
    (uses_helper_adding_in_place, (np.array([0.3, 0.1]),)),
    (uses_helper_copying_into, (np.array([0.3, 0.1]),)),
]


@pytest.mark.parametrize("fn,args", UNSUPPORTED, ids=[f.__name__ for f, _ in UNSUPPORTED])
def test_unsupported_construct(fn, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # "coroutine never awaited"
        with pytest.raises(SourceDiffError) as info:
            sd.grad(fn)(*args)
    assert_good_error(info.value, fn.__name__, marked_line(fn), UnsupportedSyntaxError)


# (jvp of a generator function gives the tangent of the list it yields: test_side_effects)
_JVP_UNSUPPORTED = [c for c in UNSUPPORTED[:6] if c[0] not in (uses_yield, uses_yield_from)]


@pytest.mark.parametrize("fn,args", _JVP_UNSUPPORTED,
                         ids=[f.__name__ for f, _ in _JVP_UNSUPPORTED])
def test_unsupported_construct_in_jvp(fn, args):
    tangents = tuple(np.ones_like(a) if isinstance(a, np.ndarray) else 1.0 for a in args)
    with pytest.raises(SourceDiffError) as info:
        sd.jvp(fn, args, tangents)
    assert_good_error(info.value, fn.__name__, marked_line(fn), UnsupportedSyntaxError)


@pytest.mark.parametrize("fn", [uses_ufunc_out, uses_sort_in_place])
def test_call_changing_an_argument_in_place_is_refused_in_forward_mode_too(fn):
    """A dropped result means the call works by changing its argument: forward mode
    used to ignore it and return a wrong tangent."""
    x = np.array([0.3, 0.1])
    with pytest.raises(SourceDiffError) as info:
        sd.jvp(fn, (x,), (np.ones(2),))
    assert_good_error(info.value, fn.__name__, marked_line(fn), UnsupportedSyntaxError)
    assert "may change h" in str(info.value)


def test_a_discarded_call_to_a_helper_that_only_reads_its_argument_is_fine(capsys):
    """A plot or a log written as a function: its source shows it changes nothing."""
    def f(x):
        h = x * 2.0
        _looks("h", h)
        return np.sum(h * x)
    x = np.array([0.3, 0.1])
    np.testing.assert_allclose(sd.grad(f)(x), 4 * x)
    assert sd.jvp(f, (x,), (np.ones(2),))[1] == pytest.approx(4 * np.sum(x))
    assert "h " in capsys.readouterr().out


def test_print_in_a_differentiated_function_is_fine(capsys):
    def f(x):
        h = x * 2.0
        print("h =", h)
        return np.sum(h * h)
    x = np.array([0.5, -1.0])
    np.testing.assert_allclose(sd.grad(f)(x), 8 * x)
    assert sd.jvp(f, (x,), (np.ones(2),))[1] == pytest.approx(float(np.sum(8 * x)))
    assert capsys.readouterr().out.count("h = [ 1. -2.]") == 2


def _helper_with_try(v):
    try:  # <-
        return v * 2.0
    except ValueError:
        return v


def calls_bad_helper(x):
    return _helper_with_try(x) + 1.0


def test_unsupported_construct_in_called_helper():
    with pytest.raises(SourceDiffError) as info:
        sd.grad(calls_bad_helper)(1.0)
    assert_good_error(info.value, "_helper_with_try", marked_line(_helper_with_try),
                      UnsupportedSyntaxError)


def uses_missing_rule(x):  # (np.fft has rules since issue #18: np.unwrap has none)
    return np.sum(np.unwrap(x).real)  # <-


def test_missing_rule():
    with pytest.raises(SourceDiffError) as info:
        sd.grad(uses_missing_rule)(np.ones(4))
    assert_good_error(info.value, "uses_missing_rule", marked_line(uses_missing_rule),
                      MissingRuleError)


# --- API misuse -------------------------------------------------------------------------
def loss(x, y):
    return np.sum(x * y)


def vector_out(x):
    return x * 2.0  # <-


def test_unknown_wrt_name():
    with pytest.raises(SourceDiffError) as info:
        sd.grad(loss, wrt="z")(np.ones(2), np.ones(2))
    assert_good_error(info.value, "loss", kind=ArgumentError)
    assert "x, y" in str(info.value)


def test_wrt_index_out_of_range():
    with pytest.raises(SourceDiffError) as info:
        sd.grad(loss, wrt=5)(np.ones(2), np.ones(2))
    assert_good_error(info.value, "loss", kind=ArgumentError)


@pytest.mark.parametrize("wrt", [1.5, None, (0, 0), ()], ids=["float", "None", "twice", "empty"])
def test_bad_wrt_value(wrt):
    with pytest.raises(SourceDiffError) as info:
        sd.grad(loss, wrt=wrt)(np.ones(2), np.ones(2))
    assert_good_error(info.value, "loss", kind=ArgumentError)


def test_too_few_arguments_for_wrt():
    """The gradient keeps the function's signature, so Python itself names what is missing."""
    with pytest.raises(TypeError, match=r"loss\(\) missing 1 required positional argument: 'y'"):
        sd.grad(loss, wrt=1)(np.ones(2))


def test_non_scalar_output_located():
    with pytest.raises(SourceDiffError) as info:
        sd.grad(vector_out)(np.ones(3))
    assert_good_error(info.value, "vector_out", marked_line(vector_out), NonScalarOutputError)


def test_non_scalar_output():
    with pytest.raises(SourceDiffError) as info:
        sd.grad(vector_out)(np.ones(3))
    assert_good_error(info.value, "vector_out", kind=NonScalarOutputError)


def test_non_scalar_output_tape():
    with pytest.raises(SourceDiffError) as info:
        tape.grad(vector_out)(np.ones(3))
    assert_good_error(info.value, "vector_out", kind=NonScalarOutputError)


def test_wrong_cotangent_shape():
    _out, pullback = sd.vjp(vector_out, np.ones(3))
    with pytest.raises(SourceDiffError) as info:
        pullback(np.ones(4))
    assert_good_error(info.value, "vector_out", kind=ArgumentError)


def test_wrong_cotangent_shape_tape():
    _out, pullback = tape.vjp(vector_out, np.ones(3))
    with pytest.raises(SourceDiffError) as info:
        pullback(np.ones(4))
    assert_good_error(info.value, "vector_out", kind=ArgumentError)


BAD_ARGS = {
    "int": 3, "bool": True, "string": "abc", "object": object(),
    "int_array": np.arange(3),
    "list_of_ints": [1, 2], "none": None, "dict_with_str": {"a": "b"},
}


def square_sum(x):
    return np.sum(np.asarray(x) ** 2)


@pytest.mark.parametrize("mode", ["compile", "tape"])
@pytest.mark.parametrize("name", sorted(BAD_ARGS))
def test_non_float_argument_in_wrt(name, mode):
    g = sd.grad(square_sum) if mode == "compile" else tape.grad(square_sum)
    with pytest.raises(SourceDiffError) as info:
        g(BAD_ARGS[name])
    assert_good_error(info.value, "square_sum", kind=ArgumentError)


def test_non_float_argument_outside_wrt_is_fine():
    def scaled(x, n):
        return np.sum(x) * n
    assert sd.grad(scaled)(np.ones(2), 3)[0] == 3.0


def test_jvp_tangent_shape_mismatch():
    with pytest.raises(SourceDiffError) as info:
        sd.jvp(vector_out, (np.ones(3),), (np.ones(4),))
    assert_good_error(info.value, "vector_out", kind=ArgumentError)


def test_jvp_tangent_count_mismatch():
    with pytest.raises(SourceDiffError) as info:
        sd.jvp(loss, (np.ones(3), np.ones(3)), (np.ones(3),))
    assert_good_error(info.value, "loss", kind=ArgumentError)


def returns_scalar(x):
    return np.sum(x)  # <-


def test_has_aux_without_pair():
    with pytest.raises(SourceDiffError) as info:
        sd.grad(returns_scalar, has_aux=True)(np.ones(2))
    assert_good_error(info.value, "returns_scalar", marked_line(returns_scalar))


def test_source_of_plain_function():
    with pytest.raises(SourceDiffError) as info:
        sd.source(loss)
    assert "Hint:" in str(info.value)


# --- functions without (readable) source ---------------------------------------------------
def test_exec_function_falls_back_to_tape_with_warning():
    ns = {"np": np}
    exec("def made(x):\n    return np.sum(np.sin(x))\n", ns)  # noqa: S102
    with pytest.warns(UserWarning, match="tape"):
        g = sd.grad(ns["made"])(np.array([0.1, 0.2]))
    np.testing.assert_allclose(g, np.cos([0.1, 0.2]))


def test_exec_function_vjp_falls_back_to_tape_with_warning():
    ns = {"np": np}
    exec("def made(x):\n    return np.sin(x) * 2.0\n", ns)  # noqa: S102
    with pytest.warns(UserWarning, match="tape"):
        out, pullback = sd.vjp(ns["made"], np.array([0.1, 0.2]))
    np.testing.assert_allclose(out, 2 * np.sin([0.1, 0.2]))
    (g,) = pullback(np.array([1.0, -1.0]))
    np.testing.assert_allclose(g, 2 * np.cos([0.1, 0.2]) * [1.0, -1.0])


def test_math_builtin_passed_directly():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SourceDiffError) as info:
            sd.grad(math.sin)(1.0)
    assert "sin" in str(info.value)
    assert "Hint:" in str(info.value)


def test_len_passed_directly():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SourceDiffError) as info:
            sd.grad(len)(np.ones(3))
    assert "len" in str(info.value)
    assert "Hint:" in str(info.value)


@pytest.mark.parametrize("fn", [np.sin, abs], ids=["np.sin", "abs"])
def test_differentiable_builtin_passed_directly(fn):
    """No source, but a rule: the tape fallback gives the right answer (with a warning)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = sd.grad(fn)(0.5)
    except SourceDiffError as err:
        assert "Hint:" in str(err)
    else:
        assert g == pytest.approx(np.cos(0.5) if fn is np.sin else 1.0)


def test_partial_object():
    part = functools.partial(loss, y=np.ones(2))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = sd.grad(part)(np.full(2, 3.0))
    except SourceDiffError as err:
        assert "Hint:" in str(err)
    else:
        np.testing.assert_allclose(g, np.ones(2))


class Model:
    def __init__(self):
        self.scale = 3.0

    def loss(self, x):
        return np.sum(x * x) * self.scale

    def __call__(self, x):
        return np.sum(np.sin(x))


def test_bound_method():
    m = Model()
    try:
        g = sd.grad(m.loss)(np.ones(2))
    except SourceDiffError as err:
        assert_good_error(err, "loss")
    else:
        np.testing.assert_allclose(g, 6.0 * np.ones(2))


def test_callable_object():
    m = Model()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = sd.grad(m)(np.ones(2))
    except SourceDiffError as err:
        assert "Hint:" in str(err)
    else:
        np.testing.assert_allclose(g, np.cos(np.ones(2)))


def generator_fn(x):
    for _ in range(2):
        yield x  # <-


def test_generator_function():
    with pytest.raises(SourceDiffError) as info:
        sd.grad(generator_fn)(1.0)
    assert_good_error(info.value, "generator_fn", marked_line(generator_fn),
                      UnsupportedSyntaxError)


def test_lambda_defined_in_file_works():
    f = lambda x: np.sum(x ** 3)  # noqa: E731
    np.testing.assert_allclose(sd.grad(f)(np.ones(2)), 3.0 * np.ones(2))


def test_error_types_are_all_sourcediff_errors():
    for cls in (ArgumentError, MissingRuleError, NonScalarOutputError, SourceUnavailableError,
                UnsupportedSyntaxError):
        assert issubclass(cls, SourceDiffError)


# --- views of arrays updated in place -------------------------------------------------
def view_then_augmented(x):
    y = x * 1.0
    z = np.reshape(y, (2, 1))  # <-
    y *= -1.5  # NumPy changes z too
    return np.sum(z * y)


def transpose_then_setitem(x):
    y = x * 1.0
    z = y.T  # <-
    y[0] = 2.0
    return np.sum(z * y)


def method_view_then_setitem(x):
    y = x * 1.0
    z = y.reshape(2, 1)  # <-
    y[1] = 0.5
    return np.sum(z)


@pytest.mark.parametrize("fn", [view_then_augmented, transpose_then_setitem,
                                method_view_then_setitem])
def test_view_of_array_updated_in_place(fn):
    with pytest.raises(SourceDiffError) as info:
        sd.grad(fn)(np.ones(2))
    assert_good_error(info.value, fn.__name__, marked_line(fn))
    assert "view" in str(info.value)


def copy_of_view_then_setitem(x):
    y = x * 1.0
    z = np.reshape(y, (2, 1)) * 2.0  # a new array, not a view
    w = np.copy(y.T)
    y[0] = 3.0
    return np.sum(z) + np.sum(y * w)


def test_new_arrays_from_views_are_fine():
    x = np.array([0.5, 2.0])
    g = sd.grad(copy_of_view_then_setitem)(x)
    # d/dx [2 x0 + 2 x1 + 3 x0 + x1 * x1] = [5, 2 + 2 x1]
    np.testing.assert_allclose(g, [5.0, 2.0 + 2 * x[1]])


def _module_parameter(x, xp=np):
    return xp.sum(xp.sin(x) ** 2)


def _module_argument(x, xp):
    return xp.sum(x * 2.0)


@pytest.mark.parametrize("call", [
    lambda: sd.grad(_module_parameter)(np.arange(3.0)),
    lambda: sd.grad(_module_argument)(np.arange(3.0), np),
    lambda: sd.value_and_grad(_module_argument)(np.arange(3.0), math),
    lambda: sd.jvp(_module_parameter, (np.arange(3.0),), (np.ones(3),)),
    lambda: sd.vjp(_module_parameter, np.arange(3.0)),
    lambda: sd.hessian(_module_parameter)(np.arange(3.0)),
], ids=["default", "grad", "value_and_grad", "jvp", "vjp", "hessian"])
def test_a_module_passed_as_an_argument_is_refused(call):
    """``def f(x, xp=np)``: generated code took ``xp.sum(y)`` for the array method
    ``np.sum(xp, y)`` and crashed inside NumPy; now a clear ArgumentError at the call."""
    with pytest.raises(ArgumentError, match="is the module") as info:
        call()
    assert "Hint:" in str(info.value) and "mode='tape'" in str(info.value)


def test_a_module_argument_works_on_the_tape():
    x = np.array([0.3, -1.2, 2.0])
    g = sd.grad(_module_parameter, mode="tape")(x)
    np.testing.assert_allclose(g, 2 * np.sin(x) * np.cos(x), rtol=1e-12)

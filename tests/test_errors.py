"""Every error path: the right SourceDiffError subclass, a message naming the
function, a ``file:line`` location in the user's file, and a hint."""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest

from sourcediff import SourceDiffError, grad, value_and_grad, vjp
from sourcediff.errors import ArgumentError, MissingRuleError, NonScalarOutputError, SourceUnavailableError, UnsupportedSyntaxError

from sourcediff import tape as _tape

THIS_FILE = "test_errors.py"


@pytest.fixture(params=["compile", "tape"])
def mode(request):
    return request.param


def _lines_of(fn):
    lines, first = inspect.getsourcelines(fn)
    return range(first, first + len(lines))


def assert_located(err, fn, exact_line=None):
    """The message has ``test_errors.py:N`` with N inside ``fn`` (or == exact_line)."""
    msg = str(err)
    m = re.search(re.escape(THIS_FILE) + r":(\d+)", msg)
    assert m, f"no '{THIS_FILE}:<line>' location in: {msg!r}"
    line = int(m.group(1))
    if exact_line is not None:
        assert line == exact_line, f"location line {line}, expected {exact_line}: {msg!r}"
    else:
        assert line in _lines_of(fn), f"line {line} is not inside {fn.__name__}: {msg!r}"


def assert_names(err, fn):
    assert fn.__name__ in str(err), f"message does not name {fn.__name__!r}: {str(err)!r}"


def assert_hint(err):
    assert getattr(err, "hint", None), f"no hint: {str(err)!r}"
    assert "Hint:" in str(err) or "hint" in str(err).lower()


def line_of(fn, needle):
    lines, first = inspect.getsourcelines(fn)
    for k, text in enumerate(lines):
        if needle in text:
            return first + k
    raise AssertionError(needle)


# --- non-scalar output ------------------------------------------------------------------


def vector_out(x):
    return x * 2.0


def matrix_out(x):
    return np.outer(x, x)


@pytest.mark.parametrize("fn", [vector_out, matrix_out])
def test_non_scalar_output(fn, mode):
    with pytest.raises(NonScalarOutputError) as info:
        grad(fn, mode=mode)(np.ones(3))
    assert isinstance(info.value, SourceDiffError)
    assert "scalar" in str(info.value)
    assert_names(info.value, fn)
    assert_hint(info.value)


def one_element_out(x):
    return x * 2.0


def test_shape_one_output_is_accepted_as_a_scalar(mode):
    # a one-element output, shape (1,), is seeded with ones of its shape (as PyTorch's
    # backward() and autograd do); test_side_effects checks (1, 1) and value_and_grad
    assert np.allclose(grad(one_element_out, mode=mode)(np.full(1, 0.5)), [2.0])


def test_non_scalar_output_value_and_grad(mode):
    with pytest.raises(NonScalarOutputError, match="scalar"):
        value_and_grad(vector_out, mode=mode)(np.ones(3))


# --- wrt selection and argument types ---------------------------------------------------------


def two(x, y):
    return x * y


def test_unknown_wrt_name(mode):
    with pytest.raises(ArgumentError) as info:
        grad(two, "z", mode=mode)(1.0, 2.0)
    msg = str(info.value)
    assert "'z'" in msg and "two" in msg
    assert "x" in info.value.hint and "y" in info.value.hint


@pytest.mark.parametrize("wrt", [2, -3, (0, 5)])
def test_wrt_index_out_of_range(wrt, mode):
    with pytest.raises(ArgumentError) as info:
        grad(two, wrt, mode=mode)(1.0, 2.0)
    assert "range" in str(info.value) or "argument" in str(info.value)
    assert_names(info.value, two)


@pytest.mark.parametrize("wrt", [(0, 0), (0, "x"), 1.5, None, True, ()])
def test_bad_wrt_values(wrt, mode):
    with pytest.raises(ArgumentError):
        grad(two, wrt, mode=mode)(1.0, 2.0)


@pytest.mark.parametrize("bad", [2, np.int64(2), np.arange(3), True, np.array([True, False])],
                         ids=["int", "np.int64", "int-array", "bool", "bool-array"])
def test_int_argument_in_wrt_raises(bad, mode):
    with pytest.raises(ArgumentError) as info:
        grad(two, 0, mode=mode)(bad, 2.0)
    msg = str(info.value)
    assert "int" in msg or "bool" in msg
    assert_names(info.value, two)
    assert_hint(info.value)


def test_int_argument_outside_wrt_is_fine(mode):
    assert grad(two, 0, mode=mode)(3.0, 2) == 2.0


@pytest.mark.parametrize("bad", [1j, np.complex128(1 + 2j), np.ones(2, dtype=complex)],
                         ids=["complex", "np.complex128", "complex-array"])
def test_complex_argument_is_differentiated(bad, mode):
    """Complex arguments are differentiated (autograd's convention, tests/test_complex.py):
    a complex gradient of the argument's dtype."""
    g = grad(lambda x, y: np.sum(two(x, y)), 0, mode=mode)(bad, 2.0)
    assert np.iscomplexobj(g) and np.shape(g) == np.shape(bad) and np.allclose(g, 2.0)


@pytest.mark.parametrize("bad", ["abc", None, object()], ids=["str", "None", "object"])
def test_non_numeric_argument_raises(bad, mode):
    with pytest.raises(ArgumentError):
        grad(two, 0, mode=mode)(bad, 2.0)


def test_too_few_arguments(mode):
    with pytest.raises((ArgumentError, TypeError)):
        grad(two, 1, mode=mode)(1.0)


def test_argument_error_has_location():
    with pytest.raises(ArgumentError) as info:
        grad(two, 0)(2, 2.0)
    assert_located(info.value, two)


def vjp_fn(x):
    return x * 3.0


def test_vjp_cotangent_shape_mismatch():
    _, pullback = vjp(vjp_fn, np.ones(3))
    with pytest.raises(ArgumentError) as info:
        pullback(np.ones(4))
    assert "shape" in str(info.value)
    assert_hint(info.value)


# --- unsupported syntax ------------------------------------------------------------------------

COUNTER = 0


def uses_try(x):
    try:
        y = x * 2.0
    except ValueError:
        y = x
    return y


def uses_global(x):
    global COUNTER
    COUNTER = COUNTER + 1
    return x * 2.0


def uses_nonlocal_outer():
    count = 0

    def uses_nonlocal(x):
        nonlocal count
        count = count + 1
        return x * 2.0
    return uses_nonlocal


def uses_yield(x):
    yield x * 2.0


def uses_genexp(x):
    gen = (v * 2.0 for v in x)  # a generator kept in a name
    return sum(gen)


def uses_class(x):
    class Box:
        pass
    return x * 2.0


def uses_with_open(x):
    with open(__file__) as fh:
        y = x * len(fh.readline())
    return y


def uses_set(x):
    s = {1, 2}
    return x * len(s)


def uses_walrus(x):
    if (y := x * 2.0) > 0:
        return y
    return x


def uses_del(x):
    y = x * 2.0
    z = y
    del y
    return z


def uses_import(x):
    import os  # noqa: F401
    return x * 2.0


def uses_while_else(x):
    while x > 10.0:
        x = x / 2.0
    else:
        x = x + 1.0
    return x


def uses_attribute_store(x):
    v = np.ones(2)
    v.shape = (2, 1)
    return x * 2.0


def uses_starred_assign(x):
    (a, *rest), b = x, 2.0
    return a * 2.0 + b * rest[0]


SYNTAX_CASES = [
    (uses_try, 1.0, "try"),
    (uses_global, 1.0, "global"),
    (uses_nonlocal_outer(), 1.0, "nonlocal"),
    (uses_yield, 1.0, "yield"),
    (uses_genexp, np.ones(3), "generator"),
    (uses_class, 1.0, "class"),
    (uses_with_open, 1.0, "with"),
    (uses_set, 1.0, "set"),
    (uses_walrus, 1.0, ":="),
    (uses_del, 1.0, "del"),
    (uses_import, 1.0, "import"),
    (uses_while_else, 1.0, "else"),
    (uses_attribute_store, 1.0, "attribute"),
    (uses_starred_assign, np.ones(3), "starred"),
]

_syntax_ids = ["uses_try", "uses_global", "uses_nonlocal", "uses_yield", "uses_genexp",
               "uses_class", "uses_with_open", "uses_set", "uses_walrus", "uses_del",
               "uses_import", "uses_while_else", "uses_attribute_store",
               "uses_starred_assign"]

_NEEDLES = {
    "uses_try": "try:", "uses_global": "global COUNTER", "uses_nonlocal": "nonlocal count",
    "uses_yield": "yield x", "uses_genexp": "for v in x", "uses_class": "class Box",
    "uses_with_open": "with open", "uses_set": "{1, 2}", "uses_walrus": ":=",
    "uses_del": "del y", "uses_import": "import os", "uses_while_else": "while x",
    "uses_attribute_store": "v.shape =",
    "uses_starred_assign": "a, *rest",
}


@pytest.mark.parametrize("fn,arg,word", SYNTAX_CASES, ids=_syntax_ids)
def test_unsupported_syntax(fn, arg, word):
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(fn)(arg)
    err = info.value
    msg = str(err)
    assert word in msg, f"{word!r} not in {msg!r}"
    assert_names(err, fn)
    assert_located(err, fn, exact_line=line_of(fn, _NEEDLES[fn.__name__]))
    assert_hint(err)
    assert "tape" in err.hint          # points at the fallback
    assert "^" in msg                   # a caret under the construct
    assert err.function == fn.__name__ and err.lineno is not None


def test_unsupported_syntax_rejected_before_running():
    # the fence runs at trace time: nothing is executed, so the global is untouched
    before = COUNTER
    with pytest.raises(UnsupportedSyntaxError):
        grad(uses_global)(1.0)
    assert COUNTER == before


# --- constructs that are supported (checked here so their behaviour is pinned) -----------------


def uses_lambda(x):
    f = lambda v: v * v  # noqa: E731
    return np.sum(f(x) * 3.0)


def uses_nested_def(x):
    def inner(v):
        return v * v
    return np.sum(inner(x) * 3.0)


@pytest.mark.parametrize("fn", [uses_lambda, uses_nested_def])
def test_local_functions_are_differentiated(fn):
    x = np.array([1.0, -2.0])
    np.testing.assert_allclose(grad(fn)(x), 6.0 * x)


square_lambda = lambda x: x * x  # noqa: E731


def test_lambda_passed_to_grad():
    assert grad(square_lambda)(3.0) == 6.0


# --- missing derivative rules ---------------------------------------------------------------------


def uses_sort(x):  # (np.sort and np.partition have rules since issue #18: unique has none)
    return np.sum(np.unique(np.sort(x))[:2])


def uses_lstsq_abs(x):  # (np.fft and lstsq have rules since issue #18: np.linalg.cond has none)
    return np.sum(np.abs(np.linalg.cond(x)))


def uses_cumprod(x):  # (np.cumprod has a rule since issue #18: np.nancumprod has none)
    return np.sum(np.nancumprod(x))


def uses_linalg_pinv(x):  # (np.linalg.pinv and matrix_power have rules since issue #18)
    return np.sum(np.linalg.tensorinv(x, 1))


helper_from_exec = {}
exec("def exec_helper(v):\n    return v * 2.0\n", helper_from_exec)  # noqa: S102
exec_helper = helper_from_exec["exec_helper"]


MISSING = [
    (uses_sort, np.array([3.0, 1.0, 2.0]), "np.unique", "np.unique"),
    (uses_lstsq_abs, np.array([[2.0, 1.0], [1.0, 3.0]]), "np.linalg.cond", "np.linalg"),
    (uses_cumprod, np.array([3.0, 1.0, 2.0]), "np.nancumprod", "np.nancumprod"),
    (uses_linalg_pinv, np.array([[2.0, 1.0], [1.0, 3.0]]), "np.linalg.tensorinv",
     "np.linalg.tensorinv"),
]


@pytest.mark.parametrize("fn,arg,full,needle", MISSING, ids=[m[0].__name__ for m in MISSING])
def test_missing_rule(fn, arg, full, needle):
    with pytest.raises(MissingRuleError) as info:
        grad(fn)(arg)
    err = info.value
    msg = str(err)
    assert needle in msg
    assert_names(err, fn)
    assert_located(err, fn, exact_line=_lines_of(fn)[1])
    assert_hint(err)
    assert "primitive" in err.hint and "defrule" in err.hint


def test_missing_rule_names_full_dotted_function():
    with pytest.raises(MissingRuleError, match=r"np\.linalg\.cond"):
        grad(uses_lstsq_abs)(np.array([[2.0, 1.0], [1.0, 3.0]]))


def uses_unwrap_real(x):
    return np.sum(np.unwrap(x).real)


def test_missing_rule_not_hidden_by_attribute():
    with pytest.raises(MissingRuleError):
        grad(uses_unwrap_real)(np.array([3.0, 1.0, 2.0]))


def uses_real_attr(x):
    return np.sum(x.real * x)


def test_attribute_read_never_silently_zero():
    x = np.array([1.0, 2.0])
    try:
        g = grad(uses_real_attr)(x)
    except SourceDiffError:
        return
    np.testing.assert_allclose(g, 2 * x)


def test_missing_rule_tape():
    with pytest.raises(MissingRuleError) as info:
        _tape.grad(uses_sort)(np.array([3.0, 1.0, 2.0]))
    assert "unique" in str(info.value)


# --- functions without source: the compiler falls back to the tape, with a warning ---------------


class Scale:
    def __call__(self, x):
        return x * 2.0


@pytest.mark.parametrize("fn,x,expected", [
    (np.sin, 1.0, math.cos(1.0)),
    (abs, -3.0, -1.0),
    (exec_helper, 1.5, 2.0),
    (Scale(), 1.5, 2.0),
], ids=["np.sin", "abs", "exec", "callable-object"])
def test_no_source_falls_back_to_tape(fn, x, expected):
    with pytest.warns(UserWarning, match="tape") as rec:
        g = grad(fn)(x)
    np.testing.assert_allclose(g, expected)
    assert type(g) is float
    msg = str(rec[0].message)
    assert "source" in msg
    name = getattr(fn, "__name__", None)
    if name:
        assert name in msg


def test_exec_function_warning_has_location():
    # a fresh exec'd function, so the one-per-function warning fires here
    ns = {}
    exec("def exec_fresh(v):\n    return v * 3.0\n", ns)  # noqa: S102
    with pytest.warns(UserWarning) as rec:
        assert grad(ns["exec_fresh"])(1.0) == 3.0
    assert "exec_fresh" in str(rec[0].message)


def test_no_source_math_function_raises_on_tape():
    # math.sin has no source; the tape fallback cannot trace math.* either
    with pytest.raises(SourceDiffError) as info:
        with pytest.warns(UserWarning):
            grad(math.sin)(1.0)
    assert "math" in str(info.value)
    assert_hint(info.value)


def test_source_of_plain_function_raises():
    from sourcediff import source
    with pytest.raises(SourceDiffError) as info:
        source(two)
    assert_hint(info.value)


# --- error class hierarchy ----------------------------------------------------------------------


def test_error_hierarchy():
    for cls in (ArgumentError, MissingRuleError, NonScalarOutputError, SourceUnavailableError,
                UnsupportedSyntaxError):
        assert issubclass(cls, SourceDiffError)
    err = UnsupportedSyntaxError("boom", function="f", filename="x.py", lineno=3,
                                 hint="do this", source_line="    y = 1\n", col=4)
    msg = str(err)
    assert "boom" in msg and "'f'" in msg and "x.py:3" in msg and "Hint: do this" in msg
    assert msg.splitlines()[-2].strip() == "^"


def test_refused_where_a_gradient_would_be_lost():
    """Writing through a second name: refused rather than silently wrong."""
    from corpus import cf_inplace_alias
    with pytest.raises(SourceDiffError, match="in-place update of 'z'") as e:
        grad(cf_inplace_alias)(np.ones(3))
    assert "np.zeros_like" in str(e.value)

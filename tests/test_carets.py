"""Error carets sit under the offending sub-expression (its ``col_offset`` to its
``end_col_offset``), not at column 0 of the statement, also where normalisation moved the
expression into a temporary, and in functions indented inside another."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sourcediff import MissingRuleError, SourceDiffError, UnsupportedSyntaxError, grad, jvp
from sourcediff.errors import columns


def no_rule_inside(x):
    s = 1.0 + math.gamma(x) * 2.0
    return s


def no_rule_in_return(x):
    a = x * 2.0
    return np.sum(np.unique(a)) + 1.0


def generator(x):
    return 3.0 * x + (yield x)


def declares_global(x):
    global _never_set
    return x


def passes_a_closure(x):
    def h(y):
        return x * y
    return np.sum(list(map(h, [1.0, 2.0])))


def updates_a_view(x):
    z = x.T
    z[0] = x[0] * 3.0
    return np.sum(z)


def make_indented():
    def indented(x):
        if x > 0:
            return 1.0 + math.gamma(x)
        return x
    return indented


def caret(err):
    """The text the caret line underlines, and the caret line itself."""
    lines = str(err).splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() and set(line.strip()) == {"^"})
    shown, marks = lines[at - 1], lines[at]
    start = len(marks) - len(marks.lstrip())
    return shown[start:len(marks)], marks


CASES = [
    (no_rule_inside, 1.5, MissingRuleError, "math.gamma(x)"),
    (no_rule_in_return, np.ones(3), MissingRuleError, "np.unique(a)"),
    (generator, 1.0, UnsupportedSyntaxError, "yield x"),
    (declares_global, 1.0, UnsupportedSyntaxError, "global _never_set"),
    (passes_a_closure, 1.0, MissingRuleError, "h"),
    (updates_a_view, np.ones(3), UnsupportedSyntaxError, "z[0]"),
    (make_indented(), 1.5, MissingRuleError, "math.gamma(x)"),
]


@pytest.mark.parametrize("fn,arg,error,underlined", CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_caret_under_the_construct_in_reverse_mode(fn, arg, error, underlined):
    with pytest.raises(error) as info:
        grad(fn)(arg)
    assert caret(info.value)[0] == underlined, str(info.value)


@pytest.mark.parametrize("fn,arg,underlined", [
    (no_rule_inside, 1.5, "math.gamma(x)"),
    (no_rule_in_return, np.ones(3), "np.unique(a)"),
])
def test_caret_under_the_construct_in_forward_mode(fn, arg, underlined):
    with pytest.raises(MissingRuleError) as info:
        jvp(fn, (arg,), (arg,))
    assert caret(info.value)[0] == underlined, str(info.value)


def test_caret_formatting():
    line = "    y = 2.0 * np.foo(x)\n"
    err = SourceDiffError("boom", source_line=line, col=14, end_col=22)
    assert caret(err)[0] == "np.foo(x" and caret(err)[1].strip() == "^" * 8
    one = SourceDiffError("boom", source_line=line, col=14)   # no end: one caret
    assert caret(one)[1].strip() == "^"
    past = SourceDiffError("boom", source_line=line, col=14, end_col=99)  # clipped
    assert caret(past)[0] == "np.foo(x)"


def test_columns_of_a_node():
    import ast
    stmt = ast.parse("y = f(x) + 1").body[0]
    assert columns(stmt) == {"col": 0, "end_col": 12}
    assert columns(stmt, value=True) == {"col": 4, "end_col": 12}
    multi = ast.parse("y = f(x,\n      z)").body[0]
    assert columns(multi, value=True) == {"col": 4, "end_col": None}
    assert columns(object()) == {"col": None, "end_col": None}

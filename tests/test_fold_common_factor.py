"""fold's common factor (``c * a + c * b * d`` -> ``c * (a + b * d)``): only for a power
of two ``c``, whose scaling is exact, so the values are bit for bit the same; and a sum
of two region updates merged into one (``regions.merge_updates``) is folded like any
other expression, so the rule reaches it."""

from __future__ import annotations

import astor
import gast
import numpy as np
import pytest

from sourcediff.ir import nodes as N
from sourcediff.opt.fold import folded


def _folded(src):
    out = astor.to_source(gast.gast_to_ast(folded(N.parse_expr(src)))).strip()
    return out[1:-1] if out.startswith("(") and out.endswith(")") else out  # (astor's)


@pytest.mark.parametrize("src, want", [
    ("-2.0 * (1.0 - u) + -2 * g * u", "-2.0 * (1.0 - u + g * u)"),
    ("0.5 * a - 0.5 * b", "0.5 * (a - b)"),
    ("4 * a * b + 4 * c", "4 * (a * b + c)"),
])
def test_a_power_of_two_common_to_both_terms_is_taken_out(src, want):
    assert _folded(src) == want


@pytest.mark.parametrize("src", [
    "0.1 * a + 0.1 * b",          # not exact: stays
    "2.0 * a + 4.0 * b",          # not common
    "2.0 * a + b",                # one side only
    "2.0 * (a > 0) + 2.0 * b",    # a mask: 2.0 * mask is a float, the mask alone is not
])
def test_other_sums_stay(src):
    assert _folded(src) == _folded_without_rule(src)


def _folded_without_rule(src):
    from sourcediff.opt import fold
    saved = fold._common_factor
    fold._common_factor = lambda *a: None
    try:
        return _folded(src)
    finally:
        fold._common_factor = saved


def test_the_common_factor_changes_no_bit():
    rng = np.random.default_rng(0)
    u, g = rng.standard_normal(1000), 1e3 * rng.standard_normal(1000)
    before = -2.0 * (1.0 - u) + -2 * g * u
    after = -2.0 * (1.0 - u + g * u)
    assert np.array_equal(before, after)

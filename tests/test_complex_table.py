"""Issue #18: every rule of the table on complex input, where NumPy defines the function
for complex values, against central differences along the real and the imaginary
direction of each entry (autograd's convention, docs/complex.md): order 1 in reverse
(compiled and tape) and forward, order 2 by forward over reverse.

The cases are test_composition's (one expression per rule, the rule called as ``P``),
run at a complex ``x``; the loss ``sum(out * out + sin(out))`` is complex, so the
gradient is that of its real part. A function NumPy refuses for complex values (a
TypeError, or a ComplexWarning: ``np.floor``, ``np.arctan2``, ``np.maximum``'s ...) is
skipped; a rule sourcediff refuses for complex input must say so (a MissingRuleError).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from checks import fd_complex
from sourcediff import grad, jvp, tape
from sourcediff.errors import MissingRuleError
from test_composition import CASES, SKIPS, X0, _loss_of, _rules

Z0 = X0 + 1j * np.array([[0.27, -0.35, 0.12], [0.41, 0.19, -0.23]])
DIRECTIONS = (np.cos(np.arange(6.0)).reshape(2, 3), 1j * np.sin(np.arange(6.0) + 1).reshape(2, 3))
# losses that do not depend on the phase NumPy picks for each complex eigen- or singular
# vector (the real cases square them: a sign)
PHASE_FREE = {"np.linalg.eigh": "np.abs(P(x @ x.T + np.diag([1.0, 2.0]))[1]) ** 2",
              "np.linalg.svd": "svd_abs(x)",
              # (the real case's values, moved off the axis, make sin(out) overflow)
              "sourcediff.runtime.numeric_cot.sinc_dn": "P(x * 3.0 - 1.0, 3) * 0.01"}
NOT_HERE = {  # rule -> why it is not run on complex input here
    "sourcediff.runtime.linalg.norm_vjp": "a norm's cotangent is real (the case passes a complex one)",
    "sourcediff.runtime.numeric_cot.norm_x_cot": "as norm_vjp",
}
NAMES = sorted(n for n in set(_rules()) & set(CASES) - set(SKIPS) - set(NOT_HERE)
               if CASES[n][0] == "a")


def svd_abs(x):
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    return np.concatenate([np.ravel(np.abs(u) ** 2), s, np.ravel(np.abs(vh) ** 2),
                           np.ravel(u @ vh), np.linalg.svd(x, compute_uv=False)])


def _defined_for_complex(f):
    """NumPy computes f at Z0 (no TypeError, no ComplexWarning, a finite value)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return bool(np.all(np.isfinite(f(Z0))))
        except Exception:
            return False


@pytest.mark.parametrize("name", NAMES)
def test_rule_on_complex_input(name):
    f = _loss_of(name + " complex", _rules()[name], PHASE_FREE.get(name, CASES[name][1]),
                 svd_abs=svd_abs)
    if not _defined_for_complex(f):
        pytest.skip("not defined for complex values by NumPy")
    want = fd_complex(f, Z0)
    try:
        g = grad(f)(Z0)
    except MissingRuleError as e:
        assert "complex" in str(e)
        return
    assert np.allclose(g, want, rtol=1e-5, atol=1e-6), ("reverse", name)
    if not name.startswith(("sourcediff.", "builtins.")):  # (as in test_composition)
        assert np.allclose(tape.grad(f)(Z0), want, rtol=1e-5, atol=1e-6), ("tape", name)
    for v in DIRECTIONS:
        t = jvp(f, (Z0,), (v,))[1]
        assert np.allclose(t, (f(Z0 + 1e-6 * v) - f(Z0 - 1e-6 * v)) / 2e-6, rtol=1e-5,
                           atol=1e-6), ("forward", name)
    v = DIRECTIONS[0] + DIRECTIONS[1]
    df = grad(f)
    try:
        t = jvp(df, (Z0,), (v,))[1]
    except MissingRuleError as e:   # (digamma's derivative: SciPy has no complex polygamma)
        assert "complex" in str(e)
        return
    assert np.allclose(t, (df(Z0 + 1e-5 * v) - df(Z0 - 1e-5 * v)) / 2e-5, rtol=1e-4,
                       atol=1e-5), ("forward over reverse", name)

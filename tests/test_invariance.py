"""A shift the output does not depend on (sourcediff/ad/invariance.py).

``m`` subtracted before ``exp`` and added back after ``log`` (log-sum-exp), or divided
out of a softmax, cancels exactly: its derivative is zero, so no adjoint reaches it and
nothing is spread back through the max. Each case checks the gradient against central
differences, and the generated source: no ``unreduce_select`` where the shift cancels,
and the max's adjoint kept where it does not.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_grad

import sourcediff as sd


def _check(f, args, wrt=0):
    g = sd.grad(f, wrt=wrt)
    got = g(*args)
    got = got if isinstance(got, tuple) else (got,)
    for a, b in zip(got, numeric_grad(f, args, wrt if isinstance(wrt, tuple) else (wrt,))):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    return sd.source(g)


def lse_rows(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1)))


def lse_all(z):
    m = np.max(z)
    return np.log(np.sum(np.exp(z - m))) + m


def softmax_loss(z, w):
    s = z - np.max(z, axis=1, keepdims=True)
    p = np.exp(s)
    p = p / np.sum(p, axis=1, keepdims=True)
    return np.sum(p * w)


def lse_twice_m(z):
    m = np.max(z)
    return np.log(np.sum(np.exp(z - m))) + 2.0 * m      # not invariant: m counts once


def lse_scaled(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(2.0 * (z - m)), axis=1)))   # exp(2 (z - m))


def shift_along_reduced_axis(z):
    m = np.max(z, axis=0, keepdims=True)                 # constant along axis 0 only
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1)))


Z = np.random.default_rng(0).standard_normal((5, 4))
W = np.random.default_rng(1).standard_normal((5, 4))


@pytest.mark.parametrize("f", [lse_rows, lse_all])
def test_log_sum_exp_shift_cancels(f):
    src = _check(f, (Z,))
    assert "unreduce_select" not in src and "m_bar" not in src


def test_softmax_shift_cancels():
    src = _check(softmax_loss, (Z, W), 0)
    assert "unreduce_select" not in src


@pytest.mark.parametrize("f", [lse_twice_m, lse_scaled, shift_along_reduced_axis])
def test_a_shift_that_does_not_cancel_keeps_its_adjoint(f):
    src = _check(f, (Z,))
    assert "unreduce_select" in src or "m_bar" in src

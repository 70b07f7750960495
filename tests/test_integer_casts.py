"""A cast to an integer or boolean dtype is piecewise constant: its derivative is zero
(found by running autograd's own test suite against sourcediff, scripts/peer_suite/).
``x.astype(int)`` and ``np.asarray(x, dtype=int)`` used to pass the cotangent through as
if the cast were the identity (a silent wrong gradient), and ``np.int64(x)`` had no rule.
Each is checked against hand-computed derivatives and central differences, in reverse
and forward mode, on the tape, and at order 2."""

from __future__ import annotations

import numpy as np
import pytest

from checks import fd
from sourcediff import MissingRuleError, grad, hessian, jvp, tape

W = np.array([2.3, 1.5, -0.6])


def squared_times_floor(w):
    return np.sum(w ** 2 * w.astype(int))  # d/dw: 2 w int(w)


def sine_times_cast(w):
    return np.sum(np.sin(w) * np.asarray(w, dtype=np.int32))  # cos(w) int(w)


def scaled_by_first(w):
    return np.sum(w ** 3 * np.int64(w[0]))  # 3 w^2 int(w[0])


def masked_by_bool(w):
    return np.sum(w * np.array(w > 0.0, dtype=bool) * w)  # 2 w [w > 0]


def cast_to_float(w):
    return np.sum(w.astype("float64") * np.asarray(w, dtype=complex).real)  # passes: 2 w


CASES = [
    (squared_times_floor, lambda w: 2 * w * np.trunc(w), lambda w: 2 * np.trunc(w)),
    (sine_times_cast, lambda w: np.cos(w) * np.trunc(w), lambda w: -np.sin(w) * np.trunc(w)),
    (scaled_by_first, lambda w: 3 * w ** 2 * np.trunc(w[0]), lambda w: 6 * w * np.trunc(w[0])),
    (masked_by_bool, lambda w: 2 * w * (w > 0), lambda w: 2.0 * (w > 0)),
]


@pytest.mark.parametrize("f, first, second", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_an_integer_cast_has_a_zero_derivative(f, first, second):
    np.testing.assert_allclose(grad(f)(W), first(W), rtol=1e-12)
    np.testing.assert_allclose(grad(f)(W), fd(f, W), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(tape.grad(f)(W), first(W), rtol=1e-12)
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(jvp(f, (W,), (v,))[1], np.dot(first(W), v), rtol=1e-12)
    np.testing.assert_allclose(np.diag(hessian(f)(W)), second(W), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hessian(f)(W), fd(grad(f), W, 1e-5), rtol=1e-6, atol=1e-8)


def test_a_float_cast_passes_the_derivative():
    np.testing.assert_allclose(grad(cast_to_float)(W), fd(cast_to_float, W), rtol=1e-6)
    np.testing.assert_allclose(grad(cast_to_float)(W), 2 * W, rtol=1e-12)
    np.testing.assert_allclose(jvp(cast_to_float, (W,), (W,))[1], 2 * W @ W, rtol=1e-12)


def cast_to_given(w, dt):
    return np.sum(w * w.astype(dt))  # the dtype known at run time only


@pytest.mark.parametrize("dt, scale", [(int, 0.0), (bool, 0.0), (float, 1.0), ("float32", 1.0)])
def test_a_cast_to_a_dtype_known_at_run_time(dt, scale):
    """d/dw [w cast(w)] = cast(w) + w cast'(w): cast' is 1 for a float dtype, else 0."""
    cast = W.astype(dt).astype(float)
    want = cast + scale * W
    np.testing.assert_allclose(grad(cast_to_given)(W, dt), want, rtol=1e-6)
    np.testing.assert_allclose(tape.grad(cast_to_given)(W, dt), want, rtol=1e-6)
    np.testing.assert_allclose(hessian(cast_to_given)(W, dt), np.diag(2 * scale * np.ones(3)),
                               atol=1e-12)


def test_a_cast_to_an_object_dtype_is_refused():
    with pytest.raises(MissingRuleError, match="a cast to dtype object"):
        grad(cast_to_given)(W, object)

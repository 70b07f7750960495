"""Every function the table declares non-differentiable is locally constant in each float
value it takes: a declaration that hides a real dependence (``np.linspace(x, y)``,
``np.full(shape, x)``, ``np.arange(x, 10.0)`` once were) is a silent zero gradient.

Each declared function has sample calls here, a function of one float array ``x`` at a
point away from the function's jumps; the test perturbs ``x`` slightly and asserts the
result is unchanged. Functions that take no float value (shapes, flags, lists) are
listed with the reason instead."""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np
import pytest

import sourcediff  # noqa: F401  (the table registers on import)
from sourcediff.runtime import numeric as nm
from sourcediff.runtime import numeric_complex as nx
from sourcediff.runtime import numeric_cot as nc
from sourcediff.runtime import numeric_linalg as nl
from sourcediff.runtime import numeric_matfun as mf
from sourcediff.runtime import numeric_stats as ns_
from sourcediff.runtime import numeric_shape as ns
from sourcediff.prims import registry
from sourcediff import runtime as rt

X = np.array([[0.31, -1.27, 2.53], [0.77, 1.91, -0.42]])
S = 0.37  # a scalar sample


def _x(x):
    return x


SAMPLES = {  # qualified name -> calls f(x) of a float array (or scalar) x
    "np.floor": [np.floor], "np.ceil": [np.ceil],
    "np.round": [lambda x: np.round(x, 1)], "np.around": [lambda x: np.around(x, 1)],
    "np.rint": [np.rint], "np.trunc": [np.trunc], "np.argmax": [lambda x: np.argmax(x, 1)],
    "np.argmin": [np.argmin], "np.argsort": [np.argsort],
    "np.searchsorted": [lambda x: np.searchsorted(np.array([-1.0, 0.5, 2.0]), x)],
    "np.argpartition": [lambda x: np.argpartition(x.ravel(), 2)],
    "np.shape": [np.shape], "np.ndim": [np.ndim], "np.size": [np.size],
    "gammasgn": [lambda x: __import__("scipy.special").special.gammasgn(x * 3.0)],
    "builtins.len": [builtins.len], "np.zeros_like": [np.zeros_like],
    "np.ones_like": [np.ones_like], "np.empty_like": [lambda x: np.empty_like(x).shape],
    "np.isnan": [np.isnan], "np.isinf": [np.isinf], "np.isfinite": [np.isfinite],
    "np.imag": [np.imag],
    "np.equal": [lambda x: np.equal(x, 0.5)], "np.not_equal": [lambda x: np.not_equal(x, 1.0)],
    "np.less": [lambda x: np.less(x, 0.5)], "np.less_equal": [lambda x: np.less_equal(x, 0.5)],
    "np.greater": [lambda x: np.greater(x, 0.5)],
    "np.greater_equal": [lambda x: np.greater_equal(x, 0.5)],
    "np.logical_and": [lambda x: np.logical_and(x, x > 0)],
    "np.logical_or": [lambda x: np.logical_or(x, x > 0)], "np.logical_not": [np.logical_not],
    "np.all": [lambda x: np.all(x > 0)], "np.any": [lambda x: np.any(x > 2)],
    "np.nonzero": [lambda x: np.nonzero(x > 0)],
    "np.floor_divide": [lambda x: np.floor_divide(x, 0.3), lambda x: np.floor_divide(5.0, x)],
    "builtins.int": [lambda x: int(x[0, 0] * 10)], "builtins.round": [lambda x: round(x[0, 0], 1)],
    "builtins.bool": [lambda x: bool(x[0, 0])],
    **{f"np.{t.__name__}": [lambda x, t=t: t(x[0, 2] * 10), lambda x, t=t: t(np.abs(x) * 10)]
       for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                 np.uint64, np.bool_)},
    "sourcediff.runtime.numeric.int_cast": [lambda x: nm.int_cast(x * 3.0, np.int64),
                                            lambda x: nm.int_cast(x > 0.5, bool, True)],
    "builtins.isinstance": [lambda x: isinstance(x, np.ndarray)],
    "math.floor": [lambda x: math.floor(x[0, 1])], "math.ceil": [lambda x: math.ceil(x[0, 1])],
    "math.trunc": [lambda x: math.trunc(x[0, 2])],
    "operator.floordiv": [lambda x: operator.floordiv(x, 0.3)],
    "operator.lt": [lambda x: operator.lt(x, 0.5)], "operator.le": [lambda x: operator.le(x, 0.5)],
    "operator.gt": [lambda x: operator.gt(x, 0.5)], "operator.ge": [lambda x: operator.ge(x, 0.5)],
    "operator.eq": [lambda x: operator.eq(x, 0.5)], "operator.ne": [lambda x: operator.ne(x, 0.5)],
    "operator.not_": [lambda x: operator.not_(x[0, 0])],
    "np.allclose": [lambda x: np.allclose(x, 0.0)], "np.isclose": [lambda x: np.isclose(x, 0.5)],
    "np.array_equal": [lambda x: np.array_equal(x, X + 1.0)],
    "np.result_type": [lambda x: np.result_type(x, 1.0)],
    "np.iscomplexobj": [np.iscomplexobj], "np.isrealobj": [np.isrealobj],
    "np.count_nonzero": [lambda x: np.count_nonzero(x > 0)],
    "np.argwhere": [lambda x: np.argwhere(x > 0)], "np.flatnonzero": [lambda x: np.flatnonzero(x > 0)],
    "math.isnan": [lambda x: math.isnan(x[0, 0])], "math.isinf": [lambda x: math.isinf(x[0, 0])],
    "math.isfinite": [lambda x: math.isfinite(x[0, 0])],
    "math.isclose": [lambda x: math.isclose(x[0, 0], 0.5)],
    "sourcediff.runtime.broadcast.reduced_count": [lambda x: rt.reduced_count(x, np.sum(x, 0))],
    "sourcediff.runtime.cot.clip_mask": [lambda x: rt.clip_mask(x, -1.0, 1.0),
                                     lambda x: rt.clip_mask(X, x[0, 0] - 2.0, x[0, 1] + 3.0)],
    "sourcediff.runtime.numeric.r_range_weights": [lambda x: nm.r_range_weights(0.5, x.ravel()),
                                           lambda x: nm.r_range_weights(3j, x.ravel())],
    "sourcediff.runtime.cot.zeros_for": [rt.zeros_for], "sourcediff.runtime.cot.zeros_like_grad":
    [rt.zeros_like_grad], "sourcediff.runtime.cot.zeros_tangent": [rt.zeros_tangent],
    "sourcediff.runtime.numeric_shape.pad_mask": [lambda x: ns.pad_mask(x, 1),
                                          lambda x: ns.pad_mask(X, 1, x[0, 0])],
    "sourcediff.runtime.numeric_shape.select_rest": [lambda x: ns.select_rest([x > 0], x)],
    "sourcediff.runtime.numeric_linalg.qr_guard": [lambda x: nl.qr_guard(x.T)],
    "sourcediff.runtime.numeric_complex.real_or_refuse": [lambda x: nx.real_or_refuse(x, "f")],
    "sourcediff.runtime.linalg.norm_axes": [lambda x: rt.norm_axes(x, 2, (0, 1)), rt.norm_axes],
    "sourcediff.runtime.linalg.norm_curvature": [lambda x: rt.norm_curvature(x.ravel(), 3),
                                          lambda x: rt.norm_curvature(x, 1, (0, 1))],
    "sourcediff.runtime.numeric_cot.norm_third": [lambda x: nc.norm_third(x, None),
                                          lambda x: nc.norm_third(x.ravel(), 1)],
    "sourcediff.runtime.numeric_linalg.svd_guard": [
        lambda x: nl.svd_guard((x[:, :2], x[0], x[:, 1:]), np.linalg.svd(X[:, :2]), X[:, :2])],
    "sourcediff.runtime.numeric_matfun.lstsq_guard": [lambda x: mf.lstsq_guard((x, x, x, None), None)],
    "sourcediff.runtime.numeric_matfun.cho_rest": [lambda x: mf.cho_rest((np.triu(x @ x.T), False),
                                                                 x @ x.T)],
    "sourcediff.runtime.numeric_stats.mvn_dim": [lambda x: ns_.mvn_dim(x[0], x.T @ x),
                                         lambda x: ns_.mvn_dim(None, x.T @ x)],
    "sourcediff.runtime.numeric_stats.mvn_xshape": [lambda x: ns_.mvn_xshape(x, x[0], x.T @ x)],
    # an index: max(seq) is seq[index_of_max(seq)] (the item's value carries the gradient)
    "sourcediff.runtime.numeric.index_of_max": [lambda x: nm.index_of_max(x.ravel()),
                                                lambda x: nm.index_of_max(list(x[0]))],
    "sourcediff.runtime.numeric.index_of_min": [lambda x: nm.index_of_min(x.ravel()),
                                                lambda x: nm.index_of_min(tuple(x[:, 0]))],
}
NO_FLOAT_INPUT = {  # qualified name -> why no float value reaches it
    "builtins.range": "integers", "np.zeros": "a shape", "np.ones": "a shape",
    "np.empty": "a shape", "np.eye": "sizes", "np.identity": "a size",
    "np.random.rand": "a shape", "np.random.randn": "a shape",
    "np.bitwise_and": "integers", "np.bitwise_or": "integers", "np.bitwise_xor": "integers",
    "np.invert": "integers", "operator.and_": "integers or bools",
    "operator.or_": "integers or bools", "operator.xor": "integers or bools",
    "operator.invert": "integers", "operator.lshift": "integers",
    "operator.rshift": "integers", "sourcediff.runtime.numeric_shape.pad_mode": "a mode string",
    "sourcediff.runtime.numeric_shape.rollaxis_dest": "axis numbers",
    "sourcediff.prims.rules_scipy.tri_trans": "a flag", "sourcediff.runtime.cot.keys_of": "a dict's keys",
    "sourcediff.runtime.calls.adjoint_fn": "a function", "sourcediff.runtime.calls.tangent_fn": "a function",
    "sourcediff.runtime.calls.method_adjoint_fn": "a method",
    "sourcediff.runtime.calls.method_tangent_fn": "a method", "sourcediff.runtime.splitcall.pair_fn": "a function",
    "sourcediff.runtime.splitcall.split_res_fn": "a function",
    "sourcediff.runtime.splitcall.pullback_res_fn": "a function",
    # generated code only: a residual whose tangent is zero by construction (a loop's range,
    # a length, data read from outside: split.to_residual_form decides)
    "sourcediff.runtime.splitcall.held": "residuals chosen by the compiler",
    "sourcediff.runtime.numeric_fft.swap_norm": "a norm string",
    "sourcediff.runtime.numeric.einsum_subscripts": "einsum's integer sublists",
    "sourcediff.runtime.numeric_fft.fft_axes": "an array's axes (its shape)",
}


def _declared():
    return {registry.qualified_name(f) for f in registry._NONDIFF.values()}


def test_every_declared_function_has_a_sample_or_a_reason():
    missing = sorted(_declared() - set(SAMPLES) - set(NO_FLOAT_INPUT))
    assert not missing, f"add samples (or a reason) for: {missing}"


def _same(a, b):
    if isinstance(a, tuple) and not isinstance(a, np.ndarray):
        return len(a) == len(b) and all(_same(p, q) for p, q in zip(a, b))
    return np.array_equal(np.asarray(a), np.asarray(b)) and type(a) is type(b)


@pytest.mark.parametrize("name", sorted(set(SAMPLES) & _declared()))
def test_declared_function_is_locally_constant(name):
    for call in SAMPLES[name]:
        for x0 in (X, X * 0.9 + 0.05):
            for h in (1e-7, -1e-7):
                assert _same(call(x0), call(x0 + h)), (name, call)


@pytest.mark.parametrize("call", [lambda x: np.linspace(x, 2.0, 4), lambda x: np.full(3, x),
                                  lambda x: np.arange(x, 3.0), lambda x: np.heaviside(0.0, x),
                                  lambda x: np.full_like(X, x),
                                  lambda x: np.fft.fftfreq(4, x)])
def test_the_audit_catches_a_hidden_dependence(call):
    """The check above would have failed on the functions once declared by mistake."""
    assert not _same(call(S), call(S + 1e-7))

"""The corpus (tests/corpus.py) against finite differences, for the compiler and the tape.

For every case and mode: the gradient matches central finite differences;
its type, shape and dtype match the argument (float32 in -> float32 out,
Python float in -> Python float out); arguments are not mutated; and
``value_and_grad``'s value equals ``f(*args)``.

Known compiler/tape bugs are strict xfails (listed in corpus.py), so the suite
stays green and a fix shows up as an XPASS to remove from the list.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from conftest import (
    assert_grad_close,
    assert_unchanged,
    numeric_grad,
    snapshot,
    tolerances,
)
from corpus import CASES, COMPILER_BUGS, TAPE_BUGS, TAPE_UNSUPPORTED

import sourcediff
from sourcediff.values.structure import resolve_wrt

from sourcediff import tape as _tape

MODES = ["compile", "tape"]
CHECKS = ["fd", "types", "mutation", "value"]


def _api(mode):
    if mode == "compile":
        return sourcediff.grad, sourcediff.value_and_grad
    return _tape.grad, _tape.value_and_grad


def _lookup(table, case, check):
    return table.get(f"{case.id}::{check}") or table.get(case.id)


def _params(check):
    out = []
    for c in CASES:
        for mode in MODES:
            marks = []
            if mode == "compile":
                bug = _lookup(COMPILER_BUGS, c, check)
                if bug:
                    marks.append(pytest.mark.xfail(reason=f"compiler bug: {bug}", strict=True))
            else:
                why = _lookup(TAPE_UNSUPPORTED, c, check)
                if why:
                    marks.append(pytest.mark.skip(reason=f"tape limitation: {why}"))
                bug = _lookup(TAPE_BUGS, c, check)
                if bug:
                    marks.append(pytest.mark.xfail(reason=f"tape bug: {bug}", strict=True))
            out.append(pytest.param(c, mode, id=f"{c.id}-{mode}", marks=marks))
    return out


def _setup(case):
    args = case.args(np.random.default_rng(zlib.crc32(case.id.encode())))
    wrt, single = resolve_wrt(case.fn, case.wrt)
    return args, wrt, single


def _as_tuple(g, single):
    return (g,) if single else tuple(g)


@pytest.mark.parametrize("case,mode", _params("fd"))
def test_matches_finite_differences(case, mode):
    grad, _ = _api(mode)
    args, wrt, single = _setup(case)
    got = _as_tuple(grad(case.fn, case.wrt)(*args), single)
    expected = numeric_grad(case.fn, args, wrt)
    rtol, atol = tolerances(args, wrt)
    assert len(got) == len(expected)
    for i, g, e in zip(wrt, got, expected):
        assert_grad_close(g, e, rtol, atol, what=f"d{case.fn.__name__}/d(arg {i})")


@pytest.mark.parametrize("case,mode", _params("types"))
def test_gradient_type_shape_dtype(case, mode):
    grad, _ = _api(mode)
    args, wrt, single = _setup(case)
    result = grad(case.fn, case.wrt)(*args)
    if single:
        assert not isinstance(result, tuple), "single wrt must not give a tuple"
    else:
        assert isinstance(result, tuple) and len(result) == len(wrt)
    for i, g in zip(wrt, _as_tuple(result, single)):
        a = args[i]
        if type(a) is float:
            assert type(g) is float, f"arg {i} is a Python float, gradient is {type(g)}"
        elif isinstance(a, np.ndarray):
            assert isinstance(g, np.ndarray), f"arg {i} is an array, gradient is {type(g)}"
            assert g.shape == a.shape, f"arg {i}: shape {g.shape} != {a.shape}"
            assert g.dtype == a.dtype, f"arg {i}: dtype {g.dtype} != {a.dtype}"
        else:  # NumPy scalar
            assert np.shape(g) == (), f"arg {i}: gradient shape {np.shape(g)}"
            assert np.asarray(g).dtype == np.asarray(a).dtype, (
                f"arg {i}: dtype {np.asarray(g).dtype} != {np.asarray(a).dtype}")


@pytest.mark.parametrize("case,mode", _params("mutation"))
def test_arguments_not_mutated(case, mode):
    grad, _ = _api(mode)
    args, _, _ = _setup(case)
    before = snapshot(args)
    grad(case.fn, case.wrt)(*args)
    assert_unchanged(before, args)


@pytest.mark.parametrize("case,mode", _params("value"))
def test_value_and_grad_value(case, mode):
    _, value_and_grad = _api(mode)
    args, _, _ = _setup(case)
    expected = case.fn(*snapshot(args))
    value, _ = value_and_grad(case.fn, case.wrt)(*args)
    assert np.shape(value) == ()
    assert not hasattr(value, "_sd_stop_gradient") and type(value).__name__ != "Tracer"
    np.testing.assert_allclose(np.asarray(value, dtype=np.float64),
                               np.asarray(expected, dtype=np.float64), rtol=1e-12, atol=1e-14)
    if type(expected) is float:
        assert isinstance(value, float)


def _forward_cases():
    return [pytest.param(c, id=c.id) for c in CASES]


def _direction(x, rng):
    if isinstance(x, float):
        return float(rng.standard_normal())
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
        return rng.standard_normal(x.shape).astype(x.dtype)
    if isinstance(x, dict):
        return {k: _direction(v, rng) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_direction(v, rng) for v in x)
    return None


def _dot(g, v):
    if isinstance(g, dict):
        return sum(_dot(g[k], v[k]) for k in g)
    if isinstance(g, (list, tuple)):
        return sum(_dot(a, b) for a, b in zip(g, v))
    return float(np.sum(np.asarray(g, dtype=float) * np.asarray(v, dtype=float)))


def _zero(x):
    if isinstance(x, float):
        return 0.0
    if isinstance(x, np.ndarray):
        return np.zeros_like(x, dtype=float) if x.dtype.kind != "f" else np.zeros_like(x)
    if isinstance(x, dict):
        return {k: _zero(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_zero(v) for v in x)
    return None


@pytest.mark.parametrize("case", _forward_cases())
def test_forward_mode_agrees_with_reverse(case):
    """jvp along a random direction equals the gradient dotted with that direction."""
    args, wrt, _ = _setup(case)
    rng = np.random.default_rng(1)
    tangents = [_zero(a) for a in args]
    for i in wrt:
        tangents[i] = _direction(args[i], rng)
    if any(t is None for t in tangents):
        pytest.skip("an argument with no tangent space (int, str, object)")
    if any(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in args):
        pytest.skip("float32: compared in test_gradient_type_shape_dtype")
    grads = sourcediff.grad(case.fn, wrt=wrt)(*snapshot(args))
    expected = sum(_dot(g, tangents[i]) for g, i in zip(grads, wrt))
    try:
        _, tangent_out = sourcediff.jvp(case.fn, snapshot(args), tangents)
    except sourcediff.errors.MissingRuleError as exc:
        assert "defjvp" in str(exc)  # a primitive given only a reverse rule
        pytest.skip("a primitive without a forward rule")
    np.testing.assert_allclose(float(tangent_out), expected, rtol=1e-7, atol=1e-9)

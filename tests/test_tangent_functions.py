"""Google Tangent's reverse-mode test functions, on the compiler and on the tape.

The functions are re-typed in ``tests/tangent_functions.py`` (Apache-2.0, from
Google Tangent's tests/functions.py). Each one is differentiated with
``sourcediff.grad`` and with ``sourcediff.tape.grad`` with respect to all of its
float arguments and compared with central finite differences computed here in
float64. Inputs follow Tangent's conftest (scalars in [-2, 2], integers 1..3,
random vectors of length 3, 5 and 10), restricted to each function's domain
and kept away from its kinks.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import sourcediff
import tangent_functions as tfn
from sourcediff import SourceDiffError, tape

RTOL = 1e-5
ATOL = 1e-7

# --- a small finite-difference helper over floats, arrays, tuples, lists and dicts ------------


def _flatten(x):
    """(float64 vector of the leaves of ``x``, rebuild(vector) -> structure like ``x``)."""
    if isinstance(x, dict):
        keys = sorted(x)
        parts = [_flatten(x[k]) for k in keys]
        sizes = [len(v) for v, _ in parts]

        def rebuild(vec):
            out, at = {}, 0
            for k, (_, rb), n in zip(keys, parts, sizes):
                out[k] = rb(vec[at:at + n])
                at += n
            return out
        return _concat([v for v, _ in parts]), rebuild
    if isinstance(x, (tuple, list)):
        parts = [_flatten(v) for v in x]
        sizes = [len(v) for v, _ in parts]
        kind = type(x)

        def rebuild(vec):
            out, at = [], 0
            for (_, rb), n in zip(parts, sizes):
                out.append(rb(vec[at:at + n]))
                at += n
            return kind(out)
        return _concat([v for v, _ in parts]), rebuild
    if isinstance(x, np.ndarray):
        shape = x.shape
        return np.array(x, dtype=np.float64).ravel(), lambda vec: np.array(vec).reshape(shape)
    return np.array([float(x)]), lambda vec: float(vec[0])


def _concat(vecs):
    return np.concatenate(vecs) if vecs else np.zeros(0)


def numeric_grad(f, args, wrt, eps=1e-6):
    """Central differences of scalar ``f`` at ``args`` w.r.t. each index in ``wrt``.

    The function is always called on a deep copy of the arguments (some of
    Tangent's functions write into their argument). The step is scaled to each
    entry's magnitude.
    """
    grads = []
    for i in wrt:
        base, rebuild = _flatten(args[i])
        g = np.zeros_like(base)
        for k in range(base.size):
            h = eps * max(1.0, abs(base[k]))
            vals = []
            for step in (h, -h):
                v = base.copy()
                v[k] += step
                new = list(copy.deepcopy(args))
                new[i] = rebuild(v)
                vals.append(float(np.asarray(f(*new))))
            g[k] = (vals[0] - vals[1]) / (2.0 * h)
        grads.append(g)
    return grads


def _structure(x):
    if isinstance(x, dict):
        return {k: _structure(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return tuple(_structure(v) for v in x)
    if isinstance(x, np.ndarray) and x.ndim > 0:
        return ("array", x.shape)
    return "scalar"


def check_against_fd(grad_fn, func, args, wrt):
    """Compare ``grad_fn(func, wrt=wrt)(*args)`` with finite differences of ``func``."""
    before = copy.deepcopy(args)
    single = len(wrt) == 1
    got = grad_fn(func, wrt=wrt[0] if single else wrt)(*copy.deepcopy(args))
    got = (got,) if single else got
    assert isinstance(got, tuple) and len(got) == len(wrt)
    expected = numeric_grad(func, before, wrt)
    for i, g, e in zip(wrt, got, expected):
        assert _structure(g) == _structure(before[i]), (
            f"gradient of argument {i} has structure {_structure(g)}, "
            f"argument has {_structure(before[i])}")
        flat, _ = _flatten(g)
        scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
        np.testing.assert_allclose(flat, e, rtol=RTOL, atol=ATOL * scale,
                                   err_msg=f"d{func.__name__}/d(argument {i})")


# --- inputs ---------------------------------------------------------------------------------

SCALARS = (-2.0, -1.5, -1.0, -0.5, -0.1, 0.1, 0.5, 1.0, 1.5, 2.0)
INTEGERS = (1, 2, 3)
_rs = np.random.RandomState(0)
VECTORS = tuple(_rs.randn(n) for n in (3, 5, 10))

# Functions of one float ``a``, with the inputs they get (default: SCALARS).
UNARY = {
    "id_": None, "unary_sub": None, "tanh": None, "identity_assign": None,
    "increment": None, "gradname_aliasing": None, "overwrite_if": None,
    "test_binop_mul1": None, "test_binop_mul2": None, "test_binop_mul3": None,
    "test_binop_div1": None, "test_binop_div2": None, "test_binop_div3": None,
    "test_binop_sub1": None, "test_binop_sub2": None, "test_binop_sub3": None,
    "test_binop_add1": None, "test_binop_add2": None, "test_binop_add3": None,
    "nested_if": None, "multiarg_if": None, "fn_multiply": None,
    "test_anf_list": None, "test_list_and_subscript": None, "serial_if": None,
    "devilish_nested_if": None, "overwrite_ifelse": None, "overwrite_arg": None,
    "overwrite_non_arg": None, "third_pow": None, "direct_third_pow": None,
    "iter_third_pow1": None, "iter_third_pow2": None, "iterpower_static": None,
    "cond_iterpower1": None, "cond_iterpower2": None, "superfor_iterpower": None,
    "super_iterpower": None, "numpy_exp": None, "numpy_exp2": None,
    "numpy_sqrt": None, "numpy_cos": None, "numpy_sin": None, "numpy_tan": None,
    "numpy_cosh": None, "numpy_sinh": None, "numpy_tanh": None,
    # arccos and arcsin are defined on (-1, 1) only
    "numpy_arccos": (-0.5, -0.1, 0.1, 0.5), "numpy_arcsin": (-0.5, -0.1, 0.1, 0.5),
    "numpy_arctan": None,
    # |a| = 0.1 is exactly on the loop's exit test (a jump)
    "while_big": tuple(a for a in SCALARS if abs(a) != 0.1),
    "augassign": None, "gradgrad_pow_twice": None, "gradgrad_chain_of_mults": None,
    "gradgrad_chain_of_multcalls": None,
}

# Functions of one float vector ``x``.
VECTOR = (
    "sum_", "cast_sum_", "overwrite_call", "test_deep_anf_list", "test_subscript1",
    "test_subscript2", "test_subscript3", "test_implicit_indexing", "numpy_sum",
    "numpy_mean", "numpy_atleast_1d", "numpy_atleast_2d", "numpy_atleast_3d",
    "listcomp", "active_subscript", "init_array_grad_maybe_active", "slicing",
    "extended_slice",
)

# Functions of two floats ``a, b``: pairs away from a == b (multivar_if's kink).
PAIRS = ((2.0, -3.0), (-1.5, 0.5), (0.5, 1.5), (-0.1, -2.0))
BINARY = ("mul", "add", "multivar_if", "_inner_fn", "mul_with_call", "if_mul_with_call",
          "nested_call", "gradgrad_pow")

TRIPLES = ((2.0, -3.0, 0.5), (-1.5, 0.1, 1.0), (0.5, 1.5, -2.0))
TERNARY = ("saxpy", "saxpy_call", "saxpy_anf", "saxpy_overwrite")

# Functions of a float ``a`` and an integer ``n`` (differentiated w.r.t. ``a`` only).
WITH_INT = ("serial_for", "serial_ifthenfor", "serial_forthenif", "iterpower",
            "iterpower_with_call", "iterpower_with_nested_def")
INT_SCALARS = (-1.5, -0.5, 0.1, 1.0, 2.0)


def _bilinear_args():
    rs = np.random.RandomState(0)
    d = 3
    return (rs.randn(1, d), rs.randn(1, d), rs.randn(d, d), rs.randn(d, d), rs.randn(1, d))


def _logistic_args():
    rs = np.random.RandomState(1)
    label = np.zeros(5)
    label[1] = 1
    return (rs.rand(3), label, rs.randn(3, 5), rs.randn(5))


def _rnn_args():
    rs = np.random.RandomState(2)
    return (rs.randn(3, 2), rs.randn(2, 3))


def _det_args():
    rs = np.random.RandomState(3)
    return (rs.randn(3, 3) + 3.0 * np.eye(3),)


def _cases():
    """(id, function name, args, wrt) for every gradient test."""
    cases = []
    for name, inputs in UNARY.items():
        for a in SCALARS if inputs is None else inputs:
            cases.append((f"{name}-{a}", name, (a,), (0,)))
    for name in VECTOR:
        for x in VECTORS:
            cases.append((f"{name}-len{len(x)}", name, (x,), (0,)))
    for name in BINARY:
        for a, b in PAIRS:
            cases.append((f"{name}-{a}-{b}", name, (a, b), (0, 1)))
    for name in TERNARY:
        for a, b, c in TRIPLES:
            cases.append((f"{name}-{a}-{b}-{c}", name, (a, b, c), (0, 1, 2)))
    for name in WITH_INT:
        for a in INT_SCALARS:
            for n in INTEGERS:
                cases.append((f"{name}-{a}-n{n}", name, (a, n), (0,)))
    for i in range(3):
        cases.append((f"passthru_pack-i{i}", "passthru_pack", (2.0, -3.0, 0.5, i), (0, 1, 2)))
    for a, b, c in TRIPLES:
        tag = f"{a}-{b}-{c}"
        for name in ("unpacking_args_saxpy", "dict_wrapper", "passthru_unpack"):
            cases.append((f"{name}-{tag}", name, ((a, b, c),), (0,)))
        cases.append((f"dict_saxpy-{tag}", "dict_saxpy", (dict(a=a, b=b, c=c),), (0,)))
    cases.append(("nested_dict", "nested_dict", (dict(i=dict(j=3.0, k=4.0)),), (0,)))
    cases.append(("logistic_regression", "logistic_regression", _logistic_args(), (0, 2, 3)))
    cases.append(("det", "det", _det_args(), (0,)))
    cases.append(("rnn", "rnn", _rnn_args(), (0, 1)))
    cases.append(("bilinear", "bilinear", _bilinear_args(), (0, 1, 2, 3, 4)))
    return cases


CASES = _cases()

# Known sourcediff bugs, marked xfail(strict=True): {(mode, function name): reason}.
XFAIL = {}
# (None is refused now: in-place writes into an argument, test_subscript2 and 3, are
# differentiated as functions of the argument's value, on a copy of it. The refusals below
# are the tuple outputs; the tests over an empty table of refused cases are gone: an empty
# parametrisation fails at collection, pyproject.toml.)

MODES = {"compile": sourcediff.grad, "tape": tape.grad}


def _params(mode):
    params = []
    for case_id, name, args, wrt in CASES:
        marks = []
        if (mode, name) in XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=XFAIL[(mode, name)]))
        params.append(pytest.param(name, args, wrt, id=case_id, marks=marks))
    return params


@pytest.mark.parametrize("name, args, wrt", _params("compile"))
def test_compiler_matches_finite_differences(name, args, wrt):
    check_against_fd(sourcediff.grad, getattr(tfn, name), args, wrt)


@pytest.mark.parametrize("name, args, wrt", _params("tape"))
def test_tape_matches_finite_differences(name, args, wrt):
    check_against_fd(tape.grad, getattr(tfn, name), args, wrt)


def _assert_refused(mode, func, args, wrt, error, text):
    single = len(wrt) == 1
    with pytest.raises(SourceDiffError) as info:
        MODES[mode](func, wrt=wrt[0] if single else wrt)(*copy.deepcopy(args))
    err = info.value
    assert type(err).__name__ == error, str(err)
    assert text in str(err)
    assert err.hint, f"no hint in: {err}"


# --- the two functions with tuple outputs (Tangent does not differentiate them either) ----


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("a", SCALARS)
def test_fn_multiple_return_grad_refused(mode, a):
    _assert_refused(mode, tfn.fn_multiple_return, (a,), (0,), "NonScalarOutputError", "scalar")


def test_fn_multiple_return_grad_refused_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SyntaxWarning)
        _assert_refused("compile", tfn.fn_multiple_return, (1.5,), (0,),
                        "NonScalarOutputError", "scalar")


@pytest.mark.parametrize("vjp", [sourcediff.vjp, tape.vjp], ids=["compile", "tape"])
@pytest.mark.parametrize("a", SCALARS)
def test_fn_multiple_return_vjp(vjp, a):
    out, pullback = vjp(tfn.fn_multiple_return, a)
    assert out == (2 * a, a)
    (ct,) = pullback((1.0, 1.0))
    np.testing.assert_allclose(ct, 3.0, rtol=1e-12)
    (ct,) = pullback((0.5, -2.0))
    np.testing.assert_allclose(ct, -1.0, rtol=1e-12)


@pytest.mark.parametrize("mode, error, text", [
    ("compile", "NonScalarOutputError", "returns a tuple"),  # refused before running it
    ("tape", "ArgumentError", "np.arctan")])
def test_cart2polar_refused(mode, error, text):
    # np.arctan(b, a) passes a as the out= array (the original's comment says it
    # should be arctan2); NumPy itself rejects it for float arguments.
    with pytest.raises(TypeError):
        tfn.cart2polar(2.0, 1.0)
    _assert_refused(mode, tfn.cart2polar, (2.0, 1.0), (0, 1), error, text)


def test_every_ported_function_is_tested():
    tested = {name for _, name, _, _ in CASES} | {"fn_multiple_return", "cart2polar"}
    ported = {name for name, obj in vars(tfn).items()
              if callable(obj) and getattr(obj, "__module__", None) == tfn.__name__}
    assert ported == tested
    assert {name for _, name in XFAIL} <= tested


def test_fd_helper_catches_a_wrong_gradient():
    def wrong(func, wrt):
        return lambda a: 1.001 * sourcediff.grad(func, wrt=wrt)(a)

    check_against_fd(sourcediff.grad, tfn.third_pow, (1.5,), (0,))
    with pytest.raises(AssertionError):
        check_against_fd(wrong, tfn.third_pow, (1.5,), (0,))

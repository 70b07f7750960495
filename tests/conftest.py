"""Shared test helpers: careful central finite differences and comparisons, and a
corpus case's derivatives built as the compiler builds them (a refusal allowed)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest

from sourcediff.errors import SourceDiffError
from sourcediff.opt.inplace import kinds_of
from sourcediff.opt.shapes import spec_of
from sourcediff.pipeline import driver
from sourcediff.values.structure import resolve_wrt

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def _is_float32(a):
    return isinstance(a, (np.ndarray, np.floating)) and np.asarray(a).dtype == np.float32


def to_float64(args):
    """A copy of ``args`` with every float32 array/scalar cast to float64."""
    out = []
    for a in args:
        if _is_float32(a):
            a = np.asarray(a, dtype=np.float64) if isinstance(a, np.ndarray) else np.float64(a)
        out.append(a)
    return tuple(out)


def numeric_grad(f, args, wrt, eps=1e-6):
    """Central finite differences of scalar ``f`` at ``args`` for each index in ``wrt``.

    Works in float64 (float32 arguments are cast first). Each element is
    perturbed on its own, with a step scaled to its magnitude. Returns a tuple
    with one float64 array (or Python float for scalar arguments) per index.
    """
    args = to_float64(args)

    def call(new_args):
        return float(np.asarray(f(*copy.deepcopy(new_args))))

    grads = []
    for i in wrt:
        a = args[i]
        if isinstance(a, np.ndarray):
            base = np.array(a, dtype=np.float64)
            g = np.zeros_like(base)
            for k in np.ndindex(base.shape):
                h = eps * max(1.0, abs(base[k]))
                hi = base.copy()
                hi[k] += h
                lo = base.copy()
                lo[k] -= h
                fh = call(args[:i] + (hi,) + args[i + 1:])
                fl = call(args[:i] + (lo,) + args[i + 1:])
                g[k] = (fh - fl) / (2.0 * h)
            grads.append(g)
        else:
            x = float(a)
            h = eps * max(1.0, abs(x))
            wrap = type(a)
            fh = call(args[:i] + (wrap(x + h),) + args[i + 1:])
            fl = call(args[:i] + (wrap(x - h),) + args[i + 1:])
            grads.append((fh - fl) / (2.0 * h))
    return tuple(grads)


def fd(f, args, i, eps=1e-6):
    """Central differences of scalar ``f(*args)`` in argument ``i`` (see numeric_grad)."""
    return numeric_grad(f, tuple(args), (i,), eps)[0]


def tolerances(args, wrt):
    """(rtol, atol) for comparing against :func:`numeric_grad`."""
    if any(_is_float32(args[i]) for i in wrt) or any(_is_float32(a) for a in args):
        return 2e-3, 1e-4
    return 1e-5, 1e-7


def assert_grad_close(got, expected, rtol, atol, scale=1.0, what="gradient"):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol * max(1.0, scale),
                               err_msg=what)


def snapshot(args):
    return copy.deepcopy(args)


def assert_unchanged(before, after):
    assert len(before) == len(after)
    for i, (b, a) in enumerate(zip(before, after)):
        if isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray)
            assert a.dtype == b.dtype and a.shape == b.shape, f"argument {i} changed type"
            np.testing.assert_array_equal(a, b, err_msg=f"argument {i} was mutated")
        else:
            assert type(a) is type(b) and a == b, f"argument {i} was mutated"


def build_allowing_refusal(case, forward=False):
    """Build the adjoint of corpus ``case`` (and with ``forward`` its forward derivative
    too), specialised to the shapes and kinds of its arguments. A refusal
    (SourceDiffError) is fine: the callers check whatever ran before it."""
    args = case.args(np.random.default_rng(0))
    wrt, _ = resolve_wrt(case.fn, case.wrt)
    try:
        driver.build_adjoint(case.fn, wrt, specialize=spec_of(args), kinds=kinds_of(args))
        if forward:
            driver.build_jvp(case.fn, wrt, specialize=spec_of(args))
    except SourceDiffError:
        pass


@pytest.fixture
def rng():
    return np.random.default_rng(0)

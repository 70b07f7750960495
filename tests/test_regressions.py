"""Saved fuzz failures (tests/regressions/case_*.py), one per confirmed bug.

Each case defines ``f``, ``VALUES`` (the inputs), ``WRT``, ``CHECK`` ("grad": the
compiled gradient against finite differences; "jvp": forward mode against
``grad . v``) and ``BUG``: while the bug is open the case is a strict xfail, so a
fix shows up as an XPASS failure -- then set ``BUG = None`` and drop its entry
from tests/fuzz/known.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import sourcediff as sd
from fuzz.check import leaves, numeric_grad

CASES = sorted((Path(__file__).parent / "regressions").glob("case_*.py"))


def _load(path):
    spec = importlib.util.spec_from_file_location(f"regression_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _params():
    out = []
    for path in CASES:
        bug = _load(path).BUG
        marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
        out.append(pytest.param(path, id=path.stem, marks=marks))
    return out


@pytest.mark.parametrize("path", _params())
def test_regression(path):
    case = _load(path)
    args = case.VALUES
    wrt = case.WRT if isinstance(case.WRT, tuple) else (case.WRT,)
    if getattr(case, "CHECK", "grad") == "jvp":
        full = sd.grad(case.f, wrt=tuple(range(len(args))))(*args)
        tangents = tuple(np.ones_like(a) if isinstance(a, np.ndarray) else 1.0 for a in args)
        _out, tan = sd.jvp(case.f, args, tangents)
        rev = sum(float(np.sum(g * t)) for g, t in zip(leaves(full), leaves(tangents)))
        assert float(tan) == pytest.approx(rev, rel=1e-7, abs=1e-9)
        return
    value, grads = sd.value_and_grad(case.f, wrt=case.WRT)(*args)
    assert float(value) == pytest.approx(float(case.f(*args)), rel=1e-12)
    got = leaves(grads if isinstance(case.WRT, tuple) else (grads,))
    want = numeric_grad(case.f, args, wrt)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)

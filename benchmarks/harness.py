"""Run methods on workloads: check each gradient against the hand-written one, then time it."""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass

import numpy as np

from .methods import Method, Skip
from .timing import Settings, Timing, measure, peak_memory
from .workloads import Workload

OK, FAILED, MISMATCH, SKIPPED = "ok", "FAILED", "MISMATCH", "skipped"

RTOL = 1e-6
ATOL = 1e-9


@dataclass
class Row:
    workload: Workload
    method: Method
    status: str
    note: str = ""
    timing: Timing | None = None
    first_call: float | None = None
    peak: int | None = None
    version: str = ""


def compare(got, ref):
    """``None`` if ``got`` matches ``ref`` (tuples of arrays), else what differs."""
    for i, (g, r) in enumerate(zip(got, ref)):
        g = np.asarray(g, dtype=np.float64)
        r = np.asarray(r, dtype=np.float64)
        if g.shape != r.shape:
            return f"gradient {i}: shape {g.shape} != {r.shape}"
        scale = max(1.0, float(np.max(np.abs(r)))) if r.size else 1.0
        if not np.allclose(g, r, rtol=RTOL, atol=ATOL * scale):
            err = float(np.max(np.abs(g - r)))
            return f"gradient {i}: max abs error {err:.3g}"
    return None


def _short(exc):
    msg = str(exc).strip().splitlines()
    first = msg[0] if msg else ""
    if len(first) > 160:
        first = first[:157] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def run_one(wl: Workload, method: Method, settings: Settings, ref, verbose=False) -> Row:
    args = wl.make_args()          # fresh inputs: a method that mutates them harms no other
    try:
        prep = method.prepare(wl, args)
    except Skip as exc:
        return Row(wl, method, SKIPPED, str(exc))
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        return Row(wl, method, FAILED, _short(exc))
    row = Row(wl, method, OK, first_call=prep.first_call, version=prep.version)
    if prep.convert is not None:
        try:
            got = prep.convert(prep.first_result)
        except Exception as exc:
            return Row(wl, method, FAILED, "bad result: " + _short(exc), version=prep.version)
        bad = compare(got, ref)
        if bad:
            row.status, row.note = MISMATCH, bad
            return row
    try:
        row.timing = measure(prep.call, prep.args, settings)
        if wl.memory and prep.tracks_memory:
            row.peak = peak_memory(prep.call, prep.args)
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        row.status, row.note, row.timing = FAILED, "while timing: " + _short(exc), None
    return row


def run(workloads, methods, settings: Settings, progress=True, verbose=False):
    rows = []
    for wl in workloads:
        ref = tuple(np.asarray(r) for r in _ref(wl))
        for m in methods:
            if progress:
                print(f"  {wl.name:<20} {m.name:<11}", end="", file=sys.stderr, flush=True)
            row = run_one(wl, m, settings, ref, verbose=verbose)
            if progress:
                what = (f"{row.timing.median * 1e6:12.2f} us" if row.timing
                        else f" {row.status}: {row.note}")
                print(what, file=sys.stderr, flush=True)
            rows.append(row)
    return rows


def _ref(wl):
    out = wl.grad(*wl.make_args())
    return out if len(wl.wrt) > 1 else (out,)

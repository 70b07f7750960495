"""Run methods on workloads: check each gradient against the hand-written one, then time it."""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass

import numpy as np

from .methods import Method, Skip
from .timing import Settings, Timing, measure_all, peak_memory
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
    compile: float | None = None   # first call minus a second call made right after it
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


def prepare_one(wl: Workload, method: Method, ref, verbose=False):
    """``(row, prepared)``: the first call made and its result checked (``prepared`` is
    None when the row is already final: skipped, failed or a mismatch)."""
    args = wl.make_args()          # fresh inputs: a method that mutates them harms no other
    try:
        prep = method.prepare(wl, args)
    except Skip as exc:
        return Row(wl, method, SKIPPED, str(exc)), None
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        return Row(wl, method, FAILED, _short(exc)), None
    row = Row(wl, method, OK, first_call=prep.first_call, compile=prep.compile,
              version=prep.version)
    if prep.convert is not None:
        try:
            got = prep.convert(prep.first_result)
        except Exception as exc:
            return Row(wl, method, FAILED, "bad result: " + _short(exc),
                       version=prep.version), None
        bad = compare(got, ref)
        if bad:
            row.status, row.note = MISMATCH, bad
            return row, None
    return row, prep


def run_workload(wl: Workload, methods, settings: Settings, ref, verbose=False,
                 progress=False):
    """Every method on one workload: all prepared and checked, then timed together
    (samples interleaved, see :func:`timing.measure_all`)."""
    pairs = [prepare_one(wl, m, ref, verbose) for m in methods]
    live = [(row, prep) for row, prep in pairs if prep is not None]
    timings = measure_all([(prep.call, prep.args) for _, prep in live], settings)
    for (row, prep), t in zip(live, timings):
        if isinstance(t, Exception):
            row.status, row.note = FAILED, "while timing: " + _short(t)
            continue
        row.timing = t
        if wl.memory and prep.tracks_memory:
            try:
                row.peak = peak_memory(prep.call, prep.args)
            except Exception as exc:
                row.status, row.note, row.timing = FAILED, "while timing: " + _short(exc), None
    rows = [row for row, _ in pairs]
    if progress:
        for row in rows:
            what = (f"{row.timing.median * 1e6:12.2f} us" if row.timing
                    else f" {row.status}: {row.note}")
            print(f"  {wl.name:<20} {row.method.name:<11}{what}", file=sys.stderr, flush=True)
    return rows


def run(workloads, methods, settings: Settings, progress=True, verbose=False):
    rows = []
    for wl in workloads:
        ref = tuple(np.asarray(r) for r in _ref(wl))
        if progress:
            print(f"  {wl.name:<20} ({len(methods)} methods, samples interleaved)",
                  file=sys.stderr, flush=True)
        rows += run_workload(wl, methods, settings, ref, verbose=verbose, progress=progress)
    return rows


def _ref(wl):
    out = wl.grad(*wl.make_args())
    return out if len(wl.wrt) > 1 else (out,)

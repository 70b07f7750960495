"""timeit-style timing: an inner loop long enough to time, many samples, robust statistics."""

from __future__ import annotations

import gc
import itertools
import time
import tracemalloc
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class Settings:
    min_sample: float = 5e-3    # seconds one sample (inner loop) must last at least
    max_samples: int = 31
    min_samples: int = 7
    budget: float = 1.5         # seconds of sampling per method (after min_samples)
    # the clock: wall time; or time.process_time, the CPU time this process used (on a
    # machine shared with other jobs: time spent waiting for a core is left out)
    clock: Callable[[], float] = time.perf_counter

    @classmethod
    def quick(cls):
        return cls(min_sample=2e-4, max_samples=5, min_samples=3, budget=0.05)


@dataclass
class Timing:
    median: float       # seconds per call
    q1: float
    q3: float
    min: float
    max: float
    number: int         # calls per sample
    samples: int


def _run(call, args, number, clock=time.perf_counter):
    it = itertools.repeat(None, number)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = clock()
        for _ in it:
            call(*args)
        return clock() - t0
    finally:
        if gc_was_enabled:
            gc.enable()


def autorange(call, args, min_sample, clock=time.perf_counter):
    """Calls per sample so that one sample lasts at least ``min_sample`` seconds."""
    number = 1
    while True:
        t = _run(call, args, number, clock)
        if t >= min_sample:
            return number
        if t <= 0:
            number *= 10
        else:
            number = max(number + 1, int(number * min(10.0, 1.2 * min_sample / t)))


def measure_all(calls, settings: Settings):
    """Time several ``(call, args)`` pairs with their samples interleaved: round ``k``
    takes sample ``k`` of each, so a change in the machine's speed during the run
    touches all of them alike and their ratios stay fair. Gives a :class:`Timing`
    per pair, or the exception it raised."""
    out, numbers = [], []
    for call, args in calls:
        try:
            numbers.append(autorange(call, args, settings.min_sample, settings.clock))
            out.append([])
        except Exception as exc:  # noqa: BLE001 -- reported by the caller
            numbers.append(0)
            out.append(exc)
    deadline = time.perf_counter() + settings.budget * max(1, len(calls))
    for i in range(settings.max_samples):
        for k, (call, args) in enumerate(calls):
            if isinstance(out[k], Exception):
                continue
            try:
                out[k].append(_run(call, args, numbers[k], settings.clock) / numbers[k])
            except Exception as exc:  # noqa: BLE001
                out[k] = exc
        if i + 1 >= settings.min_samples and time.perf_counter() > deadline:
            break
    return [o if isinstance(o, Exception) else _timing(o, n) for o, n in zip(out, numbers)]


def _timing(per_call, number):
    a = np.asarray(per_call)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return Timing(float(med), float(q1), float(q3), float(a.min()), float(a.max()),
                  number, len(per_call))


def peak_memory(call, args):
    """Peak bytes traced by ``tracemalloc`` during one call (above what existed before)."""
    gc.collect()
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        call(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    return max(0, peak - base)

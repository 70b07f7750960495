"""Time and profile what ``sourcediff.grad`` costs before its first result (issue 21).

For each workload (default: the Runge-Kutta 4, LSTM and springs benchmarks) a fresh
copy of the function is differentiated ``--repeat`` times, and the compile time is
measured as the benchmark harness measures it: ``grad(f)`` plus the first call, minus a
second call made right after it. The median and the spread are printed, then (with
``--top``) the functions with the most cumulative time over all builds, from cProfile:

    python scripts/profile_compile.py                    # rk4, lstm, springs; 15 builds each
    python scripts/profile_compile.py --only lstm --repeat 30 --top 40
    python scripts/profile_compile.py --clock cpu        # CPU time: steadier on a busy machine
    python scripts/profile_compile.py --only leaky_cell  # a 60-statement loop body (below)
    python scripts/profile_compile.py --dump /tmp/gen    # every workload's generated source
    python scripts/profile_compile.py --opcodes          # instructions run: steady under load

``--dump`` writes ``sourcediff.source`` of every benchmark workload's gradient, to
compare (``diff -r``) before and after a change that should not change the output,
alongside ``scripts/dump_generated.py`` (the test corpus).
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import math  # noqa: E402

import numpy as np  # noqa: E402

import sourcediff  # noqa: E402
from benchmarks import methods, workloads  # noqa: E402

DEFAULT = ("rk4", "lstm", "springs")


def leaky_cell(w, u, a, b, x0, ys):
    """(synthetic) A leaky recurrent cell with a scalar gain and a decaying learning
    signal, written as a user would: a 60-statement loop body mixing arrays and numbers."""
    x = x0
    gain = 1.0
    loss = 0.0
    n = x0.shape[0]
    for t in range(len(ys)):
        y = ys[t]
        pre = w @ x + u * y[0]
        pre = pre - np.mean(pre)
        act = np.tanh(pre)
        leak = 1.0 / (1.0 + math.exp(-a))
        x_new = leak * x + (1.0 - leak) * act
        drive = np.sum(act * act) / n
        gain = 0.9 * gain + 0.1 * math.sqrt(drive + 1e-3)
        x_new = x_new * gain
        err = x_new - y
        sq = err * err
        l1 = np.sum(np.abs(err))
        l2 = np.sum(sq)
        huber = np.where(np.abs(err) < 1.0, 0.5 * sq, np.abs(err) - 0.5)
        hub = np.sum(huber)
        decay = math.exp(-b * t)
        step = decay * (0.5 * l2 + 0.1 * l1 + 0.01 * hub)
        loss = loss + step
        mx = np.max(x_new)
        shifted = x_new - mx
        ex = np.exp(shifted)
        z = np.sum(ex)
        p = ex / z
        ent = -np.sum(p * np.log(p + 1e-12))
        loss = loss + 0.01 * ent
        first = x_new[0]
        last = x_new[-1]
        edge = first * last
        loss = loss + 0.001 * edge
        diffs = x_new[1:] - x_new[:-1]
        smooth = np.sum(diffs * diffs)
        loss = loss + 0.01 * smooth
        scale = 1.0 + 0.1 * math.sin(a * t)
        x_scaled = x_new * scale
        centre = x_scaled - np.mean(x_scaled)
        var = np.mean(centre * centre)
        std = math.sqrt(var + 1e-6)
        normed = centre / std
        mix = 0.8 * x_scaled + 0.2 * normed
        clip = np.minimum(np.maximum(mix, -3.0), 3.0)
        soft = clip / (1.0 + np.abs(clip))
        energy = np.dot(soft, soft)
        loss = loss + 0.001 * energy
        coupling = np.dot(soft, y)
        loss = loss - 0.001 * coupling
        momentum = 0.5 * x + 0.5 * soft
        x = momentum
        cost = a * a + b * b
        loss = loss + 0.0001 * cost
        bias = np.sum(u) * 0.01
        loss = loss + bias * bias
        peak = np.max(np.abs(x))
        loss = loss + 0.001 * peak
        tail = x[-3:]
        tail_sum = np.sum(tail)
        loss = loss + 0.001 * tail_sum * tail_sum
        head = x[:3]
        loss = loss + 0.001 * np.sum(head * head)
        spread = np.max(x) - np.min(x)
        loss = loss + 0.001 * spread
    return loss


def _synthetic():
    def make_args():
        r = np.random.default_rng(0)
        return (0.3 * r.standard_normal((16, 16)), 0.3 * r.standard_normal(16), 0.4, 0.05,
                r.standard_normal(16), r.standard_normal((30, 16)))
    return workloads.Workload("leaky_cell", "leaky_cell", "s", leaky_cell.__doc__, leaky_cell,
                              None, (0, 1, 2, 3), make_args)


def _namespace():
    return methods._numpy_namespace()


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter


def compile_time(wl, args, profile=None):
    """Seconds to build ``wl``'s gradient from a fresh copy of its function and call it
    once, less a second call (the one-off cost); under ``profile`` if given."""
    fn = methods.fresh_copy(wl.fn, _namespace())
    if profile is not None:
        profile.enable()
    t0 = clock()
    g = sourcediff.grad(fn, wrt=wl.wrt_arg)
    g(*args)
    t1 = clock()
    if profile is not None:
        profile.disable()
    g(*args)
    t2 = clock()
    return max(0.0, (t1 - t0) - (t2 - t1))


def measure(wls, repeat):
    """``{name: [seconds, ...]}``, the builds of the workloads interleaved (a burst of load
    on the machine then touches each alike)."""
    args = {wl.name: wl.make_args() for wl in wls}
    for wl in wls:  # warm: imports, the rule table's first compilations, NumPy's caches
        compile_time(wl, args[wl.name])
    times = {wl.name: [] for wl in wls}
    for _ in range(repeat):
        for wl in wls:
            times[wl.name].append(compile_time(wl, args[wl.name]))
    return times


def profile(wls, repeat, top):
    prof = cProfile.Profile()
    for wl in wls:
        args = wl.make_args()
        compile_time(wl, args)
        for _ in range(repeat):
            compile_time(wl, args, prof)
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(top)


def opcodes(wls, top):
    """Python bytecode instructions one build of each workload runs (``grad`` and the
    first call, less the second call's), with ``top`` the functions running the most:
    a count no other process disturbs, to compare a change with on a busy machine (the
    work in C, ``compile``, NumPy's, is not counted)."""
    by_function, total = collections.Counter(), collections.Counter()

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        return count

    def count(frame, event, arg):
        if event == "opcode":
            code = frame.f_code
            by_function[f"{code.co_filename}:{code.co_firstlineno}({code.co_name})"] += 1
        return count

    for wl in wls:
        args = wl.make_args()
        compile_time(wl, args)  # (warm)
        g = sourcediff.grad(methods.fresh_copy(wl.fn, _namespace()), wrt=wl.wrt_arg)
        by_function.clear()
        sys.settrace(tracer)
        try:
            g(*args)
            build = collections.Counter(by_function)
            by_function.clear()
            g(*args)
        finally:
            sys.settrace(None)
        build.subtract(by_function)
        total.update(build)
        print(f"{wl.name:<10} compile {sum(build.values()):>10,d} opcodes")
    for where, n in total.most_common(top):
        print(f"{n:>10,d}  {where}")


def dump(directory):
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    done = set()
    for wl in workloads.all_workloads():
        if wl.group in done:
            continue
        done.add(wl.group)
        try:
            g = sourcediff.grad(wl.fn, wrt=wl.wrt_arg)
            g(*wl.make_args())
            text = sourcediff.source(g)
        except Exception as exc:  # noqa: BLE001 - the failure is what is recorded
            text = f"# failed: {type(exc).__name__}: {exc}\n"
        (out / f"{wl.group}.py").write_text(text)
    print(f"{len(done)} workloads written to {out}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default=",".join(DEFAULT),
                   help="workload names, groups or letters, comma-separated")
    p.add_argument("--repeat", type=int, default=15, help="builds per workload")
    p.add_argument("--top", type=int, default=0,
                   help="print this many functions by cumulative time (cProfile)")
    p.add_argument("--dump", metavar="DIR", help="write every workload's generated source")
    p.add_argument("--opcodes", action="store_true",
                   help="count the bytecode instructions of one build instead of timing "
                   "(steady on a busy machine; with --top, the functions running the most)")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                   help="wall time (as the benchmarks measure it) or this process's CPU "
                   "time (less disturbed by other processes on a loaded machine)")
    a = p.parse_args(argv)
    global clock
    clock = CLOCKS[a.clock]
    if a.dump:
        dump(a.dump)
        return
    wls = workloads.select(workloads.all_workloads() + [_synthetic()], a.only.split(","))
    if a.opcodes:
        opcodes(wls, a.top)
        return
    for name, ts in measure(wls, a.repeat).items():
        q = statistics.quantiles(ts, n=4) if len(ts) > 1 else [ts[0]] * 3
        print(f"{name:<10} compile median {1e3 * statistics.median(ts):6.1f} ms"
              f"   IQR {1e3 * q[0]:6.1f} .. {1e3 * q[2]:6.1f} ms   min {1e3 * min(ts):6.1f} ms"
              f"   ({len(ts)} builds)")
    if a.top:
        profile(wls, max(1, a.repeat // 3), a.top)


if __name__ == "__main__":
    main()

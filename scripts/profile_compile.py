"""Time and profile what ``sourcediff.grad`` costs before its first result (issue 21).

For each workload (default: the Runge-Kutta 4, LSTM and springs benchmarks) a fresh
copy of the function is differentiated ``--repeat`` times, and the compile time is
measured as the benchmark harness measures it: ``grad(f)`` plus the first call, minus a
second call made right after it. The median and the spread are printed, then (with
``--top``) the functions with the most cumulative time over all builds, from cProfile:

    python scripts/profile_compile.py                    # rk4, lstm, springs; 15 builds each
    python scripts/profile_compile.py --only lstm --repeat 30 --top 40
    python scripts/profile_compile.py --clock cpu        # CPU time: steadier on a busy machine
    python scripts/profile_compile.py --dump /tmp/gen    # every workload's generated source

``--dump`` writes ``sourcediff.source`` of every benchmark workload's gradient, to
compare (``diff -r``) before and after a change that should not change the output,
alongside ``scripts/dump_generated.py`` (the test corpus).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import sourcediff  # noqa: E402
from benchmarks import methods, workloads  # noqa: E402

DEFAULT = ("rk4", "lstm", "springs")


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
    p.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                   help="wall time (as the benchmarks measure it) or this process's CPU "
                   "time (less disturbed by other processes on a loaded machine)")
    a = p.parse_args(argv)
    global clock
    clock = CLOCKS[a.clock]
    if a.dump:
        dump(a.dump)
        return
    wls = workloads.select(workloads.all_workloads(), a.only.split(","))
    for name, ts in measure(wls, a.repeat).items():
        q = statistics.quantiles(ts, n=4) if len(ts) > 1 else [ts[0]] * 3
        print(f"{name:<10} compile median {1e3 * statistics.median(ts):6.1f} ms"
              f"   IQR {1e3 * q[0]:6.1f} .. {1e3 * q[2]:6.1f} ms   min {1e3 * min(ts):6.1f} ms"
              f"   ({len(ts)} builds)")
    if a.top:
        profile(wls, max(1, a.repeat // 3), a.top)


if __name__ == "__main__":
    main()

"""Checkpointing: time and memory per step of a long recurrence, with and without it.

The workload (e) recurrence, ``h = tanh(a * h + b)``, for 10^3 ... 10^6 steps (and the
same with a small array state, ``h = tanh(W @ h + u)``, 8 floats), differentiated with
respect to its parameters three ways:

* **stored**: the plain ``for`` loop: sourcediff's generated gradient pushes what each
  step overwrites on a stack, so memory grows with the number of steps;
* **sqrt(n)**: ``checkpoint.loop``: ceil(sqrt(n)) checkpoints, each segment run again;
* **revolve-16**: ``checkpoint.make_loop(snapshots=16)``: Griewank's binomial schedule,
  16 snapshots whatever n.

Time is the best of five calls (one from 10^5 steps on); memory is tracemalloc's
peak during one more call (traced separately, since tracing slows Python down), divided
by the number of steps. Every gradient is checked against the stored one first.

    python -m benchmarks.scaling_checkpoint                      # 10^3 .. 10^6, a few minutes
    python -m benchmarks.scaling_checkpoint --max-exp 4          # 10^3, 10^4 only
    python -m benchmarks.scaling_checkpoint --markdown benchmarks/scaling.md
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc

import numpy as np

import sourcediff
from sourcediff.transforms import checkpoint

REVOLVE = checkpoint.make_loop(snapshots=16)


def scalar_step(h, a, b):
    return np.tanh(a * h + b)


def scalar_stored(a, b, n):
    h = 0.5
    for _ in range(n):
        h = np.tanh(a * h + b)
    return h


def scalar_sqrt(a, b, n):
    return checkpoint.loop(scalar_step, 0.5, n, a, b)


def scalar_revolve(a, b, n):
    return REVOLVE(scalar_step, 0.5, n, a, b)


def array_step(h, W, u):
    return np.tanh(W @ h + u)


def array_stored(W, u, n):
    h = np.zeros(8)
    for _ in range(n):
        h = np.tanh(W @ h + u)
    return np.sum(h)


def array_sqrt(W, u, n):
    return np.sum(checkpoint.loop(array_step, np.zeros(8), n, W, u))


def array_revolve(W, u, n):
    return np.sum(REVOLVE(array_step, np.zeros(8), n, W, u))


WORKLOADS = {
    "scalar": ((scalar_stored, scalar_sqrt, scalar_revolve), lambda: (0.9, 0.1)),
    "array-8": ((array_stored, array_sqrt, array_revolve),
                lambda: (0.3 * np.random.default_rng(0).standard_normal((8, 8)),
                         0.1 * np.ones(8))),
}
METHODS = ("stored", "sqrt(n)", "revolve-16")


def _best_time(fn, args, repeats):
    """(the shortest of ``repeats`` calls, the last result)."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t)
    return best, out


def _peak(fn, args):
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(workload, n, skip_stored_above):
    """One row per method: (method, seconds, peak bytes, states held or None)."""
    fns, make = WORKLOADS[workload]
    params = make()
    args = (*params, n)
    grads = [sourcediff.grad(f, wrt=(0, 1)) for f in fns]
    repeats = 5 if n < 10 ** 5 else 1
    forward = _best_time(fns[0], args, repeats)[0]
    rows, want = [], None
    for method, g in zip(METHODS, grads):
        g(*params, 10)  # compiled outside the measures
        if method == "stored" and n > skip_stored_above:
            rows.append((method, None, None, None))
            continue
        seconds, got = _best_time(g, args, repeats)
        if want is None:
            want = got
        for x, y in zip(got, want):
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)
        peak = _peak(g, args)
        stats = checkpoint.last_stats() if method != "stored" else None
        rows.append((method, seconds, peak, stats))
    return forward, rows


def _bytes(b):
    for unit, size in (("MB", 2 ** 20), ("KB", 2 ** 10)):
        if b >= size:
            return f"{b / size:.1f} {unit}"
    return f"{b} B"


def table(workload, exps, skip_stored_above):
    lines = [f"### {workload} state", "",
             "| steps | forward µs/step | method | gradient µs/step | ×forward | peak memory "
             "| bytes/step | states held | steps run again |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for e in exps:
        n = 10 ** e
        forward, rows = measure(workload, n, skip_stored_above)
        for method, seconds, peak, stats in rows:
            if seconds is None:
                lines.append(f"| 1e{e} | {1e6 * forward / n:.2f} | {method} | skipped | | | | | |")
                continue
            held = f"{stats.peak_states}" if stats else f"{n} (stack)"
            again = f"{stats.forward_steps / n:.2f} n" if stats else "0"
            lines.append(f"| 1e{e} | {1e6 * forward / n:.2f} | {method} | "
                         f"{1e6 * seconds / n:.2f} | {seconds / forward:.1f} | {_bytes(peak)} | "
                         f"{peak / n:.1f} | {held} | {again} |")
        print("\n".join(lines[-len(rows):]), flush=True)
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.scaling_checkpoint",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--max-exp", type=int, default=6, help="largest n is 10**max_exp")
    p.add_argument("--skip-stored-above", type=float, default=float("inf"),
                   help="skip the stored (plain loop) gradient above this many steps")
    p.add_argument("--only", choices=sorted(WORKLOADS), help="one workload")
    p.add_argument("--markdown", help="write the tables to this file")
    args = p.parse_args(argv)
    exps = range(3, args.max_exp + 1)
    out = ["# Checkpointed loops: time and memory per step", "",
           f"`python -m benchmarks.scaling_checkpoint` on {platform.machine()} "
           f"{platform.python_implementation()} {platform.python_version()}, NumPy "
           f"{np.__version__}, one BLAS thread. Memory is tracemalloc's peak during one "
           "gradient call; states held is the most loop states the reverse sweep kept at "
           "once; steps run again counts the forward steps the reverse sweep recomputed.", ""]
    for workload in ([args.only] if args.only else WORKLOADS):
        out += table(workload, exps, args.skip_stored_above) + [""]
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write("\n".join(out))
    else:
        print("\n".join(out))


if __name__ == "__main__":
    main()

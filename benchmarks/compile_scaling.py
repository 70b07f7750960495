"""Compile time against the size of a loop body (issue 21: under 50 ms for loop bodies of
50 or more statements).

Two loop bodies, each a step written as a user writes it and repeated ``k`` times in one
``for`` loop, so that the body grows while its kind of code stays the same:

* **scalar**: one step of the (k) Runge-Kutta 4 workload (Python floats, ``math.sin``):
  10 lines, 53 statements once normalised (one operation per statement);
* **array**: a recurrent cell on a 16-vector (``W @ h``, ``np.tanh``, a leaky mix, a loss
  term with ``np.sum`` and ``np.max(np.abs(h))``): 4 lines, about 15 statements.

Compile time is measured as the benchmark tables measure it: ``grad(f)`` plus the first
call, less a second call made right after it, for fresh copies of the function (the
median of ``--repeat`` builds, after one build to warm the process). "statements" counts
the loop body after normalisation, which is what the compiler's passes work on.

    python -m benchmarks.compile_scaling
    python -m benchmarks.compile_scaling --markdown benchmarks/compile-scaling.md
"""

from __future__ import annotations

import argparse
import inspect
import linecache
import platform
import statistics
import time

import gast
import numpy as np

import sourcediff
from sourcediff.pipeline import driver

from . import functions, methods

def _loop_body(fn):
    """The body of ``fn``'s loop, as written (the lines indented under its ``for``)."""
    lines = inspect.getsource(fn).splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("for "))
    indent = len(lines[start + 1]) - len(lines[start + 1].lstrip())
    return "".join("\n" + line for line in lines[start + 1:]
                   if line[:indent].isspace() and len(line) > indent)


SCALAR_STEP = _loop_body(functions.rk4)  # one step of the (k) workload

ARRAY_STEP = """
        pre = W @ h + u * y
        act = np.tanh(pre)
        h = 0.5 * h + 0.5 * act
        loss = loss + np.sum(act * act) / n + 0.01 * np.max(np.abs(h))"""

KINDS = {  # kind -> (source of a body of k steps, the arguments, the steps tried)
    "scalar": (lambda k: "def f(k, c):\n    x = 1.0\n    v = 0.0\n    dt = 0.01\n"
               "    for _ in range(50):" + SCALAR_STEP * k + "\n    return x * x + v\n",
               lambda rng: (0.3, 0.1), (1, 2, 3)),
    "array": (lambda k: "def f(W, u, h, ys):\n    loss = 0.0\n    n = h.shape[0]\n"
              "    for t in range(len(ys)):\n        y = ys[t]" + ARRAY_STEP * k
              + "\n    return loss\n",
              lambda rng: (0.3 * rng.standard_normal((16, 16)), 0.3 * rng.standard_normal(16),
                           rng.standard_normal(16), rng.standard_normal(20)), (2, 4, 8)),
}


def _function(src, tag):
    """A new function compiled from ``src``, its source registered with linecache (as a
    module's is), so that sourcediff can read it."""
    filename = f"<compile_scaling {tag}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns = methods._numpy_namespace()
    exec(compile(src, filename, "exec"), ns)  # noqa: S102 - our own generated source
    return ns["f"]


def body_statements(fn):
    """The number of statements in ``fn``'s loop bodies after normalisation."""
    u = driver.run(driver.FRONT, driver.Unit(fn))
    return sum(len(s.body) for s in u.body if isinstance(s, gast.For))


def compile_ms(kind, k, repeat):
    """(statements in the loop body, median compile time in ms) for ``k`` steps."""
    make_src, make_args, _ = KINDS[kind]
    src = make_src(k)
    args = make_args(np.random.default_rng(0))
    times = []
    for i in range(repeat + 1):
        fn = _function(src, f"{kind} {k} {i}")
        t0 = time.perf_counter()
        g = sourcediff.grad(fn, wrt=(0, 1))
        g(*args)
        t1 = time.perf_counter()
        g(*args)
        t2 = time.perf_counter()
        if i:  # (the first build warms the process)
            times.append(max(0.0, (t1 - t0) - (t2 - t1)))
    return body_statements(fn), 1e3 * statistics.median(times)


def table(repeat):
    lines = ["| loop body | steps | statements | compile (ms) | ms per statement |",
             "|---|---:|---:|---:|---:|"]
    for kind, (_, _, steps) in KINDS.items():
        for k in steps:
            n, ms = compile_ms(kind, k, repeat)
            lines.append(f"| {kind} | {k} | {n} | {ms:.1f} | {ms / n:.2f} |")
            print(lines[-1], flush=True)
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.compile_scaling",
                                description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=9, help="builds per body (the median)")
    p.add_argument("--markdown", metavar="FILE", help="write the table there")
    a = p.parse_args(argv)
    lines = table(a.repeat)
    if a.markdown:
        head = ["# Compile time against the size of a loop body", "",
                f"`python -m benchmarks.compile_scaling` on {platform.machine()} CPython "
                f"{platform.python_version()}, NumPy {np.__version__}, "
                f"{time.strftime('%Y-%m-%d %H:%M')}: the median of {a.repeat} builds "
                "(grad and the first call, less the second call), fresh copies of each "
                "function. Statements: the loop body after normalisation (one operation "
                "per statement).", ""]
        with open(a.markdown, "w") as out:
            out.write("\n".join(head + lines) + "\n")


if __name__ == "__main__":
    main()

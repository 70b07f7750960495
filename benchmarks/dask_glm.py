"""``python -m benchmarks.dask_glm``: the gradient of examples/dask_glm.py on a dataset
larger than the cache, as NumPy, Dask (threads) and Dask distributed (worker processes)
run it. Prints one row per route: seconds per ``value_and_grad`` call, value and
gradient both computed (``dask.compute(value, grad)``), median of ``--repeats``; and,
for each route, the same value and gradient written by hand with NumPy functions.

The data are the example's (same seed, same chunks): generated on the workers for the
distributed route, computed once into NumPy arrays for the other two. Each route's
gradient is checked against NumPy's before it is timed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import time
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dask_glm.py"


def _example():
    spec = importlib.util.spec_from_file_location("dask_glm_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hand_value_and_grad(w, X, y, lam):
    """The same value and gradient written by hand (the reference for each route)."""
    z = X @ w
    mu = np.exp(z)
    n = X.shape[0]
    ridge = np.concatenate([[0.0], w[1:]])
    value = np.mean(mu - y * z) + 0.5 * lam * np.sum(w[1:] ** 2)
    return value, X.T @ (mu - y) / n + lam * ridge


def _time(call, repeats):
    call()  # (compiles on the first call; warms the workers)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), float(np.min(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=2, help="threads, and processes")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    from sourcediff import value_and_grad
    ex = _example()
    loss, lam = value_and_grad(ex.poisson_nll), 1e-4
    X, y, true_w = ex.make_data(args.rows, args.features, args.chunk)
    w = 0.5 * true_w
    Xn, yn = dask.compute(X, y, scheduler="threads", num_workers=args.workers)
    print(f"data: {args.rows:,} rows x {Xn.shape[1]} columns, {Xn.nbytes / 1e6:.0f} MB of X "
          f"in chunks of {args.chunk:,} rows; {args.workers} threads / worker processes; "
          f"{os.cpu_count()} CPUs, {platform.machine()}, NumPy {np.__version__}, "
          f"Dask {dask.__version__}")
    expected = loss(w, Xn, yn, lam)

    def check(name, got):
        err = np.max(np.abs(np.asarray(got[1]) - expected[1]))
        assert abs(float(got[0]) - expected[0]) < 1e-12 and err < 1e-12, (name, err)

    rows = []
    rows.append(("numpy (1 thread)", _time(lambda: loss(w, Xn, yn, lam), args.repeats)))
    check("numpy, by hand", hand_value_and_grad(w, Xn, yn, lam))
    rows.append(("numpy, by hand", _time(lambda: hand_value_and_grad(w, Xn, yn, lam),
                                         args.repeats)))

    Xt = da.from_array(Xn, chunks=(args.chunk, Xn.shape[1]))
    yt = da.from_array(yn, chunks=args.chunk)

    def threads(vg=loss):
        return dask.compute(*vg(w, Xt, yt, lam), scheduler="threads",
                            num_workers=args.workers)
    check("threads", threads())
    rows.append((f"dask threads ({args.workers})", _time(threads, args.repeats)))
    rows.append((f"dask threads ({args.workers}), by hand",
                 _time(lambda: threads(hand_value_and_grad), args.repeats)))

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        Xd, yd = client.persist([X, y])  # generated on the workers

        def distributed(vg=loss):
            return dask.compute(*vg(w, Xd, yd, lam))
        check("distributed", distributed())
        rows.append((f"dask distributed ({args.workers} processes)",
                     _time(distributed, args.repeats)))
        rows.append((f"dask distributed ({args.workers} processes), by hand",
                     _time(lambda: distributed(hand_value_and_grad), args.repeats)))

    print()
    print("| route | time per gradient (median) | best | × numpy |")
    print("|---|---|---|---|")
    base = rows[0][1][0]
    for name, (median, best) in rows:
        print(f"| {name} | {median * 1e3:.1f} ms | {best * 1e3:.1f} ms | "
              f"{median / base:.2f} |")


if __name__ == "__main__":
    main()

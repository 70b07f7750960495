"""Poisson regression on a Dask cluster: the same gradient, scaled out.

The data are generated chunk by chunk with ``dask.array.random`` on the workers of a
``dask.distributed`` cluster this script starts (worker processes), and kept there.
``value_and_grad(poisson_nll)`` is the gradient sourcediff compiles for NumPy; called
on Dask arrays it returns a lazy value and gradient, so each L-BFGS-B step is one
``dask.compute(value, grad)``: one graph, run by the workers, a few floats back.
The fit is checked against a NumPy fit of the same model on a subsample.

    python examples/dask_glm.py                 # 200,000 rows (what pytest runs)
    python examples/dask_glm.py --rows 20000000 # 20 million rows, 1.8 GB of X
    python examples/dask_glm.py --scheduler tcp://host:8786  # an existing cluster
"""

import argparse
import time

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster
from scipy.optimize import minimize

from sourcediff import value_and_grad


def poisson_nll(w, X, y, lam):
    """Mean Poisson negative log-likelihood (log link, up to log y!), ridge on w[1:]."""
    z = X @ w
    return np.mean(np.exp(z) - y * z) + 0.5 * lam * np.sum(w[1:] ** 2)


def make_data(rows, features, chunk, seed=0):
    """``(X, y, true_w)``: X an intercept column and standard normal features, y Poisson
    counts; each chunk of rows is generated where it is computed, never on the client."""
    rng = da.random.default_rng(seed)
    true_w = np.random.default_rng(seed).normal(0.0, 0.3, features + 1)
    true_w[0] = 0.5
    features = rng.standard_normal((rows, features), chunks=(chunk, features))
    X = da.concatenate([da.ones((rows, 1), chunks=(chunk, 1)), features], axis=1)
    rate = np.exp(X @ true_w)
    y = rng.poisson(rate, size=rate.shape, chunks=rate.chunks).astype(np.float64)
    return X, y, true_w


def fit(loss, w0, *data, compute=lambda v, g: (v, g)):
    """L-BFGS-B with ``jac=True``; returns the result and the seconds per evaluation."""
    times = []

    def value_grad(w):
        start = time.perf_counter()
        value, g = compute(*loss(w, *data))
        times.append(time.perf_counter() - start)
        return float(value), np.asarray(g, dtype=np.float64)

    res = minimize(value_grad, w0, jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-8, "ftol": 1e-12})
    return res, times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=None, help="rows per chunk")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--subsample", type=int, default=50_000)
    parser.add_argument("--scheduler", default=None,
                        help="address of a running scheduler (default: a LocalCluster)")
    args = parser.parse_args()
    chunk = args.chunk or max(10_000, min(1_000_000, -(-args.rows // (2 * args.workers))))

    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0")  # (any free port)
        client = Client(cluster)
    try:
        X, y, true_w = make_data(args.rows, args.features, chunk)
        X, y = client.persist([X, y])  # generated on the workers, and kept there
        print(f"data: {args.rows:,} rows x {X.shape[1]} columns in {X.numblocks[0]} chunks "
              f"({X.nbytes / 1e9:.2f} GB of X) on {len(client.scheduler_info()['workers'])} "
              f"worker processes (dashboard: {client.dashboard_link})")
        lam = 1e-4
        loss = value_and_grad(poisson_nll)
        w0 = np.zeros(X.shape[1])
        res, times = fit(loss, w0, X, y, lam, compute=dask.compute)
        print(f"dask fit: success={res.success}, iterations={res.nit}, gradients={res.nfev}, "
              f"nll={res.fun:.6f}")
        print(f"time per gradient: {np.median(times) * 1e3:.1f} ms (median of {len(times)}; "
              f"first {times[0] * 1e3:.1f} ms, compile included)")

        # the same model fitted by NumPy on a subsample (the first rows)
        m = min(args.subsample, args.rows)
        Xs, ys = dask.compute(X[:m], y[:m])
        v_np, g_np = loss(res.x, Xs, ys, lam)
        v_da, g_da = dask.compute(*loss(res.x, X[:m], y[:m], lam))
        print(f"gradient on the subsample, Dask vs NumPy: max |difference| = "
              f"{np.max(np.abs(g_da - g_np)):.1e} (value {abs(v_da - v_np):.1e})")
        res_np, _ = fit(loss, w0, Xs, ys, lam)
        se = np.sqrt(np.diag(np.linalg.inv(Xs.T @ (Xs * np.exp(Xs @ res_np.x)[:, None]))))
        gap = np.max(np.abs(res.x - res_np.x) / se)
        print(f"numpy fit on {m:,} rows: success={res_np.success}, iterations={res_np.nit}")
        print(f"fits agree: max |w_dask - w_numpy| = {np.max(np.abs(res.x - res_np.x)):.4f} "
              f"= {gap:.2f} standard errors of the subsample fit")
        print(f"  dask  w = {np.array2string(res.x, precision=3)}")
        print(f"  numpy w = {np.array2string(res_np.x, precision=3)}")
        print(f"  true  w = {np.array2string(true_w, precision=3)}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main()

"""The same gradients on Dask arrays and on a dask.distributed cluster (issue 19).

Generated gradients are plain NumPy-calling Python, so they run on any array type
that dispatches through NumPy's functions. On Dask arrays the result is a lazy graph:
nothing in sourcediff computes (a callback counts the computes), and one
``dask.compute(value, grad)`` gives what NumPy gives.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import dask_helpers as H
import sourcediff as sd
from sourcediff import grad, value_and_grad
from sourcediff.errors import ArgumentError, MissingRuleError

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
from dask.callbacks import Callback  # noqa: E402

N, D, K = 600, 4, 3
CHUNK = 200


class Computes(Callback):
    """Counts the graphs Dask computes while it is active (local schedulers)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def _start(self, dsk):
        self.count += 1


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    return {"X": X, "y": rng.standard_normal(N), "counts": rng.poisson(1.0, N).astype(float),
            "labels": (rng.uniform(size=N) < 0.5).astype(float),
            "w": 0.1 * rng.standard_normal(D), "W1": rng.standard_normal((D, K)),
            "b1": rng.standard_normal(K), "w2": rng.standard_normal(K)}


DATA = _data()
# (loss, wrt, argument names): arguments by name in DATA, or numbers
CASES = {
    "poisson_glm": (H.poisson_nll, 0, ("w", "X", "counts")),
    "logistic": (H.logistic_nll, 0, ("w", "X", "labels", 0.01)),
    "mlp_tanh": (H.mlp_loss, (0, 1, 2), ("W1", "b1", "w2", "X", "y")),
    "where_axes": (H.where_loss, 0, ("w", "X")),
    "helper_slice_float": (H.calls_helper, (0, 2), ("w", "X", 0.7)),
}


def _args(names, lazy):
    """The arguments; ``lazy`` = "data" (rows of data as Dask arrays), "all" (every
    array as a Dask array: the differentiated ones too) or None (NumPy)."""
    out = []
    for n in names:
        a = DATA[n] if isinstance(n, str) else n
        if isinstance(a, np.ndarray) and (lazy == "all" or lazy == "data" and a.shape[0] == N):
            a = da.from_array(a, chunks=CHUNK if a.shape[0] == N else -1)
        out.append(a)
    return tuple(out)


def _tuple(g):
    return g if isinstance(g, tuple) else (g,)


@pytest.mark.parametrize("lazy", ["data", "all"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_value_and_grad_on_dask_equals_numpy_and_stays_lazy(case, lazy):
    fn, wrt, names = CASES[case]
    expected_value, expected = value_and_grad(fn, wrt)(*_args(names, None))
    vg = value_and_grad(fn, wrt)
    args = _args(names, lazy)
    for _ in range(2):  # the first call compiles, the second runs the specialised code
        counter = Computes()
        with counter:
            value, g = vg(*args)
        assert counter.count == 0, "sourcediff computed a lazy value"
        assert isinstance(value, da.Array)
        assert all(isinstance(gi, da.Array) for gi in _tuple(g))
        counter = Computes()
        with counter:
            value, g = dask.compute(value, g)  # one graph for the value and the gradient
        assert counter.count == 1
        assert value == pytest.approx(expected_value, rel=1e-12)
        for gi, ei in zip(_tuple(g), _tuple(expected)):
            assert np.shape(gi) == np.shape(ei) and np.result_type(gi) == np.float64
            np.testing.assert_allclose(gi, ei, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", ["poisson_glm", "mlp_tanh", "where_axes"])
def test_grad_on_dask_equals_numpy(case):
    fn, wrt, names = CASES[case]
    expected = grad(fn, wrt)(*_args(names, None))
    counter = Computes()
    with counter:
        g = grad(fn, wrt)(*_args(names, "all"))
    assert counter.count == 0
    for gi, ei in zip(_tuple(g), _tuple(expected)):
        np.testing.assert_allclose(gi.compute(), ei, rtol=1e-10, atol=1e-12)


def test_gradient_has_its_arguments_type_shape_and_dtype():
    X = da.from_array(DATA["X"].astype(np.float32), chunks=CHUNK)
    y = da.from_array(DATA["counts"].astype(np.float32), chunks=CHUNK)
    w = da.from_array(DATA["w"].astype(np.float32))
    g = grad(H.poisson_nll)(w, X, y)
    assert isinstance(g, da.Array) and g.shape == (D,) and g.dtype == np.float32
    # a NumPy argument of a function of Dask data: a lazy Dask gradient of its shape
    g = grad(H.poisson_nll)(DATA["w"], X, y)
    assert isinstance(g, da.Array) and g.shape == (D,) and g.dtype == np.float64


def test_the_graph_carries_no_data_sized_numpy_array():
    """Data generated on the workers: the graph of the value and gradient is made of tasks
    and small constants, never a NumPy array of the data's size made on the client (such
    as ``np.broadcast_to`` of the mean's cotangent over the rows)."""
    import pickle
    rows = 200_000
    rng = da.random.default_rng(0)
    X = rng.standard_normal((rows, D), chunks=(rows // 4, D))
    y = rng.poisson(1.0, size=rows, chunks=rows // 4).astype(float)
    for fn, args in ((H.poisson_nll, (DATA["w"], X, y)),
                     (H.logistic_nll, (da.from_array(DATA["w"]), X, y, 0.1)),
                     (H.where_loss, (DATA["w"], X))):
        value, g = value_and_grad(fn)(*args)
        graph = dict(dask.base.collections_to_expr([value, g]).__dask_graph__())
        arrays = [v for v in pickle.loads(pickle.dumps(list(graph.values()))) if isinstance(
            v, np.ndarray)]
        assert len(pickle.dumps(graph)) < rows, fn.__name__  # (the data: 8 bytes a row)
        assert all(a.size < rows for a in arrays)


def test_indexing_a_dask_argument():
    def f(x, X):
        return np.sum(X[:, 0] * x[0]) + np.sum(X[:, 1:] @ x[1:] ** 2) + np.sum(x[-2:])

    x, X = _args(("w", "X"), "all")
    counter = Computes()
    with counter:
        g = grad(f)(x, X)
    assert counter.count == 0 and isinstance(g, da.Array)
    np.testing.assert_allclose(g.compute(), grad(f)(DATA["w"], DATA["X"]), rtol=1e-12)


def test_vjp_on_dask_is_lazy():
    def f(x, X):
        return np.tanh(X @ x)

    X, x = _args(("X", "w"), "all")
    counter = Computes()
    with counter:
        out, pullback = sd.vjp(f, x, X)
        ct = pullback(da.ones(N, chunks=CHUNK))
    assert counter.count == 0 and isinstance(ct[0], da.Array)
    expected = sd.vjp(f, DATA["w"], DATA["X"])[1](np.ones(N))
    np.testing.assert_allclose(ct[0].compute(), expected[0], rtol=1e-12)


def test_one_element_output_on_dask():
    def f(x, X):
        return np.reshape(np.sum(X @ x) ** 2, (1,))

    x, X = _args(("w", "X"), "all")
    counter = Computes()
    with counter:
        g = grad(f)(x, X)
    assert counter.count == 0
    np.testing.assert_allclose(g.compute(), grad(f)(DATA["w"], DATA["X"]), rtol=1e-12)


def test_no_in_place_updates_or_shape_specialisation_for_duck_arrays():
    from sourcediff.opt.inplace import kinds_of
    from sourcediff.opt.shapes import spec_of
    x, X = _args(("w", "X"), "all")
    assert kinds_of((DATA["w"], X)) is None
    assert spec_of((x, DATA["X"])) == (None, (N, D))


def test_the_guard_keys_on_type_and_dtype():
    g = grad(H.poisson_nll)
    w, X, y = _args(("w", "X", "counts"), "all")
    g(w, X, y)
    assert g.__code__.co_filename.startswith("<sourcediff entry")  # guarded entry code
    g(w, X, y)  # the specialised code
    with pytest.raises(ArgumentError, match=r"argument 0: it is a dask.Array of dtype int64"):
        g(da.arange(D), X, y)
    np.testing.assert_allclose(g(DATA["w"], DATA["X"], DATA["counts"]),
                               g(w, X, y).compute(), rtol=1e-12)


def test_bad_dask_input_is_a_clear_error():
    w, X, y = _args(("w", "X", "counts"), "all")
    keep = X[:, 0] > 0
    with pytest.raises(ArgumentError, match="unknown shape"):
        grad(H.poisson_nll)(w, X[keep], y[keep])

    def fancy(x, X):
        return np.sum(X @ x[[0, 0, 1, 3]])

    with pytest.raises(MissingRuleError, match="np.add.at"):
        grad(fancy)(w, X)


# --- a two-process dask.distributed cluster ------------------------------------------
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_client_map_and_submit_send_the_gradient_by_reference(client):
    X, y, w = DATA["X"], DATA["counts"], DATA["w"]
    g = grad(H.poisson_nll)
    shards = [(X[i:i + 150], y[i:i + 150]) for i in range(0, N, 150)]
    futures = client.map(g, [w] * len(shards), [s[0] for s in shards],
                         [s[1] for s in shards])
    per_shard = client.gather(futures)
    assert all(isinstance(p, np.ndarray) for p in per_shard)
    np.testing.assert_allclose(np.mean(per_shard, axis=0), g(w, X, y), rtol=1e-12)
    value, gw = client.submit(value_and_grad(H.mlp_loss, (0, 1)), DATA["W1"], DATA["b1"],
                              DATA["w2"], X, DATA["y"]).result()
    expected = value_and_grad(H.mlp_loss, (0, 1))(DATA["W1"], DATA["b1"], DATA["w2"], X,
                                                  DATA["y"])
    assert value == pytest.approx(expected[0], rel=1e-12)
    np.testing.assert_allclose(gw[0], expected[1][0], rtol=1e-12)
    pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(pids) == 2


def test_dask_gradient_runs_on_the_cluster(client):
    for case in ("poisson_glm", "mlp_tanh", "where_axes"):
        fn, wrt, names = CASES[case]
        expected_value, expected = value_and_grad(fn, wrt)(*_args(names, None))
        value, g = value_and_grad(fn, wrt)(*_args(names, "all"))
        value, g = dask.compute(value, g)  # on the cluster: the client is the default
        assert value == pytest.approx(expected_value, rel=1e-12)
        for gi, ei in zip(_tuple(g), _tuple(expected)):
            np.testing.assert_allclose(gi, ei, rtol=1e-10, atol=1e-12)


def test_dask_glm_example():
    from test_examples import number, run
    out = run("dask_glm.py", timeout=180)
    assert "on 2 worker processes" in out
    assert "dask fit: success=True" in out
    assert number(out, "time per gradient:") > 0
    assert number(out, "gradient on the subsample, Dask vs NumPy: max |difference| =") < 1e-12
    assert "numpy fit on 50,000 rows: success=True" in out
    gap = float(re.search(r"= (\S+) standard errors", out).group(1))
    assert gap < 5.0  # the full fit is within the subsample fit's noise

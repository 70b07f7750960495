"""Smoke test of the benchmark suite (benchmarks/): it runs, checks gradients, reports.

Timings are never asserted. Peer frameworks (autograd, torch, ...) are optional:
their checks are skipped when they are not installed.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sourcediff  # noqa: E402
from benchmarks import harness, methods, workloads  # noqa: E402
from benchmarks.timing import Settings  # noqa: E402

SMOKE_WORKLOADS = "logistic,rosenbrock"
SMOKE_METHODS = "sourcediff,tape,autograd,torch"


def _importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--only", SMOKE_WORKLOADS,
           "--methods", SMOKE_METHODS, "--markdown", str(out / "results.md"),
           "--json", str(out / "results.json")]
    if _importable("matplotlib"):
        cmd += ["--plot", str(out / "results.png")]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return proc, out, data["results"]


def _rows(results, method):
    return [r for r in results if r["method"] == method]


def test_quick_run_prints_and_writes_tables(quick_run):
    proc, out, results = quick_run
    md = (out / "results.md").read_text(encoding="utf-8")
    for text in (proc.stdout, md):
        assert "| method | median |" in text
        assert "(b) logistic" in text
        assert "Scaling sweep (Rosenbrock)" in text
    assert {r["workload"] for r in results} == {"logistic", "rosenbrock-n100",
                                                 "rosenbrock-n1000"}
    if _importable("matplotlib"):
        assert (out / "results.png").stat().st_size > 0


def test_quick_run_reference_methods_ran(quick_run):
    _, _, results = quick_run
    for method in ("forward", "hand"):
        rows = _rows(results, method)
        assert rows and all(r["status"] == "ok" for r in rows), rows
        assert all(r["median"] > 0 for r in rows)


def test_quick_run_no_gradient_mismatch(quick_run):
    _, _, results = quick_run
    bad = [r for r in results if r["status"] == "MISMATCH"]
    assert not bad, bad


@pytest.mark.parametrize("method", ["sourcediff", "tape"])
def test_quick_run_sourcediff_gradients_match(quick_run, method):
    _, _, results = quick_run
    rows = _rows(results, method)
    assert rows
    if all(r["status"] == "skipped" for r in rows):
        pytest.skip(f"{method}: {rows[0]['note']}")
    bad = [(r["workload"], r["status"], r["note"]) for r in rows if r["status"] != "ok"]
    assert not bad, bad


@pytest.mark.parametrize("peer", ["autograd", "torch"])
def test_quick_run_optional_peer(quick_run, peer):
    if not _importable(peer):
        pytest.skip(f"{peer} not installed (optional)")
    _, _, results = quick_run
    rows = _rows(results, peer)
    bad = [(r["workload"], r["status"], r["note"]) for r in rows if r["status"] != "ok"]
    assert rows and not bad, bad


# -- in-process checks of the harness itself ----------------------------------

def _fd_grad(f, args, i, idx=None, eps=1e-6):
    args = list(args)
    x = args[i]
    if idx is None:                       # scalar argument
        args[i] = x + eps
        up = f(*args)
        args[i] = x - eps
        return (up - f(*args)) / (2 * eps)
    x = x.copy()
    orig = x[idx]
    x[idx] = orig + eps
    args[i] = x
    up = f(*args)
    x[idx] = orig - eps
    return (up - f(*args)) / (2 * eps)


@pytest.mark.parametrize("name", [w.name for w in workloads.all_workloads(quick=True)])
def test_handwritten_gradients_match_finite_differences(name):
    wl = next(w for w in workloads.all_workloads(quick=True) if w.name == name)
    args = wl.make_args()
    grads = wl.grad(*args)
    grads = grads if len(wl.wrt) > 1 else (grads,)
    rng = np.random.default_rng(1)
    for i, g in zip(wl.wrt, grads):
        if np.ndim(args[i]) == 0:
            assert np.isclose(g, _fd_grad(wl.fn, args, i), rtol=1e-5, atol=1e-7)
            continue
        assert np.shape(g) == np.shape(args[i])
        for _ in range(4):
            idx = tuple(int(rng.integers(0, n)) for n in np.shape(args[i]))
            assert np.isclose(g[idx], _fd_grad(wl.fn, args, i, idx), rtol=1e-4, atol=1e-7)


def test_harness_reports_mismatch_and_failure_instead_of_crashing():
    wl = next(w for w in workloads.all_workloads(quick=True) if w.name == "logistic")

    def wrong(w, args):
        g = lambda *a: tuple(2.0 * np.asarray(x) for x in wl.grad(*a))  # noqa: E731
        return methods.Prepared(g, args, g(*args), 0.0, convert=tuple)

    def broken(w, args):
        raise ZeroDivisionError("boom")

    meths = [methods.Method("hand", "hand", "hand", methods.prep_hand),
             methods.Method("wrong", "wrong", "peer", wrong),
             methods.Method("broken", "broken", "peer", broken)]
    rows = harness.run([wl], meths, Settings.quick(), progress=False)
    status = {r.method.name: r.status for r in rows}
    assert status == {"hand": "ok", "wrong": "MISMATCH", "broken": "FAILED"}
    assert "boom" in rows[2].note


def test_samples_are_interleaved_and_a_method_failing_while_timed_is_reported():
    from benchmarks.timing import measure_all
    order = []

    def a():
        order.append("a")

    calls = {"n": 0}

    def flaky():
        order.append("f")
        calls["n"] += 1
        if calls["n"] > 2:
            raise RuntimeError("late failure")

    def b():
        order.append("b")

    settings = Settings(min_sample=0.0, max_samples=6, min_samples=6, budget=0.0)
    ta, tf, tb = measure_all([(a, ()), (flaky, ()), (b, ())], settings)
    assert ta.samples == tb.samples == 6
    assert isinstance(tf, RuntimeError)
    # one call each to choose the loop counts (one call per sample here), then one
    # sample of each in turn; the flaky one drops out at its third call
    assert "".join(order) == "afb" + "afb" + "afb" + "ab" * 4


def test_compile_is_the_first_call_minus_the_call_after_it():
    """Build once and call twice per fresh copy; the one-off cost leaves the call out
    (timings are never asserted, only how they relate)."""
    calls = []

    def build(f):
        def g(*args):
            calls.append(args)
            return f(*args)
        return g

    g, out, first, compile_ = methods._first(build, (3.0,), _square, {})
    assert out == 9.0
    assert calls == [(3.0,)] * (2 * methods.FIRST_CALL_COPIES)
    assert 0.0 <= compile_ <= first


def _square(x):
    return x * x


def test_cpu_time_clock_times_the_work_not_the_wait():
    """``--cpu-time`` (Settings.clock = time.process_time): a sample that sleeps costs
    next to nothing, one that computes costs its work; the wall clock counts the sleep."""
    import time
    from benchmarks import cli
    from benchmarks.timing import measure_all

    def sleeper():
        time.sleep(0.01)

    def worker():
        sum(range(20000))

    cpu = Settings(min_sample=0.0, max_samples=3, min_samples=3, budget=0.0,
                   clock=time.process_time)
    ts, tw = measure_all([(sleeper, ()), (worker, ())], cpu)
    assert ts.median < 0.005 and tw.median > 0.0
    (wall,) = measure_all([(sleeper, ())], Settings(min_sample=0.0, max_samples=3,
                                                     min_samples=3, budget=0.0))
    assert wall.median >= 0.009
    assert cli.parse_args(["--cpu-time"]).cpu_time and not cli.parse_args([]).cpu_time


def test_compile_scaling_bodies_and_their_gradients(tmp_path):
    """benchmarks/compile_scaling.py: its loop bodies have the sizes its table reports (the
    RK4 step is 53 statements once normalised, as the issue counts them), each body's
    gradient is right (central differences), and the table is written."""
    from benchmarks import compile_scaling as cs
    for kind, k, statements in (("scalar", 1, 53), ("scalar", 2, 106), ("array", 2, 31)):
        make_src, make_args, _ = cs.KINDS[kind]
        fn = cs._function(make_src(k), f"test {kind} {k}")
        assert cs.body_statements(fn) == statements
        args = make_args(np.random.default_rng(1))
        grads = sourcediff.grad(fn, wrt=(0, 1))(*args)
        for i in (0, 1):
            x = np.asarray(args[i], dtype=float)
            for idx in list(np.ndindex(x.shape))[:3]:
                e = np.zeros_like(x)
                e[idx] = 1e-6
                moved = [list(args), list(args)]
                moved[0][i], moved[1][i] = x + e, x - e
                if x.shape == ():
                    moved[0][i], moved[1][i] = float(x + e), float(x - e)
                fd = (fn(*moved[0]) - fn(*moved[1])) / 2e-6
                assert np.isclose(np.asarray(grads[i])[idx], fd, rtol=1e-5, atol=1e-7)
    out = tmp_path / "compile-scaling.md"
    cs.main(["--repeat", "1", "--markdown", str(out)])
    text = out.read_text()
    assert "| scalar | 1 | 53 |" in text and "| array | 8 | 121 |" in text

"""Every script in examples/ runs and prints what the README and SEEDS.md promise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run(name, timeout=60):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr
    return proc.stdout


def number(text, label):
    m = re.search(re.escape(label) + r"\s*(-?\d+\.\d+(?:e[-+]\d+)?)", text)
    assert m, f"{label!r} not in output:\n{text}"
    return float(m.group(1))


def test_every_example_is_tested():
    tested = {"quickstart.py", "higher_order.py", "custom_relu.py", "no_grad_detach.py",
              "sigmoid_loss.py", "bce_vjp.py", "mlp.py", "training_loop.py",
              "scipy_minimize.py", "newton.py", "gaussian_process.py", "spectral.py",
              "dask_glm.py"}  # (run by tests/test_dask.py, where Dask is installed)
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_quickstart():
    out = run("quickstart.py")
    assert "def loss_grad(w, b, x, t, lam):" in out
    assert number(out, "dE/dw =") == pytest.approx(-0.131645, abs=1e-6)
    assert number(out, "dE/db =") == pytest.approx(-0.107763, abs=1e-6)
    assert "def sum_of_squares_grad(x):" in out
    assert "grad of sum(x**2) equals 2x: True" in out


def test_higher_order():
    out = run("higher_order.py")
    assert "d/dx x**2 at 2.0 = 4.0 (float)" in out
    assert number(out, "z'   =") == pytest.approx(-2.614574, abs=1e-6)
    assert number(out, "z''  =") == pytest.approx(10.801553, abs=1e-6)
    assert number(out, "z''' =") == pytest.approx(59.996452, abs=1e-6)
    assert "matches hand Hessian: True" in out


def test_custom_relu():
    out = run("custom_relu.py")
    assert "x.grad = [0. 1. 0.]" in out
    assert "grad of sum(my_relu(x)) = [0. 1. 0.]" in out
    assert "my_relu_vjp(" in out            # the rule is called, the body is not differentiated


def test_no_grad_detach():
    out = run("no_grad_detach.py")
    assert number(out, "d/dx x*(2x) at 2.0:") == 8.0
    assert number(out, "under no_grad():") == 4.0
    assert number(out, "stop_gradient(2x):") == 4.0


def test_sigmoid_loss_adjoint_computes_each_intermediate_once():
    out = run("sigmoid_loss.py")
    assert "'w * x + b' computed 1 time(s), np.exp called 1 time(s)" in out
    dw, hand_w = re.search(r"dE/dw = (\S+)\s+by hand (\S+)", out).groups()
    db, hand_b = re.search(r"dE/db = (\S+)\s+by hand (\S+)", out).groups()
    assert float(dw) == pytest.approx(float(hand_w), abs=1e-10)
    assert float(db) == pytest.approx(float(hand_b), abs=1e-10)


def test_bce_and_vjp():
    out = run("bce_vjp.py")
    assert "matches sigmoid(z) - y by hand: True" in out
    assert "loss and grads finite: True" in out
    assert "second call equals first (no accumulation): True" in out
    assert "equals 2 * (inp + 1): True" in out


def test_mlp_loss_falls():
    out = run("mlp.py")
    first, last = map(float, re.search(r"first loss (\S+) -> last loss (\S+)", out).groups())
    assert "epochs: 1000" in out
    assert last < 0.2 * first


def test_training_loop_loss_falls():
    out = run("training_loop.py")
    first, last = map(float, re.search(r"loss: first (\S+) -> last (\S+)", out).groups())
    assert last < 0.5 * first
    assert number(out, "training accuracy:") > 0.8


def test_scipy_minimize():
    out = run("scipy_minimize.py")
    assert "rosenbrock: success=True" in out
    assert "x=[1. 1. 1. 1. 1.]" in out
    fd = float(re.search(r"\|grad - finite differences\| = (\S+)", out).group(1))
    assert fd < 1e-5
    assert "logistic: success=True" in out


def test_gaussian_process():
    out = run("gaussian_process.py")
    assert number(out, "|grad - central differences| =") < 1e-6
    assert "fit: success=True" in out
    assert number(out, "nlml =") == pytest.approx(29.183993, abs=1e-5)
    assert number(out, "noise std =") == pytest.approx(0.11, abs=0.02)
    assert number(out, "|grad| at the optimum =") < 1e-3


def test_newton():
    out = run("newton.py")
    assert number(out, "|H - differences of grad| =") < 1e-7
    assert "symmetric: True" in out
    assert "trust-exact: success=True" in out
    assert number(out, "|grad|=") < 1e-8
    assert "Newton-CG (hvp): success=True" in out and "same minimum: True" in out


def test_spectral():
    """np.fft and complex arithmetic: a spectral PDE solver fitted by L-BFGS."""
    out = run("spectral.py")
    assert number(out, "gradient check max error =") < 1e-7
    assert "(dtype float64)" in out
    assert number(out, "fitted nu =") == pytest.approx(0.05, abs=3e-3)
    assert number(out, "fitted c =") == pytest.approx(0.8, abs=1e-2)
    assert number(out, "final loss =") == pytest.approx(0.5 * 0.01 ** 2 * 3 * 64, rel=0.2)

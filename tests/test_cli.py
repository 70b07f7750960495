"""``python -m sourcediff show|export``: output, standalone exports, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import sourcediff
from sourcediff import grad

ROOT = Path(__file__).resolve().parents[1]
SIGMOID = str(ROOT / "examples" / "sigmoid_loss.py")
MLP = str(ROOT / "examples" / "mlp.py")
SITE = str(Path(np.__file__).resolve().parents[1])   # where numpy lives, for -I -S runs

USER_FILE = '''\
import numpy as np
from numpy import exp as e

from sourcediff import no_grad, primitive, stop_gradient

SCALE = 2.0
W = np.array([1.0, -2.0, 0.5])


@primitive
def softplus(x):
    return np.log1p(e(x))


@softplus.defvjp
def softplus_rule(g, ans, x):
    return (g / (1.0 + e(-x)),)


def inner(a):
    return np.sum(softplus(a) * W) * SCALE


def model(a, b, n):
    with no_grad():
        c = np.sum(a)
    s = stop_gradient(b)
    y = inner(a * b) * c
    for _ in range(n):
        y = y * s + np.sum(np.tanh(a)) * b
    return y


def uses_scipy(x):
    import scipy.special
    return np.sum(scipy.special.expit(x))


def make():
    def local(x):
        return x * 2.0

    def f(x):
        return np.sum(local(x))
    return f


closure_user = make()
'''


def cli(*args, cwd=None, env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "sourcediff", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd or ROOT, env=env)


def isolated(script, cwd):
    """Run ``script`` where numpy is importable and sourcediff is not."""
    boot = f"import sys; sys.path[:0] = [{SITE!r}, {str(cwd)!r}]\n"
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", boot + textwrap.dedent(script)],
                          capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={"OPENBLAS_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def user_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user")
    path = folder / "usercode.py"
    path.write_text(USER_FILE)
    return path


@pytest.fixture(scope="module")
def no_sourcediff(tmp_path_factory):
    where = tmp_path_factory.mktemp("isolated")
    out = isolated("""
        try:
            import sourcediff
            print("importable")
        except ImportError:
            print("not importable")
    """, where)
    if out.strip() != "not importable":
        pytest.skip("sourcediff is installed next to numpy; cannot hide it")
    return where


# -- show ---------------------------------------------------------------------------------
def test_show_reverse_is_generic_and_says_so():
    proc = cli("show", f"{SIGMOID}:loss", "--wrt", "w,b")
    assert proc.returncode == 0, proc.stderr
    assert "Generic code: not specialised" in proc.stdout
    assert "def loss_grad(w, b, x, t, lam):" in proc.stdout
    assert "return " in proc.stdout.splitlines()[-1]


def test_show_with_shapes_is_lean():
    proc = cli("show", f"{SIGMOID}:loss", "--wrt", "0,b", "--shapes", "w=();b=();x=();t=();lam=()")
    assert proc.returncode == 0, proc.stderr
    assert "Specialised to the shapes" in proc.stdout
    code = [ln for ln in proc.stdout.splitlines() if not ln.lstrip().startswith("#")]
    assert sum(ln.count("np.exp(") for ln in code) == 1
    assert not any("unbroadcast" in ln for ln in code)


def test_show_forward_mode():
    proc = cli("show", f"{SIGMOID}:loss", "--wrt", "1", "--mode", "fwd")
    assert proc.returncode == 0, proc.stderr
    assert "def loss_jvp(w, b, x, t, lam, b_dot):" in proc.stdout


# -- export -------------------------------------------------------------------------------
def export(target, wrt, out, *extra, cwd=None):
    proc = cli("export", target, "--wrt", wrt, "-o", str(out), *extra, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return Path(out).read_text()


def test_export_runs_without_sourcediff(tmp_path, no_sourcediff):
    text = export(f"{SIGMOID}:loss", "w,b", no_sourcediff / "sigmoid_grad.py")
    assert "import numpy as np" in text and "sourcediff import" not in text
    assert text.index("__all__ = ['loss_grad'") > 0
    out = isolated("""
        import json
        import sigmoid_grad as m
        dw, db = m.loss_grad(0.3, -0.2, 1.5, 1.0, 0.1)
        value, (dw2, db2) = m.loss_value_and_grad(0.3, -0.2, 1.5, 1.0, 0.1)
        print(json.dumps([dw, db, value, dw2, db2, type(dw).__name__]))
    """, no_sourcediff)
    dw, db, value, dw2, db2, kind = json.loads(out)
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import sigmoid_loss
    finally:
        sys.path.pop(0)
    want = grad(sigmoid_loss.loss, wrt=("w", "b"))(0.3, -0.2, 1.5, 1.0, 0.1)
    assert (dw, db) == pytest.approx(want, abs=1e-14)
    assert (dw2, db2) == (dw, db) and kind == "float"
    assert value == pytest.approx(sigmoid_loss.loss(0.3, -0.2, 1.5, 1.0, 0.1))


def test_export_arrays_and_user_code(user_file, no_sourcediff):
    text = export(f"{user_file}:model", "0,b", no_sourcediff / "model_grad.py")
    for piece in ("def inner(a):", "def softplus(x):", "def softplus_rule(", "SCALE = 2.0",
                  "W = np.array(", "from numpy import exp as e", "def inner_adjoint(",
                  "class no_grad:", "def stop_gradient(x):"):
        assert piece in text
    a = np.array([0.3, -0.7, 1.1])
    out = isolated(f"""
        import json
        import numpy as np
        import model_grad
        ga, gb = model_grad.model_grad(np.array({a.tolist()}), 0.4, 3)
        print(json.dumps([ga.tolist(), gb]))
    """, no_sourcediff)
    ga, gb = json.loads(out)
    sys.path.insert(0, str(user_file.parent))
    try:
        import usercode
    finally:
        sys.path.pop(0)
    want_a, want_b = grad(usercode.model, wrt=(0, 1))(a, 0.4, 3)
    np.testing.assert_allclose(ga, want_a, rtol=1e-12)
    assert gb == pytest.approx(want_b, rel=1e-12)


def test_export_with_shapes_checks_them(no_sourcediff):
    shapes = "w1=(10, 20);b1=(20,);w2=(20, 1);b2=(1,);x=(100, 10);y=(100, 1)"
    text = export(f"{MLP}:mse_loss", "0,1,2,3", no_sourcediff / "mlp_grad.py",
                  "--shapes", shapes)
    assert "_mse_loss_check_shapes" in text
    out = isolated("""
        import json
        import numpy as np
        import mlp_grad
        rng = np.random.default_rng(0)
        args = [rng.standard_normal(s) for s in [(10, 20), (20,), (20, 1), (1,), (100, 10),
                                                 (100, 1)]]
        grads = mlp_grad.mse_loss_grad(*args)
        try:
            mlp_grad.mse_loss_grad(args[0], args[1], args[2], args[3], args[4][:5], args[5])
            bad = "accepted"
        except ValueError as exc:
            bad = str(exc)
        print(json.dumps([[g.tolist() for g in grads], bad]))
    """, no_sourcediff)
    grads, bad = json.loads(out)
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s) for s in [(10, 20), (20,), (20, 1), (1,), (100, 10), (100, 1)]]
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import mlp
    finally:
        sys.path.pop(0)
    for g, w in zip(grads, grad(mlp.mse_loss, wrt=(0, 1, 2, 3))(*args)):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-14)
    assert "exported for x of shape (100, 10)" in bad


def test_export_is_deterministic(tmp_path, user_file):
    texts = []
    for seed in ("1", "2"):
        out = tmp_path / f"out{seed}.py"
        proc = cli("export", f"{user_file}:model", "--wrt", "0,1", "-o", str(out),
                   env={"PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        texts.append(out.read_bytes())
    assert texts[0] == texts[1]
    assert b"sourcediff " + sourcediff.__version__.encode() in texts[0]


def test_exported_functions_pickle_by_reference(no_sourcediff):
    export(f"{SIGMOID}:loss", "w", no_sourcediff / "pickled_grad.py")
    out = isolated("""
        import pickle
        import pickled_grad
        data = pickle.dumps(pickled_grad.loss_grad)
        assert b"pickled_grad" in data and b"loss_grad" in data
        fn = pickle.loads(data)
        assert fn is pickled_grad.loss_grad
        print(fn(0.3, -0.2, 1.5, 1.0, 0.1))
    """, no_sourcediff)
    assert float(out) == pytest.approx(-0.131645, abs=1e-6)


# -- bad input: one line on stderr, non-zero exit ---------------------------------------------
BAD = [
    ("show", "missing_file.py:loss"),
    ("show", f"{SIGMOID}:no_such_function"),
    ("show", f"{SIGMOID}:loss", "--wrt", "nope"),
    ("show", f"{SIGMOID}:loss", "--wrt", "7"),
    ("show", f"{SIGMOID}:loss", "--wrt", "0,,1"),
    ("show", SIGMOID),
    ("show", f"{SIGMOID}:"),
    ("show", ":loss"),
    ("show", f"{SIGMOID}:loss", "--mode", "sideways"),
    ("show", f"{SIGMOID}:loss", "--shapes", "w=abc"),
    ("show", f"{SIGMOID}:EXPLANATION"),
    ("export", f"{SIGMOID}:loss", "-o", "no/such/folder/out.py"),
    ("export", f"{SIGMOID}:loss"),
    ("export", f"{SIGMOID}:main", "-o", "out.py"),
    ("frobnicate",),
    (),
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a).replace(str(ROOT), "") for a in BAD])
def test_bad_input_gives_one_line(args, tmp_path):
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sourcediff: error: "), proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("func", ["uses_scipy", "closure_user"])
def test_unexportable_code_gives_one_line(func, user_file, tmp_path):
    proc = cli("export", f"{user_file}:{func}", "-o", str(tmp_path / "x.py"))
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "x.py").exists()


def test_broken_user_module_gives_one_line(tmp_path):
    (tmp_path / "broken.py").write_text("import numpy as np\nraise RuntimeError('boom')\n")
    (tmp_path / "syntax.py").write_text("def f(x):\n    return x +\n")
    for name in ("broken", "syntax"):
        proc = cli("show", f"{name}.py:f", cwd=tmp_path)
        assert proc.returncode != 0
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and name + ".py" in lines[0], proc.stderr

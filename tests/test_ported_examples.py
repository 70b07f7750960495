"""Examples ported from HIPS autograd (examples/ported/): each differs from the original
only in its imports (and helpers written with NumPy where the original used SciPy), so
each gradient here is checked against autograd's gradient of the same code run on
``autograd.numpy`` (the port with its imports turned back), and against central
differences on a few coordinates."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PORTED = ROOT / "examples" / "ported"

autograd = pytest.importorskip("autograd")


def load(name, under_autograd=False):
    """The ported module ``name``; with ``under_autograd``, its source with the imports
    turned back into autograd's (the original code, as autograd runs it)."""
    src = (PORTED / f"{name}.py").read_text()
    if under_autograd:
        src = (src.replace("import numpy as np\n", "import autograd.numpy as np\n")
               .replace("import numpy.random as npr\n", "import autograd.numpy.random as npr\n")
               .replace("from sourcediff import check_grad, grad\n",
                        "from autograd import grad\nfrom autograd.test_util import check_grads\n")
               .replace("check_grad(training_loss, weights, modes=(\"rev\",))",
                        "check_grads(training_loss, modes=[\"rev\"])(weights)")
               .replace("from sourcediff import", "from autograd import"))
        assert "import sourcediff" not in src and "from sourcediff" not in src
    module = types.ModuleType(f"ported_{name}_{'ag' if under_autograd else 'sd'}")
    module.__file__ = str(PORTED / f"{name}.py")
    sys.path.insert(0, str(PORTED))
    try:
        exec(compile(src, module.__file__, "exec"), module.__dict__)
    finally:
        sys.path.remove(str(PORTED))
    return module


def central(f, x, coords, eps=1e-6):
    out = []
    for k in coords:
        e = np.zeros_like(x)
        e.flat[k] = eps
        out.append((f(x + e) - f(x - e)) / (2 * eps))
    return np.array(out)


def check(g_sd, g_ag, f, x, coords, rtol=1e-6):
    assert np.allclose(g_sd, g_ag, rtol=1e-9, atol=1e-12), np.max(np.abs(g_sd - g_ag))
    assert np.allclose(np.ravel(g_sd)[coords], central(f, x, coords), rtol=rtol, atol=1e-6)


def test_logistic_regression():
    sd, ag = load("logistic_regression"), load("logistic_regression", True)
    w = np.array([0.3, -0.2, 0.5])
    check(sd.training_gradient_fun(w), ag.training_gradient_fun(w), sd.training_loss, w,
          [0, 1, 2])


def test_rosenbrock():
    sd, ag = load("rosenbrock"), load("rosenbrock", True)
    x = np.array([-0.4, 0.7])
    (v1, g1), (v2, g2) = sd.rosenbrock_with_grad(x), ag.rosenbrock_with_grad(x)
    assert v1 == v2
    check(g1, g2, sd.rosenbrock, x, [0, 1])


def test_neural_net():
    sd, ag = load("neural_net"), load("neural_net", True)
    _, images, labels, _, _ = sd.load_mnist(N=20, D=6, C=3)
    params = sd.init_random_params(0.5, [6, 5, 4, 3])

    def objective(mod):
        return lambda p: -mod.log_posterior(p, images, labels, 0.1)

    g_sd = sd.grad(objective(sd))(params)
    g_ag = ag.grad(objective(ag))(params)
    for (dw1, db1), (dw2, db2) in zip(g_sd, g_ag):
        assert np.allclose(dw1, dw2) and np.allclose(db1, db2)
    W0 = params[0][0]

    def along_w0(w):
        return objective(sd)([(w.reshape(W0.shape), params[0][1])] + params[1:])
    check(g_sd[0][0].ravel(), g_ag[0][0].ravel(), along_w0, W0.ravel(), [0, 7, 29])


def test_black_box_svi():
    sd, ag = load("black_box_svi"), load("black_box_svi", True)
    # each objective draws from its own RandomState(0): the same samples in both
    obj_sd, grad_sd, _ = sd.black_box_variational_inference(sd.log_density, 2, 50)
    obj_ag, grad_ag, _ = ag.black_box_variational_inference(ag.log_density, 2, 50)
    params = np.array([-1.0, 0.5, -0.3, -1.2])
    g1, g2 = grad_sd(params, 0), grad_ag(params, 0)
    assert np.allclose(g1, g2)
    # the draw runs once per gradient call, as written: the next draws agree too
    assert np.allclose(grad_sd(params, 1), grad_ag(params, 1))
    # central differences on a fixed draw
    fresh = lambda: sd.black_box_variational_inference(sd.log_density, 2, 50)  # noqa: E731
    obj, grad, _ = fresh()
    g = grad(params, 0)

    def f(p):
        return fresh()[0](p, 0)
    assert np.allclose(g[[0, 3]], central(f, params, [0, 3]), rtol=1e-5)


def test_bayesian_neural_net():
    sd, ag = load("bayesian_neural_net"), load("bayesian_neural_net", True)
    n_sd, _, logprob_sd = sd.make_nn_funs([1, 4, 4, 1], 0.1, 0.01, nonlinearity=sd.rbf)
    _, _, logprob_ag = ag.make_nn_funs([1, 4, 4, 1], 0.1, 0.01, nonlinearity=ag.rbf)
    inputs, targets = sd.build_toy_dataset(n_data=10)
    weights = np.random.RandomState(1).randn(3, n_sd)

    def loss(mod_logprob):
        return lambda w: np.sum(mod_logprob(w, inputs, targets))
    from sourcediff import grad
    g1 = grad(loss(logprob_sd))(weights)
    g2 = autograd.grad(loss(logprob_ag))(weights)
    check(g1.ravel(), g2.ravel(), lambda w: loss(logprob_sd)(w.reshape(weights.shape)),
          weights.ravel(), [0, 5, 17])


def test_generator_unpack_layers():
    """The generator of bayesian_neural_net, without einsum: differentiated as a list."""
    from sourcediff import grad
    shapes = [(1, 3), (3, 2)]

    def unpack_layers(weights):
        num_weight_sets = len(weights)
        for m, n in shapes:
            yield (weights[:, : m * n].reshape((num_weight_sets, m, n)),
                   weights[:, m * n: m * n + n].reshape((num_weight_sets, 1, n)))
            weights = weights[:, (m + 1) * n:]

    def loss(weights):
        s = 0.0
        for W, b in unpack_layers(weights):
            s = s + np.sum(np.tanh(W) ** 2) + np.sum(b ** 3)
        return s

    w = np.random.RandomState(0).randn(2, 14)
    import autograd.numpy as anp

    def loss_ag(weights):
        s = 0.0
        for W, b in unpack_layers(weights):
            s = s + anp.sum(anp.tanh(W) ** 2) + anp.sum(b ** 3)
        return s
    check(grad(loss)(w).ravel(), autograd.grad(loss_ag)(w).ravel(),
          lambda v: loss(v.reshape(w.shape)), w.ravel(), [0, 4, 20])


def test_rnn():
    sd, ag = load("rnn"), load("rnn", True)
    params = sd.create_rnn_params(input_size=5, state_size=3, output_size=5, param_scale=0.3)
    inputs = np.random.RandomState(0).rand(4, 2, 5)
    g1 = sd.grad(lambda p: sd.rnn_log_likelihood(p, inputs, inputs))(params)
    g2 = ag.grad(lambda p: ag.rnn_log_likelihood(p, inputs, inputs))(params)
    for k in params:
        assert np.allclose(g1[k], g2[k])


def test_generative_adversarial_net():
    """Gradients for both players (argnum=(0, 1)) through a generator that draws its
    noise inside the objective, batch normalisation and np.logaddexp."""
    sd, ag = load("generative_adversarial_net"), load("generative_adversarial_net", True)
    _, images, _, _, _ = sd.load_mnist(N=30, D=6)
    gen = sd.init_random_params(0.5, [3, 5, 4, 6], rs=np.random.RandomState(1))
    dsc = sd.init_random_params(0.5, [6, 4, 1], rs=np.random.RandomState(2))

    def objective(mod):
        rs = np.random.RandomState(0)  # each objective its own draws: the same in both
        return lambda g, d, it: mod.gan_objective(g, d, images[:20], 20, 3, rs)
    g_sd = sd.grad(objective(sd), argnum=(0, 1))(gen, dsc, 0)
    g_ag = ag.grad(objective(ag), argnum=(0, 1))(gen, dsc, 0)
    for side_sd, side_ag in zip(g_sd, g_ag):
        for (dw1, db1), (dw2, db2) in zip(side_sd, side_ag):
            assert np.allclose(dw1, dw2, rtol=1e-9, atol=1e-12)
            assert np.allclose(db1, db2, rtol=1e-9, atol=1e-12)
    W1 = gen[1][0]

    def along_w1(w):  # a fixed draw: a fresh RandomState(0) at each evaluation
        g = [gen[0], (w.reshape(W1.shape), gen[1][1]), gen[2]]
        return objective(sd)(g, dsc, 0)
    check(g_sd[0][1][0].ravel(), g_ag[0][1][0].ravel(), along_w1, W1.ravel(), [0, 7, 19])


def test_fluidsim():
    """A smoke simulation: np.roll, gathers f[rows, cols] at floor-rounded positions,
    in-place `vx -= ...` on an argument, a plotting call in a branch, value_and_grad."""
    sd, ag = load("fluidsim"), load("fluidsim", True)
    init_smoke, target = sd.load_images(8, 8)
    rng = np.random.RandomState(3)

    def objective(mod):
        def f(params):
            vx = np.reshape(params[:64], (8, 8))
            vy = np.reshape(params[64:], (8, 8))
            return np.mean((target - mod.simulate(vx, vy, init_smoke, 3)) ** 2)
        return f
    params = 0.3 * rng.randn(128)
    (v1, g1), (v2, g2) = (sd.value_and_grad(objective(sd))(params),
                          ag.value_and_grad(objective(ag))(params))
    assert v1 == pytest.approx(v2, rel=1e-12)
    check(g1, g2, objective(sd), params, [0, 9, 70, 127])


@pytest.mark.parametrize("name", ["logistic_regression", "rosenbrock", "neural_net",
                                  "black_box_svi", "generative_adversarial_net", "fluidsim"])
def test_runs_as_a_script(name):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(PORTED / f"{name}.py")], capture_output=True,
                          text=True, timeout=120, cwd=PORTED, env=env)
    assert proc.returncode == 0, proc.stderr


def test_every_port_names_its_original():
    for path in PORTED.glob("*.py"):
        if path.name == "optimizers.py":
            continue
        head = path.read_text().split("\n", 3)
        assert head[0].startswith("# Ported from HIPS/autograd, examples/"), path.name
        assert "MIT License" in head[0] and "Changes:" in path.read_text()[:600], path.name

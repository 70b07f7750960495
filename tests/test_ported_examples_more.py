"""More examples ported from HIPS autograd (examples/ported/, issues #22 and #18), each
changed in its imports (and where its header says so, a helper written with NumPy ops or
one line sourcediff refuses, checked below to be refused with a clear error). Each
gradient is checked against autograd's gradient of the same code run on
``autograd.numpy`` (the port with its imports turned back) and against central
differences on a few coordinates."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from sourcediff import MissingRuleError, UnsupportedSyntaxError

ROOT = Path(__file__).resolve().parents[1]
PORTED = ROOT / "examples" / "ported"

autograd = pytest.importorskip("autograd")
pytest.importorskip("scipy")

# the port's import lines -> autograd's (the original's)
_BACK = [
    (r"^import numpy as np$", "import autograd.numpy as np"),
    (r"^import numpy\.random as npr$", "import autograd.numpy.random as npr"),
    (r"^from numpy\.linalg import", "from autograd.numpy.linalg import"),
    (r"^from scipy\.stats import multivariate_normal as mvn$",
     "import autograd.scipy.stats.multivariate_normal as mvn"),
    (r"^from scipy\.(special|stats|integrate) import", r"from autograd.scipy.\1 import"),
    (r"^from sourcediff import hvp as hessian_vector_product$",
     "from autograd import hessian_vector_product"),
    (r"^from sourcediff import", "from autograd import"),
    (r"^from scipy\.integrate import odeint$", "from autograd.scipy.integrate import odeint"),
]
_SIBLINGS = ("rnn", "gaussian_process_regression", "gmm")  # ports that other ports import


def _autograd_source(src):
    out = []
    for line in src.splitlines():
        for pattern, repl in _BACK:
            line = re.sub(pattern, repl, line)
        out.append(line)
        if line == "from autograd.scipy.integrate import odeint":
            out.append("from autograd.builtins import tuple")  # (as the original has it)
    src = "\n".join(out) + "\n"
    assert "import sourcediff" not in src and "from sourcediff" not in src
    return src


def load(name, under_autograd=False, changed=None):
    """The ported module ``name`` (``changed``: a file with its source changed); with
    ``under_autograd`` its imports turned back into autograd's, the ports it imports too."""
    path = PORTED / f"{name}.py" if changed is None else changed
    src = path.read_text()
    if under_autograd:
        src = _autograd_source(src)
    module = types.ModuleType(f"ported_{name}_{'ag' if under_autograd else 'sd'}")
    module.__file__ = str(path)
    saved = {k: sys.modules.pop(k) for k in _SIBLINGS if k in sys.modules}
    sys.path.insert(0, str(PORTED))
    try:
        if under_autograd:
            for sibling in _SIBLINGS:
                if f"import {sibling}" in src or f"from {sibling} import" in src:
                    sys.modules[sibling] = load(sibling, True)
        exec(compile(src, module.__file__, "exec"), module.__dict__)
    finally:
        sys.path.remove(str(PORTED))
        for k in _SIBLINGS:
            sys.modules.pop(k, None)
        sys.modules.update(saved)
    return module


def central(f, x, coords, eps=1e-6):
    out = []
    for k in coords:
        e = np.zeros_like(x)
        e.flat[k] = eps
        out.append((f(x + e) - f(x - e)) / (2 * eps))
    return np.array(out)


def leaves(tree):
    if isinstance(tree, dict):
        return np.concatenate([leaves(tree[k]) for k in sorted(tree)])
    if isinstance(tree, (list, tuple)):
        return np.concatenate([leaves(t) for t in tree])
    return np.ravel(tree)


def check(g_sd, g_ag, f, x, coords, rtol=1e-6, atol=1e-6):
    g_sd, g_ag = leaves(g_sd), leaves(g_ag)
    assert np.allclose(g_sd, g_ag, rtol=1e-9, atol=1e-12), np.max(np.abs(g_sd - g_ag))
    x = np.asarray(x)
    assert np.allclose(leaves(g_sd)[coords] if np.ndim(x) == 1 else g_sd[coords],
                       central(f, x, coords), rtol=rtol, atol=atol)


def test_tanh_four_elementwise_derivatives():
    sd, ag = load("tanh"), load("tanh", True)
    x = np.linspace(-3.0, 3.0, 7)
    f_sd, f_ag = sd.tanh, ag.tanh
    for _ in range(4):
        prev = f_sd
        f_sd, f_ag = sd.egrad(f_sd), autograd.elementwise_grad(f_ag)
        assert np.allclose(f_sd(x), f_ag(x), rtol=1e-9, atol=1e-12)
        assert np.allclose(f_sd(x), (prev(x + 1e-5) - prev(x - 1e-5)) / 2e-5, atol=1e-6)


def test_negative_binomial_maxlike():
    """grad(grad(f)) for Newton's method, where f calls grad(loglike) of a lambda."""
    sd, ag = load("negative_binomial_maxlike"), load("negative_binomial_maxlike", True)
    x = np.random.RandomState(0).poisson(np.random.RandomState(1).gamma(5.0, 1.0, size=50))

    def funs(mod):
        loglike = lambda r, p: mod.np.sum(mod.negbin_loglike(r, p, x))  # noqa: E731
        p = lambda r: mod.np.sum(x) / mod.np.sum(r + x)  # noqa: E731
        return loglike, (lambda r: mod.grad(loglike)(r, p(r)))
    (ll_sd, rprime_sd), (ll_ag, rprime_ag) = funs(sd), funs(ag)
    r = 3.0
    assert rprime_sd(r) == pytest.approx(rprime_ag(r), rel=1e-12)
    d1, d2 = sd.grad(rprime_sd), sd.grad(sd.grad(rprime_sd))
    assert d1(r) == pytest.approx(ag.grad(rprime_ag)(r), rel=1e-10)
    assert d2(r) == pytest.approx(ag.grad(ag.grad(rprime_ag))(r), rel=1e-10)
    assert d1(r) == pytest.approx((rprime_sd(r + 1e-5) - rprime_sd(r - 1e-5)) / 2e-5, rel=1e-6)
    assert d2(r) == pytest.approx((d1(r + 1e-5) - d1(r - 1e-5)) / 2e-5, rel=1e-6)
    g_sd = sd.grad(ll_sd, argnum=(0, 1))(r, 0.4)
    assert np.allclose(g_sd, ag.grad(ll_ag, argnum=(0, 1))(r, 0.4), rtol=1e-12)


def test_gmm_gradient_and_hessian_vector_product():
    sd, ag = load("gmm"), load("gmm", True)
    data = sd.make_pinwheel(0.3, 0.05, 3, 5, 0.4)
    init = sd.init_gmm_params(3, 2, 0.5, rs=np.random.RandomState(1))
    init["lower triangles"] = init["lower triangles"] + 0.1 * np.random.RandomState(2).randn(3, 2, 2)
    g1 = sd.grad(sd.gmm_log_likelihood)(init, data)
    g2 = ag.grad(ag.gmm_log_likelihood)(init, data)
    for k in init:
        assert np.allclose(g1[k], g2[k], rtol=1e-9, atol=1e-12)
    obj_sd, _, x = sd.flatten_func(lambda p: -sd.gmm_log_likelihood(p, data), init)
    obj_ag, _, _ = ag.flatten_func(lambda p: -ag.gmm_log_likelihood(p, data), init)
    check(sd.grad(obj_sd)(x), ag.grad(obj_ag)(x), obj_sd, x, [0, 4, 20])
    v = np.random.RandomState(3).randn(x.size)
    h1 = sd.hessian_vector_product(obj_sd)(x, v)
    assert np.allclose(h1, ag.hessian_vector_product(obj_ag)(x, v), rtol=1e-9, atol=1e-10)
    dg = sd.grad(obj_sd)
    assert np.allclose(h1, (dg(x + 1e-6 * v) - dg(x - 1e-6 * v)) / 2e-6, rtol=1e-5, atol=1e-5)


def original_line(tmp_path, name, line, original):
    """The port ``name`` with ``line`` (the one its header says was changed) as the
    original has it."""
    src = (PORTED / f"{name}.py").read_text()
    assert line in src
    path = tmp_path / f"{name}.py"
    path.write_text(src.replace(line, original))
    return load(name, changed=path)


def test_gmm_original_line_is_refused(tmp_path):
    sd = original_line(
        tmp_path, "gmm",
        "    log_proportions, means, cov_sqrts = unpack_gmm_params(params)\n"
        "    for log_proportion, mean, cov_sqrt in zip(log_proportions, means, cov_sqrts):",
        "    for log_proportion, mean, cov_sqrt in zip(*unpack_gmm_params(params)):")
    params = sd.init_gmm_params(2, 2, 0.1)
    with pytest.raises(UnsupportedSyntaxError, match=r"a \*args call"):
        sd.grad(sd.gmm_log_likelihood)(params, np.ones((3, 2)))


def test_hmm_em_expected_statistics():
    sd, ag = load("hmm_em"), load("hmm_em", True)
    rs = np.random.RandomState(0)
    params = [sd.normalize(rs.rand(3)), sd.normalize(rs.rand(3, 3)), sd.normalize(rs.rand(3, 5))]
    natural = [np.log(p) for p in params]
    data = [rs.randint(5, size=6), rs.randint(5, size=4)]
    (v1, g1), (v2, g2) = (sd.vgrad(sd.log_partition_function)(natural, data),
                          ag.vgrad(ag.log_partition_function)(natural, data))
    assert v1 == pytest.approx(v2, rel=1e-12)
    B = natural[2]

    def along_B(b):
        return sd.log_partition_function(natural[:2] + [b.reshape(B.shape)], data)
    check(g1[2], g2[2], along_B, B.ravel(), [0, 7, 14])
    assert np.allclose(leaves(g1), leaves(g2), rtol=1e-9, atol=1e-12)


def test_hmm_em_original_line_is_refused(tmp_path):
    sd = original_line(
        tmp_path, "hmm_em",
        "sum([log_partition_function(natural_params, sequence) for sequence in data])",
        "sum(map(partial(log_partition_function, natural_params), data))")
    natural = [np.zeros(2), np.zeros((2, 2)), np.zeros((2, 3))]
    with pytest.raises(MissingRuleError, match="builtins.map"):
        sd.vgrad(sd.log_partition_function)(natural, [np.array([0, 2])])


def test_ica():
    sd, ag = load("ica"), load("ica", True)
    n_sd, _, logprob_sd, unpack_sd = sd.make_ica_funs(6, 2)
    _, _, logprob_ag, unpack_ag = ag.make_ica_funs(6, 2)
    rs = np.random.RandomState(0)
    data = rs.randn(10, 6)

    def objective(logprob, unpack, mod):
        def f(params):
            latents = mod.np.reshape(params[n_sd:n_sd + 20], (2, 10))
            return -logprob(unpack(params[:n_sd]), latents, mod.np.exp(params[-1]), data) / 10
        return f
    p = rs.randn(n_sd + 21)
    f_sd, f_ag = objective(logprob_sd, unpack_sd, sd), objective(logprob_ag, unpack_ag, ag)
    (v1, g1), (v2, g2) = sd.value_and_grad(f_sd)(p), ag.value_and_grad(f_ag)(p)
    assert v1 == pytest.approx(v2, rel=1e-12)
    check(g1, g2, f_sd, p, [0, 13, 32])


def test_variational_autoencoder():
    """rs.randn(*mean.shape) inside the objective; both networks' (W, b) lists."""
    sd, ag = load("variational_autoencoder"), load("variational_autoencoder", True)
    gen = sd.init_net_params(0.3, [2, 5, 6])
    rec = sd.init_net_params(0.3, [6, 5, 4], rs=np.random.RandomState(1))
    data = np.where(np.random.RandomState(2).rand(7, 6) > 0.5, 1.0, -1.0)

    def objective(mod):  # a fresh RandomState(0) at each call: the same draws in both
        return lambda combined: -mod.vae_lower_bound(combined[0], combined[1], data,
                                                     np.random.RandomState(0)) / 6
    g1 = sd.grad(objective(sd))((gen, rec))
    g2 = ag.grad(objective(ag))((gen, rec))
    W = gen[0][0]

    def along(w):
        return objective(sd)(([(w.reshape(W.shape), gen[0][1])] + gen[1:], rec))
    check(g1[0][0][0], g2[0][0][0], along, W.ravel(), [0, 3, 7])
    assert np.allclose(leaves(g1), leaves(g2), rtol=1e-9, atol=1e-12)


def test_convnet():
    sd, ag = load("convnet"), load("convnet", True)
    rs = np.random.RandomState(0)
    A, B = rs.randn(2, 3, 6, 5), rs.randn(3, 4, 3, 2)
    args = (([2, 3], [2, 3]), ([1], [0]))
    from autograd.scipy.signal import convolve  # the port's helper computes the same
    assert np.allclose(sd.convolve(A, B, *args, mode="valid"),
                       convolve(A, B, *args, mode="valid"), rtol=1e-12, atol=1e-12)

    def funs(mod):
        specs = [mod.conv_layer((3, 3), 2), mod.maxpool_layer((2, 2)), mod.tanh_layer(5),
                 mod.softmax_layer(3)]
        return mod.make_nn_funs((1, 8, 8), specs, 1.0)
    n, _, loss_sd, _ = funs(sd)
    _, _, loss_ag, _ = funs(ag)
    W = rs.randn(n) * 0.3
    X, T = rs.rand(4, 1, 8, 8), np.eye(3)[rs.randint(3, size=4)]
    check(sd.grad(loss_sd)(W, X, T), ag.grad(loss_ag)(W, X, T), lambda w: loss_sd(w, X, T), W,
          [0, 10, n - 1])


def test_mixture_variational_inference():
    """A nested function sampling inside a list comprehension, np.stack, logsumexp."""
    def log_density(np, norm):
        def f(x, t):
            mu, log_sigma = x[:, 0], x[:, 1]
            return np.logaddexp(norm.logpdf(log_sigma, 0, 1.35) + norm.logpdf(mu, -0.5, np.exp(log_sigma)),
                                norm.logpdf(log_sigma, 0.1, 1.35) + norm.logpdf(mu, 0.5, np.exp(log_sigma)))
        return f
    sd, ag = load("mixture_variational_inference"), load("mixture_variational_inference", True)

    def objective(mod):  # its own RandomState(0) at each build: the same draws in both
        init, elbo, _, _ = mod.build_mog_bbsvi(log_density(mod.np, mod.norm), num_samples=6,
                                               k=3, rs=np.random.RandomState(0))
        return init, (lambda p: -elbo(p, 0))
    init, f_sd = objective(sd)
    p = init(2, rs=np.random.RandomState(1), log_std_mean=-1)
    g1, g2 = sd.grad(f_sd)(p), ag.grad(objective(ag)[1])(p)
    check(g1, g2, lambda q: objective(sd)[1](q), p, [0, 4, 14])


def test_ode_net():
    """odeint(nn_predict, y0, t, tuple((params,))) with params a list of (W, b)."""
    sd, ag = load("ode_net"), load("ode_net", True)
    rs = np.random.RandomState(0)
    params = sd.init_nn_params(0.5, [2, 4, 2], rs=rs)
    y0, t, target = np.array([2.0, 0.0]), np.linspace(0.0, 0.5, 6), rs.randn(6, 2)

    def loss(mod):
        return lambda p: mod.np.sum((mod.ode_pred(p, y0, t) - target) ** 2)
    g1, g2 = sd.grad(loss(sd))(params), ag.grad(loss(ag))(params)
    assert np.allclose(leaves(g1), leaves(g2), rtol=1e-7, atol=1e-9)  # (rtol=0.01 solves)
    # central differences need an accurate solve: the same net, odeint at rtol=1e-10

    def tight(p):
        return np.sum((sd.odeint(sd.nn_predict, y0, t, (p,), rtol=1e-10, atol=1e-10)
                       - target) ** 2)
    g = sd.grad(tight)(params)
    W = params[0][0]

    def along(w):
        return tight([(w.reshape(W.shape), params[0][1])] + params[1:])
    assert np.allclose(np.ravel(g[0][0])[[0, 5]], central(along, W.ravel(), [0, 5], 1e-5),
                       rtol=1e-5, atol=1e-6)


def test_lstm():
    sd, ag = load("lstm"), load("lstm", True)
    params = sd.init_lstm_params(5, 3, 5, param_scale=0.3)
    inputs = np.random.RandomState(0).rand(4, 2, 5)

    def f(mod):
        return lambda p: mod.lstm_log_likelihood(p, inputs, inputs)
    g1, g2 = sd.grad(f(sd))(params), ag.grad(f(ag))(params)
    P = params["forget"]

    def along(w):
        return f(sd)({**params, "forget": w.reshape(P.shape)})
    check(g1["forget"], g2["forget"], along, P.ravel(), [0, 9, 20])
    assert np.allclose(leaves(g1), leaves(g2), rtol=1e-9, atol=1e-12)


def test_deep_gaussian_process():
    """Two GPs (np.linalg.solve, multivariate_normal.logpdf) reading module globals X, y,
    n_data that the original's __main__ sets."""
    sd, ag = load("deep_gaussian_process"), load("deep_gaussian_process", True)
    for mod in (sd, ag):
        mod.n_data = 8
        mod.X, mod.y = mod.build_step_function_dataset(D=1, n_data=8)
    n, lml_sd, *_ = sd.build_deep_gp(1, 1, sd.rbf_covariance)
    _, lml_ag, *_ = ag.build_deep_gp(1, 1, ag.rbf_covariance)
    p = np.random.RandomState(0).randn(n) * 0.5
    (v1, g1), (v2, g2) = sd.value_and_grad(lml_sd)(p), ag.value_and_grad(lml_ag)(p)
    assert v1 == pytest.approx(v2, rel=1e-12)
    check(g1, g2, lml_sd, p, [0, 3, n - 1])


def test_gplvm_objective():
    """gplvm.py's objective (written in its __main__): sum() of a list of GP likelihoods."""
    sd, ag = load("gaussian_process_regression"), load("gaussian_process_regression", True)
    data = np.random.RandomState(2).randn(6, 2)

    def objective(mod, norm):
        per_gp, _, lml = mod.make_gp_funs(mod.rbf_covariance, num_cov_params=3)

        def f(params):
            gp_params = mod.np.reshape(params[:2 * per_gp], (2, per_gp))
            latents = mod.np.reshape(params[2 * per_gp:], (6, 2))
            gp_likelihood = sum([lml(gp_params[i], latents, data[:, i]) for i in range(2)])
            return -gp_likelihood - mod.np.sum(norm.logpdf(latents))
        return f, 2 * per_gp + 12
    import autograd.scipy.stats
    import scipy.stats
    f_sd, n = objective(sd, scipy.stats.norm)
    f_ag, _ = objective(ag, autograd.scipy.stats.norm)
    p = np.random.RandomState(1).randn(n) * 0.3
    (v1, g1), (v2, g2) = sd.value_and_grad(f_sd)(p), ag.value_and_grad(f_ag)(p)
    assert v1 == pytest.approx(v2, rel=1e-12)
    check(g1, g2, f_sd, p, [0, 5, n - 1])


def test_bayesian_optimization():
    """The acquisition function's gradient (expected_new_max of a GP's prediction, with
    the GP's data as default arguments of nested functions), and the whole loop: the same
    points as autograd's (L-BFGS-B and CG on the gradients)."""
    sd, ag = load("bayesian_optimization"), load("bayesian_optimization", True)
    rs = np.random.RandomState(0)
    X, y = rs.rand(4, 1), rs.randn(4)

    def acquisition(mod):
        _, predict, _ = mod.make_gp_funs(mod.rbf_covariance, num_cov_params=2)
        params = np.array([0.1, -1.0, 0.2, -0.5])

        def predict_func(xstar, model_params=params, X=X, y=y):
            mean, cov = predict(model_params, X, y, xstar)
            return mean, mod.np.sqrt(mod.np.diag(cov))

        def acquisition_function(xstar, y=y):
            mean, std = predict_func(mod.np.atleast_2d(xstar))
            return mod.np.sum(mod.expected_new_max(mean, std, mod.defaultmax(y)))
        return acquisition_function
    x = np.array([0.3])
    (v1, g1), (v2, g2) = (sd.value_and_grad(acquisition(sd))(x),
                          ag.value_and_grad(acquisition(ag))(x))
    assert v1 == pytest.approx(v2, rel=1e-12)
    check(g1, g2, acquisition(sd), x, [0])

    def example_function(x):
        return np.sum(x * np.sin(10.0 * x) + x) - 1
    found = [mod.bayesian_optimize(example_function, np.array([0.0]), np.array([1.1]),
                                   num_iters=3) for mod in (sd, ag)]
    assert np.allclose(found[0][0], found[1][0]) and found[0][1] == pytest.approx(found[1][1])


@pytest.mark.parametrize("name", ["tanh", "negative_binomial_maxlike", "gmm", "hmm_em", "ica",
                                  "variational_autoencoder", "convnet",
                                  "mixture_variational_inference", "ode_net", "lstm",
                                  "gaussian_process_regression", "deep_gaussian_process", "gplvm",
                                  "bayesian_optimization"])
def test_runs_as_a_script(name):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(PORTED / f"{name}.py")], capture_output=True,
                          text=True, timeout=180, cwd=PORTED, env=env)
    assert proc.returncode == 0, proc.stderr

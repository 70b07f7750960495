"""The examples ported from autograd (examples/ported/) run each of their functions once
per gradient (and per Hessian, per Hessian-vector product): as many times as one
evaluation of the loss does. A function runs as its own code or as code sourcediff
generated from it (its split form ``f_split``, residual form ``f_forward``, adjoint or
tangent code, which run its forward part); counted with ``sys.setprofile``."""

from __future__ import annotations

import collections
import inspect
import re
import sys

import numpy as np
import pytest

from test_ported_examples import load

pytest.importorskip("autograd")

# generated code named after a function (f_split, f_forward, f_grad, f_forward_jvp, ...)
# runs its forward part, unless it is a reverse part (f_reverse, f_pullback and their
# tangent code) or a zero placeholder (f_no_tangent)
_SUFFIX = re.compile(r"(_[a-z]+)+")
_NO_RUN = ("_reverse", "_pullback", "_no")


def _functions(module):
    """The names of the functions ``module`` defines (nested ones included)."""
    names, todo = set(), [f.__code__ for f in vars(module).values()
                          if getattr(f, "__module__", None) == module.__name__
                          and hasattr(f, "__code__")]
    while todo:
        code = todo.pop()
        names.add(code.co_name)
        todo += [c for c in code.co_consts if hasattr(c, "co_name")]
    return names


def runs(thunk, module, names=()):
    """How often each function of ``module`` (and each of ``names``) ran, as itself or as
    generated code, while ``thunk()`` ran."""
    counts, resumed = collections.Counter(), set()
    known = _functions(module) | set(names)

    def profile(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if code.co_flags & inspect.CO_GENERATOR:  # a generator's frame: its first call only
            if frame in resumed:
                return
            resumed.add(frame)
        if code.co_filename == module.__file__ or (code.co_filename == __file__
                                                   and code.co_name in names):
            counts[code.co_name] += 1
            return
        if not code.co_filename.startswith("<sourcediff "):
            return
        for name in sorted(known, key=len, reverse=True):
            rest = code.co_name[len(name):]
            if code.co_name.startswith(name) and _SUFFIX.fullmatch(rest):
                if not any(word in rest for word in _NO_RUN):
                    counts[name] += 1
                return
    sys.setprofile(profile)
    try:
        thunk()
    finally:
        sys.setprofile(None)
    return counts


def neural_net():
    sd = load("neural_net")
    _, images, labels, _, _ = sd.load_mnist(N=20, D=6, C=3)
    params = sd.init_random_params(0.5, [6, 5, 4, 3])

    def loss(p):
        return -sd.log_posterior(p, images, labels, 0.1)
    return sd, loss, (params,)


def logistic_regression(sd=None):
    sd = sd or load("logistic_regression")

    def loss(weights):
        return sd.training_loss(weights)
    return sd, loss, (np.array([0.3, -0.2, 0.5]),)


def rnn():
    sd = load("rnn")
    params = sd.create_rnn_params(input_size=5, state_size=3, output_size=5, param_scale=0.3)
    inputs = np.random.RandomState(0).rand(4, 2, 5)

    def loss(p):
        return sd.rnn_log_likelihood(p, inputs, inputs)
    return sd, loss, (params,)


def bayesian_neural_net():
    sd = load("bayesian_neural_net")
    n, _, logprob = sd.make_nn_funs([1, 4, 4, 1], 0.1, 0.01, nonlinearity=sd.rbf)
    inputs, targets = sd.build_toy_dataset(n_data=10)

    def loss(w):
        return np.sum(logprob(w, inputs, targets))
    return sd, loss, (np.random.RandomState(1).randn(3, n),)


def black_box_svi(sd=None):
    sd = sd or load("black_box_svi")
    objective, _, _ = sd.black_box_variational_inference(sd.log_density, 2, 50)

    def loss(params):
        return objective(params, 0)
    return sd, loss, (np.array([-1.0, 0.5, -0.3, -1.2]),)


def generative_adversarial_net():
    sd = load("generative_adversarial_net")
    _, images, _, _, _ = sd.load_mnist(N=30, D=6)
    gen = sd.init_random_params(0.5, [3, 5, 4, 6], rs=np.random.RandomState(1))
    dsc = sd.init_random_params(0.5, [6, 4, 1], rs=np.random.RandomState(2))
    rs = np.random.RandomState(0)

    def loss(g, d):
        return sd.gan_objective(g, d, images[:20], 20, 3, rs)
    return sd, loss, (gen, dsc)


def fluidsim():
    sd = load("fluidsim")
    init_smoke, target = sd.load_images(8, 8)

    def loss(params):
        vx = np.reshape(params[:64], (8, 8))
        vy = np.reshape(params[64:], (8, 8))
        return np.mean((target - sd.simulate(vx, vy, init_smoke, 3)) ** 2)
    return sd, loss, (0.3 * np.random.RandomState(3).randn(128),)


@pytest.mark.parametrize("example", [neural_net, logistic_regression, rnn, bayesian_neural_net,
                                     black_box_svi, generative_adversarial_net, fluidsim],
                         ids=lambda f: f.__name__)
def test_a_gradient_runs_each_function_as_often_as_the_loss_does(example):
    from sourcediff import grad
    sd, loss, args = example()
    g = grad(loss, tuple(range(len(args))) if len(args) > 1 else 0)
    g(*args)  # compiled first: the counts below are of one gradient
    once = runs(lambda: loss(*args), sd, ["loss"])
    assert once["loss"] == 1 and len(once) > 1, "the loss runs the example's functions"
    assert runs(lambda: g(*args), sd, ["loss"]) == once


@pytest.mark.parametrize("example", [logistic_regression, black_box_svi],
                         ids=lambda f: f.__name__)
def test_a_hessian_and_an_hvp_run_each_function_as_often_as_the_loss_does(example):
    """black_box_svi draws its samples inside the objective (a RandomState made with it):
    the Hessian is that of one draw, the one its single run of the gradient saw."""
    from sourcediff import grad, hessian, hvp
    sd, loss, (x,) = example()
    once = runs(lambda: loss(x), sd, ["loss"])
    v = np.linspace(-1.0, 1.0, x.size)
    h, p = hessian(loss), hvp(loss)
    h(x), p(x, v)
    assert runs(lambda: h(x), sd, ["loss"]) == once
    assert runs(lambda: p(x, v), sd, ["loss"]) == once

    def first_draw(run):  # a new objective (its first draw) for each evaluation
        return run(example(sd)[1])
    H = first_draw(lambda f: hessian(f)(x))
    for j in range(x.size):  # against central differences of the gradient, same draw
        e = np.zeros(x.size)
        e[j] = 1e-6
        column = (first_draw(lambda f, e=e: grad(f)(x + e)) -
                  first_draw(lambda f, e=e: grad(f)(x - e))) / 2e-6
        np.testing.assert_allclose(H[:, j], column, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(first_draw(lambda f: hvp(f)(x, v)), H @ v, rtol=1e-9,
                               atol=1e-12)

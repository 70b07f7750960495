# Ported from HIPS/autograd, examples/gmm.py (MIT License,
# Copyright (c) 2014 by the Harvard Intelligent Probabilistic Systems Group).
# Changes: imports (autograd.numpy -> numpy, autograd.grad -> sourcediff.grad,
# hessian_vector_product -> sourcediff.hvp, autograd.scipy's multivariate_normal and
# logsumexp -> SciPy's); one line of gmm_log_likelihood: `zip(*unpack_gmm_params(params))`
# unpacks into three names first (sourcediff refuses a *args call whose length it cannot
# know: tests/test_ported_examples_more.py checks that error); data.make_pinwheel and
# autograd.misc.flatten.flatten_func are written below (the latter for this dict of three
# arrays: sourcediff differentiates a dict display, not a dict filled key by key); the
# plots are left out, the data and the mixture shrunk and Newton-CG stopped after 10
# iterations so it runs in a few seconds.
"""Implements a Gaussian mixture model, in which parameters are fit using
gradient descent.  This example runs on 2-dimensional data, but the model
works on arbitrarily-high dimension."""

from scipy.optimize import minimize
from scipy.special import logsumexp
from scipy.stats import multivariate_normal as mvn

import numpy as np
import numpy.random as npr

from sourcediff import grad
from sourcediff import hvp as hessian_vector_product


def make_pinwheel(radial_std, tangential_std, num_classes, num_per_class, rate, rs=None):
    """examples/data.py's make_pinwheel. Based on code by Ryan P. Adams."""
    rs = rs if rs is not None else npr.RandomState(0)
    rads = np.linspace(0, 2 * np.pi, num_classes, endpoint=False)

    features = rs.randn(num_classes * num_per_class, 2) * np.array([radial_std, tangential_std])
    features[:, 0] += 1
    labels = np.repeat(np.arange(num_classes), num_per_class)

    angles = rads[labels] + rate * np.exp(features[:, 0])
    rotations = np.stack([np.cos(angles), -np.sin(angles), np.sin(angles), np.cos(angles)])
    rotations = np.reshape(rotations.T, (-1, 2, 2))

    return np.einsum("ti,tij->tj", features, rotations)


def flatten_func(func, params):
    """autograd.misc.flatten.flatten_func for gmm's parameters: (the function of the
    flat vector, unflatten, the flat initial vector)."""
    keys = ["log proportions", "means", "lower triangles"]
    shapes = [np.shape(params[k]) for k in keys]
    ends = np.cumsum([int(np.prod(s)) for s in shapes])

    def unflatten(vector):
        return {"log proportions": np.reshape(vector[: ends[0]], shapes[0]),
                "means": np.reshape(vector[ends[0] : ends[1]], shapes[1]),
                "lower triangles": np.reshape(vector[ends[1] :], shapes[2])}

    def flattened(vector):
        return func(unflatten(vector))

    return flattened, unflatten, np.concatenate([np.ravel(params[k]) for k in keys])


def init_gmm_params(num_components, D, scale, rs=None):
    rs = rs if rs is not None else npr.RandomState(0)
    return {
        "log proportions": rs.randn(num_components) * scale,
        "means": rs.randn(num_components, D) * scale,
        "lower triangles": np.zeros((num_components, D, D)) + np.eye(D),
    }


def log_normalize(x):
    return x - logsumexp(x)


def unpack_gmm_params(params):
    normalized_log_proportions = log_normalize(params["log proportions"])
    return normalized_log_proportions, params["means"], params["lower triangles"]


def gmm_log_likelihood(params, data):
    cluster_lls = []
    log_proportions, means, cov_sqrts = unpack_gmm_params(params)
    for log_proportion, mean, cov_sqrt in zip(log_proportions, means, cov_sqrts):
        cov = np.dot(cov_sqrt.T, cov_sqrt)
        cluster_lls.append(log_proportion + mvn.logpdf(data, mean, cov))
    return np.sum(logsumexp(np.vstack(cluster_lls), axis=0))


if __name__ == "__main__":
    init_params = init_gmm_params(num_components=4, D=2, scale=0.1)

    data = make_pinwheel(radial_std=0.3, tangential_std=0.05, num_classes=3, num_per_class=20, rate=0.4)

    def objective(params):
        return -gmm_log_likelihood(params, data)

    flattened_obj, unflatten, flattened_init_params = flatten_func(objective, init_params)

    def callback(flattened_params):
        params = unflatten(flattened_params)
        print(f"Log likelihood {-objective(params)}")

    minimize(
        flattened_obj,
        flattened_init_params,
        jac=grad(flattened_obj),
        hessp=hessian_vector_product(flattened_obj),
        method="Newton-CG",
        callback=callback,
        options={"maxiter": 10},
    )

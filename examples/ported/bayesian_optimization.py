# Ported from HIPS/autograd, examples/bayesian_optimization.py (MIT License,
# Copyright (c) 2014 by the Harvard Intelligent Probabilistic Systems Group).
# Changes: imports (autograd.numpy -> numpy, autograd.value_and_grad ->
# sourcediff.value_and_grad, autograd.scipy.stats.norm -> SciPy's; gaussian_process is
# the ported gaussian_process_regression.py); the figure is left out (the callback prints
# each new point) and 3 iterations instead of 20: from the fourth on, the GP's covariance
# is not positive definite for SciPy's multivariate_normal.logpdf (under autograd as well).
"""This Bayesian optimization demo using gradient-based optimization
to find the next query point."""

from scipy.optimize import minimize
from scipy.stats import norm

import numpy as np
import numpy.random as npr

try:
    from gaussian_process_regression import make_gp_funs, rbf_covariance
except ImportError:  # imported as examples.ported.bayesian_optimization
    from .gaussian_process_regression import make_gp_funs, rbf_covariance

from sourcediff import value_and_grad


def probability_of_improvement(mean, std, max_so_far):
    return norm.cdf(max_so_far, mean, std)


def expected_new_max(mean, std, max_so_far):
    return (
        max_so_far
        - (mean - max_so_far) * norm.cdf(mean, max_so_far, std)
        + std * norm.pdf(mean, max_so_far, std)
    )


def init_covariance_params(num_params):
    return np.zeros(num_params)


def defaultmax(x, default=-np.inf):
    if x.size == 0:
        return default
    return np.max(x)


def bayesian_optimize(func, domain_min, domain_max, num_iters=20, callback=None):
    D = len(domain_min)

    num_params, predict, log_marginal_likelihood = make_gp_funs(rbf_covariance, num_cov_params=D + 1)

    model_params = init_covariance_params(num_params)

    def optimize_gp_params(init_params, X, y):
        log_hyperprior = lambda params: np.sum(norm.logpdf(params, 0.0, 100.0))  # noqa: E731
        objective = lambda params: -log_marginal_likelihood(params, X, y) - log_hyperprior(params)  # noqa: E731
        return minimize(value_and_grad(objective), init_params, jac=True, method="CG").x

    def choose_next_point(domain_min, domain_max, acquisition_function, num_tries=15, rs=None):
        """Uses gradient-based optimization to find next query point."""
        rs = rs if rs is not None else npr.RandomState(0)
        init_points = rs.rand(num_tries, D) * (domain_max - domain_min) + domain_min

        grad_obj = value_and_grad(lambda x: -acquisition_function(x))

        def optimize_point(init_point):
            print(".", end="")
            result = minimize(
                grad_obj,
                x0=init_point,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": 10},
                bounds=list(zip(domain_min, domain_max)),
            )
            return result.x, acquisition_function(result.x)

        optimzed_points, optimized_values = list(zip(*list(map(optimize_point, init_points))))
        print()
        best_ix = np.argmax(optimized_values)
        return np.atleast_2d(optimzed_points[best_ix])

    # Start by evaluating once in the middle of the domain.
    X = np.zeros((0, D))
    y = np.zeros(0)
    X = np.concatenate((X, np.reshape((domain_max - domain_min) / 2.0, (D, 1))))
    y = np.concatenate((y, np.reshape(np.array(func(X)), (1,))))

    for i in range(num_iters):
        if i > 1:
            print("Optimizing model parameters...")
            model_params = optimize_gp_params(model_params, X, y)

        print("Choosing where to look next", end="")

        def predict_func(xstar, model_params=model_params, X=X, y=y):
            mean, cov = predict(model_params, X, y, xstar)
            return mean, np.sqrt(np.diag(cov))

        def acquisition_function(xstar, y=y):
            xstar = np.atleast_2d(xstar)  # To work around a bug in scipy.minimize
            mean, std = predict_func(xstar)
            return expected_new_max(mean, std, defaultmax(y))

        next_point = choose_next_point(domain_min, domain_max, acquisition_function)

        print("Evaluating expensive function...")
        new_value = func(next_point)

        X = np.concatenate((X, next_point))
        y = np.concatenate((y, np.reshape(np.array(new_value), (1,))))

        if callback:
            callback(X, y, predict_func, acquisition_function, next_point, new_value)

    best_ix = np.argmax(y)
    return X[best_ix, :], y[best_ix]


if __name__ == "__main__":

    def example_function(x):
        return np.sum(x * np.sin(10.0 * x) + x) - 1

    domain_min = np.array([0.0])
    domain_max = np.array([1.1])

    def callback(X, y, predict_func, acquisition_function, next_point, new_value):
        print(f"next point {next_point.ravel()}, value {new_value}")

    best_x, best_y = bayesian_optimize(example_function, domain_min, domain_max, num_iters=3,
                                     callback=callback)
    print(f"best x {best_x}, best y {best_y}")

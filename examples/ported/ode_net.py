# Ported from HIPS/autograd, examples/ode_net.py (MIT License,
# Copyright (c) 2014 by the Harvard Intelligent Probabilistic Systems Group).
# Changes: imports (autograd.numpy -> numpy, autograd.grad -> sourcediff.grad,
# autograd.misc.optimizers.adam -> optimizers.adam, autograd.scipy.integrate.odeint ->
# scipy.integrate.odeint, autograd.builtins.tuple -> the builtin tuple); the figures are
# left out (the callback prints the loss), with a smaller net and 20 iterations so it
# runs in a few seconds.
# A demo of gradients through scipy.integrate.odeint,
# estimating the dynamics of a system given a trajectory.


import itertools

import numpy as np
import numpy.random as npr
from scipy.integrate import odeint

try:
    from optimizers import adam
except ImportError:  # imported as examples.ported.ode_net
    from .optimizers import adam

from sourcediff import grad

N = 30  # Dataset size
D = 2  # Data dimension
max_T = 1.5


# Two-dimensional damped oscillator
def func(y, t0, A):
    return np.dot(y**3, A)


def nn_predict(inputs, t, params):
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.maximum(0, outputs)
    return outputs


def init_nn_params(scale, layer_sizes, rs=None):
    """Build a list of (weights, biases) tuples, one for each layer."""
    rs = rs if rs is not None else npr.RandomState(0)
    return [
        (
            rs.randn(insize, outsize) * scale,  # weight matrix
            rs.randn(outsize) * scale,
        )  # bias vector
        for insize, outsize in itertools.pairwise(layer_sizes)
    ]


# Define neural ODE model.
def ode_pred(params, y0, t):
    return odeint(nn_predict, y0, t, tuple((params,)), rtol=0.01)


def L1_loss(pred, targets):
    return np.mean(np.abs(pred - targets))


if __name__ == "__main__":
    # Generate data from true dynamics.
    true_y0 = np.array([2.0, 0.0]).T
    t = np.linspace(0.0, max_T, N)
    true_A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    true_y = odeint(func, true_y0, t, args=(true_A,))

    def train_loss(params, iter):
        pred = ode_pred(params, true_y0, t)
        return L1_loss(pred, true_y)

    def callback(params, iter, g):
        pred = ode_pred(params, true_y0, t)

        print(f"Iteration {iter:d} train loss {L1_loss(pred, true_y):.6f}")

    # Train neural net dynamics to match data.
    init_params = init_nn_params(0.1, layer_sizes=[D, 20, D])
    optimized_params = adam(grad(train_loss), init_params, num_iters=20, callback=callback)

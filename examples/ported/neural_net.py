# Ported from HIPS/autograd, examples/neural_net.py (MIT License,
# Copyright (c) 2014 by the Harvard Intelligent Probabilistic Systems Group).
# Changes: imports (autograd.numpy -> numpy, autograd.grad -> sourcediff.grad,
# autograd.misc.optimizers.adam -> optimizers.adam); scipy.special's logsumexp and
# autograd.misc.flatten are written below with NumPy ops; MNIST is replaced by a small
# synthetic data set (load_mnist below), and the sizes, batch size and epochs are shrunk
# so the script runs in a few seconds.
import itertools

import numpy as np
import numpy.random as npr

try:
    from optimizers import adam
except ImportError:  # imported as examples.ported.neural_net
    from .optimizers import adam

from sourcediff import grad


def logsumexp(x, axis=None, keepdims=False):
    """scipy.special.logsumexp (written with NumPy ops: sourcediff has no rule for it)."""
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def flatten(params):
    """autograd.misc.flatten for a list of (weights, biases): the vector (no unflatten)."""
    parts = []
    for W, b in params:
        parts.append(np.ravel(W))
        parts.append(np.ravel(b))
    return np.concatenate(parts), None


def load_mnist(N=300, D=64, C=10, seed=0):
    """Stand-in for data.load_mnist: Gaussian clusters, one-hot labels."""
    rs = npr.RandomState(seed)
    centers = rs.randn(C, D)
    labels = rs.randint(C, size=2 * N)
    images = centers[labels] + 0.5 * rs.randn(2 * N, D)
    one_hot = np.eye(C)[labels]
    return N, images[:N], one_hot[:N], images[N:], one_hot[N:]


def init_random_params(scale, layer_sizes, rs=None):
    """Build a list of (weights, biases) tuples,
    one for each layer in the net."""
    rs = rs if rs is not None else npr.RandomState(0)
    return [
        (
            scale * rs.randn(m, n),  # weight matrix
            scale * rs.randn(n),
        )  # bias vector
        for m, n in itertools.pairwise(layer_sizes)
    ]


def neural_net_predict(params, inputs):
    """Implements a deep neural network for classification.
    params is a list of (weights, bias) tuples.
    inputs is an (N x D) matrix.
    returns normalized class log-probabilities."""
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return outputs - logsumexp(outputs, axis=1, keepdims=True)


def l2_norm(params):
    """Computes l2 norm of params by flattening them into a vector."""
    flattened, _ = flatten(params)
    return np.dot(flattened, flattened)


def log_posterior(params, inputs, targets, L2_reg):
    log_prior = -L2_reg * l2_norm(params)
    log_lik = np.sum(neural_net_predict(params, inputs) * targets)
    return log_prior + log_lik


def accuracy(params, inputs, targets):
    target_class = np.argmax(targets, axis=1)
    predicted_class = np.argmax(neural_net_predict(params, inputs), axis=1)
    return np.mean(predicted_class == target_class)


if __name__ == "__main__":
    # Model parameters
    layer_sizes = [64, 32, 16, 10]
    L2_reg = 1.0

    # Training parameters
    param_scale = 0.1
    batch_size = 100
    num_epochs = 5
    step_size = 0.01

    print("Loading training data...")
    N, train_images, train_labels, test_images, test_labels = load_mnist()

    init_params = init_random_params(param_scale, layer_sizes)

    num_batches = int(np.ceil(len(train_images) / batch_size))

    def batch_indices(iter):
        idx = iter % num_batches
        return slice(idx * batch_size, (idx + 1) * batch_size)

    # Define training objective
    def objective(params, iter):
        idx = batch_indices(iter)
        return -log_posterior(params, train_images[idx], train_labels[idx], L2_reg)

    # Get gradient of objective using autograd.
    objective_grad = grad(objective)

    print("     Epoch     |    Train accuracy  |       Test accuracy  ")

    def print_perf(params, iter, gradient):
        if iter % num_batches == 0:
            train_acc = accuracy(params, train_images, train_labels)
            test_acc = accuracy(params, test_images, test_labels)
            print(f"{iter // num_batches:15}|{train_acc:20}|{test_acc:20}")

    # The optimizers provided can optimize lists, tuples, or dicts of parameters.
    optimized_params = adam(
        objective_grad,
        init_params,
        step_size=step_size,
        num_iters=num_epochs * num_batches,
        callback=print_perf,
    )

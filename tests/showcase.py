"""Showcase functions whose generated source is kept as golden snapshots."""

import numpy as np


def loss(w, b, x, t, lam):
    z = w * x + b
    y = 1.0 / (1.0 + np.exp(-z))
    return 0.5 * (y - t) ** 2 + 0.5 * lam * w ** 2


def recurrence(a, b):
    h = 0.5
    for _ in range(1000):
        h = np.tanh(a * h + b)
    return h


def relu_or_leak(x, alpha):
    if x > 0.0:
        y = x * x
    else:
        y = alpha * x
    return y


def mlp(W1, b1, W2, x, t):
    h = np.tanh(x @ W1 + b1)
    out = h @ W2
    return 0.5 * np.sum((out - t) ** 2)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def tv_denoise(u, f, lam, eps):
    return 0.5 * np.sum((u - f) ** 2) + lam * np.sum(np.sqrt(np.diff(u) ** 2 + eps))

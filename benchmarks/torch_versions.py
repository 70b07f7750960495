"""The benchmarked functions spelled in PyTorch (same operations, same order as functions.py)."""

import torch


def scalar20(x, y):
    a = x * y
    b = torch.sin(a)
    c = b + x
    d = torch.exp(c / 3.0)
    e = d * y - x
    f = torch.log(1.0 + e * e)
    g = f / (1.0 + y * y)
    h = torch.cos(g) * a
    k = torch.sqrt(h * h + 1.0)
    return k * torch.tanh(x - y)


def logistic(w, b, x, t, lam):
    z = w * x + b
    y = 1.0 / (1.0 + torch.exp(-z))
    return 0.5 * (y - t) ** 2 + 0.5 * lam * w ** 2


def mlp(W1, b1, W2, b2, x, y):
    h = torch.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    s = z - torch.amax(z, dim=1, keepdim=True)
    lse = torch.log(torch.sum(torch.exp(s), dim=1, keepdim=True))
    return -torch.sum(y * (s - lse)) / x.shape[0]


def recurrence(a, b):
    h = 0.5
    for _ in range(1000):
        h = torch.tanh(a * h + b)
    return h


def rosenbrock(x):
    return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

"""The benchmarked functions spelled in PyTorch (same operations, same order as functions.py)."""

import math

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


# -- workloads of issue 21 ---------------------------------------------------------

def ridge(w, s, X, y, lam):
    Xs = X * s
    r = Xs @ w - y
    return 0.5 * torch.sum(r ** 2) / X.shape[0] + 0.5 * lam * torch.sum(w ** 2)


def gmm(mu, log_s, logit_pi, x):
    d = (x[:, None, :] - mu) / torch.exp(log_s)
    log_pi = logit_pi - torch.log(torch.sum(torch.exp(logit_pi)))
    logp = (log_pi - 0.5 * torch.sum(d ** 2, dim=2) - torch.sum(log_s, dim=1)
            - 0.5 * x.shape[1] * math.log(2.0 * math.pi))
    m = torch.amax(logp, dim=1, keepdim=True)
    lse = m[:, 0] + torch.log(torch.sum(torch.exp(logp - m), dim=1))
    return -torch.sum(lse) / x.shape[0]


def springs(x, v, k, rest):
    dt = 0.01
    for _ in range(200):
        diff = x[:, None, :] - x[None, :, :]
        dist = torch.sqrt(torch.sum(diff ** 2, dim=2) + 1e-6)
        c = k * (dist - rest) / dist
        f = torch.sum(c[:, :, None] * diff, dim=1)
        v = v - dt * f
        x = x + dt * v
    return torch.sum(x ** 2) + 0.5 * torch.sum(v ** 2)


def lstm(W, U, b, xs):
    H = U.shape[0]
    h = torch.zeros((xs.shape[1], H), dtype=xs.dtype)
    c = torch.zeros((xs.shape[1], H), dtype=xs.dtype)
    for t in range(xs.shape[0]):
        z = xs[t] @ W + h @ U + b
        i = 1.0 / (1.0 + torch.exp(-z[:, :H]))
        f = 1.0 / (1.0 + torch.exp(-z[:, H:2 * H]))
        o = 1.0 / (1.0 + torch.exp(-z[:, 2 * H:3 * H]))
        g = torch.tanh(z[:, 3 * H:])
        c = f * c + i * g
        h = o * torch.tanh(c)
    return torch.sum(h ** 2)


def rk4(k, c):
    x = torch.tensor(1.0, dtype=torch.float64)  # (torch.sin takes tensors only)
    v = torch.tensor(0.0, dtype=torch.float64)
    dt = 0.01
    for _ in range(500):
        k1x = v
        k1v = -k * torch.sin(x) - c * v
        k2x = v + 0.5 * dt * k1v
        k2v = -k * torch.sin(x + 0.5 * dt * k1x) - c * k2x
        k3x = v + 0.5 * dt * k2v
        k3v = -k * torch.sin(x + 0.5 * dt * k2x) - c * k3x
        k4x = v + dt * k3v
        k4v = -k * torch.sin(x + dt * k3x) - c * k4x
        x = x + dt / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
        v = v + dt / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
    return x * x + v


def attention(Wq, Wk, Wv, X):
    Q = X @ Wq
    K = X @ Wk
    V = X @ Wv
    S = Q @ K.T / math.sqrt(X.shape[1])
    S = S - torch.amax(S, dim=1, keepdim=True)
    P = torch.exp(S)
    P = P / torch.sum(P, dim=1, keepdim=True)
    return 0.5 * torch.sum((P @ V) ** 2)


def tv_denoise(u, f, lam, eps):
    return 0.5 * torch.sum((u - f) ** 2) + lam * torch.sum(torch.sqrt(torch.diff(u) ** 2 + eps))

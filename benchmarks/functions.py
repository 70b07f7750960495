"""The benchmarked functions, written as a user would write them: plain NumPy / math.

Every method differentiates exactly these definitions. sourcediff and tangent
read their source; autograd and JAX run the same source re-executed with ``np``
(and ``math``) bound to their own NumPy work-alikes (see ``methods.py``). Only
PyTorch needs its own spelling (``torch_versions.py``).

Keep this module's globals to ``math`` and ``np``: the re-execution relies on it.
"""

import math

import numpy as np


def scalar20(x, y):
    """(a) About twenty scalar operations on two Python floats."""
    a = x * y
    b = math.sin(a)
    c = b + x
    d = math.exp(c / 3.0)
    e = d * y - x
    f = math.log(1.0 + e * e)
    g = f / (1.0 + y * y)
    h = math.cos(g) * a
    k = math.sqrt(h * h + 1.0)
    return k * math.tanh(x - y)


def logistic(w, b, x, t, lam):
    """(b) The seed-002 logistic loss on Python floats."""
    z = w * x + b
    y = 1.0 / (1.0 + np.exp(-z))
    return 0.5 * (y - t) ** 2 + 0.5 * lam * w ** 2


def mlp(W1, b1, W2, b2, x, y):
    """(c, d) MLP, tanh hidden layer, softmax cross-entropy (``y`` one-hot), mean over batch."""
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    s = z - np.max(z, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    return -np.sum(y * (s - lse)) / x.shape[0]


def recurrence(a, b):
    """(e) A 1000-step scalar recurrence in a Python loop; the loss is the last state."""
    h = 0.5
    for _ in range(1000):
        h = np.tanh(a * h + b)
    return h


def rosenbrock(x):
    """(f) The n-dimensional Rosenbrock function."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


# -- workloads of issue 21, written before the optimiser was tuned for them -----

def ridge(w, s, X, y, lam):
    """(g) Ridge regression with a learned per-feature scale ``s``."""
    Xs = X * s
    r = Xs @ w - y
    return 0.5 * np.sum(r ** 2) / X.shape[0] + 0.5 * lam * np.sum(w ** 2)


def gmm(mu, log_s, logit_pi, x):
    """(h) Negative log-likelihood of a diagonal Gaussian mixture, via log-sum-exp."""
    d = (x[:, None, :] - mu) / np.exp(log_s)
    log_pi = logit_pi - np.log(np.sum(np.exp(logit_pi)))
    logp = (log_pi - 0.5 * np.sum(d ** 2, axis=2) - np.sum(log_s, axis=1)
            - 0.5 * x.shape[1] * np.log(2.0 * np.pi))
    m = np.max(logp, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(logp - m), axis=1))
    return -np.sum(lse) / x.shape[0]


def springs(x, v, k, rest):
    """(i) All-pairs spring-mass system, 200 explicit Euler steps; loss on the end state."""
    dt = 0.01
    for _ in range(200):
        diff = x[:, None, :] - x[None, :, :]
        dist = np.sqrt(np.sum(diff ** 2, axis=2) + 1e-6)
        c = k * (dist - rest) / dist
        f = np.sum(c[:, :, None] * diff, axis=1)
        v = v - dt * f
        x = x + dt * v
    return np.sum(x ** 2) + 0.5 * np.sum(v ** 2)


def lstm(W, U, b, xs):
    """(j) LSTM over ``xs`` (steps, batch, inputs); loss on the last hidden state."""
    H = U.shape[0]
    h = np.zeros((xs.shape[1], H))
    c = np.zeros((xs.shape[1], H))
    for t in range(xs.shape[0]):
        z = xs[t] @ W + h @ U + b
        i = 1.0 / (1.0 + np.exp(-z[:, :H]))
        f = 1.0 / (1.0 + np.exp(-z[:, H:2 * H]))
        o = 1.0 / (1.0 + np.exp(-z[:, 2 * H:3 * H]))
        g = np.tanh(z[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return np.sum(h ** 2)


def rk4(k, c):
    """(k) Damped pendulum x'' = -k sin(x) - c x', classic Runge-Kutta 4, 500 steps."""
    x = 1.0
    v = 0.0
    dt = 0.01
    for _ in range(500):
        k1x = v
        k1v = -k * math.sin(x) - c * v
        k2x = v + 0.5 * dt * k1v
        k2v = -k * math.sin(x + 0.5 * dt * k1x) - c * k2x
        k3x = v + 0.5 * dt * k2v
        k3v = -k * math.sin(x + 0.5 * dt * k2x) - c * k3x
        k4x = v + dt * k3v
        k4v = -k * math.sin(x + dt * k3x) - c * k4x
        x = x + dt / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
        v = v + dt / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
    return x * x + v


def attention(Wq, Wk, Wv, X):
    """(l) Single-head self-attention, softmax with the max shift; loss 0.5 |out|^2."""
    Q = X @ Wq
    K = X @ Wk
    V = X @ Wv
    S = Q @ K.T / math.sqrt(X.shape[1])
    S = S - np.max(S, axis=1, keepdims=True)
    P = np.exp(S)
    P = P / np.sum(P, axis=1, keepdims=True)
    return 0.5 * np.sum((P @ V) ** 2)


# -- written after the round of issue 21, before optimising for it -------------

def tv_denoise(u, f, lam, eps):
    """(m) Total-variation denoising of a 1-D signal: data term plus smoothed TV."""
    return 0.5 * np.sum((u - f) ** 2) + lam * np.sum(np.sqrt(np.diff(u) ** 2 + eps))

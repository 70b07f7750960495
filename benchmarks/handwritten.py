"""Hand-written gradients: the reference every method is checked against, and the speed limit.

Written as a careful human would: one forward sweep that keeps what the backward
sweep needs, common subexpressions shared, in-place updates where they save an
allocation, and no work for cotangents nobody asked for. Each returns the
gradient with respect to the benchmarked arguments only (a tuple when there are
several), like ``grad(f, wrt=...)``.
"""

import math

import numpy as np


def scalar20_grad(x, y):
    # forward
    a = x * y
    b = math.sin(a)
    c = b + x
    d = math.exp(c / 3.0)
    e = d * y - x
    ee1 = 1.0 + e * e
    f = math.log(ee1)
    q = 1.0 + y * y
    g = f / q
    cg = math.cos(g)
    h = cg * a
    k = math.sqrt(h * h + 1.0)
    t = math.tanh(x - y)
    # backward (out = k * t)
    gu = k * (1.0 - t * t)          # through tanh(x - y)
    gh = t * h / k                  # through sqrt(h*h + 1)
    ga = gh * cg
    gg = -gh * a * math.sin(g)      # through cos(g) * a
    gf = gg / q
    ge = gf * 2.0 * e / ee1         # through log(1 + e*e)
    gc = ge * y * d / 3.0           # through exp(c / 3) * y
    ga += gc * math.cos(a)          # through sin(a)
    gx = gu - ge + gc + ga * y
    gy = -gu - gg * g / q * 2.0 * y + ge * d + ga * x
    return gx, gy


def logistic_grad(w, b, x, t, lam):
    y = 1.0 / (1.0 + np.exp(-(w * x + b)))
    gz = (y - t) * y * (1.0 - y)
    return gz * x + lam * w, gz


def mlp_grad(W1, b1, W2, b2, x, y):
    inv_n = 1.0 / x.shape[0]
    h = x @ W1
    h += b1
    np.tanh(h, out=h)
    p = h @ W2
    p += b2
    p -= p.max(axis=1, keepdims=True)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)       # softmax
    p -= y
    p *= inv_n                              # dL/dz = (softmax - y) / n
    gW2 = h.T @ p
    gb2 = p.sum(axis=0)
    da = p @ W2.T
    h *= h
    np.subtract(1.0, h, out=h)
    da *= h                                 # through tanh
    gW1 = x.T @ da
    gb1 = da.sum(axis=0)
    return gW1, gb1, gW2, gb2


def recurrence_grad(a, b, steps=1000):
    h = 0.5
    hs = [h]
    push = hs.append
    for _ in range(steps):
        h = np.tanh(a * h + b)
        push(h)
    pop = hs.pop
    hn = pop()
    gh = 1.0
    ga = 0.0
    gb = 0.0
    for _ in range(steps):
        hp = pop()
        gu = gh * (1.0 - hn * hn)       # through tanh
        ga += gu * hp
        gb += gu
        gh = gu * a
        hn = hp
    return ga, gb


def rosenbrock_grad(x):
    xa = x[:-1]
    d = x[1:] - xa * xa
    d *= 200.0                  # d/dx[1:]
    g = np.empty_like(x)
    g[0] = 0.0
    g[1:] = d
    u = xa * d
    u -= xa
    u += 1.0
    u *= 2.0                    # d/dx[:-1] = -2 * (200 d x + 1 - x)
    g[:-1] -= u
    return g

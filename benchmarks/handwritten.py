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


# -- workloads of issue 21 -------------------------------------------------------

def ridge_grad(w, s, X, y, lam):
    r = X @ (s * w)
    r -= y
    r *= 1.0 / X.shape[0]
    v = r @ X                               # X.T @ r, one matrix-vector product
    return s * v + lam * w, w * v


def gmm_grad(mu, log_s, logit_pi, x):
    n, D = x.shape
    inv_s = np.exp(-log_s)
    d = x[:, None, :] - mu
    d *= inv_s                              # (n, K, D)
    dd = d * d
    e = np.exp(logit_pi - logit_pi.max())
    pi = e / e.sum()
    logp = dd.sum(axis=2)
    logp *= -0.5
    logp += np.log(pi) - log_s.sum(axis=1) - 0.5 * D * math.log(2.0 * math.pi)
    logp -= logp.max(axis=1, keepdims=True)
    np.exp(logp, out=logp)
    logp *= (-1.0 / n) / logp.sum(axis=1, keepdims=True)   # gl = d loss / d logp
    G = logp.sum(axis=0)
    g_logit = G - pi * G.sum()
    g_mu = np.einsum("nk,nkd->kd", logp, d) * inv_s
    g_log_s = np.einsum("nk,nkd->kd", logp, dd) - G[:, None]
    return g_mu, g_log_s, g_logit


def springs_grad(x, v, k, rest, steps=200):
    dt = 0.01
    xs = []

    def geometry(x):
        diff = x[:, None, :] - x[None, :, :]
        dist = np.sqrt(np.einsum("ijd,ijd->ij", diff, diff) + 1e-6)
        return diff, dist

    for _ in range(steps):
        xs.append(x)
        diff, dist = geometry(x)
        c = (k / dist) * (dist - rest)
        v = v - dt * np.einsum("ij,ijd->id", c, diff)
        x = x + dt * v
    gx = 2.0 * x
    gv = v.copy()
    gk = 0.0
    for _ in range(steps):                  # recompute the geometry, keep only x per step
        x = xs.pop()
        gv += dt * gx                       # x' = x + dt v'
        gf = -dt * gv                       # v' = v - dt f(x)
        diff, dist = geometry(x)
        u = np.einsum("id,ijd->ij", gf, diff)
        q = (dist - rest) / dist
        gk += np.einsum("ij,ij->", u, q)
        gdiff = (k * q)[:, :, None] * gf[:, None, :]
        gdiff += ((k * rest) * u / dist ** 3)[:, :, None] * diff
        gx = gx + gdiff.sum(axis=1) - gdiff.sum(axis=0)
    return gx, gv, gk


def lstm_grad(W, U, b, xs):
    T, B, n_in = xs.shape
    H = U.shape[0]
    acts = np.empty((T, B, 4 * H))          # gate activations per step
    hs = np.empty((T, B, H))                # h entering each step
    cs = np.empty((T + 1, B, H))            # c entering each step, and the last c
    tcs = np.empty((T, B, H))
    h = np.zeros((B, H))
    cs[0] = 0.0
    for t in range(T):
        hs[t] = h
        a = acts[t]
        np.matmul(xs[t], W, out=a)
        a += h @ U
        a += b
        a[:, :3 * H] *= -1.0
        np.exp(a[:, :3 * H], out=a[:, :3 * H])
        a[:, :3 * H] += 1.0
        np.reciprocal(a[:, :3 * H], out=a[:, :3 * H])
        np.tanh(a[:, 3 * H:], out=a[:, 3 * H:])
        c = cs[t + 1]
        np.multiply(a[:, H:2 * H], cs[t], out=c)
        c += a[:, :H] * a[:, 3 * H:]
        np.tanh(c, out=tcs[t])
        h = a[:, 2 * H:3 * H] * tcs[t]
    gh = 2.0 * h
    gc = np.zeros((B, H))
    dZ = np.empty((T, B, 4 * H))
    for t in range(T - 1, -1, -1):
        a, tc, dz = acts[t], tcs[t], dZ[t]
        i, f, o, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        gc += gh * o * (1.0 - tc * tc)
        np.multiply(gh, tc, out=dz[:, 2 * H:3 * H])                 # d o
        np.multiply(gc, g, out=dz[:, :H])                           # d i
        np.multiply(gc, cs[t], out=dz[:, H:2 * H])                  # d f
        np.multiply(gc, i, out=dz[:, 3 * H:])                       # d g
        gc *= f
        dz[:, :3 * H] *= a[:, :3 * H] * (1.0 - a[:, :3 * H])        # through the sigmoids
        dz[:, 3 * H:] *= 1.0 - g * g                                # through tanh
        gh = dz @ U.T
    dZ2 = dZ.reshape(T * B, 4 * H)
    gW = xs.reshape(T * B, n_in).T @ dZ2
    gU = hs.reshape(T * B, H).T @ dZ2
    gb = dZ2.sum(axis=0)
    return gW, gU, gb


def rk4_grad(k, c, steps=500):
    dt = 0.01
    h2 = 0.5 * dt
    w = dt / 6.0
    x, v = 1.0, 0.0
    states = []
    sin = math.sin
    cos = math.cos
    for _ in range(steps):
        states.append((x, v))
        k1v = -k * sin(x) - c * v
        k2x = v + h2 * k1v
        k2v = -k * sin(x + h2 * v) - c * k2x
        k3x = v + h2 * k2v
        k3v = -k * sin(x + h2 * k2x) - c * k3x
        k4x = v + dt * k3v
        k4v = -k * sin(x + dt * k3x) - c * k4x
        x, v = (x + w * (v + 2.0 * k2x + 2.0 * k3x + k4x),
                v + w * (k1v + 2.0 * k2v + 2.0 * k3v + k4v))
    gx, gv = 2.0 * x, 1.0
    gk = gc = 0.0
    for _ in range(steps):                  # recompute the stages from the saved state
        x, v = states.pop()
        s1 = sin(x)
        k1v = -k * s1 - c * v
        x2 = x + h2 * v
        k2x = v + h2 * k1v
        s2 = sin(x2)
        k2v = -k * s2 - c * k2x
        x3 = x + h2 * k2x
        k3x = v + h2 * k2v
        s3 = sin(x3)
        k3v = -k * s3 - c * k3x
        x4 = x + dt * k3x
        k4x = v + dt * k3v
        s4 = sin(x4)
        g1x, g2x, g4x = w * gx, 2.0 * w * gx, w * gx
        g1v, g2v, g3v, g4v = w * gv, 2.0 * w * gv, 2.0 * w * gv, w * gv
        g3x = g2x
        gk -= s4 * g4v                       # k4v = -k s4 - c k4x
        gc -= k4x * g4v
        g4x -= c * g4v
        gx4 = -k * cos(x4) * g4v
        gv += g4x                            # k4x = v + dt k3v
        g3v += dt * g4x
        gx += gx4                            # x4 = x + dt k3x
        g3x += dt * gx4
        gk -= s3 * g3v                       # k3v = -k s3 - c k3x
        gc -= k3x * g3v
        g3x -= c * g3v
        gx3 = -k * cos(x3) * g3v
        gv += g3x                            # k3x = v + h2 k2v
        g2v += h2 * g3x
        gx += gx3                            # x3 = x + h2 k2x
        g2x += h2 * gx3
        gk -= s2 * g2v                       # k2v = -k s2 - c k2x
        gc -= k2x * g2v
        g2x -= c * g2v
        gx2 = -k * cos(x2) * g2v
        gv += g2x                            # k2x = v + h2 k1v
        g1v += h2 * g2x
        gx += gx2                            # x2 = x + h2 k1x, k1x = v
        g1x += h2 * gx2
        gk -= s1 * g1v                       # k1v = -k s1 - c v
        gc -= v * g1v
        gv += g1x - c * g1v
        gx -= k * cos(x) * g1v
    return gk, gc


def attention_grad(Wq, Wk, Wv, X):
    Q = X @ Wq
    K = X @ Wk
    V = X @ Wv
    scale = 1.0 / math.sqrt(X.shape[1])
    P = Q @ K.T
    P *= scale
    P -= P.max(axis=1, keepdims=True)
    np.exp(P, out=P)
    P /= P.sum(axis=1, keepdims=True)
    gO = P @ V                              # d(0.5 |O|^2)/dO = O
    gV = P.T @ gO
    gS = gO @ V.T
    gS -= np.einsum("ij,ij->i", gS, P)[:, None]
    gS *= P
    gS *= scale
    gQ = gS @ K
    gK = gS.T @ Q
    return X.T @ gQ, X.T @ gK, X.T @ gV


def tv_denoise_grad(u, f, lam, eps):
    d = np.diff(u)
    s = d * d
    s += eps
    np.sqrt(s, out=s)
    np.divide(d, s, out=s)      # d / sqrt(d^2 + eps)
    s *= lam
    g = u - f
    g[1:] += s                  # d reads u[1:] ...
    g[:-1] -= s                 # ... and -u[:-1]
    return g

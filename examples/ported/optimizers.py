"""A small Adam for the ported examples (stands in for autograd.misc.optimizers.adam).

Same signature and update as autograd's ``adam(grad, x0, callback, num_iters,
step_size, b1, b2, eps)``; parameters may be an array, or a list/tuple/dict of
arrays (nested), as autograd's version accepts through ``flatten``.
"""

import numpy as np


def _flatten(x):
    if isinstance(x, np.ndarray):
        return x.ravel(), lambda v: v.reshape(x.shape)
    if isinstance(x, dict):
        keys = sorted(x)
        parts = [_flatten(x[k]) for k in keys]
        vec, unflat = _join(parts)
        return vec, lambda v: dict(zip(keys, unflat(v)))
    parts = [_flatten(v) for v in x]
    vec, unflat = _join(parts)
    return vec, lambda v: type(x)(unflat(v))


def _join(parts):
    sizes = [len(p[0]) for p in parts]
    vec = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)

    def unflat(v):
        out, k = [], 0
        for (_, f), n in zip(parts, sizes):
            out.append(f(v[k:k + n]))
            k += n
        return out
    return vec, unflat


def adam(grad, x0, callback=None, num_iters=100, step_size=0.001, b1=0.9, b2=0.999,
         eps=10**-8):
    """Adam (Kingma and Ba, 2014) on ``grad(x, i)``, as in autograd.misc.optimizers."""
    x, unflatten = _flatten(x0)
    m, v = np.zeros(len(x)), np.zeros(len(x))
    for i in range(num_iters):
        g = _flatten(grad(unflatten(x), i))[0]
        if callback:
            callback(unflatten(x), i, unflatten(g))
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * (g**2) + b2 * v
        mhat = m / (1 - b1 ** (i + 1))
        vhat = v / (1 - b2 ** (i + 1))
        x = x - step_size * mhat / (np.sqrt(vhat) + eps)
    return unflatten(x)


def flatten(value):
    """autograd.misc.flatten: ``(vector, unflatten)`` for an array or nested containers."""
    return _flatten(value)

"""Library functions differentiated through a definition in NumPy (``registry.defvia``).

Each function here computes what the library function of the same name computes, for
the arguments it takes, with NumPy operations that have rules. The compiler reads it as
it reads user code and the tape runs it, so reverse mode, forward mode and every order
follow from the table, with no template to get wrong. An argument a definition does not
take raises ``NotImplementedError`` with the reason, never a silent zero.

Checked against the library function itself (values) and central differences (first
and second derivatives) in ``tests/test_definitions.py``.
"""

from __future__ import annotations

import numpy as np


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """``np.trapezoid``: the trapezoidal rule along ``axis``."""
    ym = np.moveaxis(y, axis, -1)
    mid = (ym[..., 1:] + ym[..., :-1]) / 2.0
    if x is None:
        return np.sum(mid, axis=-1) * dx
    if np.ndim(x) == 1:
        d = np.diff(x)
    else:
        d = np.moveaxis(np.diff(x, axis=axis), axis, -1)
    return np.sum(d * mid, axis=-1)


def polyval(p, x):
    """``np.polyval``: Horner's scheme, highest power first."""
    y = x * 0.0
    for c in p:
        y = y * x + c
    return y


def vecdot(x1, x2, axis=-1):
    """``np.vecdot``: the vector dot product along ``axis`` (the first conjugated)."""
    return np.sum(np.conj(x1) * x2, axis=axis)


def vector_norm(x, axis=None, keepdims=False, ord=2):
    """``np.linalg.vector_norm``: with ``axis=None`` the norm of all entries."""
    if axis is not None:
        return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    r = np.linalg.norm(np.ravel(x), ord=ord)
    if keepdims:
        return np.reshape(r, (1,) * np.ndim(x))
    return r


def matrix_norm(x, keepdims=False, ord="fro"):
    """``np.linalg.matrix_norm``: the norm over the last two axes."""
    return np.linalg.norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """``np.cov`` without weights: rows are variables (columns if ``rowvar`` is false)."""
    if fweights is not None or aweights is not None:
        raise NotImplementedError("sourcediff differentiates np.cov without fweights and "
                                  "aweights; weight the centred data yourself")
    X = np.atleast_2d(m)
    if not rowvar and X.shape[0] != 1:
        X = X.T
    if y is not None:
        Y = np.atleast_2d(y)
        if not rowvar and Y.shape[0] != 1:
            Y = Y.T
        X = np.concatenate((X, Y), axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    centred = X - np.mean(X, axis=1, keepdims=True)
    c = centred @ np.conj(centred).T / (X.shape[1] - ddof)
    return np.squeeze(c)


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """``np.corrcoef``: the covariance scaled by the standard deviations, clipped to
    [-1, 1] as NumPy clips it."""
    c = cov(x, y, rowvar)
    if np.ndim(c) == 0:
        return c / c
    d = np.sqrt(np.real(np.diag(c)))
    return np.clip(c / d[:, None] / d[None, :], -1.0, 1.0)


def convolve(a, v, mode="full"):
    """``np.convolve`` of two 1-D sequences: the sum of the longer one shifted and
    scaled by each entry of the shorter one."""
    first, second = np.ravel(a), np.ravel(v)
    swap = len(second) > len(first)
    longer = second if swap else first
    shorter = first if swap else second
    n, m = len(longer), len(shorter)
    full = np.concatenate([longer * shorter[0], np.zeros(m - 1)])
    for j in range(1, m):
        full = full + np.concatenate([np.zeros(j), longer * shorter[j], np.zeros(m - 1 - j)])
    if mode == "full":
        return full
    if mode == "same":
        start = (m - 1) // 2
        return full[start:start + n]
    if mode == "valid":
        return full[m - 1:n]
    raise ValueError(f"mode must be one of 'full', 'same', 'valid' (not {mode!r})")


def interp(x, xp, fp, left=None, right=None, period=None):
    """``np.interp``: piecewise-linear interpolation of increasing ``xp``; ``fp``'s
    first and last values (or ``left``/``right``) outside."""
    if period is not None:
        raise NotImplementedError("sourcediff differentiates np.interp without period; "
                                  "wrap x into one period first")
    i = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, len(xp) - 2)
    t = (x - xp[i]) / (xp[i + 1] - xp[i])
    y = fp[i] + t * (fp[i + 1] - fp[i])
    y = np.where(x < xp[0], fp[0] if left is None else left, y)
    return np.where(x > xp[-1], fp[-1] if right is None else right, y)


def entr(x):
    """``scipy.special.entr``: -x log x (0 at 0, -inf below)."""
    inside = np.where(x > 0, x, 1.0)
    return np.where(x > 0, -x * np.log(inside), np.where(x == 0, 0.0, -np.inf))


def rel_entr(x, y):
    """``scipy.special.rel_entr``: x log(x / y) (0 where x is 0 and y >= 0, inf else)."""
    both = (x > 0) & (y > 0)
    ratio = np.where(both, x, 1.0) / np.where(both, y, 1.0)
    edge = np.where((x == 0) & (y >= 0), 0.0, np.inf)
    return np.where(both, x * np.log(ratio), edge)


def kl_div(x, y):
    """``scipy.special.kl_div``: x log(x / y) - x + y (y where x is 0, inf else)."""
    both = (x > 0) & (y > 0)
    ratio = np.where(both, x, 1.0) / np.where(both, y, 1.0)
    edge = np.where((x == 0) & (y >= 0), y, np.inf)
    return np.where(both, x * np.log(ratio) - x + y, edge)


def huber(delta, r):
    """``scipy.special.huber``: r^2 / 2 within ``delta``, linear beyond (inf for a
    negative delta)."""
    a = np.abs(r)
    out = np.where(a <= delta, r * r / 2.0, delta * (a - delta / 2.0))
    return np.where(delta < 0, np.inf, out)

"""Helpers of the reduction and elementwise rules (:mod:`sourcediff.prims.rules_reduce`):
order statistics (``np.quantile`` and kin), weighted averages, ``np.sinc``'s
derivatives, the transpose of ``np.gradient``. Each has rules of its own, so adjoints calling them differentiate again.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import MissingRuleError
from .numeric_shape import tuple_cots


def _quantile_plan(a, q, axis):
    """How ``np.quantile(a, q, axis)`` (method 'linear') reads ``a``: the order of ``a``
    along the axis (moved last), the two ranks each quantile interpolates, the weight."""
    a = np.ravel(a) if axis is None else np.moveaxis(np.asarray(a), axis, -1)
    n = a.shape[-1]
    pos = np.asarray(q, dtype=float) * (n - 1)
    lo = np.clip(np.floor(pos).astype(int), 0, n - 1)
    hi = np.clip(lo + 1, 0, n - 1)
    return np.argsort(a, axis=-1), np.ravel(lo), np.ravel(hi), np.ravel(pos - lo)


def _out_shape(a, q, axis, keepdims):
    shape = np.shape(a)
    if axis is None:
        rest = (1,) * len(shape) if keepdims else ()
    else:
        ax = axis % len(shape)
        rest = tuple(1 if i == ax else n for i, n in enumerate(shape)) if keepdims else \
            tuple(n for i, n in enumerate(shape) if i != ax)
    return np.shape(q) + rest


def _linear_only(method):
    if method != "linear":
        raise MissingRuleError(f"no derivative rule for a quantile with method={method!r}",
                               construct="np.quantile", hint="use method='linear' (the default)")


def quantile_gather(d, a, q, axis=None, keepdims=False, method="linear"):
    """The tangent of ``np.quantile(a, q, axis, keepdims=keepdims)`` along ``d``: the
    same interpolation of ``d``'s entries, in the order of ``a``'s."""
    _linear_only(method)
    order, lo, hi, frac = _quantile_plan(a, q, axis)
    dm = np.ravel(d) if axis is None else np.moveaxis(np.asarray(d), axis, -1)
    ds = np.take_along_axis(np.broadcast_to(dm, order.shape), order, axis=-1)
    out = ds[..., lo] * (1 - frac) + ds[..., hi] * frac          # rest + (nq,)
    out = np.moveaxis(out, -1, 0)
    return np.reshape(out, _out_shape(a, q, axis, keepdims))


def quantile_spread(g, a, q, axis=None, keepdims=False, method="linear"):
    """The cotangent of ``a`` in ``np.quantile(a, q, axis, keepdims=keepdims)``."""
    _linear_only(method)
    order, lo, hi, frac = _quantile_plan(a, q, axis)
    g = np.reshape(np.broadcast_to(g, _out_shape(a, q, axis, keepdims)),
                   (len(lo),) + order.shape[:-1])
    g = np.moveaxis(g, 0, -1)                                      # rest + (nq,)
    cs = np.zeros(order.shape, dtype=np.result_type(g, 1.0))
    for j in range(len(lo)):
        cs[..., lo[j]] += g[..., j] * (1 - frac[j])
        cs[..., hi[j]] += g[..., j] * frac[j]
    out = np.zeros_like(cs)
    np.put_along_axis(out, order, cs, axis=-1)
    if axis is None:
        return np.reshape(out, np.shape(a))
    return np.moveaxis(out, -1, axis)


def weights_along(weights, a, axis=None):
    """``np.average``'s weights shaped to broadcast against ``a`` (1-D weights lie
    along ``axis``)."""
    if axis is None or np.ndim(weights) == np.ndim(a):
        return np.asarray(weights, dtype=float) if not hasattr(weights, "shape") else weights
    shape = [1] * np.ndim(a)
    shape[axis % np.ndim(a)] = np.size(weights)
    return np.reshape(weights, shape)


_PI = math.pi


def sinc_d1(x):
    """d/dx of ``np.sinc`` (``sin(pi x) / (pi x)``), 0 at 0."""
    x = np.asarray(x, dtype=np.result_type(x, float))   # (complex stays complex)
    small = np.abs(x) < 1e-3
    xs = np.where(small, 1.0, x)
    far = (np.cos(_PI * xs) - np.sinc(xs)) / xs
    near = -_PI ** 2 * x / 3 + _PI ** 4 * x ** 3 / 30
    return np.where(small, near, far)


def sinc_d2(x):
    """d2/dx2 of ``np.sinc``: ``(-pi sin(pi x) - 2 sinc'(x)) / x``, ``-pi^2 / 3`` at 0."""
    x = np.asarray(x, dtype=np.result_type(x, float))   # (complex stays complex)
    small = np.abs(x) < 1e-3
    xs = np.where(small, 1.0, x)
    far = (-_PI * np.sin(_PI * xs) - 2 * sinc_d1(xs)) / xs
    near = -_PI ** 2 / 3 + _PI ** 4 * x ** 2 / 10
    return np.where(small, near, far)


def _gradient_axes(f, axis):
    nd = np.ndim(f)
    if axis is None:
        return list(range(nd))
    return [a % nd for a in (axis if isinstance(axis, (tuple, list)) else (axis,))]


def _gradient_spacings(varargs, n):
    """np.gradient's spacing of each of its ``n`` axes (a scalar step or coordinates)."""
    if not varargs:
        return [1.0] * n
    if len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        return [varargs[0]] * n
    return list(varargs)


def _gradient_t(g, spacing, axis, edge_order=1):
    """The transpose of ``np.gradient(., spacing, axis=axis, edge_order=edge_order)``
    applied to ``g``. Row ``i`` of that banded matrix reads a window of three consecutive
    entries (two where the axis has two), starting at ``clip(i - 1, 0, n - 3)``, so each
    residue mod 3 once: np.gradient of the three combs ``index % 3 == r`` gives every
    row's coefficients, whatever the spacing and edge order."""
    gm = np.moveaxis(np.asarray(g), axis, 0)
    n = gm.shape[0]
    width = min(3, n)
    idx = np.arange(n)
    rows = [np.gradient((idx % 3 == r).astype(float), spacing, edge_order=edge_order)
            for r in range(3)]
    start = np.clip(idx - 1, 0, n - width)
    out = np.zeros(gm.shape, np.result_type(gm, float))
    for w in range(width):
        j = start + w
        coef = np.choose(j % 3, rows).reshape((n,) + (1,) * (gm.ndim - 1))
        np.add.at(out, j, coef * gm)
    return np.moveaxis(out, 0, axis)


def gradient_of(f, varargs=(), axis=None, edge_order=1):
    """``np.gradient(f, *varargs, axis=axis, edge_order=edge_order)`` (templates pass the
    spacings as one tuple)."""
    return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)


def gradient_vjp(g_, ans, f, varargs=(), axis=None, edge_order=1):
    """The cotangent of ``f`` in ``np.gradient(f, *varargs, axis=axis, edge_order=...)``:
    the sum over the axes of each one's transpose (``g_``: one cotangent per axis, or
    one array where NumPy returns one)."""
    axes = _gradient_axes(f, axis)
    steps = _gradient_spacings(varargs, len(axes))
    cots = tuple_cots(g_, ans) if isinstance(ans, (list, tuple)) else [g_]
    out = 0.0
    for c, step, ax in zip(cots, steps, axes):
        out = out + _gradient_t(np.broadcast_to(c, np.shape(f)), step, ax, edge_order)
    return out


HELPERS = {name: obj for name, obj in globals().items()
           if callable(obj) and not name.startswith("_") and getattr(obj, "__module__", None)
           == __name__ and name != "tuple_cots"}

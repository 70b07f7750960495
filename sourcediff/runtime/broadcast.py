"""Broadcasting and reduction helpers of generated code: a cotangent summed back to its
primal's shape (``unbroadcast``), spread back over reduced axes (``unreduce``), and the
dtype a cotangent takes (``_float_dtype``). Part of :mod:`sourcediff.runtime`.
"""

from __future__ import annotations

import math

import numpy as np

from ..values.duck import is_duck


def unbroadcast(g, x):
    """Sum ``g`` down to the shape of ``x`` (undo NumPy broadcasting); a real ``x`` that
    was promoted to complex gets the real part of a complex ``g``."""
    g = real_if(g, x)
    shape = np.shape(x)
    if np.shape(g) == shape:
        return g
    return unbroadcast_to(g, shape)


def real_if(g, x):
    """``g``, or its real part where ``g`` is complex and ``x`` is not: the cotangent of a
    real value promoted to complex (``x * 1j``) is real (d/dx, see docs/complex.md)."""
    if isinstance(x, (list, tuple, dict)) or isinstance(g, (list, tuple, dict)):
        return g  # (a container argument's: np.iscomplexobj cannot read a ragged one)
    if np.iscomplexobj(g) and not np.iscomplexobj(x):
        return np.real(g)
    return g


def unbroadcast_to(g, shape):
    """Sum ``g`` down to ``shape``."""
    gshape = np.shape(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0 or any(t != 1 and s != t for s, t in zip(gshape[lead:], shape)):
        # not a broadcast of ``shape``: only size-1 axes may differ (a symbolic zero
        # never gets here: real_cot made it real first), else NumPy's ValueError
        return np.reshape(g, shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    out = np.sum(g, axis=axes, keepdims=False) if axes else g
    if lead and not shape:
        return out
    return np.reshape(out, shape)


def broadcast_like(t, ans):
    """Broadcast a tangent term to the shape of ``ans`` (forward mode)."""
    shape = np.shape(ans)
    if np.shape(t) == shape:
        return t
    return np.broadcast_to(t, shape)


def _keepdims_shape(shape, axis):
    if axis is None:
        return (1,) * len(shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    axes = [a % len(shape) for a in axes]
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _kept(g, ans, shape, axis, keepdims):
    """A reduction's cotangent and result with the reduced axes kept (size 1)."""
    if keepdims:
        return g, ans
    kept = _keepdims_shape(shape, axis)
    return (np.reshape(g, kept) if np.ndim(g) else g), np.reshape(ans, kept)


def unreduce(g, x, axis=None, keepdims=False):
    """Spread the cotangent of a reduction back over the reduced axes."""
    shape = np.shape(x)
    if not shape:
        return g
    if not keepdims and np.ndim(g):  # (a scalar g: the whole reduction's)
        g = np.reshape(g, _keepdims_shape(shape, axis))
    if is_duck(x):
        return _spread(g, x)
    return np.broadcast_to(g, shape)


def _spread(g, x):
    """``g`` broadcast to the shape of duck array ``x``, lazily and in ``x``'s chunks
    (``g + zeros_like(x)``): ``np.broadcast_to`` of a NumPy ``g`` would be a NumPy array of
    the data's size, made on the client and shipped in the graph."""
    return g + np.zeros_like(x, dtype=_float_dtype(x))


def _broadcast(g, shape, *arrays):
    """``np.broadcast_to(g, shape)``, of the duck arrays' type if any of ``arrays`` is one."""
    duck = next((a for a in arrays if is_duck(a)), None)
    if duck is not None and not is_duck(g):
        g = np.asarray(g, like=duck)
    return np.broadcast_to(g, shape)


def reduced_count(x, ans):
    """How many elements of ``x`` went into each element of ``ans``."""
    return _size(x) // max(_size(ans), 1)


def _size(x):
    """``np.size(x)``, read from a duck array's shape (Dask has no ``np.size``)."""
    return math.prod(x.shape) if is_duck(x) else np.size(x)


def unreduce_select(g, ans, x, axis=None, keepdims=False):
    """Cotangent of max/min: ``g`` to the selected entries, ties share it."""
    shape = np.shape(x)
    if not shape:
        return g
    g, ans = _kept(g, ans, shape, axis, keepdims)
    mask = x == ans
    return g * mask / np.sum(mask, axis=axis, keepdims=True)


def prod_vjp(g, ans, x, axis=None, keepdims=False):
    shape = np.shape(x)
    if not shape:
        return g
    g, ans = _kept(g, ans, shape, axis, keepdims)
    return g * ans / x


def _float_dtype(x):
    """The dtype of ``x``'s cotangent: its own if inexact (complex64 stays complex64)."""
    dt = getattr(x, "dtype", None)
    if dt is not None and np.issubdtype(dt, np.inexact):
        return dt
    return np.complex128 if isinstance(x, complex) else np.float64

"""Numeric helpers for rules added to the table: what generated code calls for
``x.item()``, ``np.r_[...]``, ``np.c_[...]``, builtin ``sum`` and ``x ** y`` at 0.

Each has its derivative rules in :mod:`sourcediff.prims.rules`, like NumPy's functions,
so code calling them can be differentiated again.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..values.duck import is_duck
from . import _spread, broadcast_like, unbroadcast, zeros_tangent


def item_of(a):
    """``a.item()``: the Python scalar in a one-element array (a number stays itself)."""
    return a.item() if hasattr(a, "item") else a


def xlogy(a, x):
    """``a * log(x)``, taken as 0 where ``a`` is 0: d/dy of ``x ** y`` is ``xlogy(ans, x)`` (x = 0 read as 1 there, where ans is 0),
    which is 0 at ``x = 0`` (not ``0 * -inf``)."""
    if np.ndim(a) == 0 and np.ndim(x) == 0 and not (is_duck(a) or is_duck(x)):
        return 0.0 * a if a == 0 else a * np.log(x)
    zero = np.equal(a, 0)
    return np.where(zero, 0.0, a * np.log(np.where(zero, 1.0, x)))


def r_concat(parts):
    """``np.r_[a, b, ...]`` of numbers and arrays (a slice item: ``r_range``)."""
    return np.r_[tuple(parts)]


def c_concat(parts):
    """``np.c_[a, b, ...]`` of numbers and arrays (a slice item: ``r_range``)."""
    return np.c_[tuple(parts)]


def r_range(start, stop, step):
    """A slice item of ``np.r_[...]`` or ``np.c_[...]`` (``0:3``, ``1:4:0.5``, ``0:1:5j``):
    the 1-D array NumPy makes of it, an ``arange`` (a ``linspace`` for an imaginary step)."""
    return np.r_[start:stop:step]


def r_range_weights(step, ans):
    """``d ans / d(start, stop, step)`` of ``ans = r_range(start, stop, step)``, one
    array each: ``start + k step`` for an arange (stop sets the count only), ``start +
    (stop - start) k / (n - 1)`` for the linspace of an imaginary step (its count)."""
    n = np.shape(ans)[0]
    k = np.arange(n, dtype=float)
    if isinstance(step, complex):
        t = k / (n - 1) if n > 1 else k
        return 1.0 - t, t, np.zeros(n)
    return np.ones(n), np.zeros(n), k


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum_subscripts(*sublists):
    """The subscripts string of ``np.einsum``'s sublist form: ``einsum_subscripts([0, 1],
    [1, 2], [0, 2])`` (one sublist per operand, then the output's, if given) is
    ``"ab,bc->ac"``; ``...`` is an Ellipsis. ``out`` None: no output sublist."""
    *ins, out = sublists

    def word(sub):
        if any(isinstance(i, bool) or not (i is Ellipsis or 0 <= i < 52) for i in sub):
            raise IndexError(f"an einsum sublist holds ints from 0 to 51 or Ellipsis: {sub}")
        return "".join("..." if i is Ellipsis else _LETTERS[i] for i in sub)
    return ",".join(word(s) for s in ins) + ("" if out is None else "->" + word(out))


def r_unconcat(g, parts):
    """The cotangents of ``np.r_``'s parts: slices of ``g`` along its first axis."""
    out, start = [], 0
    for p in parts:
        n = np.shape(np.atleast_1d(p))[0]
        out.append(np.reshape(g[start:start + n], np.shape(p)))
        start += n
    return out


def c_unconcat(g, parts):
    """The cotangents of ``np.c_``'s parts: slices of ``g`` along its last axis."""
    out, start = [], 0
    for p in parts:
        n = 1 if np.ndim(p) <= 1 else np.shape(p)[-1]
        out.append(np.reshape(g[..., start:start + n], np.shape(p)))
        start += n
    return out


def builtin_sum_vjp(g, a):
    """Cotangent of ``a`` in builtin ``sum(a)``: each item of a list or tuple gets ``g``
    (summed to its shape); an array, summed over its first axis, gets ``g`` on each row."""
    if isinstance(a, (list, tuple)):
        return [unbroadcast(g, e) for e in a]
    if is_duck(a):
        return _spread(g, a)
    return np.broadcast_to(g, np.shape(a)).copy()


def index_of_max(a):
    """The index builtin ``max(a)`` takes its value from: the first of equal items."""
    best = 0
    for i in range(1, len(a)):
        if a[i] > a[best]:
            best = i
    return best


def index_of_min(a):
    """The index builtin ``min(a)`` takes its value from: the first of equal items."""
    best = 0
    for i in range(1, len(a)):
        if a[i] < a[best]:
            best = i
    return best


def builtin_sum(a, start=0):
    """Builtin ``sum`` (the name generated code uses, so a user's ``sum`` cannot shadow it)."""
    return builtins.sum(a, start)


def plus_cot(g, a, b, which):
    """The cotangent of ``a`` (``which`` 0) or ``b`` (1) in ``a + b`` where either may be
    a list or tuple: ``+`` joins sequences (each gets its slice of ``g``) and adds numbers
    and arrays (each gets ``g`` summed to its shape)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if g is None:
            return None
        return list(g[:len(a)]) if which == 0 else list(g[len(a):])
    return unbroadcast(g, b if which else a)


def plus_tangent(da, db, a, b):
    """The tangent of ``a + b`` where either may be a list or tuple (None: a zero)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        da = zeros_tangent(a) if da is None else da
        db = zeros_tangent(b) if db is None else db
        return type(a)(list(da) + list(db))
    ans = a + b
    terms = [broadcast_like(t, ans) for t in (da, db) if t is not None]
    return terms[0] + terms[1] if len(terms) == 2 else terms[0] if terms else \
        zeros_tangent(ans)


def cast(x, dtype, share=False):
    """``np.array(x, dtype)`` (``np.asarray`` with ``share``) to a dtype the compiler
    could not read: its rule (``cast_cot``) tells a float one from an integer one."""
    return np.asarray(x, dtype=dtype) if share else np.array(x, dtype=dtype)


def int_cast(x, dtype, share=False):
    """``np.array(x, dtype)`` to an integer or boolean dtype (``x.astype(int)``): piecewise
    constant, declared non-differentiable."""
    return cast(x, dtype, share)


HELPERS = {name: obj for name, obj in globals().items()
           if callable(obj) and not name.startswith("_") and getattr(obj, "__module__", None)
           == __name__}

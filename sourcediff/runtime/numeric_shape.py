"""Cotangent helpers of the shape rules (:mod:`sourcediff.prims.rules_shape`): each undoes a
NumPy shape function (``np.repeat``, ``np.tile``, ``np.pad``, ``np.hstack``...) on a
cotangent, and has rules of its own so adjoints calling it are differentiable again.
"""

from __future__ import annotations

import numpy as np

from ..errors import MissingRuleError
from .cot import _as_given


def unrepeat(g, a, repeats, axis=None):
    """Cotangent of ``a`` in ``np.repeat(a, repeats, axis)``: each copy's share summed."""
    shape = np.shape(a)
    n = int(np.size(a)) if axis is None else shape[axis]
    ax = 0 if axis is None else axis % len(shape)
    gm = np.moveaxis(g, ax, 0)
    out = np.zeros((n,) + gm.shape[1:], dtype=np.result_type(g, 1.0))
    np.add.at(out, np.repeat(np.arange(n), repeats), gm)
    return np.reshape(np.moveaxis(out, 0, ax), shape)


def untile(g, a, reps):
    """Cotangent of ``a`` in ``np.tile(a, reps)``: the tiles summed."""
    shape = np.shape(a)
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    d = max(len(shape), len(reps))
    s = (1,) * (d - len(shape)) + shape
    r = (1,) * (d - len(reps)) + reps
    g = np.reshape(g, [n for pair in zip(r, s) for n in pair])
    return np.reshape(np.sum(g, axis=tuple(range(0, 2 * d, 2))), shape)


_SELECTING = ("constant", "edge", "reflect", "symmetric", "wrap")


def pad_mode(mode):
    """``mode`` of ``np.pad`` if its tangent is a pad of the tangent (a selection of
    entries), else the refusal."""
    if mode not in _SELECTING:
        raise MissingRuleError(f"no derivative rule for np.pad with mode={mode!r}",
                               construct="np.pad",
                               hint=f"use one of the modes {', '.join(_SELECTING)}")
    return mode


def _pad_index(shape, pad_width, mode):
    """Which entry of the input each entry of the padded output copies (-1: a constant)."""
    base = np.reshape(np.arange(int(np.prod(shape))), shape)
    if pad_mode(mode) == "constant":
        return np.pad(base, pad_width, mode="constant", constant_values=-1)
    return np.pad(base, pad_width, mode=mode)


def unpad(g, array, pad_width, mode="constant"):
    """Cotangent of ``array`` in ``np.pad(array, pad_width, mode)``."""
    shape = np.shape(array)
    idx = _pad_index(shape, pad_width, mode)
    g = np.ravel(g)
    idx = np.ravel(idx)
    keep = idx >= 0
    out = np.zeros(int(np.prod(shape)), dtype=np.result_type(g, 1.0))
    np.add.at(out, idx[keep], g[keep])
    return np.reshape(out, shape)


def pad_mask(array, pad_width, constant_values=0):
    """Where ``np.pad(array, pad_width)`` put the constant (a float mask)."""
    if np.ndim(constant_values):
        raise MissingRuleError("no derivative rule for np.pad with a constant_values "
                               "other than one number", construct="np.pad",
                               hint="pad with one constant, or add the pads by concatenation")
    return (_pad_index(np.shape(array), pad_width, "constant") < 0).astype(float)


def _promoted(shape, how):
    """The shape ``np.vstack``/``hstack``/``dstack``/``column_stack`` gives one array."""
    if how == "v":
        return shape if len(shape) >= 2 else (1,) * (2 - len(shape)) + shape
    if how == "d":
        return {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}.get(len(shape), shape)
    if how == "c":
        return shape if len(shape) >= 2 else (shape + (1,) if shape else (1, 1))
    return shape if shape else (1,)  # h


def unjoin(g, arrays, how):
    """Cotangents of the arrays joined by ``np.vstack`` (how='v'), ``np.hstack`` ('h'),
    ``np.dstack`` ('d') or ``np.column_stack`` ('c'): slices of ``g`` reshaped back."""
    shapes = [np.shape(a) for a in arrays]
    prom = [_promoted(s, how) for s in shapes]
    axis = {"v": 0, "d": 2, "c": 1}.get(how, 0 if len(prom[0]) == 1 else 1)
    cuts = np.cumsum([p[axis] for p in prom])[:-1]
    return _as_given([np.reshape(p, s) for p, s in zip(np.split(g, cuts, axis=axis), shapes)],
                     arrays)


def select_rest(condlist, ans):
    """1.0 where ``np.select(condlist, ...)`` took its default, else 0.0 (shaped like ans)."""
    return np.select(condlist, [np.zeros(np.shape(ans))] * len(condlist), 1.0)


def unselect(g, condlist, choicelist):
    """Cotangents of the choices of ``np.select(condlist, choicelist)``: each gets ``g``
    where the first true condition is its own, summed back to its shape."""
    out = []
    for i, c in enumerate(choicelist):
        hot = [np.full(np.shape(g), float(j == i)) for j in range(len(choicelist))]
        part = g * np.select(condlist, hot, 0.0)
        lead = np.ndim(part) - np.ndim(c)
        part = np.sum(part, axis=tuple(range(lead))) if lead else part
        keep = tuple(k for k, n in enumerate(np.shape(c)) if n == 1 and np.shape(part)[k] != 1)
        out.append(np.sum(part, axis=keep, keepdims=True) if keep else part)
    return out


def unappend(g, arr, values, axis, which):
    """Cotangent of ``arr`` (which=0) or ``values`` (1) in ``np.append(arr, values, axis)``."""
    sa, sv = np.shape(arr), np.shape(values)
    if axis is None:
        n = int(np.prod(sa))
        flat = np.ravel(g)
        return np.reshape(flat[:n] if which == 0 else flat[n:], sa if which == 0 else sv)
    part = np.split(g, [sa[axis]], axis=axis)[which]
    return np.reshape(part, sa if which == 0 else sv)


def unsplit(g, ary, indices_or_sections, axis=0):
    """Cotangent of ``ary`` in ``np.split``/``np.array_split``: the parts' cotangents
    (None: zero) joined back."""
    parts = np.array_split(np.empty(np.shape(ary)), indices_or_sections, axis=axis)
    items = tuple_cots(g, parts)
    return np.concatenate(items, axis=axis)


def tuple_cots(g, ans):
    """The cotangents of the entries of a tuple (or list) output ``ans``, zeros for the
    entries nothing read. ``g`` is a list with None for those (generated code), an
    array stacking them (the tape)."""
    n = len(ans)
    if len(g) != n:
        raise MissingRuleError(
            f"the cotangent of a {n}-tuple output has {len(g)} entries",
            construct="a tuple-valued NumPy function",
            hint="unpack its result (w, v = np.linalg.eigh(a)) or index it (r[1]) instead "
                 "of reading its fields by name")
    return [np.zeros(np.shape(a)) + (0.0 if c is None else c)
            if c is None or np.ndim(c) < np.ndim(a) else c for c, a in zip(g, ans)]


def tuple_cot(g, ans, k):
    """The cotangent of entry ``k`` of a tuple output (see :func:`tuple_cots`)."""
    return tuple_cots(g, ans)[k]


def rollaxis_dest(ndim, axis, start=0):
    """Where ``np.rollaxis(a, axis, start)`` puts ``axis`` (as ``np.moveaxis`` counts)."""
    axis, start = axis % ndim, start + ndim if start < 0 else start
    return start - 1 if axis < start else start


HELPERS = {name: obj for name, obj in globals().items()
           if callable(obj) and not name.startswith("_") and getattr(obj, "__module__", None)
           == __name__}


def undiag(g, v, k=0):
    """Cotangent of ``v`` in ``np.diag(v, k)``: the diagonal of ``g`` (``v`` 1-D), or
    ``g`` put on the ``k``-th diagonal of zeros shaped like ``v`` (``v`` 2-D)."""
    if np.ndim(v) == 1:
        return np.diag(g, k)
    return undiagonal(g, v, k, 0, 1)


def undiagonal(g, a, offset=0, axis1=0, axis2=1):
    """Cotangent of ``a`` in ``np.diagonal(a, offset, axis1, axis2)``."""
    shape = np.shape(a)
    moved = np.moveaxis(np.zeros(shape, dtype=np.result_type(g, 1.0)), (axis1, axis2),
                        (-2, -1))
    n1, n2 = moved.shape[-2:]
    rows = np.arange(max(0, -offset), min(n1, n2 - offset))
    if len(rows):
        moved[..., rows, rows + offset] = g
    return np.moveaxis(moved, (-2, -1), (axis1, axis2))


def untake_along(g, arr, indices, axis=-1):
    """Cotangent of ``arr`` in ``np.take_along_axis(arr, indices, axis)`` (repeats add)."""
    shape = np.shape(arr)
    if axis is None:
        return np.reshape(untake_along(g, np.ravel(arr), indices, 0), shape)
    axis = axis % len(shape)
    full = list(shape)
    full[axis] = np.shape(indices)[axis]
    full = np.broadcast_shapes(tuple(full), np.shape(indices))  # (indices broadcast)
    g = np.broadcast_to(g, full)
    out = np.zeros(shape, dtype=np.result_type(g, 1.0))
    grid = list(np.ix_(*[np.arange(n) for n in full]))
    grid[axis] = np.broadcast_to(indices, full)
    np.add.at(out, tuple(grid), g)
    return out


def undiff(g, a, n=1, axis=-1):
    """Cotangent of ``a`` in ``np.diff(a, n, axis)``: the adjoint difference ``n`` times."""
    for _ in range(n):
        if type(g) is not np.ndarray:  # (a Dask array...: as NumPy would compute it)
            width = [(0, 0)] * np.ndim(g)
            width[axis] = (1, 1)
            g = -np.diff(np.pad(g, width), axis=axis)
            continue
        # a[1:] - a[:-1]: g added where a[1:] was read, taken where a[:-1] was
        shape = list(g.shape)
        shape[axis] += 1
        out = np.zeros(shape, g.dtype)
        head, tail = [slice(None)] * g.ndim, [slice(None)] * g.ndim
        head[axis], tail[axis] = slice(1, None), slice(None, -1)
        out[tuple(head)] = g
        out[tuple(tail)] -= g
        g = out
    return g


def _kron_split(g, a, b):
    d = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (d - np.ndim(a)) + np.shape(a)
    sb = (1,) * (d - np.ndim(b)) + np.shape(b)
    G = np.reshape(g, [n for pair in zip(sa, sb) for n in pair])
    return G, d, sa, sb


def kron_vjp_a(g, a, b):
    """Cotangent of ``a`` in ``np.kron(a, b)``."""
    G, d, sa, sb = _kron_split(g, a, b)
    out = np.tensordot(G, np.reshape(b, sb), axes=(list(range(1, 2 * d, 2)), list(range(d))))
    return np.reshape(out, np.shape(a))


def kron_vjp_b(g, a, b):
    """Cotangent of ``b`` in ``np.kron(a, b)``."""
    G, d, sa, sb = _kron_split(g, a, b)
    out = np.tensordot(np.reshape(a, sa), G, axes=(list(range(d)), list(range(0, 2 * d, 2))))
    return np.reshape(out, np.shape(b))


def _td_axes(a, b, axes):
    if isinstance(axes, (int, np.integer)):
        return list(range(np.ndim(a) - axes, np.ndim(a))), list(range(axes))
    xa, xb = axes
    xa = [xa] if isinstance(xa, (int, np.integer)) else list(xa)
    xb = [xb] if isinstance(xb, (int, np.integer)) else list(xb)
    return [x % np.ndim(a) for x in xa], [x % np.ndim(b) for x in xb]


def tensordot_vjp_a(g, a, b, axes=2):
    """Cotangent of ``a`` in ``np.tensordot(a, b, axes)``."""
    xa, xb = _td_axes(a, b, axes)
    free_a = [i for i in range(np.ndim(a)) if i not in xa]
    free_b = [i for i in range(np.ndim(b)) if i not in xb]
    out = np.tensordot(g, b, axes=(list(range(len(free_a), np.ndim(g))), free_b))
    # out's axes: a's free ones, then b's contracted ones in b's order
    order = free_a + [xa[xb.index(j)] for j in sorted(xb)]
    return np.transpose(out, np.argsort(order))


def tensordot_vjp_b(g, a, b, axes=2):
    """Cotangent of ``b`` in ``np.tensordot(a, b, axes)``."""
    xa, xb = _td_axes(a, b, axes)
    free_a = [i for i in range(np.ndim(a)) if i not in xa]
    free_b = [i for i in range(np.ndim(b)) if i not in xb]
    out = np.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    order = [xb[xa.index(j)] for j in sorted(xa)] + free_b
    return np.transpose(out, np.argsort(order))


HELPERS.update({name: obj for name, obj in list(globals().items())
                if callable(obj) and not name.startswith("_") and name not in HELPERS
                and getattr(obj, "__module__", None) == __name__})

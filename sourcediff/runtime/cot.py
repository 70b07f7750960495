"""Cotangent and tangent values and containers: zeros of a value's structure, ``like``
(a cotangent given its primal's type), index scatters, the adjoints of containers
(``add_cot``, ``get_cot``, ``pop_cot`` ...), the loop ``Stack``, and the tangent
counterparts. Part of :mod:`sourcediff.runtime`.
"""

from __future__ import annotations

import numpy as np

from ..values.duck import is_duck
from .broadcast import _float_dtype, _spread, real_if, unbroadcast
from ..values.structure import kind_of


def untranspose(g, axes=None):
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort(axes))


def unindex(g, x, idx):
    """Cotangent of ``x[idx]``: ``g`` scattered into zeros shaped like ``x``."""
    if is_duck(x):  # (zeros of x's type: a NumPy buffer would compute a lazy g)
        out = np.zeros_like(x, dtype=_float_dtype(x))
        if not _is_basic_index(idx):
            _no_add_at(out)
        out[idx] = g
        return out
    if isinstance(x, (tuple, list)) and isinstance(idx, (int, np.integer)):
        out = [None] * len(x)  # an entry of a tuple- or list-valued rule's output (the tape)
        out[idx] = g
        return out
    g = real_if(g, x)
    out = np.zeros(np.shape(x), dtype=np.result_type(g, x, 1.0))
    if _is_basic_index(idx):
        out[idx] = g
    else:
        np.add.at(out, idx, g)
    return out


def _is_basic_index(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
               for i in items)


def unconcatenate(g, arrays, axis=0):
    sizes = np.cumsum([np.shape(a)[axis] if np.ndim(a) else 1 for a in arrays])[:-1]
    return _as_given(np.split(g, sizes, axis=axis), arrays)


def unstack(g, arrays, axis=0):
    return _as_given([np.take(g, i, axis=axis) for i in range(np.shape(g)[axis])], arrays)


def _as_given(parts, arrays):
    """The cotangents of a sequence's items, as one array where the sequence was one
    (``np.concatenate(x)`` of an array ``x`` joins its rows)."""
    return np.stack(parts) if isinstance(arrays, np.ndarray) or is_duck(arrays) else parts


def clip_mask(a, a_min, a_max):
    mask = np.ones(np.shape(a), dtype=bool)
    if a_min is not None:
        mask &= a >= a_min
    if a_max is not None:
        mask &= a <= a_max
    return mask


def reshape_like(g, x):
    return np.reshape(g, np.shape(x))


def real_cot(g, x):
    """``instantiate``: the symbolic zero ``0.0`` that an adjoint of ``x`` starts from
    becomes zeros shaped like ``x``; any other ``g`` is returned as it is. The one place
    that makes a symbolic zero real (docs/architecture.md, "The symbolic zero"): the
    reverse sweep calls it wherever its adjoint state says an adjoint a rule reads may
    still be zero, so no other helper ever sees one."""
    if isinstance(g, float) and g == 0.0 and isinstance(x, np.ndarray) and x.ndim:
        return np.zeros(x.shape, dtype=_float_dtype(x))
    if isinstance(g, float) and g == 0.0 and is_duck(x) and x.ndim:
        return np.zeros_like(x, dtype=_float_dtype(x))  # (a lazy array of x's type)
    return g


def zeros_like_grad(x):
    """A zero cotangent with the structure, shape and dtype of ``x``."""
    if isinstance(x, dict):
        return {k: zeros_like_grad(v) for k, v in x.items()}
    kind = kind_of(x)
    if kind is not None:
        return kind.unflatten(x, [zeros_like_grad(v) for v in kind.flatten(x)])
    if isinstance(x, (list, tuple)):
        return type(x)(zeros_like_grad(v) for v in x)
    if isinstance(x, (float, complex)):
        return x * 0.0
    if is_duck(x):
        return np.zeros_like(x, dtype=_float_dtype(x))
    return np.zeros(np.shape(x), dtype=_float_dtype(x))


def like(g, x):
    """Give cotangent ``g`` the type, shape and dtype of the primal ``x``."""
    if g is None:
        return zeros_like_grad(x)
    if not isinstance(x, (dict, list, tuple)) and kind_of(x) is None:
        g = real_if(g, x)
    if isinstance(x, np.ndarray):
        dt = _float_dtype(x)
        if isinstance(g, np.ndarray) and g.shape == x.shape and g.dtype == dt and g.flags.writeable:
            return g
        if is_duck(g):  # (a lazy gradient stays lazy: see _duck_like)
            return _duck_like(g, x)
        return np.array(np.broadcast_to(g, x.shape), dtype=dt)
    if is_duck(g) or is_duck(x):
        return _duck_like(g, x)
    if isinstance(x, float):
        return float(g) if np.ndim(g) == 0 else float(np.sum(g))
    if isinstance(x, complex):
        return complex(g) if np.ndim(g) == 0 else complex(np.sum(g))
    if isinstance(x, np.generic):
        return x.dtype.type(g)
    if isinstance(x, dict):
        return {k: like(g.get(k) if isinstance(g, dict) else None, v) for k, v in x.items()}
    kind = kind_of(x)
    if kind is not None:  # a dataclass, NamedTuple...: its cotangent is a list of children's
        parts = kind.flatten(x)
        items = _cot_items(g, len(parts))
        return kind.unflatten(x, [like(gi, xi) for gi, xi in zip(items, parts)])
    if isinstance(x, (list, tuple)):
        items = list(g) if isinstance(g, (list, tuple, np.ndarray)) else [None] * len(x)
        return type(x)(like(gi, xi) for gi, xi in zip(items, x))
    return g


def _duck_like(g, x):
    """``like`` where ``g`` or ``x`` is a duck array, without computing either: a lazy
    ``g`` stays lazy (a NumPy or float argument of a function of Dask data gets a Dask
    gradient of its shape and dtype), and a NumPy ``g`` of a duck ``x`` becomes one of
    ``x``'s type (``np.asarray(..., like=x)``, NEP 35)."""
    if not (is_duck(x) or isinstance(x, (float, np.ndarray, np.generic))):
        return g  # (containers hold no duck arrays at their top: nothing to shape)
    shape = np.shape(x)
    dt = _float_dtype(x) if not isinstance(x, float) else np.dtype(np.float64)
    if isinstance(x, float) and np.ndim(g):
        g = np.sum(g)
    elif np.shape(g) != shape:
        g = _spread(g, x) if is_duck(x) else np.broadcast_to(g, shape)
    if not is_duck(g):
        g = np.asarray(g, like=x)
    return g if g.dtype == dt else g.astype(dt)


def _cot_items(g, n):
    """The children's cotangents in cotangent ``g`` of a container kind (a list of them,
    or already the kind itself, as ``zeros_like_grad`` makes it)."""
    if isinstance(g, (list, tuple)):
        return list(g)
    if kind_of(g) is not None:
        return list(kind_of(g).flatten(g))
    return [None] * n


class Stack(list):
    """The saved-value stack of a loop: ``push`` in the forward pass, ``pop`` back."""

    push = list.append


# --- helpers of the generated reverse sweep ------------------------------------------
def zeros_for(x):
    """A fresh zero adjoint for ``x`` (array buffers updated in place)."""
    if type(x) is np.ndarray and x.dtype.kind in "fc":  # the usual case, without the tests
        return np.zeros(x.shape, x.dtype)               # below (2.5 us -> 0.4 us)
    if isinstance(x, (list, tuple)):
        return [None] * len(x)
    if kind_of(x) is not None:
        return [None] * len(kind_of(x).flatten(x))
    if isinstance(x, dict):
        return {}
    if is_duck(x):
        return np.zeros_like(x, dtype=_float_dtype(x))
    return np.zeros(np.shape(x), dtype=_float_dtype(x))


def scatter_add(buf, idx, g):
    """``buf[idx] += g`` for the adjoint of the read ``x[idx]``."""
    if isinstance(buf, list):
        buf[idx] = g if buf[idx] is None else add_cot(buf[idx], g)
    elif isinstance(buf, dict):
        buf[idx] = g if buf.get(idx) is None else add_cot(buf[idx], g)
    elif _is_basic_index(idx):
        buf[idx] += real_if(g, buf)
    elif is_duck(buf):
        _no_add_at(buf)
    else:
        np.add.at(buf, idx, real_if(g, buf))


def _no_add_at(buf):
    """The error for an index whose adjoint needs ``np.add.at`` on a duck array."""
    from ..errors import MissingRuleError
    raise MissingRuleError(
        f"the adjoint of an integer-array or boolean index into a {type(buf).__name__} "
        "needs np.add.at, which that array type does not implement",
        construct="x[index array]",
        hint="index with ints and slices, or write the selection as a product with a "
             "0/1 mask or np.where")


def keys_of(d):
    """The keys of a dict, as a list (the loop ``for k in d`` / ``d.items()`` runs over)."""
    return list(d.keys())


def add_owned(a, b):
    """``a + b`` as a new array that nothing else refers to (``a`` may be None)."""
    if a is None:
        return np.array(b, dtype=np.result_type(b, 1.0)) if isinstance(b, np.ndarray) else b
    return add_cot(a, b)


def scatter_into(buf, x, idx, g):
    """``scatter_add`` into an adjoint allocated on first use (``None`` until then)."""
    if buf is None:
        buf = zeros_for(x)
    scatter_add(buf, idx, g)
    return buf


def take_cot(b, idx, v):
    """The cotangent of the value stored by ``y[idx] = v`` (None while ``b`` is zero)."""
    if b is None:
        return None
    return unbroadcast(np.copy(b[idx]), v)


def cut_index(b, idx):
    """A copy of adjoint ``b`` with ``b[idx]`` zeroed (the slot was overwritten)."""
    if b is None:
        return None
    if isinstance(b, (list, dict)):  # a container's: the slot holds no cotangent (None)
        out = copy_of(b)
        out[idx] = None
        return out
    if is_duck(b):  # (item assignment on a Dask array rebinds that object's graph)
        out = b.copy()
        out[idx] = 0.0
        return out
    dt = complex if np.iscomplexobj(b) else float
    out = np.array(b, dtype=dt) if np.ndim(b) == 0 or not isinstance(b, np.ndarray) else b.copy()
    out[idx] = 0.0
    return out


def cast_cot(g, dtype):
    """The cotangent (or tangent) ``g`` through a cast to ``dtype`` (``np.array(x,
    dtype)``, ``x.astype(dtype)``): itself for a float or complex dtype, zero for an
    integer or boolean one (piecewise constant: its derivative is zero)."""
    kind = np.dtype(dtype).kind
    if kind in "fc":
        return g
    if kind in "iub":
        return np.zeros(np.shape(g))
    from ..errors import MissingRuleError  # (only where it raises: export copies helpers)
    raise MissingRuleError(f"no derivative rule for a cast to dtype {np.dtype(dtype)}",
                           construct=f"np.array(x, dtype={np.dtype(dtype)})",
                           hint="cast to a float dtype, or take the value out of the "
                                "derivative with stop_gradient")


def copy_of(v):
    """A copy of an array (or a list or dict: shallow) that may be written to."""
    if isinstance(v, np.ndarray) or is_duck(v):
        return v.copy()
    return list(v) if type(v) is list else dict(v) if type(v) is dict else v


def add_cot(a, b):
    """Add two cotangents that may be ``None`` (zero) or containers."""
    if a is None:
        return b
    if b is None:
        return a
    if kind_of(a) is not None and not isinstance(a, tuple):  # a container kind's zero
        a = _cot_items(a, 0)
    if kind_of(b) is not None and not isinstance(b, tuple):
        b = _cot_items(b, 0)
    if isinstance(a, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = add_cot(out.get(k), v)
        return out
    if isinstance(a, (list, tuple)):
        return [add_cot(x, y) for x, y in zip(a, b)]
    return a + b


def nonzero_or_none(c):
    return c


def get_cot(g, key):
    """The cotangent of entry ``key`` of a container's cotangent ``g`` (None: zero)."""
    if g is None:
        return None
    if isinstance(g, dict):
        return g.get(key)
    try:
        return g[key]
    except (IndexError, KeyError, TypeError):
        return None


def pop_cot(lst_bar, lst):
    """The cotangent of a list's last element, removed from the list's adjoint."""
    if isinstance(lst_bar, list) and len(lst_bar) == len(lst):
        return lst_bar.pop()
    if (isinstance(lst_bar, np.ndarray) or is_duck(lst_bar)) and lst_bar.ndim and len(lst_bar) >= len(lst):
        return lst_bar[len(lst) - 1]
    return None


def zeros_tangent(x):
    """A zero tangent shaped like ``x`` (None, the zero of a container's adjoint or of one
    allocated on first use, has the tangent None: zero too)."""
    if x is None:
        return None
    kind = kind_of(x)
    if kind is not None:
        return kind.unflatten(x, [zeros_tangent(v) for v in kind.flatten(x)])
    if isinstance(x, (list, tuple)):  # (None in it: an entry of a cotangent buffer not
        # written yet, zeros_for's; its tangent too is None, so scatter_add fills it)
        out = [None if v is None else zeros_tangent(v) for v in x]
        return out if isinstance(x, list) else tuple(out)
    if isinstance(x, dict):
        return {k: zeros_tangent(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return np.zeros(x.shape, dtype=_float_dtype(x))
    if is_duck(x):
        return np.zeros_like(x, dtype=_float_dtype(x))
    return 0.0


def tangent_setitem(t, idx, v):
    """The tangent of ``y`` after ``y[idx] = v`` (a new array, never in place)."""
    if isinstance(t, (list, dict)):  # a container's tangent: a new one, the slot replaced
        out = copy_of(t)
        out[idx] = v
        return out
    if is_duck(t) or is_duck(v):  # (no copy through np.array: it would compute)
        t = t if is_duck(t) else np.asarray(t, like=v)
        out = t.astype(np.result_type(t.dtype, getattr(v, "dtype", v), 1.0))
    else:
        out = np.array(t, dtype=np.result_type(t, v, 1.0))
    out[idx] = v
    return out

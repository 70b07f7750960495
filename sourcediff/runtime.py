"""Helpers that generated code and rule templates call.

Each helper is small, pure, and itself has a rule in :mod:`sourcediff.rules`,
so generated adjoints stay differentiable (``grad(grad(f))``). This is the lowest
layer that generated code sees: a call into user code compiles the callee's adjoint
through :mod:`compiler_hook`, never by importing the API.
"""

from __future__ import annotations

import math  # noqa: F401  (rule templates use runtime.math)
import string
import types

import numpy as np

from .compiler_hook import compiler
from .duck import is_duck
from .numeric_linalg import svd_jvp
from .structure import kind_of


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
    if np.iscomplexobj(g) and not np.iscomplexobj(x) and not isinstance(x, (list, tuple, dict)):
        return np.real(g)
    return g


def unbroadcast_to(g, shape):
    """Sum ``g`` down to ``shape``."""
    gshape = np.shape(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0 or any(t != 1 and s != t for s, t in zip(gshape[lead:], shape)):
        # not a broadcast of ``shape``: g grew from a scalar zero placeholder (an adjoint
        # nothing has written yet) times some array, so it is zero everywhere
        if is_duck(g) and np.ndim(g):  # (checked lazily: NaN, never a wrong number)
            return np.where(np.any(g), np.nan, 0.0)
        if np.ndim(g) == 0 or not np.any(g):
            return 0.0 if np.ndim(g) else g
        return np.array(np.broadcast_to(g, shape))
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
    if not keepdims and np.ndim(g):  # (a scalar, such as a zero placeholder, broadcasts)
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


def _mat_vjp(g, a, b, which):
    """Cotangent of ``a @ b`` (matmul semantics, 1-D and batched included)."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return g * b if which == 0 else g * a
    if a_nd == 1 and b_nd == 1:
        return g * b if which == 0 else g * a
    if np.ndim(g) == 0:  # a scalar zero placeholder (an adjoint nothing has written yet)
        g = _broadcast(g, _matmul_shape(np.shape(a), np.shape(b)), a, b)
    if which == 0:
        if b_nd == 1:
            return unbroadcast(np.multiply.outer(g, b), a) if a_nd > 1 else g * b
        if a_nd == 1:
            return unbroadcast(np.matmul(b, g[..., :, None])[..., 0], a)
        return unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), a)
    if a_nd == 1:
        return unbroadcast(np.multiply.outer(a, g), b) if b_nd == 2 else unbroadcast(
            a[:, None] * g[..., None, :], b)
    if b_nd == 1:
        return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g[..., None])[..., 0], b)
    return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), b)


def _matmul_shape(sa, sb):
    if len(sa) == 1:
        return sb[:-2] + sb[-1:]
    if len(sb) == 1:
        return sa[:-1]
    return np.broadcast_shapes(sa[:-2], sb[:-2]) + (sa[-2], sb[-1])


def matmul_vjp_a(g, a, b):
    return _mat_vjp(g, a, b, 0)


def matmul_vjp_b(g, a, b):
    return _mat_vjp(g, a, b, 1)


def dot_vjp_a(g, a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if np.ndim(b) <= 2:
        return matmul_vjp_a(g, a, b)
    if np.ndim(g) == 0:
        g = _broadcast(g, np.shape(np.dot(a, b)), a, b)
    # dot with b of ndim > 2 contracts a's last axis with b's second to last
    axes_b = [i for i in range(np.ndim(b)) if i != np.ndim(b) - 2]
    ga = np.tensordot(g, b, axes=(list(range(np.ndim(a) - 1, np.ndim(g))), axes_b))
    return ga


def dot_vjp_b(g, a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    if np.ndim(b) <= 2:
        return matmul_vjp_b(g, a, b)
    if np.ndim(g) == 0:
        g = _broadcast(g, np.shape(np.dot(a, b)), a, b)
    lead = np.ndim(a) - 1
    gb = np.tensordot(a, g, axes=(list(range(lead)), list(range(lead))))
    # gb axes: (a_last, b_axes without b[-2]) -> move a_last to position -2
    return np.moveaxis(gb, 0, -2)


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
    if np.ndim(g) == 0:  # a scalar zero placeholder
        return [np.full(np.shape(a), g, dtype=float) for a in arrays]
    sizes = np.cumsum([np.shape(a)[axis] if np.ndim(a) else 1 for a in arrays])[:-1]
    return np.split(g, sizes, axis=axis)


def unstack(g, arrays, axis=0):
    if np.ndim(g) == 0:  # a scalar zero placeholder
        return [np.full(np.shape(a), g, dtype=float) for a in arrays]
    return [np.take(g, i, axis=axis) for i in range(np.shape(g)[axis])]


def einsum_vjp(g, subscripts, operands, i):
    """Cotangent of operand ``i`` of ``np.einsum(subscripts, *operands)``.

    Ellipses are spelled out as letters first; an axis of operand ``i`` that einsum
    broadcast (size 1 against a larger size elsewhere) is summed back to size 1."""
    inputs, output = _einsum_parse(subscripts, operands)
    others = [op for j, op in enumerate(operands) if j != i]
    other_subs = [s for j, s in enumerate(inputs) if j != i]
    target = inputs[i]
    full = _einsum_sizes(inputs, operands)
    if np.ndim(g) == 0:  # a scalar zero placeholder: the output's shape
        g = np.broadcast_to(g, tuple(full[c] for c in output))
    sizes = dict(zip(target, np.shape(operands[i])))
    dedup = "".join(dict.fromkeys(target))
    # indices summed away inside operand i alone ('ij->i'): broadcast g over them
    lonely = [c for c in dedup if c not in output and not any(c in s for s in other_subs)]
    letters = set("".join(inputs)) | set(output)
    fresh = iter(c for c in string.ascii_letters if c not in letters)
    spec = ",".join([output, *other_subs, *lonely]) + "->" + dedup
    res = np.einsum(spec, g, *others, *[np.ones(sizes[c]) for c in lonely])
    spread = tuple(k for k, c in enumerate(dedup) if sizes[c] == 1 and np.shape(res)[k] != 1)
    if spread:  # broadcast by einsum: sum back
        res = np.sum(res, axis=spread, keepdims=True)
    if dedup == target:
        return res
    # a repeated index ('ii->'): put res on the diagonal with identity matrices
    out_subs, eye_subs = "", []
    for k, c in enumerate(target):
        if c in target[:k]:
            d = next(fresh)
            out_subs += d
            eye_subs.append(c + d)
        else:
            out_subs += c
    eyes = [np.eye(sizes[s[0]]) for s in eye_subs]
    return np.einsum(",".join([dedup, *eye_subs]) + "->" + out_subs, res, *eyes)


def _einsum_sizes(inputs, operands):
    """Each index letter's size after broadcasting (the largest size it has)."""
    full = {}
    for subs, op in zip(inputs, operands):
        for c, n in zip(subs, np.shape(op)):
            full[c] = max(full.get(c, 1), n)
    return full


def _einsum_parse(subscripts, operands):
    """``(input subscripts, output subscripts)`` with the output made explicit and each
    ``...`` spelled out as letters not used elsewhere (aligned from the right, as NumPy
    broadcasts them)."""
    subscripts = subscripts.replace(" ", "")
    lhs, out = subscripts.split("->") if "->" in subscripts else (subscripts, None)
    inputs = lhs.split(",")
    if out is None:
        letters = lhs.replace(",", "").replace(".", "")
        out = ("..." if "..." in lhs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    if "..." not in subscripts:
        return inputs, out
    used = set(subscripts)
    spare = [c for c in string.ascii_letters if c not in used]
    ranks = [np.ndim(op) - len(s.replace("...", "")) for s, op in zip(inputs, operands)]
    width = max([r for s, r in zip(inputs, ranks) if "..." in s] or [0])
    ell = "".join(spare[:width])
    inputs = [s.replace("...", ell[width - r:] if r else "") for s, r in zip(inputs, ranks)]
    return inputs, out.replace("...", ell)


def trace_vjp(g, x, offset=0, axis1=0, axis2=1):
    eye = np.eye(np.shape(x)[axis1], np.shape(x)[axis2], k=offset)
    g = g if is_duck(g) else np.asarray(g)
    return np.moveaxis(np.multiply.outer(g, eye), (-2, -1), (axis1, axis2)) if g.ndim else g * eye


def norm_axes(x, ord=None, axis=None):
    """The two axes of the matrix norm ``np.linalg.norm(x, ord, axis)`` computes, or None
    for a vector norm (``ord=None`` of a matrix is the vector 2-norm of its entries)."""
    if axis is None:
        axis = (0, 1) if np.ndim(x) == 2 and ord is not None else None
    if isinstance(axis, tuple) and len(axis) == 2:
        return tuple(a % np.ndim(x) for a in axis)
    return None


def _ties(hit, axis):
    return hit / np.sum(hit, axis=axis, keepdims=True)


def norm_vjp(g, ans, x, ord=None, axis=None, keepdims=False):
    """The cotangent of ``x`` in ``np.linalg.norm(x, ord, axis, keepdims)``: ties of a
    max/min (inf norms, matrix 1 and inf norms, the spectral norm) share it. A complex
    ``x`` gets the conjugate of the formula (``g`` and the norm are real)."""
    if not np.iscomplexobj(x):
        return _norm_vjp(g, ans, x, ord, axis, keepdims)
    return np.conj(_norm_vjp(np.real(g), ans, x, ord, axis, keepdims))


def _norm_vjp(g, ans, x, ord=None, axis=None, keepdims=False):
    shape = np.shape(x)
    if not keepdims and shape:
        g = np.reshape(g, _keepdims_shape(shape, axis))
        ans = np.reshape(ans, _keepdims_shape(shape, axis))
    mat = norm_axes(x, ord, axis)
    if ord in (None, "fro") or (ord == 2 and mat is None):
        return g * x / ans
    if mat is None and ord == 1:
        return g * np.sign(x)
    if mat is None and ord in (np.inf, -np.inf):
        return g * np.sign(x) * _ties(np.abs(x) == ans, axis)
    if mat is not None and ord in (1, -1, np.inf, -np.inf):
        rows, cols = mat if ord in (1, -1) else mat[::-1]   # sum over rows, pick a column
        sums = np.sum(np.abs(x), axis=rows, keepdims=True)
        return g * np.sign(x) * _ties(sums == ans, cols)
    if mat is not None and ord in (2, -2, "nuc"):
        u, s, vh = np.linalg.svd(np.moveaxis(x, mat, (-2, -1)), full_matrices=False)
        w = np.ones_like(s) if ord == "nuc" else _ties(
            s == (np.max if ord == 2 else np.min)(s, axis=-1, keepdims=True), -1)
        return g * np.moveaxis(u @ (w[..., :, None] * vh), (-2, -1), mat)
    if mat is None and ord == 0:  # the count of nonzero entries: piecewise constant
        return np.zeros_like(g * x)
    if mat is None and isinstance(ord, (int, float)):  # a p-norm, (sum |x|^p)^(1/p)
        return g * np.sign(x) * np.abs(x) ** (ord - 1) / ans ** (ord - 1)
    from .errors import MissingRuleError
    raise MissingRuleError(f"no derivative rule for np.linalg.norm with ord={ord!r}",
                           construct="np.linalg.norm",
                           hint="use ord=None, 1, 2, np.inf or a p-norm of a vector")


def clip_mask(a, a_min, a_max):
    mask = np.ones(np.shape(a), dtype=bool)
    if a_min is not None:
        mask &= a >= a_min
    if a_max is not None:
        mask &= a <= a_max
    return mask


def reshape_like(g, x):
    if np.ndim(g) == 0 and _size(x) != 1:  # a scalar zero placeholder broadcasts as it is
        return g
    return np.reshape(g, np.shape(x))


def real_cot(g, x):
    """Adjoint ``g`` of ``x`` as a real cotangent: the scalar zero placeholder of an
    adjoint that nothing has written yet becomes zeros shaped like ``x``, so the rule
    that reads it next (a reshape, a flip, a matmul, ...) sees the shape it expects."""
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


def _float_dtype(x):
    """The dtype of ``x``'s cotangent: its own if inexact (complex64 stays complex64)."""
    dt = getattr(x, "dtype", None)
    if dt is not None and np.issubdtype(dt, np.inexact):
        return dt
    return np.complex128 if isinstance(x, complex) else np.float64


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


HELPERS = {
    name: obj for name, obj in globals().items()
    if callable(obj) and not name.startswith("_") and getattr(obj, "__module__", None) == __name__
}


# --- helpers of the generated reverse sweep ------------------------------------------
def zeros_for(x):
    """A fresh zero adjoint for ``x`` (array buffers updated in place)."""
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
    from .errors import MissingRuleError
    raise MissingRuleError(
        f"the adjoint of an integer-array or boolean index into a {type(buf).__name__} "
        "needs np.add.at, which that array type does not implement",
        construct="x[index array]",
        hint="index with ints and slices, or write the selection as a product with a "
             "0/1 mask or np.where")


def _is_scalar(v):
    """A number or 0-d array (never a list or dict of cotangents)."""
    return isinstance(v, (float, int, np.number)) or (isinstance(v, np.ndarray) and v.ndim == 0)


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
    elif _is_scalar(buf) and np.ndim(x) > 0:  # a scalar zero placeholder: a full buffer
        buf = zeros_for(x) + buf
    scatter_add(buf, idx, g)
    return buf


def take_cot(b, idx, v):
    """The cotangent of the value stored by ``y[idx] = v`` (None while ``b`` is zero)."""
    if b is None:
        return None
    if _is_scalar(b):  # a scalar zero placeholder
        return b
    return unbroadcast(np.copy(b[idx]), v)


def cut_index(b, idx):
    """A copy of adjoint ``b`` with ``b[idx]`` zeroed (the slot was overwritten)."""
    if b is None:
        return None
    if _is_scalar(b) and b == 0:  # a zero placeholder stays zero
        return b
    if is_duck(b):  # (item assignment on a Dask array rebinds that object's graph)
        out = b.copy()
        out[idx] = 0.0
        return out
    dt = complex if np.iscomplexobj(b) else float
    out = np.array(b, dtype=dt) if np.ndim(b) == 0 or not isinstance(b, np.ndarray) else b.copy()
    out[idx] = 0.0
    return out


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


def vjp_call(fn, g, *args):
    """Cotangents of ``fn``'s float arguments for output cotangent ``g`` (None for others).

    A call to a user function inside differentiated code: the callee gets its own
    generated adjoint (cached per function and argument shapes), run on the spot."""
    if _is_method(fn):  # its function, with self first (self is not differentiated here)
        return _vjp(fn.__func__, g, (fn.__self__, *args), 1)[1:]
    return _vjp(fn, g, args)


def vjp_method(g, obj, name, *args):
    """Cotangents of ``obj`` and ``args`` for the call ``obj.name(*args)``."""
    fn = getattr(obj, name)
    if _is_method(fn) and fn.__self__ is obj:
        return _vjp(fn.__func__, g, (obj, *args))
    if type(fn) is types.FunctionType:  # a function kept in an attribute
        return [None, *_vjp(fn, g, args)]
    from .errors import MissingRuleError
    raise MissingRuleError(
        f"no derivative rule for the method .{name} of a {type(obj).__name__}",
        construct=f".{name}(...)", hint="call a NumPy function on it, or a method written "
        "in Python (sourcediff reads its source)")


def _vjp(fn, g, args, first=0):
    """``vjp_call`` with arguments before ``first`` held constant."""
    wrt = tuple(i for i, a in enumerate(args) if i >= first and _differentiable(a))
    out = [None] * len(args)
    if not wrt or g is None:
        return out
    if _made_gradient(fn):  # grad(h) called in differentiated code: rereverse.gradient_vjp
        cts = compiler.gradient_vjp(getattr(fn, "__sourcediff_state__", fn), args)[1](g)
        return [ct if i in wrt else None for i, ct in enumerate(cts)]
    adj = compiler.adjoint_of(fn, wrt, "vjp", spec=compiler.spec_of(args))
    grads = adj.fn(*args, g)[1]
    for i, gi in zip(wrt, grads):
        out[i] = gi
    return out


def _made_gradient(fn):
    """A gradient sourcediff made (``grad(h)``), whose own source is only a dispatcher:
    differentiated through the generated code it runs (``plain_function``)."""
    return getattr(fn, "plain_function", None) is not None


def _is_method(fn):
    """A method bound to an object (read at each call, as Python does: ``self.f``)."""
    return type(fn) is types.MethodType and type(fn.__func__) is types.FunctionType


def jvp_call(fn, tangents, *args):
    """The output tangent of a user function call (forward mode)."""
    return jvp_pair(fn, tangents, *args)[1]


def jvp_pair(fn, tangents, *args):
    """``(fn(*args), its tangent)`` from one run of the callee's tangent code: forward
    mode's counterpart of ``split_call`` (the callee is not run again for its value)."""
    if _is_method(fn):
        return jvp_pair(fn.__func__, (None, *tangents), fn.__self__, *args)
    tangents = [_filled(t, a) for t, a in zip(tangents, args)]
    wrt = tuple(i for i, (a, t) in enumerate(zip(args, tangents))
                if t is not None and _differentiable(a))
    if not wrt:
        value = fn(*args)
        return value, zeros_tangent(value)
    if _made_gradient(fn):  # grad(h) called in differentiated code: its generated code
        fn = fn.plain_function(args)
    adj = compiler.jvp_adjoint(fn, wrt, compiler.spec_of(args))
    value, tangent = adj.fn(*args, *[tangents[i] for i in wrt])
    return value, tangent


def jvp_method(obj, name, tangents, *args):
    """The output tangent of the call ``obj.name(*args)``; ``tangents`` has ``obj``'s first."""
    fn = getattr(obj, name)
    if _is_method(fn) and fn.__self__ is obj:
        return jvp_call(fn.__func__, tangents, obj, *args)
    if type(fn) is types.FunctionType:
        return jvp_call(fn, tangents[1:], *args)
    vjp_method(None, obj, name)  # (the same error)


def _filled(t, a):
    """A ``*args`` / ``**kwargs`` tangent with zeros for its constant (None) entries."""
    if isinstance(t, tuple) and any(v is None for v in t):
        return tuple(zeros_tangent(x) if v is None else v for v, x in zip(t, a))
    if isinstance(t, dict) and any(v is None for v in t.values()):
        return {k: zeros_tangent(a[k]) if v is None else v for k, v in t.items()}
    return t


def attr_cot(x, name, g):
    """The cotangent of container ``x`` for the read ``x.name`` whose cotangent is ``g``:
    its children's cotangents (a list), ``g`` in that field's place."""
    kind, i = _field(x, name)  # (first: a method read off x would drop its cotangent)
    if g is None:
        return None
    out = [None] * len(kind.flatten(x))
    out[i] = g
    return out


def attr_tangent(x, x_dot, name):
    """The tangent of the read ``x.name`` (forward mode): that field of ``x``'s tangent."""
    _field(x, name)
    return getattr(x_dot, name)


def _field(x, name):
    """``x``'s container kind and the position of its field ``name``, or the error."""
    kind = kind_of(x)
    i = kind.index(name) if kind is not None else None
    if i is None:
        what = "a field" if kind is None else "a field its kind names"
        from .errors import MissingRuleError
        raise MissingRuleError(
            f"sourcediff cannot differentiate the attribute .{name} of a {type(x).__name__}: "
            f"it is not {what}", construct=f".{name}",
            hint="differentiate with respect to the fields of a dataclass or NamedTuple (or "
                 "a class registered with sourcediff.register_container(cls, flatten, "
                 "unflatten, fields=...)); read arrays' data by indexing or NumPy functions")
    return kind, i


def _differentiable(a):
    if isinstance(a, (bool, np.bool_, int, np.integer, str)) or a is None:
        return False
    if isinstance(a, np.ndarray) or is_duck(a):
        return a.dtype.kind in "fc"
    if isinstance(a, (list, tuple)):
        return any(_differentiable(v) for v in a)
    if isinstance(a, dict):
        return any(_differentiable(v) for v in a.values())
    if kind_of(a) is not None:
        return any(_differentiable(v) for v in kind_of(a).flatten(a))
    return isinstance(a, (float, np.floating, complex, np.complexfloating))


HELPERS.update({n: globals()[n] for n in (
    "zeros_for", "scatter_add", "cut_index", "copy_of", "add_cot", "nonzero_or_none", "pop_cot",
    "get_cot", "scatter_into", "take_cot", "add_owned", "keys_of", "attr_cot",
    "attr_tangent")})


# --- helpers of generated forward (tangent) code ----------------------------------------
def zeros_tangent(x):
    """A zero tangent shaped like ``x``."""
    kind = kind_of(x)
    if kind is not None:
        return kind.unflatten(x, [zeros_tangent(v) for v in kind.flatten(x)])
    if isinstance(x, list):
        return [zeros_tangent(v) for v in x]
    if isinstance(x, tuple):
        return tuple(zeros_tangent(v) for v in x)
    if isinstance(x, dict):
        return {k: zeros_tangent(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return np.zeros(x.shape, dtype=_float_dtype(x))
    if is_duck(x):
        return np.zeros_like(x, dtype=_float_dtype(x))
    return 0.0


def tangent_setitem(t, idx, v):
    """The tangent of ``y`` after ``y[idx] = v`` (a new array, never in place)."""
    if is_duck(t) or is_duck(v):  # (no copy through np.array: it would compute)
        t = t if is_duck(t) else np.asarray(t, like=v)
        out = t.astype(np.result_type(t.dtype, getattr(v, "dtype", v), 1.0))
    else:
        out = np.array(t, dtype=np.result_type(t, v, 1.0))
    out[idx] = v
    return out


HELPERS.update(vjp_method=vjp_method, jvp_method=jvp_method)
HELPERS.update(zeros_tangent=zeros_tangent, tangent_setitem=tangent_setitem, vjp_call=vjp_call,
               jvp_call=jvp_call)



# --- forward mode over generated code: the functions a call's tangent runs through ---------
# A call into generated code (``vjp_call``, ``vjp_method``, ``jvp_call``, ``jvp_method``) is
# differentiated forward as ``jvp_call(F, tangents, *args)`` where F is a plain generated
# function computing exactly what the call computes (the callee's adjoint, or tangent
# code, read back from its source: see higher.adjoint_view). The tangent of that
# ``jvp_call`` is again a ``jvp_call`` of a generated function, so every order works the
# same way. These four helpers only build F; they carry no gradient themselves.
def adjoint_fn(fn, g, *args):
    """F with ``F(*args, g) == vjp_call(fn, g, *args)`` (plain generated code)."""
    if _made_gradient(fn):  # grad(h) called inside: see rereverse.gradient_adjoint_view
        return compiler.gradient_adjoint_view(fn, args, g is not None)
    bound = None
    if _is_method(fn):
        fn, args, bound = fn.__func__, (fn.__self__, *args), fn.__self__
    first = 1 if bound is not None else 0
    wrt = tuple(i for i, a in enumerate(args) if i >= first and _differentiable(a))
    return compiler.adjoint_view(fn, args, wrt if g is not None else (), bound=bound)


def method_adjoint_fn(g, obj, name, *args):
    """F with ``F(g, obj, *args) == vjp_method(g, obj, name, *args)``."""
    fn = getattr(obj, name)
    if _is_method(fn) and fn.__self__ is obj:
        full = (obj, *args)
        wrt = tuple(i for i, a in enumerate(full) if _differentiable(a))
        return compiler.adjoint_view(fn.__func__, full, wrt if g is not None else (),
                                     seed_first=True)
    if type(fn) is types.FunctionType:  # a function kept in an attribute: obj unused
        wrt = tuple(i for i, a in enumerate(args) if _differentiable(a))
        return compiler.adjoint_view(fn, args, wrt if g is not None else (), seed_first=True,
                            lead=1)
    vjp_method(None, obj, name)  # (the same error)


def tangent_fn(fn, tangents, *args, pair=False):
    """G with ``G(*args, tangents) == jvp_call(fn, tangents, *args)`` (with ``pair``:
    ``== jvp_pair(fn, tangents, *args)``, the value and its tangent)."""
    bound = None
    if _is_method(fn):
        fn, args, bound = fn.__func__, (fn.__self__, *args), fn.__self__
        tangents = (None, *tangents)
    if _made_gradient(fn):  # grad(h) called in differentiated code: its generated code
        fn = fn.plain_function(args)
    filled = [_filled(t, a) for t, a in zip(tangents, args)]
    wrt = tuple(i for i, (a, t) in enumerate(zip(args, filled))
                if t is not None and _differentiable(a))
    return compiler.tangent_view(fn, args, wrt, filled, bound=bound, pair=pair)


def method_tangent_fn(obj, name, tangents, *args):
    """G with ``G(obj, tangents, *args) == jvp_method(obj, name, tangents, *args)``."""
    fn = getattr(obj, name)
    if _is_method(fn) and fn.__self__ is obj:
        full, tans = (obj, *args), tuple(tangents)
    elif type(fn) is types.FunctionType:
        full, tans = args, tuple(tangents[1:])
    else:
        vjp_method(None, obj, name)  # (the same error)
    filled = [_filled(t, a) for t, a in zip(tans, full)]
    wrt = tuple(i for i, (a, t) in enumerate(zip(full, filled))
                if t is not None and _differentiable(a))
    return compiler.tangent_view(fn.__func__ if full is not args else fn, full, wrt, filled,
                        method=True, lead=0 if full is not args else 1)


def filled_tangent(t, a):
    """``*args`` / ``**kwargs`` tangent ``t`` with zeros for its constant (None) entries."""
    return _filled(t, a)


HELPERS.update(adjoint_fn=adjoint_fn, method_adjoint_fn=method_adjoint_fn,
               tangent_fn=tangent_fn, method_tangent_fn=method_tangent_fn,
               filled_tangent=filled_tangent)


# --- np.inner's cotangents (any number of leading axes) and their tangents -----------------
def inner_vjp_a(g, a, b):
    """Cotangent of ``a`` in ``np.inner(a, b)``: ``sum_J g[I, J] b[J, k]``."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a) if np.ndim(a) else np.sum(g * b)
    nb = np.ndim(b) - 1
    g = _broadcast(g, np.shape(a)[:-1] + np.shape(b)[:-1], a, b)
    return np.tensordot(g, b, axes=(list(range(np.ndim(g) - nb, np.ndim(g))), list(range(nb))))


def inner_vjp_b(g, a, b):
    """Cotangent of ``b`` in ``np.inner(a, b)``: ``sum_I g[I, J] a[I, k]``."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b) if np.ndim(b) else np.sum(g * a)
    na = np.ndim(a) - 1
    g = _broadcast(g, np.shape(a)[:-1] + np.shape(b)[:-1], a, b)
    return np.tensordot(g, a, axes=(list(range(na)), list(range(na))))


# tangents of the cotangent helpers above (forward mode over generated adjoints)
def einsum_vjp_dops(g, subscripts, operands, d_operands, i):
    """The tangent of ``einsum_vjp(g, subscripts, operands, i)`` along the operands'
    tangents (it is linear in each operand other than ``i``)."""
    out = 0.0
    for j, d in enumerate(d_operands):
        if j != i and d is not None:
            ops = list(operands)
            ops[j] = d
            out = out + einsum_vjp(g, subscripts, ops, i)
    return out


def norm_vjp_dx(g, ans, x, dx, ord=None, axis=None, keepdims=False):
    """The tangent of ``norm_vjp(g, ans, x, ...)`` along ``x`` (ord 1, inf: zero; a p-norm:
    ``g (p - 1) |x|^(p-2) dx / ans^(p-1)``; the singular-value norms: through svd's tangents)."""
    if _singular(x, ord, axis):
        return _singular_vjp_dx(g, x, dx, ord, axis, keepdims)
    c = norm_curvature(x, ord, axis)
    if c == 0.0:
        return 0.0 * dx
    if ord in (None, "fro", 2):
        return norm_vjp(g, ans, dx, ord, axis, keepdims)
    if not keepdims and np.shape(x):
        g = np.reshape(g, _keepdims_shape(np.shape(x), axis))
        ans = np.reshape(ans, _keepdims_shape(np.shape(x), axis))
    return g * c * np.abs(x) ** (ord - 2) * dx / ans ** (ord - 1)


def _singular(x, ord, axis):
    """A real matrix's norm of its singular values (spectral 2, -2; nuclear)."""
    return (ord in (2, -2, "nuc") and norm_axes(x, ord, axis) is not None
            and not np.iscomplexobj(x))


def _singular_vjp_dx(g, x, dx, ord, axis, keepdims):
    """``g * d(u W vh)`` along ``dx``: W weighs the singular vectors ``norm_vjp`` uses
    (ties share; the weights are piecewise constant), du and dvh are svd's tangents."""
    shape, mat = np.shape(x), norm_axes(x, ord, axis)
    if not keepdims and shape:
        g = np.reshape(g, _keepdims_shape(shape, axis))
    a, da = np.moveaxis(x, mat, (-2, -1)), np.moveaxis(dx, mat, (-2, -1))
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    w = np.ones_like(s) if ord == "nuc" else _ties(
        s == (np.max if ord == 2 else np.min)(s, axis=-1, keepdims=True), -1)
    du, _, dvh = svd_jvp(da, (u, s, vh), a, False, True)
    d = du @ (w[..., :, None] * vh) + u @ (w[..., :, None] * dvh)
    return g * np.moveaxis(d, (-2, -1), mat)


def norm_curvature(x, ord=None, axis=None):
    """How ``norm_vjp`` depends on ``ans`` and ``x``: 1 for the 2-norms, ``p - 1`` for a
    vector p-norm, 0 where it is piecewise constant (ord 0, 1, inf; matrix 1, inf); the
    spectral and nuclear norms' second derivatives, and those of a complex argument other
    than its 2-norm, are refused."""
    mat = norm_axes(x, ord, axis)
    if ord in (None, "fro") or (ord == 2 and mat is None):
        return 1.0
    if np.iscomplexobj(x) or (mat is not None and ord in (2, -2, "nuc")):
        from .errors import MissingRuleError
        what = "a complex argument" if np.iscomplexobj(x) else "a matrix"
        raise MissingRuleError(
            f"no second derivative rule for np.linalg.norm with ord={ord!r} of {what}",
            construct="np.linalg.norm",
            hint="write it with np.linalg.svd (first derivatives only), or use ord='fro'")
    if mat is not None or ord in (0, 1, np.inf, -np.inf):   # (matrix 1, -1, inf, -inf)
        return 0.0
    return float(ord) - 1.0


def norm_vjp_dans(g, ans, x, dans, ord=None, axis=None, keepdims=False):
    """The tangent of ``norm_vjp(g, ans, x, ...)`` along ``ans`` (ord 1, inf and the
    singular-value norms, which do not read ans: zero)."""
    if _singular(x, ord, axis):
        return 0.0 * x
    c = norm_curvature(x, ord, axis)
    if c == 0.0:
        return 0.0 * x
    return -c * norm_vjp(g * dans / ans, ans, x, ord, axis, keepdims)


HELPERS.update(inner_vjp_a=inner_vjp_a, inner_vjp_b=inner_vjp_b,
               einsum_vjp_dops=einsum_vjp_dops, norm_vjp_dx=norm_vjp_dx,
               norm_vjp_dans=norm_vjp_dans, norm_curvature=norm_curvature)

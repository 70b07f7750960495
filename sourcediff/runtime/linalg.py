"""The cotangents of NumPy's products and norms (matmul, dot, inner, einsum, trace,
``np.linalg.norm``) and their tangents (forward mode over generated adjoints). Part of
:mod:`sourcediff.runtime`.
"""

from __future__ import annotations

import string

import numpy as np

from ..values.duck import is_duck
from .numeric_linalg import svd_jvp
from .broadcast import _broadcast, _keepdims_shape, unbroadcast


def _mat_vjp(g, a, b, first):
    """The cotangent of ``a`` (``first``) or of ``b`` in ``a @ b`` (matmul semantics:
    stacks of matrices, vectors, numbers); the stacks a smaller operand was broadcast
    over summed back to its shape."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd > 1 and b_nd > 1:  # (stacks of) matrices, checked first: g b^T, a^T g
        if first:
            return unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), a)
        return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), b)
    if a_nd == 0 or b_nd == 0 or a_nd == b_nd:  # a number, or two vectors: g is a number
        return g * b if first else g * a
    if b_nd == 1:  # (..., n, p) @ (p,) is (..., n): g outer b, a^T g
        if first:
            return unbroadcast(np.multiply.outer(g, b), a)
        return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g[..., None])[..., 0], b)
    # (p,) @ (..., p, q) is (..., q): b g, a outer g
    if first:
        return unbroadcast(np.matmul(b, g[..., :, None])[..., 0], a)
    return unbroadcast(a[:, None] * g[..., None, :], b)


def matmul_vjp_a(g, a, b):
    return _mat_vjp(g, a, b, True)


def matmul_vjp_b(g, a, b):
    return _mat_vjp(g, a, b, False)


def dot_vjp_a(g, a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if np.ndim(b) <= 2:
        return matmul_vjp_a(g, a, b)
    # dot with b of ndim > 2 contracts a's last axis with b's second to last
    axes_b = [i for i in range(np.ndim(b)) if i != np.ndim(b) - 2]
    ga = np.tensordot(g, b, axes=(list(range(np.ndim(a) - 1, np.ndim(g))), axes_b))
    return ga


def dot_vjp_b(g, a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    if np.ndim(b) <= 2:
        return matmul_vjp_b(g, a, b)
    lead = np.ndim(a) - 1
    gb = np.tensordot(a, g, axes=(list(range(lead)), list(range(lead))))
    # gb axes: (a_last, b_axes without b[-2]) -> move a_last to position -2
    return np.moveaxis(gb, 0, -2)


def einsum_vjp(g, subscripts, operands, i):
    """Cotangent of operand ``i`` of ``np.einsum(subscripts, *operands)``.

    Ellipses are spelled out as letters first; an axis of operand ``i`` that einsum
    broadcast (size 1 against a larger size elsewhere) is summed back to size 1."""
    inputs, output = _einsum_parse(subscripts, operands)
    others = [op for j, op in enumerate(operands) if j != i]
    other_subs = [s for j, s in enumerate(inputs) if j != i]
    target = inputs[i]
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
    from ..errors import MissingRuleError
    raise MissingRuleError(f"no derivative rule for np.linalg.norm with ord={ord!r}",
                           construct="np.linalg.norm",
                           hint="use ord=None, 1, 2, np.inf or a p-norm of a vector")


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
        if np.iscomplexobj(x):   # (norm_vjp's conjugate, as there)
            return np.conj(_singular_vjp_dx(np.real(g), x, dx, ord, axis, keepdims))
        return _singular_vjp_dx(g, x, dx, ord, axis, keepdims)
    if np.iscomplexobj(x) and _of_abs(x, ord, axis):
        return _abs_norm_vjp_dx(g, ans, x, dx, ord, axis, keepdims)
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
    """A matrix norm of the singular values (spectral 2, -2; nuclear)."""
    return ord in (2, -2, "nuc") and norm_axes(x, ord, axis) is not None


def _of_abs(x, ord, axis):
    """A norm of the moduli ``|x|`` other than the 2-norm (a vector p-norm, 1, inf, 0; a
    matrix 1 or inf norm): ``norm_vjp`` is ``conj(sign(x))`` times a weight of ``|x|``."""
    mat = norm_axes(x, ord, axis)
    return not (ord in (None, "fro") or ord == 2 and mat is None or _singular(x, ord, axis))


def _abs_norm_vjp_dx(g, ans, x, dx, ord, axis, keepdims):
    """The tangent of ``norm_vjp(g, ans, x, ...)`` along ``dx`` for a complex ``x`` and a
    norm of ``|x|``: the cotangent is ``g conj(u) w(|x|)`` with ``u = x / |x|``; along dx,
    ``du = (dx - u Re(conj(u) dx)) / |x|`` (0 where x is) and ``d|x| = Re(conj(u) dx)``,
    whose term is the real rule's at ``|x|``."""
    r = np.abs(x)
    u = x / np.where(r == 0, 1.0, r)
    dr = np.real(np.conj(u) * dx)
    du = (dx - u * dr) / np.where(r == 0, np.inf, r)
    g = np.real(g)
    return np.conj(du) * _norm_vjp(g, ans, r, ord, axis, keepdims) + np.conj(u) * norm_vjp_dx(
        g, ans, r, dr, ord, axis, keepdims)


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
    """How ``norm_vjp`` depends on ``ans`` (the power of ``ans`` it divides by): 1 for
    the 2-norms, ``p - 1`` for a vector p-norm, 0 for ord 0, 1, inf, the matrix 1, inf
    norms (for a real x, piecewise constant in x too) and the spectral and nuclear norms
    (norm_vjp_dx differentiates those through svd)."""
    mat = norm_axes(x, ord, axis)
    if ord in (None, "fro") or (ord == 2 and mat is None):
        return 1.0
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

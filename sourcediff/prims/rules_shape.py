"""Rules of NumPy's shape, joining, selection and contraction functions (issue #18).

Read a line as in :mod:`sourcediff.prims.rules`. The cotangent helpers these templates call
live in :mod:`sourcediff.runtime.numeric_shape`; each has rules below (the linear ones are
each other's transposes), so an adjoint calling them is differentiable again.
"""

from __future__ import annotations

import numpy as np

from ..runtime import numeric_shape as ns
from .registry import defnondiff, defrule

# --- copies, tiles, pads, rolls, flips ------------------------------------------------------
defrule(np.repeat, "a, repeats, axis=None", ("unrepeat(g, a, repeats, axis)", None), linear=True,
        shaped=True, same_kind=True)
defrule(ns.unrepeat, "v, a, repeats, axis=None", ("np.repeat(g, repeats, axis)", None, None),
        ("unrepeat(dv, a, repeats, axis)", None, None), shape_like=1)
defrule(np.tile, "A, reps", ("untile(g, A, reps)", None), linear=True, shaped=True,
        same_kind=True)
defrule(ns.untile, "v, a, reps", ("np.tile(g, reps)", None, None),
        ("untile(dv, a, reps)", None, None), shape_like=1)
defrule(np.pad, "array, pad_width, mode='constant', constant_values=0",
        ("unpad(g, array, pad_width, mode)", None, None,
         "np.sum(g * pad_mask(array, pad_width, constant_values))"),
        ("np.pad(darray, pad_width, pad_mode(mode))", None, None,
         "dconstant_values * pad_mask(array, pad_width, constant_values)"), shaped=True,
        same_kind=True)
defrule(ns.unpad, "v, array, pad_width, mode='constant'",
        ("np.pad(g, pad_width, pad_mode(mode))", None, None, None),
        ("unpad(dv, array, pad_width, mode)", None, None, None), shape_like=1)
defrule(np.roll, "a, shift, axis=None", ("np.roll(g, np.negative(shift), axis)", None), linear=True,
        shaped=True, same_kind=True)
defrule(np.fliplr, "m", ("np.fliplr(g)",), linear=True, view=True, shaped=True, same_kind=True)
defrule(np.flipud, "m", ("np.flipud(g)",), linear=True, view=True, shaped=True, same_kind=True)
defrule(np.rot90, "m, k=1, axes=None", ("np.rot90(g, -k, (0, 1) if axes is None else axes)",),
        ("np.rot90(dm, k, (0, 1) if axes is None else axes)",), shaped=True)

# --- joining and splitting ------------------------------------------------------------------
for _fn, _how in ((np.vstack, "v"), (np.hstack, "h"), (np.dstack, "d")):
    defrule(_fn, "tup, dtype=None, casting='same_kind'", (None,), (None,),
            seq_vjp={"tup": f"unjoin(g, tup, {_how!r})"})
defrule(np.column_stack, "tup", (None,), (None,), seq_vjp={"tup": "unjoin(g, tup, 'c')"})
if hasattr(np, "row_stack"):  # vstack's old name (deprecated in NumPy 2.0)
    defrule(np.row_stack, "tup, dtype=None, casting='same_kind'", (None,), (None,),
            seq_vjp={"tup": "unjoin(g, tup, 'v')"})
defrule(np.append, "arr, values, axis=None",
        ("unappend(g, arr, values, axis, 0)", "unappend(g, arr, values, axis, 1)"),
        ("np.append(darr, np.zeros(np.shape(values)), axis)",
         "np.append(np.zeros(np.shape(arr)), dvalues, axis)"), shaped=True)
defrule(ns.unappend, "v, arr, values, axis, which",
        ("np.append(g, np.zeros(np.shape(values)), axis) if which == 0 else "
         "np.append(np.zeros(np.shape(arr)), g, axis)", None, None, None, None),
        ("unappend(dv, arr, values, axis, which)", None, None, None, None))
for _fn in (np.split, np.array_split):
    defrule(_fn, "ary, indices_or_sections, axis=0",
            ("unsplit(g, ary, indices_or_sections, axis)", None), linear=True)
# hsplit, vsplit, dsplit: split along axis 1 (0 for a vector), 0, 2
for _fn, _axis in ((np.hsplit, "1 if np.ndim(ary) > 1 else 0"), (np.vsplit, "0"), (np.dsplit, "2")):
    defrule(_fn, "ary, indices_or_sections",
            (f"unsplit(g, ary, indices_or_sections, {_axis})", None), linear=True)
defrule(np.rollaxis, "a, axis, start=0",
        ("np.moveaxis(g, rollaxis_dest(np.ndim(a), axis, start), axis % np.ndim(a))", None),
        linear=True, shaped=True)

# --- diagonals and triangles ----------------------------------------------------------------
defrule(np.diag, "v, k=0", ("undiag(g, v, k)",), linear=True, shaped=True)
defrule(ns.undiag, "u, v, k=0", ("np.diag(g, k)", None), ("undiag(du, v, k)", None), shape_like=1)
defrule(np.diagonal, "a, offset=0, axis1=0, axis2=1", ("undiagonal(g, a, offset, axis1, axis2)",),
        linear=True, view=True, shaped=True)
defrule(ns.undiagonal, "v, a, offset=0, axis1=0, axis2=1",
        ("np.diagonal(g, offset, axis1, axis2)", None),
        ("undiagonal(dv, a, offset, axis1, axis2)", None), shape_like=1)
defrule(np.triu, "m, k=0", ("np.triu(g, k)",), linear=True, shaped=True, same_kind=True)
defrule(np.tril, "m, k=0", ("np.tril(g, k)",), linear=True, shaped=True, same_kind=True)

# --- selection and differences --------------------------------------------------------------
defrule(np.take_along_axis, "arr, indices, axis=-1", ("untake_along(g, arr, indices, axis)", None),
        linear=True, shaped=True, same_kind=True)
defrule(ns.untake_along, "v, arr, indices, axis=-1",
        ("np.take_along_axis(g, indices, axis)", None, None),
        ("untake_along(dv, arr, indices, axis)", None, None), shape_like=1)
defrule(np.sort, "a, axis=-1", ("untake_along(g, a, np.argsort(a, axis=axis), axis)",),
        ("np.take_along_axis(da, np.argsort(a, axis=axis), axis)",), expensive=True, shaped=True,
        same_kind=True)
defrule(np.select, "condlist, choicelist, default=0",
        (None, None, "unbroadcast(g * select_rest(condlist, ans), default)"),
        (None, "broadcast_like(np.select(condlist, dchoicelist, 0.0), ans)",
         "broadcast_like(ddefault, ans) * select_rest(condlist, ans)"),
        seq_vjp={"choicelist": "unselect(g, condlist, choicelist)"})
defrule(np.partition, "a, kth, axis=-1",
        ("untake_along(g, a, np.argpartition(a, kth, axis=axis), axis)", None),
        ("np.take_along_axis(da, np.argpartition(a, kth, axis=axis), axis)", None), shaped=True,
        same_kind=True)
defrule(np.diff, "a, n=1, axis=-1", ("undiff(g, a, n, axis)",), linear=True, shaped=True,
        common_kind=0)  # (not same_kind: np.diff(a, 0) is a itself, no new array)
defrule(ns.undiff, "v, a, n=1, axis=-1", ("np.diff(g, n, axis)", None),
        ("undiff(dv, a, n, axis)", None), shape_like=1, fresh=True, same_kind=True)

# --- products and contractions --------------------------------------------------------------
defrule(np.kron, "a, b", ("kron_vjp_a(g, a, b)", "kron_vjp_b(g, a, b)"),
        ("np.kron(da, b)", "np.kron(a, db)"), expensive=True, shaped=True)
defrule(ns.kron_vjp_a, "v, a, b", ("np.kron(g, b)", None, "kron_vjp_b(v, g, b)"),
        ("kron_vjp_a(dv, a, b)", None, "kron_vjp_a(v, a, db)"))
defrule(ns.kron_vjp_b, "v, a, b", ("np.kron(a, g)", "kron_vjp_a(v, a, g)", None),
        ("kron_vjp_b(dv, a, b)", "kron_vjp_b(v, da, b)", None))
# the vector axes move: a's cotangent is cross(b, g) with b's, g's and a's axes
defrule(np.cross, "a, b, axisa=-1, axisb=-1, axisc=-1, axis=None",
        ("np.cross(b, g, axisb, axisc, axisa, axis)", "np.cross(g, a, axisc, axisa, axisb, axis)"),
        ("np.cross(da, b, axisa, axisb, axisc, axis)", "np.cross(a, db, axisa, axisb, axisc, axis)"),
        broadcast=True, shaped=True)
defrule(np.vdot, "a, b", ("np.reshape(np.conj(g * np.ravel(b)), np.shape(a))",
                          "np.reshape(g * np.conj(np.ravel(a)), np.shape(b))"),
        ("np.vdot(da, b)", "np.vdot(a, db)"), shaped=True)
defrule(np.tensordot, "a, b, axes=2",
        ("tensordot_vjp_a(g, a, b, axes)", "tensordot_vjp_b(g, a, b, axes)"),
        ("np.tensordot(da, b, axes)", "np.tensordot(a, db, axes)"), expensive=True, shaped=True)
defrule(ns.tensordot_vjp_a, "v, a, b, axes=2",
        ("np.tensordot(g, b, axes)", None, "tensordot_vjp_b(v, g, b, axes)"),
        ("tensordot_vjp_a(dv, a, b, axes)", None, "tensordot_vjp_a(v, a, db, axes)"))
defrule(ns.tensordot_vjp_b, "v, a, b, axes=2",
        ("np.tensordot(a, g, axes)", "tensordot_vjp_a(v, a, g, axes)", None),
        ("tensordot_vjp_b(dv, a, b, axes)", "tensordot_vjp_b(v, da, b, axes)", None))
defnondiff(ns.pad_mode, ns.pad_mask, np.argpartition, ns.select_rest, ns.rollaxis_dest)  # (the mode checked; where the
# constant went; an order)

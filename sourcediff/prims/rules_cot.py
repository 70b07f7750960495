"""Rules of the cotangent helpers: what generated adjoints call, differentiated again.

A generated adjoint calls ``get_cot``, ``prod_vjp``, ``einsum_vjp``... Forward mode over it
(``hessian``) needs their forward rules, reverse mode over it (``vjp(grad(f))``: the tape
run over the generated code, :mod:`sourcediff.tape.generated`) their reverse rules. Each is
linear in its cotangent argument ``v``; its reverse rule there is the adjoint of that
linear map (``g`` is the cotangent of the helper's output, ``ans`` the output).
``tests/test_helper_rules.py`` checks that every helper has both rules or is declared
non-differentiable.
"""

from __future__ import annotations


from ..runtime import numeric as nm
from ..runtime import numeric_cot as nc
from ..runtime import numeric_linalg as nl
from ..runtime import numeric_reduce as nr
from ..runtime import numeric_shape as ns
from .. import runtime as rt
from .registry import defnondiff, defrule

rt.HELPERS.update(nc.HELPERS)
defnondiff(rt.norm_curvature, rt.norm_axes, nc.norm_third)

# --- containers of cotangents: a list (tuple outputs, sequences), a dict, None -------------
defrule(rt.get_cot, "v, key", ("put_cot(g, v, key)", None), ("get_cot(dv, key)", None))
defrule(nc.put_cot, "v, x, key", ("get_cot(g, key)", None, None), ("put_cot(dv, x, key)", None))
defrule(rt.take_cot, "b, idx, v",
        ("put_cot(g, b, idx) if isinstance(b, (list, dict)) else "  # (a container's adjoint)
         "g if np.ndim(b) == 0 else unindex(broadcast_like(g, b[idx]), b, idx)", None, None),
        ("take_cot(db, idx, v)", None, None))
defrule(rt.pop_cot, "lst_bar, lst", ("put_cot(g, lst_bar, len(lst) - 1)", None),
        ("pop_cot(dlst_bar, lst)", None))
defrule(nm.plus_cot, "v, a, b, which",
        ("([g[k] if k < len(a) else None for k in range(len(a) + len(b))] if which == 0 else "
         "[g[k - len(a)] if k >= len(a) else None for k in range(len(a) + len(b))]) "
         "if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) else "
         "broadcast_like(g, v)", None, None, None),
        ("plus_cot(dv, a, b, which)", None, None, None))
defrule(ns.tuple_cots, "v, ans_",
        ("[None if e is None or c is None else unbroadcast(c, e) for c, e in zip(g, v)] "
         "if isinstance(v, (list, tuple)) else "
         "unbroadcast(builtin_sum([np.sum(c) for c in g if c is not None]), v)", None),
        ("tuple_cots(dv, ans_)", None))
defrule(ns.tuple_cot, "v, ans_, k", ("put_cot(g, tuple_cots(v, ans_), k) "
                                     "if isinstance(v, (list, tuple)) else unbroadcast(g, v)",
                                     None, None),
        ("tuple_cot(dv, ans_, k)", None, None))

# --- cotangents of joins: the pieces of g, joined back -------------------------------------
defrule(rt.unconcatenate, "v, arrays, axis=0",
        ("unbroadcast(np.concatenate(tuple_cots(g, ans), axis), v)", None),
        ("unconcatenate(dv, arrays, axis)", None))
defrule(rt.unstack, "v, arrays, axis=0", ("unbroadcast(np.stack(tuple_cots(g, ans), axis), v)",
                                          None),
        ("unstack(dv, arrays, axis)", None))
defrule(ns.unjoin, "v, arrays, how",
        ("unbroadcast(np.vstack(tuple_cots(g, ans)) if how == 'v' else np.hstack(tuple_cots("
         "g, ans)) if how == 'h' else np.dstack(tuple_cots(g, ans)) if how == 'd' else "
         "np.column_stack(tuple_cots(g, ans)), v)", None, None),
        ("unjoin(dv, arrays, how)", None, None))
defrule(ns.unsplit, "v, ary, indices_or_sections, axis=0",
        ("np.array_split(g, indices_or_sections, axis)", None, None),
        ("unsplit(dv, ary, indices_or_sections, axis)", None, None))
defrule(ns.unselect, "v, condlist, choicelist",
        ("unbroadcast(builtin_sum([broadcast_like(c, v) * np.select(condlist, "
         "[np.full(np.shape(v), float(j == i)) for j in range(len(choicelist))], 0.0) "
         "for i, c in enumerate(g) if c is not None]), v)", None, None),
        ("unselect(dv, condlist, choicelist)", None, None))
defrule(nm.r_unconcat, "v, parts", ("unbroadcast(r_concat(tuple_cots(g, ans)), v)", None),
        ("r_unconcat(dv, parts)", None))
defrule(nm.c_unconcat, "v, parts", ("unbroadcast(c_concat(tuple_cots(g, ans)), v)", None),
        ("c_unconcat(dv, parts)", None))

# --- reductions and products: linear in v, and (prod, norm) smooth in the rest -------------
defrule(rt.trace_vjp, "v, x, offset=0, axis1=0, axis2=1",
        ("np.trace(g, offset, axis1, axis2)", None),
        ("trace_vjp(dv, x, offset, axis1, axis2)", None))
defrule(rt.prod_vjp, "v, ans_, x, axis=None, keepdims=False",
        ("unbroadcast(np.sum(g * prod_vjp(np.ones_like(ans_), ans_, x, axis, keepdims), "
         "axis=axis, keepdims=keepdims), v) if np.ndim(x) else g",
         "unbroadcast(np.sum(g * prod_vjp(v, np.ones_like(ans_), x, axis, keepdims), "
         "axis=axis, keepdims=keepdims), ans_) if np.ndim(x) else 0.0 * ans_",
         "-g * ans / x if np.ndim(x) else 0.0 * x"),
        ("prod_vjp(dv, ans_, x, axis, keepdims)",
         "prod_vjp(v, dans_, x, axis, keepdims) if np.ndim(x) else 0.0 * dans_",
         "-prod_vjp(v, ans_, x, axis, keepdims) * dx / x if np.ndim(x) else 0.0 * dx"),
        shape_like=2)
defrule(rt.norm_vjp, "v, ans_, x, ord=None, axis=None, keepdims=False",
        ("unbroadcast(np.sum(g * norm_vjp(np.ones_like(ans_), ans_, x, ord, axis, keepdims), "
         "axis=axis, keepdims=keepdims), v)",
         "-norm_curvature(x, ord, axis) * np.sum(g * ans, axis=axis, keepdims=keepdims) / ans_",
         "norm_x_cot(v, ans_, x, g, ord, axis, keepdims)"),
        ("norm_vjp(dv, ans_, x, ord, axis, keepdims)",
         "norm_vjp_dans(v, ans_, x, dans_, ord, axis, keepdims)",
         "norm_vjp_dx(v, ans_, x, dx, ord, axis, keepdims)"), shape_like=2)

# --- multilinear: the cotangent of operand i, differentiated in g and the other operands ----
# <G, einsum_vjp(v, s, ops, i)> = <v, einsum(s, ops with ops[i] = G)>: so the reverse rule in
# v is that einsum, and in operand j (j != i) einsum_vjp(v, s, ops with ops[i] = g, j)
defrule(rt.einsum_vjp, "v, subscripts, operands, i",
        {"v": "unbroadcast(einsum_at(g, subscripts, operands, i), v)", "subscripts": None,
         "i": None},
        ("einsum_vjp(dv, subscripts, operands, i)", None,
         "einsum_vjp_dops(v, subscripts, operands, doperands, i)", None),
        seq_vjp={"operands": "[0.0 * o if j == i else einsum_vjp(v, subscripts, "
                             "[g if k == i else p for k, p in enumerate(operands)], j) "
                             "for j, o in enumerate(operands)]"})
defrule(nl.multi_dot_vjp, "v, arrays, i",
        {"v": "np.reshape(np.linalg.multi_dot([g if j == i else a "
              "for j, a in enumerate(arrays)]), np.shape(v))", "i": None},
        ("multi_dot_vjp(dv, arrays, i)", "multi_dot_vjp_dops(v, arrays, darrays, i)", None),
        seq_vjp={"arrays": "[0.0 * a if j == i else multi_dot_vjp(v, [g if k == i else p "
                           "for k, p in enumerate(arrays)], j) for j, a in enumerate(arrays)]"})

# --- np.sinc's derivatives, any order ---------------------------------------------------------
defrule(nr.sinc_d2, "x", deriv="sinc_dn(x, 3)")
defrule(nc.sinc_dn, "x, n", deriv=("sinc_dn(x, n + 1)", None))
# einsum_at(v, s, ops, i): einsum(s, *ops) with ops[i] = v (multilinear, as einsum)
defrule(nc.einsum_at, "v, subscripts, operands, i",
        {"v": "einsum_vjp(g, subscripts, [v if j == i else o for j, o in enumerate(operands)], i)",
         "subscripts": None, "i": None},
        ("einsum_at(dv, subscripts, operands, i)", None,
         "builtin_sum([einsum_at(v, subscripts, [d if k == j else p for k, p in "
         "enumerate(operands)], i) for j, d in enumerate(doperands) if j != i and d is not None])",
         None),
        seq_vjp={"operands": "[0.0 * o if j == i else einsum_vjp(g, subscripts, [v if k == i "
                             "else p for k, p in enumerate(operands)], j) "
                             "for j, o in enumerate(operands)]"})
defrule(nc.norm_x_cot, "v, ans_, x, g_, ord=None, axis=None, keepdims=False",
        ("unbroadcast(np.sum(g * norm_x_cot(np.ones_like(ans_), ans_, x, g_, ord, axis, "
         "keepdims), axis=axis, keepdims=keepdims), v)",
         "-norm_curvature(x, ord, axis) * np.sum(g * ans, axis=axis, keepdims=keepdims) / ans_",
         "norm_third(x, ord, axis) * x",
         "norm_x_cot(v, ans_, x, g, ord, axis, keepdims)"),
        ("norm_x_cot(dv, ans_, x, g_, ord, axis, keepdims)",
         "-norm_curvature(x, ord, axis) * norm_x_cot(v * dans_ / ans_, ans_, x, g_, ord, axis, "
         "keepdims)",
         "norm_third(x, ord, axis) * dx",
         "norm_x_cot(v, ans_, x, dg_, ord, axis, keepdims)"))

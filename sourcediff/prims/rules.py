"""The rule table: every primitive's derivative and facts, written once.

Read a line as: ``defrule(functions, "parameters", vjp=(one reverse template
per parameter), jvp=(one forward term per parameter))``, or ``deriv=`` (each
parameter's local derivative: both templates) or ``linear=True`` (the forward
template is the function applied to the tangent); the other keywords are the
call's facts (:mod:`sourcediff.prims.facts`: ``shaped``, ``view``, ``expensive``...).
See :mod:`sourcediff.prims.registry` for the template vocabulary. The compiler inlines
these templates into generated code; the tape compiles them to callables.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from ..runtime import numeric as nm
from ..runtime import splitcall
from .. import runtime as rt
from . import facts
from .registry import defchanging, deffacts, defhelper, defmethod, defnondiff, defrule

# --- arithmetic: operators, their NumPy ufuncs --------------------------------
defrule((operator.add, np.add), "x, y", ("g", "g"), ("dx", "dy"), broadcast=True)
defrule((operator.sub, np.subtract), "x, y", ("g", "-g"), ("dx", "-dy"), broadcast=True)
defrule((operator.mul, np.multiply), "x, y", ("g * y", "x * g"), ("dx * y", "x * dy"),
        broadcast=True)
defrule((operator.truediv, np.divide), "x, y", deriv=("1 / y", "-ans / y"), broadcast=True)
# (x = 0 read as 1 in d/dy, where ans is 0: no log(0) for a second derivative to multiply)
defrule((operator.pow, np.power, math.pow), "x, y",
        deriv=("y * x ** (y - 1 + (y == 0))", "xlogy(ans, np.where(x == 0, 1.0, x))"),
        broadcast=True)
defrule(nm.xlogy, "a, x", ("xlogy(g, x)", "g * a / x"), ("xlogy(da, x)", "dx * a / x"),
        broadcast=True)
defrule((operator.neg, np.negative), "x", ("-g",), ("-dx",))
defrule((operator.pos, np.positive), "x", ("g",), ("dx",))
# x % y is x - floor(x / y) * y (sign of y); math.fmod truncates instead (sign of x)
defrule((operator.mod, np.mod, np.remainder), "x, y", ("g", "-g * np.floor(x / y)"),
        ("dx", "-dy * np.floor(x / y)"), broadcast=True)
defrule((math.fmod, np.fmod), "x, y", ("g", "-g * np.trunc(x / y)"),
        ("dx", "-dy * np.trunc(x / y)"), broadcast=True)
defrule(operator.matmul, "a, b", ("matmul_vjp_a(g, a, b)", "matmul_vjp_b(g, a, b)"),
        ("dx @ b".replace("dx", "da"), "a @ db"))


def _matrix_product_shape(a, b):
    """(n, k) @ (k, m) is (n, m) (None if the k differ); other ranks are evaluated."""
    if len(a) == 2 and len(b) == 2:
        return (a[0], b[1]) if a[1] == b[0] else None
    return NotImplemented


defrule(np.matmul, "a, b", ("matmul_vjp_a(g, a, b)", "matmul_vjp_b(g, a, b)"),
        ("np.matmul(da, b)", "np.matmul(a, db)"), shaped=True, fresh=True, expensive=True,
        common_kind=0, shape_rule=_matrix_product_shape)

# --- elementwise functions ------------------------------------------------------
defrule((np.reciprocal,), "x", deriv="-ans * ans")
defrule(np.square, "x", deriv="2 * x")
defrule((np.sqrt, math.sqrt), "x", deriv="0.5 / ans")
defrule(np.cbrt, "x", deriv="1 / (3 * ans * ans)")
defrule((np.exp, math.exp), "x", deriv="ans")
defrule(np.exp2, "x", deriv="ans * 0.6931471805599453")
defrule((np.expm1, math.expm1), "x", deriv="ans + 1")
defrule(np.log, "x", deriv="1 / x")
defrule((np.log2, math.log2), "x", deriv="1 / (x * 0.6931471805599453)")
defrule((np.log10, math.log10), "x", deriv="1 / (x * 2.302585092994046)")
defrule((np.log1p, math.log1p), "x", deriv="1 / (1 + x)")
defrule(math.log, "x, base=2.718281828459045",
        deriv=("1 / (x * math.log(base))", "-ans / (base * math.log(base))"))
defrule(np.sin, "x", deriv="np.cos(x)")
defrule(np.cos, "x", deriv="-np.sin(x)")
defrule(np.tan, "x", deriv="1 + ans * ans")
defrule(math.sin, "x", deriv="math.cos(x)")
defrule(math.cos, "x", deriv="-math.sin(x)")
defrule(math.tan, "x", deriv="1 + ans * ans")
defrule(np.arcsin, "x", deriv="1 / np.sqrt(1 - x * x)")
defrule(np.arccos, "x", deriv="-1 / np.sqrt(1 - x * x)")
defrule(math.asin, "x", deriv="1 / math.sqrt(1 - x * x)")
defrule(math.acos, "x", deriv="-1 / math.sqrt(1 - x * x)")
defrule((np.arctan, math.atan), "x", deriv="1 / (1 + x * x)")
defrule((np.arctan2, math.atan2), "y, x", deriv=("x / (x * x + y * y)", "-y / (x * x + y * y)"),
        broadcast=True)
defrule(np.sinh, "x", deriv="np.cosh(x)")
defrule(np.cosh, "x", deriv="np.sinh(x)")
defrule(math.sinh, "x", deriv="math.cosh(x)")
defrule(math.cosh, "x", deriv="math.sinh(x)")
defrule((np.tanh, math.tanh), "x", deriv="1 - ans * ans")
defrule(np.arcsinh, "x", deriv="1 / np.sqrt(x * x + 1)")
defrule(np.arccosh, "x", deriv="1 / np.sqrt(x * x - 1)")
defrule(np.arctanh, "x", deriv="1 / (1 - x * x)")
defrule(math.erf, "x", deriv="1.1283791670955126 * math.exp(-x * x)")
# np.abs, np.real, np.imag, np.conj, np.angle: in rules_complex (not holomorphic)
defrule(np.maximum, "x, y", deriv=("x >= y", "x < y"), broadcast=True)
defrule(np.minimum, "x, y", deriv=("x <= y", "x > y"), broadcast=True)
# max(a, b) / min(a, b) of two numbers (the builtins over a sequence are not covered)
defrule(builtins.max, "x, y", deriv=("x >= y", "x < y"), broadcast=True)
defrule(builtins.min, "x, y", deriv=("x <= y", "x > y"), broadcast=True)
defrule(np.fmax, "x, y", deriv=("x >= y", "x < y"), broadcast=True)
defrule(np.fmin, "x, y", deriv=("x <= y", "x > y"), broadcast=True)
defrule(np.hypot, "x, y", deriv=("x / ans", "y / ans"), broadcast=True)
defrule(math.hypot, "x, y", deriv=("x / ans", "y / ans"))
defrule(np.logaddexp, "x, y", deriv=("np.exp(x - ans)", "np.exp(y - ans)"), broadcast=True)
defrule(np.where, "condition, x, y", (None, "np.where(condition, g, 0.0)",
                                      "np.where(condition, 0.0, g)"),
        (None, "np.where(condition, dx, 0.0)", "np.where(condition, 0.0, dy)"), broadcast=True,
        shaped=True)
defrule(np.clip, "a, a_min, a_max", deriv=("clip_mask(a, a_min, a_max)", "a < a_min", "a > a_max"),
        broadcast=True, shaped=True)
# (with a dtype the compiler cannot tell is a float one, the front calls int_cast or cast)
defrule((np.asarray, np.array), "a, dtype=None", ("g",), ("np.asarray(da)",), shaped=True)
# a cast to an integer or boolean dtype is piecewise constant: cast_cot gives zero
defrule(nm.cast, "x, dtype, share=False", ("cast_cot(g, dtype)", None, None),
        ("cast_cot(dx, dtype)", None, None), shaped=True)
defrule(rt.cast_cot, "v, dtype", ("cast_cot(g, dtype)", None), ("cast_cot(dv, dtype)", None))
deffacts(np.asarray, view=True)  # (may return its argument itself)
deffacts(np.array, fresh=True)
defrule(np.copy, "a", ("g",), ("da",), shaped=True, same_kind=True, fresh=True)
defrule(np.ascontiguousarray, "a", ("g",), ("da",))
defrule(builtins.float, "x", ("g",), ("dx",))
# tuple(seq): of a tuple or list, the same values; of an array, its rows
defrule(builtins.tuple, "iterable", ("g if isinstance(iterable, (list, tuple)) else "
                                     "np.stack(tuple_cots(g, ans))",), ("tuple(diterable)",))
defrule(builtins.list, "iterable", ("g if isinstance(iterable, (list, tuple)) else "
                                    "np.stack(tuple_cots(g, ans))",), ("list(diterable)",),
        fresh=True)  # (a new list: args = list(args); args[0] = ... changes only it)
defrule(nm.item_of, "a", ("reshape_like(g, a)",), ("item_of(da)",))

# --- reductions -------------------------------------------------------------------
defrule(np.sum, "a, axis=None, keepdims=False", ("unreduce(g, a, axis, keepdims)",),
        ("np.sum(da, axis=axis, keepdims=keepdims)",), shaped=True, same_kind=True)
defrule(np.mean, "a, axis=None, keepdims=False",
        ("unreduce(g, a, axis, keepdims) / reduced_count(a, ans)",),
        ("np.mean(da, axis=axis, keepdims=keepdims)",), shaped=True, same_kind=True)
defrule(np.prod, "a, axis=None, keepdims=False", ("prod_vjp(g, ans, a, axis, keepdims)",),
        ("np.sum(da * prod_vjp(np.ones_like(ans), ans, a, axis, keepdims), axis=axis, "
         "keepdims=keepdims)",), shaped=True)
defrule((np.max, np.amax), "a, axis=None, keepdims=False",
        ("unreduce_select(g, ans, a, axis, keepdims)",),
        ("np.sum(unreduce_select(np.ones_like(ans), ans, a, axis, keepdims) * da, axis=axis, "
         "keepdims=keepdims)",), shaped=True, same_kind=True)
defrule((np.min, np.amin), "a, axis=None, keepdims=False",
        ("unreduce_select(g, ans, a, axis, keepdims)",),
        ("np.sum(unreduce_select(np.ones_like(ans), ans, a, axis, keepdims) * da, axis=axis, "
         "keepdims=keepdims)",), shaped=True, same_kind=True)
defrule((builtins.sum, nm.builtin_sum), "a, start=0", ("builtin_sum_vjp(g, a)", "unbroadcast(g, start)"),
        ("builtin_sum(da)", "broadcast_like(dstart, ans)"))
defrule(nm.builtin_sum_vjp, "v, a", ("builtin_sum(g)", None), ("builtin_sum_vjp(dv, a)", None))
defrule(np.linalg.norm, "x, ord=None, axis=None, keepdims=False",
        ("norm_vjp(g, ans, x, ord, axis, keepdims)",),
        ("np.real(np.sum(norm_vjp(np.ones_like(ans), ans, x, ord, axis, keepdims) * dx, "
         "axis=axis, keepdims=keepdims))",), shaped=True)

# --- linear algebra and shape -------------------------------------------------------
defrule(np.dot, "a, b", ("dot_vjp_a(g, a, b)", "dot_vjp_b(g, a, b)"),
        ("np.dot(da, b)", "np.dot(a, db)"), shaped=True, fresh=True, expensive=True,
        common_kind=0, shape_rule=_matrix_product_shape)
defrule(np.outer, "a, b", ("np.reshape(np.dot(g, np.ravel(b)), np.shape(a))",
                           "np.reshape(np.dot(np.ravel(a), g), np.shape(b))"),
        ("np.outer(da, b)", "np.outer(a, db)"), shaped=True, fresh=True, expensive=True)
defrule(np.inner, "a, b", ("dot_vjp_a(g, a, np.swapaxes(np.atleast_2d(b), -1, -2)) if np.ndim(b) > 1 else g * b",
                           "g * a"), ("np.inner(da, b)", "np.inner(a, db)"))
defrule(np.trace, "a, offset=0, axis1=0, axis2=1", ("trace_vjp(g, a, offset, axis1, axis2)",),
        linear=True, shaped=True)
defrule(np.transpose, "a, axes=None", ("untranspose(g, axes)",), linear=True, shaped=True,
        same_kind=True, view=True)
defrule(np.swapaxes, "a, axis1, axis2", ("np.swapaxes(g, axis1, axis2)", None, None), linear=True,
        shaped=True, view=True)
defrule(np.moveaxis, "a, source, destination", ("np.moveaxis(g, destination, source)", None, None),
        linear=True, shaped=True, view=True)
defrule(np.reshape, "a, shape", ("reshape_like(g, a)", None), linear=True, shaped=True,
        same_kind=True, view=True)
defrule(np.ravel, "a", ("reshape_like(g, a)",), linear=True, shaped=True, same_kind=True, view=True)
defrule(np.squeeze, "a, axis=None", ("reshape_like(g, a)",), linear=True, shaped=True,
        same_kind=True, view=True)
defrule(np.expand_dims, "a, axis", ("reshape_like(g, a)", None), linear=True, shaped=True,
        same_kind=True, view=True)
defrule(np.atleast_1d, "a", ("reshape_like(g, a)",), linear=True, shaped=True, view=True)
defrule(np.atleast_2d, "a", ("reshape_like(g, a)",), linear=True, shaped=True, view=True)
defrule(np.atleast_3d, "a", ("reshape_like(g, a)",), linear=True, view=True, shaped=True)
defrule(np.linalg.det, "a",
        ("np.expand_dims(g * ans, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)",),
        ("ans * np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)",), expensive=True,
        shaped=True, shape_rule=facts.one_per_matrix)
defrule(np.linalg.inv, "a", ("-np.swapaxes(ans, -1, -2) @ g @ np.swapaxes(ans, -1, -2)",),
        ("-(ans @ da @ ans)",), expensive=True, shaped=True, shape_rule=facts.same_shape)
defrule(np.broadcast_to, "a, shape", ("unbroadcast(g, a)", None), linear=True, shaped=True,
        same_kind=True, view=True)
defnondiff(nm.einsum_subscripts)  # (sublists: integers)
defnondiff(nm.index_of_max, nm.index_of_min)  # max(a), min(a): a[index_of_max(a)]
# a slice of np.r_[...]: its values move with start and step (an arange), with start and
# stop (a linspace); the count is piecewise constant
_W = "r_range_weights(step, ans)"
defrule(nm.r_range, "start, stop, step",
        [f"np.sum(g * {_W}[{i}])" for i in range(3)], [f"d{p} * {_W}[{i}]" for i, p in
                                                       enumerate(("start", "stop", "step"))])
defnondiff(nm.r_range_weights)
defrule(np.concatenate, "arrays, axis=0", (None,), (None,),
        seq_vjp={"arrays": "unconcatenate(g, arrays, axis)"}, shaped=True, fresh=True)
defrule(nm.r_concat, "parts", (None,), (None,), seq_vjp={"parts": "r_unconcat(g, parts)"})
defrule(nm.c_concat, "parts", (None,), (None,), seq_vjp={"parts": "c_unconcat(g, parts)"})
defrule(np.stack, "arrays, axis=0", (None,), (None,), seq_vjp={"arrays": "unstack(g, arrays, axis)"},
        shaped=True, fresh=True)
defrule(np.einsum, "subscripts, *operands", (), (),
        seq_vjp={"operands": "[einsum_vjp(g, subscripts, operands, i) for i in range(len(operands))]"},
        shaped=True, expensive=True, common_kind=1)
defrule(np.cumsum, "a, axis=None",
        ("reshape_like(np.flip(np.cumsum(np.flip(np.ravel(g) if axis is None else g, axis), axis), axis), a)",),
        linear=True, shaped=True, same_kind=True, expensive=True)
defrule(np.flip, "m, axis=None", ("np.flip(g, axis)",), linear=True, view=True, shaped=True)
defrule(np.take, "a, indices, axis=None",
        ("reshape_like(unindex(g, np.ravel(a), indices), a) if axis is None else "
         "unindex(g, a, (slice(None),) * (axis % np.ndim(a)) + (indices,))", None),
        linear=True, shaped=True)

# --- indexing: x[idx] -----------------------------------------------------------------
defrule(operator.getitem, "x, idx", ("unindex(g, x, idx)", None), ("dx[idx]", None))

# --- the helpers generated code calls (so adjoints are differentiable again) ------------
defrule(rt.unbroadcast, "v, x", ("broadcast_like(g, v)", None), ("unbroadcast(dv, x)", None),
        shape_like=1, same_kind=True)
defrule(rt.unbroadcast_to, "v, shape", ("broadcast_like(g, v)", None), ("unbroadcast_to(dv, shape)",))
defrule(rt.broadcast_like, "t, ans_", ("unbroadcast(g, t)", None), ("broadcast_like(dt, ans_)",),
        shape_like=1, same_kind=True)
defrule(rt.unreduce, "v, x, axis=None, keepdims=False",
        ("np.sum(g, axis=axis, keepdims=keepdims) if np.ndim(x) else g", None),
        ("unreduce(dv, x, axis, keepdims)",), shape_like=1, same_kind=True)
defrule(rt.reshape_like, "v, x", ("reshape_like(g, v)", None), ("reshape_like(dv, x)",),
        shape_like=1, same_kind=True)
defrule(rt.real_if, "v, x", ("g", None), ("real_if(dv, x)", None))
defrule(rt.real_cot, "v, x", ("unbroadcast(g, v)", None), ("real_cot(dv, x)", None),
        shape_like=1, same_kind=True)
defrule(rt.untranspose, "v, axes=None", ("np.transpose(g, axes)",), ("untranspose(dv, axes)",))
defrule(rt.unindex, "v, x, idx", ("g[idx]", None, None), ("unindex(dv, x, idx)",), shape_like=1)
defrule(rt.matmul_vjp_a, "v, a, b", ("np.matmul(g, b)", None, "matmul_vjp_b(v, g, b)"),
        ("matmul_vjp_a(dv, a, b)", None, "matmul_vjp_a(v, a, db)"), shape_like=1)
defrule(rt.matmul_vjp_b, "v, a, b", ("np.matmul(a, g)", "matmul_vjp_a(v, a, g)", None),
        ("matmul_vjp_b(dv, a, b)", "matmul_vjp_b(v, da, b)", None), shape_like=2)
defrule(rt.dot_vjp_a, "v, a, b", ("np.dot(g, b)", None, "dot_vjp_b(v, g, b)"),
        ("dot_vjp_a(dv, a, b)", None, "dot_vjp_a(v, a, db)"), shape_like=1)
defrule(rt.dot_vjp_b, "v, a, b", ("np.dot(a, g)", "dot_vjp_a(v, a, g)", None),
        ("dot_vjp_b(dv, a, b)", "dot_vjp_b(v, da, b)", None), shape_like=2)

defrule(rt.cut_index, "v, idx", ("cut_index(g, idx)", None), ("cut_index(dv, idx)", None))
defrule(rt.copy_of, "v", ("g",), ("dv",), fresh=True, same_kind=True, shape_like=0)
defrule(rt.unreduce_select, "v, ans_, x, axis=None, keepdims=False",
        ("np.sum(g * unreduce_select(np.ones_like(ans_), ans_, x, axis, keepdims), axis=axis, "
         "keepdims=keepdims)", None, None),
        ("unreduce_select(dv, ans_, x, axis, keepdims)", None, None), shape_like=2, same_kind=True)

# --- functions whose results carry no gradient -------------------------------------------
defnondiff(np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.argmax, np.argmin,
           np.shape, np.ndim, np.size, builtins.len, np.all, np.any, np.nonzero,
           np.floor_divide, builtins.int, builtins.round, builtins.range,
           builtins.bool, builtins.isinstance, math.floor, math.ceil, operator.floordiv,
           operator.lt, operator.le, operator.gt, operator.ge, operator.eq,
           operator.ne, operator.not_, rt.reduced_count, rt.clip_mask, np.random.randn,
           np.random.rand, rt.keys_of)
defnondiff(np.argsort, expensive=True, shaped=True)
# casts to integer and boolean types: np.int64(x), as int(x); x.astype(int) (nm.int_cast)
defnondiff(np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
           np.bool_)
defnondiff(nm.int_cast, shaped=True, fresh=True)
defnondiff(np.zeros_like, np.ones_like, shaped=True, fresh=True, like=True)
defnondiff(np.empty_like, like=True, fresh=True, shaped=True)
defnondiff(np.zeros, np.ones, np.empty, shape_arg=True, fresh=True)
defnondiff(np.eye, np.identity, fresh=True, shaped=True)
# (their output's shape follows from their inputs' shapes: what shape inference may run
# on zeros; never np.nonzero, np.argwhere ... whose shape is the data's, nor np.random)
deffacts(np.round, np.around, np.argmax, np.argmin, np.all, np.any, np.allclose, np.isclose,
         np.array_equal, np.count_nonzero, np.searchsorted, np.argpartition, shaped=True)
defnondiff(np.isnan, np.isinf, np.isfinite, np.equal, np.not_equal, np.less, np.less_equal,
           np.greater, np.greater_equal, np.logical_and, np.logical_or, np.logical_not,
           boolean=True)
defnondiff(rt.zeros_for, shape_like=0, fresh=True, same_kind=True)  # a new zero adjoint buffer
defnondiff(rt.zeros_like_grad, rt.zeros_tangent, shape_like=0)
defnondiff(np.allclose, np.isclose, np.array_equal, np.result_type, np.iscomplexobj,
           np.isrealobj, np.count_nonzero, np.argwhere, np.flatnonzero)
defnondiff(operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift,
           operator.invert, np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert)
defnondiff(math.isnan, math.isinf, math.isfinite, math.isclose, math.trunc)

# --- array methods: x.name(...) means np.name(x, ...) ----------------------------------------
for _name in ("sum", "mean", "prod", "max", "min", "dot", "reshape", "ravel", "squeeze",
              "transpose", "swapaxes", "trace", "clip", "cumsum", "copy", "argmax", "argmin"):
    defmethod(_name, getattr(np, _name))
defmethod("flatten", np.ravel)
defmethod("item", nm.item_of)
# methods that change their object in place (the fence reads a discarded call's effects)
defchanging("sort", "fill", "resize", "put", "partition", "itemset", "setflags", "byteswap",
            "setfield", "append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault",
            "popitem", "__setitem__", "__iadd__")

# --- facts of functions without a rule, and of families -----------------------------------------
# unary ufuncs with a float64 result for a float64 argument (they can write into out=)
deffacts(np.tanh, np.exp, np.log, np.sin, np.cos, np.tan, np.sqrt, np.sinh, np.cosh, np.arctan,
         np.arcsin, np.arccos, np.arctanh, np.arcsinh, np.log1p, np.expm1, np.log2, np.log10,
         np.exp2, np.square, np.abs, np.negative, np.cbrt, np.fabs, float_ufunc=True)
deffacts(np.logical_xor, np.signbit, boolean=True)
deffacts(np.convolve, np.correlate, expensive=True)
# functions that write into an argument (np.add.at is ufunc.at)
deffacts(np.copyto, np.put, np.place, np.putmask, np.fill_diagonal, np.random.shuffle, np.ufunc.at,
         np.put_along_axis, builtins.setattr, writes=True)
deffacts(slice, range, reversed, len, tuple, list, pure=True)
# ufunc.reduce spelled as the reduction the table knows (the tape records np.add.reduce as np.sum)
deffacts(np.add, reduce_as=np.sum)
deffacts(np.multiply, reduce_as=np.prod)
deffacts(np.maximum, reduce_as=np.max)
deffacts(np.minimum, reduce_as=np.min)

rt.HELPERS.update(nm.HELPERS)  # generated code calls them by name, like runtime's
rt.HELPERS.update(splitcall.HELPERS)
# helpers without a rule: scatter_into's result has its buffer's shape; these have effects
defhelper("scatter_into", shape_like=1)
defhelper("scatter_add", "pop_cot", "split_call", "split_method", "pullback_of", "jvp_pair",
          pure=False)
# how the tape runs these in generated code (reverse over reverse): as written, they only move
# Python containers and add; forward-mode and run-once plumbing is refused on traced values
defhelper("add_cot", "nonzero_or_none", "Stack", "like", "attr_cot", tape="as written")
deffacts(rt.keys_of, splitcall.held, tape="as written")
defhelper("split_call", "split_method", "pullback_of", tape="refused")

# --- calls into generated code (higher order, see forward.Tangents.generated_call) -------------
# ``vjp_call``, ``vjp_method``, ``jvp_call`` and ``jvp_method`` get their tangent from
# forward mode over the generated function they run (not a template: one forward pass for
# all arguments). The helpers that build that function carry no gradient; filled_tangent
# is linear in its first argument.
defnondiff(rt.adjoint_fn, rt.method_adjoint_fn, rt.tangent_fn, rt.method_tangent_fn,
           splitcall.pair_fn, splitcall.split_res_fn, splitcall.pullback_res_fn,
           splitcall.held)
defrule(rt.filled_tangent, "t, a", ("g", None), ("filled_tangent(dt, a)", None))

# the rules of the cotangent helpers (unconcatenate, einsum_vjp, prod_vjp...): rules_cot.py
# np.inner: its cotangents for any number of leading axes (the templates above it were right
# for 1-D b only), each bilinear, so differentiable again
defrule(np.inner, "a, b", ("inner_vjp_a(g, a, b)", "inner_vjp_b(g, a, b)"),
        ("np.inner(da, b)", "np.inner(a, db)"), shaped=True, expensive=True)
defrule(rt.inner_vjp_a, "v, a, b", ("np.inner(g, b)", None, "inner_vjp_b(v, g, b)"),
        ("inner_vjp_a(dv, a, b)", None, "inner_vjp_a(v, a, db)"))
defrule(rt.inner_vjp_b, "v, a, b", ("np.inner(a, g)",
                                    "inner_vjp_a(v, a, g)", None),
        ("inner_vjp_b(dv, a, b)", "inner_vjp_b(v, da, b)", None))

# --- breadth (issue #18): more of NumPy, and SciPy when it is installed ----------------------
from . import rules_shape, rules_reduce, rules_linalg, rules_fill  # noqa: E402,F401
from . import rules_complex, rules_fft  # noqa: E402,F401
from ..runtime import numeric_shape, numeric_linalg, numeric_reduce, numeric_fill  # noqa: E402
rt.HELPERS.update(numeric_shape.HELPERS)
rt.HELPERS.update(numeric_reduce.HELPERS)
rt.HELPERS.update(numeric_linalg.HELPERS)
rt.HELPERS.update(numeric_fill.HELPERS)
from . import rules_cot  # noqa: E402,F401  (the cotangent helpers' rules, both modes)
from . import rules_via  # noqa: E402,F401  (functions differentiated through a definition)
try:
    import scipy.special  # noqa: F401
except ImportError:  # SciPy stays optional
    pass
else:
    from . import rules_scipy  # noqa: E402,F401

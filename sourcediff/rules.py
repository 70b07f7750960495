"""The rule table: every primitive's derivative, written once.

Read a line as: ``defrule(functions, "parameters", vjp=(one reverse template
per parameter), jvp=(one forward term per parameter))``. See
:mod:`sourcediff.registry` for the template vocabulary. The compiler inlines
these templates into generated code; the tape compiles them to callables.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from . import numeric as nm
from . import splitcall
from . import runtime as rt
from .registry import defmethod, defnondiff, defrule

# --- arithmetic: operators, their NumPy ufuncs --------------------------------
defrule((operator.add, np.add), "x, y", ("g", "g"), ("dx", "dy"), broadcast=True)
defrule((operator.sub, np.subtract), "x, y", ("g", "-g"), ("dx", "-dy"), broadcast=True)
defrule((operator.mul, np.multiply), "x, y", ("g * y", "x * g"), ("dx * y", "x * dy"),
        broadcast=True)
defrule((operator.truediv, np.divide), "x, y", ("g / y", "-g * ans / y"),
        ("dx / y", "-dy * ans / y"), broadcast=True)
# (x = 0 read as 1 in d/dy, where ans is 0: no log(0) for a second derivative to multiply)
defrule((operator.pow, np.power, math.pow), "x, y",
        ("g * y * x ** (y - 1 + (y == 0))", "g * xlogy(ans, np.where(x == 0, 1.0, x))"),
        ("dx * y * x ** (y - 1 + (y == 0))", "dy * xlogy(ans, np.where(x == 0, 1.0, x))"),
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
defrule(np.matmul, "a, b", ("matmul_vjp_a(g, a, b)", "matmul_vjp_b(g, a, b)"),
        ("np.matmul(da, b)", "np.matmul(a, db)"))

# --- elementwise functions ------------------------------------------------------
defrule((np.reciprocal,), "x", ("-g * ans * ans",), ("-dx * ans * ans",))
defrule(np.square, "x", ("g * 2 * x",), ("dx * 2 * x",))
defrule((np.sqrt, math.sqrt), "x", ("g * 0.5 / ans",), ("dx * 0.5 / ans",))
defrule(np.cbrt, "x", ("g / (3 * ans * ans)",), ("dx / (3 * ans * ans)",))
defrule((np.exp, math.exp), "x", ("g * ans",), ("dx * ans",))
defrule(np.exp2, "x", ("g * ans * 0.6931471805599453",), ("dx * ans * 0.6931471805599453",))
defrule((np.expm1, math.expm1), "x", ("g * (ans + 1)",), ("dx * (ans + 1)",))
defrule(np.log, "x", ("g / x",), ("dx / x",))
defrule((np.log2, math.log2), "x", ("g / (x * 0.6931471805599453)",),
        ("dx / (x * 0.6931471805599453)",))
defrule((np.log10, math.log10), "x", ("g / (x * 2.302585092994046)",),
        ("dx / (x * 2.302585092994046)",))
defrule((np.log1p, math.log1p), "x", ("g / (1 + x)",), ("dx / (1 + x)",))
defrule(math.log, "x, base=2.718281828459045",
        ("g / (x * math.log(base))", "-g * ans / (base * math.log(base))"),
        ("dx / (x * math.log(base))", "-dbase * ans / (base * math.log(base))"))
defrule(np.sin, "x", ("g * np.cos(x)",), ("dx * np.cos(x)",))
defrule(np.cos, "x", ("-g * np.sin(x)",), ("-dx * np.sin(x)",))
defrule(np.tan, "x", ("g * (1 + ans * ans)",), ("dx * (1 + ans * ans)",))
defrule(math.sin, "x", ("g * math.cos(x)",), ("dx * math.cos(x)",))
defrule(math.cos, "x", ("-g * math.sin(x)",), ("-dx * math.sin(x)",))
defrule(math.tan, "x", ("g * (1 + ans * ans)",), ("dx * (1 + ans * ans)",))
defrule(np.arcsin, "x", ("g / np.sqrt(1 - x * x)",), ("dx / np.sqrt(1 - x * x)",))
defrule(np.arccos, "x", ("-g / np.sqrt(1 - x * x)",), ("-dx / np.sqrt(1 - x * x)",))
defrule(math.asin, "x", ("g / math.sqrt(1 - x * x)",), ("dx / math.sqrt(1 - x * x)",))
defrule(math.acos, "x", ("-g / math.sqrt(1 - x * x)",), ("-dx / math.sqrt(1 - x * x)",))
defrule((np.arctan, math.atan), "x", ("g / (1 + x * x)",), ("dx / (1 + x * x)",))
defrule((np.arctan2, math.atan2), "y, x", ("g * x / (x * x + y * y)", "-g * y / (x * x + y * y)"),
        ("dy * x / (x * x + y * y)", "-dx * y / (x * x + y * y)"), broadcast=True)
defrule(np.sinh, "x", ("g * np.cosh(x)",), ("dx * np.cosh(x)",))
defrule(np.cosh, "x", ("g * np.sinh(x)",), ("dx * np.sinh(x)",))
defrule(math.sinh, "x", ("g * math.cosh(x)",), ("dx * math.cosh(x)",))
defrule(math.cosh, "x", ("g * math.sinh(x)",), ("dx * math.sinh(x)",))
defrule((np.tanh, math.tanh), "x", ("g * (1 - ans * ans)",), ("dx * (1 - ans * ans)",))
defrule(np.arcsinh, "x", ("g / np.sqrt(x * x + 1)",), ("dx / np.sqrt(x * x + 1)",))
defrule(np.arccosh, "x", ("g / np.sqrt(x * x - 1)",), ("dx / np.sqrt(x * x - 1)",))
defrule(np.arctanh, "x", ("g / (1 - x * x)",), ("dx / (1 - x * x)",))
defrule(math.erf, "x", ("g * 1.1283791670955126 * math.exp(-x * x)",),
        ("dx * 1.1283791670955126 * math.exp(-x * x)",))
# np.abs, np.real, np.imag, np.conj, np.angle: in rules_complex (not holomorphic)
defrule(np.maximum, "x, y", ("g * (x >= y)", "g * (x < y)"),
        ("dx * (x >= y)", "dy * (x < y)"), broadcast=True)
defrule(np.minimum, "x, y", ("g * (x <= y)", "g * (x > y)"),
        ("dx * (x <= y)", "dy * (x > y)"), broadcast=True)
# max(a, b) / min(a, b) of two numbers (the builtins over a sequence are not covered)
defrule(builtins.max, "x, y", ("g * (x >= y)", "g * (x < y)"),
        ("dx * (x >= y)", "dy * (x < y)"), broadcast=True)
defrule(builtins.min, "x, y", ("g * (x <= y)", "g * (x > y)"),
        ("dx * (x <= y)", "dy * (x > y)"), broadcast=True)
defrule(np.fmax, "x, y", ("g * (x >= y)", "g * (x < y)"),
        ("dx * (x >= y)", "dy * (x < y)"), broadcast=True)
defrule(np.fmin, "x, y", ("g * (x <= y)", "g * (x > y)"),
        ("dx * (x <= y)", "dy * (x > y)"), broadcast=True)
defrule(np.hypot, "x, y", ("g * x / ans", "g * y / ans"), ("dx * x / ans", "dy * y / ans"),
        broadcast=True)
defrule(math.hypot, "x, y", ("g * x / ans", "g * y / ans"), ("dx * x / ans", "dy * y / ans"))
defrule(np.logaddexp, "x, y", ("g * np.exp(x - ans)", "g * np.exp(y - ans)"),
        ("dx * np.exp(x - ans)", "dy * np.exp(y - ans)"), broadcast=True)
defrule(np.where, "condition, x, y", (None, "np.where(condition, g, 0.0)",
                                      "np.where(condition, 0.0, g)"),
        (None, "np.where(condition, dx, 0.0)", "np.where(condition, 0.0, dy)"), broadcast=True)
defrule(np.clip, "a, a_min, a_max",
        ("g * clip_mask(a, a_min, a_max)", "g * (a < a_min)", "g * (a > a_max)"),
        ("da * clip_mask(a, a_min, a_max)", "da_min * (a < a_min)", "da_max * (a > a_max)"),
        broadcast=True)
defrule((np.asarray, np.array), "a, dtype=None", ("g",), ("np.asarray(da)",))
defrule((np.copy, np.ascontiguousarray), "a", ("g",), ("da",))
defrule(builtins.float, "x", ("g",), ("dx",))
# tuple(seq): of a tuple or list, the same values; of an array, its rows
defrule(builtins.tuple, "iterable", ("g if isinstance(iterable, (list, tuple)) else "
                                     "np.stack(tuple_cots(g, ans))",), ("tuple(diterable)",))
defrule(nm.item_of, "a", ("reshape_like(g, a)",), ("item_of(da)",))

# --- reductions -------------------------------------------------------------------
defrule(np.sum, "a, axis=None, keepdims=False", ("unreduce(g, a, axis, keepdims)",),
        ("np.sum(da, axis=axis, keepdims=keepdims)",))
defrule(np.mean, "a, axis=None, keepdims=False",
        ("unreduce(g, a, axis, keepdims) / reduced_count(a, ans)",),
        ("np.mean(da, axis=axis, keepdims=keepdims)",))
defrule(np.prod, "a, axis=None, keepdims=False", ("prod_vjp(g, ans, a, axis, keepdims)",),
        ("np.sum(da * prod_vjp(np.ones_like(ans), ans, a, axis, keepdims), axis=axis, "
         "keepdims=keepdims)",))
defrule((np.max, np.amax), "a, axis=None, keepdims=False",
        ("unreduce_select(g, ans, a, axis, keepdims)",),
        ("np.sum(unreduce_select(np.ones_like(ans), ans, a, axis, keepdims) * da, axis=axis, "
         "keepdims=keepdims)",))
defrule((np.min, np.amin), "a, axis=None, keepdims=False",
        ("unreduce_select(g, ans, a, axis, keepdims)",),
        ("np.sum(unreduce_select(np.ones_like(ans), ans, a, axis, keepdims) * da, axis=axis, "
         "keepdims=keepdims)",))
defrule((builtins.sum, nm.builtin_sum), "a, start=0", ("builtin_sum_vjp(g, a)", "unbroadcast(g, start)"),
        ("builtin_sum(da)", "broadcast_like(dstart, ans)"))
defrule(nm.builtin_sum_vjp, "v, a", ("builtin_sum(g)", None), ("builtin_sum_vjp(dv, a)", None))
defrule(np.linalg.norm, "x, ord=None, axis=None, keepdims=False",
        ("norm_vjp(g, ans, x, ord, axis, keepdims)",),
        ("np.real(np.sum(norm_vjp(np.ones_like(ans), ans, x, ord, axis, keepdims) * dx, "
         "axis=axis, keepdims=keepdims))",))

# --- linear algebra and shape -------------------------------------------------------
defrule(np.dot, "a, b", ("dot_vjp_a(g, a, b)", "dot_vjp_b(g, a, b)"),
        ("np.dot(da, b)", "np.dot(a, db)"))
defrule(np.outer, "a, b", ("np.reshape(np.dot(g, np.ravel(b)), np.shape(a))",
                           "np.reshape(np.dot(np.ravel(a), g), np.shape(b))"),
        ("np.outer(da, b)", "np.outer(a, db)"))
defrule(np.inner, "a, b", ("dot_vjp_a(g, a, np.swapaxes(np.atleast_2d(b), -1, -2)) if np.ndim(b) > 1 else g * b",
                           "g * a"), ("np.inner(da, b)", "np.inner(a, db)"))
defrule(np.trace, "a, offset=0, axis1=0, axis2=1", ("trace_vjp(g, a, offset, axis1, axis2)",),
        ("np.trace(da, offset, axis1, axis2)",))
defrule(np.transpose, "a, axes=None", ("untranspose(g, axes)",), ("np.transpose(da, axes)",))
defrule(np.swapaxes, "a, axis1, axis2", ("np.swapaxes(g, axis1, axis2)", None, None),
        ("np.swapaxes(da, axis1, axis2)",))
defrule(np.moveaxis, "a, source, destination",
        ("np.moveaxis(g, destination, source)", None, None),
        ("np.moveaxis(da, source, destination)",))
defrule(np.reshape, "a, shape", ("reshape_like(g, a)", None), ("np.reshape(da, shape)",))
defrule(np.ravel, "a", ("reshape_like(g, a)",), ("np.ravel(da)",))
defrule(np.squeeze, "a, axis=None", ("reshape_like(g, a)",), ("np.squeeze(da, axis)",))
defrule(np.expand_dims, "a, axis", ("reshape_like(g, a)", None), ("np.expand_dims(da, axis)",))
defrule(np.atleast_1d, "a", ("reshape_like(g, a)",), ("np.atleast_1d(da)",))
defrule(np.atleast_2d, "a", ("reshape_like(g, a)",), ("np.atleast_2d(da)",))
defrule(np.atleast_3d, "a", ("reshape_like(g, a)",), ("np.atleast_3d(da)",))
defrule(np.linalg.det, "a",
        ("np.expand_dims(g * ans, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)",),
        ("ans * np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)",))
defrule(np.linalg.inv, "a", ("-np.swapaxes(ans, -1, -2) @ g @ np.swapaxes(ans, -1, -2)",),
        ("-(ans @ da @ ans)",))
defrule(np.broadcast_to, "a, shape", ("unbroadcast(g, a)", None), ("np.broadcast_to(da, shape)",))
defrule(np.concatenate, "arrays, axis=0", (None,), (None,),
        seq_vjp={"arrays": "unconcatenate(g, arrays, axis)"})
defrule(nm.r_concat, "parts", (None,), (None,), seq_vjp={"parts": "r_unconcat(g, parts)"})
defrule(nm.c_concat, "parts", (None,), (None,), seq_vjp={"parts": "c_unconcat(g, parts)"})
defnondiff(nm.einsum_subscripts)  # (sublists: integers)
defrule(np.stack, "arrays, axis=0", (None,), (None,), seq_vjp={"arrays": "unstack(g, arrays, axis)"})
defrule(np.einsum, "subscripts, *operands", (), (),
        seq_vjp={"operands": "[einsum_vjp(g, subscripts, operands, i) for i in range(len(operands))]"})
defrule(np.cumsum, "a, axis=None", ("reshape_like(np.flip(np.cumsum(np.flip(np.ravel(g) if axis is None else g, axis), axis), axis), a)",),
        ("np.cumsum(da, axis)",))
defrule(np.flip, "m, axis=None", ("np.flip(g, axis)",), ("np.flip(dm, axis)",))
defrule(np.take, "a, indices, axis=None",
        ("reshape_like(unindex(g, np.ravel(a), indices), a) if axis is None else "
         "unindex(g, a, (slice(None),) * (axis % np.ndim(a)) + (indices,))", None),
        ("np.take(da, indices, axis)", None))

# --- indexing: x[idx] -----------------------------------------------------------------
defrule(operator.getitem, "x, idx", ("unindex(g, x, idx)", None), ("dx[idx]", None))

# --- the helpers generated code calls (so adjoints are differentiable again) ------------
defrule(rt.unbroadcast, "v, x", ("broadcast_like(g, v)", None), ("unbroadcast(dv, x)", None))
defrule(rt.unbroadcast_to, "v, shape", ("broadcast_like(g, v)", None), ("unbroadcast_to(dv, shape)",))
defrule(rt.broadcast_like, "t, ans_", ("unbroadcast(g, t)", None), ("broadcast_like(dt, ans_)",))
defrule(rt.unreduce, "v, x, axis=None, keepdims=False",
        ("np.sum(g, axis=axis, keepdims=keepdims) if np.ndim(x) else g", None),
        ("unreduce(dv, x, axis, keepdims)",))
defrule(rt.reshape_like, "v, x", ("reshape_like(g, v)", None), ("reshape_like(dv, x)",))
defrule(rt.real_if, "v, x", ("g", None), ("real_if(dv, x)", None))
defrule(rt.real_cot, "v, x", ("unbroadcast(g, v)", None), ("real_cot(dv, x)", None))
defrule(rt.untranspose, "v, axes=None", ("np.transpose(g, axes)",), ("untranspose(dv, axes)",))
defrule(rt.unindex, "v, x, idx", ("g[idx]", None, None), ("unindex(dv, x, idx)",))
defrule(rt.matmul_vjp_a, "v, a, b", ("np.matmul(g, b)", None, "matmul_vjp_b(v, g, b)"),
        ("matmul_vjp_a(dv, a, b)", None, "matmul_vjp_a(v, a, db)"))
defrule(rt.matmul_vjp_b, "v, a, b", ("np.matmul(a, g)", "matmul_vjp_a(v, a, g)", None),
        ("matmul_vjp_b(dv, a, b)", "matmul_vjp_b(v, da, b)", None))
defrule(rt.dot_vjp_a, "v, a, b", ("np.dot(g, b)", None, "dot_vjp_b(v, g, b)"),
        ("dot_vjp_a(dv, a, b)", None, "dot_vjp_a(v, a, db)"))
defrule(rt.dot_vjp_b, "v, a, b", ("np.dot(a, g)", "dot_vjp_a(v, a, g)", None),
        ("dot_vjp_b(dv, a, b)", "dot_vjp_b(v, da, b)", None))

defrule(rt.cut_index, "v, idx", ("cut_index(g, idx)", None), ("cut_index(dv, idx)", None))
defrule(rt.copy_of, "v", ("g",), ("dv",))
defrule(rt.unreduce_select, "v, ans_, x, axis=None, keepdims=False",
        ("np.sum(g * unreduce_select(np.ones_like(ans_), ans_, x, axis, keepdims), axis=axis, "
         "keepdims=keepdims)", None, None),
        ("unreduce_select(dv, ans_, x, axis, keepdims)", None, None))

# --- functions whose results carry no gradient -------------------------------------------
defnondiff(np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.argmax,
           np.argmin, np.argsort, np.shape, np.ndim, np.size, builtins.len, np.zeros_like,
           np.ones_like, np.empty_like, np.zeros, np.ones, np.empty, np.eye, np.identity, np.isnan, np.isinf, np.isfinite,
           np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
           np.logical_and, np.logical_or, np.logical_not, np.all, np.any, np.nonzero,
           np.floor_divide, builtins.int, builtins.round, builtins.range,
           builtins.bool, builtins.isinstance, math.floor, math.ceil, operator.floordiv,
           operator.lt, operator.le, operator.gt, operator.ge, operator.eq,
           operator.ne, operator.not_, rt.reduced_count, rt.clip_mask, np.random.randn,
           np.random.rand, rt.zeros_for, rt.zeros_like_grad,
           rt.zeros_tangent, rt.keys_of)
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

rt.HELPERS.update(nm.HELPERS)  # generated code calls them by name, like runtime's
rt.HELPERS.update(splitcall.HELPERS)

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
        ("np.inner(da, b)", "np.inner(a, db)"))
defrule(rt.inner_vjp_a, "v, a, b", ("np.inner(g, b)", None, "inner_vjp_b(v, g, b)"),
        ("inner_vjp_a(dv, a, b)", None, "inner_vjp_a(v, a, db)"))
defrule(rt.inner_vjp_b, "v, a, b", ("np.inner(a, g)",
                                    "inner_vjp_a(v, a, g)", None),
        ("inner_vjp_b(dv, a, b)", "inner_vjp_b(v, da, b)", None))

# --- breadth (issue #18): more of NumPy, and SciPy when it is installed ----------------------
from . import rules_shape, rules_reduce, rules_linalg, rules_fill  # noqa: E402,F401
from . import rules_complex, rules_fft  # noqa: E402,F401
from . import numeric_shape, numeric_linalg, numeric_reduce, numeric_fill  # noqa: E402
rt.HELPERS.update(numeric_shape.HELPERS)
rt.HELPERS.update(numeric_reduce.HELPERS)
rt.HELPERS.update(numeric_linalg.HELPERS)
rt.HELPERS.update(numeric_fill.HELPERS)
from . import rules_cot  # noqa: E402,F401  (the cotangent helpers' rules, both modes)
try:
    import scipy.special  # noqa: F401
except ImportError:  # SciPy stays optional
    pass
else:
    from . import rules_scipy  # noqa: E402,F401

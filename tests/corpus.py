"""The parametrised test corpus: functions to differentiate, with their arguments.

Every function is a plain module-level ``def`` (the compiler reads source).
Each :class:`Case` pairs one function with an argument factory (``rng ->
tuple of args``), the ``wrt`` selection and a note on the input domain.
Inputs are kept away from kinks (abs at 0, ties in max/min/maximum, clip
boundaries) so central finite differences are a valid reference.

Known failures are listed at the bottom (``COMPILER_BUGS`` / ``TAPE_BUGS`` /
``TAPE_UNSUPPORTED``) keyed by case id; test_corpus.py turns them into
strict xfails (bugs) or skips (documented tape limitations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sourcediff import primitive

# ----------------------------------------------------------------------------------------
# argument generators


def rnd(rng, *shape):
    """Normal values, kept away from 0 (so abs/sign/kinks are safe)."""
    v = rng.standard_normal(shape)
    v = np.where(np.abs(v) < 0.2, np.sign(v + 1e-12) * (0.2 + np.abs(v)), v)
    return float(v) if shape == () else v


def pos(rng, *shape):
    """Positive values in [0.5, 2)."""
    v = rng.uniform(0.5, 2.0, shape)
    return float(v) if shape == () else v


def unit(rng, *shape):
    """Values in (-0.8, 0.8), away from 0: for arcsin/arccos/arctanh."""
    v = rng.uniform(0.1, 0.8, shape) * rng.choice([-1.0, 1.0], shape)
    return float(v) if shape == () else v


def distinct(rng, *shape):
    """A permutation of well-separated values (no ties for max/min/argmax)."""
    n = int(np.prod(shape)) if shape else 1
    v = (rng.permutation(n) - n / 2.0) * 0.37 + 0.11
    return v.reshape(shape)


@dataclass
class Case:
    fn: object
    args: object                 # rng -> tuple of arguments
    wrt: object = 0
    note: str = ""
    suffix: str = ""
    tags: tuple = field(default_factory=tuple)

    @property
    def id(self):
        return self.fn.__name__ + (f"-{self.suffix}" if self.suffix else "")


CASES = []


def case(fn, args, wrt=0, note="", suffix="", tags=()):
    CASES.append(Case(fn, args, wrt, note, suffix, tuple(tags)))
    return fn


# ----------------------------------------------------------------------------------------
# arithmetic operators


def op_add(x, y):
    return np.sum(x + y * y)


def op_sub(x, y):
    return np.sum((x - y) ** 2)


def op_mul(x, y):
    return np.sum(x * y * x)


def op_div(x, y):
    return np.sum(x / y)


def op_pow_const(x):
    return np.sum(x ** 3)


def op_pow_array(x, p):
    return np.sum(x ** p)


def op_pow_neg_exponent(x):
    return np.sum(x ** -1.5)


def op_neg(x):
    return np.sum(-x * x)


def op_pos(x):
    return np.sum(+x * x)


def op_rpow(x):
    return 2.0 ** x


def op_float_pow(x, y):
    return x ** y


def op_float_mix(x):
    return x * x + 3.0 * x - 1.0 / x


def op_float_div_chain(x, y):
    return (x - y) / (x + y) * y


def op_int_const_pow(x):
    return x ** 2 + x ** 0.5


def aug_float(x):
    y = x
    y += x * x
    y *= x
    y -= 1.0
    y /= 2.0
    return y


def aug_param_float(x):
    x += 1.0
    x *= x
    return x


def aug_array(x):
    y = x * 1.0
    y += x ** 2
    y *= x
    y -= 0.5 * x
    return np.sum(y)


def aug_array_pow(x):
    y = x + 0.0
    y **= 2
    y /= 3.0
    return np.sum(y)


for _f, _a, _w in [
    (op_add, lambda r: (rnd(r, 4), rnd(r, 4)), (0, 1)),
    (op_sub, lambda r: (rnd(r, 4), rnd(r, 4)), (0, 1)),
    (op_mul, lambda r: (rnd(r, 3, 2), rnd(r, 3, 2)), (0, 1)),
    (op_div, lambda r: (rnd(r, 5), pos(r, 5)), (0, 1)),
    (op_pow_const, lambda r: (rnd(r, 4),), 0),
    (op_pow_array, lambda r: (pos(r, 4), rnd(r, 4)), (0, 1)),
    (op_pow_neg_exponent, lambda r: (pos(r, 3),), 0),
    (op_neg, lambda r: (rnd(r, 4),), 0),
    (op_pos, lambda r: (rnd(r, 4),), 0),
    (op_rpow, lambda r: (rnd(r),), 0),
    (op_float_pow, lambda r: (pos(r), rnd(r)), (0, 1)),
    (op_float_mix, lambda r: (pos(r),), 0),
    (op_float_div_chain, lambda r: (pos(r), pos(r)), (0, 1)),
    (op_int_const_pow, lambda r: (pos(r),), 0),
    (aug_float, lambda r: (rnd(r),), 0),
    (aug_param_float, lambda r: (rnd(r),), 0),
    (aug_array, lambda r: (rnd(r, 4),), 0),
    (aug_array_pow, lambda r: (rnd(r, 2, 3),), 0),
]:
    case(_f, _a, _w)


# ----------------------------------------------------------------------------------------
# math module on Python floats


def m_sin(x):
    return math.sin(x)


def m_cos(x):
    return math.cos(x) * x


def m_tan(x):
    return math.tan(x)


def m_exp(x):
    return math.exp(x) - x


def m_log(x):
    return math.log(x)


def m_log_base(x):
    return math.log(x, 2.0)


def m_log_base_var(x, b):
    return math.log(x, b)


def m_sqrt(x):
    return math.sqrt(x)


def m_tanh(x):
    return math.tanh(x)


def m_atan2(y, x):
    return math.atan2(y, x)


def m_hypot(x, y):
    return math.hypot(x, y)


def m_pow(x, y):
    return math.pow(x, y)


def m_erf(x):
    return math.erf(x)


def m_expm1_log1p(x):
    return math.expm1(x) + math.log1p(x)


def m_log2_log10(x):
    return math.log2(x) * math.log10(x + 1.0)


def m_asin_acos_atan(x):
    return math.asin(x) + 2.0 * math.acos(x) + math.atan(x)


def m_sinh_cosh(x):
    return math.sinh(x) * math.cosh(x)


def m_fabs_abs(x):
    return math.fabs(x) + abs(x) * x


def m_chain(x):
    return math.exp(math.sin(x) * x) / math.sqrt(1.0 + x * x)


for _f, _a, _w in [
    (m_sin, lambda r: (rnd(r),), 0),
    (m_cos, lambda r: (rnd(r),), 0),
    (m_tan, lambda r: (unit(r),), 0),
    (m_exp, lambda r: (rnd(r),), 0),
    (m_log, lambda r: (pos(r),), 0),
    (m_log_base, lambda r: (pos(r),), 0),
    (m_log_base_var, lambda r: (pos(r), pos(r) + 1.0), (0, 1)),
    (m_sqrt, lambda r: (pos(r),), 0),
    (m_tanh, lambda r: (rnd(r),), 0),
    (m_atan2, lambda r: (rnd(r), rnd(r)), (0, 1)),
    (m_hypot, lambda r: (rnd(r), rnd(r)), (0, 1)),
    (m_pow, lambda r: (pos(r), rnd(r)), (0, 1)),
    (m_erf, lambda r: (rnd(r),), 0),
    (m_expm1_log1p, lambda r: (pos(r),), 0),
    (m_log2_log10, lambda r: (pos(r),), 0),
    (m_asin_acos_atan, lambda r: (unit(r),), 0),
    (m_sinh_cosh, lambda r: (rnd(r),), 0),
    (m_fabs_abs, lambda r: (rnd(r),), 0),
    (m_chain, lambda r: (rnd(r),), 0),
]:
    case(_f, _a, _w, tags=("math",))


# ----------------------------------------------------------------------------------------
# NumPy elementwise functions


def np_add_sub(x, y):
    return np.sum(np.add(x, y) * np.subtract(x, y))


def np_mul_div(x, y):
    return np.sum(np.multiply(x, y) + np.divide(x, y))


def np_true_divide(x, y):
    return np.sum(np.true_divide(x, y))


def np_power(x, p):
    return np.sum(np.power(x, p))


def np_negative_reciprocal(x):
    return np.sum(np.negative(x) * np.reciprocal(x))


def np_square_sqrt(x):
    return np.sum(np.square(x) + np.sqrt(x))


def np_exp_family(x):
    return np.sum(np.exp(x) + np.exp2(x) + np.expm1(x))


def np_log_family(x):
    return np.sum(np.log(x) + np.log2(x) * np.log10(x) + np.log1p(x))


def np_trig(x):
    return np.sum(np.sin(x) * np.cos(x) + np.tan(x))


def np_inverse_trig(x):
    return np.sum(np.arcsin(x) + np.arccos(x) * x + np.arctan(x))


def np_arctan2(y, x):
    return np.sum(np.arctan2(y, x))


def np_hyperbolic(x):
    return np.sum(np.sinh(x) + np.cosh(x) * np.tanh(x))


def np_inverse_hyperbolic(x):
    return np.sum(np.arcsinh(x) + np.arctanh(x * 0.5) + np.arccosh(x * x + 1.5))


def np_cbrt(x):
    return np.sum(np.cbrt(x))


def np_abs(x):
    return np.sum(np.abs(x) * x + np.absolute(x) + np.fabs(x))


def np_maximum_minimum(x, y):
    return np.sum(np.maximum(x, y) * 2.0 + np.minimum(x, y) ** 2)


def np_fmax_fmin(x, y):
    return np.sum(np.fmax(x, y) * np.fmin(x, y))


def np_where(x, y):
    return np.sum(np.where(x > 0, x * y, y ** 2))


def np_clip(x):
    return np.sum(np.clip(x, -0.5, 0.5) * x)


def np_hypot(x, y):
    return np.sum(np.hypot(x, y))


def np_logaddexp(x, y):
    return np.sum(np.logaddexp(x, y))


def np_float_input(x):
    return np.sin(x) * np.exp(x)


def np_relu(x):
    return np.sum(np.maximum(x, 0.0) ** 2)


for _f, _a, _w in [
    (np_add_sub, lambda r: (rnd(r, 4), rnd(r, 4)), (0, 1)),
    (np_mul_div, lambda r: (rnd(r, 4), pos(r, 4)), (0, 1)),
    (np_true_divide, lambda r: (rnd(r, 4), pos(r, 4)), (0, 1)),
    (np_power, lambda r: (pos(r, 4), rnd(r, 4)), (0, 1)),
    (np_negative_reciprocal, lambda r: (pos(r, 4),), 0),
    (np_square_sqrt, lambda r: (pos(r, 4),), 0),
    (np_exp_family, lambda r: (rnd(r, 4),), 0),
    (np_log_family, lambda r: (pos(r, 4),), 0),
    (np_trig, lambda r: (unit(r, 4),), 0),
    (np_inverse_trig, lambda r: (unit(r, 5),), 0),
    (np_arctan2, lambda r: (rnd(r, 4), rnd(r, 4)), (0, 1)),
    (np_hyperbolic, lambda r: (rnd(r, 4),), 0),
    (np_inverse_hyperbolic, lambda r: (unit(r, 4),), 0),
    (np_cbrt, lambda r: (pos(r, 4),), 0),
    (np_abs, lambda r: (rnd(r, 5),), 0),
    (np_maximum_minimum, lambda r: (distinct(r, 6), distinct(r, 6) + 0.05), (0, 1)),
    (np_fmax_fmin, lambda r: (distinct(r, 6), distinct(r, 6) + 0.05), (0, 1)),
    (np_where, lambda r: (rnd(r, 6), rnd(r, 6)), (0, 1)),
    (np_clip, lambda r: (np.array([-1.2, -0.3, 0.1, 0.4, 0.9, 2.0]),), 0),
    (np_hypot, lambda r: (rnd(r, 4), rnd(r, 4)), (0, 1)),
    (np_logaddexp, lambda r: (rnd(r, 4), rnd(r, 4)), (0, 1)),
    (np_float_input, lambda r: (rnd(r),), 0),
    (np_relu, lambda r: (rnd(r, 6),), 0),
]:
    case(_f, _a, _w)


# ----------------------------------------------------------------------------------------
# reductions


def red_sum_axis0(x):
    return np.sum(np.sum(x, axis=0) ** 2)


def red_sum_axis1_keepdims(x):
    s = np.sum(x, axis=1, keepdims=True)
    return np.sum(x * s)


def red_sum_neg_axis(x):
    return np.sum(np.sum(x, axis=-1) ** 3)


def red_sum_tuple_axis(x):
    return np.sum(np.sum(x, axis=(0, 2)) ** 2)


def red_mean(x):
    return np.mean(x ** 2)


def red_mean_axis(x):
    return np.sum(np.mean(x, axis=1) ** 2) + np.sum(np.mean(x, axis=0, keepdims=True) * x)


def red_prod(x):
    return np.prod(x)


def red_prod_axis(x):
    return np.sum(np.prod(x, axis=1))


def red_max(x):
    return np.max(x) * np.min(x)


def red_max_axis(x):
    return np.sum(np.max(x, axis=1) ** 2) + np.sum(np.min(x, axis=0))


def red_max_keepdims(x):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(np.exp(x - m))


def red_amax_amin(x):
    return np.amax(x) - np.amin(x) ** 2


def red_norm(x):
    return np.linalg.norm(x)


def red_norm_matrix(x):
    return np.linalg.norm(x) ** 2 + np.linalg.norm(x * 2.0)


def red_norm_axis(x):
    return np.sum(np.linalg.norm(x, axis=1))


def red_norm_ord1(x):
    return np.linalg.norm(x, 1)


def red_cumsum(x):
    return np.sum(np.cumsum(x) ** 2)


def red_cumsum_axis(x):
    return np.sum(np.cumsum(x, axis=1) ** 2)


def red_builtin_sum(x):
    return sum(x * x)


for _f, _a in [
    (red_sum_axis0, lambda r: (rnd(r, 3, 4),)),
    (red_sum_axis1_keepdims, lambda r: (rnd(r, 3, 4),)),
    (red_sum_neg_axis, lambda r: (rnd(r, 2, 3),)),
    (red_sum_tuple_axis, lambda r: (rnd(r, 2, 3, 2),)),
    (red_mean, lambda r: (rnd(r, 5),)),
    (red_mean_axis, lambda r: (rnd(r, 3, 4),)),
    (red_prod, lambda r: (pos(r, 4),)),
    (red_prod_axis, lambda r: (rnd(r, 3, 3),)),
    (red_max, lambda r: (distinct(r, 7),)),
    (red_max_axis, lambda r: (distinct(r, 3, 4),)),
    (red_max_keepdims, lambda r: (distinct(r, 3, 4),)),
    (red_amax_amin, lambda r: (distinct(r, 5),)),
    (red_norm, lambda r: (rnd(r, 4),)),
    (red_norm_matrix, lambda r: (rnd(r, 3, 3),)),
    (red_norm_axis, lambda r: (rnd(r, 3, 4),)),
    (red_norm_ord1, lambda r: (rnd(r, 4),)),
    (red_cumsum, lambda r: (rnd(r, 5),)),
    (red_cumsum_axis, lambda r: (rnd(r, 2, 4),)),
    (red_builtin_sum, lambda r: (rnd(r, 4),)),
]:
    case(_f, _a)


# ----------------------------------------------------------------------------------------
# linear algebra


def la_dot_vv(a, b):
    return np.dot(a, b)


def la_dot_mv(a, b):
    return np.sum(np.dot(a, b) ** 2)


def la_dot_mm(a, b):
    return np.sum(np.tanh(np.dot(a, b)))


def la_matmul_mm(a, b):
    return np.sum(np.matmul(a, b) ** 2)


def la_at_vm(a, b):
    return np.sum(np.sin(a @ b))


def la_at_mv(a, b):
    return np.sum((a @ b) ** 2)


def la_at_vv(a, b):
    return a @ b


def la_at_batched(a, b):
    return np.sum((a @ b) ** 2)


def la_at_batched_both(a, b):
    return np.sum(np.cos(a @ b))


def la_outer(a, b):
    return np.sum(np.outer(a, b) ** 2)


def la_inner(a, b):
    return np.inner(a, b) * 2.0


def la_einsum_mm(a, b):
    return np.sum(np.einsum("ij,jk->ik", a, b) ** 2)


def la_einsum_trace(a):
    return np.einsum("ii->", a) ** 2


def la_einsum_dot(a, b):
    return np.einsum("i,i->", a, b)


def la_trace(a):
    return np.trace(a @ a)


def la_transpose(a):
    return np.sum(np.transpose(a) * np.arange(6.0).reshape(3, 2))


def la_transpose_axes(a):
    return np.sum(np.transpose(a, (2, 0, 1)) * np.arange(24.0).reshape(4, 2, 3))


def la_dot_T(a):
    return np.sum(a.T @ a)


def la_reshape(a):
    return np.sum(np.reshape(a, (3, 2)) * np.arange(6.0).reshape(3, 2))


def la_ravel(a):
    return np.sum(np.ravel(a) * np.arange(6.0))


def la_squeeze_expand(a):
    b = np.expand_dims(np.squeeze(a), 0)
    return np.sum(b ** 2 * np.arange(3.0))


def la_concatenate(a, b):
    c = np.concatenate([a, b * 2.0])
    return np.sum(c ** 2 * np.arange(7.0))


def la_concatenate_axis1(a, b):
    c = np.concatenate((a, b), axis=1)
    return np.sum(np.sin(c))


def la_stack(a, b):
    s = np.stack([a, b])
    return np.sum(s ** 3)


def la_stack_axis1(a, b):
    s = np.stack([a * b, a], axis=1)
    return np.sum(s * np.arange(8.0).reshape(4, 2))


def la_array_of_scalars(x):
    v = np.array([x, 2.0 * x, x * x])
    return np.sum(v ** 2)


def la_asarray_copy_float(x):
    y = np.asarray(x) * np.copy(x) + np.ascontiguousarray(x)
    return float(np.sum(y)) * 2.0


def la_atleast_broadcast(x):
    a = np.atleast_2d(x) * np.atleast_1d(x[0])
    b = np.broadcast_to(x, (2, 3))
    return np.sum(a ** 2) + np.sum(b * np.arange(6.0).reshape(2, 3))


def la_sum_of_list(x, y):
    return np.sum([x * y, y]) + np.mean([x, y * y])


def la_swapaxes_moveaxis(a):
    return np.sum(np.swapaxes(a, 0, 1) ** 2 * np.arange(6.0).reshape(3, 2)) + np.sum(
        np.moveaxis(a, 0, -1)[0])


for _f, _a, _w in [
    (la_dot_vv, lambda r: (rnd(r, 4), rnd(r, 4)), (0, 1)),
    (la_dot_mv, lambda r: (rnd(r, 3, 4), rnd(r, 4)), (0, 1)),
    (la_dot_mm, lambda r: (rnd(r, 3, 4), rnd(r, 4, 2)), (0, 1)),
    (la_matmul_mm, lambda r: (rnd(r, 3, 4), rnd(r, 4, 2)), (0, 1)),
    (la_at_vm, lambda r: (rnd(r, 3), rnd(r, 3, 2)), (0, 1)),
    (la_at_mv, lambda r: (rnd(r, 2, 3), rnd(r, 3)), (0, 1)),
    (la_at_vv, lambda r: (rnd(r, 3), rnd(r, 3)), (0, 1)),
    (la_at_batched, lambda r: (rnd(r, 2, 3, 4), rnd(r, 4, 2)), (0, 1)),
    (la_at_batched_both, lambda r: (rnd(r, 2, 3, 4), rnd(r, 2, 4, 2)), (0, 1)),
    (la_outer, lambda r: (rnd(r, 3), rnd(r, 4)), (0, 1)),
    (la_inner, lambda r: (rnd(r, 4), rnd(r, 4)), (0, 1)),
    (la_einsum_mm, lambda r: (rnd(r, 2, 3), rnd(r, 3, 2)), (0, 1)),
    (la_einsum_trace, lambda r: (rnd(r, 3, 3),), 0),
    (la_einsum_dot, lambda r: (rnd(r, 4), rnd(r, 4)), (0, 1)),
    (la_trace, lambda r: (rnd(r, 3, 3),), 0),
    (la_transpose, lambda r: (rnd(r, 2, 3),), 0),
    (la_transpose_axes, lambda r: (rnd(r, 2, 3, 4),), 0),
    (la_dot_T, lambda r: (rnd(r, 3, 2),), 0),
    (la_reshape, lambda r: (rnd(r, 2, 3),), 0),
    (la_ravel, lambda r: (rnd(r, 2, 3),), 0),
    (la_squeeze_expand, lambda r: (rnd(r, 1, 3),), 0),
    (la_concatenate, lambda r: (rnd(r, 3), rnd(r, 4)), (0, 1)),
    (la_concatenate_axis1, lambda r: (rnd(r, 2, 3), rnd(r, 2, 2)), (0, 1)),
    (la_stack, lambda r: (rnd(r, 3), rnd(r, 3)), (0, 1)),
    (la_stack_axis1, lambda r: (rnd(r, 4), rnd(r, 4)), (0, 1)),
    (la_swapaxes_moveaxis, lambda r: (rnd(r, 2, 3),), 0),
    (la_array_of_scalars, lambda r: (rnd(r),), 0),
    (la_asarray_copy_float, lambda r: (rnd(r, 3),), 0),
    (la_atleast_broadcast, lambda r: (rnd(r, 3),), 0),
    (la_sum_of_list, lambda r: (rnd(r), rnd(r)), (0, 1)),
]:
    case(_f, _a, _w)


# ----------------------------------------------------------------------------------------
# array methods


def meth_sum(x):
    return x.sum()


def meth_sum_axis(x):
    return (x.sum(axis=0) ** 2).sum()


def meth_mean_max(x):
    return x.mean() * x.max()


def meth_reshape(x):
    return (x.reshape(2, 3) ** 2 * np.arange(6.0).reshape(2, 3)).sum()


def meth_reshape_tuple(x):
    return np.sum(x.reshape((3, 2))[1])


def meth_dot(a, b):
    return a.dot(b).sum()


def meth_T(a):
    return np.sum(a.T * np.arange(6.0).reshape(3, 2))


def meth_chain(x):
    return x.T.dot(x).sum() + x.ravel().max() + x.min() + x.prod()


def meth_clip_cumsum(x):
    return np.sum(x.clip(-0.5, 0.5) * x.cumsum())


for _f, _a, _w in [
    (meth_sum, lambda r: (rnd(r, 4),), 0),
    (meth_sum_axis, lambda r: (rnd(r, 3, 2),), 0),
    (meth_mean_max, lambda r: (distinct(r, 5),), 0),
    (meth_reshape, lambda r: (rnd(r, 6),), 0),
    (meth_reshape_tuple, lambda r: (rnd(r, 6),), 0),
    (meth_dot, lambda r: (rnd(r, 2, 3), rnd(r, 3, 2)), (0, 1)),
    (meth_T, lambda r: (rnd(r, 2, 3),), 0),
    (meth_chain, lambda r: (distinct(r, 2, 2),), 0),
    (meth_clip_cumsum, lambda r: (np.array([-1.2, -0.3, 0.1, 0.4, 0.9]),), 0),
]:
    case(_f, _a, _w)


# ----------------------------------------------------------------------------------------
# indexing reads


def idx_int(x):
    return x[1] * x[2]


def idx_negative(x):
    return x[-1] ** 2 + x[-2]


def idx_slice(x):
    return np.sum(x[1:-1] ** 2)


def idx_slice_step(x):
    return np.sum(x[::2] * x[1::2])


def idx_slice_reverse(x):
    return np.sum(x[::-1] * np.arange(5.0))


def idx_column(x):
    return np.sum(x[:, 1] ** 2)


def idx_row(x):
    return np.sum(x[1] ** 3)


def idx_elem(x):
    return x[1, 2] * x[0, 0]


def idx_int_array(x):
    i = np.array([0, 2, 2, 3])
    return np.sum(x[i] ** 2)


def idx_bool_mask(x):
    return np.sum(x[x > 0] ** 2)


def idx_newaxis(x):
    return np.sum(x[np.newaxis, :] * x[:, np.newaxis])


def idx_none(x):
    return np.sum(x[:, None] * np.ones((1, 3)))


def idx_variable(x, i):
    return x[i] * 3.0


def idx_2d_slices(x):
    return np.sum(x[1:, ::2] ** 2)


def idx_ellipsis(x):
    return np.sum(x[..., 0] ** 2)


for _f, _a in [
    (idx_int, lambda r: (rnd(r, 4),)),
    (idx_negative, lambda r: (rnd(r, 4),)),
    (idx_slice, lambda r: (rnd(r, 5),)),
    (idx_slice_step, lambda r: (rnd(r, 6),)),
    (idx_slice_reverse, lambda r: (rnd(r, 5),)),
    (idx_column, lambda r: (rnd(r, 3, 4),)),
    (idx_row, lambda r: (rnd(r, 3, 4),)),
    (idx_elem, lambda r: (rnd(r, 3, 4),)),
    (idx_int_array, lambda r: (rnd(r, 5),)),
    (idx_bool_mask, lambda r: (rnd(r, 6),)),
    (idx_newaxis, lambda r: (rnd(r, 3),)),
    (idx_none, lambda r: (rnd(r, 4),)),
    (idx_variable, lambda r: (rnd(r, 4), 2)),
    (idx_2d_slices, lambda r: (rnd(r, 3, 4),)),
    (idx_ellipsis, lambda r: (rnd(r, 2, 3, 2),)),
]:
    case(_f, _a)


# ----------------------------------------------------------------------------------------
# broadcasting in binary operations


def bc_add(x, y):
    return np.sum(np.sin(x + y))


def bc_sub(x, y):
    return np.sum((x - y) ** 2)


def bc_mul(x, y):
    return np.sum(np.tanh(x * y))


def bc_div(x, y):
    return np.sum(x / y)


def bc_pow(x, y):
    return np.sum(x ** y)


def bc_maximum(x, y):
    return np.sum(np.maximum(x, y) ** 2)


def bc_arctan2(x, y):
    return np.sum(np.arctan2(x, y))


def bc_hypot_logaddexp(x, y):
    return np.sum(np.hypot(x, y) + np.logaddexp(x, y))


def bc_where(x, y):
    return np.sum(np.where(x > 0.0, x, y) ** 2)


def bc_scalar_array(s, x):
    return np.sum(s * x + s / (x * x + 1.0) - x ** s)


def bc_row_col(x, y):
    return np.sum((x - y) * (x + y) / (y * y + 1.0))


for _f, _a, _s in [
    (bc_add, lambda r: (rnd(r, 3, 1), rnd(r, 4)), "31x4"),
    (bc_add, lambda r: (rnd(r, 2, 3), rnd(r, 3)), "23x3"),
    (bc_sub, lambda r: (rnd(r, 3, 1), rnd(r, 4)), "31x4"),
    (bc_sub, lambda r: (rnd(r), rnd(r, 2, 3)), "scalar"),
    (bc_mul, lambda r: (rnd(r, 2, 3), rnd(r, 3)), "23x3"),
    (bc_mul, lambda r: (rnd(r, 1, 3), rnd(r, 4, 1)), "13x41"),
    (bc_div, lambda r: (rnd(r, 2, 3), pos(r, 3)), "23x3"),
    (bc_div, lambda r: (rnd(r, 3, 1), pos(r, 4)), "31x4"),
    (bc_pow, lambda r: (pos(r, 3, 1), rnd(r, 4)), "31x4"),
    (bc_pow, lambda r: (pos(r, 2, 3), rnd(r)), "scalar"),
    (bc_maximum, lambda r: (distinct(r, 3, 1), distinct(r, 4) + 0.05), "31x4"),
    (bc_arctan2, lambda r: (rnd(r, 2, 3), rnd(r, 3)), "23x3"),
    (bc_hypot_logaddexp, lambda r: (rnd(r, 3, 1), rnd(r, 4)), "31x4"),
    (bc_where, lambda r: (rnd(r, 2, 3), rnd(r, 3)), "23x3"),
    (bc_scalar_array, lambda r: (pos(r), pos(r, 2, 3)), "scalar"),
    (bc_row_col, lambda r: (rnd(r, 3, 1), rnd(r, 1, 4)), "31x14"),
]:
    case(_f, _a, (0, 1), suffix=_s)


# ----------------------------------------------------------------------------------------
# small models


def logistic_regression(w, b, X, y):
    z = X @ w + b
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def softmax_xent(W, X, labels):
    logits = X @ W
    m = np.max(logits, axis=1, keepdims=True)
    shifted = logits - m
    lse = np.log(np.sum(np.exp(shifted), axis=1))
    picked = shifted[np.arange(X.shape[0]), labels]
    return np.mean(lse - picked)


def softmax_xent_onehot(W, X, Y):
    logits = X.dot(W)
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


def mlp2(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    return 0.5 * np.mean((out - y) ** 2)


def seed002_loss(w, b, x, t, lam):
    z = w * x + b
    y = 1 / (1 + np.exp(-z))
    return 0.5 * (y - t) ** 2 + 0.5 * lam * w ** 2


def seed002_loss_array(w, b, x, t, lam):
    z = w * x + b
    y = 1 / (1 + np.exp(-z))
    return np.sum(0.5 * (y - t) ** 2 + 0.5 * lam * w ** 2)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def linear_regression_l2(w, X, y, lam):
    r = X @ w - y
    return r @ r / len(y) + lam * np.sum(w * w)


def _lr_args(r):
    X = rnd(r, 6, 3)
    return rnd(r, 3), rnd(r), X, (r.uniform(size=6) > 0.5).astype(float)


def _smx_args(r):
    return rnd(r, 3, 4), rnd(r, 5, 3), np.array([0, 3, 1, 2, 3])


def _smx1h_args(r):
    Y = np.eye(4)[[0, 3, 1, 2, 3]]
    return rnd(r, 3, 4), rnd(r, 5, 3), Y


def _mlp_args(r):
    return (rnd(r, 3, 4) * 0.5, rnd(r, 4) * 0.1, rnd(r, 4, 2) * 0.5, rnd(r, 2) * 0.1,
            rnd(r, 5, 3), rnd(r, 5, 2))


case(logistic_regression, _lr_args, (0, 1))
case(softmax_xent, _smx_args, 0)
case(softmax_xent_onehot, _smx1h_args, 0)
case(mlp2, _mlp_args, (0, 1, 2, 3))
case(mlp2, _mlp_args, ("W1", "b2"), suffix="names")
case(seed002_loss, lambda r: (rnd(r), rnd(r), rnd(r), 0.7, 0.1), ("w", "b"))
case(seed002_loss, lambda r: (rnd(r), rnd(r), rnd(r), 0.7, 0.1), (0, "b", "x"), suffix="mixed")
case(seed002_loss_array, lambda r: (rnd(r, 4), rnd(r, 4), rnd(r, 4), 0.7, 0.1), (0, 1))
case(rosenbrock, lambda r: (rnd(r, 5) * 0.5,), 0)
case(linear_regression_l2, lambda r: (rnd(r, 3), rnd(r, 6, 3), rnd(r, 6), 0.1), (0, 3))


# ----------------------------------------------------------------------------------------
# non-differentiable helpers along the way


def nd_sign(x):
    return np.sum(np.sign(x) * x ** 2)


def nd_floor(x):
    return np.sum(np.floor(x) * x + x)


def nd_argmax(x):
    i = np.argmax(x)
    return x[i] * 2.0 + np.sum(x)


def nd_shape_len(x):
    n = x.shape[0]
    m = len(x)
    return np.sum(x ** 2) / n + m * x[0]


def nd_zeros_like(x):
    z = np.zeros_like(x)
    return np.sum((x - z) ** 2 + np.ones_like(x) * x)


def nd_int_arg(x, n):
    return np.sum(x ** n) * n


case(nd_sign, lambda r: (rnd(r, 5),))
case(nd_floor, lambda r: (np.array([0.3, 1.4, -0.6, 2.2]),))
case(nd_argmax, lambda r: (distinct(r, 5),))
case(nd_shape_len, lambda r: (rnd(r, 4),))
case(nd_zeros_like, lambda r: (rnd(r, 2, 3),))
case(nd_int_arg, lambda r: (rnd(r, 3), 3))


# ----------------------------------------------------------------------------------------
# float32 and Python-float inputs


def f32_poly(x):
    return np.sum(x ** 2 * 3.0 + np.sin(x))


def f32_matmul(a, b):
    return np.sum(np.tanh(a @ b))


def f32_scalar_array(s, x):
    return np.sum(np.exp(s * x))


def pyfloat_poly(x):
    return 3.0 * x ** 3 - 2.0 * x + 1.0


def pyfloat_two(x, y):
    return x * y + x / y


def pyfloat_np_mix(x):
    return np.exp(x) * math.sin(x)


def f32(a):
    return np.asarray(a, dtype=np.float32)


case(f32_poly, lambda r: (f32(rnd(r, 4)),), tags=("float32",))
case(f32_matmul, lambda r: (f32(rnd(r, 2, 3)), f32(rnd(r, 3, 2))), (0, 1), tags=("float32",))
case(f32_scalar_array, lambda r: (np.float32(rnd(r)), f32(rnd(r, 3))), (0, 1),
     tags=("float32",))
case(pyfloat_poly, lambda r: (rnd(r),))
case(pyfloat_two, lambda r: (rnd(r), pos(r)), (0, 1))
case(pyfloat_np_mix, lambda r: (rnd(r),), tags=("math",))


# ----------------------------------------------------------------------------------------
# control flow and statements


def cf_reassign(x):
    x = x * 2.0
    x = x + 1.0
    x = np.sin(x) * x
    return np.sum(x)


def cf_reassign_float(x):
    y = x * x
    y = y * x
    y = y + x
    return y


def cf_tuple_unpack(x):
    a, b = x * 2.0, x + 1.0
    return np.sum(a * b)


def cf_tuple_swap(x, y):
    a, b = x, y
    a, b = b * a, a + b
    return np.sum(a * b)


def cf_ifexp(x, flag):
    a = x * 2.0 if flag else x ** 2
    return np.sum(a)


def cf_ifexp_value(x):
    return x * x if x > 0.0 else -x * 3.0


def cf_if_value(x):
    if np.sum(x) > 0.0:
        y = x ** 2
    else:
        y = x ** 3
    return np.sum(y)


def cf_if_flag(x, flag):
    y = x
    if flag:
        y = y * 3.0
    else:
        y = np.sin(y)
    return np.sum(y * x)


def cf_if_no_else(x):
    y = x * 1.0
    if x[0] > 0.0:
        y = y * x
    return np.sum(y)


def cf_elif(x):
    if x > 1.0:
        y = x * x
    elif x > 0.0:
        y = 3.0 * x
    else:
        y = math.exp(x)
    return y


def cf_for_range(x, n):
    acc = 0.0
    for i in range(n):
        acc = acc + x ** (i + 1) / (i + 1)
    return np.sum(acc)


def cf_for_aug(x):
    s = 0.0
    for i in range(4):
        s += np.sum(x * i) * x[i]
    return s


def cf_for_index(x):
    total = 0.0
    for i in range(len(x)):
        total = total + x[i] * x[i] * (i + 1)
    return total


def cf_for_product(x):
    p = 1.0
    for _i in range(3):
        p = p * x
    return p


def cf_while(x):
    y = x
    k = 0
    while k < 3:
        y = np.sin(y) + x
        k = k + 1
    return np.sum(y)


def cf_while_value(x):
    y = x
    while y < 10.0:
        y = y * 2.0
    return y * y


def cf_for_rows(X, w):
    total = 0.0
    for row in X:
        total = total + np.tanh(np.dot(row, w))
    return total


def cf_break(x):
    s = 0.0
    for i in range(10):
        if i >= 3:
            break
        s = s + x[i] ** 2
    return s


def cf_continue(x):
    s = 0.0
    for i in range(5):
        if i % 2 == 1:
            continue
        s = s + np.sin(x[i]) * x[i]
    return s


def cf_break_on_value(x):
    s = 0.0
    for i in range(5):
        s = s + x[i] * x[i]
        if s > 1.0:
            break
    return s


def cf_early_return(x):
    if np.sum(x) > 0.0:
        return np.sum(x ** 2)
    y = np.exp(x)
    return np.sum(y)


def cf_early_return_float(x):
    if x < 0.0:
        return -x * x
    return math.sqrt(x) * x


def cf_early_return_loop(x):
    s = 0.0
    for i in range(4):
        s = s + x[i] ** 2
        if s > 2.0:
            return s * 2.0
    return s


def cf_nested_loops(x):
    s = 0.0
    for i in range(2):
        for j in range(3):
            s = s + x[i, j] * (i + j + 1) * x[1 - i, j]
    return s


def cf_loop_carried_array(x):
    h = np.zeros(3)
    for t in range(3):
        h = np.tanh(h + x[t])
    return np.sum(h ** 2)


def cf_list_append(x):
    parts = []
    for i in range(3):
        parts.append(x * (i + 1))
    return np.sum(np.stack(parts) ** 2)


def cf_list_comprehension(x):
    parts = [x[i] * x[i] for i in range(3)]
    return sum(parts)


def _helper_square(v):
    return v * v


def _helper_two(a, b):
    c = a * b
    return c + np.sin(a)


def cf_helper_call(x):
    return np.sum(_helper_square(x) + x)


def cf_helper_two_args(x, y):
    return np.sum(_helper_two(x, y) * y)


def cf_helper_float(x):
    return _helper_square(x) * x


@primitive
def _prim_cube(v):
    return v ** 3


_prim_cube.defvjp(lambda g, ans, v: (g * 3.0 * v ** 2,))


def cf_primitive_call(x):
    return np.sum(_prim_cube(x) + x)


def cf_closure_over_active(x):
    c = x * 2.0

    def inner(v):
        return v * c
    return np.sum(inner(x))


def cf_swap_params(x, y):
    x, y = y, x
    return np.sum(x * y * y)


def cf_square_twice(x):
    y = x
    y = y * y
    y = y * y
    return np.sum(y)


def cf_enumerate(x):
    s = 0.0
    for i, v in enumerate(x):
        s = s + v * v * (i + 1)
    return s


def cf_zip(x, y):
    s = 0.0
    for a, b in zip(x, y):
        s = s + a * np.sin(b)
    return s


def cf_astype(x):
    return np.sum(x.astype(np.float64) ** 2)


def cf_while_true_break(x):
    y = x
    while True:
        y = y * 1.5
        if y > 5.0:
            break
    return y


def cf_early_return_while(x):
    y = x
    while y < 100.0:
        y = y * y + 1.0
        if y > 10.0:
            return y * 2.0
    return y


def cf_max_of_rows(X):
    m = 0.0
    for row in X:
        m = m + np.max(row)
    return m


def cf_inplace_zeros(x):
    y = np.zeros(3)
    y[0] = x[1] * 2.0
    y[1:] = x[:2] ** 2
    return np.sum(y * y)


def cf_inplace_elem(x):
    y = np.zeros(4)
    y[0] = x[0]
    y[1] = x[1] * x[0]
    y[2] = np.sin(x[2])
    y[3] = y[1] * y[2]
    return np.sum(y ** 2)


def cf_inplace_loop(x):
    y = np.zeros(4)
    for i in range(4):
        y[i] = x[i] * (i + 1.0)
    return np.sum(np.sin(y))


def cf_inplace_overwrite(x):
    y = np.ones(3)
    y[1] = x[0] * 5.0
    y[1] = x[1] * 2.0
    return np.sum(y * x)


def cf_inplace_2d(x):
    M = np.zeros((2, 3))
    M[0] = x
    M[1, :] = x ** 2
    M[:, 0] = M[:, 0] * 3.0
    return np.sum(M ** 2)


def cf_inplace_aug(x):
    y = np.zeros(3)
    y[0] += x[0] * 2.0
    y[1:] += x[1:] ** 2
    y[0] *= x[2]
    return np.sum(y * y)


def cf_inplace_copy(x):
    y = x.copy()
    y[0] = 0.0
    y[1] = y[1] * y[2]
    return np.sum(y ** 2)


def cf_inplace_scaled_copy(x):
    y = x * 1.0
    y[0] = 5.0
    return np.sum(y * x ** 2)


def cf_inplace_sum_copy(x):
    y = x + 0.0
    y[1] = y[1] * 2.0
    return np.sum(y ** 2)


def cf_inplace_alias(x):
    y = np.zeros(3)
    z = y
    z[0] = x[0] * 3.0
    return np.sum(y) + np.sum(x)


for _f, _a, _w, _s in [
    (cf_reassign, lambda r: (rnd(r, 3),), 0, ""),
    (cf_reassign_float, lambda r: (rnd(r),), 0, ""),
    (cf_tuple_unpack, lambda r: (rnd(r, 3),), 0, ""),
    (cf_tuple_swap, lambda r: (rnd(r, 3), rnd(r, 3)), (0, 1), ""),
    (cf_ifexp, lambda r: (rnd(r, 3), True), 0, "true"),
    (cf_ifexp, lambda r: (rnd(r, 3), False), 0, "false"),
    (cf_ifexp_value, lambda r: (abs(rnd(r)),), 0, "pos"),
    (cf_ifexp_value, lambda r: (-abs(rnd(r)),), 0, "neg"),
    (cf_if_value, lambda r: (np.abs(rnd(r, 3)),), 0, "pos"),
    (cf_if_value, lambda r: (-np.abs(rnd(r, 3)),), 0, "neg"),
    (cf_if_flag, lambda r: (rnd(r, 3), True), 0, "true"),
    (cf_if_flag, lambda r: (rnd(r, 3), False), 0, "false"),
    (cf_if_no_else, lambda r: (np.abs(rnd(r, 3)),), 0, "taken"),
    (cf_if_no_else, lambda r: (-np.abs(rnd(r, 3)),), 0, "skipped"),
    (cf_elif, lambda r: (1.5,), 0, "a"),
    (cf_elif, lambda r: (0.5,), 0, "b"),
    (cf_elif, lambda r: (-0.5,), 0, "c"),
    (cf_for_range, lambda r: (pos(r, 3), 4), 0, ""),
    (cf_for_range, lambda r: (pos(r, 3), 0), 0, "zero_iters"),
    (cf_for_aug, lambda r: (rnd(r, 4),), 0, ""),
    (cf_for_index, lambda r: (rnd(r, 4),), 0, ""),
    (cf_for_product, lambda r: (rnd(r),), 0, ""),
    (cf_while, lambda r: (rnd(r, 3),), 0, ""),
    (cf_while_value, lambda r: (pos(r),), 0, ""),
    (cf_for_rows, lambda r: (rnd(r, 4, 3), rnd(r, 3)), (0, 1), ""),
    (cf_break, lambda r: (rnd(r, 5),), 0, ""),
    (cf_continue, lambda r: (rnd(r, 5),), 0, ""),
    (cf_break_on_value, lambda r: (np.array([0.6, 0.7, 0.8, 0.9, 1.0]),), 0, ""),
    (cf_early_return, lambda r: (np.abs(rnd(r, 3)),), 0, "early"),
    (cf_early_return, lambda r: (-np.abs(rnd(r, 3)),), 0, "late"),
    (cf_early_return_float, lambda r: (-pos(r),), 0, "early"),
    (cf_early_return_float, lambda r: (pos(r),), 0, "late"),
    (cf_early_return_loop, lambda r: (np.array([0.9, 1.2, 0.3, 0.2]),), 0, "early"),
    (cf_early_return_loop, lambda r: (np.array([0.1, 0.2, 0.3, 0.2]),), 0, "late"),
    (cf_nested_loops, lambda r: (rnd(r, 2, 3),), 0, ""),
    (cf_loop_carried_array, lambda r: (rnd(r, 3, 3),), 0, ""),
    (cf_list_append, lambda r: (rnd(r, 3),), 0, ""),
    (cf_list_comprehension, lambda r: (rnd(r, 3),), 0, ""),
    (cf_helper_call, lambda r: (rnd(r, 3),), 0, ""),
    (cf_helper_two_args, lambda r: (rnd(r, 3), rnd(r, 3)), (0, 1), ""),
    (cf_helper_float, lambda r: (rnd(r),), 0, ""),
    (cf_primitive_call, lambda r: (rnd(r, 3),), 0, ""),
    (cf_closure_over_active, lambda r: (rnd(r, 3),), 0, ""),
    (cf_swap_params, lambda r: (rnd(r, 3), rnd(r, 3)), (0, 1), ""),
    (cf_square_twice, lambda r: (rnd(r, 3),), 0, ""),
    (cf_enumerate, lambda r: (rnd(r, 3),), 0, ""),
    (cf_zip, lambda r: (rnd(r, 3), rnd(r, 3)), (0, 1), ""),
    (cf_astype, lambda r: (rnd(r, 3),), 0, ""),
    (cf_while_true_break, lambda r: (pos(r),), 0, ""),
    (cf_early_return_while, lambda r: (1.5,), 0, "early"),
    (cf_early_return_while, lambda r: (120.0,), 0, "late"),
    (cf_max_of_rows, lambda r: (distinct(r, 3, 4),), 0, ""),
    (cf_inplace_zeros, lambda r: (rnd(r, 3),), 0, ""),
    (cf_inplace_elem, lambda r: (rnd(r, 3),), 0, ""),
    (cf_inplace_loop, lambda r: (rnd(r, 4),), 0, ""),
    (cf_inplace_overwrite, lambda r: (rnd(r, 3),), 0, ""),
    (cf_inplace_2d, lambda r: (rnd(r, 3),), 0, ""),
    (cf_inplace_aug, lambda r: (rnd(r, 3),), 0, ""),
    (cf_inplace_copy, lambda r: (rnd(r, 3),), 0, ""),
    (cf_inplace_scaled_copy, lambda r: (rnd(r, 3),), 0, ""),
    (cf_inplace_sum_copy, lambda r: (rnd(r, 3),), 0, ""),
]:
    case(_f, _a, _w, suffix=_s)


# ----------------------------------------------------------------------------------------
# complex values and np.fft (issue #18): real arguments, real losses, complex in between


def cx_phase(x, w):
    z = np.exp(1j * x) * (w + 0.5j)
    return np.sum(np.abs(z + 1.0) ** 2) + np.sum(np.angle(z + 2.0))


def cx_fft_filter(x, h):
    y = np.fft.ifft(np.fft.fft(x) * np.fft.fft(h, x.shape[0]))
    return np.sum(np.real(y) ** 2) + 0.5 * np.sum(np.imag(y) ** 2)


def cx_rfft_power(x):
    p = np.abs(np.fft.rfft(x, 8, norm="ortho")) ** 2
    return np.sum(p * np.arange(p.shape[0]))


def cx_irfft_roundtrip(x):
    s = np.fft.rfft2(x)
    return np.sum(np.fft.irfft2(s * np.conj(s), x.shape) * x)


for _f, _a, _w in [
    (cx_phase, lambda r: (rnd(r, 4), rnd(r, 4)), (0, 1)),
    (cx_fft_filter, lambda r: (rnd(r, 6), rnd(r, 3)), (0, 1)),
    (cx_rfft_power, lambda r: (rnd(r, 6),), 0),
    (cx_irfft_roundtrip, lambda r: (rnd(r, 3, 4),), 0),
]:
    case(_f, _a, _w)


# ----------------------------------------------------------------------------------------
# known failures (filled in from test runs; see test_corpus.py)

# Keys are a case id (all four checks fail) or "case id::check" with check one
# of fd / types / mutation / value (only that check fails).

_VALUE_RESTORED = "value_and_grad returns the output variable as restored by the reverse pass"
_POP_LATE = ("reverse pass reads a reassigned variable before popping its old value "
             "(x = f(x) * x, y *= x, y **= 2, loops p = p * x)")

# case id -> short description of a compiler bug (strict xfail in compile mode)
COMPILER_BUGS = {}

# case id -> short description of a tape bug (strict xfail in tape mode)
TAPE_BUGS: dict = {}

# case id -> documented tape limitation (skipped in tape mode). math.*, float(),
# np.array([...]) of traced values and stores into np.zeros(...) work on the tape now
# (sourcediff/tape/shim.py), so nothing is listed.
TAPE_UNSUPPORTED: dict = {}


def _check_unique():
    ids = [c.id for c in CASES]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, dup


_check_unique()

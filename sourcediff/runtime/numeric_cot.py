"""Helpers for the reverse rules of the cotangent helpers (reverse over reverse).

Each is small and pure and has its own rules in :mod:`sourcediff.prims.rules_cot`, so the
table stays closed: the reverse rule of a helper only calls helpers with rules.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import MissingRuleError
from . import norm_axes, norm_curvature, norm_vjp, norm_vjp_dx, unbroadcast, unindex


def put_cot(v, x, key):
    """The cotangent of container (or array) ``x`` whose entry ``key`` has cotangent ``v``
    and every other entry none: the adjoint of ``get_cot(., key)``."""
    if x is None or v is None:
        return None
    if isinstance(x, dict):
        return {key: v}
    if isinstance(x, (list, tuple)):
        out = [None] * len(x)
        out[key] = v if x[key] is None or isinstance(x[key], (list, tuple, dict)) else \
            unbroadcast(v, x[key])  # (an entry itself a container: nested args' cotangents)
        return out
    return unindex(v, x, key)


def einsum_at(v, subscripts, operands, i):
    """``np.einsum(subscripts, *operands)`` with operand ``i`` replaced by ``v`` (the
    adjoint of ``einsum_vjp(., subscripts, operands, i)``)."""
    return np.einsum(subscripts, *[v if j == i else o for j, o in enumerate(operands)])


def norm_x_cot(v, ans, x, g, ord=None, axis=None, keepdims=False):
    """The cotangent of ``x`` in ``norm_vjp(v, ans, x, ...)`` for the output cotangent ``g``:
    ``v g / ans`` for the 2-norms (Frobenius included), ``v (p - 1) |x|^(p-2) g / ans^(p-1)``
    for a vector p-norm, zero where ``norm_vjp`` is piecewise constant."""
    if ord in (None, "fro"):
        return norm_vjp(v, ans, g, ord, axis, keepdims)
    return norm_vjp_dx(v, ans, x, g, ord, axis, keepdims)


def norm_third(x, ord=None, axis=None):
    """0.0 where ``norm_x_cot`` does not depend on ``x`` (the 2-norms, a real x's
    piecewise orders); a p-norm's third derivative is refused, and so is that of a
    complex x's norms other than the 2-norm (ord 1 and inf of |x| are not piecewise
    constant in a complex x)."""
    c = norm_curvature(x, ord, axis)
    two = ord in (None, "fro") or ord == 2 and norm_axes(x, ord, axis) is None
    singular = ord in (2, -2, "nuc") and not two   # (through svd: not piecewise constant)
    if two or c == 0.0 and not (np.iscomplexobj(x) or singular):
        return 0.0
    raise MissingRuleError(
        f"no third derivative rule for np.linalg.norm with ord={ord!r}",
        construct="np.linalg.norm",
        hint="use the 2-norm (ord=None), or write the p-norm with np.sum(np.abs(x) ** p)")


def sinc_dn(x, n):
    """The ``n``-th derivative of ``np.sinc`` (``sin(pi x) / (pi x)``): the recursion
    ``x s^(m) = pi^(m-1) sin(pi x + m pi / 2) - m s^(m-1)`` away from 0, its Taylor
    series near 0 (where the recursion cancels)."""
    x = np.asarray(x, dtype=np.result_type(x, float))   # (complex stays complex)
    small = np.abs(x) < 0.5
    xs = np.where(small, 1.0, x)
    s = np.sinc(xs)
    for m in range(1, n + 1):
        s = (np.pi ** (m - 1) * np.sin(np.pi * xs + m * np.pi / 2) - m * s) / xs
    near = np.zeros_like(x)
    for k in range((n + 1) // 2, (n + 1) // 2 + 20):
        c = (-1) ** k * np.pi ** (2 * k) / math.factorial(2 * k + 1) \
            * math.factorial(2 * k) / math.factorial(2 * k - n)
        near = near + c * x ** (2 * k - n)
    return np.where(small, near, s)


HELPERS = {name: obj for name, obj in globals().items()
           if callable(obj) and not name.startswith("_") and getattr(obj, "__module__", None)
           == __name__}

"""Cotangent helpers of the functions that build an array from values
(:mod:`sourcediff.prims.rules_fill`): ``np.linspace`` and ``np.arange`` are linear in their
start, stop and step, so the gradient reaches them (declaring them non-differentiable
gave a silent zero)."""

from __future__ import annotations

import numpy as np

from ..errors import MissingRuleError
from . import unbroadcast


def _stop_weights(num, endpoint):
    """How much of ``stop`` each of ``np.linspace(start, stop, num)``'s points holds."""
    return np.linspace(0.0, 1.0, num, endpoint=endpoint)


def linspace_cot(g, start, stop, num=50, endpoint=True, retstep=False, axis=0, which=0):
    """The cotangent of ``start`` (``which=0``) or ``stop`` (1) of ``np.linspace``."""
    if retstep:
        raise MissingRuleError("no derivative rule for np.linspace(..., retstep=True)",
                               hint="compute the step as (stop - start) / (num - 1)")
    w = _stop_weights(num, endpoint)
    if which == 0:
        w = 1.0 - w
    total = np.tensordot(np.moveaxis(np.asarray(g), axis, -1), w, axes=1)
    return unbroadcast(total, start if which == 0 else stop)


def linspace_dot(d, ans_, num=50, endpoint=True, axis=0, which=0):
    """The tangent term of ``np.linspace`` along ``start`` (``which=0``) or ``stop`` (1);
    ``ans_`` is the output (whose shape the term takes)."""
    w = _stop_weights(num, endpoint)
    if which == 0:
        w = 1.0 - w
    shape = list(np.shape(ans_))
    del shape[axis]
    d = np.broadcast_to(d, tuple(shape))
    return np.moveaxis(np.multiply.outer(d, w), -1, axis)


def arange_cot(g, stop, which=0):
    """The cotangent of ``start`` (``which=0``) or ``step`` (2) of ``np.arange(start, stop,
    step)``: its values are ``start + k * step``. With one argument (``np.arange(stop)``)
    the values do not depend on it (only their number does), so its cotangent is zero."""
    if stop is None:
        return 0.0 * np.sum(g)
    return np.sum(g) if which == 0 else np.sum(g * np.arange(np.size(g)).reshape(np.shape(g)))


def arange_dot(d, ans, stop, which=0):
    """The tangent term of ``np.arange(start, stop, step)`` along ``start`` or ``step``."""
    if stop is None:
        return 0.0 * ans
    return d + 0.0 * ans if which == 0 else d * np.arange(np.size(ans)).reshape(np.shape(ans))


HELPERS = {name: obj for name, obj in globals().items()
           if callable(obj) and not name.startswith("_") and getattr(obj, "__module__", None)
           == __name__}

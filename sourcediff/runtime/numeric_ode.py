"""Helpers of ``scipy.integrate.odeint``'s rule (:mod:`sourcediff.prims.rules_ode`).

``y = odeint(func, y0, t, args)`` solves ``dy/dt = func(y, t, *args)``. Its cotangent is
found by the adjoint method: the state ``(y, a, a_args)`` is integrated backwards from
``t[-1]`` to ``t[0]`` with ``da/dt = -a df/dy`` and ``da_args/dt = -a df/dargs``; each
output's cotangent ``g[i]`` joins ``a`` at ``t[i]``, and ``y`` restarts from the stored
``y[i]`` on each interval. ``a df/dy`` and ``a df/dargs`` come from the adjoint sourcediff
generates for ``func`` (``vjp_call``). Its tangent solves the forward sensitivity
equation ``d(dy)/dt = df/dy dy + df/dargs dargs`` alongside ``y`` (``jvp_call``). Both
solves use ``odeint`` with the call's ``rtol`` and ``atol``: the derivative is as accurate
as the integration.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import odeint

from ..errors import MissingRuleError
from . import jvp_call, vjp_call


def _leaves(value):
    """The arrays and numbers of ``value``, nested lists and tuples (a list of ``(W, b)``
    layers passed in ``args``) read depth first."""
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _flat(values):
    return np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in _leaves(values)] or
                          [np.zeros(0)])


def _filled(c, v):
    """The cotangent (or tangent) ``c`` of ``v`` with zeros for None, at any depth."""
    if isinstance(v, (list, tuple)):
        return [_filled(ci, vi) for ci, vi in zip([None] * len(v) if c is None else c, v)]
    return np.zeros(np.shape(v)) if c is None else c


def _unflat(vec, like):
    """``vec`` cut into values shaped as those of ``like`` (nested lists for its nested
    lists and tuples, as the cotangent of a sequence is a list)."""
    out, i = [], 0
    for v in like:
        if isinstance(v, (list, tuple)):
            n = sum(int(np.size(leaf)) for leaf in _leaves(v))
            out.append(_unflat(vec[i:i + n], v))
        else:
            n = int(np.size(v))
            out.append(np.reshape(vec[i:i + n], np.shape(v)) if np.ndim(v) else float(vec[i]))
        i += n
    return out


def _check(full_output):
    if full_output:
        raise MissingRuleError("no derivative rule for odeint(..., full_output=True)",
                               construct="scipy.integrate.odeint",
                               hint="call odeint without full_output")


def _call(y, s, args, tfirst):
    """``func``'s arguments in its order (``tfirst``: time first), and where y is."""
    return ((s, y, *args), 1) if tfirst else ((y, s, *args), 0)


def odeint_vjp(g, ans, func, y0, t, args=(), rtol=None, atol=None, tfirst=False,
               full_output=0):
    """``(cotangent of y0, [cotangents of args])`` for ``ans = odeint(func, y0, t, args)``."""
    _check(full_output)
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    ans = np.asarray(ans, dtype=float)
    g = np.zeros(ans.shape) + (0.0 if g is None else np.asarray(g, dtype=float))
    shape, n = np.shape(y0), ans[0].size
    p = _flat(args).size

    def backwards(z, s):
        y, a = np.reshape(z[:n], shape), np.reshape(z[n:2 * n], shape)
        call, k = _call(y, s, args, tfirst)
        out = vjp_call(func, a, *call)
        cy = np.zeros(n) if out[k] is None else np.ravel(out[k])
        cargs = _flat([_filled(c, v) for c, v in zip(out[2:], args)])
        return np.concatenate([np.ravel(func(*call)), -cy, -cargs])

    a, a_args = np.ravel(g[-1]).copy(), np.zeros(p)
    for i in range(len(t) - 1, 0, -1):
        z0 = np.concatenate([np.ravel(ans[i]), a, a_args])
        z = odeint(backwards, z0, [t[i], t[i - 1]], rtol=rtol, atol=atol)[-1]
        a, a_args = z[n:2 * n] + np.ravel(g[i - 1]), z[2 * n:]
    return np.reshape(a, shape), _unflat(a_args, args)


def odeint_jvp(func, y0, t, args=(), dy0=None, dargs=None, rtol=None, atol=None,
               tfirst=False, full_output=0):
    """The tangent of ``odeint(func, y0, t, args)`` along ``dy0`` and ``dargs``."""
    _check(full_output)
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    shape = np.shape(y0)
    n = int(np.size(y0))
    dargs = tuple(_filled(d, v) for d, v in zip(dargs or [None] * len(args), args))

    def forwards(z, s):
        y, dy = np.reshape(z[:n], shape), np.reshape(z[n:], shape)
        call, k = _call(y, s, args, tfirst)
        tangents = (0.0, dy, *dargs) if tfirst else (dy, 0.0, *dargs)
        tan = jvp_call(func, tangents, *call)
        return np.concatenate([np.ravel(func(*call)), np.ravel(np.zeros(shape) + tan)])

    d0 = np.zeros(n) if dy0 is None else np.ravel(dy0)
    z = odeint(forwards, np.concatenate([np.ravel(y0), d0]), t, rtol=rtol, atol=atol)
    return np.reshape(z[:, n:], (len(t),) + shape)


HELPERS = {"odeint_vjp": odeint_vjp, "odeint_jvp": odeint_jvp}

"""Helpers of ``scipy.integrate.odeint``'s rule (:mod:`sourcediff.prims.rules_ode`).

``y = odeint(func, y0, t, args)`` solves ``dy/dt = func(y, t, *args)``. Its cotangent is
found by the adjoint method: the state ``(y, a, a_args)`` is integrated backwards from
``t[-1]`` to ``t[0]`` with ``da/dt = -a df/dy`` and ``da_args/dt = -a df/dargs``; each
output's cotangent ``g[i]`` joins ``a`` at ``t[i]``, and ``y`` restarts from the forward
solution's ``y[i]`` on each interval (``_backwards``). ``a df/dy`` and ``a df/dargs`` come
from the adjoint sourcediff generates for ``func`` (``vjp_call``). Its tangent solves the
forward sensitivity equation ``d(dy)/dt = df/dy dy + df/dargs dargs`` alongside ``y``
(``jvp_call``).

Second order: the tangent of the adjoint solve along ``(dy0, dargs)`` (``odeint_hvp``)
integrates the tangent of the same backward system: ``dy`` restarts from the forward
sensitivity solution, and ``da/dt = -(da df/dy + d(a df/dy))``, where ``d(a df/dy)`` is
forward mode over ``func``'s generated adjoint (``jvp_pair(adjoint_fn(func, a, ...))``,
as ``hessian`` runs it). By the symmetry of second derivatives the same solve is the
adjoint solve's own cotangent in ``y0`` and ``args``. All solves use ``odeint`` with the
call's ``rtol`` and ``atol``: the derivative is as accurate as the integration.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import odeint

from ..errors import MissingRuleError
from . import adjoint_fn, jvp_pair, vjp_call


def _leaves(value):
    """The arrays and numbers of ``value``, nested lists and tuples (a list of ``(W, b)``
    layers passed in ``args``) read depth first."""
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _flat(values):
    """The numbers of ``values`` (nested lists and tuples) as one vector."""
    return np.concatenate([np.ravel(v) for v in _leaves(values)] or [np.zeros(0)]) + 0.0


def _filled(c, v):
    """The cotangent (or tangent) ``c`` of ``v`` with zeros for None, at any depth."""
    if isinstance(v, (list, tuple)):
        return [_filled(ci, vi) for ci, vi in zip([None] * len(v) if c is None else c, v)]
    return np.zeros(np.shape(v)) if c is None else c


def unflat_cot(vec, like):
    """``vec`` cut into values shaped as those of ``like`` (nested lists for its nested
    lists and tuples, as the cotangent of a sequence is a list)."""
    out, i = [], 0
    for v in like:
        if isinstance(v, (list, tuple)):
            n = sum(int(np.size(leaf)) for leaf in _leaves(v))
            out.append(unflat_cot(vec[i:i + n], v))
        else:
            n = int(np.size(v))
            out.append(np.reshape(vec[i:i + n], np.shape(v)) if np.ndim(v) else vec[i])
        i += n
    return out


def flat_cot(c, like):
    """The inverse of ``unflat_cot``: the cotangents ``c`` of ``like`` (None: zeros) as one
    vector."""
    return _flat(_filled(c, like))


def _check(full_output):
    if full_output:
        raise MissingRuleError("no derivative rule for odeint(..., full_output=True)",
                               construct="scipy.integrate.odeint",
                               hint="call odeint without full_output")


def _call(y, s, args, tfirst):
    """``func``'s arguments in its order (``tfirst``: time first), and where y is."""
    return ((s, y, *args), 1) if tfirst else ((y, s, *args), 0)


def _tuple(args):
    return tuple(args) if isinstance(args, (tuple, list)) else (args,)


def _cots(out, k, args):
    """``func``'s cotangents (a ``vjp_call`` list) as the vectors of y and of args."""
    cy = None if out[k] is None else np.ravel(out[k])
    return cy, _flat([_filled(c, v) for c, v in zip(out[2:], args)])


def _forwards(func, y0, t, args, dy0, dargs, rtol, atol, tfirst):
    """``y`` at each ``t`` and, with tangents, its tangent along ``dy0`` and ``dargs``
    (None: zero): one solve of the system and its sensitivity equation."""
    shape, n = np.shape(y0), int(np.size(y0))

    def forwards(z, s):
        y, dy = np.reshape(z[:n], shape), np.reshape(z[n:], shape)
        call, _ = _call(y, s, args, tfirst)
        value, tan = jvp_pair(func, _call(dy, None, dargs, tfirst)[0], *call)
        return np.concatenate([np.ravel(value), np.ravel(np.zeros(shape) + tan)])

    if dy0 is None and dargs is None:
        return np.reshape(odeint(func, y0, t, _tuple(args), rtol=rtol, atol=atol,
                                 tfirst=tfirst), (len(t), n)), np.zeros((len(t), n))
    d0 = np.zeros(n) if dy0 is None else np.ravel(dy0)
    dargs = (None,) * len(args) if dargs is None else tuple(dargs)
    z = odeint(forwards, np.concatenate([np.ravel(y0), d0]), t, rtol=rtol, atol=atol)
    return z[:, :n], z[:, n:]


def _backwards(rhs, path, jumps, width, t, rtol, atol):
    """Integrate ``rhs`` backwards from ``t[-1]`` to ``t[0]`` on the state (path, adjoint,
    sums): the path restarts from ``path[i]`` at each ``t[i]``, the adjoint gains
    ``jumps[i]`` there, the sums (``width`` numbers) start at zero. Returns the adjoint
    and the sums at ``t[0]``."""
    m, n = path.shape[1], jumps.shape[1]
    adj, sums = jumps[-1].copy(), np.zeros(width)
    for i in range(len(t) - 1, 0, -1):
        z0 = np.concatenate([path[i], adj, sums])
        z = odeint(rhs, z0, [t[i], t[i - 1]], rtol=rtol, atol=atol)[-1]
        adj, sums = z[m:m + n] + jumps[i - 1], z[m + n:]
    return adj, sums


def _adjoint(v, func, y0, t, args, rtol, atol, tfirst, full_output):
    """The cotangents of ``y0`` and of ``args`` (one vector) for output cotangent ``v``."""
    _check(full_output)
    args = _tuple(args)
    shape, n = np.shape(y0), int(np.size(y0))
    path, _ = _forwards(func, y0, t, args, None, None, rtol, atol, tfirst)
    v = np.reshape(np.zeros((len(t), *shape)) + (0.0 if v is None else v), (len(t), n))

    def backwards(z, s):
        y, a = np.reshape(z[:n], shape), np.reshape(z[n:2 * n], shape)
        call, k = _call(y, s, args, tfirst)
        cy, cargs = _cots(vjp_call(func, a, *call), k, args)
        return np.concatenate([np.ravel(func(*call)), -(np.zeros(n) if cy is None else cy),
                               -cargs])

    a, a_args = _backwards(backwards, path, v, _flat(args).size, t, rtol, atol)
    return np.reshape(a, shape), a_args


def odeint_vjp(v, func, y0, t, args=(), rtol=None, atol=None, tfirst=False, full_output=0):
    """The cotangent of ``y0`` for ``ans = odeint(func, y0, t, args)`` whose cotangent is
    ``v``."""
    return _adjoint(v, func, y0, t, args, rtol, atol, tfirst, full_output)[0]


def odeint_vjp_args(v, func, y0, t, args=(), rtol=None, atol=None, tfirst=False,
                    full_output=0):
    """The cotangents of ``args`` as one vector (``unflat_cot`` cuts it), as
    ``odeint_vjp``."""
    return _adjoint(v, func, y0, t, args, rtol, atol, tfirst, full_output)[1]


def odeint_jvp(func, y0, t, args=(), dy0=None, dargs=None, rtol=None, atol=None,
               tfirst=False, full_output=0):
    """The tangent of ``odeint(func, y0, t, args)`` along ``dy0`` and ``dargs``."""
    _check(full_output)
    args = _tuple(args)
    dargs = tuple(_filled(d, a) for d, a in zip(dargs or [None] * len(args), args))
    return np.reshape(_forwards(func, y0, t, args, dy0, dargs, rtol, atol, tfirst)[1],
                      (len(t), *np.shape(y0)))


def odeint_hvp(v, func, y0, t, args=(), dy0=None, dargs=None, rtol=None, atol=None,
               tfirst=False, full_output=0):
    """The tangents of ``odeint_vjp`` and ``odeint_vjp_args`` (``v`` held) along ``dy0``
    and ``dargs``: ``v`` contracted with odeint's second derivative in one direction. By
    symmetry it is also their cotangent in ``y0`` and ``args`` for cotangent ``(dy0,
    dargs)``."""
    _check(full_output)
    args = _tuple(args)
    shape, n = np.shape(y0), int(np.size(y0))
    if dargs is not None:
        dargs = tuple(_filled(d, a) for d, a in zip(dargs, args))
    ys, dys = _forwards(func, y0, t, args, dy0, dargs, rtol, atol, tfirst)
    dargs = (None,) * len(args) if dargs is None else dargs
    v = np.reshape(np.zeros((len(t), *shape)) + (0.0 if v is None else v), (len(t), n))
    views = []  # func's adjoint as plain generated code: the same at every step

    def backwards(z, s):
        y, dy, a, da = (np.reshape(z[j * n:(j + 1) * n], shape) for j in range(4))
        call, k = _call(y, s, args, tfirst)
        tans = _call(dy, None, dargs, tfirst)[0]
        value, tan = jvp_pair(func, tans, *call)
        views[:] = views or [adjoint_fn(func, a, *call)]
        cts, dcts = jvp_pair(views[0], (*tans, da), *call, a)
        cy, _ = _cots(cts, k, args)
        dcy, dcargs = _cots(dcts, k, args)
        return np.concatenate([np.ravel(value), np.ravel(np.zeros(shape) + tan),
                               -(np.zeros(n) if cy is None else cy),
                               -(np.zeros(n) if dcy is None else dcy), -dcargs])

    path = np.concatenate([ys, dys], axis=1)
    jumps = np.concatenate([v, np.zeros_like(v)], axis=1)
    adj, da_args = _backwards(backwards, path, jumps, _flat(args).size, t, rtol, atol)
    return np.reshape(adj[n:], shape), da_args


HELPERS = {"odeint_vjp": odeint_vjp, "odeint_vjp_args": odeint_vjp_args,
           "odeint_jvp": odeint_jvp, "odeint_hvp": odeint_hvp, "unflat_cot": unflat_cot,
           "flat_cot": flat_cot}

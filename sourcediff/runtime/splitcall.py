"""Run-time side of split adjoints (see :mod:`sourcediff.ad.split`): a user function
called from differentiated code runs once, and its pullback waits on a list."""

from __future__ import annotations

import types

from ..ir.compiler_hook import compiler
from ..errors import MissingRuleError
from . import _differentiable, _is_method, _made_gradient, _vjp, jvp_pair, tangent_fn



class NotSplittable(Exception):
    """The value is computed in the reverse pass: the caller falls back to ``vjp_call``."""


def split_call(pullbacks, fn, *args, wrt=None):
    """``fn(*args)``, run once through its split adjoint; the pullback, which gives one
    cotangent per argument (None for constants and for the arguments not in ``wrt``,
    the positions the caller differentiates, if given), goes onto ``pullbacks``."""
    if _is_method(fn):  # its function, with self first (self is held constant here)
        value, pullback = _split(fn.__func__, (fn.__self__, *args), 1, _shift(wrt))
        pullbacks.append(lambda g: pullback(g)[1:])
        return value
    value, pullback = _split(fn, args, wanted=wrt)
    pullbacks.append(pullback)
    return value


def split_method(pullbacks, obj, name, *args):
    """``obj.name(*args)`` run once; its pullback gives ``obj``'s cotangent first."""
    fn = getattr(obj, name)
    if _is_method(fn) and fn.__self__ is obj:
        value, pullback = _split(fn.__func__, (obj, *args))
        pullbacks.append(pullback)
        return value
    if type(fn) is types.FunctionType:  # a function kept in an attribute
        value, pullback = _split(fn, args)
        pullbacks.append(lambda g: [None, *pullback(g)])
        return value
    raise MissingRuleError(
        f"no derivative rule for the method .{name} of a {type(obj).__name__}",
        construct=f".{name}(...)", hint="call a NumPy function on it, or a method written "
        "in Python (sourcediff reads its source)")


def pullback_of(pullbacks):
    """The pullback of the latest call still waiting (the reverse sweep's order)."""
    return pullbacks.pop()


def _shift(wrt):
    return None if wrt is None else tuple(i + 1 for i in wrt)


def _split(fn, args, first=0, wanted=None):
    wrt = tuple(i for i, a in enumerate(args) if i >= first and _differentiable(a)
                and (wanted is None or i in wanted))
    n = len(args)
    if not wrt:
        return fn(*args), lambda g: [None] * n
    if _made_gradient(fn):  # grad(h) called here: differentiated through its own code
        return fn(*args), lambda g: _vjp(fn, g, args, first)
    try:
        adj = compiler.adjoint_of(fn, wrt, "split", spec=compiler.spec_of(args),
                                   dtypes=compiler.kinds_of(args), called=True)
    except NotSplittable:  # rare: run it, and its whole adjoint in the reverse pass
        return fn(*args), lambda g: _vjp(fn, g, args, first)
    value, pullback = adj.fn(*args)

    def cotangents(g):
        out = [None] * n
        if g is not None:  # (None: a container's zero; a symbolic zero is made real first)
            for i, gi in zip(wrt, pullback(g)):
                out[i] = gi
        return out
    return value, cotangents




# --- forward mode: a call's value and tangent from one run (runtime.jvp_pair) --------------
def pair_fn(fn, tangents, *args):
    """G with ``G(*args, tangents) == jvp_pair(fn, tangents, *args)`` (plain generated
    code, so forward mode can run over it again: see forward.Tangents.generated_call)."""
    return tangent_fn(fn, tangents, *args, pair=True)


# --- code differentiated again: the residual form (split.to_residual_form) -----------------
def split_res(fn, *args, wrt=None):
    """``(fn(*args), residuals)`` from one run of ``fn``'s residual form: the residuals lead
    with the function that runs its reverse pass (``pullback_res``); ``wrt`` as in
    :func:`split_call`."""
    return split_res_fn(fn, *args, wrt=wrt)(*args)


def split_res_fn(fn, *args, wrt=None, **moved):
    """F with ``F(*args) == split_res(fn, *args, wrt=wrt)``: plain generated code, so
    forward mode differentiates it (forward.Tangents.generated_call). ``moved``,
    ``moved1``...: the arguments forward mode moves there (one keyword per order), made
    part of ``wrt`` (a residual only the arguments left out of ``wrt`` make is ``held``,
    a constant, in the residual form: forward._widened)."""
    wanted = set(range(len(args))) if wrt is None else set(wrt).union(*moved.values())
    wrt = tuple(i for i, a in enumerate(args) if _differentiable(a) and i in wanted)
    if not wrt:  # (never differentiated: jvp_pair just runs it)
        n = len(args)
        return lambda *a: (fn(*a), (_no_cotangents, (None,) * n))
    if _is_method(fn):  # self.f(...): f's residual form with self held (no cotangent)
        return compiler.residual_view(fn.__func__, (fn.__self__, *args),
                                      tuple(i + 1 for i in wrt))
    if type(fn) is not types.FunctionType or _made_gradient(fn):
        raise MissingRuleError(
            f"a second derivative through the call of {getattr(fn, '__name__', fn)!r}, a "
            f"{type(fn).__name__}, is not supported", construct="a call of a method",
            hint="call a function or a method written in Python (sourcediff reads its "
                 "source); for a gradient sourcediff made, call it as a plain function")
    return compiler.adjoint_of(fn, wrt, "residual", spec=compiler.spec_of(args),
                               called=True).fn


def pullback_res(residuals, g):
    """The cotangents (one per argument, None for constants) of the call whose residuals
    these are, for the output cotangent ``g``."""
    if g is None:
        return _no_cotangents(residuals, g)
    return residuals[0](residuals, g)


def pullback_res_fn(residuals, g):
    """G with ``G(residuals, g) == pullback_res(residuals, g)`` (for forward mode)."""
    return residuals[0] if g is not None else _no_cotangents


def held(residuals, k):
    """``residuals[k]``, a value whose tangent is zero (declared so: a loop's range, a
    length, data read from outside)."""
    return residuals[k]


def _no_cotangents(residuals, g):
    """The cotangents of a None (zero) seed: every residual tuple holds them second
    (all None, one per argument: split.to_residual_form, split_res_fn)."""
    return residuals[1]


HELPERS = {"split_call": split_call, "split_method": split_method, "pullback_of": pullback_of,
           "jvp_pair": jvp_pair, "pair_fn": pair_fn, "split_res": split_res,
           "split_res_fn": split_res_fn, "pullback_res": pullback_res,
           "pullback_res_fn": pullback_res_fn, "held": held}

"""Calls into the compiler from generated code: a user function's cotangents
(``vjp_call``, ``vjp_method``) or tangent (``jvp_call``, ``jvp_pair``, ``jvp_method``) from
its own generated code, the adjoint of a container field's read (``attr_cot``), and the
plain generated functions forward mode runs through (``adjoint_fn``, ``tangent_fn`` ...).
They reach the compiler through :mod:`compiler_hook`, never by importing the API. Part of
:mod:`sourcediff.runtime`.
"""

from __future__ import annotations

import types

import numpy as np

from ..ir.compiler_hook import compiler
from ..values.duck import is_duck
from .cot import zeros_tangent
from ..values.structure import kind_of


def vjp_call(fn, g, *args):
    """Cotangents of ``fn``'s float arguments for output cotangent ``g`` (None for others).

    A call to a user function inside differentiated code: the callee gets its own
    generated adjoint (cached per function and argument shapes), run on the spot."""
    if _is_method(fn):  # its function, with self first (self is not differentiated here)
        return _vjp(fn.__func__, g, (fn.__self__, *args), 1)[1:]
    return _vjp(fn, g, args)


def vjp_method(g, obj, name, *args):
    """Cotangents of ``obj`` and ``args`` for the call ``obj.name(*args)``."""
    fn = getattr(obj, name)
    if _is_method(fn) and fn.__self__ is obj:
        return _vjp(fn.__func__, g, (obj, *args))
    if type(fn) is types.FunctionType:  # a function kept in an attribute
        return [None, *_vjp(fn, g, args)]
    from ..errors import MissingRuleError
    raise MissingRuleError(
        f"no derivative rule for the method .{name} of a {type(obj).__name__}",
        construct=f".{name}(...)", hint="call a NumPy function on it, or a method written "
        "in Python (sourcediff reads its source)")


def _vjp(fn, g, args, first=0):
    """``vjp_call`` with arguments before ``first`` held constant."""
    wrt = tuple(i for i, a in enumerate(args) if i >= first and _differentiable(a))
    out = [None] * len(args)
    if not wrt or g is None:
        return out
    if _made_gradient(fn):  # grad(h) called in differentiated code: rereverse.gradient_vjp
        cts = compiler.gradient_vjp(getattr(fn, "__sourcediff_state__", fn), args)[1](g)
        return [ct if i in wrt else None for i, ct in enumerate(cts)]
    adj = compiler.adjoint_of(fn, wrt, "vjp", spec=compiler.spec_of(args), called=True)
    grads = adj.fn(*args, g)[1]
    for i, gi in zip(wrt, grads):
        out[i] = gi
    return out


def _made_gradient(fn):
    """A gradient sourcediff made (``grad(h)``), whose own source is only a dispatcher:
    differentiated through the generated code it runs (``plain_function``)."""
    return getattr(fn, "plain_function", None) is not None


def _is_method(fn):
    """A method bound to an object (read at each call, as Python does: ``self.f``)."""
    return type(fn) is types.MethodType and type(fn.__func__) is types.FunctionType


def jvp_call(fn, tangents, *args):
    """The output tangent of a user function call (forward mode)."""
    return jvp_pair(fn, tangents, *args)[1]


def jvp_pair(fn, tangents, *args):
    """``(fn(*args), its tangent)`` from one run of the callee's tangent code: forward
    mode's counterpart of ``split_call`` (the callee is not run again for its value)."""
    if _is_method(fn):
        return jvp_pair(fn.__func__, (None, *tangents), fn.__self__, *args)
    tangents = [_filled(t, a) for t, a in zip(tangents, args)]
    wrt = tuple(i for i, (a, t) in enumerate(zip(args, tangents))
                if t is not None and _differentiable(a))
    if not wrt:
        value = fn(*args)
        return value, zeros_tangent(value)
    if _made_gradient(fn):  # grad(h) called in differentiated code: its generated code
        fn = fn.plain_function(args)
    adj = compiler.jvp_adjoint(fn, wrt, compiler.spec_of(args), called=True)
    value, tangent = adj.fn(*args, *[tangents[i] for i in wrt])
    return value, tangent


def jvp_method(obj, name, tangents, *args):
    """The output tangent of the call ``obj.name(*args)``; ``tangents`` has ``obj``'s first."""
    fn = getattr(obj, name)
    if _is_method(fn) and fn.__self__ is obj:
        return jvp_call(fn.__func__, tangents, obj, *args)
    if type(fn) is types.FunctionType:
        return jvp_call(fn, tangents[1:], *args)
    vjp_method(None, obj, name)  # (the same error)


def _filled(t, a):
    """A ``*args`` / ``**kwargs`` tangent with zeros for its constant (None) entries."""
    if isinstance(t, tuple) and any(v is None for v in t):
        return tuple(zeros_tangent(x) if v is None else v for v, x in zip(t, a))
    if isinstance(t, dict) and any(v is None for v in t.values()):
        return {k: zeros_tangent(a[k]) if v is None else v for k, v in t.items()}
    return t


def attr_cot(x, name, g):
    """The cotangent of container ``x`` for the read ``x.name`` whose cotangent is ``g``:
    its children's cotangents (a list), ``g`` in that field's place."""
    kind, i = _field(x, name)  # (first: a method read off x would drop its cotangent)
    if g is None:
        return None
    out = [None] * len(kind.flatten(x))
    out[i] = g
    return out


def attr_tangent(x, x_dot, name):
    """The tangent of the read ``x.name`` (forward mode): that field of ``x``'s tangent."""
    _field(x, name)
    return getattr(x_dot, name)


def _field(x, name):
    """``x``'s container kind and the position of its field ``name``, or the error."""
    kind = kind_of(x)
    i = kind.index(name) if kind is not None else None
    if i is None:
        what = "a field" if kind is None else "a field its kind names"
        from ..errors import MissingRuleError
        raise MissingRuleError(
            f"sourcediff cannot differentiate the attribute .{name} of a {type(x).__name__}: "
            f"it is not {what}", construct=f".{name}",
            hint="differentiate with respect to the fields of a dataclass or NamedTuple (or "
                 "a class registered with sourcediff.register_container(cls, flatten, "
                 "unflatten, fields=...)); read arrays' data by indexing or NumPy functions")
    return kind, i


def _differentiable(a):
    if isinstance(a, (bool, np.bool_, int, np.integer, str)) or a is None:
        return False
    if isinstance(a, np.ndarray) or is_duck(a):
        return a.dtype.kind in "fc"
    if isinstance(a, (list, tuple)):
        return any(_differentiable(v) for v in a)
    if isinstance(a, dict):
        return any(_differentiable(v) for v in a.values())
    if kind_of(a) is not None:
        return any(_differentiable(v) for v in kind_of(a).flatten(a))
    return isinstance(a, (float, np.floating, complex, np.complexfloating))


# --- forward mode over generated code: the functions a call's tangent runs through ---------
# A call into generated code (``vjp_call``, ``vjp_method``, ``jvp_call``, ``jvp_method``) is
# differentiated forward as ``jvp_call(F, tangents, *args)`` where F is a plain generated
# function computing exactly what the call computes (the callee's adjoint, or tangent
# code, read back from its source: see higher.adjoint_view). The tangent of that
# ``jvp_call`` is again a ``jvp_call`` of a generated function, so every order works the
# same way. These four helpers only build F; they carry no gradient themselves.
def adjoint_fn(fn, g, *args):
    """F with ``F(*args, g) == vjp_call(fn, g, *args)`` (plain generated code)."""
    if _made_gradient(fn):  # grad(h) called inside: see rereverse.gradient_adjoint_view
        return compiler.gradient_adjoint_view(fn, args, g is not None)
    bound = None
    if _is_method(fn):
        fn, args, bound = fn.__func__, (fn.__self__, *args), fn.__self__
    first = 1 if bound is not None else 0
    wrt = tuple(i for i, a in enumerate(args) if i >= first and _differentiable(a))
    return compiler.adjoint_view(fn, args, wrt if g is not None else (), bound=bound)


def method_adjoint_fn(g, obj, name, *args):
    """F with ``F(g, obj, *args) == vjp_method(g, obj, name, *args)``."""
    fn = getattr(obj, name)
    if _is_method(fn) and fn.__self__ is obj:
        full = (obj, *args)
        wrt = tuple(i for i, a in enumerate(full) if _differentiable(a))
        return compiler.adjoint_view(fn.__func__, full, wrt if g is not None else (),
                                     seed_first=True)
    if type(fn) is types.FunctionType:  # a function kept in an attribute: obj unused
        wrt = tuple(i for i, a in enumerate(args) if _differentiable(a))
        return compiler.adjoint_view(fn, args, wrt if g is not None else (), seed_first=True,
                            lead=1)
    vjp_method(None, obj, name)  # (the same error)


def tangent_fn(fn, tangents, *args, pair=False):
    """G with ``G(*args, tangents) == jvp_call(fn, tangents, *args)`` (with ``pair``:
    ``== jvp_pair(fn, tangents, *args)``, the value and its tangent)."""
    bound = None
    if _is_method(fn):
        fn, args, bound = fn.__func__, (fn.__self__, *args), fn.__self__
        tangents = (None, *tangents)
    if _made_gradient(fn):  # grad(h) called in differentiated code: its generated code
        fn = fn.plain_function(args)
    filled = [_filled(t, a) for t, a in zip(tangents, args)]
    wrt = tuple(i for i, (a, t) in enumerate(zip(args, filled))
                if t is not None and _differentiable(a))
    return compiler.tangent_view(fn, args, wrt, filled, bound=bound, pair=pair)


def method_tangent_fn(obj, name, tangents, *args):
    """G with ``G(obj, tangents, *args) == jvp_method(obj, name, tangents, *args)``."""
    fn = getattr(obj, name)
    if _is_method(fn) and fn.__self__ is obj:
        full, tans = (obj, *args), tuple(tangents)
    elif type(fn) is types.FunctionType:
        full, tans = args, tuple(tangents[1:])
    else:
        vjp_method(None, obj, name)  # (the same error)
    filled = [_filled(t, a) for t, a in zip(tans, full)]
    wrt = tuple(i for i, (a, t) in enumerate(zip(full, filled))
                if t is not None and _differentiable(a))
    return compiler.tangent_view(fn.__func__ if full is not args else fn, full, wrt, filled,
                        method=True, lead=0 if full is not args else 1)


def filled_tangent(t, a):
    """``*args`` / ``**kwargs`` tangent ``t`` with zeros for its constant (None) entries."""
    return _filled(t, a)

"""Ordinary Python signatures: defaults, keyword-only parameters, ``*args``, ``**kwargs``.

Generated code takes a function's parameters *flat*: one positional parameter per
parameter of its signature, in the signature's order (the positional ones, then the
``*args`` tuple, then the keyword-only ones, then the ``**kwargs`` dict), so the
body reads every parameter under its own name, unchanged. A call is put in that
form once: at compile time for a call inside differentiated code (:func:`bind_call`,
defaults filled in), at each call for the public entry points (:func:`bind`).

``wrt`` and the call's arguments: an int selects a positional argument of the call
(one that lands in ``*args`` too, as JAX and the tape count); a name selects a
parameter, keeping its structure (the ``*args`` tuple, the ``**kwargs`` dict, a
keyword-only parameter whether passed or left to its default).
"""

from __future__ import annotations

import inspect
import math

import gast

from . import nodes as N
from ..errors import ArgumentError

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
NOT_CONSTANT = object()  # a nested def's default that is not a literal


def param_names(args):
    """The flat parameter names of a gast ``arguments`` node, in signature order."""
    names = [a.id for a in list(args.posonlyargs) + list(args.args)]
    if args.vararg is not None:
        names.append(args.vararg.id)
    names += [a.id for a in args.kwonlyargs]
    if args.kwarg is not None:
        names.append(args.kwarg.id)
    return names


def signature(fn):
    """``inspect.signature(fn)``, or None where Python cannot give one."""
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def is_plain(sig):
    """Positional parameters without defaults only: a call needs no binding."""
    return sig is not None and all(p.kind in _POSITIONAL and p.default is p.empty
                                   for p in sig.parameters.values())


def positional_count(sig):
    return sum(p.kind in _POSITIONAL for p in sig.parameters.values())


def vararg_index(sig):
    """The flat index of the ``*args`` parameter, or None."""
    for i, p in enumerate(sig.parameters.values()):
        if p.kind == p.VAR_POSITIONAL:
            return i
    return None


def bind(fn, sig, args, kwargs):
    """The flat argument tuple of the call ``fn(*args, **kwargs)`` (defaults filled in)."""
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as exc:
        code = getattr(fn, "__code__", None)
        raise ArgumentError(
            f"cannot call '{getattr(fn, '__name__', fn)}' with these arguments ({exc})",
            function=getattr(fn, "__name__", None),
            filename=getattr(code, "co_filename", None),
            lineno=getattr(code, "co_firstlineno", None),
            hint=f"call it as its signature says: {getattr(fn, '__name__', 'f')}{sig}") from None
    bound.apply_defaults()
    return tuple(bound.arguments.values())


def primal_layout(sig, n):
    """For a call with ``n`` positional arguments (``vjp``, ``jvp``): the flat indices
    they fill, and whether the last of those is the ``*args`` tuple (holding the rest)."""
    npos = positional_count(sig)
    var = vararg_index(sig)
    wrt = tuple(range(min(n, npos)))
    if n > npos and var is not None:
        return wrt + (var,), True
    return wrt, False


def per_primal(values, packed):
    """Flat results (one per index ``primal_layout`` gave) -> one per positional argument."""
    values = list(values)
    if packed:
        values = values[:-1] + list(values[-1])
    return tuple(values)


def from_tree(args):
    """An ``inspect.Signature`` for a gast ``arguments`` node (a nested def or lambda):
    a default is its literal value, or :data:`NOT_CONSTANT`."""
    P = inspect.Parameter
    positional = list(args.posonlyargs) + list(args.args)
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = []
    for i, (a, d) in enumerate(zip(positional, defaults)):
        kind = P.POSITIONAL_ONLY if i < len(args.posonlyargs) else P.POSITIONAL_OR_KEYWORD
        params.append(P(a.id, kind, default=P.empty if d is None else _literal_of(d)))
    if args.vararg is not None:
        params.append(P(args.vararg.id, P.VAR_POSITIONAL))
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        params.append(P(a.id, P.KEYWORD_ONLY, default=P.empty if d is None else _literal_of(d)))
    if args.kwarg is not None:
        params.append(P(args.kwarg.id, P.VAR_KEYWORD))
    return inspect.Signature(params)


def _literal_of(node):
    try:
        return _Literal(gast.literal_eval(node))
    except ValueError:
        return NOT_CONSTANT


class _Literal:
    """A default read from source (distinct from argument nodes while binding)."""

    def __init__(self, value):
        self.value = value


def bind_call(sig, call, default_node):
    """The flat arguments of ``call`` (a gast Call in A-normal form) as nodes: a Tuple
    for ``*args``, a Dict for ``**kwargs``; a default left out becomes
    ``default_node(parameter name, value)``. Raises TypeError as Python would."""
    bound = sig.bind(*call.args, **{k.arg: k.value for k in call.keywords})
    bound.apply_defaults()
    given = _given(sig, call)
    out = []
    for name, value in bound.arguments.items():
        kind = sig.parameters[name].kind
        if kind == inspect.Parameter.VAR_POSITIONAL:
            out.append(N.tuple_([N.clone(v) for v in value]))
        elif kind == inspect.Parameter.VAR_KEYWORD:
            out.append(gast.Dict(keys=[N.const(k) for k in value],
                                 values=[N.clone(v) for v in value.values()]))
        elif name in given:
            out.append(N.clone(value))
        else:
            out.append(default_node(name, value.value if isinstance(value, _Literal) else value))
    return out


def _given(sig, call):
    names = [p.name for p in sig.parameters.values() if p.kind in _POSITIONAL]
    return set(names[:len(call.args)]) | {k.arg for k in call.keywords}


def is_literal(value):
    """A default simple enough to print into generated code as it is."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is tuple:
        return all(is_literal(v) for v in value)
    return False


def literal_node(value):
    if type(value) is tuple:
        return N.tuple_([literal_node(v) for v in value])
    return N.const(value)

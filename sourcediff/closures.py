"""Nested functions that read differentiated locals: lift them.

``def inner(v): return v * c`` inside ``f``, where ``c`` depends on the
differentiated arguments, is *lifted* to ``def inner_lifted(v, c): return v * c``
(same body, the enclosing locals it reads become trailing parameters), so the
call ``inner(x)`` can be differentiated with respect to ``c`` as well, through
the callee's own generated adjoint (or tangent).
"""

from __future__ import annotations

import zlib

import gast

from . import codegen
from . import nodes as N

_lifted = {}  # (function source file, line, name) -> lifted function


def nested_definition(parsed, name):
    """The ``def name`` or ``name = lambda ...`` inside ``parsed``'s function, if unique."""
    found = []
    for node in N.walk(parsed.tree):
        if isinstance(node, gast.FunctionDef) and node is not parsed.tree and node.name == name:
            found.append(node)
        elif isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda) and any(
                isinstance(t, gast.Name) and t.id == name for t in node.targets):
            found.append(node.value)
    return found[0] if len(found) == 1 else None


def free_locals(parsed, inner):
    """Names ``inner`` reads that are locals (or parameters) of the enclosing function."""
    own = {a.id for a in inner.args.args} | set(N.names_in(inner, gast.Store))
    outer = set(N.names_in(parsed.tree, gast.Store)) | {a.id for a in parsed.tree.args.args}
    out = []
    for n in N.names_in(inner, gast.Load):
        if n not in own and n in outer and n not in out:
            out.append(n)
    return out


def lift(parsed, call_, varied):
    """``(lifted function, extra argument names)`` for a call to a nested function that
    reads differentiated locals; None when there is nothing to lift."""
    if not isinstance(call_.func, gast.Name):
        return None
    inner = nested_definition(parsed, call_.func.id)
    if inner is None:
        return None
    free = free_locals(parsed, inner)
    if not any(n in varied for n in free):
        return None
    key = (parsed.filename, getattr(inner, "lineno", 0), call_.func.id, tuple(free))
    if key not in _lifted:
        _lifted[key] = _compile(parsed, inner, call_.func.id, free)
    return _lifted[key], free


def _compile(parsed, inner, name, free):
    args = [a.id for a in inner.args.args] + free
    body = inner.body if isinstance(inner, gast.FunctionDef) else [N.return_(inner.body)]
    fname = f"{name}_lifted" if name.isidentifier() else "lifted"
    fdef = gast.FunctionDef(
        name=fname,
        args=gast.arguments(args=[gast.Name(id=a, ctx=gast.Param(), annotation=None,
                                            type_comment=None) for a in args],
                            posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                            kwarg=None, defaults=[]),
        body=[N.clone(s) for s in body], decorator_list=[], returns=None, type_comment=None,
        type_params=[])
    src = codegen.to_source(fdef)
    filename = f"<sourcediff lifted {parsed.name}.{fname}:{zlib.crc32(src.encode()):08x}>"
    return codegen.compile_function(src, fname, getattr(parsed.fn, "__globals__", {}), filename)


def callee(parsed, call_, varied, names, extra_globals):
    """The function node and arguments to differentiate a user call with: the call as
    written, or the lifted nested function with the locals it reads appended."""
    func, args = N.clone(call_.func), list(call_.args)
    lifted = lift(parsed, call_, varied)
    if lifted is not None:
        fn, free = lifted
        func = N.name(names.global_name(fn.__name__))
        extra_globals[func.id] = fn
        args += [N.name(n) for n in free]
    return func, args

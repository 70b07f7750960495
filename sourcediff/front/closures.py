"""Nested functions that read differentiated locals: lift them.

``def inner(v): return v * c`` inside ``f``, where ``c`` depends on the
differentiated arguments, is *lifted* to ``def inner_lifted(v, c): return v * c``
(same body, the enclosing locals it reads become trailing parameters), so the
call ``inner(x)`` can be differentiated with respect to ``c`` as well, through
the callee's own generated adjoint (or tangent).

Every call to user code is bound to the callee's signature here, at compile time
(:func:`callee`): keywords, defaults, ``*args`` and ``**kwargs`` become the flat
positional arguments the callee's generated code takes (see :mod:`signature`).
"""

from __future__ import annotations


import gast

from ..ir import codegen
from ..ir import nodes as N
from ..ir import signature
from .fence import fail
from . import resolve
from .resolve import static_value



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
    own = set(signature.param_names(inner.args)) | set(N.names_in(inner, gast.Store))
    outer = set(N.names_in(parsed.tree, gast.Store)) | set(
        signature.param_names(parsed.tree.args))
    out = []
    for n in N.names_in(inner, gast.Load):
        if n not in own and n in outer and n not in out:
            out.append(n)
    return out


def enclosing_cells(parsed, inner, taken=()):
    """Names ``inner`` reads from a scope around the differentiated function (its closure
    cells: ``scale`` in ``def make(scale): def loss(w): def inner(v): ...``), and the other
    functions defined in the differentiated function that it calls. The lifted
    function is compiled at module level, so it gets them as parameters too, read by the
    caller at each call (never values baked in when it was compiled)."""
    cells = set(getattr(getattr(parsed.fn, "__code__", None), "co_freevars", ()))
    cells |= {n.name for n in N.walk(parsed.tree) if isinstance(n, gast.FunctionDef)
              and n is not parsed.tree and n is not inner}  # sibling helpers: values too
    own = set(signature.param_names(inner.args)) | set(N.names_in(inner, gast.Store))
    out = []
    for n in N.names_in(inner, gast.Load):
        if n in cells and n not in own and n not in taken and n not in out:
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
    free += enclosing_cells(parsed, inner, free)
    key = ("lifted", parsed.filename, getattr(inner, "lineno", 0), call_.func.id, tuple(free))
    return codegen.cached(key, lambda: _compile(parsed, inner, call_.func.id, free)), free


def lifted_function(parsed, inner, name):
    """``(lifted function, the enclosing locals it takes last)`` for the nested function
    ``inner`` (a def or a lambda) where it reads locals of ``parsed``'s function; None
    where it reads none (it needs no lifting)."""
    free = free_locals(parsed, inner)
    if not free:
        return None
    free += enclosing_cells(parsed, inner, free)
    key = ("lifted", parsed.filename, getattr(inner, "lineno", 0),
           getattr(inner, "col_offset", 0), name, tuple(free))
    return codegen.cached(key, lambda: _compile(parsed, inner, name, free)), free


def _compile(parsed, inner, name, free):
    args = signature.param_names(inner.args) + free
    body = inner.body if isinstance(inner, gast.FunctionDef) else [N.return_(inner.body)]
    fname = f"{name}_lifted" if name.isidentifier() else "lifted"
    fdef = N.function_def(fname, args, [N.clone(s) for s in body])
    codegen.spell([fdef], (), N.anno(parsed.tree, resolve.USERS, {}))  # (the user's names)
    return codegen.compile_tree(fdef, getattr(parsed.fn, "__globals__", {}),
                                f"lifted {parsed.name}.{fname}")[0]


def callee(parsed, call_, ns, varied, names, extra_globals):
    """The function node and flat arguments to differentiate a user call with: the call
    bound to the callee's signature, or the lifted nested function with the locals it
    reads appended. A ``*args`` argument is a Tuple node, a ``**kwargs`` one a Dict."""
    func = N.clone(call_.func)
    args = bound_arguments(parsed, call_, ns, names, extra_globals)
    lifted = lift(parsed, call_, varied)
    if lifted is not None:
        fn, free = lifted
        func = N.name(names.global_name(fn.__name__))
        extra_globals[func.id] = fn
        args += [N.name(n) for n in free]
    return func, args


def bound_arguments(parsed, call_, ns, names, extra_globals):
    """``call_``'s arguments bound to the callee's signature (module-level functions
    by ``inspect``, nested ones by their definition); as written where it is unknown."""
    fn = static_value(call_.func, ns)
    label = getattr(fn, "__name__", None)
    sig = signature.signature(fn) if callable(fn) else None
    if sig is None and isinstance(call_.func, gast.Name):
        inner = nested_definition(parsed, call_.func.id)
        label = call_.func.id
        sig = signature.from_tree(inner.args) if inner is not None else None
    if sig is None:
        if call_.keywords:
            fail(parsed, call_, "keyword arguments in a call to a function not known at "
                 "compile time", "pass the arguments by position, or call a function "
                 "defined at module level or in this function")
        return list(call_.args)
    if signature.is_plain(sig) and not call_.keywords and len(call_.args) == len(
            sig.parameters):
        return list(call_.args)

    def default(pname, value):
        if value is signature.NOT_CONSTANT:
            fail(parsed, call_, f"a call to the nested function '{label}' leaving out "
                 f"'{pname}', whose default is not a constant", f"pass {pname} explicitly")
        if signature.is_literal(value):
            return signature.literal_node(value)
        gname = names.global_name(f"{label}_{pname}_default" if str(label).isidentifier()
                                  else f"{pname}_default")
        extra_globals[gname] = value  # data: passed like the rest, never printed
        return N.name(gname)
    try:
        return signature.bind_call(sig, call_, default)
    except TypeError as exc:
        fail(parsed, call_, f"this call to {label} ({exc})", "check its arguments")


def closure_reads(parsed):
    """For each nested function: the enclosing locals it reads."""
    out = {}
    for node in N.walk(parsed.tree):
        name = None
        if isinstance(node, gast.FunctionDef) and node is not parsed.tree:
            name = node.name
        elif isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda) \
                and isinstance(node.targets[0], gast.Name):
            name = node.targets[0].id
        inner = nested_definition(parsed, name) if name else None
        if inner is not None:
            out[name] = free_locals(parsed, inner)
    return out

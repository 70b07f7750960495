"""The function ``grad`` returns: one Python frame, no wrapper overhead.

``grad(f)`` returns a plain function with ``f``'s positional signature. Its
first call takes the slow path (:class:`api.GradFunction`: check arguments,
compile the adjoint for their types and shapes), then installs *entry code*:
the generated adjoint itself, headed by a guard on those types and shapes and
ending by giving each gradient its argument's type. Later calls with the same
kinds of arguments run that code directly; anything else re-dispatches.
"""

from __future__ import annotations

import functools
import inspect
import re
import types

import gast
import numpy as np

from ..ir import codegen, freevars
from ..values import duck
from ..values.spec import Items
from .. import runtime
from . import pyfloats
from ..ir import nodes as N
from ..opt.regions import zeros_of


def public_function(state):
    """A function with ``state.fn``'s signature that dispatches to ``state`` (positional
    parameters, with or without defaults; else None: ``state`` binds each call)."""
    try:
        params = list(inspect.signature(state.fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if not params or any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                         for p in params):
        return None
    names = [p.name for p in params]
    fname = getattr(state.fn, "__name__", "")
    if any(n.startswith("_sd_") for n in names) or not fname.isidentifier() \
            or not isinstance(state.fn, types.FunctionType):
        return None
    glob = {"_sd_dispatch": state.slow_call, "_sd_like": runtime.like,
            "_sd_ndarray": np.ndarray, "__name__": "sourcediff.generated"}
    args = ", ".join(names)
    src = f"def {state.fn.__name__}_grad({args}):\n    return _sd_dispatch({args})\n"
    fn = codegen.compile_function(src, f"{state.fn.__name__}_grad", glob,
                                  f"dispatch {state.fn.__name__}", shown=False)
    functools.update_wrapper(fn, state.fn, assigned=("__module__", "__qualname__", "__doc__"),
                             updated=())
    del fn.__wrapped__  # inspect should show the generated code, not the user's
    # the same default values (objects): Python fills them in, so the dispatcher and the
    # entry code installed in its place take every argument, positionally, as the
    # generated code does (:mod:`signature`: the flat form)
    fn.__defaults__ = tuple(p.default for p in params if p.default is not p.empty) or None
    fn.__name__ = state.fn.__name__
    fn.__sourcediff_state__ = state
    fn.plain_function = state.plain_function
    return fn


# the names the entry code adds (generated code reaches the helpers through _sd, no other)
_OWN = re.compile(r"_sd_(t|dt|s|c|arg|g|sh)\d+|_sd_t\d+k"
                  r"|_sd_(value|dispatch|like|ndim|ndarray|module|empty|exact|f64)")


def install(public, state, adj, args, key, statics=(), complex_floats=False):
    """Point ``public`` at the adjoint specialised for ``key`` (guarded), and compiled with
    the functions in ``statics`` (a :func:`freevars.snapshot`); ``complex_floats``: a float
    argument's gradient comes out complex, so ``like`` finishes it, not ``float``."""
    fdef = adj.tree
    params = [a.id for a in fdef.args.args]
    nodes = list(N.walk(fdef))  # (one walk, read three times)
    if len(params) != len(args) or any(_OWN.fullmatch(n) for n in {
            node.id for node in nodes if type(node) is gast.Name}):
        return  # (a name of the user's spelled like the entry code's own: the slow path)
    glob = public.__globals__
    for k, v in adj.fn.__globals__.items():
        if not k.startswith("__"):
            glob[k] = v  # (not setdefault: a helper redefined since replaces the old one)
    guards = []
    for i, (p, k) in enumerate(zip(params, key)):
        if isinstance(k, duck.Key):        # a Dask array...: its type and dtype
            glob[f"_sd_t{i}"], glob[f"_sd_dt{i}"] = k.type, k.dtype
            guards.append(f"type({p}) is not _sd_t{i} or {p}.dtype != _sd_dt{i}")
        elif isinstance(k, Items):         # a tuple or dict: its length or keys too
            glob[f"_sd_t{i}"], glob[f"_sd_t{i}k"] = k.type, k.item
            guards.append(k.guard(p, f"_sd_t{i}"))
        elif isinstance(k, tuple):         # an array: (shape, dtype)
            glob[f"_sd_dt{i}"] = k[1]
            guards.append(f"type({p}) is not _sd_ndarray or {p}.shape != {k[0]!r} "
                          f"or {p}.dtype is not _sd_dt{i}")
        else:
            glob[f"_sd_t{i}"] = k
            guards.append(f"type({p}) is not _sd_t{i}")
    glob["_sd_empty"] = freevars.EMPTY
    for j, (where, name, obj) in enumerate(statics):
        glob[f"_sd_s{j}"] = obj
        if name is None:  # a closure cell
            glob[f"_sd_c{j}"] = where
            guards.append(f"_sd_c{j}.cell_contents is not _sd_s{j}")
        else:             # the module's globals
            glob["_sd_module"] = where
            guards.append(f"_sd_module.get({name!r}, _sd_empty) is not _sd_s{j}")
    call = ", ".join(params)
    # one line per argument checked, then one per function (module...) the code resolved
    guard = ("    # arguments of other types or shapes, or a function redefined since, go back\n"
             "    # to the dispatcher\n"
             "    if (" + "\n            or ".join(guards) + "):\n"
             f"        return _sd_dispatch({call})\n")
    # a parameter the body assigns to (``a = a * 2``) is kept under another name: the
    # gradient takes the type of the argument passed, not of the value rebound to it
    rebound = {node.id for node in nodes if type(node) is gast.Name
               and type(node.ctx) is gast.Store} & set(params)
    kept = {p: f"_sd_arg{i}" if p in rebound else p for i, p in enumerate(params)}
    guard += "".join(f"    {kept[p]} = {p}\n" for p in params if p in rebound)
    call = ", ".join(kept[p] for p in params)
    lazy = any(isinstance(k, duck.Key) for k in key)  # (float() would compute a lazy value)
    plain_floats = not lazy and not complex_floats
    value, grads, aux = _returned(N.clone(fdef.body[-1]))
    name = public.__code__.co_name
    stmts, checks, ret, _ = _tail(state, value, grads, aux, params, kept, key, glob, call,
                                  plain_floats, buffers=_zero_buffers(nodes))
    tail = (_indented(stmts) if stmts else "") + checks + _indented([ret])
    top, middle = _splice(adj.source, fdef, adj.name, name)
    entry = codegen.compile_function(top + guard + middle + tail, name, glob, f"entry {name}",
                                     shown=False)
    if plain_floats and all(k in _PY_SCALARS for k in key):
        body = _in_floats(state, adj, params, kept, key, glob, call)
        if body is not None:  # (the code as it was: where Python raises, and NumPy does not)
            glob["_sd_exact"], glob["_sd_f64"] = entry, np.float64
            entry = codegen.compile_function(top + guard + body, name, glob, f"entry {name}",
                                             shown=False)
    # only the code is kept: it runs with the public function's own globals
    public.__code__ = entry.__code__


_PY_SCALARS = {float: pyfloats.PYF, int: pyfloats.PYI, bool: pyfloats.PYB}


def _returned(ret):
    """The value, raw gradients and aux (or None) of the adjoint's return ``ret``."""
    value, grads = ret.value.elts[0], ret.value.elts[1].elts
    return value, grads, ret.value.elts[2] if len(ret.value.elts) > 2 else None


def _tail(state, value, grads, aux, params, kept, key, glob, call, plain_floats,
          named=False, buffers=None):
    """The entry code after the adjoint's body: statements (the value checked to be a
    scalar...), the lines that give each gradient its argument's type, the return, and
    (``named``) the names the gradients finished by ``float()`` are given first;
    ``buffers``: :func:`_zero_buffers` of the adjoint."""
    stmts = []
    if not (isinstance(value, gast.Constant) and value.value is None):
        stmts.append(N.assign("_sd_value", value))
        stmts += N.parse_stmts("if not isinstance(_sd_value, float) and _sd_ndim(_sd_value):\n"
                               "    return _sd_dispatch(" + call + ")")
        glob["_sd_ndim"] = np.ndim
        value = N.name("_sd_value")
    finished, checks = _finishers(grads, state.wrt, params, kept, key, glob, stmts,
                                  plain_floats, buffers)
    names = []
    for i, g in enumerate(finished):
        if named and isinstance(g, gast.Call) and isinstance(g.func, gast.Name) \
                and g.func.id == "float":
            names.append(f"_sd_g{i}")
            stmts.append(N.assign(names[-1], g))
            finished[i] = N.name(names[-1])
    result = finished[0] if state.single else N.tuple_(finished)
    if state.has_aux and not state.with_value:
        result = N.tuple_([result, aux])
    elif state.with_value:
        result = N.tuple_([N.tuple_([value, aux]) if state.has_aux else value, result])
    return stmts, checks, N.return_(result), names


def _in_floats(state, adj, params, kept, key, glob, call):
    """The entry code's lines after its guard, its scalar code in Python floats
    (:mod:`pyfloats`), or None (nothing to convert)."""
    value, grads, aux = _returned(adj.tree.body[-1])
    returned = [(value, "value" if state.with_value else "check")]
    returned += [(g, "float" if key[i] is float else None) for g, i in zip(grads, state.wrt)]
    returned += [(aux, None)] if aux is not None else []
    plan = pyfloats.plan(adj.tree.body[1:-1], adj.fn.__globals__, params,
                         [_PY_SCALARS[k] for k in key], returned)
    if plan is None:
        return None
    memo = {}  # (the plan names nodes of adj.tree: rewritten in a copy)
    tree = N.clone(adj.tree, memo)
    plan = plan.moved({old: id(new) for old, new in memo.items()})
    value, grads, aux = _returned(tree.body[-1])
    body = pyfloats.rewrite(tree.body[1:-1], plan)
    value, *grads = pyfloats.rewrite([value, *grads], plan)
    if plan.value_f64:
        value = N.call("_sd_f64", [value])  # (a float64 without the conversions)
    stmts, _, ret, names = _tail(state, value, grads, aux, params, kept, key, glob, call,
                                 True, named=True)
    notes = ["scalar code in Python floats: float() gives a NumPy function's float64 result",
             "as a Python float, the same double (Python's arithmetic on it is faster)"]
    if plan.wraps:
        notes += ["_sd_f64: a power Python could make complex is NumPy's (nan), as it was"]
    if plan.raising:
        notes += ["where Python raises (a division by zero, an overflow) and NumPy gives inf",
                  "or nan, the code as it was runs instead (_sd_exact): the same result"]
    if names:  # (Python floats: x * 0.0 is 0.0 for a finite x, nan for inf and nan; a
        #        sum that overflows only runs the code as it was, to the same result)
        ret = [N.comment("a gradient that is inf or nan: the code as it was gives it, with "
                         "NumPy's"),
               N.comment("warnings (or its error, under np.errstate)"),
               N.if_(N.parse_expr(f"({' + '.join(names)}) * 0.0 == 0.0"), [ret])]
    else:
        ret = [ret]
    inner = [N.comment(n) for n in notes] + body + stmts + ret
    exact = N.return_(N.call("_sd_exact", [N.name(kept[p]) for p in params]))
    if plan.raising:
        inner = [gast.Try(body=inner, handlers=[gast.ExceptHandler(
            type=N.name("ArithmeticError"), name=None, body=[gast.Pass()])], orelse=[],
            finalbody=[])]
    return _indented(inner + [exact] if plan.raising or names else inner)


def _zero_buffers(nodes):
    """The names of the adjoint (``nodes``: all its nodes, in ``walk`` order) that only
    ever hold a zero buffer ``zeros_for(p)`` updated in place (``name[i] = e``, ``name[i]
    += e``, ``name += e``), as name -> ``p``: an array of ``p``'s shape and dtype,
    writeable, whatever is written into it."""
    made, in_place, other = {}, set(), set()
    for node in nodes:  # (breadth first: a statement before the names it binds)
        if isinstance(node, gast.AugAssign):
            in_place.add(id(node.target))
        elif isinstance(node, gast.Assign) and len(node.targets) == 1 \
                and isinstance(zeros_of(node.value, printed=True), gast.Name):
            made.setdefault(node.targets[0].id, set()).add(zeros_of(node.value, True).id)
            in_place.add(id(node.targets[0]))
        elif isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) \
                and id(node) not in in_place:
            other.add(node.id)
    return {v: p.pop() for v, p in made.items() if v not in other and len(p) == 1}


def _finishers(grads, wrt, params, kept, key, glob, stmts, plain_floats, buffers=None):
    """Each raw gradient (an expression of the adjoint's return) given its argument's
    type: ``float(g)`` for a float argument (where ``plain_floats``); for a float array
    argument, an inline check, and ``_sd_like`` only where ``g`` is not already what it
    would return as is (an ndarray of that shape and dtype, writeable): four checks
    instead of a call. -> (the finished expressions, the checks' lines); statements that
    name a gradient for its check are appended to ``stmts``."""
    finished, checks = [], ""
    for g, i in zip(grads, wrt):
        x = kept[params[i]]
        if key[i] is float and plain_floats:
            finished.append(N.call("float", [g]))
        elif type(key[i]) is tuple and np.issubdtype(key[i][1], np.inexact):
            # (a variable of the adjoint is checked as it is, unless it is the gradient
            # of two arguments: each is finished from the raw one, not one from the other)
            own = isinstance(g, gast.Name) and g.id not in params and sum(
                isinstance(h, gast.Name) and h.id == g.id for h in grads) == 1
            v = g.id if own else f"_sd_g{i}"
            if not own:
                stmts.append(N.assign(v, g))
            glob[f"_sd_sh{i}"] = key[i][0]
            if own and (buffers or {}).get(v) == params[i]:
                finished.append(N.name(v))  # (its argument's zeros, updated in place)
                continue
            checks += (f"    if (type({v}) is not _sd_ndarray or {v}.shape != _sd_sh{i}\n"
                       f"            or {v}.dtype is not _sd_dt{i} or not {v}.flags.writeable):\n"
                       f"        {v} = _sd_like({v}, {x})\n")
            finished.append(N.name(v))
        else:
            finished.append(N.call("_sd_like", [g, N.name(x)]))
    if checks:
        checks = ("    # each gradient given its argument's type, shape and dtype (_sd_like\n"
                  "    # where it has not them yet)\n" + checks)
    return finished, checks


def _splice(source, tree, old_name, name):
    """The adjoint's printed ``source`` (of ``tree``, named ``old_name``) cut in two: its
    head and docstring renamed ``name``, and the body between its docstring and its
    return, reused as printed (with its comments), neither printed nor parsed again."""
    lines = source.splitlines(keepends=True)
    doc_end, ret_start = _doc_and_return(source, tree)
    top = "".join(lines[:doc_end]).replace(f"def {old_name}(", f"def {name}(", 1)
    return top, "".join(lines[doc_end:ret_start - 1])


def _doc_and_return(source, tree):
    """The line ``tree``'s docstring ends on and the line its return starts on, in its
    printed ``source``: where the header with the docstring alone and the return alone
    print the same text (the printer writes one statement after another), without
    parsing the whole source again."""
    doc, ret = tree.body[0], tree.body[-1]
    header = codegen.to_source(gast.FunctionDef(
        name=tree.name, args=tree.args, body=[doc], decorator_list=[], returns=None,
        type_comment=None, type_params=[]))
    last = _indented([ret])
    if source.startswith(header) and source.endswith("\n" + last):
        return header.count("\n"), source.count("\n") - last.count("\n") + 1
    parsed = N.parse_ast(source).body[0]  # (not expected)
    return parsed.body[0].end_lineno, parsed.body[-1].lineno


def _indented(stmts):
    """``stmts`` printed as the body of a function."""
    holder = gast.FunctionDef(name="_", args=gast.arguments(
        args=[], posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
        defaults=[]), body=stmts, decorator_list=[], returns=None, type_comment=None,
        type_params=[])
    return codegen.to_source(holder).split("\n", 1)[1]

"""Free variables: what a function reads from its module and its closure.

Python reads a global or a closure variable when the line runs, so a gradient
must too: after ``k = 5.0`` (or a new batch in ``data``) the next call sees the
new value. The compiler therefore splits the objects a function reads in two:

* **static** objects (functions, classes, modules, other callables): resolved
  once, at compile time; the derivative rules are chosen from them, so their
  identities are part of the cache key (held, so an id is never reused);
* **data** (numbers, arrays, containers, other objects): never built into the
  generated code. Its first lines read each one, as the function does::

      k = _globals['k']                     # a module global
      data = _closure['data'].cell_contents  # a closure variable

  Only a data value's type is in the cache key, so closures made afresh for
  every batch share one compiled gradient, each bound to its own cells.
"""

from __future__ import annotations

import types

import gast
import numpy as np

from . import nodes as N

GLOBALS, CLOSURE = "_globals", "_closure"  # the names the generated reads go through


def is_static(value):
    """Resolved at compile time (a function, class, module or other callable)?"""
    return callable(value) or isinstance(value, types.ModuleType)


class Same:
    """A cache-key part equal only to itself's object (held, so its id stays unique)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return type(other) is Same and other.obj is self.obj


_EMPTY = EMPTY = object()  # an empty cell or a global not (yet) defined


# static objects that compare by identity anyway: the key can hold them as they are
_BY_IDENTITY = {types.FunctionType, types.ModuleType, types.BuiltinFunctionType, type, np.ufunc}


def _signature(value):
    t = type(value)
    if t in _BY_IDENTITY:
        return value
    return Same(value) if is_static(value) else t


_names = {}  # id(code) -> (code, its global names): the code is held, so ids stay unique


def _global_names(code):
    """Names ``code`` (and the code nested in it) may read as globals."""
    hit = _names.get(id(code))
    if hit is not None and hit[0] is code:
        return hit[1]
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(_global_names(const))
    names = tuple(sorted(names))
    _names[id(code)] = (code, names)
    return names


def _contents(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return _EMPTY


def cache_key(fn, *parts):
    """What compiled code for ``fn`` depends on: its code, its module, the identity of
    every static object it can read and the type of every data value."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return (Same(fn), *parts)
    glob = getattr(fn, "__globals__", None)
    cells = tuple([_signature(_contents(c)) for c in fn.__closure__ or ()])
    reads = tuple([_signature(glob.get(n, _EMPTY)) for n in _global_names(code)]) \
        if glob is not None else ()
    return (code, Same(glob), cells, reads, *parts)


def data_reads(fdef, fn, ns, renamed=None, loads=None):
    """``{name: GLOBALS or CLOSURE}`` for the data names ``fdef`` reads from ``fn``'s
    module or closure, in the order it first reads them. ``renamed``: {name in
    ``fdef``: the user's name} for names generated code reserves (``resolve.RENAMED``);
    ``loads``: the names ``fdef`` reads, in order (``names_in(fdef, gast.Load)``), if the
    caller has them."""
    code = getattr(fn, "__code__", None)
    cells = set(code.co_freevars) if code is not None and fn.__closure__ else set()
    glob = getattr(fn, "__globals__", {})
    renamed = renamed or {}
    out = {}
    for name in N.names_in(fdef, gast.Load) if loads is None else loads:
        if name in out or name not in ns or is_static(ns[name]):
            continue
        if renamed.get(name, name) in cells:
            out[name] = CLOSURE
        elif renamed.get(name, name) in glob:
            out[name] = GLOBALS
    return out


def prologue(reads, fname, via, renamed=None):
    """The statements that read ``reads`` (``data_reads``) at each call; ``via`` maps
    GLOBALS and CLOSURE to the names the generated code has for them."""
    if not reads:
        return []
    renamed = renamed or {}
    stmts = [N.comment(f"data {fname} reads from outside: the values at this call")]
    for name, where in reads.items():
        item = gast.Subscript(value=N.name(via[where]), slice=N.const(renamed.get(name, name)),
                              ctx=gast.Load())
        if where == CLOSURE:
            item = gast.Attribute(value=item, attr="cell_contents", ctx=gast.Load())
        stmts.append(N.assign(name, item))
    return stmts


def environment(fn, reads, via):
    """The globals the prologue needs: ``fn``'s module and its closure cells by name."""
    env = {}
    if GLOBALS in reads.values():
        env[via[GLOBALS]] = fn.__globals__
    if CLOSURE in reads.values():
        env[via[CLOSURE]] = cells(fn)
    return env


def cells(fn):
    """``fn``'s closure cells by variable name (what ``_closure`` holds)."""
    return dict(zip(fn.__code__.co_freevars, fn.__closure__))


def static_names(ns):
    """The names in a resolved namespace that hold static objects (compiled in)."""
    return tuple(sorted(n for n, v in ns.items() if isinstance(n, str) and is_static(v)))


def snapshot(fn, names):
    """What ``fn`` reads as ``names`` from its closure and module now, as ``(where, name,
    object)`` triples: ``where`` a closure cell (``name`` None) or ``fn``'s module globals
    (builtins are left out). Compiled code that resolved these names holds while
    :func:`unchanged` says so: a helper redefined in a notebook makes it false."""
    glob = getattr(fn, "__globals__", None)
    if glob is None or not names:
        return ()
    by_cell = cells(fn) if getattr(fn, "__closure__", None) else {}
    out = []
    for n in names:
        cell = by_cell.get(n)
        if cell is not None:
            out.append((cell, None, _contents(cell)))
        elif n in glob:
            out.append((glob, n, glob[n]))
    return tuple(out)


def unchanged(snap):
    """Does every name in ``snapshot`` still denote the same object?"""
    for where, name, obj in snap:
        now = _contents(where) if name is None else where.get(name, EMPTY)
        if now is not obj:
            return False
    return True


def data_names(ns):
    """The names in a resolved namespace that hold data, not static objects."""
    return {n for n, v in ns.items() if not is_static(v)}

"""Pass 8: print the generated tree with astor and compile it in memory (the one
place generated source becomes a function: :func:`compile_function`), and keep what was
compiled (:func:`cached`).

The source is registered in ``linecache`` under a deterministic file name,
so tracebacks, ``inspect.getsource`` and debuggers show the generated code.
No temporary files are written.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import linecache
import re
import threading
import warnings
import zlib

import gast
from gast.ast3 import GAstToAst3

from .names import RUNTIME
from .walks import child_fields, walk


@contextlib.contextmanager
def _quiet_astor():
    """Hide astor's own ``ast.Num``/``ast.Str`` DeprecationWarnings (Python 3.12+),
    which it raises on import and while printing: they are about astor, not the
    user's code. Only these warnings, and only while astor runs."""
    with _warnings_lock, warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"(ast\.\w+|Attribute \w+) is deprecated",
                                DeprecationWarning, r"astor\b")
        yield


_warnings_lock = threading.Lock()   # catch_warnings is process-wide: one at a time here
with _quiet_astor():
    import astor


_COMMENT = "__sourcediff_comment__ "
_registered = {}


def to_source(fdef):
    """Python source of a gast FunctionDef, with comment markers as ``#`` lines."""
    tree = _ToAst().visit(gast.Module(body=[fdef], type_ignores=[]))  # (a new tree)
    with _quiet_astor():
        src = astor.to_source(tree)
    src = re.sub(r"^(\s*)(\"\"\"|'|\")" + _COMMENT + r"(.*?)\2\s*$",
                 lambda m: f"{m.group(1)}# {_unescape(m.group(3))}", src, flags=re.M)
    return src


class _ToAst(GAstToAst3):
    """``gast.gast_to_ast`` (its per-version conversions kept), with comment markers
    spelled for printing, and without the per-node overhead of ``ast.NodeTransformer``:
    the visitor and the fields to copy are looked up once per node class. The tree is
    only printed, so source locations are not copied (astor does not read them)."""

    _methods = {}  # gast class -> the function converting it
    _targets = {}  # gast class -> (ast class, fields)

    def visit(self, node):
        method = self._methods.get(node.__class__)
        if method is None:
            method = getattr(type(self), "visit_" + node.__class__.__name__, None) \
                or type(self).generic_visit
            if not node._fields and getattr(ast, node.__class__.__name__, None):
                # a context or an operator (Load, Add): one instance of its ast class
                method = functools.partial(_the, getattr(ast, node.__class__.__name__)())
            self._methods[node.__class__] = method
        return method(self, node)

    def _visit(self, node):
        if isinstance(node, ast.AST):
            return self.visit(node)
        if type(node) is list:
            return [self.visit(n) if isinstance(n, ast.AST) else n for n in node]
        return node

    def generic_visit(self, node):
        target = self._targets.get(node.__class__)
        if target is None:
            cls = getattr(ast, node.__class__.__name__, None)
            target = self._targets[node.__class__] = (cls, node._fields)
        cls, fields = target
        if cls is None:  # (a node that is not part of the AST)
            return None
        ast_type, visit = ast.AST, self.visit
        kw = {}
        for f in fields:
            v = getattr(node, f, _MISSING)
            if v is _MISSING:
                continue
            if isinstance(v, ast_type):
                v = visit(v)
            elif type(v) is list:
                v = [visit(x) if isinstance(x, ast_type) else x for x in v]
            kw[f] = v
        return cls(**kw)

    def visit_Name(self, node):
        return ast.Name(node.id, self.visit(node.ctx))

    def visit_Assign(self, node):
        return ast.Assign([self.visit(t) for t in node.targets], self.visit(node.value), None)

    def visit_Expr(self, node):
        v = node.value
        if type(v) is gast.Constant and v.kind == "comment":
            return ast.Expr(value=ast.Constant(value=_COMMENT + v.value, kind=None))
        return self.generic_visit(node)


_MISSING = object()


def _the(instance, _self, _node):
    return instance


def _unescape(text):
    return text.replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")


def filename(label, src):
    """The file name generated code is registered under: ``<sourcediff label:crc>``, the
    same for the same source (deterministic), different for a different one."""
    return f"<sourcediff {label}:{zlib.crc32(src.encode()):08x}>"


def compile_function(src, name, namespace, label, shown=True):
    """Exec ``src`` (defining ``name``) with a copy of ``namespace`` as its globals, the
    source registered for tracebacks and ``inspect`` under :func:`filename` (``label``:
    what it is). ``shown``: :func:`sourcediff.source` of the function gives ``src``.
    Every piece of generated source becomes a function here."""
    where = filename(label, src)
    register(where, src)
    code = compile(src, where, "exec")
    glob = dict(namespace)
    exec(code, glob)
    fn = glob[name]
    if shown:
        fn.__sourcediff_source__ = src
    return fn


def compile_tree(fdef, namespace, label=None):
    """Print ``fdef`` and compile it: (the function, its source). ``label`` defaults to
    the function's name. (A tree the pipeline generated is given its printed names by
    :func:`spell` first.)"""
    src = to_source(fdef)
    return compile_function(src, fdef.name, namespace, label or fdef.name), src


def spell(trees, helpers, users):
    """Give ``trees``, functions the pipeline generated, their printed names, in place,
    once (``helpers`` and ``users``: those of the function's
    :class:`~sourcediff.ir.names.NameGen`):

    * a runtime helper, a plain name inside the compiler (``unbroadcast``, a name in
      ``helpers``), is reached through the one reserved name
      :data:`~sourcediff.ir.names.RUNTIME` (``_sd.unbroadcast``);
    * a user's name spelled otherwise inside the compiler (``users``: ``like_user`` for
      the user's ``like``) is written as the user wrote it.

    Name nodes are replaced, never changed (a node may be shared with a cache)."""
    seen, name_type = set(), gast.Name
    for tree in trees:
        for node in walk(tree):
            if id(node) in seen:
                continue
            seen.add(id(node))
            if type(node) is gast.FunctionDef and node.name in users:  # (a nested def)
                node.name = users[node.name]
            for field in child_fields(node.__class__):
                value = getattr(node, field, None)
                if type(value) is name_type:
                    if value.id in helpers or value.id in users:
                        setattr(node, field, _spelled(value, helpers, users))
                elif type(value) is list:
                    for i, v in enumerate(value):
                        if type(v) is name_type and (v.id in helpers or v.id in users):
                            value[i] = _spelled(v, helpers, users)
    return trees


def _spelled(name, helpers, users):
    if name.id in helpers and type(name.ctx) is gast.Load:
        return gast.Attribute(value=gast.Name(id=RUNTIME, ctx=gast.Load(), annotation=None,
                                              type_comment=None),
                              attr=name.id, ctx=gast.Load())
    if name.id in users:
        return gast.Name(id=users[name.id], ctx=name.ctx, annotation=name.annotation,
                         type_comment=name.type_comment)
    return name


_compiled = {}   # key -> what was compiled for it (see cached)
_compiling = threading.RLock()  # re-entrant: compiling one function may compile another
_NOTHING = object()


def cached(key, make):
    """``make()``, made once per ``key`` and kept: the one cache of what the compiler
    builds (adjoints ``("adjoint", ...)``, tangent code ``("jvp", ...)``, lifted nested
    functions ``("lifted", ...)``, output shapes ``("output shape", ...)``), under one lock.
    A hit takes no lock."""
    hit = _compiled.get(key, _NOTHING)
    if hit is _NOTHING:
        with _compiling:
            hit = _compiled.get(key, _NOTHING)
            if hit is _NOTHING:
                hit = _compiled[key] = make()
    return hit


def register(filename, src):
    """Show ``src`` for ``filename`` in tracebacks and ``inspect``."""
    linecache.cache[filename] = (len(src), None, src.splitlines(keepends=True), filename)
    _registered[filename] = src


def keep_registered():
    """Re-register generated sources if ``linecache.clearcache`` dropped them."""
    for filename, src in _registered.items():
        if filename not in linecache.cache:
            linecache.cache[filename] = (len(src), None, src.splitlines(keepends=True), filename)

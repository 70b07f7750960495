"""Pass 8: print the generated tree with astor and compile it in memory.

The source is registered in ``linecache`` under a deterministic file name,
so tracebacks, ``inspect.getsource`` and debuggers show the generated code.
No temporary files are written.
"""

from __future__ import annotations

import ast
import contextlib
import linecache
import re
import threading
import warnings

import gast


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
    tree = gast.gast_to_ast(gast.Module(body=[fdef], type_ignores=[]))  # (a new tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and node.value.kind == "comment":
            node.value = ast.Constant(value=_COMMENT + node.value.value, kind=None)
    with _quiet_astor():
        src = astor.to_source(tree)
    src = re.sub(r"^(\s*)(\"\"\"|'|\")" + _COMMENT + r"(.*?)\2\s*$",
                 lambda m: f"{m.group(1)}# {_unescape(m.group(3))}", src, flags=re.M)
    return src


def _unescape(text):
    return text.replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")


def compile_function(src, name, namespace, filename):
    """Exec ``src`` (defining ``name``) with ``namespace`` as its globals."""
    lines = src.splitlines(keepends=True)
    linecache.cache[filename] = (len(src), None, lines, filename)
    _registered[filename] = src
    code = compile(src, filename, "exec")
    glob = dict(namespace)
    exec(code, glob)
    fn = glob[name]
    fn.__sourcediff_source__ = src
    return fn


def register(filename, src):
    """Show ``src`` for ``filename`` in tracebacks and ``inspect``."""
    linecache.cache[filename] = (len(src), None, src.splitlines(keepends=True), filename)
    _registered[filename] = src


def keep_registered():
    """Re-register generated sources if ``linecache.clearcache`` dropped them."""
    for filename, src in _registered.items():
        if filename not in linecache.cache:
            linecache.cache[filename] = (len(src), None, src.splitlines(keepends=True), filename)

"""The text an exported module is made of: the standalone stand-ins for sourcediff's
markers, its ``vjp_call``, the global names a source reads, and constants as literals."""

from __future__ import annotations

import ast
import dis
import inspect
import math
import sys
import textwrap
import types

import numpy as np

from ..values import duck, markers, structure
from ..ir import nodes as N


_SHIMS = {
    duck.is_duck: inspect.getsource(duck.is_duck),  # (NumPy only: copied as it is)
    structure.kind_of: '''\
def kind_of(x):
    """No container kinds (dataclasses, NamedTuples...) in an exported module."""
    return None
''',
    markers.stop_gradient: '''\
def stop_gradient(x):
    """The identity at run time (sourcediff cuts the gradient at compile time)."""
    return x
''',
    markers.no_grad: '''\
class no_grad:
    """A do-nothing context manager at run time (sourcediff cuts the gradient)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
''',
}

_VJP_CALL = '''\
def vjp_call(fn, g, *args):
    """Cotangents of the arguments of a call to user function ``fn`` (exported adjoints)."""
    wrt, adjoint = _ADJOINTS[fn]
    out = [None] * len(args)
    if g is None:
        return out
    grads = adjoint(*args, g)[1]
    for i, gi in zip(wrt, grads):
        out[i] = gi
    return out
'''

_MAX_ARRAY = 10_000


def global_loads(src):
    """Global names read by ``src`` (defs, a class, assignments), in first-use order."""
    top = set()
    for node in N.parse_ast(src).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            top.add(node.name)
        elif isinstance(node, ast.Assign):
            top |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    out = []
    stack = [compile(src, "<export>", "exec")]
    while stack:
        code = stack.pop(0)
        for ins in dis.get_instructions(code):
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and ins.argval not in out:
                out.append(ins.argval)
        stack += [k for k in code.co_consts if isinstance(k, types.CodeType)]
    return [n for n in out if n not in top and not n.startswith("__")]


def _def_source(obj):
    """The source of a module-level def or class, dedented, decorators dropped."""
    src = textwrap.dedent(inspect.getsource(obj))
    node = N.parse_ast(src).body[0]
    return "\n".join(src.splitlines()[node.lineno - 1:]) + "\n"


def _literal(v):
    """Python source for a simple constant, or None."""
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else f"float({repr(v)!r})"
    if isinstance(v, complex):
        return f"complex({_literal(v.real)}, {_literal(v.imag)})"
    if isinstance(v, tuple):
        items = [_literal(x) for x in v]
        if None in items:
            return None
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(v, np.generic) and v.dtype.kind in "biufc":
        return f"np.{type(v).__name__}({_literal(v.item())})"
    if isinstance(v, np.ndarray) and v.dtype.kind in "biufc" and v.size <= _MAX_ARRAY:
        return f"np.array({_literal_list(v.tolist())}, dtype=np.{v.dtype.name})"
    return None


def _literal_list(x):
    if isinstance(x, list):
        return "[" + ", ".join(_literal_list(v) for v in x) + "]"
    return _literal(x)


def _allowed_module(name):
    top = name.split(".")[0]
    return top == "numpy" or top in sys.stdlib_module_names

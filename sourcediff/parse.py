"""Pass 1: read a function's source and parse it into a gast tree.

The source is dedented and decorators are dropped, so ``@grad`` on a
definition (or a method, or a nested function) works. Line numbers in the
tree are those of the original file, so errors point at the user's line.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass

import gast

from . import nodes as N
from .errors import SourceDiffError, SourceUnavailableError


@dataclass
class Parsed:
    fn: object
    tree: gast.FunctionDef
    filename: str
    lines: list          # the file's lines (for error carets)
    name: str

    def line(self, lineno):
        if lineno and 0 < lineno <= len(self.lines):
            return self.lines[lineno - 1]
        return None


def parse_function(fn):
    """The gast ``FunctionDef`` of ``fn``, with original line numbers."""
    name = getattr(fn, "__name__", repr(fn))
    code = getattr(fn, "__code__", None)
    if code is None:
        raise SourceUnavailableError(
            f"'{name}' is not a Python function, so its source cannot be read",
            function=name,
            hint="wrap it in a Python function, or give it a rule with "
                 "sourcediff.primitive(...).defvjp(...), or use mode='tape'")
    try:
        lines, first = inspect.getsourcelines(fn)
        file_lines = inspect.getsourcefile(fn)
        all_lines = _file_lines(fn)
    except (OSError, TypeError) as exc:
        raise SourceUnavailableError(
            f"cannot read the source of '{name}' ({exc})",
            function=name, filename=code.co_filename, lineno=code.co_firstlineno,
            hint="define it in a file (not an interactive prompt or exec), or use "
                 "grad(f, mode='tape')") from None
    src = textwrap.dedent("".join(lines))
    dedent = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
    try:
        module = gast.parse(src)
    except RecursionError:
        raise SourceDiffError(
            f"an expression in '{name}' is nested too deeply to transform", function=name,
            filename=code.co_filename, lineno=code.co_firstlineno,
            hint="split the long expression over several statements") from None
    except SyntaxError:
        # a lambda inside a larger statement: getsource gives the whole line
        return _parse_lambda(fn, name, lines, first, file_lines or code.co_filename, all_lines)
    node = module.body[0]
    if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)):
        node.decorator_list = []
    elif _find_lambda(module, code) is not None:
        node = _lambda_to_def(_find_lambda(module, code), name)
    else:
        raise SourceUnavailableError(f"cannot find the definition of '{name}' in its source",
                                     function=name)
    _generators_as_lists(node)
    gast.increment_lineno(module, first - 1)
    if dedent:  # columns as in the file, for error carets
        for n in N.walk(module):
            if hasattr(n, "col_offset") and n.col_offset is not None:
                n.col_offset += dedent
    return Parsed(fn, node, file_lines or code.co_filename, all_lines, name)


def _file_lines(fn):
    try:
        return inspect.findsource(fn)[0]
    except (OSError, TypeError):
        return []


def _find_lambda(module, code):
    """The lambda in ``module`` that compiled to ``code``: same parameter names, and it
    reads every free variable ``code`` reads (``lambda a: lambda x: x * a`` holds two)."""
    lams = [n for n in N.walk(module) if isinstance(n, gast.Lambda)]
    params = code.co_varnames[:code.co_argcount]
    fits = [lam for lam in lams
            if tuple(a.id for a in lam.args.posonlyargs + lam.args.args) == params]
    fits = [lam for lam in fits if set(code.co_freevars) <= set(N.names_in(lam.body))] or fits
    if len(fits) > 1:  # still several: the innermost ones first, by the names they read
        fits = [lam for lam in fits if set(N.names_in(lam.body)) <= set(
            code.co_names + code.co_varnames + code.co_freevars)] or fits
    return fits[0] if fits else None


def _lambda_to_def(lam, name):
    fdef = gast.FunctionDef(
        name=name if name.isidentifier() else "lambda_", args=lam.args,
        body=[gast.Return(value=lam.body)], decorator_list=[], returns=None,
        type_comment=None, type_params=[])
    gast.copy_location(fdef, lam)
    for stmt in fdef.body:
        gast.copy_location(stmt, lam)
    return fdef


def _parse_lambda(fn, name, lines, first, filename, all_lines):
    src = textwrap.dedent("".join(lines)).strip()
    # trim trailing text until it parses
    for end in range(len(src), 0, -1):
        for start in range(0, max(src.find("lambda") + 1, 1)):
            chunk = src[start:end]
            try:
                module = gast.parse(chunk)
            except SyntaxError:
                continue
            lam = _find_lambda(module, fn.__code__)
            if lam is not None:
                fdef = _lambda_to_def(lam, name)
                gast.increment_lineno(module, first - 1)
                return Parsed(fn, fdef, filename, all_lines, name)
    raise SourceUnavailableError(f"cannot parse the source of lambda '{name}'", function=name)


def _generators_as_lists(tree):
    """``sum(f(x) for x in xs)`` reads as ``sum([f(x) for x in xs])``: a generator
    expression passed straight to a call is evaluated eagerly, as a list."""
    for node in N.walk(tree):
        if isinstance(node, gast.Call):
            node.args = [gast.copy_location(gast.ListComp(elt=a.elt, generators=a.generators), a)
                         if isinstance(a, gast.GeneratorExp) else a for a in node.args]

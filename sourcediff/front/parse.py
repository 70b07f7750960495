"""Pass 1: read a function's source and parse it into a gast tree.

The source is dedented and decorators are dropped, so ``@grad`` on a
definition (or a method, or a nested function) works. Line numbers in the
tree are those of the original file, so errors point at the user's line.
"""

from __future__ import annotations

import builtins
import inspect
import textwrap
from dataclasses import dataclass

import gast

from . import lambda_site, source_check
from ..prims import registry
from ..ir import nodes as N
from ..errors import MissingRuleError, SourceDiffError, SourceUnavailableError
from .fence import fail
from . import own
from .resolve import library_of


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


def parse_function(fn, generators_as_lists=True):
    """The gast ``FunctionDef`` of ``fn``, with original line numbers (a generator
    function's body building a list, unless ``generators_as_lists`` is false)."""
    name = getattr(fn, "__name__", repr(fn))
    code = getattr(fn, "__code__", None)
    if code is None and hasattr(fn, "_sd_tape_call"):  # made by sourcediff.tape
        raise SourceUnavailableError(
            f"'{name}' was made by sourcediff.tape.{getattr(fn, 'made_by', 'grad')}, which "
            "records at run time and has no source to compile", function=name,
            hint="stay with one engine: nest the tape (tape.grad(tape.grad(f))), or use the "
                 "compiler on f itself (sourcediff.grad(sourcediff.grad(f)), hessian(f))")
    if own.is_own(fn):  # (jacobian(jacobian(f)): sourcediff's file is no user code)
        own.refuse_made(fn)
    if code is None:
        raise SourceUnavailableError(
            f"'{name}' is not a Python function, so its source cannot be read",
            function=name,
            hint="wrap it in a Python function, or give it a rule with "
                 "sourcediff.primitive(...).defvjp(...), or use mode='tape'")
    library = library_of(fn)
    if library is not None and (registry.lookup(fn) or registry.is_nondiff(fn)):
        raise SourceUnavailableError(   # its rule is used where a function calls it
            f"'{name}' ({library}) is {library.split('.')[0]}'s own: sourcediff does not "
            "read a library's source",
            function=name, hint="differentiate a Python function that calls it (its rule is "
                                "used there), or use mode='tape'")
    if library is not None:
        raise MissingRuleError(
            f"no derivative rule for {library}: sourcediff does not read the source of "
            "NumPy's or SciPy's functions", function=name, construct=library,
            hint="docs/supported.md lists the functions with rules; give this one a rule "
                 "with sourcediff.primitive(...).defvjp(...), or write it with those")
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
        module = N.parse(src)
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
        if source_check.changed(src, code):
            raise _edited(name, code)
    elif _find_lambda(module, code, all_lines, name) is not None:
        node = _lambda_to_def(_find_lambda(module, code, all_lines, name), name)
    else:
        raise SourceUnavailableError(f"cannot find the definition of '{name}' in its source",
                                     function=name)
    _mangle_private(node, fn)
    _generators_as_lists(node)
    if generators_as_lists:
        _list_of_generator_calls(node, fn)
        found = [n for n in N.walk(node) if type(n) in _DEF_OR_YIELD]
        if any(type(n) is not gast.FunctionDef for n in found):  # (else nothing to do)
            for fdef in [n for n in found if type(n) is gast.FunctionDef]:
                _generator_function_as_list(fdef, name, code, first)
    _move(module, first - 1, dedent)
    return Parsed(fn, node, file_lines or code.co_filename, all_lines, name)


_DEF_OR_YIELD = {gast.FunctionDef, gast.Yield, gast.YieldFrom}


def _move(module, lines, columns):
    """Line numbers (``gast.increment_lineno``) and columns as in the file, for error
    carets, in one walk (contexts and operators, which it skips, have no location)."""
    for n in N.walk(module):
        attributes = n._attributes
        if "lineno" in attributes:
            n.lineno = (getattr(n, "lineno", 0) or 0) + lines
        if "end_lineno" in attributes:
            n.end_lineno = (getattr(n, "end_lineno", 0) or 0) + lines
        if columns:
            if hasattr(n, "col_offset") and n.col_offset is not None:
                n.col_offset += columns
            if getattr(n, "end_col_offset", None) is not None:
                n.end_col_offset += columns


def _mangle_private(tree, fn):
    """``self.__x`` in a method of class ``C`` reads ``self._C__x``, as Python compiles it
    (private name mangling); the generated function lives outside the class, so the
    names are mangled here."""
    parts = getattr(fn, "__qualname__", "").split(".")
    owner = parts[-2] if len(parts) > 1 else ""
    if not owner or owner == "<locals>" or not owner.strip("_"):
        return
    prefix = "_" + owner.lstrip("_")

    def mangled(n):
        return prefix + n if n.startswith("__") and not n.endswith("__") else n
    for node in N.walk(tree):
        if isinstance(node, gast.Attribute):
            node.attr = mangled(node.attr)
        elif isinstance(node, gast.Name):
            node.id = mangled(node.id)


def _edited(name, code):
    return SourceUnavailableError(
        f"the source of '{name}' in its file is not the code that runs: the file was "
        "edited after the function was defined", function=name,
        filename=code.co_filename, lineno=code.co_firstlineno,
        hint="reload the module (importlib.reload) or restart the interpreter, so that "
             "the code that runs is the code in the file")


def _file_lines(fn):
    try:
        return inspect.findsource(fn)[0]
    except (OSError, TypeError):
        return []


def _find_lambda(module, code, file_lines=(), name="lambda"):
    """The lambda in ``module`` that compiled to ``code``: same parameter names, and it
    reads every free variable ``code`` reads (``lambda a: lambda x: x * a`` holds two);
    several still fitting are told apart by their place in the file (:mod:`lambda_site`)."""
    lams = [n for n in N.walk(module) if isinstance(n, gast.Lambda)]
    params = code.co_varnames[:code.co_argcount]
    fits = [lam for lam in lams
            if tuple(a.id for a in lam.args.posonlyargs + lam.args.args) == params]
    fits = [lam for lam in fits if set(code.co_freevars) <= set(N.names_in(lam.body))] or fits
    if len(fits) > 1:  # still several: the innermost ones first, by the names they read
        fits = [lam for lam in fits if set(N.names_in(lam.body)) <= set(
            code.co_names + code.co_varnames + code.co_freevars)] or fits
    if len(fits) > 1:
        return lambda_site.pick(fits, code, file_lines, name)
    if fits and source_check.changed(lambda_site.text(fits[0]), code):
        raise _edited(name, code)
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
                module = N.parse(chunk)
            except SyntaxError:
                continue
            lam = _find_lambda(module, fn.__code__, all_lines, name)
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


YIELDED = "_yielded"  # the list a generator function's body builds instead


def _own_nodes(fdef):
    """The nodes of ``fdef``'s own body (not of functions or lambdas nested in it)."""
    todo = list(fdef.body)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (gast.FunctionDef, gast.Lambda, gast.ClassDef)):
            todo.extend(gast.iter_child_nodes(node))


def _generator_function_as_list(fdef, name, code, first):
    """``def layers(W): for ...: yield W[i], W[i + 1]`` reads as a function building and
    returning the list of what it yields (``_yielded.append(...)``; ``yield from it``
    appends each item), so a ``for`` loop, ``list()``, ``zip()`` or unpacking over its
    call is differentiated like one over a list. Refused: a ``yield`` used as a value
    (``x = yield``) and ``return v`` in a generator (both unsupported; the fence says so)."""
    own = list(_own_nodes(fdef))
    if not any(isinstance(n, (gast.Yield, gast.YieldFrom)) for n in own):
        return
    statements = {id(n.value) for n in own if isinstance(n, gast.Expr)}
    for n in own:
        if isinstance(n, (gast.Yield, gast.YieldFrom)) and id(n) not in statements:
            return  # a yield used as a value: the fence refuses it
        if isinstance(n, gast.Return) and n.value is not None:
            raise SourceDiffError(
                "a generator function that returns a value cannot be differentiated",
                function=name, filename=code.co_filename,
                lineno=first + getattr(n, "lineno", 1) - 1,
                hint="return nothing (a plain return) or build and return a list instead")

    class Rewrite(gast.NodeTransformer):
        def visit_Expr(self, node):
            v = node.value
            if isinstance(v, gast.Yield):
                item = v.value if v.value is not None else N.const(None)
                return gast.copy_location(N.expr_stmt(N.call(
                    N.attr(N.name(YIELDED), "append"), [item])), node)
            if isinstance(v, gast.YieldFrom):
                loop = N.parse_stmts(f"for _yielded_item in _:\n"
                                     f"    {YIELDED}.append(_yielded_item)")[0]
                loop.iter = v.value
                return N.set_location([loop], getattr(node, "lineno", 1))[0]
            return node

        def visit_Return(self, node):
            return gast.copy_location(N.return_(N.name(YIELDED)), node)

        def visit_FunctionDef(self, node):
            return node if node is not fdef else self.generic_visit(node)

        def visit_Lambda(self, node):
            return node

    Rewrite().generic_visit(fdef)
    line = getattr(fdef.body[0], "lineno", getattr(fdef, "lineno", 1))
    start = N.set_location([N.assign(YIELDED, N.parse_expr("[]"))], line)
    end = N.set_location([N.return_(N.name(YIELDED))], line)
    fdef.body = start + fdef.body + end


def _list_of_generator_calls(tree, fn):
    """``list(layers(W))`` where ``layers`` is a generator function (of the module, a
    closure or defined here): its call gives a list already (see
    :func:`_generator_function_as_list`), so the ``list()`` around it goes."""
    if not any(type(n) is gast.Call and type(n.func) is gast.Name and n.func.id == "list"
               and len(n.args) == 1 and type(n.args[0]) is gast.Call for n in N.walk(tree)):
        return  # (no list(f(...)) to unwrap)
    gens = {n.name for n in N.walk(tree) if isinstance(n, gast.FunctionDef) and n is not tree
            and any(isinstance(m, (gast.Yield, gast.YieldFrom)) for m in _own_nodes(n))}
    scope = dict(getattr(fn, "__globals__", {}))
    code = getattr(fn, "__code__", None)
    for var, cell in zip(getattr(code, "co_freevars", ()), getattr(fn, "__closure__", None)
                         or ()):
        try:
            scope[var] = cell.cell_contents
        except ValueError:
            pass

    def is_generator_call(node):
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)):
            return False
        if node.func.id in gens:
            return True
        return inspect.isgeneratorfunction(scope.get(node.func.id))

    class Unwrap(gast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            if isinstance(node.func, gast.Name) and node.func.id == "list" and scope.get(
                    "list", builtins.list) is builtins.list and len(node.args) == 1 \
                    and not node.keywords and is_generator_call(node.args[0]):
                return node.args[0]
            return node
    Unwrap().visit(tree)


def refuse_generator(fn):
    """``grad`` of a generator function: its output is never a scalar. (A generator
    helper that the differentiated function calls is differentiated as a list.)"""
    if not inspect.isgeneratorfunction(fn):
        return
    parsed = parse_function(fn, generators_as_lists=False)
    for node in _own_nodes(parsed.tree):
        if isinstance(node, (gast.Yield, gast.YieldFrom)):
            fail(parsed, node, "yield (a generator)" if isinstance(node, gast.Yield)
                 else "yield from (a generator)", "return one number; a generator function "
                 "that the differentiated function calls and loops over is fine")

"""Ahead-of-time export: a gradient as a standalone Python module.

``export_source(fn, wrt)`` returns the text of a module that needs only NumPy
and the standard library. It holds

* ``<f>_grad(...)``: the gradient, with ``fn``'s signature and ``grad``'s
  convention (one gradient, or a tuple of them for a tuple ``wrt``);
* ``<f>_value_and_grad(...)``: ``(fn(...), gradient)``;
* ``<f>_adjoint(...)``: the generated adjoint itself, ``(value, raw gradients)``;
* everything these reference: the runtime helpers of :mod:`sourcediff.runtime`
  (their source, copied), the user's module-level functions and simple
  constants, the adjoints of user functions called inside ``fn``, and imports.

Names are found by compiling each piece of copied source and reading the
global names its byte code loads, resolved against the globals of the function
the piece came from. The output is deterministic: same input, same bytes.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import sys
import textwrap
import types

import numpy as np

from .. import __version__, runtime
from ..pipeline import driver
from ..ir import nodes as N
from ..ir.names import RUNTIME, Helpers
from ..prims.custom import Primitive
from ..errors import SourceDiffError
from .export_text import (_MAX_ARRAY, _SHIMS, _VJP_CALL, _allowed_module,  # noqa: F401
                          _def_source, _literal, _literal_list, global_loads)
from ..values.structure import resolve_wrt


class ExportError(SourceDiffError):
    """The function cannot be exported as a standalone module."""


def _lambda_source(fn):
    """``lambda ...: ...`` as written, cut out of the statement around it."""
    lines, first = inspect.getsourcelines(fn)
    text = textwrap.dedent("".join(lines))
    try:
        tree = N.parse_ast(text)
    except SyntaxError:
        tree = None
    found = [] if tree is None else [
        n for n in ast.walk(tree) if isinstance(n, ast.Lambda)
        and [a.arg for a in n.args.args] == list(fn.__code__.co_varnames[:fn.__code__.co_argcount])
        and n.lineno == fn.__code__.co_firstlineno - first + 1]
    if len(found) != 1:
        raise ExportError(f"cannot cut the lambda at {fn.__code__.co_filename}:"
                          f"{fn.__code__.co_firstlineno} out of its line",
                          hint="define the rule with def at module level")
    return ast.get_source_segment(text, found[0])


class _Module:
    """The exported module, filled name by name."""

    def __init__(self, origin):
        self.origin = origin          # the user's file, for messages
        self.bound = {}               # exported global name -> object
        self.imports = set()
        self.constants = {}           # name -> source line
        self.defs = {}                # name -> (section, sort key, source)
        self.aliases = {}             # name -> source line (after all defs)
        self.helpers = set()          # the helpers generated code reads as _sd.<name>

    def bind(self, name, obj):
        """Reserve ``name`` for ``obj``; True if it is new."""
        if name in self.bound:
            old = self.bound[name]
            if old is obj or (_literal(old) is not None and _literal(old) == _literal(obj)):
                return False
            raise ExportError(
                f"the name '{name}' means two different things in the exported module "
                f"({_describe(old)} and {_describe(obj)})", hint="rename one of them")
        self.bound[name] = obj
        return True

    def need(self, src, glob, where):
        """Resolve every global name ``src`` reads against ``glob`` (the runtime helpers
        generated code reaches through ``_sd``: each one it reads)."""
        for name in global_loads(src):
            if name == RUNTIME and isinstance(glob.get(name), Helpers):
                self.runtime(src, glob[name], where)
            elif name in glob:
                self.add(name, glob[name], where)
            elif not hasattr(builtins, name) and not name.startswith("__"):
                raise ExportError(f"'{name}' (used in {where}) is not defined",
                                  filename=self.origin)

    def add(self, name, obj, where):
        if getattr(builtins, name, object()) is obj:
            return
        if name == "vjp_call" and obj is runtime.vjp_call:
            if self.bind(name, obj):
                self.defs[name] = ("adjoints", (1,), _VJP_CALL)
            return
        if not self.bind(name, obj):
            return
        if isinstance(obj, types.ModuleType):
            if not _allowed_module(obj.__name__):
                raise ExportError(
                    f"{where} uses the module {obj.__name__}, but the exported module may "
                    "import only numpy and the standard library", filename=self.origin)
            line = f"import {obj.__name__}"
            self.imports.add(line if name == obj.__name__ else f"{line} as {name}")
        elif any(obj is k for k in _SHIMS):
            self.defs[name] = ("sourcediff", (0, name), _SHIMS[obj])
            self.alias(name, obj.__name__)
        elif isinstance(obj, Primitive):
            self.function(name, obj.fn, where)
        elif _runtime_module(obj) is not None:
            if obj is runtime.jvp_call:
                raise ExportError("export writes reverse mode only; jvp_call is forward mode")
            src, home = _def_source(obj), _runtime_module(obj)
            self.defs[obj.__name__] = ("runtime", (runtime.MODULES.index(home),
                                                   inspect.getsourcelines(obj)[1]), src)
            self.alias(name, obj.__name__)
            self.bind(obj.__name__, obj)
            self.need(src, vars(home), f"{home.__name__}.{obj.__name__}")
        elif str(getattr(obj, "__module__", "") or "").startswith("sourcediff"):
            raise ExportError(f"{where} uses sourcediff's {name} at run time, which a "
                              "standalone module cannot", filename=self.origin)
        elif isinstance(obj, types.FunctionType):
            self.function(name, obj, where)
        elif _literal(obj) is not None:
            self.constants[name] = f"{name} = {_literal(obj)}"
        else:
            self.library_object(name, obj, where)

    def runtime(self, src, helpers, where):
        """The helpers ``src`` reads as ``_sd.<name>``: each copied, and ``_sd`` a namespace
        holding them, as generated code sees it."""
        self.bind(RUNTIME, helpers)
        for node in ast.walk(N.parse_ast(src)):
            if _reaches_helper(node):
                self.add(node.attr, getattr(helpers, node.attr), where)
                self.helpers.add(node.attr)
        self.imports.add("import types")
        self.aliases[RUNTIME] = f"{RUNTIME} = types.SimpleNamespace(" + ", ".join(
            f"{h}={h}" for h in sorted(self.helpers)) + ")"

    def alias(self, name, own):
        if name != own:
            self.aliases[name] = f"{name} = {own}"

    def function(self, name, fn, where):
        code = fn.__code__
        if fn.__name__ == "<lambda>":
            src = f"{name} = {_lambda_source(fn)}\n"
            self.defs[name] = ("user", (code.co_filename, code.co_firstlineno, name), src)
            self.need(src, fn.__globals__, f"the lambda {name}")
            return
        if fn.__closure__ or "<locals>" in fn.__qualname__:
            raise ExportError(f"{where} calls {fn.__qualname__}, a nested function",
                              filename=code.co_filename, lineno=code.co_firstlineno,
                              hint="define it at module level")
        own = fn.__name__
        if own != name and not self.bind(own, fn):
            self.alias(name, own)
            return
        src = _def_source(fn)
        self.defs[own] = ("user", (code.co_filename, code.co_firstlineno, own), src)
        self.alias(name, own)
        self.need(src, fn.__globals__, f"{own} ({code.co_filename})")

    def library_object(self, name, obj, where):
        own = getattr(obj, "__name__", None)
        mods = [getattr(obj, "__module__", None), "numpy", "numpy.linalg", "math"]
        for mod in mods:
            m = sys.modules.get(mod) if mod else None
            if m is not None and own and getattr(m, own, None) is obj and _allowed_module(mod):
                line = f"from {mod} import {own}"
                self.imports.add(line if own == name else f"{line} as {name}")
                return
        raise ExportError(f"{where} uses '{name}' ({_describe(obj)}), which cannot be "
                          "written into a standalone module", filename=self.origin,
                          hint="make it a module-level function, a number, or an argument")

    def note_vjp_calls(self, src):
        """User functions called inside generated code, with the argument positions whose
        cotangents the code reads (``vjp_call(f, g, *args)[i]``, directly or via a name)."""
        tree = N.parse_ast(src)
        parent = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
        calls, by_name = [], {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _reaches_helper(node.func, "vjp_call") and \
                    node.args:
                calls.append(node)
                up = parent.get(node)
                if isinstance(up, ast.Assign) and isinstance(up.targets[0], ast.Name):
                    by_name[up.targets[0].id] = node
        used = {id(c): set() for c in calls}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and \
                    node.id in by_name:
                target, up = by_name[node.id], parent.get(node)
            elif isinstance(node, ast.Call) and id(node) in used and \
                    not isinstance(parent.get(node), ast.Assign):
                target, up = node, parent.get(node)
            else:
                continue
            if isinstance(up, ast.Subscript) and isinstance(up.slice, ast.Constant) and \
                    isinstance(up.slice.value, int):
                used[id(target)].add(up.slice.value)
            else:   # the whole list escapes: every argument may be read
                used[id(target)].update(range(len(target.args) - 2))
        return [(c.args[0], sorted(used[id(c)])) for c in calls]


def _reaches_helper(node, helper=None):
    """Is ``node`` ``_sd.<helper>`` (any helper if None)?"""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
        node.value.id == RUNTIME and helper in (None, node.attr)


def _runtime_module(obj):
    """The runtime module (``runtime.MODULES``) defining helper ``obj``, or None."""
    home = next((m for m in runtime.MODULES if m.__name__ == getattr(obj, "__module__", None)),
                None)
    if home is not None and getattr(home, getattr(obj, "__name__", ""), None) is obj:
        return home
    return None


def _describe(obj):
    mod = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or type(obj).__name__
    return f"{mod}.{name}" if mod else name


def export_source(fn, wrt=0, *, origin=None, command=None, specialize=None):
    """The text of a standalone module computing ``grad(fn, wrt)``.

    ``specialize`` (one shape or None per argument) generates code valid only for
    arguments of those shapes; the exported wrappers check them."""
    indices, single = resolve_wrt(fn, wrt)
    origin = origin or inspect.getsourcefile(fn) or "?"
    mod = _Module(origin)
    base = fn.__name__
    params = list(inspect.signature(fn).parameters)
    names = {"grad": f"{base}_grad", "vag": f"{base}_value_and_grad",
             "adj": f"{base}_adjoint", "check": f"_{base}_check_shapes"}
    for key in names.values():
        mod.bind(key, key)

    adj = driver.build_adjoint(fn, indices, specialize=specialize, live=False)
    main_src = adj.source.replace(f"def {adj.name}(", f"def {names['adj']}(", 1)
    mod.defs[names["adj"]] = ("adjoints", (0,), main_src)
    mod.need(main_src, adj.fn.__globals__, f"the adjoint of {base}")
    pending = [(main_src, adj.fn.__globals__)]
    done = {}
    while pending:
        src, glob = pending.pop(0)
        for node, wrt_i in mod.note_vjp_calls(src):
            callee = glob.get(node.id) if isinstance(node, ast.Name) else None
            if not isinstance(callee, types.FunctionType):
                raise ExportError(f"a call inside {base} to {ast.unparse(node)} cannot be "
                                  "exported", hint="call a module-level function by name")
            known = done.get(callee, ())
            need = tuple(sorted(set(known) | set(wrt_i)))
            if need == known:
                continue
            done[callee] = need
            sub = driver.build_adjoint(callee, need, with_seed=True, live=False)
            own = f"{callee.__name__}_adjoint"
            mod.bound.pop(own, None)
            mod.bind(own, sub)
            sub_src = sub.source.replace(f"def {sub.name}(", f"def {own}(", 1)
            mod.defs[own] = ("adjoints", (2, own), sub_src)
            mod.need(sub_src, sub.fn.__globals__, f"the adjoint of {callee.__name__}")
            pending.append((sub_src, sub.fn.__globals__))
    if done:
        table = ", ".join(f"{f.__name__}: ({_literal(w)}, {f.__name__}_adjoint)"
                          for f, w in sorted(done.items(), key=lambda kv: kv[0].__name__))
        mod.bind("_ADJOINTS", table)
        mod.aliases["_ADJOINTS"] = f"_ADJOINTS = {{{table}}}"

    mod.add("like", runtime.like, "the gradient wrapper")
    mod.add("np", np, "the gradient wrapper")
    wrappers = _wrappers(fn, base, params, indices, single, names, specialize)
    mod.need(wrappers, {**mod.bound}, "the gradient wrapper")

    wrt_text = ", ".join(params[i] for i in indices)
    if specialize and any(s is not None for s in specialize):
        shapes_note = ("The code is specialised to the shapes " + ", ".join(
            f"{p}={s}" for p, s in zip(params, specialize) if s is not None) +
            " and checks them.")
    else:
        shapes_note = "The code is generic (not specialised to argument types or shapes)."
    wrt_arg = ",".join(params[i] for i in indices)
    about = textwrap.fill(
        f"Generated from {origin}, function {base}, wrt {wrt_text} "
        f"(argument{'s' if len(indices) > 1 else ''} {', '.join(map(str, indices))}), "
        f"reverse mode. Standalone: needs only NumPy and the standard library. "
        f"{shapes_note} Do not edit; regenerate with", 79)
    header = (
        f'"""Gradient of {base} with respect to {wrt_text}, exported by sourcediff '
        f'{__version__}.\n\n{about}\n\n'
        f"    {command or f'python -m sourcediff export FILE:{base} --wrt {wrt_arg} -o OUT.py'}\n"
        '"""\n')
    return _assemble(header, mod, names, wrappers)


def _wrappers(fn, base, params, indices, single, names, specialize):
    taken = set(params)
    g, v = _fresh("grads", taken), _fresh("value", taken)
    if "like" in taken or (specialize and "np" in taken):
        raise ExportError(f"{base} has an argument named 'like' or 'np', which the exported "
                          "wrapper needs", hint="rename the argument")
    sig = ", ".join(params)
    wrt_repr = indices[0] if single else indices
    finished = [f"like({g}[{k}], {params[i]})" for k, i in enumerate(indices)]
    result = finished[0] if single else "(" + ", ".join(finished) + ")"
    checks, check_def = "", ""
    shaped = [(p, s) for p, s in zip(params, specialize or ()) if s is not None]
    if shaped:
        checks = f"    {names['check']}({sig})\n"
        check_def = (f"\n\ndef {names['check']}({sig}):\n"
                     f'    """The adjoint below was generated for these shapes only."""\n')
        for p, shape in shaped:
            check_def += (f"    if np.shape({p}) != {shape!r}:\n"
                          f"        raise ValueError(f'exported for {p} of shape {shape!r}, "
                          f"got {{np.shape({p})}}')\n")
    return (
        f"def {names['grad']}({sig}):\n"
        f'    """The gradient of {base}, as sourcediff.grad({base}, wrt={wrt_repr!r}) '
        f'returns it."""\n{checks}'
        f"    {g} = {names['adj']}({sig})[1]\n"
        f"    return {result}\n\n\n"
        f"def {names['vag']}({sig}):\n"
        f'    """({base}(...), gradient), as sourcediff.value_and_grad returns them."""\n'
        f"{checks}"
        f"    {v}, {g} = {names['adj']}({sig})[:2]\n"
        f"    return {v}, {result}\n{check_def}")


def _fresh(name, taken):
    while name in taken:
        name = "_" + name
    return name


_SECTIONS = [("adjoints", "generated by sourcediff"),
             ("user", "copied from the user's code"),
             ("runtime", "helpers copied from sourcediff.runtime"),
             ("sourcediff", "sourcediff markers, which do nothing at run time")]


def _assemble(header, mod, names, wrappers):
    imports = sorted(mod.imports, key=lambda s: (not s.startswith("import "),
                                                 "numpy" in s.split()[1], s))
    parts = [header, "\n".join(imports) + "\n"]
    exported = [names["grad"], names["vag"], names["adj"]]
    parts.append("__all__ = [" + ", ".join(repr(n) for n in exported) + "]\n")
    if mod.constants:
        parts.append("\n".join(mod.constants[k] for k in sorted(mod.constants)) + "\n")
    chunks = [wrappers]
    for section, title in _SECTIONS:
        items = sorted((key, src) for (sec, key, src) in mod.defs.values() if sec == section)
        if items:
            chunks.append(f"# --- {title} " + "-" * max(0, 70 - len(title)) + "\n")
            chunks += [src for _key, src in items]
    parts.append("\n\n".join(c.rstrip("\n") + "\n" for c in chunks))
    if mod.aliases:
        parts.append("\n".join(mod.aliases[k] for k in sorted(mod.aliases)) + "\n")
    return "\n\n".join(p.rstrip("\n") + "\n" for p in parts if p.strip())

"""The pipeline's last stage: a generated function, printed and compiled with the
globals it runs with, becomes an :class:`Adjoint`.

Data the function reads from outside (module globals that are not functions or modules,
closure cells) is read at each call by a prologue, never baked in at compile time
(:mod:`freevars`); the residual form (:mod:`split`) compiles its reverse part first.
"""

from __future__ import annotations

import math
import types
import weakref

import gast
import numpy as np

from ..ir import codegen, freevars
from ..front import resolve
from .. import runtime
from ..ad import split
from ..ir import nodes as N
from ..ir.names import RUNTIME, Helpers

HELPERS = Helpers(runtime.HELPERS)  # what RUNTIME (_sd) is in generated code: _sd.like


class Adjoint:
    """A compiled adjoint: ``fn(*args, [seed]) -> (value, grads)`` and its source."""

    def __init__(self, fn, source, wrt_names, name, tree, closure_name=None):
        self.fn = fn
        self.source = source
        self.tree = tree  # the gast FunctionDef it was printed from
        self.wrt_names = wrt_names
        self.name = name
        self.closure_name = closure_name  # the global its closure reads go through
        self.statics = ()  # the names of the functions, modules... it resolved when compiled
        self._bound = weakref.WeakKeyDictionary()  # function -> this adjoint on its cells

    def for_function(self, fn):
        """This adjoint for ``fn``, a function with the same code (a closure made again,
        say): the same compiled code, reading ``fn``'s own closure cells."""
        if self.closure_name is None:
            return self
        bound = self._bound.get(fn)
        if bound is None:
            glob = dict(self.fn.__globals__)
            glob[self.closure_name] = freevars.cells(fn)
            code_fn = types.FunctionType(self.fn.__code__, glob, self.fn.__name__)
            code_fn.__sourcediff_source__ = self.source
            bound = self._bound[fn] = Adjoint(code_fn, self.source, self.wrt_names, self.name,
                                              self.tree, self.closure_name)
            bound.statics = self.statics
        return bound


def link(fdef, parsed, ns, extra, wrt_names, fname, names, live, residual=None):
    """Compile ``fdef`` into an :class:`Adjoint` (the pipeline's last stage): data it
    reads from outside read at each call (``live``, a prologue), the globals it runs with
    (the namespace, the runtime helpers as :data:`HELPERS`, ``extra``), its names spelled
    as printed (:func:`codegen.spell`). With ``residual`` (:func:`split.to_residual_form`'s
    arguments) its residual form, the reverse part compiled first into the same globals (what it reads
    from outside comes through the residuals, read by the forward part's prologue)."""
    env, closure_name, bwd = {}, None, None
    renamed = ns.get(resolve.RENAMED, {})
    if live:
        loads = N.names_in(fdef, gast.Load)
        reads = freevars.data_reads(fdef, parsed.fn, ns, renamed, loads)
        # data from outside is never a value from compile time: read by the prologue, or
        # not read at all (then not kept alive by the compiled function either)
        loaded = set(loads)
        ns = {k: v for k, v in ns.items()
              if k not in reads and (k in loaded or freevars.is_static(v))}
        via = {where: names.fresh(where, "global") for where in set(reads.values())}
        fdef.body[1:1] = freevars.prologue(reads, parsed.name, via, renamed)
        env = freevars.environment(parsed.fn, reads, via)
        closure_name = via.get(freevars.CLOSURE)
    if residual is not None:
        fdef, bwd = split.to_residual_form(fdef, *residual)
    helpers, users = names.helpers, names.users
    codegen.spell([fdef] if bwd is None else [fdef, bwd], helpers, users)
    # (a helper a pass put in the namespace is reached through _sd: its name is free for
    # the user's name printed back)
    glob = {**{users.get(k, k): v for k, v in ns.items() if k not in helpers},
            RUNTIME: HELPERS, **extra, "np": np, "math": math, **env}
    if bwd is not None:
        glob[bwd.name], _ = codegen.compile_tree(bwd, glob, f"{parsed.name}:{bwd.name}")
    compiled, src = codegen.compile_tree(fdef, glob, f"{parsed.name}:{fname}")
    adj = Adjoint(compiled, src, wrt_names, fname, fdef, closure_name)
    adj.statics = tuple(sorted(renamed.get(n, n) for n in freevars.static_names(ns)))
    return adj

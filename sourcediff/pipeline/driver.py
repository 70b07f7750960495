"""The pipeline, read top to bottom: source -> adjoint function.

    parse -> resolve names -> fence -> normalise -> flatten control flow
          -> activity -> reverse sweep -> save/restore -> optimise
          -> print -> compile

Each pass is one module with one entry point; this file only wires them.
"""

from __future__ import annotations

import functools
import types
import weakref
import zlib

import gast
import numpy as np

from ..ad import activity, invariance, split, saves
from ..ir import codegen, freevars
from ..front import fence, flatten, normalize, parse, resolve
from ..opt import optimize, shapes
from .. import runtime
from ..ir import nodes as N
from ..front.closures import free_locals, nested_definition
from ..errors import NonScalarOutputError, SourceDiffError
from ..ad.forward import Tangents
from ..front.resolve import MISSING, static_value
from ..ad.activity import analyse
from ..ir.names import NameGen
from ..ad.reverse import Sweep, is_user_call, is_user_function
from ..ad.calls import is_bound_method, is_method_of_local
from ..ir.signature import param_names


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


def front(fn, has_aux=False):
    """Passes shared by both modes: (parsed, names, body, returned atom, aux atom)."""
    parsed = parse.parse_function(fn)
    ns = resolve.namespace(fn, parsed.tree)
    resolve.rename_reserved(parsed.tree, ns, runtime.HELPERS)
    ns[optimize.USER_NAMES] = frozenset(N.names_in(parsed.tree))  # (kept: _h, y_bar)
    normalize.expand_starred_calls(parsed.tree)  # f(*args), args a tuple display
    fence.check(parsed)
    ns[activity.CLOSURE_READS] = closure_reads(parsed)
    aux = split_aux(parsed) if has_aux else None
    body = normalize.normalize(parsed, ns)
    body = fence.own_arguments(parsed, body, param_names(parsed.tree.args), ns)
    fence.check_inplace(parsed, body, param_names(parsed.tree.args), ns)
    body, out = flatten.flatten(parsed, body)
    return parsed, ns, body, out, aux


def refuse_container_output(parsed, body, out):
    """``grad`` of a function returning a tuple, list or dict: say so before any work."""
    if not isinstance(out, gast.Name):
        return
    for node in N.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name) \
                and node.targets[0].id == out.id and isinstance(
                    node.value, (gast.Tuple, gast.List, gast.Dict)):
            kind = {gast.Tuple: "a tuple", gast.List: "a list", gast.Dict: "a dict"}[
                type(node.value)]
            raise NonScalarOutputError(
                f"grad needs a scalar output, but '{parsed.name}' returns {kind}",
                function=parsed.name, filename=parsed.filename, lineno=node.lineno,
                source_line=parsed.line(node.lineno),
                hint="return one number; for (loss, aux) pass has_aux=True; for several "
                     "outputs use vjp or jacobian")


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


def split_aux(parsed):
    """``return loss, aux`` -> ``_aux = aux; return loss`` (for ``has_aux=True``)."""

    class Split(gast.NodeTransformer):
        def visit_Return(self, node):
            v = node.value
            if not (isinstance(v, gast.Tuple) and len(v.elts) == 2):
                raise SourceDiffError(
                    "has_aux=True needs the function to return a pair (loss, aux)",
                    function=parsed.name, filename=parsed.filename,
                    lineno=getattr(node, "lineno", None),
                    source_line=parsed.line(getattr(node, "lineno", None)),
                    hint="return loss, aux")
            keep = N.assign("_aux", v.elts[1])
            ret = N.return_(v.elts[0])
            return N.set_location([keep, ret], node.lineno)

        def visit_FunctionDef(self, node):
            if node is parsed.tree:
                self.generic_visit(node)
            return node
    Split().visit(parsed.tree)
    parsed.tree.body.insert(0, N.set_location([N.assign("_aux", N.const(None))],
                                              parsed.tree.lineno)[0])
    return N.name("_aux")


def containers(body, ns, params, spec):
    """Names that may hold lists, tuples or dicts (their adjoints add with add_cot)."""
    out = {p for i, p in enumerate(params) if spec is None or spec[i] is None}
    for node in N.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name):
            v = node.value
            if isinstance(v, (gast.List, gast.Tuple, gast.Dict, gast.ListComp)):
                out.add(node.targets[0].id)
            elif isinstance(v, gast.Call):
                fn = static_value(v.func, ns)
                if fn in (list, tuple, dict) or is_user_function(fn) or fn is MISSING:
                    out.add(node.targets[0].id)
            elif isinstance(v, (gast.Subscript, gast.Attribute)) and isinstance(
                    v.value, gast.Name) and v.value.id in out:  # (p.w: a dataclass field)
                out.add(node.targets[0].id)
    return out


def sequences(parsed, body, ns, params, spec):
    """Names that hold a list or tuple for sure or by their argument's type (a literal,
    ``list()``/``tuple()``, ``*args``, a parameter specialised as neither float nor array):
    ``a + b`` on them joins sequences."""
    args = parsed.tree.args
    out = {args.vararg.id} if args.vararg is not None else set()
    if spec is not None:
        out |= {p for p, s in zip(params, spec) if s is None}
    for node in N.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name):
            v = node.value
            if isinstance(v, (gast.List, gast.Tuple, gast.ListComp)) or (
                    isinstance(v, gast.Call) and resolve.static_value(v.func, ns) in (
                        list, tuple)):
                out.add(node.targets[0].id)
    return out


def build_adjoint(fn, wrt, with_seed=False, has_aux=False, specialize=None, need_value=True,
                  kinds=None, live=True, split_calls=False, split_form=False):
    """Generate the adjoint of ``fn`` with respect to argument indices ``wrt``.

    ``specialize`` (argument shapes) and ``kinds`` (argument dtypes) let it assume those.
    ``split_calls``: calls into user code run once (:mod:`split`); ``split_form``: the
    result is ``f(*args) -> (value, pullback)`` (needs ``with_seed``).
    ``live``: read data globals and closure variables at each call (see :mod:`freevars`);
    else they are the generated function's own globals (for an exported module)."""
    parsed, ns, body, out, aux = front(fn, has_aux)
    params = param_names(parsed.tree.args)  # flat: *args a tuple, **kwargs a dict
    if not with_seed:
        refuse_container_output(parsed, body, out)
    wrt_names = [params[i] for i in wrt]
    cut = set()
    if specialize is not None and isinstance(out, gast.Name):
        env = shapes.infer(body, ns, dict(zip(params, specialize)))
        cut = invariance.invariant_names(body, ns, env, out.id) - set(params)
    active = analyse(body, ns, wrt_names, [out.id] if isinstance(out, gast.Name) else [],
                     parsed, cut=cut)

    taken = set(params) | set(ns) | set(N.names_in(parsed.tree)) | set(N.names_in(
        gast.Module(body=body, type_ignores=[])))
    names = NameGen(taken | set(runtime.HELPERS) | {"np", "math", "_stack"})
    multidef = saves.multidef(body, params)
    saves.mark_first_defs(body, params)
    sweep = Sweep(parsed, ns, active, names, multidef)
    sweep.containers = containers(body, ns, params, specialize)
    sweep.sequences = sequences(parsed, body, ns, params, specialize)
    sweep.varied = activity.varied(body, ns, wrt_names, cut)
    sweep.loop_locals = saves.loop_locals(body)
    sweep.scatter = {n.value.id for n in N.walk(gast.Module(body=body, type_ignores=[]))
                     if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Load)
                     and isinstance(n.value, gast.Name) and n.value.id in active}
    sweep.lazy = {v for v in sweep.scatter
                  if v not in params and not saves.defined_up_front(body, v)}
    if split_calls:
        split.mark(body, ns, active, names, is_user_call if split_calls is True else
                   functools.partial(plain_call, local=split.local_functions(body),
                                     active=active))

    # the seed: d(out)/d(out)
    seed_name = None
    if with_seed:  # a parameter even when the output does not depend on wrt
        seed_name = names.fresh(f"{out.id}_bar" if isinstance(out, gast.Name)
                                and not out.id.startswith("_") else "out_bar")
    rev = []
    if isinstance(out, gast.Name) and out.id in active:
        if with_seed:
            rev.append(N.assign(names.adjoint(out.id), N.name(seed_name)))
        else:
            rev.append(N.assign(names.adjoint(out.id), N.const(1.0)))
        sweep.defined.add(out.id)
        sweep.maybe.add(out.id)
        sweep.real.add(out.id)
    rev += sweep.block(body)

    results = []
    for p in wrt_names:
        if sweep.has_adjoint(p):
            if p not in sweep.defined:  # assigned on some paths only
                sweep.need_init(p)
            results.append(N.name(names.adjoint(p)))
        else:
            results.append(N.call("zeros_like_grad", [N.name(p)]))
    inits = [N.assign(name, zero) for name, zero in sweep.init.items()]
    forward, rev = saves.insert(body, rev, params)
    if split_calls is True:
        forward = split.rewrite(forward)
    elif split_calls:  # "pure": code differentiated again (split.to_residual_form)
        forward = split.rewrite(forward, rev, names)
    value = N.clone(out)
    if isinstance(out, gast.Name) and out.id in multidef:
        # the reverse pass restores overwritten values: keep the output's now
        forward.append(N.assign("_value", N.clone(out)))
        value = N.name("_value")
    if not need_value and specialize is not None and shapes.output_shape(
            body, ns, dict(zip(params, specialize)), out) == ():
        value = N.const(None)  # a scalar for sure: grad needs no value to check
    base = parsed.tree.name
    fname = names.global_name(f"{base}_adjoint" if with_seed else f"{base}_grad")
    doc = (f"Adjoint of {parsed.name} with respect to {', '.join(wrt_names)} "
           f"(generated by sourcediff).")
    stmts = [N.expr_stmt(N.const(doc)), N.comment("forward pass"), *forward]
    stmts += [N.reverse_mark(), *inits, *rev]
    stmts.append(N.return_(N.tuple_([value, N.tuple_(results)] + ([aux] if aux else []))))
    fdef = _function(fname, params + ([seed_name] if seed_name else []), stmts)
    spec_params, spec = params, specialize
    if split_form and specialize is not None:  # the pullback's seed is shaped like the value
        seed_shape = shapes.output_shape(body, ns, dict(zip(params, specialize)), out)
        if seed_shape is not None:
            spec_params, spec = params + [seed_name], tuple(specialize) + (seed_shape,)
    fdef = optimize.optimize(fdef, ns, spec, spec_params, keep={seed_name} - {None},
                             kinds=kinds, outside=freevars.data_names(ns))
    if split_form in ("residual", "residual_bound"):  # (bound: no cotangent for self)
        fdef.name = fname = names.global_name(f"{base}_forward")
        residual = (seed_name, params, wrt_names, names.global_name(f"{base}_reverse"),
                    names.fresh("residuals"), activity.varied(fdef.body, ns, wrt_names),
                    int(split_form == "residual_bound"))
        return _compile(fdef, parsed, ns, sweep.extra_globals, wrt_names, fname, names, live,
                        residual)
    if split_form:
        fdef.name = fname = names.global_name(f"{base}_split")
        fdef = split.to_split_form(fdef, seed_name, names.fresh(f"{base}_pullback"))
        if fdef is None:
            raise split.NotSplittable(parsed.name)
    return _compile(fdef, parsed, ns, sweep.extra_globals, wrt_names, fname, names, live)


def build_jvp(fn, wrt, specialize=None, live=True):
    """Generate ``f_jvp(*args, *tangents) -> (out, out_dot)`` for arguments ``wrt``."""
    parsed, ns, body, out, _ = front(fn)
    params = param_names(parsed.tree.args)  # flat: *args a tuple, **kwargs a dict
    wrt_names = [params[i] for i in wrt]
    varied = activity.varied(body, ns, wrt_names)
    activity.check_refusals(parsed, body, ns, wrt_names,
                            [out.id] if isinstance(out, gast.Name) else [])
    taken = set(params) | set(ns) | set(N.names_in(gast.Module(body=body, type_ignores=[])))
    names = NameGen(taken | set(runtime.HELPERS) | {"np", "math"})
    tangents = Tangents(parsed, ns, varied, names)
    tangents.sequences = sequences(parsed, body, ns, params, specialize)
    new_body = tangents.block(body)
    # a parameter held fixed that a loop makes varied (``x = np.tanh(x * w)``): its
    # tangent is read before the loop first writes it, so it starts at zero
    new_body = [N.assign(names.tangent(p), N.call("zeros_tangent", [N.name(p)]))
                for p in params if p in varied and p not in wrt_names] + new_body
    if isinstance(out, gast.Name) and out.id in varied:
        out_dot = N.name(names.tangent(out.id))
    else:
        out_dot = N.call("zeros_tangent", [N.clone(out)])
    fname = names.global_name(f"{parsed.tree.name}_jvp")
    doc = (f"Tangent (forward mode) of {parsed.name} along {', '.join(wrt_names)} "
           f"(generated by sourcediff).")
    stmts = [N.expr_stmt(N.const(doc)), *new_body, N.return_(N.tuple_([N.clone(out), out_dot]))]
    arg_names = params + [names.tangent(p) for p in wrt_names]
    fdef = _function(fname, arg_names, stmts)
    fdef = optimize.optimize(fdef, ns, specialize, params, keep=set(),
                             outside=freevars.data_names(ns))
    return _compile(fdef, parsed, ns, tangents.extra_globals, wrt_names, fname, names, live)


def output_shape(fn, spec):
    """The shape ``fn`` returns for arguments of shapes ``spec`` (None where unknown)."""
    parsed, ns, body, out, _ = front(fn)
    return shapes.output_shape(body, ns, dict(zip(param_names(parsed.tree.args), spec)), out)


def _function(fname, arg_names, stmts):
    return gast.FunctionDef(
        name=fname,
        args=gast.arguments(args=[gast.Name(id=a, ctx=gast.Param(), annotation=None,
                                            type_comment=None) for a in arg_names],
                            posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                            kwarg=None, defaults=[]),
        body=stmts, decorator_list=[], returns=None, type_comment=None, type_params=[])


def plain_call(value, fn, local=frozenset(), active=frozenset()):
    """A call the residual form runs once (:mod:`split`): a plain user function, a method
    (``model.predict`` read from a global, ``self.predict(...)`` on an object not
    differentiated) or a function the body defines (``local``); not a gradient sourcediff
    made (that keeps ``vjp_call`` at second order)."""
    func = value.func
    if fn is MISSING:
        return (isinstance(func, gast.Name) and func.id in local) or (
            is_method_of_local(func, fn) and func.value.id not in active)
    return is_user_call(value, fn) and getattr(fn, "plain_function", None) is None \
        and (isinstance(fn, types.FunctionType) or is_bound_method(fn))


def _compile(fdef, parsed, ns, extra, wrt_names, fname, names, live, residual=None):
    """Compile ``fdef``; with ``residual`` (:func:`split.to_residual_form`'s arguments) its
    residual form, the reverse part compiled first into the same globals (what it reads
    from outside comes through the residuals, read by the forward part's prologue)."""
    env, closure_name, bwd = {}, None, None
    if live:
        reads = freevars.data_reads(fdef, parsed.fn, ns)
        # data from outside is never a value from compile time: read by the prologue, or
        # not read at all (then not kept alive by the compiled function either)
        loaded = set(N.names_in(fdef, gast.Load))
        ns = {k: v for k, v in ns.items()
              if k not in reads and (k in loaded or freevars.is_static(v))}
        via = {where: names.fresh(where) for where in set(reads.values())}
        fdef.body[1:1] = freevars.prologue(reads, parsed.name, via)
        env = freevars.environment(parsed.fn, reads, via)
        closure_name = via.get(freevars.CLOSURE)
    if residual is not None:
        fdef, bwd = split.to_residual_form(fdef, *residual)
    glob = {**ns, **runtime.HELPERS, **extra, "np": np, "math": __import__("math"), **env}
    if bwd is not None:
        bsrc = codegen.to_source(bwd)
        glob[bwd.name] = codegen.compile_function(
            bsrc, bwd.name, glob, f"<sourcediff {parsed.name}:{bwd.name}:"
            f"{zlib.crc32(bsrc.encode()):08x}>")
    src = codegen.to_source(fdef)
    filename = f"<sourcediff {parsed.name}:{fname}:{zlib.crc32(src.encode()):08x}>"
    compiled = codegen.compile_function(src, fname, glob, filename)
    adj = Adjoint(compiled, src, wrt_names, fname, fdef, closure_name)
    renamed = ns.get(resolve.RENAMED, {})
    adj.statics = tuple(sorted(renamed.get(n, n) for n in freevars.static_names(ns)))
    return adj

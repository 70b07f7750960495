"""The compiled functions: the caches of adjoints and tangent code, and the functions
read back from generated code (selectors, ``grad`` of a gradient, views).

``adjoint_of`` and ``jvp_adjoint`` are the compiler's entry points (each cached per
function, wrt and specialisation); they, the views and the shape facts are registered in
:mod:`compiler_hook`, through which the runtime helpers reach them. The public
transforms (``api``, ``higher``) sit above this module.
"""

from __future__ import annotations

import types
import weakref

import gast
import numpy as np

from ..ir import codegen, signature
from .called import called_function
from . import driver, link
from ..ir import nodes as N
from ..ir.compiler_hook import provides
from ..errors import ArgumentError, NonScalarOutputError, SourceDiffError
from ..ir.freevars import cache_key as _cache_key
from ..opt.inplace import kinds_of
from ..ir.names import RUNTIME, NameGen
from ..runtime import like
from ..opt.shapes import spec_of
from ..values.structure import resolve_wrt

provides(spec_of)
provides(kinds_of)

# adjoints and tangent code are kept in codegen's one cache (codegen.cached), keyed
# ("adjoint", freevars.cache_key, wrt, kind, options, shapes, dtypes) and ("jvp", ...)
_latest = {}  # the same key without shapes -> the adjoint built last


@provides
def adjoint_of(fn, wrt, kind="grad", has_aux=False, spec=None, dtypes=None, again=False,
               called=False):
    """The compiled adjoint (cached per function, wrt, kind and specialisation).

    ``kind`` is "grad" (the value only if needed to check it is a scalar),
    "value" (value and gradient), "vjp" (takes the output's cotangent), "split"
    (gives the value and a pullback: :mod:`split`) or "residual" (the value and the
    residuals ``pullback_res`` takes: :func:`split.to_residual_form`; "residual_bound":
    the same for a method, whose reverse part gives no cotangent for ``self``). ``spec``
    gives the arguments' shapes, ``dtypes`` their kinds (:func:`inplace.kinds_of`: then
    fresh arrays are updated in place). Calls into user code run once (split), except in
    "vjp" adjoints; with ``again`` (code that is differentiated again) and in "residual"
    ones through residual forms, which forward mode differentiates. ``called``: ``fn`` is
    what generated code calls (a library function passed as a value is read through a
    Python function calling it, :func:`called.called_function`)."""
    if called:
        fn = called_function(fn, spec)
    residual = kind in ("residual", "residual_bound")
    split_calls = ("pure" if again or residual else True) if kind != "vjp" else False
    latest = _cache_key(fn, wrt, kind, has_aux)  # (computed once: a call site pays it)
    adj = codegen.cached(("adjoint", *latest, spec, dtypes, split_calls), lambda: (
        driver.build_adjoint(fn, wrt, with_seed=kind in ("vjp", "split") or residual,
                             has_aux=has_aux, specialize=spec,
                             need_value=(kind != "grad" or has_aux), kinds=dtypes,
                             split_calls=split_calls,
                             split_form=kind if residual else kind == "split")))
    _latest[latest] = adj
    return adj.for_function(fn)


@provides
def output_shape_of(fn, spec):
    """The shape of ``fn(*args)`` for arguments of shapes ``spec``, if the compiler can
    tell from ``fn``'s source (None otherwise): shape specialisation through a call into
    user code (``split_call``)."""
    def make():
        try:
            return driver.output_shape(fn, spec)
        except SourceDiffError:  # (compiling the call will say why, if it matters)
            return None
    return codegen.cached(("output shape", *_cache_key(fn, spec)), make)


def latest_adjoint(fn, wrt, kind, has_aux):
    """The adjoint of ``fn`` built last (for any shapes), None if none was."""
    return _latest.get(_cache_key(fn, wrt, kind, has_aux))


_selectors = weakref.WeakKeyDictionary()  # adjoint function -> {selection: function}


@provides
def jvp_adjoint(fn, wrt, spec, called=False):
    """The compiled tangent code (cached); ``called`` as in :func:`adjoint_of`."""
    if called:
        fn = called_function(fn, spec)
    adj = codegen.cached(("jvp", *_cache_key(fn, wrt, spec)),
                         lambda: driver.build_jvp(fn, wrt, specialize=spec))
    return adj.for_function(fn)


def _is_method(fn):
    """A bound method of a Python function, or a transform of one (``grad(model.loss)``)."""
    return (isinstance(fn, types.MethodType) and isinstance(fn.__func__, types.FunctionType)) \
        or getattr(fn, "__sourcediff_bound__", None) is not None


def flat_primals(fn, primals):
    """``fn``'s flat arguments for a call with ``primals`` by position (defaults filled
    in), the flat indices the primals fill, and whether the last is ``*args``."""
    fn = _signature_fn(fn)  # grad(f): f's own signature
    sig = signature.signature(fn) if hasattr(fn, "__code__") else None
    if sig is None or signature.is_plain(sig):
        if sig is not None and len(primals) != len(sig.parameters):
            signature.bind(fn, sig, primals, {})  # (too few or too many: a clear error)
        return primals, tuple(range(len(primals))), False
    wrt, packed = signature.primal_layout(sig, len(primals))
    return signature.bind(fn, sig, primals, {}), wrt, packed


def plain(fn, args):
    """A plain Python function computing what ``fn`` computes at these args."""
    maker = getattr(fn, "plain_function", None)
    return maker(args) if maker is not None else fn


def selector(adj, keep, drop_args=(), set_args=None, real_of=None, with_value=False):
    """A new function from generated code ``adj``: same arguments minus ``drop_args``
    (each set to ``set_args[name]`` instead), returning element ``keep`` of the result;
    with ``real_of`` (the indices of the arguments the kept cotangents belong to), each
    one is the real part where its argument is real (``runtime.real_if``). With
    ``with_value``, ``(result[0], that element)``: the function's value too."""
    if getattr(adj, "source", None) is None:   # the tape's fallback: nothing to read back
        name = getattr(getattr(adj, "_vg", None), "__name__", None)
        raise SourceDiffError(
            f"cannot differentiate the gradient of '{name}' again: it was computed by the "
            "runtime tape (the function's source could not be read), which has no source "
            "for forward mode", function=name,
            hint="define the function with def in a file so sourcediff can compile it (a "
                 "function made by sourcediff.tape cannot be: use sourcediff.grad(f) for higher "
                 "order), or nest the tape: tape.grad(tape.grad(f))")
    key = (keep, tuple(drop_args), tuple(sorted((set_args or {}).items())), real_of,
           with_value)
    made = _selectors.setdefault(adj.fn, {})  # (its globals: the closure it reads)
    if key in made:
        return made[key]
    fdef = N.parse(adj.source).body[0]
    ret = fdef.body[-1]
    value = ret.value
    for k in keep:
        value = value.elts[k]
    kept = []
    if real_of is not None:
        params = [a.id for a in fdef.args.args]
        rebound = {n.id for n in N.walk(fdef) if isinstance(n, gast.Name)
                   and isinstance(n.ctx, gast.Store)}   # (a = a * 2: the argument's own)
        names = {i: f"_sd_arg{i}" if params[i] in rebound else params[i] for i in real_of}
        kept = [N.assign(names[i], N.name(params[i])) for i in sorted(set(real_of))
                if names[i] != params[i]]
        parts = value.elts if isinstance(value, gast.Tuple) else [value]
        parts = [N.call(f"{RUNTIME}.real_if", [v, N.name(names[i])]) for v, i in zip(parts, real_of)]
        value = gast.Tuple(elts=parts, ctx=gast.Load()) if isinstance(value, gast.Tuple) \
            else parts[0]
    ret.value = N.tuple_([ret.value.elts[0], value]) if with_value else value
    fdef.args.args = [a for a in fdef.args.args if a.id not in drop_args]
    sets = [N.assign(name, N.const(v)) for name, v in (set_args or {}).items()]
    fdef.body = fdef.body[:1] + sets + kept + fdef.body[1:]
    fdef.name = f"{fdef.name}_d"
    fn, _ = codegen.compile_tree(fdef, adj.fn.__globals__)
    made[key] = fn
    return fn


class ForwardGrad:
    """``grad`` of a sourcediff-made function: forward mode over its generated code."""

    def __init__(self, inner, wrt, with_value):
        self.inner = inner
        self.fn = inner
        self.wrt, self.single = resolve_wrt(_signature_fn(inner), wrt)
        self.with_value = with_value
        self.__name__ = f"grad_{getattr(inner, '__name__', 'f')}"
        self._last = None
        sig = signature.signature(_signature_fn(inner))
        if sig is not None:  # the function's parameters (a call of it is bound to them)
            self.__signature__ = sig

    def _flat(self, args):
        """``args`` with defaults filled in (the form generated code takes)."""
        flat, wrt, packed = flat_primals(self.inner, args)
        if packed and any(i >= wrt[-1] for i in self.wrt):
            raise ArgumentError(
                "a second derivative with respect to an argument in *args is not supported",
                function=self.__name__, hint="give the function a named parameter for it")
        return flat

    def plain_function(self, args, with_value=False):
        """Scalar wrt only: the derivative as a plain function of the same arguments
        (with ``with_value``, it gives ``(value, derivative)``)."""
        args = self._flat(args)
        if len(self.wrt) != 1 or np.ndim(args[self.wrt[0]]) != 0:
            raise ArgumentError(
                "a third or higher derivative needs a scalar argument",
                function=self.__name__, hint="use hessian(f) for arrays")
        f = plain(self.inner, args)
        adj = jvp_adjoint(f, self.wrt, spec_of(args))
        tname = adj.fn.__code__.co_varnames[len(args)]
        return selector(adj, (1,), drop_args=(tname,), set_args={tname: 1.0},
                        with_value=with_value)

    def __call__(self, *args):
        args = self._flat(args)
        f = plain(self.inner, args)
        value = None
        grads = []
        for i in self.wrt:
            adj = self._last = jvp_adjoint(f, (i,), spec_of(args))
            x = np.asarray(args[i], dtype=float)
            if x.ndim == 0:
                value, d = adj.fn(*args, 1.0)
                grads.append(_like(d, args[i]))
                continue
            out = np.zeros(x.shape)
            for j in np.ndindex(x.shape):
                e = np.zeros(x.shape)
                e[j] = 1.0
                value, d = adj.fn(*args, e)
                out[j] = d
            grads.append(_like(out, args[i]))
        if np.ndim(value) != 0:
            raise NonScalarOutputError(
                f"grad needs a scalar output, but the derivative has shape {np.shape(value)}",
                function=self.__name__, hint="use jacobian or hessian for array outputs")
        g = grads[0] if self.single else tuple(grads)
        return (value, g) if self.with_value else g


def _like(d, x):
    return like(d, x)


def _signature_fn(f):
    while not hasattr(f, "__code__") and hasattr(f, "fn"):
        f = f.fn
    return f


# --- views of generated code: the functions a call into generated code is jvp'd through --
_views = weakref.WeakKeyDictionary()  # generated (or user) function -> {layout: view}
_SEED, _TANS, _SELF, _UNUSED = "_sd_seed", "_sd_tangents", "_sd_self", "_sd_unused"


@provides
def adjoint_view(fn, args, wrt, bound=None, seed_first=False, lead=0):
    """A plain generated function computing the cotangent list ``runtime._vjp`` gives for
    ``fn`` at ``args`` (None for the arguments not in ``wrt``): ``F(*args, g)``, or
    ``F(g, *args)`` with ``seed_first`` (``vjp_method``'s order). ``bound``: ``args[0]`` is
    this object, held by the view and left out of its parameters and its result. ``lead``
    more leading parameters are unused and get None (an object whose attribute is called)."""
    n = len(args)
    if wrt:
        adj = adjoint_of(fn, wrt, "vjp", spec=spec_of(args), called=True)
        fdef = N.parse(adj.source).body[0]
        params = [a.id for a in fdef.args.args]
        base, seed, glob = params[:n], params[n], adj.fn.__globals__
        grads = fdef.body[-1].value.elts[1].elts
        items = [N.clone(grads[wrt.index(i)]) if i in wrt else N.const(None) for i in range(n)]
        body, name, owner = fdef.body[:-1], fdef.name, adj.fn
    else:  # no cotangent flows (g is None, or nothing to differentiate): all None
        base, seed, glob = [f"_sd_a{i}" for i in range(n)], _SEED, {}
        items = [N.const(None)] * n
        body, name, owner = [], f"{getattr(fn, '__name__', 'f')}_no_cotangents", fn
    if bound is not None:
        items = items[1:]
    items = [N.const(None)] * lead + items
    own = [_fresh(fdef, f"{_UNUSED}{i}") if wrt else f"{_UNUSED}{i}" for i in range(lead)] + \
        base[1 if bound is not None else 0:]
    order = [seed, *own] if seed_first else [*own, seed]
    key = ("cts", tuple(wrt), n, seed_first, lead)
    return _view(owner, key, name + "_cts", order, body, gast.List(elts=items, ctx=gast.Load()),
                 glob, base[0] if bound is not None else None, bound)


@provides
def residual_view(fn, args, wrt):
    """``F(*args[1:]) == `` the residual form of ``fn`` (a method's function) at ``args``,
    ``args[0]`` (the object) held by the view: plain generated code, so forward mode reads
    it (``splitcall.split_res_fn`` of a bound method)."""
    adj = adjoint_of(fn, wrt, "residual_bound", spec=spec_of(args), called=True)
    fdef = N.parse(adj.source).body[0]
    params = [a.id for a in fdef.args.args]
    return _view(adj.fn, ("res", tuple(wrt), len(args)), fdef.name + "_bound", params[1:],
                 fdef.body[:-1], fdef.body[-1].value, adj.fn.__globals__, params[0], args[0])


@provides
def tangent_view(fn, args, wrt, tangents, bound=None, method=False, lead=0, pair=False):
    """A plain generated function computing ``runtime.jvp_call(fn, tangents, *args)`` (the
    output tangent; with ``pair``, ``runtime.jvp_pair``: the output and its tangent),
    taking the tangents as one tuple: ``G(*args, tangents)``, or
    ``G(obj, tangents, *rest)`` with ``method`` (``jvp_method``'s order, where ``lead=1``
    means an unused object first and ``tangents[0]`` its tangent). ``bound``: ``args[0]``
    is this object (``tangents[0]`` is then None), held by the view."""
    n = len(args)
    skip = 1 if bound is not None else 0   # args[0] and tangents[0] are not parameters
    pos = {i: i - skip + lead for i in range(n)}  # where args[i]'s tangent is in the tuple
    if wrt:
        adj = jvp_adjoint(fn, wrt, spec_of(args), called=True)
        fdef = N.parse(adj.source).body[0]
        params = [a.id for a in fdef.args.args]
        base, tnames, glob = params[:n], params[n:], adj.fn.__globals__
        tans = _fresh(fdef, _TANS)
        reads = []
        for k, t in zip(wrt, tnames):
            item = gast.Subscript(value=N.name(tans), slice=N.const(pos[k]), ctx=gast.Load())
            if isinstance(args[k], (tuple, dict)):  # *args / **kwargs: None entries filled
                item = N.call(f"{RUNTIME}.filled_tangent", [item, N.name(base[k])])
            reads.append(N.assign(t, item))
        body = fdef.body[:1] + reads + fdef.body[1:-1]
        result = fdef.body[-1].value if pair else fdef.body[-1].value.elts[1]
        name, owner = fdef.name, adj.fn
    else:  # nothing moves: a zero tangent shaped like the output
        base, glob, tans = [f"_sd_a{i}" for i in range(n)], {"_sd_fn": fn}, _TANS
        body, name, owner = [], f"{getattr(fn, '__name__', 'f')}_no_tangent", fn
        result = N.call(f"{RUNTIME}.zeros_tangent", [N.call("_sd_fn", [N.name(a) for a in base])])
        if pair:
            value = N.call("_sd_fn", [N.name(a) for a in base])
            body = [N.assign("_sd_value", value)]
            result = N.tuple_([N.name("_sd_value"),
                               N.call(f"{RUNTIME}.zeros_tangent", [N.name("_sd_value")])])
    own = base[skip:]
    unused = [_fresh(fdef, f"{_UNUSED}{i}") if wrt else f"{_UNUSED}{i}" for i in range(lead)]
    order = ([*unused, *own[:1], tans, *own[1:]] if method and not lead else
             [*unused, tans, *own] if method else [*own, tans])
    key = ("pair" if pair else "tan", tuple(wrt), n, method, lead,
           tuple(isinstance(a, (tuple, dict)) for a in args))
    return _view(owner, key, name + ("_pair" if pair else "_tan"), order, body, result, glob,
                 base[0] if bound is not None else None, bound)


def _fresh(tree, base):
    """``base``, or ``base`` with a number, not already a name in ``tree`` (views of views
    of generated code each add a parameter of the same kind)."""
    taken = set(N.names_in(tree)) | {a.id for node in N.walk(tree)
                                     if isinstance(node, gast.FunctionDef)
                                     for a in node.args.args}
    return NameGen(taken).fresh(base, "global")


def _view(owner, key, name, params, body, result, glob, self_name, bound):
    """Compile (once per owner, layout and bound object) ``def name(*params): body;
    return result``, ``self_name`` set to ``bound`` on entry."""
    made = _views.setdefault(owner, {})
    if bound is not None:
        key = key + (id(bound),)
    hit = made.get(key)
    if hit is not None and hit[0] is bound:
        return hit[1]
    glob = dict(glob)
    if bound is not None:
        held = _fresh(gast.Module(body=body, type_ignores=[]), _SELF)
        glob[held] = bound
        body = body[:1] + [N.assign(self_name, N.name(held))] + body[1:]
    glob.setdefault(RUNTIME, link.HELPERS)
    glob.setdefault("np", np)
    fn, _ = codegen.compile_tree(N.function_def(name, params, [*body, N.return_(result)]), glob)
    made[key] = (bound, fn)
    return fn

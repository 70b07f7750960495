"""Reverse over reverse: the runtime tape run over generated code.

``vjp(grad(f), x)`` needs the reverse mode of the generated gradient. That gradient is
plain Python (registered in linecache) calling NumPy and the runtime helpers, each of
which has a reverse rule in the table. So the tape runs it: a copy of the generated
function whose globals see

* the shim's ``np`` and ``math`` (arrays the code makes are traced constants, so
  ``x_bar[i] += v`` and ``scatter_add`` record as functional updates);
* every helper with a rule recorded as one operation through that rule
  (:mod:`sourcediff.tape.traced_helpers`), with its
  declared non-differentiable parameters (shapes, indices) as constants and any other
  parameter without a reverse template refused (``MissingRuleError``: never a silent
  zero); a helper given a Python list of traced cotangents (``get_cot``, ``pop_cot``,
  ``plus_cot`` on sequences) only moves items around, so it runs as written;
* the helpers that allocate or update cotangent buffers (``zeros_for``, ``scatter_add``,
  ``scatter_into``) in traced form;
* ``vjp_call`` / ``vjp_method`` (a call into user code) running the callee's own
  generated adjoint (``adjoint_view``) the same way.

Loops' ``_stack`` lists hold traced values as they are. Anything else the generated
code calls that the tape cannot run is refused (``unsupported``).
"""

from __future__ import annotations

import functools
import types

import numpy as np

from .. import runtime
from ..runtime import splitcall
from ..values import structure
from ..ir.compiler_hook import compiler
from ..ir.names import Helpers
from ..errors import ArgumentError
from . import record, sweep
from .graph import (Node, current_level, has_box, is_box, is_constant, new_level, tracing,
    unwrap, unwrap_all)
from .shim import _Globals
from .traced_helpers import (_TRACED, _HelperModule, _helper_name, _ruled, _traced_form,
    traced_helper, unsupported)
from .api import _like
from .tracer import Tracer


def vjp_of_generated(fn, primals, name=None):
    """``(fn(*primals), pullback)`` for ``fn`` a plain function of generated code (or a
    user function it calls), by the tape: every primal is traced."""
    level = new_level()
    args, inputs = [], []
    for p in primals:
        leaves, rebuild = structure.flatten(p)
        boxes = [Tracer(v, Node(), level) if _float_leaf(unwrap_all(v)) else v for v in leaves]
        args.append(rebuild(boxes))
        inputs.append((boxes, leaves, rebuild))
    with tracing(level):
        out = traced_copy(fn)(*args)
    out_leaves, rebuild_out = structure.flatten(out)
    raw = rebuild_out([unwrap(v, level) for v in out_leaves])

    def pullback(cotangent):
        # the cotangent in the raw output's own structure (a dict's key order) and shapes
        # (a gradient still the symbolic zero, 0.0, was broadcast by like())
        ct_leaves, _ = structure.flatten(_shaped(cotangent, raw))
        if len(ct_leaves) != len(out_leaves):
            raise ArgumentError("the cotangent does not match the output's structure",
                                function=name)
        seeds = {}
        for leaf, ct in zip(out_leaves, ct_leaves):
            if is_box(leaf) and leaf.level == level and not is_constant(leaf):
                seeds[leaf.node] = sweep.add(seeds.get(leaf.node), ct)
        sources = sweep.backward(seeds)
        cts = []
        for boxes, leaves, rebuild in inputs:
            cts.append(rebuild([
                _like(sources[b.node], v) if is_box(b) and b.node in sources
                else runtime.zeros_like_grad(unwrap_all(v)) for b, v in zip(boxes, leaves)]))
        return tuple(cts)
    return raw, pullback


def _shaped(ct, raw):
    """``ct`` laid out as ``raw``: dicts in ``raw``'s key order, each leaf summed to the
    shape of ``raw``'s (traced cotangents kept as they are)."""
    if raw is None:  # a container's zero gradient (no traced leaf): nothing to pull back
        return None
    if isinstance(raw, dict) and isinstance(ct, dict):
        return {k: _shaped(ct.get(k), v) for k, v in raw.items()}
    if isinstance(raw, (list, tuple)) and isinstance(ct, (list, tuple)):
        return type(raw)(_shaped(c, r) for c, r in zip(ct, raw)) if len(ct) == len(raw) \
            else ct
    if isinstance(raw, (list, tuple)) and np.shape(unwrap_all(ct))[:1] == (len(raw),):
        # an array stacking the items' cotangents (the cotangent of np.array(raw))
        return type(raw)(_shaped(ct[i], r) for i, r in enumerate(raw))
    if ct is None or is_box(ct) or not isinstance(raw, (float, np.ndarray, np.generic)):
        return ct
    if isinstance(ct, (list, tuple)):  # the gradient of a list argument (like() made it a
        ct = np.asarray(ct)            # list of the raw gradient's array): that array's
    return runtime.unbroadcast(ct, raw)


def _float_leaf(v):
    """A value the tape traces: float or complex (a complex primal has a cotangent too)."""
    if isinstance(v, np.ndarray):
        return v.dtype.kind in "fc"
    return isinstance(v, (float, complex, np.floating, np.complexfloating))


_COPIES: dict = {}


def traced_copy(fn):
    """``fn`` (generated code) with globals that record (see the module docstring)."""
    hit = _COPIES.get(fn)
    if hit is None:
        hit = _COPIES[fn] = _GeneratedGlobals(fn.__globals__).copy_function(fn)
    return hit


class _GeneratedGlobals(_Globals):
    __slots__ = ()

    def _replacement(self, value):
        name = _helper_name(value)
        if name in _TRACED:
            return _TRACED[name]
        if name is not None:
            return traced_helper(name, value)
        if runtime._made_gradient(value):
            return _traced_gradient(value)
        if getattr(value, "__sourcediff_transform__", False):  # grad(f)(x) in the code
            return _making_traced(value)
        if isinstance(value, Helpers) or isinstance(value, types.ModuleType) and \
                value.__name__.split(".")[0] in ("sourcediff", "scipy"):
            return _HelperModule(value)    # _sd.unbroadcast(...), rt.unconcatenate(...)
        return _ruled(value) or super()._replacement(value)


def _traced_gradient(fn):
    """A gradient sourcediff made (``grad(h)``), called on traced values in the code the
    tape runs (the value a residual form computes): its generated code, run traced."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        if not (has_box(args) or has_box(kwargs)):
            return fn(*args, **kwargs)
        if kwargs:
            raise unsupported(f"{getattr(fn, '__name__', 'a gradient')} with keywords")
        return traced_copy(made.plain_function(unwrap_all(args)))(*args)
    made = getattr(fn, "__sourcediff_state__", fn)
    call.__sourcediff_state__, call.plain_function = made, made.plain_function  # (still
    return call                                   # a gradient to vjp_call and jvp_call)


def _making_traced(transform):
    """``grad`` as the code the tape runs sees it: the gradient it makes, traced."""
    @functools.wraps(transform)
    def make(*args, **kwargs):
        made = transform(*args, **kwargs)
        return _traced_gradient(made) if runtime._made_gradient(made) else made
    return make


# --- cotangent buffers ------------------------------------------------------------------
@_traced_form("zeros_for")
def _zeros_for(x):
    out = runtime.zeros_for(unwrap_all(x))
    level = current_level()
    if isinstance(out, np.ndarray) and level is not None:
        return Tracer(out, record.Const(), level)
    return out


@_traced_form("scatter_add")
def _scatter_add(buf, idx, g):
    idx = unwrap_all(idx)
    if isinstance(buf, (list, dict)):
        return runtime.scatter_add(buf, idx, g)
    if not is_box(buf):
        if not has_box(g):
            return runtime.scatter_add(buf, idx, g)
        raise unsupported("scatter_add into a plain array")
    spread = traced_helper("unindex", runtime.unindex)(g, unwrap_all(buf), idx)
    new = buf + spread
    if not is_box(new):
        new = Tracer(new, record.Const(), buf.level)
    buf.value, buf.node, buf.level = new.value, new.node, new.level


@_traced_form("scatter_into")
def _scatter_into(buf, x, idx, g):
    if buf is None:
        buf = _zeros_for(x)
    _scatter_add(buf, idx, g)
    return buf


@_traced_form("add_owned")
def _add_owned(a, b):
    if a is None:
        return b if is_box(b) else runtime.add_owned(None, b)
    return runtime.add_cot(a, b)


@_traced_form("vjp_call")
def _vjp_call(fn, g, *args):
    """A call into user code: its generated adjoint (a plain function), run traced."""
    if not (has_box(args) or has_box(g)):
        return runtime.vjp_call(fn, g, *args)
    plain_args = unwrap_all(args)
    fn, bound = _untraced(fn), None
    if runtime._is_method(fn):
        fn, args, plain_args, bound = fn.__func__, (fn.__self__, *args), \
            (fn.__self__, *plain_args), fn.__self__
    if runtime._made_gradient(fn):  # grad(h) inside: the tape over its generated code,
        # nested (its sweep, given a traced g, records on this trace)
        made = getattr(fn, "__sourcediff_state__", fn)
        _, pull = vjp_of_generated(made.plain_function(plain_args), args)
        wrt = [i for i, a in enumerate(plain_args) if runtime._differentiable(a)]
        return [c if i in wrt else None for i, c in enumerate(pull(g))]
    first = 1 if bound is not None else 0
    wrt = tuple(i for i, a in enumerate(plain_args) if i >= first and runtime._differentiable(a))
    view = compiler.adjoint_view(fn, plain_args, wrt if g is not None else (), bound=bound)
    return traced_copy(view)(*args[first:], g)


@_traced_form("vjp_method")
def _vjp_method(g, obj, name, *args):
    if not (has_box(args) or has_box(g)):
        return runtime.vjp_method(g, obj, name, *args)
    f = getattr(obj, name)
    if runtime._is_method(f) and f.__self__ is obj:
        return _vjp_call(f.__func__, g, obj, *args)
    raise unsupported(f"the method .{name}")


@_traced_form("jvp_pair")
def _jvp_pair(fn, tangents, *args):
    """A call's value and tangent in tangent code: its tangent view (generated code), run
    traced."""
    if not (has_box(args) or has_box(tangents)):
        return runtime.jvp_pair(fn, tangents, *args)
    view = runtime.tangent_fn(fn, unwrap_all(tangents), *unwrap_all(args), pair=True)
    return traced_copy(view)(*args, tuple(tangents))


@_traced_form("jvp_call")
def _jvp_call(fn, tangents, *args):
    return _jvp_pair(fn, tangents, *args)[1]


@_traced_form("jvp_method")
def _jvp_method(obj, name, tangents, *args):
    if not (has_box(args) or has_box(tangents)):
        return runtime.jvp_method(obj, name, tangents, *args)
    view = runtime.method_tangent_fn(obj, name, unwrap_all(tangents), *unwrap_all(args))
    return traced_copy(view)(obj, tuple(tangents), *args)


@_traced_form("split_res")
def _split_res(fn, *args, wrt=None):
    """A call's value and residuals in code differentiated again: its residual form (plain
    generated code), run traced."""
    if not has_box(args):
        return splitcall.split_res(fn, *args, wrt=wrt)
    return traced_copy(splitcall.split_res_fn(_untraced(fn), *unwrap_all(args), wrt=wrt))(*args)


def _untraced(fn):
    """A function the traced code defined (a local ``def``) sees the traced globals; the
    compiler reads it with its module's own (a traced copy of its code sees them again)."""
    glob = getattr(fn, "__globals__", None)
    if type(fn) is not types.FunctionType or not isinstance(glob, _Globals):
        return fn
    new = types.FunctionType(fn.__code__, glob._module, fn.__name__, fn.__defaults__,
                             fn.__closure__)
    new.__kwdefaults__, new.__qualname__ = fn.__kwdefaults__, fn.__qualname__
    return new


@_traced_form("pullback_res")
def _pullback_res(residuals, g):
    """The reverse part of a residual form (plain generated code, first in the
    residuals), run traced."""
    if g is None or not (has_box(residuals) or has_box(g)):
        return splitcall.pullback_res(residuals, g)
    return traced_copy(residuals[0])(residuals, g)


@_traced_form("real_if")
def _real_if(g, x):
    """``real_if`` through its rule; a container's cotangent (a list argument's) as it is
    (real_if leaves containers alone)."""
    if isinstance(g, (list, tuple, dict)):
        return g
    return _REAL_IF(g, x)


_REAL_IF = traced_helper("real_if", runtime.real_if)

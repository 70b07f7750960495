"""Recording one operation: compute it on plain values, remember how to pull back.

Every traced operation -- an operator, a NumPy ufunc or function, a user
``@primitive`` -- ends up in :func:`call_rule`, which finds the operation's
rule in the shared table (:mod:`sourcediff.prims.rules`) and hands it to
:func:`record`. No derivative formula lives here: the backward functions only
evaluate the table's templates (or a primitive's user rule).
"""

from __future__ import annotations

import functools

import numpy as np

from ..prims import facts, registry, rules  # noqa: F401  (rules fills the table)
from ..values import markers  # noqa: F401  (rules fills the table)
from .. import runtime  # noqa: F401  (rules fills the table)
from ..errors import ArgumentError, MissingRuleError
from .graph import Const, Node, find_top, has_box, hold, is_box, is_constant, unwrap, unwrap_all

# Keyword arguments that change how a value is computed but not its derivative.
_BENIGN_KWARGS = frozenset({"dtype", "order", "casting", "subok", "optimize"})


def missing_rule(fn, detail=""):
    rule = registry.lookup(fn)
    name = rule.name if rule is not None else registry.qualified_name(fn)
    return MissingRuleError(
        f"no derivative rule for {name}{detail} (called on a traced value)",
        hint="wrap the computation in a function decorated with sourcediff.primitive and "
             f"give it a rule with .defvjp(...), or add one to the table with "
             f"registry.defrule({name}, ...) in sourcediff/prims/rules.py")


# --- entry points ---------------------------------------------------------------------

def call_rule(fn, args, kwargs, impl=None):
    """``fn(*args, **kwargs)`` with traced arguments, through the rule table.

    ``impl`` computes ``fn`` instead of ``fn`` itself: a version that accepts
    boxes of outer traces (the ``math`` shim's functions; ``math.sin`` does not).
    """
    rule = registry.lookup(fn)
    if rule is None:
        if registry.is_nondiff(fn):
            return call_nondiff(fn, args, kwargs)
        definition = registry.via(fn)
        if definition is not None:  # np.trapezoid: its NumPy definition, recorded
            return definition(*args, **kwargs)
        if only_constants(args, kwargs):
            return call_on_constants(fn, args, kwargs)
        raise missing_rule(fn)
    names = set(rule.param_names)
    extra = {k: v for k, v in kwargs.items() if k not in names}
    unknown = set(extra) - _BENIGN_KWARGS
    if unknown:
        if only_constants(args, kwargs):
            return call_on_constants(fn, args, kwargs)
        raise missing_rule(fn, f" with keyword argument(s) {', '.join(sorted(unknown))}")
    if impl is not None:
        fn = impl
    if extra:
        fn = functools.partial(fn, **unwrap_all(extra))
        kwargs = {k: v for k, v in kwargs.items() if k in names}
    return record(fn, rule, args, kwargs)


def call_nondiff(fn, args, kwargs):
    """A function whose output carries no gradient: run it on plain values."""
    out = fn(*unwrap_all(args), **unwrap_all(kwargs))
    top = find_top(args, kwargs)
    if top is not None and facts.of(fn).like:  # (y = np.zeros_like(x); y[i] = v records)
        return constant(out, top.level, type(top))
    return out


def only_constants(args, kwargs=None):
    """Whether every box among ``args``/``kwargs`` (lists searched too) is a constant."""
    stack = list(args) + list((kwargs or {}).values())
    while stack:
        x = stack.pop()
        if is_box(x):
            if not is_constant(x):
                return False
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
    return True


def call_on_constants(fn, args, kwargs):
    """Any function (rule or not) of traced constants only: run it on plain values."""
    out = fn(*unwrap_all(args), **unwrap_all(kwargs))
    top = find_top(args, kwargs)
    return out if top is None else constant(out, top.level, type(top))


def constant(value, level, box_type):
    """``value`` as a traced constant of trace ``level`` if it is a plain float array
    or number (so ``y[i] = traced`` can record into it later), else ``value``.

    Nothing is wrapped outside a trace or inside ``no_grad()``.
    """
    if level is None or is_box(value) or not markers.recording():
        return value
    if isinstance(value, np.ndarray):
        if not np.issubdtype(value.dtype, np.inexact):
            return value
    elif not isinstance(value, (float, np.floating, complex, np.complexfloating)):
        return value
    return box_type(value, Const(), level)


def dispatch_ufunc(ufunc, method, inputs, kwargs):
    """``__array_ufunc__``: ufunc calls, plus ``outer`` and ``reduce`` rewritten."""
    if kwargs.get("out") is not None:
        raise ArgumentError(
            f"np.{ufunc.__name__}(..., out=...) would write a traced value into a plain "
            "array in place",
            hint="write y = y + x instead of y += x when y is a plain NumPy array")
    if method == "__call__":
        return call_rule(ufunc, inputs, kwargs)
    if method == "outer" and len(inputs) == 2:
        a, b = inputs
        return ufunc(np.reshape(a, np.shape(a) + (1,) * np.ndim(b)), b, **kwargs)
    if method == "reduce" and facts.of(ufunc).reduce_as is not None:
        return facts.of(ufunc).reduce_as(*inputs, **kwargs)
    if only_constants(inputs, kwargs):
        return call_on_constants(getattr(ufunc, method), inputs, kwargs)
    raise missing_rule(ufunc, f".{method}")


# --- recording ----------------------------------------------------------------------------

def record(fn, rule, args, kwargs, *, strict=True, force=False):
    """Run ``fn`` on the innermost trace's plain values and record a node for it.

    ``strict``: a traced value reaching a parameter without a rule is an error
    (otherwise it is treated as a constant, as the table's own helpers need).
    ``force``: record even inside ``no_grad()``.
    """
    top = find_top(args, kwargs)
    if top is None:
        return fn(*args, **kwargs)
    if not (force or markers.recording()):
        return fn(*unwrap_all(args), **unwrap_all(kwargs))
    level = top.level
    raw_args = tuple(unwrap(a, level) for a in args)
    raw_kwargs = {k: unwrap(v, level) for k, v in kwargs.items()} if kwargs else {}
    ans = fn(*raw_args, **raw_kwargs)
    bound = rule.bind(args, dict(kwargs))
    slots, parents, constants = _traced_slots(rule, bound, level, strict)
    if not slots:
        return constant(ans, level, type(top)) if constants else ans
    values = [unwrap(v, level) for v in bound.values()]
    for v in bound.values():
        if type(v) is np.ndarray:  # a plain array the backward will read
            hold(v)
    boxed = has_box(ans) or has_box(values)
    node = Node(parents, _rule_pullback, (rule, slots, ans, values, boxed))
    return type(top)(ans, node, level)


def _traced_slots(rule, bound, level, strict):
    """(param position, param name, position in a sequence or None) of each traced
    input, the parent nodes in the same order, and whether a traced constant of
    this level was among the inputs (constants get no slot: no gradient)."""
    slots, parents, constants = [], [], False
    for k, (name, value) in enumerate(bound.items()):
        items = [(None, value)] if not isinstance(value, (list, tuple)) else seq_items(value)
        for i, v in items:
            if not (is_box(v) and v.level == level):
                continue
            if type(v.node) is Const:
                constants = True
                continue
            if rule.vjp_fn(name) is None:
                if strict and name not in rule.nondiff:  # (np.full_like's a: its shape)
                    raise missing_rule(rule.fn, rule.refusal(name))
                continue
            slots.append((k, name, i))
            parents.append(v.node)
    return slots, tuple(parents), constants


def seq_items(value, path=()):
    """(path, item) of each item of a sequence argument, nested sequences read through:
    ``odeint``'s ``args=([(W, b)],)`` gives ((0, 0, 0), W) and ((0, 0, 1), b); a rule's
    cotangent of a sequence is nested the same way."""
    for j, v in enumerate(value):
        if isinstance(v, (list, tuple)):
            yield from seq_items(v, (*path, j))
        else:
            yield (*path, j), v


def _rule_pullback(g, rule, slots, ans, values, boxed):
    """A recorded rule's backward: evaluate its templates for the traced slots."""
    higher = boxed or is_box(g)
    per_param = {}
    out = []
    for k, name, i in slots:
        if name not in per_param:
            per_param[name] = vjp_callable(rule, name, higher)(g, ans, *values)
        cot, operand = per_param[name], values[k]
        for j in i or ():
            cot, operand = cot[j], operand[j]
        out.append(runtime.unbroadcast(cot, operand) if rule.broadcast else cot)
    return out


# --- user primitives ---------------------------------------------------------------------

def call_primitive(prim, args, kwargs):
    """A ``sourcediff.primitive`` called on traced values: record its user rule."""
    top = find_top(args, kwargs)
    if not markers.recording():
        return prim(*unwrap_all(args), **unwrap_all(kwargs))
    level = top.level
    if any(is_box(v) and v.level == level for v in kwargs.values()):
        raise ArgumentError(f"pass traced arguments to primitive '{prim.rule.name}' "
                            "positionally: its rule gets one cotangent per positional argument")
    user_vjp = prim.vjp_or_raise()
    raw_args = tuple(unwrap(a, level) for a in args)
    ans = prim(*raw_args, **unwrap(kwargs, level))
    positions = [i for i, a in enumerate(args) if is_box(a) and a.level == level]
    parents = tuple(args[i].node for i in positions)
    node = Node(parents, _primitive_pullback, (prim, user_vjp, positions, ans, raw_args))
    return type(top)(ans, node, level)


def _primitive_pullback(g, prim, user_vjp, positions, ans, raw_args):
    cots = user_vjp(g, ans, *raw_args)
    if not isinstance(cots, (tuple, list)):
        cots = (cots,)
    if len(cots) != len(raw_args):
        raise ArgumentError(
            f"the reverse rule of primitive '{prim.rule.name}' returned {len(cots)} "
            f"cotangent(s) for {len(raw_args)} argument(s)")
    return [cots[i] for i in positions]


# --- assignment y[idx] = v -----------------------------------------------------------------

def index_update(y, idx, v):
    """``y`` with ``y[idx]`` replaced by ``v``, recorded from table rules only.

    It is ``np.where(mask, unindex(broadcast_to(v, ...), y, idx), y)``: a
    functional update (like JAX's ``y.at[idx].set(v)``), so the old value of
    ``y`` stays intact on the tape.
    """
    plain_y = unwrap_all(y)
    mask = np.zeros(np.shape(plain_y), dtype=bool)
    mask[idx] = True
    if not runtime._is_basic_index(idx):
        hits = np.zeros(np.shape(plain_y), dtype=int)
        np.add.at(hits, idx, 1)
        if hits.max(initial=0) > 1:
            raise ArgumentError("y[idx] = v with a repeated index is not supported on the tape")
    part = np.broadcast_to(v, np.shape(mask[idx]))
    scattered = _helper(runtime.unindex)(part, plain_y, idx)
    return record(np.where, registry.lookup(np.where), (mask, scattered, y), {}, force=True)


# --- rule templates as callables ------------------------------------------------------------

def vjp_callable(rule, param, higher=False):
    """The rule's reverse template for ``param`` as ``f(g, ans, *params)``.

    First order uses ``rule.vjp_fn``. When cotangents or saved values are
    themselves traced (a derivative of a derivative), the same template is
    compiled with the table's helper functions recorded as primitives, so the
    sweep records itself on the outer trace.
    """
    if not higher:
        return rule.vjp_fn(param)
    key = (id(rule), param)
    if key not in _TRACED_VJPS:
        src = rule.vjps.get(param) or rule.seq_vjps.get(param)
        code = f"lambda g, ans, {', '.join(rule.param_names)}: {src}"
        _TRACED_VJPS[key] = (rule, eval(compile(code, f"<tape rule {rule.name}>", "eval"),
                                        _traced_namespace()))
    return _TRACED_VJPS[key][1]


_TRACED_VJPS: dict = {}
_NAMESPACE: dict = {}
_MATH: list = []  # the traced ``math`` module: shim.MATH, given by shim (which sits above)


def provide_math(module):
    """Set the ``math`` module the traced templates see (called once by shim)."""
    _MATH[:] = [module]


def _traced_namespace():
    if not _NAMESPACE:
        _NAMESPACE.update(np=np, math=_MATH[0])
        _NAMESPACE.update({name: _helper(fn) for name, fn in runtime.HELPERS.items()})
    return _NAMESPACE


@functools.lru_cache(maxsize=None)
def _helper(fn):
    """``fn`` recorded as one operation (by its table rule) when given traced values.

    Only helpers whose rule has reverse templates are wrapped; the rule's
    ``None`` parameters (shapes, indices) are then constants. Other helpers run
    as they are, and the NumPy calls inside them record themselves.
    """
    rule = registry.lookup(fn)
    if rule is None or not (rule.vjps or rule.seq_vjps):
        return fn

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        if find_top(args, kwargs) is None:
            return fn(*args, **kwargs)
        # computed by ``traced`` itself: the plain values of this trace may still
        # be boxes of an outer one (a derivative of a derivative)
        return record(traced, rule, args, kwargs, strict=False, force=True)
    return traced

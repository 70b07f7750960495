"""One decision at a call, for both sweeps: what the called function is decides how the
call is differentiated.

The reverse sweep (:class:`reverse_calls.CallSweep`) and forward mode
(:class:`forward.Tangents`) ask the same questions, in the same order, of the function a
call resolves to: ``stop_gradient``; user code the compiler reads (a function, a bound
method); a method of a local; a function unknown at compile
time (refused); a user ``@primitive``; a function with a rule; one declared
non-differentiable; anything else (a ``MissingRuleError``). :class:`CallDispatch` asks
them; a sweep supplies only what differs, its ``mode`` and one handler per answer.

The predicates the passes share (:func:`is_user_function`, :func:`is_user_call`, ...) live
here too.
"""

from __future__ import annotations

import collections

import types

import gast

from ..ir import nodes as N
from ..prims import registry
from ..runtime import _made_gradient
from .activity import refuse
from ..prims.custom import Primitive
from ..errors import MissingRuleError, columns
from ..front.fence import fail
from ..front import own
from ..values.markers import stop_gradient
from ..front.resolve import MISSING, never_read, static_value

# what a refused argument and a missing rule are called in each mode, and how to add one
_REFUSED = {"rev": "", "fwd": "the tangent of "}
_MISSING_RULE = {
    "rev": ("derivative", lambda fn: f"wrap it: f = sourcediff.primitive("
            f"{getattr(fn, '__name__', 'f')}) and give it f.defvjp(lambda g, ans, *args: "
            "(...,)), or add a defrule(...) line to sourcediff/prims/rules.py"),
    "fwd": ("tangent", lambda fn: "mark it with sourcediff.primitive and give it "
            "f.defjvp(...), or add a defrule(...) line to sourcediff/prims/rules.py"),
}


class CallDispatch:
    """The call decision of a sweep. The sweep sets ``mode`` (``"rev"`` or ``"fwd"``: the
    rule templates it reads) and defines the handlers ``nothing()`` (a call that
    contributes nothing), ``user_call(value, s, *extra)``, ``method_call(value, s,
    *extra)``, ``user_primitive(fn, value, s, *extra)`` and ``rule_call(fn, value, rule,
    bound, s, *extra)``, where ``extra`` is what it passes to :meth:`dispatch` (the
    cotangent and output in reverse mode, the output in forward mode)."""

    mode = None
    real_kind = frozenset()  # names surely real (argument dtypes known): see templates

    def dispatch(self, value, s, *extra):
        """The handler's result for the call ``value`` in statement ``s``."""
        fn = static_value(value.func, self.ns)
        if fn is stop_gradient:
            return self.nothing()
        if runs_user_code(value, fn):
            return self.user_call(value, s, *extra)
        if is_method_of_local(value.func, fn):
            return self.method_call(value, s, *extra)
        if fn is MISSING:
            fail(self.parsed, value, "a call to a function that is not known at compile time",
                 "call a module-level function, or mark it with sourcediff.primitive")
        if isinstance(fn, Primitive):
            return self.user_primitive(fn, value, s, *extra)
        rule = registry.lookup(fn)
        if rule is None:
            if registry.is_nondiff(fn):
                return self.nothing()
            if own.own_call(fn):  # (sd.jvp(...) inside: what works instead, no rule)
                own.refuse_call(self.parsed, s, own.own_call(fn), columns(s, value=True))
            what, hint = _MISSING_RULE[self.mode]
            name = registry.qualified_name(fn)
            raise MissingRuleError(
                f"no {what} rule for {name}", function=self.parsed.name,
                filename=self.parsed.filename, lineno=getattr(s, "lineno", None),
                source_line=self.parsed.line(getattr(s, "lineno", None)),
                construct=name, **columns(s, value=True), hint=hint(fn))
        try:
            bound = rule.bind(value.args, {k.arg: k.value for k in value.keywords})
        except TypeError as exc:
            fail(self.parsed, value, f"this call to {rule.name} ({exc})", "check its arguments")
        bind_nodes(rule, bound)
        return self.rule_call(fn, value, rule, bound, s, *extra)

    def templates(self, rule, bound, s, live, special=()):
        """``(parameter, argument, template)`` for each parameter of a rule call whose
        argument is a name in ``live`` (what the sweep differentiates) and that the rule
        has a template for in this sweep's mode, in the rule's order; an argument the rule
        refuses to differentiate is refused. A parameter in ``special`` comes with the
        template None, whatever its argument (the sweep writes those itself)."""
        for p in rule.params:
            arg = bound[p.name]
            if p.name in special:
                yield p, arg, None
                continue
            if not (isinstance(arg, gast.Name) and arg.id in live):
                continue
            if p.name in rule.complex_only and arg.id in self.real_kind:
                continue  # (real there: piecewise constant, its derivative exactly zero)
            tpl = rule.template(p.name, self.mode)
            if tpl is None:
                if rule.refuses(p.name, self.mode):
                    refuse(self.parsed, s, f"{_REFUSED[self.mode]}{rule.name}"
                           f"{rule.refusal(p.name)}", [arg.id])
                continue
            yield p, arg, tpl


def bind_nodes(rule, bound):
    """Bound call arguments as nodes: defaults become constants, ``*operands`` a tuple."""
    for p in rule.params:
        if p.variadic:
            bound[p.name] = N.tuple_(list(bound[p.name]))
        elif not isinstance(bound[p.name], gast.AST):
            bound[p.name] = N.const(bound[p.name])


def runs_user_code(value, fn):
    """The call ``value`` (to ``fn``) runs code the compiler reads and differentiates
    through its own generated code: a user function (or one unknown by name, a
    parameter), a bound method, or a gradient sourcediff made (``df = grad(f)`` read from
    a global or a closure: its generated code, ``runtime.vjp_call``)."""
    return ((fn is MISSING and isinstance(value.func, gast.Name)) or is_user_function(fn)
            or is_bound_method(fn) or _made_gradient(fn))


def is_user_function(fn):
    """A plain Python function with no rule: differentiate its source too."""
    return (isinstance(fn, types.FunctionType) and registry.lookup(fn) is None
            and not registry.is_nondiff(fn) and fn is not stop_gradient
            and not never_read(fn))


def is_bound_method(fn):
    """A user function bound to an object (``model.predict`` read from a global), not one
    with a rule of its own (``scipy.stats.norm.pdf``)."""
    return (isinstance(fn, types.MethodType) and is_user_function(fn.__func__)
            and registry.lookup(fn) is None)


def is_user_call(value, fn):
    """Whether the call ``value`` (its function resolved to ``fn``) runs user code that
    the sweep differentiates through its own adjoint (``Sweep.user_call``/``method_call``)."""
    return runs_user_code(value, fn) or is_method_of_local(value.func, fn)


def is_method_of_local(func, fn):
    """``obj.name(...)`` where ``obj`` is a local or an argument (``fn`` unresolved)."""
    return fn is MISSING and isinstance(func, gast.Attribute) and isinstance(
        func.value, gast.Name)


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


def rebound(body, params=()):
    """Names given a new value by ``name = ...`` (a parameter once, any other name twice):
    their value, and its shape, may change where an adjoint's zero is made."""
    stores = collections.Counter(params)
    stores.update(t.id for n in N.walk(gast.Module(body=body, type_ignores=[]))
                  if isinstance(n, gast.Assign) for t in n.targets if isinstance(t, gast.Name))
    return {v for v, c in stores.items() if c > 1}


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
                    isinstance(v, gast.Call) and static_value(v.func, ns) in (
                        list, tuple)):
                out.add(node.targets[0].id)
    return out


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

"""The reverse sweep at calls (part of pass 6, :mod:`reverse`): a rule's templates
inlined, a call into user code (a split pullback or ``vjp_call``), a method, a user
primitive's own rules."""

from __future__ import annotations

import types

import gast

from . import closures
from . import nodes as N
from . import registry
from .activity import refuse
from .custom import Primitive
from .errors import MissingRuleError, columns
from .fence import fail
from .markers import stop_gradient
from .registry import parse_template
from .resolve import MISSING, static_value


class CallSweep:
    """The :class:`reverse.Sweep` methods for calls."""

    def call(self, value, g, ans, s):
        fn = static_value(value.func, self.ns)
        if fn is stop_gradient:
            return []
        if (fn is MISSING and isinstance(value.func, gast.Name)) or is_user_function(fn) \
                or is_bound_method(fn):
            return self.user_call(value, g, s)
        if is_method_of_local(value.func, fn):
            return self.method_call(value, g, s)
        if fn is MISSING:
            fail(self.parsed, value, "a call to a function that is not known at compile time",
                 "call a module-level function, or mark it with sourcediff.primitive")
        if isinstance(fn, Primitive):
            return self.user_primitive(fn, value, g, ans)
        rule = registry.lookup(fn)
        if rule is None:
            if registry.is_nondiff(fn):
                return []
            name = registry.qualified_name(fn)
            raise MissingRuleError(
                f"no derivative rule for {name}", function=self.parsed.name,
                filename=self.parsed.filename, lineno=getattr(s, "lineno", None),
                source_line=self.parsed.line(getattr(s, "lineno", None)),
                construct=name, **columns(s, value=True),
                hint=f"wrap it: f = sourcediff.primitive({getattr(fn, '__name__', 'f')}) and "
                     "give it f.defvjp(lambda g, ans, *args: (...,)), or add a defrule(...) "
                     "line to sourcediff/rules.py")
        kwargs = {k.arg: k.value for k in value.keywords}
        try:
            bound = rule.bind(value.args, kwargs)
        except TypeError as exc:
            fail(self.parsed, value, f"this call to {rule.name} ({exc})", "check its arguments")
        bind_nodes(rule, bound)
        return self.apply(rule, bound, g, ans, s)

    def apply(self, rule, bound, g, ans, s):
        out = []
        mapping = dict(bound)
        mapping["g"] = g
        mapping["ans"] = ans
        for p in rule.params:
            arg = bound[p.name]
            if p.name in rule.seq_vjps:
                out += self.seq_contrib(rule, p, arg, mapping)
                continue
            if not (isinstance(arg, gast.Name) and arg.id in self.active):
                continue
            tpl = rule.template(p.name, "rev")
            if tpl is None:
                if rule.refuses(p.name, "rev"):
                    refuse(self.parsed, s, f"{rule.name} with respect to its argument "
                           f"'{p.name}'", [arg.id])
                continue
            c = N.substitute(tpl, mapping)
            if rule.broadcast:
                c = N.call("unbroadcast", [c, N.name(arg.id)])
            out += self.contribute(arg.id, c)
        return out

    def seq_contrib(self, rule, p, arg, mapping):
        if isinstance(arg, gast.Tuple) and p.variadic:
            elts = arg.elts
        elif isinstance(arg, gast.Name):
            if arg.id not in self.active:
                return []
            tmp = self.names.temp("parts")
            c = N.substitute(parse_template(rule.seq_vjps[p.name]), mapping)
            self.containers.add(arg.id)   # its cotangent is a list: add_cot adds them
            return [N.assign(tmp, c)] + self.accumulate(arg.id, N.name(tmp))
        else:
            return []
        active = [i for i, e in enumerate(elts) if isinstance(e, gast.Name) and e.id in self.active]
        if not active:
            return []
        mapping = dict(mapping)
        mapping[p.name] = N.tuple_(elts)
        tmp = self.names.temp("parts")
        out = [N.assign(tmp, N.substitute(parse_template(rule.seq_vjps[p.name]), mapping))]
        for i in active:
            out += self.accumulate(elts[i].id, gast.Subscript(
                value=N.name(tmp), slice=N.const(i), ctx=gast.Load()))
        return out

    def user_call(self, value, g, s):
        """A call to user code: the callee's own generated adjoint, run by ``vjp_call`` on
        the call's arguments bound to the callee's signature (:func:`closures.callee`)."""
        func, args = closures.callee(self.parsed, value, self.ns, self.varied, self.names,
                                     self.extra_globals)
        tmp = self.names.temp("cts")
        if self.pullback is not None:  # the forward pass ran it once and kept its pullback
            needed = tuple(i for i, a in enumerate(args)  # the arguments given cotangents
                           if any(n in self.active for n, _ in _packed(a, N.const(None))))
            N.set_anno(s, "split_call", ("call", func, args, needed))
            out = [N.assign(tmp, N.call(N.name(self.pullback), [g]))]
        else:
            out = [N.assign(tmp, N.call("vjp_call", [func, g, *args]))]
        for i, a in enumerate(args):
            item = gast.Subscript(value=N.name(tmp), slice=N.const(i), ctx=gast.Load())
            for name, ct in _packed(a, item):
                if name in self.active:
                    out += self.contribute(name, ct, maybe_none=True)
        return out

    def method_call(self, value, g, s):
        """``obj.name(args)``, a method of a local or argument (``self.predict(w, X)``):
        looked up when it runs, as Python does; ``obj`` is its first argument, ``self``."""
        if value.keywords:
            fail(self.parsed, value, "keyword arguments in a method call",
                 "pass the arguments by position")
        obj = value.func.value
        tmp = self.names.temp("cts")
        if self.pullback is not None:  # the forward pass ran it once and kept its pullback
            N.set_anno(s, "split_call", ("method", value.func, value.args, None))
            out = [N.assign(tmp, N.call(N.name(self.pullback), [g]))]
        else:
            out = [N.assign(tmp, N.call("vjp_method", [g, N.clone(obj),
                                                       N.const(value.func.attr),
                                                       *[N.clone(a) for a in value.args]]))]
        for i, a in enumerate([obj, *value.args]):
            if isinstance(a, gast.Name) and a.id in self.active:
                item = gast.Subscript(value=N.name(tmp), slice=N.const(i), ctx=gast.Load())
                out += self.contribute(a.id, item, maybe_none=True)
        return out

    def user_primitive(self, fn, value, g, ans):
        rule_name = self.names.global_name(f"{fn.__name__}_vjp")
        self.extra_globals[rule_name] = fn.vjp_or_raise()
        tmp = self.names.temp("cts")
        out = [N.assign(tmp, N.call(N.name(rule_name), [g, ans, *value.args]))]
        for i, a in enumerate(value.args):
            if isinstance(a, gast.Name) and a.id in self.active:
                item = gast.Subscript(value=N.name(tmp), slice=N.const(i), ctx=gast.Load())
                out += self.contribute(a.id, item, maybe_none=True)
        return out


def bind_nodes(rule, bound):
    """Bound call arguments as nodes: defaults become constants, ``*operands`` a tuple."""
    for p in rule.params:
        if p.variadic:
            bound[p.name] = N.tuple_(list(bound[p.name]))
        elif not isinstance(bound[p.name], gast.AST):
            bound[p.name] = N.const(bound[p.name])


def is_user_function(fn):
    """A plain Python function with no rule: differentiate its source too."""
    return (isinstance(fn, types.FunctionType) and registry.lookup(fn) is None
            and not registry.is_nondiff(fn) and fn is not stop_gradient
            and not _ours(getattr(fn, "__module__", None) or ""))


def is_bound_method(fn):
    """A user function bound to an object (``model.predict`` read from a global), not one
    with a rule of its own (``scipy.stats.norm.pdf``)."""
    return (isinstance(fn, types.MethodType) and is_user_function(fn.__func__)
            and registry.lookup(fn) is None)


def is_user_call(value, fn):
    """Whether the call ``value`` (its function resolved to ``fn``) runs user code that
    the sweep differentiates through its own adjoint (``Sweep.user_call``/``method_call``)."""
    return ((fn is MISSING and isinstance(value.func, gast.Name)) or is_user_function(fn)
            or is_bound_method(fn) or is_method_of_local(value.func, fn))


def is_method_of_local(func, fn):
    """``obj.name(...)`` where ``obj`` is a local or an argument (``fn`` unresolved)."""
    return fn is MISSING and isinstance(func, gast.Attribute) and isinstance(
        func.value, gast.Name)


def _ours(module):
    """sourcediff's own functions, and NumPy's and SciPy's: the compiler never reads a
    library's source (a library function without a rule is a MissingRuleError)."""
    return module.split(".")[0] in ("sourcediff", "numpy", "scipy")


def _packed(arg, ct):
    """(name, its cotangent) for an argument of a user call whose cotangent is ``ct``:
    the argument itself, or each name in a ``*args`` tuple or ``**kwargs`` dict."""
    if isinstance(arg, gast.Name):
        return [(arg.id, ct)]
    if isinstance(arg, (gast.Tuple, gast.Dict)):
        keys = arg.keys if isinstance(arg, gast.Dict) else [
            N.const(k) for k in range(len(arg.elts))]
        elts = arg.values if isinstance(arg, gast.Dict) else arg.elts
        return [(e.id, N.call("get_cot", [N.clone(ct), N.clone(k)]))
                for k, e in zip(keys, elts) if isinstance(e, gast.Name)]
    return []

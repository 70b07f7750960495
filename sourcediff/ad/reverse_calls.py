"""The reverse sweep at calls (part of pass 6, :mod:`reverse`): a rule's templates
inlined, a call into user code (a split pullback or ``vjp_call``), a method, a user
primitive's own rules. Which of these a call is, :mod:`calls` decides (for both sweeps)."""

from __future__ import annotations

import gast

from ..front import closures
from ..ir import nodes as N
from .calls import CallDispatch
from ..front.fence import fail
from ..prims.registry import parse_template

class CallSweep(CallDispatch):
    """The :class:`reverse.Sweep` methods for calls."""

    mode = "rev"

    def call(self, value, g, ans, s):
        return self.dispatch(value, s, g, ans)

    def nothing(self):
        return []

    def rule_call(self, fn, value, rule, bound, s, g, ans):
        return self.apply(rule, bound, g, ans, s)

    def apply(self, rule, bound, g, ans, s):
        out = []
        mapping = {**bound, "g": g, "ans": ans}
        for p, arg, tpl in self.templates(rule, bound, s, self.active, rule.seq_vjps):
            if tpl is None:
                out += self.seq_contrib(rule, p, arg, mapping)
                continue
            c = N.instantiate(tpl, mapping)
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
            c = N.instantiate(parse_template(rule.seq_vjps[p.name]), mapping)
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
        out = [N.assign(tmp, N.instantiate(parse_template(rule.seq_vjps[p.name]), mapping))]
        for i in active:
            out += self.accumulate(elts[i].id, gast.Subscript(
                value=N.name(tmp), slice=N.const(i), ctx=gast.Load()))
        return out

    def user_call(self, value, s, g, ans):
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

    def method_call(self, value, s, g, ans):
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

    def user_primitive(self, fn, value, s, g, ans):
        rule_name = self.names.global_name(f"{fn.__name__}_vjp")
        self.extra_globals[rule_name] = fn.vjp_or_raise()
        tmp = self.names.temp("cts")
        out = [N.assign(tmp, N.call(N.name(rule_name), [g, ans, *value.args]))]
        for i, a in enumerate(value.args):
            if isinstance(a, gast.Name) and a.id in self.active:
                item = gast.Subscript(value=N.name(tmp), slice=N.const(i), ctx=gast.Load())
                out += self.contribute(a.id, item, maybe_none=True)
        return out


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

"""Pass 6: the reverse sweep.

Walks the normalised primal backwards and writes, for every active
statement, the adjoint code its rule templates give. ``x_bar`` is the adjoint
of ``x``. The first contribution to an adjoint is a plain assignment and
later ones add to it, so no zero is ever materialised in straight-line code;
adjoints accumulated inside loops or branches start from the scalar ``0.0``.
That placeholder is only ever added to: before a rule reads an adjoint that may
still hold it, ``real_cot`` turns it into zeros of its primal's shape.
A variable assigned more than once is pushed on ``_stack`` before each
assignment and popped back in the reverse sweep, but only if the reverse
sweep reads it (decided after the sweep is written).
"""

from __future__ import annotations

import operator

import gast
import numpy as np

from . import closures
from . import nodes as N
from . import registry
from .activity import BINOPS, NONDIFF_ATTRS, UNARY, operands, refuse
from .custom import Primitive
from .errors import MissingRuleError, columns
from .fence import check_discarded_call, fail
from .markers import stop_gradient
from .resolve import MISSING, static_value



class Sweep:
    """State of one reverse sweep: which adjoints exist, which need a zero."""

    def __init__(self, parsed, ns, active, names, multidef):
        self.parsed = parsed
        self.ns = ns
        self.active = active
        self.names = names          # a NameGen
        self.multidef = multidef    # names assigned more than once / in loops
        self.defined = set()        # adjoints definitely assigned here
        self.maybe = set()          # adjoints assigned on some path
        self.init = {}              # adjoint name -> its starting zero
        self.scatter = set()        # adjoints updated in place (x[i] reads)
        self.zeroed = set()         # adjoints just cut to zero (next write assigns)
        self.real = set()           # adjoints surely past their scalar 0.0 placeholder
        self.containers = set()     # lists, tuples, dicts: adjoints add with add_cot
        self.varied = set(active)   # names that depend on wrt (a superset of active)
        self.loop_locals = set()    # temporaries assigned once, inside a loop
        self.lazy = set()           # indexed names that may not exist when the sweep starts
        self.loop_inits = []        # per enclosing loop: adjoints zeroed each iteration
        self.depth = 0              # nesting of compound statements
        self.extra_globals = {}
        self.pullback = None        # the pullback of the call being differentiated (split.py)
        self.sequences = set()      # names holding lists or tuples (driver.sequences)

    # -- adjoint bookkeeping ------------------------------------------------------
    def bar(self, v):
        return self.names.adjoint(v)

    def has_adjoint(self, v):
        return v in self.defined or v in self.maybe

    def need_init(self, v):
        name = self.bar(v)  # the name now: a later straight-line cut may rename v's adjoint
        # a temporary local to one loop iteration starts from zero in each iteration
        inits = self.loop_inits[-1] if v in self.loop_locals and self.loop_inits else self.init
        if name not in inits:
            inits[name] = self.zero(v)
        self.real.discard(v)  # it may still hold that zero
        self.defined.add(v)
        self.maybe.add(v)

    def accumulate(self, v, contribution):
        """``v_bar += contribution`` (a plain assignment when it is the first)."""
        b = self.bar(v)
        if v in self.scatter:
            self.need_init(v)
        if v in self.zeroed and v not in self.scatter:
            self.zeroed.discard(v)
            value = contribution
        elif v in self.defined or v in self.maybe:
            if v not in self.defined:
                self.need_init(v)
            if v in self.lazy and v in self.scatter:  # scatter_into will write into it
                value = N.call("add_owned", [N.name(b), contribution])
            elif v in self.containers or v in self.lazy:
                value = N.call("add_cot", [N.name(b), contribution])
            else:
                value = N.binop(N.name(b), gast.Add(), contribution)
        else:
            value = contribution
        self.defined.add(v)
        self.maybe.add(v)
        self.real.add(v)
        return [N.assign(b, value)]

    def cut(self, v):
        """The adjoint of an overwritten value starts again from zero."""
        if not self.has_adjoint(v):
            return []
        self.real.discard(v)
        if v in self.loop_locals and v not in self.scatter:
            # never read again in this iteration; the next one starts it afresh
            self.defined.discard(v)
            self.maybe.discard(v)
            self.zeroed.discard(v)
            return []
        if self.depth == 0 and v not in self.scatter:
            # straight-line code: the older value's adjoint gets a fresh name
            self.names.new_version(v)
            self.defined.discard(v)
            self.maybe.discard(v)
            return []
        self.zeroed.add(v)
        return [N.assign(self.bar(v), self.zero(v))]

    def placeholder(self, v):
        """Does ``v``'s adjoint start from the scalar ``0.0`` placeholder?"""
        return v not in self.scatter and v not in self.lazy and v not in self.containers

    def make_real(self, v):
        """Before a rule reads ``v``'s adjoint: the placeholder becomes real zeros."""
        if v in self.real or not self.placeholder(v):
            return []
        self.real.add(v)
        b = self.bar(v)
        return [N.assign(b, N.call("real_cot", [N.name(b), N.name(v)]))]

    def zero(self, v):
        if self.placeholder(v):
            return N.const(0.0)
        if v in self.scatter and v not in self.lazy:
            return N.call("zeros_for", [N.name(v)])
        return N.const(None)  # allocated on first use, or a container: None is its zero

    # -- statements ---------------------------------------------------------------
    def block(self, stmts):
        out = []
        for s in reversed(stmts):
            out += self.stmt(s)
        return out

    def stmt(self, s):
        if isinstance(s, gast.Assign):
            return self.assign(s)
        if isinstance(s, gast.Expr):
            return self.expr_call(s) if isinstance(s.value, gast.Call) else []
        # only straight-line code may rely on a fresh zero: none holds across a compound
        # statement (a zero set in one branch, or in a loop that may not run)
        self.zeroed.clear()
        handler = {gast.If: self.if_, gast.For: self.for_, gast.While: self.while_,
                   gast.With: self.with_}.get(type(s))
        out = handler(s) if handler is not None else []
        self.zeroed.clear()
        return out

    def with_(self, s):
        self.depth += 1
        out = self.block(s.body)
        self.depth -= 1
        return out

    def assign(self, s):
        target = s.targets[0]
        out = []
        if isinstance(target, gast.Subscript):
            return self.setitem(s)
        x = target.id
        if x in self.active and self.has_adjoint(x):
            pulled = getattr(s, "sd_pullbacks", None)  # a call run once (split.py)
            self.pullback = self.names.temp("pb") if pulled else None
            if x in self.maybe and x not in self.defined:
                self.need_init(x)
            real = self.make_real(x)
            ops = operands(s.value, self.ns)
            g = N.name(self.bar(x))
            restore = x in self.multidef and not getattr(s, "sd_first", False)
            if x in ops and self.multidef_or_loop(x):
                # x = f(x, ...): the rule needs the old x (restored first) and the new one
                tmp, ans = self.names.temp("g"), self.names.temp("ans")
                pre = [N.assign(tmp, g), N.assign(ans, N.name(x))]
                if restore:
                    pre.append(_pop(x, id(s)))
                    restore = False
                pre += self.cut(x)  # (after the restore: zeros shaped like the old x)
                out = pre + self.unless_none(x, s.value, tmp, lambda: self.adjoint_of(
                    s, x, N.name(tmp), N.name(ans)))
            else:
                body = self.unless_none(x, s.value, self.bar(x), lambda: self.adjoint_of(s, x, g))
                out = body + (self.cut(x) if self.multidef_or_loop(x) else [])
            if self.pullback is not None and getattr(s, "sd_split_call", None):
                # taken back on every run of this statement, even where its cotangent is
                # None: the list is last in, first out, one pullback per forward call
                out = [N.assign(self.pullback, N.call("pullback_of", [N.name(pulled)]))] + out
            self.pullback = None
            if out:
                out = [N.comment(self.describe(s))] + real + out
        else:
            restore = x in self.multidef and not getattr(s, "sd_first", False)
        if restore and not getattr(s, "sd_counter_inc", False):  # counters are never pushed
            out.append(_pop(x, id(s)))
        return out

    def unless_none(self, x, value, g, make):
        """The statements ``make()`` gives, run only while adjoint ``g`` is not None:
        an adjoint allocated on first use, or a container's (None is its zero), may
        still be None when the sweep reaches ``x = value``."""
        if x not in self.lazy and (x not in self.containers or self.none_safe(value)):
            return make()
        start_d, start_m, start_r = set(self.defined), set(self.maybe), set(self.real)
        self.depth += 1
        body = make()
        self.depth -= 1
        self.defined = start_d
        self.maybe |= start_m
        self.real &= start_r
        if not body:
            return []
        test = gast.Compare(left=N.name(g), ops=[gast.IsNot()], comparators=[N.const(None)])
        return [N.if_(test, body, [])]

    def none_safe(self, value):
        """The adjoint of ``x = value`` takes a None cotangent as zero by itself."""
        if isinstance(value, (gast.List, gast.Tuple, gast.Dict, gast.ListComp, gast.DictComp)):
            return True
        if isinstance(value, gast.Call):
            fn = static_value(value.func, self.ns)
            return fn in (list, tuple, dict) or is_user_function(fn)
        return False

    def multidef_or_loop(self, x):
        return x in self.multidef

    def describe(self, s):
        return describe(self.parsed, s)

    def adjoint_of(self, s, x, g, ans=None):
        """Contributions of ``x = value`` to its operands' adjoints."""
        value = s.value
        ans = N.name(x) if ans is None else ans
        if isinstance(value, gast.Name):
            return self.contribute(value.id, g) if value.id in self.active else []
        if isinstance(value, gast.BinOp) and self.joins(value):
            return [c for i, side in enumerate((value.left, value.right))
                    if isinstance(side, gast.Name) and side.id in self.active
                    for c in self.contribute(side.id, N.call("plus_cot", [
                        N.clone(g), N.clone(value.left), N.clone(value.right), N.const(i)]),
                        maybe_none=True)]
        if isinstance(value, gast.BinOp):
            rule = registry.lookup(BINOPS[type(value.op)])
            if rule is None:  # declared non-differentiable (activity refuses the rest)
                return []
            if rule.fn is operator.mul and isinstance(value.left, gast.Name) and isinstance(
                    value.right, gast.Name) and value.left.id == value.right.id:
                rule = registry.lookup(np.square)  # x * x: one term, 2 * x * g
                return self.apply(rule, {"x": value.left}, g, ans, s)
            return self.apply(rule, dict(zip(rule.param_names, (value.left, value.right))),
                              g, ans, s)
        if isinstance(value, gast.UnaryOp):
            rule = registry.lookup(UNARY[type(value.op)])
            if rule is None:
                return []
            return self.apply(rule, {"x": value.operand}, g, ans, s)
        if isinstance(value, gast.Subscript):
            return self.getitem(value, g)
        if isinstance(value, gast.Attribute):
            return self.attribute(value, g)
        if isinstance(value, (gast.Tuple, gast.List, gast.Dict)):
            keys = value.keys if isinstance(value, gast.Dict) else [
                N.const(i) for i in range(len(value.elts))]
            elts = value.values if isinstance(value, gast.Dict) else value.elts
            out = []
            for k, e in zip(keys, elts):
                if isinstance(e, gast.Name) and e.id in self.active:
                    out += self.contribute(e.id, N.call("get_cot", [N.clone(g), N.clone(k)]),
                                           maybe_none=True)
            return out
        if isinstance(value, gast.Call):
            return self.call(value, g, ans, s)
        return []

    def joins(self, value):
        """``a + b`` where a side holds a list or tuple: ``+`` joins sequences."""
        return isinstance(value.op, gast.Add) and any(
            isinstance(v, gast.Name) and v.id in self.sequences
            for v in (value.left, value.right))

    def contribute(self, v, c, maybe_none=False):
        if maybe_none:
            tmp = self.names.temp("c")
            return [N.assign(tmp, c), N.if_(N.parse_expr(f"{tmp} is not None"),
                                            self._under_branch(lambda: self.accumulate(v, N.name(tmp))))]
        return self.accumulate(v, c)

    def _under_branch(self, fn):
        before, real = set(self.defined), set(self.real)
        self.depth += 1
        out = fn()
        self.depth -= 1
        self.defined = before  # the branch may not run
        self.real &= real
        return out

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
        from .registry import parse_template
        if isinstance(arg, gast.Tuple) and p.variadic:
            elts = arg.elts
        elif isinstance(arg, gast.Name):
            if arg.id not in self.active:
                return []
            tmp = self.names.temp("parts")
            c = N.substitute(parse_template(rule.seq_vjps[p.name]), mapping)
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
            s.sd_split_call = ("call", func, args)
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
            s.sd_split_call = ("method", value.func, value.args)
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

    def getitem(self, value, g):
        x = value.value
        if not (isinstance(x, gast.Name) and x.id in self.active):
            return []
        self.scatter.add(x.id)
        self.need_init(x.id)
        idx = index_expr(value.slice)
        b = self.bar(x.id)
        if x.id in self.lazy:  # x may not exist where the sweep starts: allocate on first use
            return [N.assign(b, N.call("scatter_into", [N.name(b), N.name(x.id), idx, g]))]
        return [N.expr_stmt(N.call("scatter_add", [N.name(b), idx, g]))]

    def attribute(self, value, g):
        """``y = p.w``, a field of a container (a dataclass...): ``p``'s adjoint gets
        ``y_bar`` in that field's place (``attr_cot`` refuses any other attribute)."""
        x = value.value
        if not (isinstance(x, gast.Name) and x.id in self.active) or value.attr in NONDIFF_ATTRS:
            return []
        return self.contribute(x.id, N.call("attr_cot", [N.name(x.id), N.const(value.attr), g]),
                               maybe_none=True)

    def setitem(self, s):
        """``y[idx] = v``: v gets ``y_bar[idx]``; that slot of ``y_bar`` is cut."""
        target = s.targets[0]
        y = target.value.id
        out = []
        idx = index_expr(target.slice)
        if y in self.active and self.has_adjoint(y):
            if y not in self.defined:
                self.need_init(y)
            out += self.make_real(y)
            b = N.name(self.bar(y))
            v = s.value
            if isinstance(v, gast.Name) and v.id in self.active:
                if y in self.lazy or y in self.multidef:
                    # (y rebound elsewhere: its adjoint may be a scalar zero placeholder)
                    out += self.contribute(v.id, N.call("take_cot", [b, idx, N.name(v.id)]),
                                           maybe_none=True)
                else:
                    item = gast.Subscript(value=b, slice=idx, ctx=gast.Load())
                    out += self.accumulate(v.id, N.call("unbroadcast", [
                        N.call("np.copy", [item]), N.name(v.id)]))
            out.append(N.assign(self.bar(y), N.call("cut_index", [b, N.clone(idx)])))
            out = [N.comment(self.describe(s))] + out
        if y in self.multidef:
            restore = N.assign(gast.Subscript(value=N.name(y), slice=N.clone(target.slice),
                                              ctx=gast.Store()), N.parse_expr("_stack.pop()"))
            restore.sd_pop = y
            out.append(restore)
        return out

    def expr_call(self, s):
        call_ = s.value
        f = call_.func
        if isinstance(f, gast.Attribute) and f.attr == "append" and isinstance(f.value, gast.Name):
            lst = f.value.id
            out = []
            if lst in self.active and self.has_adjoint(lst):
                arg = call_.args[0]
                tmp = self.names.temp("c")
                out.append(N.assign(tmp, N.call("pop_cot", [N.name(self.bar(lst)), N.name(lst)])))
                if isinstance(arg, gast.Name) and arg.id in self.active:
                    out += self.contribute(arg.id, N.name(tmp), maybe_none=True)
            if out or lst not in self.ns or lst in self.written_lists():
                # the sweep walks back through the list's states; an outer list with no
                # adjoint (a log: losses.append(loss)) keeps what the function appended
                out.append(N.expr_stmt(N.parse_expr(f"{lst}.pop()")))
            return out
        if isinstance(f, gast.Name) and f.id == "scatter_add":
            return self.scatter_add(call_)
        check_discarded_call(self.parsed, call_, [n for n in N.names_in(call_)
                                                  if n in self.active], self.ns)
        return []

    def written_lists(self):
        """Names the differentiated function assigns (its own lists, not outer ones: an
        outer list is in ``ns``, a list that normalisation made is not)."""
        if getattr(self, "_written", None) is None:
            self._written = set(N.names_in(self.parsed.tree, gast.Store))
        return self._written

    def scatter_add(self, call_):
        """Generated code differentiated again: ``buf[idx] += v`` gives ``v`` ``buf_bar[idx]``."""
        buf, idx, v = call_.args
        if not (isinstance(v, gast.Name) and v.id in self.active and self.has_adjoint(buf.id)):
            return []
        item = gast.Subscript(value=N.name(self.bar(buf.id)), slice=N.clone(idx), ctx=gast.Load())
        return self.accumulate(v.id, N.call("unbroadcast", [item, N.name(v.id)]))

    # -- control flow ----------------------------------------------------------------
    def if_(self, s):
        start_d, start_m, start_r = set(self.defined), set(self.maybe), set(self.real)
        self.depth += 1
        body = self.block(s.body)
        body_d, body_m, body_r = self.defined, self.maybe, self.real
        self.defined, self.maybe, self.real = set(start_d), set(start_m), start_r
        self.zeroed = set()  # the other branch's zeros do not hold here
        orelse = self.block(s.orelse)
        self.depth -= 1
        self.real = body_r & self.real
        self.defined = body_d & self.defined
        self.maybe = body_m | self.maybe
        if not body and not orelse:
            return []
        return [N.if_(N.clone(s.test), body, orelse)]

    def _loop_prepare(self, body):
        for v in _contributed(body, self.ns, self.active):
            if v not in self.defined and v not in self.loop_locals:
                self.need_init(v)

    def loop_body(self, *blocks):
        """Reverse the blocks of one iteration (in the order given), with the zeros
        of iteration-local adjoints first."""
        self.loop_inits.append({})
        self.depth += 1
        before, self.real = self.real, set()  # an earlier iteration may leave a placeholder
        out = [stmt for b in blocks for stmt in self.block(b)]
        self.real &= before  # (the loop may not run at all)
        self.depth -= 1
        inits = self.loop_inits.pop()
        return [N.assign(name, zero) for name, zero in inits.items()] + out

    def for_(self, s):
        self._loop_prepare(s.body)
        body = self.loop_body(s.body)
        if not _has_effect(body):
            return []
        it = N.clone(s.iter)
        counter = getattr(s, "sd_counter", None)
        if counter is not None:
            it = gast.Subscript(value=it, slice=gast.Slice(lower=None, upper=N.name(counter),
                                                           step=None), ctx=gast.Load())
        out = [N.for_(N.clone(s.target), N.call("reversed", [it]), body)]
        if s.target.id in self.multidef:
            out.append(_pop(s.target.id))
        return out

    def while_(self, s):
        if not hasattr(s, "sd_test"):
            return self.while_general(s)
        test, rest = s.sd_test, s.sd_rest
        self._loop_prepare(s.body)
        iteration = self.loop_body(rest, test)
        final_test = self.block(test)  # the last check, which failed
        if not _has_effect(iteration):
            return final_test
        loop = N.for_(N.name("_", store=True), N.call("range", [N.name(s.sd_counter)]),
                      iteration)
        return final_test + [loop]

    def while_general(self, s):
        self._loop_prepare(s.body)
        body = self.loop_body(s.body)
        if not _has_effect(body):
            return []
        return [N.for_(N.name("_", store=True), N.call("range", [N.name(s.sd_counter)]), body)]


def describe(parsed, s):
    """``grad of: <the user's statement>`` (its code, without a trailing comment)."""
    line = parsed.line(getattr(s, "lineno", None))
    if not line:
        return "grad"
    text = _strip_comment(line.strip())
    if text.startswith(("def ", "lambda")) and ":" in text:
        text = text.split(":", 1)[1].strip() or text  # a one-line def: just its body
    return f"grad of: {text}"


def _strip_comment(text):
    import io
    import tokenize
    if "#" not in text:
        return text
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            return text[:tok.start[1]].rstrip()
    return text


def bind_nodes(rule, bound):
    """Bound call arguments as nodes: defaults become constants, ``*operands`` a tuple."""
    for p in rule.params:
        if p.variadic:
            bound[p.name] = N.tuple_(list(bound[p.name]))
        elif not isinstance(bound[p.name], gast.AST):
            bound[p.name] = N.const(bound[p.name])


def is_user_function(fn):
    """A plain Python function with no rule: differentiate its source too."""
    import types
    return (isinstance(fn, types.FunctionType) and registry.lookup(fn) is None
            and not registry.is_nondiff(fn) and fn is not stop_gradient
            and not _ours(getattr(fn, "__module__", None) or ""))


def is_bound_method(fn):
    """A user function bound to an object (``model.predict`` read from a global)."""
    import types
    return isinstance(fn, types.MethodType) and is_user_function(fn.__func__)


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
    return module == "sourcediff" or module.startswith("sourcediff.")


def index_expr(node):
    """A subscript's index as an ordinary expression (slices as ``slice(...)``)."""
    if isinstance(node, gast.Slice):
        parts = [N.const(None) if getattr(node, k) is None else N.clone(getattr(node, k))
                 for k in ("lower", "upper", "step")]
        if isinstance(parts[2], gast.Constant) and parts[2].value is None:
            parts.pop()  # slice(lower, upper): the step is optional, the bounds are not
        return N.call("slice", parts)
    if isinstance(node, gast.Tuple):
        return N.tuple_([index_expr(e) for e in node.elts])
    return N.clone(node)


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


def _pop(v, site=None):
    node = N.assign(v, N.parse_expr("_stack.pop()"))
    node.sd_pop = v
    node.sd_site = site  # the assignment it undoes (pairs it with its push)
    return node


def _has_effect(stmts):
    return any(not N.is_comment(s) and not getattr(s, "sd_pop", None) for s in stmts) or any(
        getattr(s, "sd_pop", None) for s in stmts)


def _contributed(stmts, ns, active):
    """Adjoints that a block may add to (so they need a value before a loop)."""
    out = []
    for s in stmts:
        for node in N.walk(s):
            if isinstance(node, gast.Assign):
                t = node.targets[0]
                if isinstance(t, gast.Name) and t.id in active:
                    names = operands(node.value, ns) + [t.id]
                elif isinstance(t, gast.Subscript) and t.value.id in active:
                    names = operands(node.value, ns) + [t.value.id]
                else:
                    continue
                out += [n for n in names if n in active and n not in out]
            elif isinstance(node, gast.Expr) and isinstance(node.value, gast.Call):
                out += [n for n in N.names_in(node.value) if n in active and n not in out]
    return out

"""Pass 6: the reverse sweep.

Walks the normalised primal backwards and writes, for every active
statement, the adjoint code its rule templates give. ``x_bar`` is the adjoint
of ``x``. The first contribution to an adjoint is a plain assignment and
later ones add to it, so no zero is ever materialised in straight-line code;
adjoints accumulated inside loops or branches start from the symbolic zero ``0.0``
(JAX's ``Zero``: it stands for zeros of its primal's shape, ``x_bar`` for ``x``).
It is only ever added to; where the adjoint state (:mod:`adjoint_state`) says an
adjoint a rule reads may still be zero, the sweep writes ``x_bar = real_cot(x_bar, x)``
(``instantiate``) first, so no rule or runtime helper ever sees a symbolic zero.
A variable assigned more than once is pushed on ``_stack`` before each
assignment and popped back in the reverse sweep, but only if the reverse
sweep reads it (decided after the sweep is written).
"""

from __future__ import annotations

import io
import operator
import tokenize

import gast
import numpy as np

from ..ir import nodes as N
from ..prims import registry
from .activity import BINOPS, UNARY, operands
from ..front.fence import check_discarded_call
from ..front.resolve import static_value
from .calls import (bind_nodes, is_bound_method, is_method_of_local, is_user_call,  # noqa: F401
                    is_user_function)
from .adjoint_state import AdjointState
from .reverse_calls import CallSweep
from .reverse_index import IndexSweep, index_expr  # noqa: F401
from .reverse_flow import FlowSweep, _contributed, _has_effect, _pop  # noqa: F401


class Sweep(CallSweep, IndexSweep, FlowSweep):
    """State of one reverse sweep: which adjoints exist, which need a zero."""

    def __init__(self, parsed, ns, active, names, multidef, *, containers=(), sequences=(),
                 varied=None, loop_locals=(), scatter=(), lazy=(), real_kind=()):
        """The facts about names the sweep reads are given here, once (the driver's
        ``reverse facts`` stage computes them); the other fields are the sweep's own state."""
        self.parsed = parsed
        self.ns = ns
        self.active = active
        self.names = names          # a NameGen
        self.multidef = multidef    # names assigned more than once / in loops
        self.containers = set(containers)  # lists, tuples, dicts: adjoints add with add_cot
        self.sequences = set(sequences)    # names holding lists or tuples: + joins them
        self.varied = set(active if varied is None else varied)  # depend on wrt (>= active)
        self.loop_locals = set(loop_locals)  # temporaries assigned once, inside a loop
        self.scatter = set(scatter)  # adjoints updated in place (x[i] reads)
        self.lazy = set(lazy)       # indexed names that may not exist when the sweep starts
        self.real_kind = frozenset(real_kind)  # names surely real (calls.CallDispatch)
        self.adj = AdjointState()   # what is known of each adjoint here (adjoint_state.py)
        self.init = {}              # adjoint name -> its starting zero
        self.loop_inits = []        # per enclosing loop: adjoints zeroed each iteration
        self.depth = 0              # nesting of compound statements
        self.extra_globals = {}
        self.pullback = None        # the pullback of the call being differentiated (split.py)

    def seed(self, v, value):
        """``v_bar = value``: the output's adjoint, before the sweep starts."""
        self.adj.written(v)
        return [N.assign(self.bar(v), value)]

    def gradient(self, v):
        """After the sweep: the expression giving ``v``'s adjoint (zeros if it has none)."""
        if not self.has_adjoint(v):
            return N.call("zeros_like_grad", [N.name(v)])
        if v not in self.adj.defined:  # assigned on some paths only
            self.need_init(v)
        return N.name(self.bar(v))

    def inits(self):
        """The adjoints that start from a zero, assigned before the reverse pass."""
        return [N.assign(name, zero) for name, zero in self.init.items()]

    # -- adjoint bookkeeping ------------------------------------------------------
    def bar(self, v):
        return self.names.adjoint(v)

    def has_adjoint(self, v):
        return self.adj.exists(v)

    def need_init(self, v):
        name = self.bar(v)  # the name now: a later straight-line cut may rename v's adjoint
        # a temporary local to one loop iteration starts from zero in each iteration
        inits = self.loop_inits[-1] if v in self.loop_locals and self.loop_inits else self.init
        if name not in inits:
            inits[name] = self.zero(v)
        self.adj.started(v)  # (it may still hold that zero)

    def accumulate(self, v, contribution):
        """``v_bar += contribution`` (a plain assignment when it is the first)."""
        b = self.bar(v)
        if v in self.scatter:
            self.need_init(v)
        if v in self.adj.zeroed and v not in self.scatter:
            self.adj.zeroed.discard(v)
            value = contribution
        elif self.adj.exists(v):
            if self.adj.only_maybe(v):
                self.need_init(v)
            if v in self.lazy and v in self.scatter:  # scatter_into will write into it
                value = N.call("add_owned", [N.name(b), contribution])
            elif v in self.containers or v in self.lazy:
                value = N.call("add_cot", [N.name(b), contribution])
            else:
                value = N.binop(N.name(b), gast.Add(), contribution)
        else:
            value = contribution
        self.adj.written(v)
        return [N.assign(b, value)]

    def cut(self, v):
        """The adjoint of an overwritten value starts again from zero."""
        if not self.has_adjoint(v):
            return []
        self.adj.real.discard(v)
        if v in self.loop_locals and v not in self.scatter:
            # never read again in this iteration; the next one starts it afresh
            self.adj.dropped(v)
            return []
        if self.depth == 0 and v not in self.scatter:
            # straight-line code: the older value's adjoint gets a fresh name
            self.names.new_version(v)
            self.adj.renamed(v)
            return []
        self.adj.cut(v)
        return [N.assign(self.bar(v), self.zero(v))]

    def symbolic_zero(self, v):
        """Does ``v``'s adjoint start from the symbolic zero ``0.0`` (not ``None``, the
        zero of a container's adjoint or of one allocated on first use)?"""
        return v not in self.scatter and v not in self.lazy and v not in self.containers

    def instantiate(self, v):
        """Before a rule reads ``v``'s adjoint: ``real_cot`` where it may still be the
        symbolic zero (nothing where the adjoint state knows it real)."""
        if v in self.adj.real or not self.symbolic_zero(v):
            return []
        self.adj.real.add(v)
        b = self.bar(v)
        return [N.assign(b, N.call("real_cot", [N.name(b), N.name(v)]))]

    def zero(self, v):
        if self.symbolic_zero(v):
            return N.const(0.0)
        if v in self.scatter and v not in self.lazy:
            return N.call("zeros_for", [N.name(v)])
        return N.const(None)  # allocated on first use, or a container: None is its zero

    # -- statements ---------------------------------------------------------------
    def block(self, stmts):
        out, last = [], None  # (last: the last comment, said once for its statement's ops)
        for s in reversed(stmts):
            for r in self.stmt(s):
                if N.is_comment(r):
                    if r.value.value == last:
                        continue
                    last = r.value.value
                out.append(r)
        return out

    def stmt(self, s):
        if isinstance(s, gast.Assign):
            return self.assign(s)
        if isinstance(s, gast.Expr):
            return self.expr_call(s) if isinstance(s.value, gast.Call) else []
        # only straight-line code may rely on a fresh zero: none holds across a compound
        # statement (a zero set in one branch, or in a loop that may not run)
        self.adj.zeroed.clear()
        handler = {gast.If: self.if_, gast.For: self.for_, gast.While: self.while_,
                   gast.With: self.with_}.get(type(s))
        out = handler(s) if handler is not None else []
        self.adj.zeroed.clear()
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
            pulled = N.anno(s, "pullbacks")  # a call run once (split.py)
            self.pullback = self.names.temp("pb", "pullback") if pulled else None
            if self.adj.only_maybe(x):
                self.need_init(x)
            real = self.instantiate(x)
            ops = operands(s.value, self.ns)
            g = N.name(self.bar(x))
            restore = x in self.multidef and not N.anno(s, "first", False)
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
            if self.pullback is not None and N.anno(s, "split_call"):
                # taken back on every run of this statement, even where its cotangent is
                # None: the list is last in, first out, one pullback per forward call
                out = [N.assign(self.pullback, N.call("pullback_of", [N.name(pulled)]))] + out
            self.pullback = None
            if out:
                out = [N.comment(self.describe(s))] + real + out
        else:
            restore = x in self.multidef and not N.anno(s, "first", False)
        if restore and not N.anno(s, "counter_inc", False):  # counters are never pushed
            out.append(_pop(x, id(s)))
        return out

    def unless_none(self, x, value, g, make):
        """The statements ``make()`` gives, run only while adjoint ``g`` is not None:
        an adjoint allocated on first use, or a container's (None is its zero), may
        still be None when the sweep reaches ``x = value``."""
        if x not in self.lazy and (x not in self.containers or self.none_safe(value)):
            return make()
        body = self.may_not_run(make)
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
        return self.may_not_run(fn)

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

"""Forward mode: the tangent of every statement, right after the statement.

``x_dot`` is the tangent of ``x``. The tangent rules come from the same rule
table as the adjoints (``Rule.jvps``), one term per active parameter, summed.
Control flow needs no bookkeeping: tangents travel with the primal values.
Lists (including the generated code's ``_stack``) carry a tangent list
beside them, so a generated adjoint can itself be differentiated forward
(forward-over-reverse Hessians, ``grad(grad(f))``).
"""

from __future__ import annotations

import gast

from ..front import closures
from ..ir import nodes as N
from ..prims import registry
from .. import runtime
from ..runtime import splitcall
from .activity import BINOPS, NONDIFF_ATTRS, UNARY, operands, refuse
from .calls import CallDispatch
from ..front.fence import check_discarded_call, fail
from ..front.resolve import static_value
from .reverse import index_expr
from ..ir.signature import param_names


class Tangents(CallDispatch):
    """Forward mode's state: the varied names and their tangents' names; at a call,
    :class:`calls.CallDispatch` decides which handler below writes the tangent."""

    mode = "fwd"

    def __init__(self, parsed, ns, varied, names, sequences=()):
        self.parsed = parsed
        self.ns = ns
        self.varied = varied
        self.names = names
        self.sequences = set(sequences)  # names holding lists or tuples: + joins them
        self.extra_globals = {}
        self.no_grad = 0

    def dot(self, v):
        return self.names.tangent(v)

    def block(self, stmts):
        out = []
        for s in stmts:
            out += self.stmt(s)
        return out

    def stmt(self, s):
        if isinstance(s, gast.Assign):
            t = s.targets[0]
            if isinstance(t, gast.Name):
                return self.assign(s, t.id)
            return self.setitem(s)
        if isinstance(s, gast.If):
            return [N.if_(s.test, self.block(s.body), self.block(s.orelse))]
        if isinstance(s, gast.For):
            return [N.for_(s.target, s.iter, self.block(s.body))]
        if isinstance(s, gast.While):
            return [gast.While(test=s.test, body=self.block(s.body), orelse=[])]
        if isinstance(s, gast.With):
            self.no_grad += 1
            body = self.block(s.body)
            self.no_grad -= 1
            return body
        if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
            return [s] + self.expr_call(s.value)
        return [s]

    def assign(self, s, x):
        v = s.value
        if isinstance(v, gast.Call) and static_value(v.func, self.ns) is splitcall.split_res_fn:
            # (third order and up: the F of a call's residual form, made by a statement of
            # its own, is no varied value; the arguments moved here join it: _widened)
            v.keywords.extend(_widened(None, [self.arg_tangent(a) for a in v.args[1:]],
                                       len(v.keywords)))
        if x not in self.varied:
            return [s]
        if self.no_grad:
            return [s, N.assign(self.dot(x), N.call("zeros_tangent", [N.name(x)]))]
        value = s.value
        if N.is_pop(value):
            lst = value.func.value.id
            return [s, N.assign(self.dot(x), N.call(f"{self.dot(lst)}.pop"))]
        if x in operands(value, self.ns):
            tmp = self.names.temp("new")
            tan = self.tangent(value, N.name(tmp), s)
            if _is_jvp_call(tan):  # the pair reads the old x before x is rebound
                return self._pair(x, tan)
            tan = tan if tan is not None else N.call("zeros_tangent", [N.name(tmp)])
            dtmp = self.names.temp("dnew", "tangent")
            return [N.assign(tmp, value), N.assign(dtmp, tan), N.assign(x, N.name(tmp)),
                    N.assign(self.dot(x), N.name(dtmp))]
        tan = self.tangent(value, N.name(x), s)
        if tan is None:
            tan = N.call("zeros_tangent", [N.name(x)])
        if _is_jvp_call(tan):
            return self._pair(x, tan)
        return [s, N.assign(self.dot(x), tan)]

    def _pair(self, x, tan):
        """``x = call; x_dot = jvp_call(F, tangents, *rest)``, where ``F(*rest)`` is the
        call's value, as one run: ``_jp = jvp_pair(F, tangents, *rest)`` gives both (a
        user function runs once, as in reverse mode's split_call)."""
        pair = self.names.temp("jp")
        return [N.assign(pair, N.call("jvp_pair", tan.args)),
                N.assign(x, gast.Subscript(value=N.name(pair), slice=N.const(0),
                                           ctx=gast.Load())),
                N.assign(self.dot(x), gast.Subscript(value=N.name(pair), slice=N.const(1),
                                                     ctx=gast.Load()))]

    def setitem(self, s):
        t = s.targets[0]
        y = t.value.id
        out = [s]
        if y in self.varied:
            v = s.value
            vd = (N.name(self.dot(v.id)) if isinstance(v, gast.Name) and v.id in self.varied
                  else N.const(0.0))
            out.append(N.assign(self.dot(y), N.call("tangent_setitem", [
                N.name(self.dot(y)), index_expr(t.slice), vd])))
        return out

    def outer_list(self, lst, call):
        """``lst`` is a list from outside (a global or closure log, not an argument or a
        list this function builds): it has no tangent. Refused if the function reads it
        back, where a tangent would be needed."""
        tree = self.parsed.tree
        if lst not in self.ns or lst in set(N.names_in(tree, gast.Store)) | set(
                param_names(tree.args)):
            return False  # (normalisation's own lists are not in ns either)
        uses = [n for n in N.walk(tree) if isinstance(n, gast.Name) and n.id == lst]
        appends = [n for n in N.walk(tree) if isinstance(n, gast.Call) and isinstance(
            n.func, gast.Attribute) and n.func.attr == "append" and isinstance(
            n.func.value, gast.Name) and n.func.value.id == lst]
        if len(uses) > len(appends):
            fail(self.parsed, call, f"reading back '{lst}', a list from outside the function "
                 "that it appends differentiated values to", "build a list inside the "
                 "function and return or read that one")
        return True

    def expr_call(self, c):
        f = c.func
        if isinstance(f, gast.Attribute) and f.attr == "append" and isinstance(f.value, gast.Name) \
                and f.value.id in self.varied:
            if self.outer_list(f.value.id, c):
                return []  # a log kept outside (losses.append(loss)): it just runs
            a = c.args[0]
            ad = (N.name(self.dot(a.id)) if isinstance(a, gast.Name) and a.id in self.varied
                  else N.call("zeros_tangent", [a]))
            return [N.expr_stmt(N.call(N.attr(N.name(self.dot(f.value.id)), "append"), [ad]))]
        if isinstance(f, gast.Attribute) and f.attr == "pop" and not c.args and not c.keywords \
                and isinstance(f.value, gast.Name) and f.value.id in self.varied \
                and not self.outer_list(f.value.id, c):
            # ``lst.pop()`` (the reverse pass of a loop that appended, run forward again
            # by hessian/hvp): its tangent list, appended in step, drops its last item too
            return [N.expr_stmt(N.call(N.attr(N.name(self.dot(f.value.id)), "pop"), []))]
        if isinstance(f, gast.Name) and f.id == "scatter_add" and isinstance(c.args[0], gast.Name) \
                and c.args[0].id in self.varied:
            v = c.args[2]
            if isinstance(v, gast.Name) and v.id in self.varied:
                return [N.expr_stmt(N.call("scatter_add", [
                    N.name(self.dot(c.args[0].id)), c.args[1], N.name(self.dot(v.id))]))]
        if isinstance(f, gast.Name) and f.id == "scatter_add" or isinstance(
                f, gast.Attribute) and f.attr == "append":
            return []
        check_discarded_call(self.parsed, c, [n for n in N.names_in(c) if n in self.varied],
                             self.ns)
        return []

    # -- expressions -------------------------------------------------------------
    def tangent(self, value, ans, s):
        """The tangent expression of ``value`` (None when it is zero)."""
        if isinstance(value, gast.Name):
            return N.name(self.dot(value.id)) if value.id in self.varied else None
        if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add) and any(
                isinstance(v, gast.Name) and v.id in self.sequences
                for v in (value.left, value.right)):  # + joins sequences
            if not any(isinstance(v, gast.Name) and v.id in self.varied
                       for v in (value.left, value.right)):
                return None
            return N.call("plus_tangent", [self.arg_tangent(value.left),
                                           self.arg_tangent(value.right),
                                           N.clone(value.left), N.clone(value.right)])
        if isinstance(value, gast.BinOp):
            rule = registry.lookup(BINOPS[type(value.op)])
            if rule is None:  # declared non-differentiable (activity refuses the rest)
                return None
            return self.apply(rule, dict(zip(rule.param_names, (value.left, value.right))), ans)
        if isinstance(value, gast.UnaryOp):
            rule = registry.lookup(UNARY[type(value.op)])
            if rule is None:
                return None
            return self.apply(rule, {"x": value.operand}, ans)
        if isinstance(value, gast.Subscript):
            x = value.value
            if isinstance(x, gast.Name) and x.id in self.varied:
                return gast.Subscript(value=N.name(self.dot(x.id)), slice=N.clone(value.slice),
                                      ctx=gast.Load())
            return None
        if isinstance(value, gast.Attribute):  # a field of a container (a dataclass...)
            x = value.value
            if isinstance(x, gast.Name) and x.id in self.varied \
                    and value.attr not in NONDIFF_ATTRS:
                return N.call("attr_tangent", [N.name(x.id), N.name(self.dot(x.id)),
                                               N.const(value.attr)])
            return None
        if isinstance(value, (gast.Tuple, gast.List, gast.Dict)):
            items = value.values if isinstance(value, gast.Dict) else value.elts
            if not any(isinstance(e, gast.Name) and e.id in self.varied for e in items):
                return None
            elts = [N.name(self.dot(e.id)) if isinstance(e, gast.Name) and e.id in self.varied
                    else N.call("zeros_tangent", [e]) for e in items]
            if isinstance(value, gast.Dict):
                return gast.Dict(keys=[N.clone(k) for k in value.keys], values=elts)
            return type(value)(elts=elts, ctx=gast.Load())
        if isinstance(value, gast.Call):
            return self.call(value, ans, s)
        return None

    def call(self, value, ans, s):
        fn = static_value(value.func, self.ns)
        if fn in (runtime.vjp_call, runtime.vjp_method, runtime.jvp_call, runtime.jvp_method,
                  runtime.jvp_pair, splitcall.split_res, splitcall.pullback_res):
            return self.generated_call(fn, value, s)
        if fn in (runtime.add_cot, runtime.add_owned):  # linear; None is zero (containers too)
            return N.call(fn.__name__, [self.arg_tangent(a) for a in value.args])
        if fn is runtime.attr_cot:  # linear in the field's cotangent (x and the name: keys)
            x, attr, g = value.args
            dg = self.arg_tangent(g)
            return None if isinstance(dg, gast.Constant) else \
                N.call("attr_cot", [N.clone(x), N.clone(attr), dg])
        if fn is runtime.scatter_into:  # linear in the buffer and the value it adds in
            buf, x, idx, g = value.args
            dg = self.arg_tangent(g)
            if isinstance(dg, gast.Constant):  # the value added is a constant
                return None if isinstance(self.arg_tangent(buf), gast.Constant) else \
                    self.arg_tangent(buf)
            fresh = N.call("scatter_into", [N.const(None), N.clone(x), N.clone(idx), dg])
            return N.call("add_cot", [self.arg_tangent(buf), fresh])  # (never in place)
        if getattr(fn, "plain_function", None) is not None:  # a gradient object (grad(h))
            return self.user_call(value, s, ans)
        return self.dispatch(value, s, ans)

    # -- the handlers of calls.CallDispatch ------------------------------------------
    def nothing(self):
        return None

    def user_call(self, value, s, ans):
        func, args = closures.callee(self.parsed, value, self.ns, self.varied, self.names,
                                     self.extra_globals)
        return N.call("jvp_call", [func, N.tuple_([self.arg_tangent(a) for a in args]), *args])

    def method_call(self, value, s, ans):  # self.predict(w, X): see Sweep.method_call
        if value.keywords:
            fail(self.parsed, value, "keyword arguments in a method call",
                 "pass the arguments by position")
        obj = value.func.value
        tans = [self.arg_tangent(a) for a in [obj, *value.args]]
        return N.call("jvp_method", [N.clone(obj), N.const(value.func.attr),
                                     N.tuple_(tans), *[N.clone(a) for a in value.args]])

    def user_primitive(self, fn, value, s, ans):
        rule_name = self.names.global_name(f"{fn.__name__}_jvp")
        self.extra_globals[rule_name] = fn.jvp_or_raise()
        tans = [N.name(self.dot(a.id)) if isinstance(a, gast.Name) and a.id in self.varied
                else N.const(None) for a in value.args]
        return N.call(N.name(rule_name), [N.tuple_(tans), ans, *value.args])

    def rule_call(self, fn, value, rule, bound, s, ans):
        if any(p.variadic or p.name in rule.seq_vjps for p in rule.params):
            return self.seq_tangent(fn, value, rule, bound, ans)
        return self.apply(rule, bound, ans, s)

    def generated_call(self, fn, value, s):
        """A call into generated code: ``vjp_call(fn, g, *args)``, ``vjp_method(g, obj,
        name, *args)`` (in an adjoint: ``grad(grad(f))``, ``hessian`` of a loss calling a
        helper), ``jvp_call(fn, tangents, *args)`` or ``jvp_method(obj, name, tangents,
        *args)`` (in tangent code: third and higher order). Each computes what a plain
        generated function F computes (the callee's adjoint or tangent code, read back:
        ``runtime.adjoint_fn`` & co. build it), so its tangent is forward mode over F:
        ``jvp_call(F, tangents, *args)``, itself a call of this kind. A special case here,
        not a rule template: templates sum one term per parameter, and this tangent is
        one forward pass over all of them at once."""
        keywords = value.keywords if fn is splitcall.split_res else []  # (its wrt=)
        if value.keywords and not keywords:
            fail(self.parsed, value, f"keyword arguments in a call to {fn.__name__}",
                 "pass the arguments by position")
        args = value.args
        if fn is runtime.vjp_call:        # F(*args, g)
            maker, owner, rest = "adjoint_fn", [args[0]], args[2:] + args[1:2]
        elif fn is runtime.vjp_method:    # F(g, obj, *args)
            maker, owner, rest = "method_adjoint_fn", [], [args[0], args[1], *args[3:]]
        elif fn is runtime.jvp_call:      # F(*args, tangents)
            maker, owner, rest = "tangent_fn", [args[0]], args[2:] + args[1:2]
        elif fn is runtime.jvp_pair:      # F(*args, tangents), a (value, tangent) pair
            maker, owner, rest = "pair_fn", [args[0]], args[2:] + args[1:2]
        elif fn is splitcall.split_res:   # F(*args): the value and the residuals
            maker, owner, rest = "split_res_fn", [args[0]], args[1:]
        elif fn is splitcall.pullback_res:  # F(residuals, g), F led by the residuals
            maker, owner, rest = "pullback_res_fn", [], args
        else:                             # jvp_method: F(obj, tangents, *args)
            maker, owner, rest = "method_tangent_fn", [], [args[0], args[2], *args[3:]]
        for a in owner:
            if isinstance(a, gast.Name) and a.id in self.varied:
                refuse(self.parsed, s, f"{fn.__name__} of a function value that depends on "
                       "the differentiated input", [a.id])
        tans = [self.arg_tangent(a) for a in rest]
        if all(isinstance(t, gast.Constant) for t in tans):
            return None
        if keywords:  # split_res(f, *args, wrt=...): the arguments moved here join its wrt
            keywords = [keywords[0], *_widened(keywords[0], tans, 0)]
        made = N.call(maker, [N.clone(a) for a in args], [N.clone(k) for k in keywords])
        return N.call("jvp_call", [made, N.tuple_(tans), *[N.clone(a) for a in rest]])

    def arg_tangent(self, a):
        """The tangent of a user call's argument: None for zero; a ``*args`` tuple or
        ``**kwargs`` dict gives one of tangents (None for its constant entries)."""
        if isinstance(a, gast.Name):
            return N.name(self.dot(a.id)) if a.id in self.varied else N.const(None)
        elts = a.values if isinstance(a, gast.Dict) else getattr(a, "elts", [])
        if not any(isinstance(e, gast.Name) and e.id in self.varied for e in elts):
            return N.const(None)
        tans = [self.arg_tangent(e) for e in elts]
        if isinstance(a, gast.Dict):
            return gast.Dict(keys=[N.clone(k) for k in a.keys], values=tans)
        return N.tuple_(tans)

    def seq_tangent(self, fn, value, rule, bound, ans):
        """concatenate/stack/einsum: the op applied to the tangents, one operand at a time
        (a parameter with its own forward template uses that: multi_dot's operands, which
        are not linear together, and np.select's choices and default)."""
        terms = []
        for p in rule.params:
            arg = bound[p.name]
            if isinstance(arg, gast.Name) and arg.id in self.varied and p.name in rule.jvps:
                mapping = {**bound, "ans": ans, "d" + p.name: N.name(self.dot(arg.id))}
                terms.append(N.instantiate(rule.template(p.name, "fwd"), mapping))
            elif isinstance(arg, gast.Name) and arg.id in self.varied and p.name in rule.seq_vjps:
                args = [N.name(self.dot(arg.id)) if a is arg else a for a in value.args]
                terms.append(N.call(value.func, args, value.keywords))
            elif p.variadic and isinstance(arg, gast.Tuple):
                for i, e in enumerate(arg.elts):
                    if isinstance(e, gast.Name) and e.id in self.varied:
                        ops = [N.name(self.dot(x.id)) if j == i else x
                               for j, x in enumerate(arg.elts)]
                        lead = value.args[:len(value.args) - len(arg.elts)]
                        terms.append(N.call(value.func, [*lead, *ops], value.keywords))
        return _sum(terms)

    def apply(self, rule, bound, ans, s=None):
        terms = []
        mapping = {**bound, "ans": ans}
        for p, arg, tpl in self.templates(rule, bound, s, self.varied):
            mapping["d" + p.name] = N.name(self.dot(arg.id))
            term = N.instantiate(tpl, mapping)
            if rule.broadcast:
                term = N.call("broadcast_like", [term, N.clone(ans)])
            terms.append(term)
        return _sum(terms)


def _is_jvp_call(tan):
    return isinstance(tan, gast.Call) and isinstance(tan.func, gast.Name) \
        and tan.func.id == "jvp_call"


def _sum(terms):
    if not terms:
        return None
    if len(terms) > 1 and all(isinstance(t, gast.Tuple) and len(t.elts) == len(terms[0].elts)
                              for t in terms):   # a tuple-valued rule's terms: entry by entry
        return N.tuple_([_sum([t.elts[i] for t in terms]) for i in range(len(terms[0].elts))])
    out = terms[0]
    for t in terms[1:]:
        out = N.binop(out, gast.Add(), t)
    return out




def _widened(wrt, tans, k):
    """The keyword naming the arguments with a tangent here (``tans``) for the
    ``split_res_fn`` of a ``split_res(f, *args, wrt=...)`` call (``moved``, ``moved1``
    ... on each order that moves more: ``k`` keywords are there already). The residual
    form made for the caller's ``wrt`` alone reads a value only arguments left out of it
    make as a constant (``held``): moving one of them (``jvp(grad(f, wrt=1))`` along
    argument 0, or a third derivative along it) would lose its tangent; they join it."""
    moved = [i for i, t in enumerate(tans) if not isinstance(t, gast.Constant)]
    if not moved:
        return []
    return [N.keyword(f"moved{k or ''}", N.tuple_([N.const(i) for i in moved]))]

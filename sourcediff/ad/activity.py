"""Pass 5: activity analysis, and the one decision about where a value may flow.

A variable is *varied* if its value depends on a ``wrt`` argument through
differentiable operations, and *useful* if the output depends on it through
differentiable operations. Only variables that are both get adjoints.

:func:`flow` classifies the right-hand side of every normalised statement. A
differentiated value may reach only (a) an operation with a derivative rule,
(b) user code the compiler reads, or (c) an operation the primitive table
declares non-differentiable. Anything else is *refused*: where a varied value
reaches it and the result matters, :func:`check_refusals` raises
``MissingRuleError`` naming the construct, so no gradient is ever silently a
constant. Activity analysis, the reverse sweep and forward mode all use it.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import gast

from ..ir import nodes as N
from ..prims import registry
from ..errors import MissingRuleError, columns
from ..values.markers import stop_gradient
from ..front.resolve import MISSING, static_value
from ..front import own


CLOSURE_READS = "__sourcediff_closure_reads__"  # key in ns: nested function -> free locals

BINOPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
          gast.Div: operator.truediv, gast.Pow: operator.pow, gast.MatMult: operator.matmul,
          gast.Mod: operator.mod, gast.FloorDiv: operator.floordiv,
          gast.BitAnd: operator.and_, gast.BitOr: operator.or_, gast.BitXor: operator.xor,
          gast.LShift: operator.lshift, gast.RShift: operator.rshift}
UNARY = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Not: operator.not_,
         gast.Invert: operator.invert}

# attributes of a value that carry no gradient (``x.T``, ``x.real`` are normalised to calls)
NONDIFF_ATTRS = frozenset({"shape", "ndim", "size", "dtype", "nbytes", "itemsize", "strides",
                           "__class__", "__len__"})


@dataclass
class Flow:
    """Where the values read by one expression go.

    ``names``: the names whose values flow differentiably into the result;
    ``refused``: (construct, names, modes) triples, values that reach an operation
    with no rule in those modes ("rev", "fwd"): an error if a varied one does and the
    result matters."""

    names: list = field(default_factory=list)
    refused: list = field(default_factory=list)

    def add(self, other):
        self.names += other.names
        self.refused += other.refused
        return self


BOTH = ("rev", "fwd")


def _refuse(construct, node):
    return Flow([], [(construct, N.names_in(node, gast.Load), BOTH)])


def flow(value, ns):
    """The :class:`Flow` of expression ``value`` (a normalised right-hand side)."""
    if isinstance(value, gast.Name):
        return Flow([value.id])
    if isinstance(value, (gast.Constant, gast.Compare, gast.JoinedStr)):
        return Flow()
    if isinstance(value, gast.BoolOp):  # normalised away; truth values carry no gradient
        return Flow()
    if isinstance(value, gast.Lambda):  # what it reads: see check_refusals
        return Flow()
    if isinstance(value, gast.UnaryOp):
        return _op_flow(UNARY[type(value.op)], [value.operand], ns)
    if isinstance(value, gast.BinOp):
        return _op_flow(BINOPS[type(value.op)], [value.left, value.right], ns)
    if isinstance(value, gast.Attribute):
        if value.attr in NONDIFF_ATTRS:
            return Flow()
        if isinstance(value.value, gast.Name):  # a field of a container (a dataclass...);
            return flow(value.value, ns)        # runtime.attr_cot refuses other attributes
        return _refuse(f"the attribute .{value.attr} of a differentiated value", value.value)
    if isinstance(value, gast.Subscript):
        if static_value(value.value, ns) is not MISSING:  # np.r_[...], np.s_[...]
            return _refuse(f"{_text(value.value)}[...]", value.slice)
        return flow(value.value, ns)  # an index is an int (a float one is NumPy's error)
    if isinstance(value, (gast.Tuple, gast.List, gast.Set)):
        out = Flow()
        for e in value.elts:
            out.add(flow(e, ns))
        return out
    if isinstance(value, gast.Dict):
        out = Flow()
        for e in value.values:
            out.add(flow(e, ns))
        return out
    if isinstance(value, gast.Call):
        return _call_flow(value, ns)
    return _refuse(f"the expression {type(value).__name__}", value)


def _op_flow(fn, args, ns):
    if registry.is_nondiff(fn):
        return Flow()
    out = Flow()
    for a in args:
        out.add(flow(a, ns))
    if registry.lookup(fn) is None:
        return Flow([], [(registry.qualified_name(fn), out.names, BOTH)])
    return out


def _call_flow(value, ns):
    fn = static_value(value.func, ns)
    if fn is stop_gradient or (fn is not MISSING and registry.is_nondiff(fn)):
        return Flow()
    out = Flow()
    for a in value.args:
        out.add(flow(a, ns))
    for k in value.keywords:
        out.add(flow(k.value, ns))
    if any(isinstance(a, gast.Starred) for a in value.args):  # f(*x.shape, ...) (fence.py)
        # the arguments' positions are known at run time only: none may be differentiated
        out.refused.append(("a *args call with a differentiated argument", list(out.names),
                            BOTH))
    rule = None if fn is MISSING else registry.lookup(fn)
    if rule is not None:
        out.refused += _unruled_params(rule, value, ns)
    elif fn is not MISSING and own.own_call(fn):  # sd.jvp(f, (x,), (v,)) in the function
        out.refused.append((own.own_call(fn), list(out.names), BOTH))
    if fn is MISSING and isinstance(value.func, gast.Name) \
            and value.func.id not in ns.get(CLOSURE_READS, {}):
        # a function value made from a differentiated one (``m = x.tolist; m()``)
        out.refused.append(("a call of a function value that depends on the differentiated "
                            "input", [value.func.id], BOTH))
    if fn is MISSING:
        out.names += N.names_in(value.func, gast.Load)
        if isinstance(value.func, gast.Name):  # a nested function reads its free locals
            out.names += ns.get(CLOSURE_READS, {}).get(value.func.id, [])
    return out


def _unruled_params(rule, value, ns):
    """Arguments bound to a parameter the rule has no derivative for."""
    try:
        bound = rule.bind(value.args, {k.arg: k.value for k in value.keywords})
    except TypeError:
        return []  # the sweeps report a bad call
    out = []
    for p in rule.params:
        arg = bound.get(p.name)
        modes = tuple(m for m in BOTH if rule.refuses(p.name, m))
        for a in (arg if p.variadic and isinstance(arg, (list, tuple)) else [arg]):
            if isinstance(a, gast.AST) and modes:   # (each item of a *param too)
                out.append((f"{rule.name}{rule.refusal(p.name)}",
                            flow(a, ns).names, modes))
    return out


def _text(node):
    return gast.unparse(node).strip()


def operands(value, ns):
    """Names whose values flow differentiably into expression ``value``."""
    return flow(value, ns).names


def _defs(stmts, ns, in_no_grad=False):
    """(target, Flow, in_no_grad, statement) for every definition, in order."""
    out = []
    for s in stmts:
        if isinstance(s, gast.Assign):
            t = s.targets[0]
            if isinstance(t, gast.Name):
                out.append((t.id, flow(s.value, ns), in_no_grad, s))
            elif isinstance(t, gast.Subscript):
                # y[i] = v: y now depends on v (and on its old self)
                f = flow(s.value, ns)
                f.names.append(t.value.id)
                out.append((t.value.id, f, in_no_grad, s))
        elif isinstance(s, gast.For):
            out.append((s.target.id, flow(s.iter, ns), in_no_grad, s))
            out += _defs(s.body, ns, in_no_grad)
        elif isinstance(s, (gast.If, gast.While)):
            out += _defs(s.body, ns, in_no_grad) + _defs(s.orelse, ns, in_no_grad)
        elif isinstance(s, gast.With):
            out += _defs(s.body, ns, True)
        elif isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
            f = s.value.func
            if isinstance(f, gast.Name) and f.id == "scatter_add" and isinstance(
                    s.value.args[0], gast.Name):
                buf = s.value.args[0].id
                out.append((buf, Flow(flow(s.value.args[2], ns).names + [buf]), in_no_grad, s))
            if isinstance(f, gast.Attribute) and f.attr in ("append", "extend", "insert") \
                    and isinstance(f.value, gast.Name):
                ops = [n for a in s.value.args for n in flow(a, ns).names]
                out.append((f.value.id, Flow(ops + [f.value.id]), in_no_grad, s))
    return out


def varied(body, ns, wrt_names, cut=()):
    """Names whose values depend on ``wrt_names`` through differentiable operations."""
    return _varied(_defs(body, ns), wrt_names, cut)


def _varied(defs, wrt_names, cut=()):
    varied = set(wrt_names)
    changed = True
    while changed:
        changed = False
        for target, f, no_grad, _ in defs:
            if not no_grad and target not in varied and target not in cut \
                    and any(o in varied for o in f.names):
                varied.add(target)
                changed = True
    return varied


def _useful(defs, output):
    useful = set(output)
    changed = True
    while changed:
        changed = False
        for target, f, no_grad, _ in defs:
            if target in useful and not no_grad:
                for o in f.names:
                    if o not in useful:
                        useful.add(o)
                        changed = True
    return useful


def analyse(body, ns, wrt_names, output, parsed=None, mode="rev", cut=()):
    """The set of active variable names (varied and useful).

    With ``parsed``, first refuses (:func:`check_refusals`) a varied value that reaches
    an operation with no rule. ``cut``: names the output does not depend on (their
    derivative is zero, :mod:`invariance`), taken as constants."""
    defs = _defs(body, ns)
    varied = _varied(defs, wrt_names, cut)
    useful = _useful(defs, output)
    if parsed is not None:
        _check(parsed, body, ns, defs, varied, useful, mode)
    return varied & useful


def check_refusals(parsed, body, ns, wrt_names, output, mode="fwd"):
    """Raise ``MissingRuleError`` where a differentiated value reaches an operation with
    no derivative rule and the result matters (forward mode's entry to the check)."""
    defs = _defs(body, ns)
    _check(parsed, body, ns, defs, _varied(defs, wrt_names), _useful(defs, output), mode)


def _check(parsed, body, ns, defs, varied, useful, mode):
    for target, f, no_grad, s in defs:
        if no_grad or target not in useful:
            continue
        for construct, names, modes in f.refused:
            hit = [n for n in names if n in varied] if mode in modes else []
            if hit:
                refuse(parsed, s, construct, hit)
    _check_closures(parsed, body, ns, varied)


def _check_closures(parsed, body, ns, varied):
    """A function made here that reads a differentiated value may only be called: passed
    on as a value (``grad(lambda y: x * y)``, ``map(f, xs)``) its reads would be constants."""
    reads = dict(ns.get(CLOSURE_READS, {}))
    module = gast.Module(body=body, type_ignores=[])
    for node in N.walk(module):
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda) \
                and isinstance(node.targets[0], gast.Name):
            lam = node.value
            own = {a.id for a in lam.args.args} | set(N.names_in(lam, gast.Store))
            reads.setdefault(node.targets[0].id,
                             [n for n in N.names_in(lam.body, gast.Load) if n not in own])
    hot = {fn: [n for n in r if n in varied] for fn, r in reads.items()}
    hot = {fn: r for fn, r in hot.items() if r}
    if not hot:
        return
    called = set()
    for node in N.walk(module):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
            called.add(id(node.func))
    for node in N.walk(module):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) \
                and node.id in hot and id(node) not in called:
            refuse(parsed, node, f"the function '{node.id}', which reads the differentiated "
                   f"value(s) {', '.join(hot[node.id])}, passed on as a value", hot[node.id],
                   hint="call it directly here (its reads are then differentiated), or pass "
                        "those values to it as arguments")


def refuse(parsed, node, construct, names, hint=None):
    """Raise the ``MissingRuleError`` for ``construct`` receiving varied ``names``."""
    lineno = getattr(node, "lineno", None)
    if construct.endswith(own.INSIDE):  # (a transform of sourcediff's: what works instead)
        own.refuse_call(parsed, node, construct, columns(node, value=True))
    raise MissingRuleError(
        f"no derivative rule for {construct} (it receives {', '.join(dict.fromkeys(names))}, "
        "which depends on the differentiated input)",
        function=parsed.name, filename=parsed.filename, lineno=lineno,
        source_line=parsed.line(lineno), construct=construct, **columns(node, value=True),
        hint=hint or "differentiable operations only may receive it: rewrite with functions "
        "that have rules (README: What is refused, and why), wrap the computation in "
        "sourcediff.primitive with a defvjp rule, or cut it with stop_gradient(...)")

"""Pass 5: activity analysis.

A variable is *varied* if its value depends on a ``wrt`` argument through
differentiable operations, and *useful* if the output depends on it through
differentiable operations. Only variables that are both get adjoints.
"""

from __future__ import annotations

import gast

from . import nodes as N
from . import registry
from .markers import stop_gradient
from .resolve import MISSING, static_value


CLOSURE_READS = "__sourcediff_closure_reads__"  # key in ns: nested function -> free locals


def operands(value, ns):
    """Names whose values flow differentiably into expression ``value``."""
    if isinstance(value, gast.Name):
        return [value.id]
    if isinstance(value, (gast.Constant, gast.Compare, gast.BoolOp, gast.JoinedStr,
                          gast.Lambda)):
        return []
    if isinstance(value, gast.UnaryOp):
        if isinstance(value.op, gast.Not):
            return []
        return operands(value.operand, ns)
    if isinstance(value, gast.BinOp):
        if isinstance(value.op, (gast.FloorDiv, gast.Mod, gast.BitAnd, gast.BitOr,
                                 gast.BitXor, gast.LShift, gast.RShift)):
            return []
        return operands(value.left, ns) + operands(value.right, ns)
    if isinstance(value, gast.Attribute):
        return []  # .shape, .ndim, .dtype ...
    if isinstance(value, gast.Subscript):
        return operands(value.value, ns)
    if isinstance(value, (gast.Tuple, gast.List)):
        return [n for e in value.elts for n in operands(e, ns)]
    if isinstance(value, gast.Dict):
        return [n for e in value.values for n in operands(e, ns)]
    if isinstance(value, gast.Call):
        fn = static_value(value.func, ns)
        if fn is stop_gradient or (fn is not MISSING and registry.is_nondiff(fn)):
            return []
        names = [n for a in value.args for n in operands(a, ns)]
        names += [n for k in value.keywords for n in operands(k.value, ns)]
        if fn is MISSING:
            names += N.names_in(value.func, gast.Load)
            if isinstance(value.func, gast.Name):  # a nested function reads its free locals
                names += ns.get(CLOSURE_READS, {}).get(value.func.id, [])
        return names
    return N.names_in(value, gast.Load)


def _defs(stmts, ns, in_no_grad=False):
    """(target, operand names, in_no_grad) for every definition, in order."""
    out = []
    for s in stmts:
        if isinstance(s, gast.Assign):
            t = s.targets[0]
            if isinstance(t, gast.Name):
                out.append((t.id, operands(s.value, ns), in_no_grad))
            elif isinstance(t, gast.Subscript):
                # y[i] = v: y now depends on v (and on its old self)
                out.append((t.value.id, operands(s.value, ns) + [t.value.id], in_no_grad))
        elif isinstance(s, gast.For):
            tgt = s.target.id
            out.append((tgt, operands(s.iter, ns), in_no_grad))
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
                out.append((buf, operands(s.value.args[2], ns) + [buf], in_no_grad))
            if isinstance(f, gast.Attribute) and f.attr in ("append", "extend", "insert") \
                    and isinstance(f.value, gast.Name):
                ops = [n for a in s.value.args for n in operands(a, ns)]
                out.append((f.value.id, ops + [f.value.id], in_no_grad))
    return out


def varied(body, ns, wrt_names):
    """Names whose values depend on ``wrt_names`` through differentiable operations."""
    return _varied(_defs(body, ns), wrt_names)


def _varied(defs, wrt_names):
    varied = set(wrt_names)
    changed = True
    while changed:
        changed = False
        for target, ops, no_grad in defs:
            if not no_grad and target not in varied and any(o in varied for o in ops):
                varied.add(target)
                changed = True
    return varied


def analyse(body, ns, wrt_names, output):
    """The set of active variable names (varied and useful)."""
    defs = _defs(body, ns)
    varied = _varied(defs, wrt_names)
    useful = set(output)
    changed = True
    while changed:
        changed = False
        for target, ops, no_grad in defs:
            if target in useful and not no_grad:
                for o in ops:
                    if o not in useful:
                        useful.add(o)
                        changed = True
    return varied & useful

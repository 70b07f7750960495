"""Constant indices, and adjoint scatters into arrays of known shape.

Helpers of :mod:`shapes`: an index expression as its constant value (ints, slices,
``None``; names known to hold an int at this specialisation included), as subscript
syntax when it is a basic index, and the two statement rewrites that replace the
scatter helpers by subscript updates where the buffer is surely an array.
"""

from __future__ import annotations

import gast

from ..ir import nodes as N

MISSING_INDEX = object()


def const_index(node, ints=None):
    """``node`` as a constant index value (ints, slices, None), or MISSING_INDEX;
    ``ints``: names known to hold an int at this specialisation (``H = U.shape[0]``)."""
    if ints and isinstance(node, gast.Name) and type(ints.get(node.id)) is int:
        return ints[node.id]
    if isinstance(node, gast.Constant) and (isinstance(node.value, int) or node.value is None) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) and isinstance(
            node.operand, gast.Constant) and isinstance(node.operand.value, int):
        return -node.operand.value
    if isinstance(node, gast.Slice):
        parts = [None if p is None else const_index(p, ints) for p in (
            node.lower, node.upper, node.step)]
        return MISSING_INDEX if MISSING_INDEX in parts else slice(*parts)
    if isinstance(node, gast.Tuple):
        parts = [const_index(e, ints) for e in node.elts]
        return MISSING_INDEX if MISSING_INDEX in parts else tuple(parts)
    return MISSING_INDEX


def same(sh, a, b):
    return sh.of(a) is not None and sh.of(a) == sh.of(b)


def is_none(e):
    return isinstance(e, gast.Constant) and e.value is None


def whole(idx):
    """An index (as subscript syntax) of full slices and ``None`` (new axes) only, which
    reaches every entry once; None if ``idx`` is not one."""
    parts = idx.elts if isinstance(idx, gast.Tuple) else [idx]
    out = []
    for p in parts:
        if is_none(p):
            out.append(N.const(None))
        elif isinstance(p, gast.Call) and isinstance(p.func, gast.Name) \
                and p.func.id == "slice" and all(is_none(a) for a in p.args):
            out.append(gast.Slice(lower=None, upper=None, step=None))
        else:
            return None
    return gast.Tuple(elts=out, ctx=gast.Load())


class Scatter(N.Transformer):
    """``scatter_add(buf, idx, g)`` -> ``buf[idx] += g`` where ``buf`` is surely an array
    (a known, non-empty shape) and ``idx`` a constant basic index: exactly what the
    helper would do, without the call."""

    def __init__(self, sh):
        self.sh = sh

    def visit_Expr(self, node):
        call = node.value
        if not (isinstance(call, gast.Call) and isinstance(call.func, gast.Name)
                and call.func.id == "scatter_add" and len(call.args) == 3
                and isinstance(call.args[0], gast.Name)):
            return node
        buf, idx, g = call.args
        if not self.sh.of(buf):
            return node
        index = basic_index(idx)
        if index is None:
            return node
        target = gast.Subscript(value=N.name(buf.id), slice=index, ctx=gast.Store())
        new = N.aug_assign(target, gast.Add(), g)
        return gast.copy_location(new, node)


def scatter_into(fdef, sh):
    """``v = scatter_into(None, x, idx, g)`` -> ``v = zeros_for(x); v[idx] += g``, and a
    later ``v = scatter_into(v, x, idx, g)`` in the same block -> ``v[idx] += g``, where
    ``x`` is surely an array and ``idx`` a constant basic index."""
    for block in list(N.blocks(fdef)):
        arrays, out = set(), []
        for s in block:
            call = s.value if isinstance(s, gast.Assign) else None
            v = s.targets[0].id if call is not None and isinstance(
                s.targets[0], gast.Name) else None
            if v is not None and isinstance(call, gast.Call) and isinstance(
                    call.func, gast.Name) and call.func.id == "scatter_into" \
                    and len(call.args) == 4 and sh.of(call.args[1]) \
                    and basic_index(call.args[2], sh.ints) is not None \
                    and v not in N.names_in(call.args[3]) and (
                        is_none(call.args[0]) or isinstance(call.args[0], gast.Name)
                        and call.args[0].id == v and v in arrays):
                if is_none(call.args[0]):
                    out.append(gast.copy_location(N.assign(v, N.call("zeros_for", [
                        call.args[1]])), s))
                target = gast.Subscript(value=N.name(v), slice=basic_index(
                    call.args[2], sh.ints), ctx=gast.Store())
                out.append(gast.copy_location(N.aug_assign(target, gast.Add(), call.args[3]),
                                              s))
                arrays.add(v)
                continue
            if arrays:
                arrays.difference_update(N.names_in(s, gast.Store))
            out.append(s)
        block[:] = out


def or_none(a):
    return None if isinstance(a, gast.Constant) and a.value is None else a


def basic_index(node, ints=None):
    """``node`` (an index as an expression) as subscript syntax, if it is a constant
    basic index: ints, ``slice(...)`` of ints, or a tuple of those."""
    if isinstance(node, gast.Tuple):
        parts = [basic_index(e, ints) for e in node.elts]
        if not parts or any(p is None or isinstance(p, gast.Tuple) for p in parts):
            return None
        return gast.Tuple(elts=parts, ctx=gast.Load())
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
            and node.func.id == "slice" and not node.keywords and 1 <= len(node.args) <= 3:
        if any(const_index(a, ints) is MISSING_INDEX for a in node.args):
            return None
        args = list(node.args) if len(node.args) > 1 else [N.const(None)] + list(node.args)
        lower, upper, step = (args + [N.const(None)] * 3)[:3]
        return gast.Slice(lower=or_none(lower), upper=or_none(upper), step=or_none(step))
    value = const_index(node, ints)
    if isinstance(value, int) or is_none(node):  # (None: a new axis)
        return node
    return None

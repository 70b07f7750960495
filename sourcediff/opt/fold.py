"""Constant folding and algebraic identities, for the optimiser.

``2 * 0.5 * g`` -> ``g``, ``-(-a * b)`` -> ``a * b``, ``math.log(2.718...)`` ->
``1.0``, ``1 is None`` -> ``False``. Identities (``x * 1`` -> ``x``) apply only
to generated adjoint and tangent code: in user code ``y = x * 1.0`` makes a new
array, and ``y = x`` would alias it.
"""

from __future__ import annotations

import math
import operator

import gast

from ..prims import facts
from ..ir import nodes as N


def _num(node):
    return isinstance(node, gast.Constant) and isinstance(node.value, (int, float)) \
        and not isinstance(node.value, bool)


def _numlike(node):
    """A number or a bool constant (``y - 1 + (y == 0)`` with ``y = 2.0`` folds to 1.0)."""
    return isinstance(node, gast.Constant) and isinstance(node.value, (int, float))


_COMPARE = {gast.Eq: operator.eq, gast.NotEq: operator.ne, gast.Lt: operator.lt,
            gast.LtE: operator.le, gast.Gt: operator.gt, gast.GtE: operator.ge}
_OPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
        gast.Div: operator.truediv, gast.Pow: operator.pow}


class _FoldCalls(N.Transformer):
    """``math.log(2.718281828459045)`` -> ``1.0``: pure math on constants, at compile time."""

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, gast.Attribute) and isinstance(node.func.value, gast.Name) \
                and node.func.value.id == "math" and not node.keywords \
                and all(_num(a) for a in node.args):
            fn = getattr(math, node.func.attr, None)
            if callable(fn):
                try:
                    value = fn(*[a.value for a in node.args])
                except (ValueError, OverflowError, TypeError):
                    return node
                if isinstance(value, float) and math.isfinite(value):
                    self.dropped = True  # (the name math)
                    return N.const(value)
        return node


class _FoldTests(gast.NodeTransformer):
    """``1 is None`` -> ``False`` and ``a if False else b`` -> ``b`` (from rule defaults)."""

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.left, gast.Constant) and isinstance(
                node.comparators[0], gast.Constant) and isinstance(node.ops[0], (gast.Is,
                                                                                   gast.IsNot)):
            same = node.left.value is node.comparators[0].value
            return N.const(same if isinstance(node.ops[0], gast.Is) else not same)
        if len(node.ops) == 1 and _num(node.left) and _num(node.comparators[0]) and type(
                node.ops[0]) in _COMPARE:
            return N.const(_COMPARE[type(node.ops[0])](node.left.value,
                                                       node.comparators[0].value))
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        if isinstance(node.test, gast.Constant) and isinstance(node.test.value, bool):
            self.dropped = True  # (the names in the other branch)
            return node.body if node.test.value else node.orelse
        return node


class _Fold(_FoldCalls, _FoldTests):
    """Constant folding everywhere (calls and tests too, in the same walk); identities
    only where ``identities`` (adjoint code: in user code ``y = x * 1.0`` makes a new
    array, and ``y = x`` would alias it)."""

    def __init__(self, identities=True):
        self.identities = identities
        self.dropped = False  # a rule took names out of the code (every other keeps them)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right, op = node.left, node.right, node.op
        if _numlike(left) and _numlike(right) and (_num(left) or _num(right)) and type(
                op) in _OPS:
            try:
                value = _OPS[type(op)](left.value, right.value)
            except (ArithmeticError, ValueError):
                return node  # leave it to run time
            if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(
                    value) < 1e15:
                return N.const(value)
        if not self.identities:
            return node
        if isinstance(op, gast.Mult):
            if _num(right) and right.value == 1 and not _may_be_bool(left):
                return left
            if _num(left) and left.value == 1 and not _may_be_bool(right):
                return right
            merged = _merge_constants(node)
            if merged is not None:
                return merged
        if isinstance(op, gast.Div) and _num(right) and right.value == 1:
            return left
        # 1.0 / s * d -> d / s (a number d stays: it meets the numbers around it first)
        if isinstance(op, gast.Mult) and _reciprocal(left) and not _numlike(right) \
                and not _may_be_bool(right):
            return N.binop(right, gast.Div(), left.right)
        if isinstance(op, gast.Mult) and _reciprocal(right) and not _numlike(left) \
                and not _may_be_bool(left):
            return N.binop(left, gast.Div(), right.right)
        if isinstance(op, gast.Pow) and _num(right) and right.value == 1:
            return left
        if isinstance(op, (gast.Add, gast.Sub)):
            common = _common_factor(left, right, op)
            if common is not None:
                return common
        if isinstance(op, (gast.Add, gast.Sub)) and isinstance(right, gast.UnaryOp) \
                and isinstance(right.op, gast.USub):
            flip = gast.Sub() if isinstance(op, gast.Add) else gast.Add()
            return N.binop(left, flip, right.operand)
        if isinstance(op, gast.Mult) and isinstance(left, gast.UnaryOp) and isinstance(
                left.op, gast.USub) and isinstance(right, gast.UnaryOp) and isinstance(
                right.op, gast.USub):
            return N.binop(left.operand, op, right.operand)
        return node

    def visit_Subscript(self, node):
        """``(-0.5 * g)[:, None]`` -> ``-0.5 * g[:, None]``: indexing moves no number, so
        the constant meets the others of the product around it (``2 * ... * d``)."""
        self.generic_visit(node)
        if not (self.identities and isinstance(node.ctx, gast.Load)
                and isinstance(node.value, (gast.BinOp, gast.UnaryOp))):
            return node
        factors = _factors(node.value, [])
        consts = [f for f in factors if _num(f)]
        rest = [f for f in factors if not _num(f)]
        if not any(_num(f) and f.value not in (1, -1) for f in factors) or not rest \
                or any(_may_be_bool(f) for f in rest):
            return node  # (a minus alone stays where it is: -dt is a number, -g an array)
        inner = rest[0]
        for f in rest[1:]:
            inner = N.binop(inner, gast.Mult(), f)
        value = math.prod(c.value for c in consts)
        out = gast.Subscript(value=inner, slice=node.slice, ctx=node.ctx)
        return N.neg(out) if value == -1 else out if value == 1 else N.binop(
            N.const(value), gast.Mult(), out)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if not self.identities:
            if isinstance(node.op, gast.USub) and _num(node.operand):
                return N.const(-node.operand.value)
            return node
        if isinstance(node.op, gast.USub) and isinstance(node.operand, gast.BinOp) and \
                isinstance(node.operand.op, gast.Mult):
            merged = _merge_constants(N.binop(N.const(-1), gast.Mult(), node.operand))
            if merged is not None:
                return merged
        if isinstance(node.op, gast.USub):
            inner = node.operand
            if isinstance(inner, gast.UnaryOp) and isinstance(inner.op, gast.USub):
                return inner.operand
            lead = _leading_neg(inner)
            if lead is not None:  # -(-a * b / c) -> a * b / c
                return lead
            if _num(inner):
                return N.const(-inner.value)
        return node


def _reciprocal(node):
    """``1 / s``: a product with it is a quotient by ``s`` (one rounding less)."""
    return isinstance(node, gast.BinOp) and isinstance(node.op, gast.Div) \
        and _num(node.left) and node.left.value == 1


def folded(expr):
    """``expr`` of adjoint code folded (:class:`_Fold`, identities included)."""
    return _Fold().visit(expr)


def _factors(node, out):
    """Flatten a product chain ``a * -b * c`` into its factors (a minus is a factor -1)."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
        _factors(node.left, out)
        _factors(node.right, out)
    elif isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) \
            and not _num(node.operand):
        out.append(N.const(-1))
        _factors(node.operand, out)
    elif isinstance(node, gast.BinOp) and isinstance(node.op, gast.Div) \
            and _split_numbers(_factors(node.left, [])):
        # (0.5 * a / k): the dividend's numbers are factors too (2 * (0.5 * a / k) -> a / k)
        inner = _factors(node.left, [])
        out.extend(f for f in inner if _num(f))
        rest = [f for f in inner if not _num(f)]
        dividend = rest[0]
        for f in rest[1:]:
            dividend = N.binop(dividend, gast.Mult(), f)
        out.append(N.binop(dividend, gast.Div(), node.right))
    else:
        out.append(node)
    return out


def _common_factor(left, right, op):
    """``c * a + c * b * d`` -> ``c * (a + b * d)`` (or ``-``), one product less, for a
    number ``c`` that is a power of two (``2``, ``-0.5``: scaling by it is exact, so the
    values are the same bit for bit); else None."""
    sides = [_factors(left, []), _factors(right, [])]
    consts = [[f.value for f in fs if _num(f)] for fs in sides]
    rests = [[f for f in fs if not _num(f)] for fs in sides]
    if not all(len(c) == 1 and r for c, r in zip(consts, rests)) \
            or consts[0][0] != consts[1][0] or any(map(_may_be_bool, rests[0] + rests[1])):
        return None
    c = consts[0][0]
    if c in (1, -1) or c == 0 or not math.isfinite(c) or math.frexp(abs(c))[0] != 0.5:
        return None
    inner = [rest[0] for rest in rests]
    for k, rest in enumerate(rests):
        for f in rest[1:]:
            inner[k] = N.binop(inner[k], gast.Mult(), f)
    return N.binop(N.const(c), gast.Mult(), N.binop(inner[0], op, inner[1]))


def _split_numbers(factors):
    """Some of ``factors`` are numbers, and some are not."""
    return any(_num(f) for f in factors) and not all(_num(f) for f in factors)


def _merge_constants(node):
    """``100.0 * g * 2 * x`` -> ``200.0 * g * x``: one constant, in front."""
    factors = _factors(node, [])
    consts = [f for f in factors if _num(f)]
    if len(consts) < 2 and not (len(consts) == 1 and factors[0] is not consts[0]):
        return None
    if len(factors) > 12:
        return None
    value = 1
    for c in consts:
        value = value * c.value
    # a mask (a <= b) is boolean: a float factor goes first, or the constant stays
    rest = sorted((f for f in factors if not _num(f)), key=_may_be_bool)
    if not rest:
        return N.const(value)
    if _may_be_bool(rest[0]):
        out = N.binop(N.const(float(value)), gast.Mult(), rest[0])
    elif value == 1:
        out = rest[0]
    elif value == -1:
        out = gast.UnaryOp(op=gast.USub(), operand=rest[0])
    else:
        out = N.binop(N.const(value), gast.Mult(), rest[0])
    for f in rest[1:]:
        out = N.binop(out, gast.Mult(), f)
    return out


def _may_be_bool(node):
    """An expression whose value is boolean (a comparison, a mask): ``1.0 * node`` is a
    float array, ``node`` alone is not."""
    if isinstance(node, (gast.Compare, gast.BoolOp)):
        return True
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.Not):
        return True
    if isinstance(node, gast.Call):
        f = node.func
        name = f.attr if isinstance(f, gast.Attribute) else getattr(f, "id", None)
        return facts.named(name, "boolean")
    return False


def _leading_neg(node):
    """``node`` without the minus on its leftmost factor, or None."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Mult, gast.Div)):
        left = _leading_neg(node.left)
        return None if left is None else N.binop(left, node.op, node.right)
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return node.operand
    return None


def _drop_rebinding(block):
    """``b = a`` ... ``a = b`` with neither name bound between: ``a`` holds that value
    already (the same object), the second assignment goes. (What a reverse sweep leaves of
    ``_g2 = v_bar; v_bar = _g2``: then ``_g2`` propagates away.) True if anything changed."""
    assign, name = gast.Assign, gast.Name  # (gast's node classes have no subclasses)
    pairs = {(s.targets[0].id, s.value.id) for s in block if type(s) is assign
             and type(s.value) is name and len(s.targets) == 1
             and type(s.targets[0]) is name}
    if not any((a, b) in pairs for b, a in pairs):  # (no b = a ... a = b here: the scan
        return False                                 # below walks each statement)
    copies, sources = {}, {}  # b -> a, for b = a still in force; a -> those b
    drop = []
    for k, s in enumerate(block):
        copy = type(s) is assign and len(s.targets) == 1 and type(s.targets[0]) is name \
            and type(s.value) is name
        if copy and copies.get(s.value.id) == s.targets[0].id:
            drop.append(k)
            continue
        if copies:  # (those s rebinds are no longer in force)
            for n in N.names_in(s, gast.Store):
                if n in copies:
                    sources[copies.pop(n)].discard(n)
                for b in sources.pop(n, ()):
                    copies.pop(b, None)
        if copy:
            copies[s.targets[0].id] = s.value.id
            sources.setdefault(s.value.id, set()).add(s.targets[0].id)
    for k in reversed(drop):
        del block[k]
    return bool(drop)


# The heads of the compound statements folded statement by statement (forward-mode code
# folds a loop's iterable only, as it always has)
_HEADS = {gast.For: ("target", "iter"), gast.If: ("test",), gast.While: ("test",)}
_TANGENT_HEADS = {**_HEADS, gast.For: ("iter",)}


def _fold_block(stmts, pick, heads, clean, check, bare=None):
    """Fold each statement of ``stmts`` with the transformer ``pick(statement)`` chooses;
    an If, For or While by its ``heads`` and its blocks' statements one by one. ``clean``
    (id -> statement): simple statements already folded with nothing left to fold,
    skipped, and those found so added (``check``: visited anyway, and must stay as they
    are); ``bare(statement)``: whether a simple statement holds no constant and no unary
    operation (no rule applies: it is clean)."""
    for s in stmts:
        t = pick(s)
        if type(s) in heads:
            for field in heads[type(s)]:
                setattr(s, field, t.visit(getattr(s, field)))
            _fold_block(s.body, pick, heads, clean, check, bare)
            _fold_block(s.orelse, pick, heads, clean, check, bare)
            continue
        if clean is None or N.has_block(s):
            t.visit(s)  # (a With, a Try...: all of it, every time)
            continue
        known = clean.get(id(s)) is s
        if not known and bare is not None and bare(s):
            clean[id(s)] = s
            known = True
        if known and not check:
            continue
        before, t.changed = t.changed, False
        t.visit(s)
        if t.changed and known:
            raise AssertionError(f"fold had work in a statement it had folded: {s}")
        if not t.changed:
            clean[id(s)] = s
        t.changed = t.changed or before


def fold(fdef, clean=None, check=False):
    """Fold ``fdef`` in place; True if anything changed. ``clean``, ``check``: see
    :func:`_fold_block` (the caller forgets a statement there when it changes it)."""
    return fold_counted(fdef, clean, check)[0]


def fold_counted(fdef, clean=None, check=False, blocks=None, bare=None):
    """:func:`fold`: (whether anything changed, whether a name was taken out of the code:
    if not, every name is read and written where it was). ``blocks``: ``fdef``'s
    statement lists, if the caller has them; ``bare``: see :func:`_fold_block`."""
    dropped_copies = False
    for block in list(N.blocks(fdef)) if blocks is None else blocks:
        if _drop_rebinding(block):
            dropped_copies = True
            block[:] = block or [gast.Pass()]
    start = N.reverse_start(fdef.body)
    plain, adjoint = _Fold(identities=False), _Fold()
    if start == len(fdef.body):  # forward-mode code: tangent statements interleave with
        names = N.anno(fdef, "names")  # user ones; a tangent by its role (a user's v_dot
                                       # is the user's: see names.py)

        def pick(s):
            t = s.targets[0].id if isinstance(s, gast.Assign) and isinstance(
                s.targets[0], gast.Name) else ""
            return adjoint if names.role(t) == "tangent" else plain
        _fold_block(fdef.body, pick, _TANGENT_HEADS, clean, check, bare)
    else:
        _fold_block(fdef.body[:start], lambda s: plain, _HEADS, clean, check, bare)
        _fold_block(fdef.body[start:], lambda s: adjoint, _HEADS, clean, check, bare)
    return (plain.changed or adjoint.changed or dropped_copies,
            plain.dropped or adjoint.dropped or dropped_copies)

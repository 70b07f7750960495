"""Pass 8b: broadcast products followed by sums, emitted as contractions.

``np.sum(X * np.outer(r, w), axis=0)`` builds an (N, p) outer product and then an
(N, p) product, where ``w * (r @ X)`` is one matrix-vector product. With every
factor's shape known (shape specialisation), such a sum is an Einstein sum: each
factor's axes get the labels of the broadcast result axes they stand for (an
``np.outer(u, v)`` factor is two factors, ``u`` and ``v``), the summed axes are
contracted. ``np.einsum_path`` picks the order, at compile time, and the pairwise
steps are written as ``@`` (a single contracted axis, matrices and vectors), as
broadcast products, or as ``np.einsum`` otherwise. A sum is rewritten only when the
new order does no more multiplications than the written one and never materialises
more than half of the broadcast product, so code that is already good is left as
the user (or a rule) wrote it.
"""

from __future__ import annotations

import math
import string

import gast
import numpy as np

from ..ir import nodes as N
from .indices import new_axes

_LETTERS = string.ascii_lowercase


def contract_sums(fdef, sh, float64=None):
    """Rewrite every qualifying ``np.sum(product, axis=...)`` in ``fdef`` (``sh``: a
    :class:`shapes.Shapes` of the finished function). A sum with an outer product in it is
    always rewritten; a sum over some axes of any other product only where
    ``float64(expr)`` says every factor is a float64 array or a number (``np.sum`` of a
    product of masks counts, ``np.einsum`` of them would not; small integers are summed
    in a wider type). True if anything changed."""
    pass_ = _Contract(sh, float64)
    _visit_sums(pass_, fdef)
    return pass_.changed


_BLOCKS = frozenset({"body", "orelse", "finalbody", "handlers"})


def _visit_sums(pass_, node):
    """``pass_.visit(node)``, for a statement or a function, but visiting only the
    expressions that call ``np.sum`` (the only calls it rewrites; most statements have
    none): statement lists statement by statement, any other field whole if it holds
    one. (A statement is never replaced: the pass rewrites calls.)"""
    for field in N.walk_fields(node.__class__):
        v = getattr(node, field, None)
        if type(v) is list:
            if field in _BLOCKS:
                for s in v:
                    _visit_sums(pass_, s)
                continue
            for i, x in enumerate(v):
                if isinstance(x, gast.AST) and type(x) not in N.LEAVES and _has_sum(x):
                    new = pass_.visit(x)
                    if new is not x:
                        v[i] = new
        elif isinstance(v, gast.AST) and type(v) not in N.LEAVES and _has_sum(v):
            new = pass_.visit(v)
            if new is not v:
                setattr(node, field, new)


def _has_sum(tree):
    """Whether ``tree`` holds a call of ``np.sum`` (a walk that passes over names and
    constants)."""
    todo = [tree]
    pop, push, extend = todo.pop, todo.append, todo.extend
    ast_type, skip, call_type = gast.AST, (gast.Name, gast.Constant), gast.Call
    fields_of = N.NAME_FIELDS
    while todo:
        n = pop()
        cls = n.__class__
        if cls is call_type and _is_np(n.func, "sum"):
            return True
        for field in fields_of.get(cls) or N.name_fields(cls):
            v = getattr(n, field, None)
            if type(v) is list:
                extend([x for x in v if isinstance(x, ast_type) and x.__class__ not in skip])
            elif isinstance(v, ast_type) and v.__class__ not in skip:
                push(v)
    return False


class _Contract(N.Transformer):
    def __init__(self, sh, float64):
        self.sh = sh
        self.float64 = float64
        self.changed = False

    def visit_Call(self, node):
        self.generic_visit(node)
        new = _rewrite(node, self.sh, self.float64)
        if new is None:
            new = _hoist(node, self.sh, self.float64)
        if new is None:
            return node
        if not self.changed and hasattr(self.float64, "prepare"):
            self.float64.prepare()  # (the kinds of the tree as it came, before a change)
        self.changed = True
        return new


def _is_np(f, name):
    return (isinstance(f, gast.Attribute) and f.attr == name
            and isinstance(f.value, gast.Name) and f.value.id == "np")


def _keepdims(node):
    """``keepdims=True`` among ``node``'s keywords?"""
    return any(kw.arg == "keepdims" and isinstance(kw.value, gast.Constant)
               and kw.value.value is True for kw in node.keywords)


def _summed_axes(node, ndim):
    """The axes ``np.sum(x, axis=...)`` reduces (other keywords than ``axis`` and a
    constant ``keepdims``: None)."""
    if len(node.args) != 1:
        return None
    axis = None
    for kw in node.keywords:
        if kw.arg == "keepdims" and isinstance(kw.value, gast.Constant) \
                and type(kw.value.value) is bool:
            continue
        if kw.arg != "axis":
            return None
        axis = kw.value
    if axis is None or isinstance(axis, gast.Constant) and axis.value is None:
        return tuple(range(ndim))
    elts = axis.elts if isinstance(axis, gast.Tuple) else [axis]
    out = []
    for e in elts:
        if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub) \
                and isinstance(e.operand, gast.Constant) and type(e.operand.value) is int:
            e = gast.Constant(value=-e.operand.value, kind=None)
        if not (isinstance(e, gast.Constant) and type(e.value) is int
                and -ndim <= e.value < ndim):
            return None
        out.append(e.value % ndim)
    return tuple(sorted(set(out)))


def _rewrite(node, sh, float64):
    if not (_is_np(node.func, "sum") and node.args):
        return None
    factors = [part for f in N.factors(node.args[0]) for part in _squared(f)]
    if len(factors) < 2:
        return None
    # operands: (expression, its shape, the axes of the factor it stands for, the factor's
    # number of axes): e[:, None] stands for e at axes 0 and 2 of 3
    operands = []
    for f in factors:
        if isinstance(f, gast.Call) and _is_np(f.func, "outer") and len(f.args) == 2 \
                and not f.keywords:
            su, sv = sh.of(f.args[0]), sh.of(f.args[1])
            if su is None or sv is None or len(su) != 1 or len(sv) != 1:
                return None
            operands.append([(f.args[0], su, (0,), 2), (f.args[1], sv, (1,), 2)])
            continue
        expr, axes, ndim = _spread_of(f, sh)
        s = sh.of(expr)
        if s is None or len(s) != len(axes):
            return None
        operands.append([(expr, s, axes, ndim)])
    full = [_full_shape(group) for group in operands]
    try:
        result = np.broadcast_shapes(*full)
    except ValueError:
        return None
    n = len(result)
    if n > len(_LETTERS):
        return None
    axes = _summed_axes(node, n)
    if axes is None:
        return None
    if not any(len(group) == 2 for group in operands) and (
            not node.keywords or len(axes) == n or float64 is None
            or not all(float64(f) for f in factors)):
        return None  # no outer product, and a full sum: a sum of a product is good there
    terms = []  # (expression, labels)
    for group in operands:
        for expr, s, at, ndim in group:
            start = n - ndim
            if any(d != result[start + k] and d != 1 for k, d in zip(at, s)):
                return None
            stretched = [j for j, (k, d) in enumerate(zip(at, s)) if d != result[start + k]]
            if stretched:  # a size-1 axis the product stretches: indexed away (x[:, 0])
                expr = _drop_axes(expr, stretched)
            terms.append((expr, "".join(_LETTERS[start + k] for j, k in enumerate(at)
                                        if j not in stretched)))
    # a factor of one element (a number) scales the contraction's result
    scales = [expr for expr, labels in terms if not labels]
    terms = [(expr, labels) for expr, labels in terms if labels]
    if len(terms) < 2:
        return None
    out_labels = "".join(_LETTERS[i] for i in range(n) if i not in axes)
    out = _emit(terms, out_labels, dict(zip(_LETTERS, result)))
    if out is None:
        return None
    if _keepdims(node) and axes:
        out = new_axes(out, n, set(axes))  # (the summed axes put back, size 1)
    for scale in scales:
        out = N.binop(scale, gast.Mult(), out)
    return out


def _squared(f):
    """``x ** 2`` is the product ``x * x``; any other factor is itself."""
    if isinstance(f, gast.BinOp) and isinstance(f.op, gast.Pow) \
            and isinstance(f.right, gast.Constant) and f.right.value == 2 \
            and type(f.right.value) in (int, float) and N.is_atom(f.left):
        return [f.left, f.left]
    return [f]


def _spread_of(f, sh):
    """A factor as (expression, the factor's axes it fills, the factor's number of axes):
    ``e[:, None]`` (``e`` of 2 axes) is ``e`` at axes 0 and 2 of 3."""
    if isinstance(f, gast.Subscript):
        index = f.slice.elts if isinstance(f.slice, gast.Tuple) else [f.slice]
        inner = sh.of(f.value)
        if inner is not None and all(_is_full(i) or _is_none(i) for i in index) \
                and any(_is_none(i) for i in index):
            at = [k for k, i in enumerate(index) if _is_full(i)]
            rest = len(inner) - len(at)
            if rest >= 0:
                return f.value, tuple(at) + tuple(range(len(index), len(index) + rest)), \
                    len(index) + rest
    s = sh.of(f)
    return f, tuple(range(len(s))) if s is not None else (), len(s) if s is not None else 0


def _drop_axes(expr, axes):
    """``expr[:, 0]``: ``expr`` without its size-1 ``axes``."""
    index = [N.const(0) if k in axes else gast.Slice(lower=None, upper=None, step=None)
             for k in range(max(axes) + 1)]
    return gast.Subscript(value=expr, slice=index[0] if len(index) == 1 else gast.Tuple(
        elts=index, ctx=gast.Load()), ctx=gast.Load())


def _is_full(i):
    return isinstance(i, gast.Slice) and i.lower is None and i.upper is None and i.step is None


def _is_none(i):
    return isinstance(i, gast.Constant) and i.value is None


def _full_shape(group):
    """The shape of the factor a group of operands stands for (size 1 where it has none)."""
    ndim = group[0][3]
    shape = [1] * ndim
    for _, s, at, _ in group:
        for k, d in zip(at, s):
            shape[k] = d
    return tuple(shape)


def _hoist(node, sh, float64=None):
    """``np.sum(a * b / c, axis=0)`` where ``c`` is the same along every summed axis (its
    shape lacks them: they are leading axes it broadcasts over) -> ``np.sum(a * b,
    axis=0) / c``: the factor is applied to the (smaller) sum, not to every term. A
    negation comes out too. None unless the shapes are known and this changes something."""
    if not (_is_np(node.func, "sum") and len(node.args) == 1):
        return None
    full = sh.of(node.args[0])
    axes = _summed_axes(node, len(full)) if full is not None else None
    if not axes:
        return None
    negate, kept, hoisted = False, [], []
    keep = _keepdims(node)
    for f, divide in _terms(node.args[0]):
        while isinstance(f, gast.UnaryOp) and isinstance(f.op, gast.USub):
            negate, f = not negate, f.operand
        shape = sh.of(f)
        if shape is None:
            return None
        # constant along the summed axes: it lacks them (leading axes it broadcasts over),
        # or has size 1 there and the sum keeps them (size 1 too); a factor with a call
        # stays (moving it would change the order calls run in)
        lead = len(full) - len(shape)
        constant = (lead > max(axes) or keep and all(
            a < lead or shape[a - lead] == 1 for a in axes)) and not any(
            isinstance(n, gast.Call) for n in N.walk(f))
        (hoisted if constant else kept).append((f, divide, shape))
    if not kept or kept[0][1] or not (hoisted or negate):
        return None
    # the factors left span every summed axis (else they would sum fewer terms); along the
    # others they may be smaller, the hoisted ones making the result its shape
    try:
        left = np.broadcast_shapes(*[shape for _, _, shape in kept])
        if len(left) != len(full) or any(left[a] != full[a] for a in axes) or \
                np.broadcast_shapes(_summed(left, axes, keep), *[
                    shape for _, _, shape in hoisted]) != _summed(full, axes, keep):
            return None
    except ValueError:
        return None
    inner = kept[0][0]
    for f, divide, _ in kept[1:]:
        inner = N.binop(inner, gast.Div() if divide else gast.Mult(), f)
    out = N.call("np.sum", [inner], node.keywords)
    out = _rewrite(out, sh, float64) or out  # (the sum left: a contraction?)
    for f, divide, _ in hoisted:
        out = N.binop(out, gast.Div() if divide else gast.Mult(), f)
    return N.neg(out) if negate else out


def _summed(shape, axes, keep):
    """The shape of ``np.sum`` of an array of ``shape`` over ``axes``."""
    return tuple(1 if i in axes else d for i, d in enumerate(shape) if keep or i not in axes)


def _terms(e):
    """The factors of a product or quotient: (factor, whether it divides)."""
    if isinstance(e, gast.BinOp) and isinstance(e.op, gast.Mult):
        return _terms(e.left) + _terms(e.right)
    if isinstance(e, gast.BinOp) and isinstance(e.op, gast.Div):
        return _terms(e.left) + [(e.right, True)]
    return [(e, False)]


def _emit(terms, out_labels, size):
    spec = ",".join(lab for _, lab in terms) + "->" + out_labels
    dummies = [np.broadcast_to(np.empty(1), [size[c] for c in lab]) for _, lab in terms]
    path = np.einsum_path(spec, *dummies, optimize="optimal")[0][1:]
    naive = math.prod(size.values())
    live = list(terms)
    cost = biggest = 0
    for pair in path:
        picked = [live[i] for i in pair]
        for i in sorted(pair, reverse=True):
            del live[i]
        rest = set("".join(lab for _, lab in live)) | set(out_labels)
        union = "".join(sorted(set("".join(lab for _, lab in picked))))
        cost += math.prod(size[c] for c in union)
        keep = "".join(c for c in union if c in rest)
        biggest = max(biggest, math.prod(size[c] for c in keep))
        live.append(_step(picked, keep, out_labels))
    # the product as written multiplies len(terms) - 1 times over the whole broadcast
    # and materialises it: take the new order only if it does no more multiplications
    # and its largest intermediate is at most half that size
    if cost > (len(terms) - 1) * naive or 2 * biggest > naive or len(live) != 1:
        return None
    expr, labels = live[0]
    if labels != out_labels:
        return None
    return expr


def _step(picked, keep, out_labels):
    """One pairwise (or single-operand) contraction: (expression, its labels)."""
    if len(picked) == 2:
        (a, la), (b, lb) = picked
        done = set(la) & set(lb)
        summed = done - set(keep)
        if len(summed) == 1 and done == summed and len(la) <= 2 and len(lb) <= 2:
            c = summed.pop()
            left = a if la[-1] == c else N.attr(a, "T")
            right = b if lb[0] == c else N.attr(b, "T")
            labels = la.replace(c, "") + lb.replace(c, "")
            if len(set(labels)) == len(labels):
                return N.binop(left, gast.MatMult(), right), labels
        if not (set(la) | set(lb)) - set(keep):
            order = "".join(sorted(keep, key=lambda c: (c not in out_labels, c)))
            spread_a, spread_b = _spread(a, la, order), _spread(b, lb, order)
            if spread_a is not None and spread_b is not None:
                return N.binop(spread_a, gast.Mult(), spread_b), order
    spec = ",".join(lab for _, lab in picked) + "->" + keep
    return N.call("np.einsum", [N.const(spec)] + [e for e, _ in picked]), keep


def _spread(expr, labels, order):
    """``expr`` (axes ``labels``) indexed so that it broadcasts against ``order``:
    ``r[:, None]`` for labels ``"a"`` in ``"ab"``; None if its axes are out of order."""
    if labels == order[len(order) - len(labels):]:
        return expr
    pos = [order.index(c) for c in labels]
    if pos != sorted(pos):
        return None
    index = [gast.Slice(lower=None, upper=None, step=None) if c in labels else N.const(None)
             for c in order[pos[0]:]]
    return gast.Subscript(value=expr, slice=gast.Tuple(elts=index, ctx=gast.Load()),
                          ctx=gast.Load())

"""Pass 8a (continued): the rewrites that shape specialisation allows.

Where :mod:`shapes` knows the shapes, generic helpers become plain NumPy:
``unbroadcast`` is dropped where the cotangent already has its operand's shape (or
becomes an ``np.sum`` over the broadcast axes), ``matmul_vjp_a`` becomes ``g @ b.T``,
``unreduce`` a read-only ``np.broadcast_to``, and a broadcast that a product would do
anyway is left out (:func:`simplify_products`). Anything not known for certain keeps the
generic helper.
"""

from __future__ import annotations

from collections import Counter

import gast
import numpy as np

from ..ir import nodes as N
from .indices import Scatter as _Scatter
from .indices import const_index as _const_index
from .indices import is_none as _is_none
from .indices import new_axes as _new_axes
from .indices import same as _same
from .indices import scatter_into as _scatter_into
from .indices import whole as _whole
from .shapes import SAFE, Shapes, analyse, broadcast, infer, visit
from ..ad.zeros import only_added_to


def _sum_to(g, source, target):
    """``np.sum(g, axis=...)`` taking shape ``source`` down to ``target`` (None if not)."""
    lead = len(source) - len(target)
    if lead < 0 or any(t not in (1, s) for s, t in zip(source[lead:], target)):
        return None
    axes = tuple(range(lead)) + tuple(lead + i for i, (s, t) in enumerate(
        zip(source[lead:], target)) if t == 1 and s != 1)
    negate = isinstance(g, gast.UnaryOp) and isinstance(g.op, gast.USub)
    if negate:  # -np.sum(g) negates the small result, not the big operand (exactly equal)
        g = g.operand
    keywords = [N.keyword("axis", N.const(axes if len(axes) > 1 else axes[0]))]
    kept = any(t == 1 and s != 1 for s, t in zip(source[lead:], target))
    if kept and not lead:
        keywords.append(N.keyword("keepdims", N.const(True)))
    out = N.call("np.sum", [g], keywords)
    if kept and lead:
        out = N.call("np.reshape", [out, N.const(target)])
    return N.neg(out) if negate else out


class _Drop(N.Transformer):
    def __init__(self, sh):
        self.sh = sh

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, gast.Name) and f.id == "unbroadcast" and len(node.args) == 2:
            target = self.sh.of(node.args[1])
            if target is not None and self.sh.of(node.args[0]) == target:
                return node.args[0]
            source = self.sh.of(node.args[0])
            if target == () and source is not None:
                return N.call("np.sum", [node.args[0]]) if source else node.args[0]
            if target is not None and source is not None:
                return _sum_to(node.args[0], source, target) or node
        if isinstance(f, gast.Name) and f.id == "copy_of" and len(node.args) == 1 \
                and _element(node.args[0], self.sh):
            return node.args[0]  # (an element read is a NumPy scalar: never a view)
        if isinstance(f, gast.Name) and f.id == "untranspose" and (
                len(node.args) == 1 or _is_none(node.args[1])) and not node.keywords:
            return N.call("np.transpose", [node.args[0]])  # (what the helper does)
        if isinstance(f, gast.Name) and f.id == "broadcast_like" and len(node.args) == 2:
            target = self.sh.of(node.args[1])
            if target is not None and self.sh.of(node.args[0]) == target:
                return node.args[0]
        if isinstance(f, gast.Name) and f.id in ("matmul_vjp_a", "matmul_vjp_b", "dot_vjp_a",
                                                 "dot_vjp_b") and len(node.args) == 3:
            g, a, b = node.args
            if len(self.sh.of(a) or ()) == 2 and len(self.sh.of(b) or ()) == 2:
                # 2-D: the textbook formulas, g @ b.T and a.T @ g
                if f.id.endswith("_a"):
                    return N.binop(g, gast.MatMult(), N.attr(b, "T"))
                return N.binop(N.attr(a, "T"), gast.MatMult(), g)
            vector = _vector_vjp(f.id.endswith("_a"), g, a, b, self.sh)
            if vector is not None:
                return vector
        if isinstance(f, gast.Name) and f.id == "real_cot" and (self.sh.of(node.args[1]) == ()
                                                              or _same(self.sh, *node.args)):
            return node.args[0]  # a scalar's symbolic zero is already its real zero
        if isinstance(f, gast.Name) and f.id == "scatter_into" and _is_none(node.args[0]) \
                and _whole(node.args[2]) is not None and self.sh.of(node.args[1]) \
                and _same(self.sh, node.args[3], gast.Subscript(
                    value=node.args[1], slice=_whole(node.args[2]), ctx=gast.Load())):
            # a fresh buffer whose every entry the index reaches once: g, reshaped
            return N.call("np.reshape", [node.args[3], N.const(self.sh.of(node.args[1]))])
        if isinstance(f, gast.Name) and f.id == "zeros_tangent" and self.sh.of(node.args[0]) == ():
            return N.const(0.0)
        if isinstance(f, gast.Name) and f.id == "unreduce" and len(node.args) >= 2:
            shape = self.sh.of(node.args[1])
            if shape == ():
                return node.args[0]
            whole = len(node.args) < 3 or (isinstance(node.args[2], gast.Constant)
                                           and node.args[2].value is None)
            if shape is not None and whole and self.sh.of(node.args[0]) == ():
                # the cotangent of a full reduction: a read-only broadcast, no data read
                return N.call("np.broadcast_to", [node.args[0], N.const(shape)])
            kept = len(node.args) == 4 and isinstance(node.args[3], gast.Constant) \
                and node.args[3].value is True
            g = self.sh.of(node.args[0])
            axis = _const_index(node.args[2]) if len(node.args) > 2 else None
            if shape and not kept and isinstance(axis, (int, tuple)) and g is not None \
                    and g == np.zeros(shape).sum(axis=axis).shape:
                # the reduced axes put back (size 1), then a read-only broadcast
                axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
                return N.call("np.broadcast_to", [_new_axes(node.args[0], len(shape), axes),
                                                  N.const(shape)])
            if shape and kept and g is not None and len(g) == len(shape) \
                    and broadcast(g, shape) == shape:
                # keepdims=True: the cotangent already has the reduced axes, size 1
                return N.call("np.broadcast_to", [node.args[0], N.const(shape)])
        return node


def _vector_vjp(first, g, a, b, sh):
    """The adjoint of ``a @ b`` where a vector is involved, in closed form: an outer
    product (which :mod:`contract` may fold into a later sum), a matrix-vector
    product, or a scaled vector. None unless every shape is known and fits."""
    sa, sb, sg = sh.of(a), sh.of(b), sh.of(g)
    if sa is None or sb is None or sg is None:
        return None
    if len(sa) == 1 and len(sb) == 1 and sg == ():
        return N.binop(g, gast.Mult(), b if first else a)
    if len(sa) == 2 and len(sb) == 1 and sg == sa[:1]:       # (N, p) @ (p,)
        return N.call("np.outer", [g, b]) if first else N.binop(g, gast.MatMult(), a)
    if len(sa) == 1 and len(sb) == 2 and sg == sb[1:]:       # (p,) @ (p, q)
        return N.binop(b, gast.MatMult(), g) if first else N.call("np.outer", [a, g])
    return None


def _element(e, sh):
    """Whether ``e`` reads one element of an array, ``y[1]`` or ``m[i, 0]`` (one integer
    index per axis, no slice, ``...`` or ``None``): a NumPy scalar, not a view."""
    if not isinstance(e, gast.Subscript) or sh.of(e) != ():
        return False
    index = e.slice.elts if isinstance(e.slice, gast.Tuple) else [e.slice]
    return len(sh.of(e.value) or ()) == len(index) and all(
        not isinstance(i, gast.Slice) and sh.of(i) == ()
        and not (isinstance(i, gast.Constant) and not isinstance(i.value, int)) for i in index)


def specialize(fdef, ns, spec, params):
    env = {p: s for p, s in zip(params, spec)}
    start = N.reverse_start(fdef.body)  # the forward pass: everything before the marker
    fwd, rev = fdef.body[:start], fdef.body[start:]
    infer(fwd, ns, env)
    # temporaries of the reverse sweep (primal names keep their forward shapes)
    frozen = frozenset(env)
    env[SAFE] = only_added_to(rev)
    for _ in range(2):
        visit(rev, Shapes(ns, env), env, frozen)
    _Drop(Shapes(ns, env)).visit(fdef)
    _Scatter(Shapes(ns, env)).visit(fdef)
    _scatter_into(fdef, Shapes(ns, env))
    return fdef


def simplify_products(fdef, ns, spec, params):
    """``np.broadcast_to(c, S) * X`` -> ``c * X`` where the product has shape ``S``
    anyway, and ``np.reshape(np.sum(x, axis=a, keepdims=True), S)`` -> ``np.sum(x,
    axis=a)`` where that has shape ``S``. True if anything changed."""
    sh = analyse(fdef, ns, spec, params)
    # a name bound to np.broadcast_to(constant, shape) is as cheap to repeat as to read
    consts = {}
    for s in fdef.body:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                and _is_const_broadcast(s.value):
            consts[s.targets[0].id] = s.value
    stores = Counter(N.names_in(fdef, gast.Store))
    consts = {k: v for k, v in consts.items() if stores[k] == 1}
    if consts:
        for s in fdef.body:
            if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                    and s.targets[0].id in consts):
                N.substitute(s, consts)
    # a name bound once to np.broadcast_to(e, shape): if no read needs the broadcast
    # (each is a factor of a product that has the shape anyway), it is bound to e; and a
    # name bound once and read once, by a reshape (see _Products.visit_Call)
    spread, once = {}, {}
    loads = Counter(N.names_in(fdef, gast.Load))
    for block in N.blocks(fdef):
        for s in block:
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                    and stores[s.targets[0].id] == 1:
                if _is_broadcast(s.value):
                    spread[s.targets[0].id] = s
                elif loads[s.targets[0].id] == 1:
                    once[s.targets[0].id] = s
    products = _Products(sh, spread, once)
    products.visit(fdef)
    for name, n in products.spared.items():
        if n == loads[name]:
            spread[name].value = spread[name].value.args[0]
            products.changed = True
    return bool(consts) or products.changed


def _is_broadcast(v):
    """``np.broadcast_to(e, shape)`` with a constant shape."""
    return (isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute)
            and v.func.attr == "broadcast_to" and len(v.args) == 2 and not v.keywords
            and isinstance(v.args[1], gast.Constant))


def _is_const_broadcast(v):
    return _is_broadcast(v) and isinstance(v.args[0], gast.Constant)


class _Products(N.Transformer):
    def __init__(self, sh, spread, once):
        self.sh = sh
        self.spread = spread    # name -> its one assignment, of np.broadcast_to(e, shape)
        self.spared = Counter()  # name in spread -> its reads that need no broadcast
        self.once = once        # name -> its one assignment (it is read once)

    def visit_BinOp(self, node):
        if isinstance(node.op, (gast.Add, gast.Sub)):
            self.generic_visit(node)
            # a + np.broadcast_to(b, S) where a has shape S: the sum broadcasts b itself
            for side, other in (("right", node.left), ("left", node.right)):
                e, minus = _unminus(getattr(node, side))
                if _is_broadcast(e) and self.sh.of(other) == tuple(e.args[1].value):
                    setattr(node, side, _inside(e, minus))
                    self.changed = True
            return node
        if isinstance(node.op, gast.Div):
            # (a * np.broadcast_to(b, S)) / c: a factor of the dividend, the divisor one more
            # operand; a / np.broadcast_to(b, S) where a has shape S, as for a sum
            shape = self.sh.of(node.left)
            node.right = self.visit(node.right)
            left = self.product(node.left, [self.sh.of(node.right)])
            self.changed |= left is not node.left
            node.left = left
            e, minus = _unminus(node.right)
            if _is_broadcast(e) and shape == tuple(e.args[1].value):
                node.right = _inside(e, minus)
                self.changed = True
            return node
        if not isinstance(node.op, gast.Mult):
            self.generic_visit(node)
            return node
        return self.product(node)

    def product(self, node, others=()):
        """The product ``node`` without the broadcasts its other factors (and operands of
        shapes ``others``: then of a name or a number only) make needless."""
        factors = N.factors(node)
        for f in factors:
            self.visit(f)
        shapes = [self.sh.of(f) for f in factors]
        changed = False
        for i, f in enumerate(factors):
            f, minus = _unminus(f)
            named = isinstance(f, gast.Name) and f.id in self.spread
            spread = self.spread[f.id].value if named else f
            if not (_is_broadcast(spread) and _spared(self.sh.of(spread.args[0]), tuple(
                    spread.args[1].value), shapes[:i] + shapes[i + 1:] + list(others))):
                continue
            if others and not N.is_atom(spread.args[0]):
                continue  # (a dividend's broadcast of a name or a number only)
            if named:
                self.spared[f.id] += 1
            else:
                factors[i] = _inside(spread, minus)
                changed = True
        if not changed:
            return node
        out = factors[0]
        for f in factors[1:]:
            out = N.binop(out, gast.Mult(), f)
        return out

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if not (isinstance(f, gast.Attribute) and f.attr == "reshape" and len(node.args) == 2
                and isinstance(node.args[1], gast.Constant) and not node.keywords):
            return node
        arg, target = node.args[0], tuple(node.args[1].value)
        bound = self.once.get(arg.id) if isinstance(arg, gast.Name) else None
        new = self.unkept(bound.value if bound is not None else arg, target)
        if new is None:
            return node
        if bound is None:
            return new
        bound.value = new  # (its one read is this reshape)
        return arg

    def unkept(self, e, target):
        """``np.sum(x, axis=a, keepdims=True)`` without keepdims, if that has shape
        ``target`` (the reshape only dropped the kept axes), else None."""
        if not (isinstance(e, gast.Call) and isinstance(e.func, gast.Attribute)
                and e.func.attr == "sum" and len(e.args) == 1):
            return None
        keywords = {k.arg: k.value for k in e.keywords}
        if set(keywords) != {"axis", "keepdims"} or not (
                isinstance(keywords["keepdims"], gast.Constant)
                and keywords["keepdims"].value is True):
            return None
        shape, axis = self.sh.of(e.args[0]), _const_index(keywords["axis"])
        if shape is None or not isinstance(axis, (int, tuple)):
            return None
        try:
            summed = np.zeros(shape).sum(axis=axis).shape
        except (ValueError, TypeError):
            return None
        if summed != target:
            return None
        return N.call("np.sum", [e.args[0]], [N.keyword("axis", keywords["axis"])])


def _unminus(e):
    """``e`` without the unary minus around it, and whether it had one (``-np.broadcast_to
    (b, S)``: its broadcast is left out where that of ``np.broadcast_to(b, S)`` is)."""
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):
        return e.operand, True
    return e, False


def _inside(broadcast_to, minus):
    """What ``np.broadcast_to(b, S)`` (negated where ``minus``) leaves once its broadcast is
    left out: ``b`` (``-b``)."""
    return N.neg(broadcast_to.args[0]) if minus else broadcast_to.args[0]


def _spared(inner, shape, others):
    """Whether a product of factors of shapes ``others`` and ``np.broadcast_to(e,
    shape)`` (``inner``: ``e``'s shape) has that same shape with ``e`` itself."""
    if any(s == shape for s in others):
        return True
    if inner is None or any(s is None for s in others):
        return False
    rest = ()
    for s in others:
        rest = broadcast(rest, s)
    spared = broadcast(rest, inner)
    return spared is not None and spared == broadcast(rest, shape)

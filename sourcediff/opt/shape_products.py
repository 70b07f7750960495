"""Pass 8a (continued): broadcasts and reshapes that products make needless.

``np.broadcast_to(c, S) * X`` -> ``c * X`` where the product has shape ``S`` anyway,
and ``np.reshape(np.sum(x, axis=a, keepdims=True), S)`` -> ``np.sum(x, axis=a)`` where
that has shape ``S`` (:func:`simplify_products`, out of :mod:`shapes_rewrite`).
"""

from __future__ import annotations

from collections import Counter

import gast
import numpy as np

from ..ir import nodes as N
from .indices import const_index as _const_index
from .shapes import analyse, broadcast


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
    stores, loads, parts = _names(fdef)
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
    if consts:  # (the substitutions added loads)
        loads, parts = Counter(N.names_in(fdef, gast.Load)), None
    for block in N.blocks(fdef):
        for s in block:
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                    and stores[s.targets[0].id] == 1:
                if _is_broadcast(s.value):
                    spread[s.targets[0].id] = s
                elif loads[s.targets[0].id] == 1:
                    once[s.targets[0].id] = s
    products = _Products(sh, spread, once)
    if parts is None or not _visit_parts(products, parts, spread):
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


def _names(fdef):
    """Counters of the names ``fdef`` stores and loads (``N.names_in``), and its parts
    (:func:`_visit_parts`): ``(node, whether it holds a broadcast_to or reshape
    attribute, the names it loads)`` for each statement (a loop's or branch's own
    expressions only: its statements are parts of their own) and for the function
    itself (all but its body). One walk, where two would take names, and the product
    rewrite visits only the parts it may change."""
    stores, loads, parts = [], [], []
    todo = [fdef]  # (a stack: the parts come in the order a transformer visits them)
    while todo:
        node = todo.pop()
        if type(node) in _HEADED:
            own = [getattr(node, f) for f in _HEADED[type(node)]]
            todo.extend(node.orelse[::-1])
            todo.extend(node.body[::-1])
        elif node is fdef:
            own = [getattr(node, f) for f in node._fields if f != "body"]
            todo.extend(node.body[::-1])
        else:
            own = [node]
        start = len(loads)
        found = _scan(own, stores, loads)
        parts.append((node, found, loads[start:]))
    return Counter(stores), Counter(loads), parts


_HEADED = {gast.For: ("target", "iter"), gast.While: ("test",), gast.If: ("test",)}


def _scan(todo, stores, loads):
    """Append the Store and Load names under the nodes ``todo`` to ``stores`` and
    ``loads``; whether any holds an attribute ``broadcast_to`` or ``reshape``."""
    found = False
    pop, push = todo.pop, todo.append
    name_type, const_type, attr_type = gast.Name, gast.Constant, gast.Attribute
    while todo:
        n = pop()
        cls = n.__class__
        if cls is name_type:
            ctx = type(n.ctx)
            if ctx is gast.Load:
                loads.append(n.id)
            elif ctx is gast.Store:
                stores.append(n.id)
            if n.annotation is None:
                continue
        elif cls is const_type:
            continue
        elif cls is attr_type:
            found = found or n.attr == "broadcast_to" or n.attr == "reshape"  # (_Products')
            push(n.value)
            continue
        N.queue_children(n, todo)
    return found


def _visit_parts(products, parts, spread):
    """``products.visit(fdef)`` over the parts that hold a broadcast or reshape or load
    a name of ``spread`` only (no other can change, nor count a spared read), in the
    same order; False (nothing visited) if the function's own part is one of them."""
    fdef, found, loaded = parts[0]
    if found or not spread.keys().isdisjoint(loaded):
        return False
    for node, found, loaded in parts[1:]:
        if not found and spread.keys().isdisjoint(loaded):
            continue
        if type(node) not in _HEADED:
            products.visit(node)  # (a statement: never replaced)
            continue
        for field in _HEADED[type(node)]:
            v = getattr(node, field)
            if type(v) not in N.LEAVES:
                new = products.visit(v)
                if new is not v:
                    setattr(node, field, new)
    return True

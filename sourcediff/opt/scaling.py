"""Pass 8c: a column scaling moved through the matrix products that read it.

``Xs = X * s`` (``X`` of shape (n, k), ``s`` of shape (k,): ``X @ diag(s)``) read only
by matrix products is never built: ``Xs @ b`` is ``X @ (s * b)`` (``s[:, None] * b``
for a matrix ``b``) and ``g @ Xs`` is ``(g @ X) * s``; each costs what the product
did, without the (n, k) temporary. ``X.T @ v`` with ``v`` a vector is written
``v @ X``, so equal products read the same and common-subexpression elimination
shares them (the adjoint of ``X * s`` reads ``X.T @ r`` where the scaled product's
adjoint reads ``r @ X``). Needs every shape known (shape specialisation).
"""

from __future__ import annotations

import gast

from ..ir import nodes as N
from .indices import new_axes


def scale_through_products(fdef, sh):
    """Rewrite ``fdef`` in place (``sh``: a :class:`shapes.Shapes` of it); True if
    anything changed."""
    stores, loads, reads = {}, {}, {}
    written = {}  # name -> 2 if changed in place or bound more than once (_share_products)
    products = transposed = 0  # (how many; how many of a transposed name: _vector_first)
    todo = [fdef]  # (every node, as N.walk meets them but in another order: nothing
    # below depends on the order)
    pop, push, extend = todo.pop, todo.append, todo.extend
    ast_type, name_type, const_type, load, store = gast.AST, gast.Name, gast.Constant, \
        gast.Load, gast.Store
    fields_of = _FIELDS
    while todo:
        node = pop()
        kind = type(node)
        if kind is name_type:
            ctx = type(node.ctx)
            counts = stores if ctx is store else loads
            counts[node.id] = counts.get(node.id, 0) + 1
            if ctx is not load:  # (a parameter's ctx: Param)
                written[node.id] = written.get(node.id, 0) + 1
            if node.annotation is not None:
                push(node.annotation)
            continue
        if kind is const_type:
            continue
        if kind is gast.BinOp and type(node.op) is gast.MatMult:
            products += 1
            transposed += isinstance(node.left, gast.Attribute) and node.left.attr == "T"
            for side in ("left", "right"):
                e = getattr(node, side)
                if isinstance(e, gast.Name):
                    reads.setdefault(e.id, []).append((node, side))
        elif kind in _CHANGING:
            changes = _changed_in_place(node)
            for n in N.names_in(changes) if changes is not None else ():
                written[n] = 2
        fields = fields_of.get(kind)
        if fields is None:
            fields = fields_of[kind] = N.walk_fields(kind)
        for field in fields:
            v = getattr(node, field, None)
            if type(v) is list:
                extend([x for x in v if isinstance(x, ast_type)])
            elif isinstance(v, ast_type):
                push(v)
    params = {a.id for a in fdef.args.args}
    changed = False
    stored_at = None  # name -> the first top-level statement binding it (when asked)
    for i, s in enumerate(fdef.body):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            name = s.targets[0].id
            split = _scaling(s.value, sh)
            if split is None or stores.get(name) != 1 or name in params \
                    or len(reads.get(name, ())) != loads.get(name, 0):
                continue
            if stored_at is None:
                stored_at = _first_stores(fdef.body)
            if all(n in params and not stores.get(n) or stored_at.get(n, i) < i
                   and stores.get(n) == 1 for n in N.names_in(s.value)):
                matrix, scale = split
                if all(_fits(node, side, matrix, sh) for node, side in reads[name]):
                    for node, side in reads[name]:
                        N.set_anno(node, "scaling", (side, matrix, scale, len(sh.of(
                            node.right if side == "left" else node.left))))
                    fdef.body[i] = gast.Pass()
                    changed = True
    if changed:
        fdef.body[:] = [s for s in fdef.body if not isinstance(s, gast.Pass)]
        _Apply().visit(fdef)
    if transposed:
        v = _VectorFirst(sh)
        v.visit(fdef)
        changed = v.changed or changed
    # (a rewrite above leaves each remaining name bound as often as it was)
    return (products > 1 and _share_products(fdef, written)) or changed


_FIELDS = {}  # node class -> the fields N.walk follows
_CHANGING = {gast.Subscript, gast.AugAssign, gast.Call}  # (what _changed_in_place reads)


def _first_stores(body):
    """name -> the index of the first statement of ``body`` binding it."""
    first = {}
    for i, s in enumerate(body):
        for n in N.names_in(s, gast.Store):
            first.setdefault(n, i)
    return first


def _scaling(e, sh):
    """``(X, s)`` for ``X * s`` or ``s * X`` with X a matrix (n, k) and s of shape (k,)."""
    if not (isinstance(e, gast.BinOp) and isinstance(e.op, gast.Mult)
            and isinstance(e.left, gast.Name) and isinstance(e.right, gast.Name)):
        return None
    for matrix, scale in ((e.left, e.right), (e.right, e.left)):
        m, v = sh.of(matrix), sh.of(scale)
        if m is not None and v is not None and len(m) == 2 and v == m[1:]:
            return matrix, scale
    return None


def _fits(node, side, matrix, sh):
    """Whether the product ``node`` reading the scaled matrix on ``side`` is a matrix or
    vector product of known shapes that the scaling can move through."""
    shape = sh.of(node.right if side == "left" else node.left)
    if shape is None or len(shape) not in (1, 2):
        return False
    n, k = sh.of(matrix)
    return shape[0] == k if side == "left" else shape[-1] == n


def _apply(node):
    side, matrix, scale, ndim = N.anno(node, "scaling")
    N.del_anno(node, "scaling")
    if side == "left":  # (X * s) @ b -> X @ (s * b)
        s = N.name(scale.id) if ndim == 1 else new_axes(N.name(scale.id), 2, {1})
        return N.binop(N.name(matrix.id), gast.MatMult(), N.binop(s, gast.Mult(), node.right))
    # g @ (X * s) -> (g @ X) * s
    return N.binop(N.binop(node.left, gast.MatMult(), N.name(matrix.id)), gast.Mult(),
                   N.name(scale.id))


class _Apply(N.Transformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        return _apply(node) if N.has_anno(node, "scaling") else node


class _VectorFirst(N.Transformer):
    def __init__(self, sh):
        self.sh = sh

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.MatMult) and isinstance(node.left, gast.Attribute) \
                and node.left.attr == "T" and isinstance(node.left.value, gast.Name) \
                and len(self.sh.of(node.left.value) or ()) == 2 \
                and len(self.sh.of(node.right) or ()) == 1:
            return N.binop(node.right, gast.MatMult(), node.left.value)  # X.T @ v -> v @ X
        return node


def _share_products(fdef, stores):
    """A matrix product of names assigned once (``stores``: how often each name is bound,
    2 if changed in place), written in two top-level statements, computed once
    (``_p1 = r_bar @ X``) before the first."""
    where = {}  # fingerprint -> [(statement index, node)]
    for i, s in enumerate(fdef.body):
        if isinstance(s, (gast.Assign, gast.Return)):
            for node in N.walk(s.value):
                if isinstance(node, gast.BinOp) and isinstance(node.op, gast.MatMult) and all(
                        stores.get(n) == 1 for n in N.names_in(node)) \
                        and all(isinstance(x, (gast.Name, gast.Attribute, gast.BinOp))
                                for x in N.walk(node) if isinstance(x, gast.expr)
                                and not isinstance(x, gast.Name)):
                    where.setdefault(N.fingerprint(node), []).append((i, node))
    inserts = []
    for sites in where.values():
        if len({i for i, _ in sites}) < 2:
            continue
        name = N.anno(fdef, "names").temp("p")  # (the function's NameGen: _p1, _p2 ...)
        inserts.append((sites[0][0], N.assign(name, N.clone(sites[0][1]))))
        for _, node in sites:
            node.__class__ = gast.Name  # the node becomes a read of the shared product
            node.__dict__.clear()
            node.__dict__.update(N.name(name).__dict__)
    for i, st in sorted(inserts, key=lambda t: -t[0]):
        fdef.body.insert(i, st)
    return bool(inserts)


def _changed_in_place(node):
    """What ``node`` may change in place (``x[i] = v``, ``x += v``, ``x.sort()``), or None."""
    if isinstance(node, gast.Subscript) and not isinstance(node.ctx, gast.Load):
        return node.value
    if isinstance(node, gast.AugAssign):
        return node.target
    if isinstance(node, gast.Call):
        if isinstance(node.func, gast.Attribute):
            return node.func.value
        if isinstance(node.func, gast.Name) and node.func.id in ("scatter_add",
                                                                 "scatter_into") and node.args:
            return node.args[0]
    return None

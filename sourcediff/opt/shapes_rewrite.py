"""Pass 8a (continued): the rewrites that shape specialisation allows.

Where :mod:`shapes` knows the shapes, generic helpers become plain NumPy:
``unbroadcast`` is dropped where the cotangent already has its operand's shape (or
becomes an ``np.sum`` over the broadcast axes), ``matmul_vjp_a`` becomes ``g @ b.T``,
``unreduce`` a read-only ``np.broadcast_to``, and a broadcast that a product would do
anyway is left out (:func:`simplify_products`). Anything not known for certain keeps the
generic helper.
"""

from __future__ import annotations

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
from .shapes import SAFE, Shapes, broadcast, infer, visit
from .shape_products import simplify_products  # noqa: F401 (the optimiser's entry)
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


def _spots(root):
    """The calls ``f(...)`` of a name ``f`` under ``root`` (those :class:`_Drop` may
    replace among them) and its statements ``scatter_add(...)`` (what :class:`_Scatter`
    may), each as ``(holder, field, node)``, a call before the calls inside it. (One walk
    that looks into no name or constant, where a transformer visits every node: the
    rewrites then visit only these. Attributes and operators, most of the nodes, are
    taken apart by hand.)"""
    calls, scatters = [], []
    todo = [root]
    pop, push, note = todo.pop, todo.append, calls.append
    fields_of, known, ast_type = N.walk_fields, _FIELDS, gast.AST
    call_type, name_type, const_type, attr_type, binop_type, expr_type = (
        gast.Call, gast.Name, gast.Constant, gast.Attribute, gast.BinOp, gast.Expr)
    keyword_type, assign_type = gast.keyword, gast.Assign
    while todo:
        n = pop()
        cls = n.__class__
        if cls is attr_type:
            x = n.value
            if x.__class__ is not name_type:  # (np.sum: the commonest)
                push(x)
                if x.__class__ is call_type and x.func.__class__ is name_type:
                    note((n, "value", x))
            continue
        if cls is binop_type:
            pairs = (("left", n.left), ("right", n.right))
        elif cls is call_type:  # (its callee, then its arguments)
            pairs = [("func", n.func)] + [("args", x) for x in n.args] + [
                ("keywords", x) for x in n.keywords]
        elif cls is keyword_type or cls is assign_type and len(n.targets) == 1 \
                and n.targets[0].__class__ is name_type:
            pairs = (("value", n.value),)
        else:
            pairs = None
        if pairs is not None:
            for field, x in pairs:
                if x.__class__ is not name_type and x.__class__ is not const_type:
                    push(x)
                    if x.__class__ is call_type and x.func.__class__ is name_type:
                        note((n, field, x))
            continue
        fields = known.get(cls)
        if fields is None:
            if not isinstance(n, ast_type):
                continue  # (a string, a constant's value)
            fields = known[cls] = fields_of(cls)
        for field in fields:
            v = getattr(n, field, None)
            for x in v if type(v) is list else (v,):
                k = x.__class__
                if k is name_type or k is const_type or x is None:
                    continue
                push(x)
                if k is call_type:
                    if x.func.__class__ is name_type:
                        note((n, field, x))
                elif k is expr_type and x.value.__class__ is call_type \
                        and x.value.func.__class__ is name_type \
                        and x.value.func.id == "scatter_add":
                    scatters.append((n, field, x))
    return calls, scatters


_FIELDS = {gast.Name: (), gast.Constant: ()}  # node class -> the fields _spots follows


def _replace(spots, rewrite):
    """Put ``rewrite(node)`` in place of each node of ``spots``, the last first (a call's
    inner calls before it, as a transformer does)."""
    for holder, field, node in reversed(spots):
        new = rewrite(node)
        if new is node:
            continue
        v = getattr(holder, field)
        if type(v) is list:
            v[next(i for i, x in enumerate(v) if x is node)] = new
        else:
            setattr(holder, field, new)


class _Drop:
    """A call of a runtime helper replaced by plain NumPy where the shapes allow
    (its arguments' calls already replaced: see :func:`_replace`)."""

    def __init__(self, sh):
        self.sh = sh

    def visit_Call(self, node):
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
    calls, scatters = _spots(fdef)
    _replace(calls, _Drop(Shapes(ns, env)).visit_Call)
    _replace(scatters, _Scatter(Shapes(ns, env)).visit)
    if any(call.func.id == "scatter_into" for _holder, _field, call in calls):
        _scatter_into(fdef, Shapes(ns, env))  # (no _Drop rewrite makes such a call)
    return fdef

"""The one walk of a statement that :mod:`zeros` makes: the names it mentions and those
it may change in place, found together (out of :mod:`zeros`, to keep it short)."""

from __future__ import annotations

import gast

from ..ir import nodes as N

SCATTER = "scatter_into"


def scan(node, names, mutated):
    """Add the names in ``node`` to ``names`` (as ``N.names_in``) and those it may
    change in place to ``mutated``: ``v[...] = e``, ``v += e``, ``scatter_add(v, ...)``,
    ``scatter_into(v, ...)``, ``v.method(...)``. (Every statement is scanned once per
    run: the common node classes are taken apart by hand.)"""
    todo = [node]
    pop, push, extend = todo.pop, todo.append, todo.extend
    name_type, const_type, attr_type, call_type, binop_type, sub_type = (
        gast.Name, gast.Constant, gast.Attribute, gast.Call, gast.BinOp, gast.Subscript)
    assign_type, expr_type = gast.Assign, gast.Expr
    while todo:
        n = pop()
        cls = n.__class__
        if cls is name_type:
            names.add(n.id)
            if n.annotation is None:
                continue
        elif cls is const_type:
            continue
        elif cls is attr_type:
            x = n.value
            if x.__class__ is name_type and x.annotation is None:
                names.add(x.id)  # (np.sum, stack.pop: the commonest)
            else:
                push(x)
            continue
        elif cls is assign_type:
            extend(n.targets)
            push(n.value)
            continue
        elif cls is expr_type:
            push(n.value)
            continue
        elif cls is binop_type:
            push(n.left)
            push(n.right)
            continue
        elif cls is call_type:
            args = n.args
            if args and type(args[0]) is name_type:
                f = n.func
                if type(f) is name_type and f.id in ("scatter_add", SCATTER):
                    mutated.add(args[0].id)
                elif type(f) is attr_type and type(f.value) is name_type:
                    mutated.add(f.value.id)
            push(n.func)
            extend(args)
            for k in n.keywords:
                push(k.value)
            continue
        elif cls is sub_type:
            if type(n.ctx) is gast.Store and type(n.value) is name_type:
                mutated.add(n.value.id)
            push(n.value)
            push(n.slice)
            continue
        elif cls is gast.AugAssign and type(n.target) is name_type:
            mutated.add(n.target.id)
        N.queue_children(n, todo)

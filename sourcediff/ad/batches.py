"""One push per loop iteration: the values a loop's forward sweep saves, pushed as one
tuple and popped once by the matching reverse loop (the optimiser's last stage)."""

from __future__ import annotations

import gast

from ..ir import nodes as N
from .saves import loc, statements


def batch_loop_saves(fdef):
    """Last: a loop whose body pushes several values at its top level (and nowhere
    deeper) pushes them as one tuple per iteration instead, and the matching reverse loop
    pops that tuple once, at its top, into ``v_prev`` names that its restores read
    (``v = v_prev``). The tuple is pushed at the top of the iteration where no statement
    before a push assigns the value pushed (the top holds the value pushed today); else
    each value is kept where it was pushed (``v_prev = v``: a name, not a copy, as the
    push was) and the tuple of those names is pushed at the end of the iteration."""
    body = fdef.body
    start = N.reverse_start(body)
    forward = _loops_by_iterable(body[:start], reverse=False)
    backward = _loops_by_iterable(body[start:], reverse=True)
    for it, fwd in forward.items():
        rev = backward.get(it)
        if rev is not None:
            _batch(fwd, rev, N.anno(fdef, "names"))


def _top_holds_pushed(fwd, pushes):
    """Whether no statement of loop ``fwd``'s body before a push (``pushes``: (index,
    name) pairs) assigns the name pushed: the top of the iteration holds the value."""
    pushed_at = dict(pushes)
    stored = set(N.names_in(fwd.target, gast.Store))
    for k, s in enumerate(fwd.body[:pushes[-1][0]]):
        if pushed_at.get(k) in stored:
            return False
        stored.update(N.names_in(s, gast.Store))
    return pushes[-1][1] not in stored


def _loops_by_iterable(stmts, reverse):
    """``for t in X`` (``for t in reversed(X)`` if ``reverse``) by ``X``, for the names
    ``X`` only one such loop iterates."""
    found, seen = {}, set()
    for s in stmts:
        if not N.has_block(s):
            continue  # (a statement holding none is no loop)
        for node in statements(s):
            if not isinstance(node, gast.For):
                continue
            it = node.iter
            if reverse:
                if not (isinstance(it, gast.Call) and isinstance(it.func, gast.Name)
                        and it.func.id == "reversed" and len(it.args) == 1):
                    continue
                it = it.args[0]
            if isinstance(it, gast.Name):
                found[it.id] = None if it.id in seen else node
                seen.add(it.id)
    return {k: v for k, v in found.items() if v is not None}


def _stack_calls(node, attr):
    return sum(1 for n in N.walk(node) if isinstance(n, gast.Call)
               and isinstance(n.func, gast.Attribute) and n.func.attr == attr
               and isinstance(n.func.value, gast.Name) and n.func.value.id == "_stack")


def _only_stack_calls(loop, attr, n):
    """Whether ``loop`` holds exactly ``n`` calls ``_stack.<attr>()`` (``n`` of them are
    its pushes or pops). Where it reads ``_stack`` only ``n`` times, it holds no other:
    that is known from its names, without walking each of its nodes."""
    return _mentions(loop, "_stack") == n or _stack_calls(loop, attr) == n


def _mentions(tree, name):
    """How many Name nodes in ``tree`` are ``name`` (a walk that passes over constants)."""
    count = 0
    todo = [tree]
    pop, name_type, const_type = todo.pop, gast.Name, gast.Constant
    while todo:
        n = pop()
        cls = n.__class__
        if cls is name_type:
            count += n.id == name
            if n.annotation is None:
                continue
        elif cls is const_type:
            continue
        N.queue_children(n, todo)
    return count


def _pushed(s):
    """``v`` for ``_stack.append(v)``, else None."""
    if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call) \
            and isinstance(s.value.func, gast.Attribute) and s.value.func.attr == "append" \
            and len(s.value.args) == 1 and isinstance(s.value.args[0], gast.Name) \
            and _stack_calls(s, "append") == 1:
        return s.value.args[0].id
    return None


def _popped(s):
    """``v`` for ``v = _stack.pop()``, else None."""
    if isinstance(s, gast.Assign) and len(s.targets) == 1 \
            and isinstance(s.targets[0], gast.Name) and N.is_pop(s.value, "_stack"):
        return s.targets[0].id
    return None


def _batch(fwd, rev, gen):
    pushes = [(k, v) for k, v in enumerate(map(_pushed, fwd.body)) if v]
    pops = [(k, v) for k, v in enumerate(map(_popped, rev.body)) if v]
    names = [v for _, v in pushes]
    if len(pushes) < 2 or names[::-1] != [v for _, v in pops] or fwd.orelse or rev.orelse \
            or not _only_stack_calls(fwd, "append", len(pushes)) \
            or not _only_stack_calls(rev, "pop", len(pops)):
        return
    prev = [gen.save(v) for v in names]
    if _top_holds_pushed(fwd, pushes):
        push = loc(N.expr_stmt(N.call("_stack.append", [gast.Tuple(
            elts=[N.name(v) for v in names], ctx=gast.Load())])), fwd.body[pushes[0][0]])
        fwd.body = [push] + [s for s in fwd.body if not _pushed(s)]
    else:  # (a value assigned earlier in the iteration: kept by name where it was pushed)
        for (k, v), p in zip(pushes, prev):
            fwd.body[k] = loc(N.assign(p, N.name(v)), fwd.body[k])
        fwd.body.append(loc(N.expr_stmt(N.call("_stack.append", [gast.Tuple(
            elts=[N.name(p) for p in prev], ctx=gast.Load())])), fwd.body[pushes[-1][0]]))
    unpack = loc(N.assign(gast.Tuple(elts=[N.name(p, store=True) for p in prev],
                                      ctx=gast.Store()), N.parse_expr("_stack.pop()")),
                  rev.body[pops[0][0]])
    for (k, v), p in zip(pops, reversed(prev)):  # (last pushed, first restored)
        rev.body[k] = loc(N.assign(v, N.name(p)), rev.body[k])
    rev.body.insert(0, unpack)

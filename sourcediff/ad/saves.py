"""Pass 7: save overwritten values the reverse sweep reads, and restore them.

The reverse sweep pops every multiply-assigned variable back where its
assignment is undone; this pass keeps only the pops of variables the reverse
sweep actually reads, and puts the matching pushes into the forward pass.
"""

from __future__ import annotations

from collections import deque

import gast

from ..ir import nodes as N


def statements(root):
    """Every statement (and exception handler) under ``root``, itself first, in the order
    ``N.walk`` meets them, without visiting an expression (none holds a statement)."""
    todo = deque([root])
    pop, extend = todo.popleft, todo.extend
    kinds = (gast.stmt, gast.excepthandler)
    while todo:
        n = pop()
        yield n
        for field in N.child_fields(n.__class__):
            v = getattr(n, field, None)
            if type(v) is list and v and isinstance(v[0], kinds):
                extend([x for x in v if isinstance(x, kinds)])


def _def_sites(stmts, in_loop=False):
    """(name, in_loop) for each place a name is (re)bound, in order."""
    for s in stmts:
        if isinstance(s, gast.Assign):
            if N.anno(s, "counter_inc", False):
                continue
            t = s.targets[0]
            if isinstance(t, gast.Name):
                yield t.id, in_loop
            elif isinstance(t, gast.Subscript):
                yield t.value.id, in_loop
                yield t.value.id, in_loop  # mutation in place: always restore
        elif isinstance(s, (gast.For, gast.While)):
            if isinstance(s, gast.For):
                yield s.target.id, in_loop
            yield from _def_sites(s.body, True)
        elif isinstance(s, gast.If):
            yield from _def_sites(s.body, in_loop)
            yield from _def_sites(s.orelse, in_loop)
        elif isinstance(s, gast.With):
            yield from _def_sites(s.body, in_loop)


def mark_first_defs(body, params):
    """Flag top-level first assignments: there is no older value to save."""
    seen = set(params)
    for s in body:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            if s.targets[0].id not in seen:
                N.set_anno(s, "first", True)
            seen.add(s.targets[0].id)
        else:
            seen.update(N.names_in(s, gast.Store))


def loop_locals(body, names):
    """Temporaries (``_tN``, their role in ``names``, the NameGen: a user's ``_tx`` is
    not one) assigned at one place, inside a loop: their values and adjoints live for
    one iteration only."""
    counts, inside = {}, set()
    for name, in_loop in _def_sites(body):
        counts[name] = counts.get(name, 0) + 1
        if in_loop:
            inside.add(name)
    return {n for n in inside if counts[n] == 1 and names.role(n) == "temp"}


def multidef(body, params=()):
    """Names that may be assigned more than once on one run (a parameter counts once),
    or inside a loop. Assignments in the two arms of an ``if`` are alternatives."""
    counts = dict.fromkeys(params, 1)
    _path_counts(body, counts)
    return {n for n, c in counts.items() if c >= 2}


def _path_counts(stmts, counts):
    """Update ``counts``: name -> the most assignments along any path through ``stmts``."""
    for s in stmts:
        if isinstance(s, gast.Assign) and not N.anno(s, "counter_inc", False):
            t = s.targets[0]
            name = t.id if isinstance(t, gast.Name) else t.value.id
            counts[name] = counts.get(name, 0) + (1 if isinstance(t, gast.Name) else 2)
        elif isinstance(s, (gast.For, gast.While)):
            if isinstance(s, gast.For):
                counts[s.target.id] = counts.get(s.target.id, 0) + 1
            for name, _ in _def_sites(s.body):
                counts[name] = 2  # runs again on the next iteration
        elif isinstance(s, gast.If):
            body, orelse = dict(counts), dict(counts)
            _path_counts(s.body, body)
            _path_counts(s.orelse, orelse)
            for name in set(body) | set(orelse):
                counts[name] = max(body.get(name, 0), orelse.get(name, 0))
        elif isinstance(s, gast.With):
            _path_counts(s.body, counts)


def insert(body, rev, params, names):
    """(forward with pushes, reverse with the pops that are needed); ``names``: the
    NameGen (``x_prev``)."""
    multi = multidef(body, params) - loop_invariants(body, params, rev)
    saved = multi
    while True:  # dropping a pop can empty a branch whose test was the only reader
        rev = _prune_pops(rev, saved)
        now = _read(rev) & multi
        if now == saved:
            break
        saved = now
    forward = _push(body, saved)
    forward, rev = _name_straight_line_saves(forward, rev, names)
    if any(N.anno(n, "push") and "_stack" in N.names_in(n)
           for st in forward for n in statements(st)):
        pre = [N.assign("_stack", N.parse_expr("[]"))]
        pre += [_preinit(v) for v in sorted(saved) if v not in params
                and not defined_up_front(body, v)]
        forward = pre + forward
    return forward, rev


_PURE = (gast.Constant, gast.Name, gast.BinOp, gast.UnaryOp, gast.BoolOp, gast.Compare,
         gast.IfExp, gast.Tuple, gast.Subscript, gast.Slice, gast.Attribute, gast.operator,
         gast.unaryop, gast.boolop, gast.cmpop, gast.expr_context)


def loop_invariants(body, params=(), rev=()):
    """Names assigned at one place only, directly in a loop's body, from values no loop
    changes (``_t7 = 0.5 * dt``, ``_t3 = -k``; no call): every iteration stores the same
    value, so the reverse sweep can read the last one and nothing need be saved."""
    counts = dict.fromkeys(params, 1)
    for name, _ in _def_sites(body):
        counts[name] = counts.get(name, 0) + 1
    for n in (n for s in body for n in statements(s) if N.anno(n, "counter_inc", False)):
        counts[n.targets[0].id] = 2  # a loop's trip count: ``_n1 = 0`` then counted up
    changed, sites = set(), {}
    for loop in (n for s in body for n in statements(s) if isinstance(n, (gast.For, gast.While))):
        changed.update(N.names_in(loop, gast.Store))
        changed.update(name for name, _ in _def_sites(loop.body))
        for s in loop.body:
            t = s.targets[0] if isinstance(s, gast.Assign) else None
            if isinstance(t, gast.Name) and counts.get(t.id) == 1 \
                    and not N.anno(s, "counter_inc", False):
                sites[t.id] = s.value
    # the reverse sweep must not assign them either (only its pops, which go)
    changed.update(t.id for s in rev for node in statements(s) if isinstance(node, gast.Assign)
                   and not N.anno(node, "pop")
                   for t in node.targets if isinstance(t, gast.Name))
    # each site's names, of those computing without a call (walked once)
    reads = {name: set(N.names_in(value)) for name, value in sites.items()
             if all(isinstance(n, _PURE) for n in N.walk(value))}
    invariant = set()
    while True:
        new = {name for name, names in reads.items() if name not in invariant
               and all(n not in changed or n in invariant for n in names)}
        if not new:
            return invariant
        invariant |= new


def _name_straight_line_saves(forward, rev, names):
    """A value overwritten in straight-line code (not in a loop or branch) is kept in a
    named variable, ``x_prev = x``, instead of on the stack."""
    pops = {N.anno(s, "site"): i for i, s in enumerate(rev)
            if N.anno(s, "pop") and N.anno(s, "site") is not None}
    for i, s in enumerate(forward):
        site = N.anno(s, "site")
        if site is None or site not in pops:
            continue
        v = N.anno(s, "push")
        name = names.save(v)
        forward[i] = _tag(loc(N.assign(name, N.name(v)), s), v)
        j = pops[site]
        restore = N.assign(v, N.name(name))
        N.set_anno(restore, "pop", v)
        rev[j] = loc(restore, rev[j])
    return forward, rev


def _read(stmts):
    read = set()
    for s in stmts:
        read.update(N.names_in(s, gast.Load))
    return read


def defined_up_front(body, v):
    """Whether ``v`` is assigned at top level before any compound statement."""
    for s in body:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                and s.targets[0].id == v:
            return True
        if isinstance(s, (gast.For, gast.While, gast.If, gast.With)):
            return False
    return False


def _prune_pops(stmts, saved):
    out = []
    for s in stmts:
        pop = N.anno(s, "pop")
        if pop is not None and pop not in saved:
            continue
        for field in ("body", "orelse"):
            if hasattr(s, field) and isinstance(getattr(s, field), list):
                setattr(s, field, _prune_pops(getattr(s, field), saved) or (
                    [gast.Pass()] if field == "body" else []))
        out.append(s)
    return _drop_empty(out)


def _drop_empty(stmts):
    out = []
    for s in stmts:
        if isinstance(s, gast.For) and all(isinstance(b, gast.Pass) or N.is_comment(b)
                                           for b in s.body):
            continue
        if isinstance(s, gast.If) and all(isinstance(b, gast.Pass) for b in s.body) \
                and not s.orelse:
            continue
        out.append(s)
    return out


def _push(stmts, saved):
    out = []
    for s in stmts:
        if isinstance(s, gast.Assign) and not N.anno(s, "counter_inc", False):
            t = s.targets[0]
            if isinstance(t, gast.Name) and t.id in saved and not N.anno(s, "first", False):
                push = _tag(loc(N.expr_stmt(N.call("_stack.append", [N.name(t.id)])), s), t.id)
                N.set_anno(push, "site", id(s))
                out.append(push)
            elif isinstance(t, gast.Subscript) and t.value.id in saved:
                old = gast.Subscript(value=N.name(t.value.id), slice=N.clone(t.slice),
                                     ctx=gast.Load())
                out.append(_tag(loc(N.expr_stmt(
                    N.call("_stack.append", [N.call("copy_of", [old])])), s), t.value.id))
        if isinstance(s, gast.For):
            if s.target.id in saved:
                out.append(_tag(loc(N.expr_stmt(N.call("_stack.append", [N.name(s.target.id)])),
                                     s), s.target.id))
            s.body = _push(s.body, saved)
        elif isinstance(s, gast.While):
            s.body = _push(s.body, saved)
        elif isinstance(s, gast.If):
            s.body = _push(s.body, saved)
            s.orelse = _push(s.orelse, saved)
        elif isinstance(s, gast.With):
            s.body = _push(s.body, saved)
        out.append(s)
    return out


def _preinit(v):
    node = N.assign(v, N.const(None))  # so the first push has something to save
    N.set_anno(node, "push", v)
    return node


def _tag(node, v):
    N.set_anno(node, "push", v)
    return node


def prune_unread(fdef):
    """After optimisation: drop the pushes and pops of values the reverse sweep no
    longer reads (a dropped ``unbroadcast`` may have been their only reader)."""
    body = fdef.body
    start = N.reverse_start(body)
    rev = body[start:]
    first = {}   # popped name -> the top-level statement of its first pop
    last = {}    # name -> the last top-level statement reading it (not in its own pops)
    for k, s in enumerate(rev):
        # (a pop is a statement: "pop" marks nothing else)
        for st in statements(s) if N.has_block(s) else (s,):
            v = N.anno(st, "pop")
            if v is not None:
                first.setdefault(v, k)
                last.update((n, k) for n in N.names_in(st, gast.Load) if n != v)
            else:
                last.update(dict.fromkeys(_own_loads(st), k))
    # a pop's own target does not count as a read; its restores of y[idx] read y; nor
    # does a read in a top-level statement before any of its pops (the final value)
    read = {n for n, k in last.items() if n in first and k >= first[n]}
    unread = set(first) - read
    if not unread:
        return False
    def drop(s):  # (the pops and pushes of a name nothing reads)
        facts = getattr(s, "anno", None)
        return facts is not None and (facts.get("pop") in unread or facts.get("push") in unread)
    _remove(fdef, drop)
    return True


_BLOCKS = frozenset({"body", "orelse", "finalbody", "handlers"})


def _own_loads(stmt):
    """The names statement ``stmt`` reads itself, not in the statements it holds (those
    :func:`statements` meets on their own)."""
    if not N.has_block(stmt):
        return N.names_in(stmt, gast.Load)
    out = []
    for field in N.child_fields(stmt.__class__):
        v = getattr(stmt, field, None)
        if field not in _BLOCKS and v is not None:
            for x in v if type(v) is list else [v]:
                out += N.names_in(x, gast.Load)
    return out


def _remove(tree, drop):
    for node, field, block in list(N.owned_blocks(tree)):
        kept = [s for s in block if not drop(s)]
        setattr(node, field, kept or ([gast.Pass()] if field == "body" else []))


def loc(node, src):
    """``node`` given the source line of ``src``."""
    return N.set_location([node], getattr(src, "lineno", 0))[0]

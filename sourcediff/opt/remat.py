"""Pass 8d: recompute per-iteration temporaries instead of saving them.

A loop's forward sweep pushes every temporary the reverse sweep reads; a careful
hand-written gradient keeps only the loop-carried state (``x`` at each step) and
recomputes the rest at the start of each reverse iteration. This pass does the same
where it is exact and pays:

* a temporary ``T = e`` assigned once, unconditionally, in the forward loop's body,
  not read there before it is assigned, and not read after the reverse loop, with ``e``
  pure and cheap (no matrix product, no call to user code),
* whose operands are loop-invariant, the loop's index (the reverse loop runs the same
  sequence backwards), other recomputed temporaries, or saved values available at the
  start of the reverse iteration (a carried value after its pop, a value of this
  iteration before its pop),

is recomputed at that point (in forward order) and its push and pop go. The pass
applies only where the bytes it stops saving per iteration are at least twice the
bytes still saved (shapes known): memory then drops several-fold for the price of
re-running cheap elementwise work.
"""

from __future__ import annotations

import math

import gast
import numpy as np

from ..prims import facts
from ..ir import nodes as N
from ..ad.saves import statements


def rematerialise(fdef, shapes, pure):
    """Rewrite ``fdef`` in place (``shapes()``: its :class:`shapes.Shapes`, asked for only
    where a recomputation may pay; ``pure``: whether an expression has no side effects).
    True if anything changed."""
    body = fdef.body
    changed = False
    for i, fwd in enumerate(body):
        if not (isinstance(fwd, gast.For) and isinstance(fwd.iter, gast.Name)
                and isinstance(fwd.target, gast.Name)):
            continue
        for j in range(i + 1, len(body)):
            rev = body[j]
            if isinstance(rev, gast.For) and isinstance(rev.iter, gast.Call) \
                    and isinstance(rev.iter.func, gast.Name) and rev.iter.func.id == "reversed" \
                    and len(rev.iter.args) == 1 and isinstance(rev.iter.args[0], gast.Name) \
                    and rev.iter.args[0].id == fwd.iter.id:
                changed = _loop_pair(fdef, i, j, shapes, pure) or changed
                break
    return changed


def _pushed(s):
    if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call) \
            and isinstance(s.value.func, gast.Attribute) and s.value.func.attr == "append" \
            and isinstance(s.value.func.value, gast.Name) and s.value.func.value.id == "_stack" \
            and len(s.value.args) == 1 and isinstance(s.value.args[0], gast.Name):
        return s.value.args[0].id
    return None


def _popped(s):
    if N.is_pop(getattr(s, "value", None)) and isinstance(s, gast.Assign) \
            and isinstance(s.targets[0], gast.Name):
        return s.targets[0].id
    return None


def _facts(node):
    """In one walk of ``node``: the names it binds (``Store``), those it changes in place
    besides (``x[i] = v``, ``x.a = v``, ``x += v``, ``x.method()``, ``out=x``,
    ``scatter_add(x, ...)``), the names it reads (``Load``), and every name in it."""
    stores, changed, loads, other = set(), set(), set(), set()
    todo = [node]
    pop = todo.pop
    name_type, const_type, sub_type, attr_type = gast.Name, gast.Constant, gast.Subscript, \
        gast.Attribute
    load, store = gast.Load, gast.Store
    while todo:
        n = pop()
        cls = n.__class__
        if cls is name_type:
            ctx = n.ctx
            (loads if isinstance(ctx, load) else stores if isinstance(ctx, store)
             else other).add(n.id)
            if n.annotation is None:
                continue
        elif cls is const_type:
            continue
        elif cls is sub_type or cls is attr_type:
            if not isinstance(n.ctx, load):
                changed.update(N.names_in(n.value))  # x[i] = v, x.a = v: x changes in place
        elif cls is gast.AugAssign:
            changed.update(N.names_in(n.target))
        elif cls is gast.Call:
            f = n.func
            if isinstance(f, attr_type) and isinstance(f.value, name_type):
                changed.add(f.value.id)
            changed.update(x for k in n.keywords if k.arg == "out" for x in N.names_in(k.value))
            if isinstance(f, name_type) and f.id.startswith("scatter") and n.args:
                changed.update(N.names_in(n.args[0]))
        N.queue_children(n, todo)
    return stores, changed, loads, stores | loads | other


def _loop_pair(fdef, i, j, shapes, pure):
    fwd, rev = fdef.body[i], fdef.body[j]
    fb, rb = fwd.body, rev.body
    # each statement walked once (_facts): the loops' statement by statement, with their
    # heads; the names bound anywhere in the function, of all of them
    memo = {}  # id(statement) -> (statement, its _facts)

    def facts(node):
        hit = memo.get(id(node))
        if hit is None or hit[0] is not node:
            hit = memo[id(node)] = (node, _facts(node))
        return hit[1]
    parts = [fdef.body[:i], [fwd.target, fwd.iter], fb, fwd.orelse, fdef.body[i + 1:j],
             [rev.target, rev.iter], rb, rev.orelse, fdef.body[j + 1:]]
    local = {n for part in parts for x in part for n in facts(x)[0]}
    for field in N.name_fields(type(fdef)):  # (its parameters, decorators ...)
        v = getattr(fdef, field, None)
        for x in (v if type(v) is list else [v]) if field != "body" else ():
            if isinstance(x, gast.AST):
                local.update(N.names_in(x, gast.Store))
    local |= {a.id for a in fdef.args.args}
    stored = {}  # id(statement) -> what _stores gives

    def _stores(node):  # (a method call on a module, np.sum(...), changes nothing)
        hit = stored.get(id(node))
        if hit is None:
            binds, changed, _, _ = facts(node)
            hit = stored[id(node)] = (binds | changed) & local
        return hit
    if any(isinstance(n, (gast.Break, gast.Continue, gast.Return)) for n in statements(fwd)):
        return False
    index = fwd.target.id if rev.target.id == fwd.target.id else None
    if index is not None and any(index in _stores(s) for s in rb):
        index = None
    # the forward body's top-level definitions, and what it pushes
    defs, pushes, read_first = {}, {}, set()
    assigned = set()
    pushed = [_pushed(s) for s in fb]  # (each statement's, asked for several times)
    popped = [_popped(s) for s in rb]
    for k, s in enumerate(fb):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            name = s.targets[0].id
            read_first.update(n for n in N.names_in(s.value) if n not in assigned)
            defs[name] = None if name in defs else (k, s.value)
            assigned.add(name)
        elif pushed[k] is not None:
            pushes[pushed[k]] = pushes.get(pushed[k], 0) + 1
        else:
            read_first.update(n for n in facts(s)[2] if n not in assigned)
            for n in _stores(s):
                defs[n] = None
    pops = {}
    for k, name in enumerate(popped):
        if name is not None:
            pops[name] = None if name in pops else k
    # a value pushed or popped anywhere else too (a nested loop, a branch) stays saved
    # (a statement holding none is itself, and neither a push nor a pop)
    nested = [_pushed(n) for s, p in zip(fb, pushed) if p is None and N.has_block(s)
              for n in statements(s) if isinstance(n, gast.Expr)]
    nested += [_popped(n) for s, p in zip(rb, popped) if p is None and N.has_block(s)
               for n in statements(s) if isinstance(n, gast.Assign)]
    for name in nested:
        if name is not None:
            pushes[name] = 2
            pops[name] = None
    rev_stores = {}
    for k, s in enumerate(rb):
        for n in _stores(s):
            if popped[k] != n:
                rev_stores[n] = k
    between = set()
    for s in fdef.body[i + 1:j]:
        between |= _stores(s)
    after = {n for s in fdef.body[j + 1:] for n in facts(s)[3]}
    loop_stored = set(defs) | {fwd.target.id} | {
        n for part in parts[1:4] for x in part for n in facts(x)[0]}

    def invariant(n):
        return n not in loop_stored and n not in rev_stores and n not in between \
            and n != "_stack"

    reads = [set() if p is not None else facts(s)[2] for s, p in zip(rb, popped)]

    read_first_at = {}  # name -> the first statement of rb reading it
    for k, r in enumerate(reads):
        for n in r:
            read_first_at.setdefault(n, k)

    def first_read(n):
        return read_first_at.get(n, len(rb))

    # candidates: defined once, unconditionally, not carried, pure and cheap
    cand = {}
    for n, d in defs.items():
        if d is None or n in read_first or n in after or n in rev_stores \
                or n == index or not pure(d[1]) or _expensive(d[1]) \
                or pushes.get(n, 0) > 1 or (n in pushes and pops.get(n) is None):
            continue
        cand[n] = d
    operands = {n: set(N.names_in(e)) for n, (k, e) in cand.items()}  # (asked again below)
    # a candidate nothing saves, of loop-invariant operands, holds the same value on every
    # iteration (saves.loop_invariants): it is read as it is, never recomputed
    fixed = set()
    while True:
        new = {n for n in cand if n not in pushes and n not in fixed
               and all(invariant(d) or d in fixed for d in operands[n])}
        if not new:
            break
        fixed |= new
    for n in fixed:
        del cand[n]
    loop_stored -= fixed
    while True:  # drop candidates whose operands are not available, until none drops
        lo, hi = 0, len(rb)  # the recomputation goes at an index in [lo, hi]
        bad = set()
        for n, (k, _e) in cand.items():
            for d in operands[n]:
                if d in cand or d == index or invariant(d):
                    continue
                if d in pushes and pops.get(d) is not None and d not in rev_stores \
                        and pushes[d] == 1 and defs.get(d) is not None:
                    if d in read_first or defs[d][0] > k:  # carried: after its pop
                        lo = max(lo, pops[d] + 1)
                    else:                                  # this iteration's: before
                        hi = min(hi, pops[d])
                    continue
                bad.add(n)
            if n in pushes:
                hi = min(hi, first_read(n))
        # recomputed names nothing pushed needs are dropped later (dead code)
        for n in list(cand):
            if n not in bad and any(d in bad for d in operands[n]):
                bad.add(n)
        if not bad and lo <= hi:
            break
        if not bad:  # no place for all: keep saving the ones read earliest
            firsts = [(first_read(n), n) for n in cand if n in pushes]
            if not firsts:
                return False
            bad.add(min(firsts)[1])
        for n in bad:
            cand.pop(n, None)
    if not any(n in pushes for n in cand) or not _pays(cand, pushes, shapes()):
        return False
    recompute = [N.assign(n, N.clone(e)) for n, (k, e) in sorted(
        cand.items(), key=lambda t: t[1][0])]
    fwd.body = [s for s in fb if _pushed(s) not in cand]
    kept = [s for s in rb[:lo] if _popped(s) not in cand]
    rest = [s for s in rb[lo:] if _popped(s) not in cand]
    recompute = [N.comment("recomputed, not saved")] + recompute
    rev.body = kept + N.set_location(recompute, getattr(rev, "lineno", 0)) + rest
    return True


def _expensive(e):
    for n in N.walk(e):
        if isinstance(n, gast.BinOp) and isinstance(n.op, gast.MatMult):
            return True
        if isinstance(n, gast.Call):
            f = n.func
            name = f.attr if isinstance(f, gast.Attribute) else getattr(f, "id", "")
            if facts.named(name, "expensive") and not _one_pass_einsum(n, name):
                return True
    return False


def _one_pass_einsum(call, name):
    """``np.einsum`` whose loops are one operand's: some operand's subscripts hold every
    index (``'abc,abc->ab'``, ``'ac,abc->ab'``), so it costs what an elementwise operation
    on that operand does, not a matrix product's (``'ij,jk->ik'``)."""
    if name != "einsum" or not call.args or not isinstance(call.args[0], gast.Constant) \
            or not isinstance(call.args[0].value, str) or "." in call.args[0].value:
        return False
    inputs = call.args[0].value.replace(" ", "").split("->")[0].split(",")
    letters = set("".join(inputs))
    return any(set(op) == letters for op in inputs)


def _size(sh, n):
    shape = sh.of(gast.Name(id=n, ctx=gast.Load(), annotation=None, type_comment=None))
    if shape is None:
        return None
    return 8 * max(1, math.prod(shape)) + (24 if not shape else 0)


def _pays(cand, pushes, sh):
    """The bytes no longer saved per iteration are at least twice those still saved."""
    freed = kept = 0
    for n in pushes:
        size = _size(sh, n)
        if size is None:
            return False
        if n in cand:
            freed += size
        else:
            kept += size
    return freed >= 2 * kept and freed > 0 and np.isfinite(freed)

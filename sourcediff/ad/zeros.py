"""Pass 8a (before shape specialisation): adjoints known to be their zero.

The reverse sweep starts an adjoint at its zero (the symbolic zero ``0.0``, or ``None``
for one built by ``scatter_into`` or a container's) and cuts it back to that zero once a
statement has consumed it. Where the zero surely holds, its first contribution is taken
as it is, autograd-style:

* straight-line code: ``v = 0.0`` followed (no read between) by ``v = v + e`` becomes
  ``v = e``; by ``v = scatter_into(v, ...)``: a scatter into ``None``; by any other
  assignment: dropped. ``if v is not None`` right after ``v = scatter_into(...)`` (never
  None) is its body.
* loops: an adjoint set to its zero before a loop and cut back to it as the
  last thing each iteration does to it holds that zero at the top of every
  iteration; its first contribution per iteration is taken as it is, the cut goes (it
  is written once after the loop if something may read it there).

An adjoint then holds one value of its primal's shape wherever it is read, which
:mod:`shapes` needs to drop ``unbroadcast``, ``unreduce``, ``scatter_into`` and the
saves that only they read; and no iteration adds a contribution to a zero.
"""

from __future__ import annotations

import threading
from bisect import insort
from itertools import compress, repeat

import gast

from ..ir import nodes as N
from .zero_scan import SCATTER as _SCATTER
from .zero_scan import scan as _scan



def zero_adjoints(fdef):
    """Rewrite ``fdef`` in place; True if anything changed."""
    _LOCAL.memo, _LOCAL.names, _LOCAL.marks = {}, {}, {}
    try:
        return _zero_adjoints(fdef)
    finally:
        _LOCAL.memo = _LOCAL.names = _LOCAL.marks = None


def _zero_adjoints(fdef):
    mutated = _mutated(fdef)
    changed = False
    for _ in range(4):
        step = _loops(fdef, fdef, set(), mutated)
        for block in list(N.blocks(fdef)):
            step = _straight(block, mutated) or step
        if not step:
            break
        changed = True
    if changed:
        for _node, field, block in N.owned_blocks(fdef):
            kept = [s for s in block if not isinstance(s, gast.Pass)]
            block[:] = kept if kept or field != "body" else [gast.Pass()]
    return changed


def _zero_of(s):
    """The zero (0.0 or None, as a key) that ``s`` assigns, with its name."""
    if type(s) is gast.Assign and type(s.value) is gast.Constant:
        c = s.value.value  # (None, or a float: never a bool)
        if (c is None or isinstance(c, float) and c == 0.0) \
                and type(s.targets[0]) is gast.Name:
            return s.targets[0].id, c
    return None, None


def _mutated(fdef):
    """Names whose value may be changed in place: storing ``v = e`` for ``v = 0.0 + e``
    would then change ``e``. Found as :func:`_names` reads every statement (one walk of
    each, remembered), and in the function's other fields (its defaults)."""
    out = _LOCAL.mutated = set()
    try:
        for s in fdef.body:
            _names(s)
        for field in fdef._fields:
            v = getattr(fdef, field, None)
            if field != "body" and isinstance(v, (gast.AST, list)):
                _scan(v, set(), out)
    finally:
        _LOCAL.mutated = set()  # (statements made later change nothing in place)
    return out


def _first_use(s, v, zero, mutated):
    """``s`` (the first statement reading or writing ``v`` while ``v`` holds ``zero``)
    rewritten to take that zero into account: a list of statements, or None."""
    if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
            and s.targets[0].id == v:
        value = s.value
        if v not in N.names_in(value):
            return []  # the zero is overwritten unread: s stays, the zero goes
        if zero is not None and isinstance(value, gast.BinOp) \
                and isinstance(value.op, gast.Add) and isinstance(value.left, gast.Name) \
                and value.left.id == v and v not in N.names_in(value.right) \
                and v not in mutated:
            s.value = value.right
            _remark(s)
            return []
        if zero is None and isinstance(value, gast.Call) and isinstance(value.func, gast.Name) \
                and value.func.id == _SCATTER and isinstance(value.args[0], gast.Name) \
                and value.args[0].id == v \
                and not any(v in N.names_in(a) for a in value.args[1:]):
            value.args[0] = N.const(None)
            _remark(s)
            return []
    return None


def _straight(block, mutated):
    changed = False
    zeros = {}       # name -> (index of its zero assignment, the zero)
    arrays = set()   # names just assigned by scatter_into (never None)
    names_of = _names_of(block)
    marks = _marks_of(block)
    i = 0
    while i < len(block):
        s = block[i]
        if arrays and type(s) is gast.If and _is_not_none(s.test) in arrays:
            block[i:i + 1] = s.body  # ``v is not None`` for v = scatter_into(...)
            names_of[i:i + 1], marks[i:i + 1] = _names_of(s.body), _marks_of(s.body)
            changed = True
            continue
        if zeros or arrays:
            names = names_of[i]
            if zeros and not zeros.keys().isdisjoint(names):  # (goes over the smaller)
                for v in [v for v in zeros if v in names]:
                    k, zero = zeros.pop(v)
                    if _first_use(s, v, zero, mutated) is not None:
                        block[k] = gast.Pass()
                        changed = True
                        marks[i] = _LOCAL.marks.get(id(s))  # (s may have changed)
            arrays.difference_update(names)
        mark = marks[i]
        if mark is not None:
            if mark[1] is _ARRAY:
                arrays.add(mark[0])
            else:
                zeros[mark[0]] = (i, mark[1])
        i += 1
    if changed:
        block[:] = [s for s in block if not isinstance(s, gast.Pass)] or [gast.Pass()]
    return changed


def _is_not_none(test):
    if isinstance(test, gast.Compare) and isinstance(test.left, gast.Name) \
            and len(test.ops) == 1 and isinstance(test.ops[0], gast.IsNot) \
            and isinstance(test.comparators[0], gast.Constant) \
            and test.comparators[0].value is None:
        return test.left.id
    return None


def _loops(node, fdef, after, mutated):
    """Every loop under ``node``; ``after``: the names that statements which may run
    after it mention."""
    changed = False
    for field in ("body", "orelse"):
        block = getattr(node, field, None)
        if not (isinstance(block, list) and block and isinstance(block[0], gast.stmt)):
            continue
        names = _names_of(block)
        tails = {}  # i -> the names in block[i + 1:], for each compound statement block[i]
        later = set()
        for i in range(len(block) - 1, -1, -1):
            if isinstance(block[i], _COMPOUND):
                tails[i] = set(later)
            later |= names[i]
        zeros = []  # (index of a loop, the zeros written after it)
        for i, s in enumerate(block):
            if not isinstance(s, _COMPOUND):
                continue
            rest = tails[i] | after
            if isinstance(s, (gast.For, gast.While)):
                changed = _loop(block, i, rest, mutated, names, zeros) or changed
                rest = rest | names[i]  # the next iteration
            changed = _loops(s, fdef, rest, mutated) or changed
        for i, stmt in reversed(zeros):
            block.insert(i + 1, stmt)
    return changed


_COMPOUND = (gast.For, gast.While, gast.If, gast.With)
_LOCAL = threading.local()  # .memo during zero_adjoints, per thread:
# id(statement) -> (statement, the names it mentions, whether it breaks or continues);
# .names: id(statement) -> the names it mentions (the same sets); .marks: what it assigns
# (_marks_of); .mutated: where _scan puts the names a statement may change in place


def _names(s, jumps=False):
    """The names ``s`` mentions (or, with ``jumps``, whether it holds a break or
    continue), remembered per statement during one run (a rewrite here only ever removes
    a name from a statement, so a remembered set is never too small). A compound
    statement's are its own expressions' and its statements' (each read once)."""
    hit = _LOCAL.memo.get(id(s))
    if hit is None or hit[0] is not s:
        hit = _LOCAL.memo[id(s)] = _read(s)
        _LOCAL.names[id(s)] = hit[1]
        _remark(s)
    return hit[2] if jumps else hit[1]


def _names_of(block):
    """``[_names(s) for s in block]``: read from :data:`_LOCAL` ``.names`` in one step
    where every statement has been read (a statement read is kept in the memo, so no
    other can have its id)."""
    try:
        return list(map(_LOCAL.names.__getitem__, map(id, block)))
    except KeyError:
        return [_names(s) for s in block]


def _marks_of(block):
    """What each statement of ``block`` (every one read by :func:`_names`) assigns: ``(v,
    its zero)``, ``(v, _ARRAY)`` for ``v = scatter_into(...)``, or None."""
    return list(map(_LOCAL.marks.get, map(id, block)))


def _remark(s):
    """Note in :data:`_LOCAL` ``.marks`` what ``s`` assigns now (see :func:`_marks_of`)."""
    v, zero = _zero_of(s)
    if v is None and type(s) is gast.Assign and type(s.value) is gast.Call \
            and type(s.value.func) is gast.Name and s.value.func.id == _SCATTER \
            and type(s.targets[0]) is gast.Name:
        v, zero = s.targets[0].id, _ARRAY
    if v is not None:
        _LOCAL.marks[id(s)] = (v, zero)
    else:
        _LOCAL.marks.pop(id(s), None)


_ARRAY = object()  # (a mark: v = scatter_into(...), never None)


def _read(s):
    """``(s, the names it mentions, whether it breaks or continues)``."""
    names, mutated = set(), _LOCAL.mutated
    jump = type(s) is gast.Break or type(s) is gast.Continue
    if not N.has_block(s):
        _scan(s, names, mutated)  # (one walk)
        return s, names, jump
    for field in s._fields:
        v = getattr(s, field, None)
        if type(v) is list and v and isinstance(v[0], gast.stmt):
            for child in v:
                names |= _names(child)
                jump = jump or _names(child, jumps=True)
        elif isinstance(v, gast.AST):
            _scan(v, names, mutated)
        elif type(v) is list:
            for x in v:
                if isinstance(x, gast.AST):
                    _scan(x, names, mutated)
    return s, names, jump


def _loop(block, i, after, mutated, names, zeros):
    loop = block[i]
    body = loop.body
    if _names(loop, jumps=True) or loop.orelse:  # (a break or continue anywhere in it)
        return False
    head = set(N.names_in(loop.test if isinstance(loop, gast.While) else loop.iter))
    mentions = _names_of(body)
    marks = _marks_of(body)
    changed = False
    seen = set()  # the names body[last + 1:] mentions
    upto = len(body)  # (mentions[upto:] are in seen)
    todo = list(compress(range(len(marks)), marks))  # (the zeros in the body, last first)
    while todo:
        last = todo.pop()
        seen.update(*mentions[last + 1:upto])
        upto = last + 1
        if marks[last] is None or marks[last][1] is _ARRAY:
            continue
        v, zero = marks[last]
        if v in head or v in seen:
            continue
        init = next((k for k in range(i - 1, -1, -1) if v in names[k]), None)
        if init is None or _zero_of(block[init]) != (v, zero):
            continue
        first = list(map(set.__contains__, mentions, repeat(v))).index(True)  # (in C)
        if first == last or _first_use(body[first], v, zero, mutated) is None:
            continue
        mentions[first] = set(N.names_in(body[first]))
        marks[first] = _LOCAL.marks.get(id(body[first]))  # (now a zero, maybe)
        if marks[first] is not None and first not in todo:
            insort(todo, first)
        later = v in after
        del body[last], mentions[last], marks[last]
        block[init] = gast.Pass()
        names[init] = set()
        if later:
            zeros.append((i, N.assign(v, N.const(zero))))
        changed = True
    return changed


def only_added_to(stmts):
    """Names of adjoints whose symbolic zero ``0.0`` only ``v = v + e`` ever reads: every
    other read follows, in its own block, an assignment of a real value. Their shape is
    then that of the values they are given (``e``'s, for ``v = v + e``)."""
    root = gast.Module(body=stmts, type_ignores=[])
    candidates = {v for block in N.blocks(root) for v, zero in map(_zero_of, block)
                  if v is not None and zero == 0.0}
    if not candidates:
        return set()
    unsafe = set()
    for block in N.blocks(root):
        assigned = set()
        for s in block:
            v, zero = _zero_of(s)
            if v is not None:
                assigned.discard(v)
                continue
            if type(s) is gast.Assign and type(s.targets[0]) is gast.Name:
                t, value = s.targets[0].id, s.value
                reads = N.names_in(value)  # (v = v + e: v, then e's names, in order)
                if t in candidates and (t not in reads or type(value) is gast.BinOp
                                        and type(value.op) is gast.Add
                                        and type(value.left) is gast.Name
                                        and value.left.id == t and t not in reads[1:]):
                    unsafe.update(candidates.intersection(reads).difference(assigned, (t,)))
                    assigned.add(t)
                    continue
                if len(s.targets) == 1:  # (what it mentions: t and what it reads)
                    unsafe.update(candidates.intersection((t, *reads)) - assigned)
                    assigned.discard(t)
                    continue
            heads = _heads(s)
            for h in heads:
                unsafe.update(candidates.intersection(N.names_in(h)) - assigned)
            if heads is not None and not isinstance(s, gast.Assign) and assigned:
                assigned.difference_update(N.names_in(s, gast.Store))
            elif isinstance(s, gast.Assign):
                assigned.difference_update(N.names_in(s.targets[0], gast.Store))
    return candidates - unsafe


def accumulates(s):
    """``v = v + e`` (``e`` without ``v``): the ``e`` it adds, or None."""
    if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
            and isinstance(s.value, gast.BinOp) and isinstance(s.value.op, gast.Add) \
            and isinstance(s.value.left, gast.Name) and s.value.left.id == s.targets[0].id \
            and s.targets[0].id not in N.names_in(s.value.right):
        return s.value.right
    return None


def _heads(s):
    """The expressions a statement evaluates itself (a compound statement's test or
    iterable; its blocks are checked on their own)."""
    if isinstance(s, (gast.For, gast.AsyncFor)):
        return [s.iter]
    if isinstance(s, (gast.If, gast.While)):
        return [s.test]
    if isinstance(s, gast.With):
        return [i.context_expr for i in s.items]
    if isinstance(s, (gast.Try, gast.FunctionDef)):
        return list(N.walk(s))  # everything counts as read up front
    return [s]

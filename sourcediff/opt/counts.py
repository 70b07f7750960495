"""How often each name is defined and read in a function (:class:`Info`), counted
statement by statement, and what the optimiser remembers of each statement during a run
(:class:`Remembered`, a part of its class) and of a block during one pass (:class:`Loads`).
"""

from __future__ import annotations

from collections import Counter

import gast

from ..ir import nodes as N


class Info:
    """Definition and use counts over the whole function, and which names are indexed
    (``subscripted``) or changed in place (``mutated``: ``y[i] = v``, ``lst.append``,
    ``scatter_add``), all from one walk; or, given ``facts_of`` (a simple statement's
    :func:`statement_facts`, remembered by the optimiser), summed statement by
    statement."""

    def __init__(self, fdef, facts_of=None):
        t = _Tally({})
        self.params = {a.id for a in fdef.args.args}
        for a in fdef.args.args:
            t.defs[a.id] = t.defs.get(a.id, 0) + 1
        if facts_of is None:
            t.walk(fdef, 0)
        else:
            for field in N.name_fields(type(fdef)):
                v = getattr(fdef, field, None)
                for x in (v if type(v) is list else [v]) if field != "body" else ():
                    if isinstance(x, gast.AST):
                        t.walk(x, 0)
            t.block(fdef.body, 0, facts_of)
        self.depth = t.depth  # id(block) -> the loops around it (blocks summed by statement)
        defs = t.defs
        self.defs, self.uses = defs, t.uses
        self._indexed, self._changed = t.subscripted, t.mutated  # name -> how many count it
        self.subscripted = {n for n, c in t.subscripted.items() if c}
        self.mutated = {n for n, c in t.mutated.items() if c}
        self.stores = dict(defs)  # assignments as written (a loop body's count once)
        for a in self.params:
            self.stores[a] = 2  # a parameter already holds a value when the body starts
        # names assigned inside loops count as multiply defined
        for name, n in t.looped.items():
            defs[name] += 2 * n

    def update(self, old, new, depth):
        """A statement holding no block, counted with :func:`statement_facts` ``old`` (None:
        it was not there) at ``depth`` loops, now has facts ``new`` (None: it is gone)."""
        for facts, sign in ((old, -1), (new, 1)):
            if facts is None:
                continue
            uses, defs, stored, subscripted, mutated, _ = facts
            for n, c in uses.items():
                self.uses[n] = self.uses.get(n, 0) + sign * c
            for n, c in defs.items():
                self.defs[n] = self.defs.get(n, 0) + sign * (c + 2 * depth * stored.get(n, 0))
                if n not in self.params:
                    self.stores[n] = self.stores.get(n, 0) + sign * c
            for names, counts, held in ((subscripted, self._indexed, self.subscripted),
                                        (mutated, self._changed, self.mutated)):
                for n in names:
                    counts[n] = counts.get(n, 0) + sign
                    if counts[n]:
                        held.add(n)
                    else:
                        held.discard(n)

    def holds_for(self, fdef):
        """Whether these counts are still true of every name ``fdef`` mentions (a check:
        the optimiser keeps them while no pass changes them)."""
        fresh, names = Info(fdef), set(N.names_in(fdef))
        return all(getattr(fresh, f).get(n, 0) == getattr(self, f).get(n, 0)
                   for f in ("defs", "uses", "stores") for n in names) and all(
            getattr(fresh, f) & names == getattr(self, f) & names
            for f in ("subscripted", "mutated"))

    def single(self, name):
        return self.defs.get(name, 0) == 1

    def once(self, name):
        """Assigned by one statement, perhaps in a loop (each iteration a fresh value).
        Callers must check that every use follows that statement in its own block."""
        return self.stores.get(name, 0) == 1


class _Tally:
    """What :class:`Info` counts, as it is counted: uses, definitions, stores in loops
    (weighted by the number of loops around them), names indexed and changed in place."""

    def __init__(self, uses):
        self.uses, self.defs, self.looped = uses, {}, {}
        self.subscripted, self.mutated = {}, {}  # name -> how many count it
        self.depth = {}

    def walk(self, node, depth):
        """Count every node under ``node`` (``depth``: the loops around it)."""
        uses, defs, looped = self.uses, self.defs, self.looped
        subscripted, mutated = self.subscripted, self.mutated
        todo = [(node, depth)]
        pop, push = todo.pop, todo.append
        ast_type, name_type, loops = gast.AST, gast.Name, (gast.For, gast.While)
        fields_of = N.NAME_FIELDS
        while todo:
            node, depth = pop()
            if type(node) is name_type:
                ctx = type(node.ctx)
                if ctx is gast.Load:
                    uses[node.id] = uses.get(node.id, 0) + 1
                elif ctx is not gast.Param:  # parameters counted above
                    defs[node.id] = defs.get(node.id, 0) + 1
                    if depth and ctx is gast.Store:
                        looped[node.id] = looped.get(node.id, 0) + depth
                continue
            kind = type(node)
            if kind is gast.Subscript:
                if type(node.value) is name_type:
                    n = node.value.id
                    subscripted[n] = subscripted.get(n, 0) + 1
                    if type(node.ctx) is gast.Store:
                        mutated[n] = mutated.get(n, 0) + 1
            elif kind is gast.Call:
                f = node.func
                n = f.value.id if type(f) is gast.Attribute and type(f.value) is name_type \
                    else node.args[0].id if type(f) is name_type and f.id == "scatter_add" \
                    and type(node.args[0]) is name_type else None
                if n is not None:
                    mutated[n] = mutated.get(n, 0) + 1
            elif kind in loops:
                depth += 1
            for field in fields_of.get(kind) or N.name_fields(kind):
                v = getattr(node, field, None)
                if isinstance(v, ast_type):
                    push((v, depth))
                elif type(v) is list:
                    for x in v:
                        if isinstance(x, ast_type):
                            push((x, depth))
        return self

    def block(self, stmts, depth, facts_of):
        """Count the statements ``stmts``: a simple one by ``facts_of(statement)``."""
        self.depth[id(stmts)] = depth
        for s in stmts:
            kind = type(s)
            if kind is gast.For or kind is gast.While:  # (its head inside the loop too)
                for head in (s.target, s.iter) if kind is gast.For else (s.test,):
                    self.walk(head, depth + 1)
                self.block(s.body, depth + 1, facts_of)
                self.block(s.orelse, depth + 1, facts_of)
            elif kind is gast.If:
                self.walk(s.test, depth)
                self.block(s.body, depth, facts_of)
                self.block(s.orelse, depth, facts_of)
            elif N.has_block(s):
                self.walk(s, depth)
            else:
                self.add(facts_of(s), depth)

    def add(self, facts, depth):
        uses, defs, stored, subscripted, mutated, _ = facts
        mine = self.uses
        for n, c in uses.items():
            mine[n] = mine.get(n, 0) + c
        mine = self.defs
        for n, c in defs.items():
            mine[n] = mine.get(n, 0) + c
        if depth:
            mine = self.looped
            for n, c in stored.items():
                mine[n] = mine.get(n, 0) + c * depth
        for names, counts in ((subscripted, self.subscripted), (mutated, self.mutated)):
            for n in names:
                counts[n] = counts.get(n, 0) + 1


def statement_facts(s):
    """What :class:`Info` counts of a statement holding no block: (its reads, a dict
    name -> count; its definitions; its stores, each once; the names it indexes; those
    it changes; whether it holds a constant or a unary operation, without which
    :mod:`fold` has nothing to do). (:meth:`_Tally.walk`'s count, without loops to
    count: a walk of its own, since the optimiser asks it of nearly every statement.)"""
    uses, defs, stored = {}, {}, {}
    subscripted = mutated = _NONE
    foldable = False
    todo = [s]
    pop, push = todo.pop, todo.append
    ast_type, name_type, load = gast.AST, gast.Name, gast.Load
    fields_of = N.NAME_FIELDS
    while todo:
        node = pop()
        kind = type(node)
        if kind is name_type:
            ctx = type(node.ctx)
            if ctx is load:
                uses[node.id] = uses.get(node.id, 0) + 1
            elif ctx is not gast.Param:
                defs[node.id] = defs.get(node.id, 0) + 1
                if ctx is gast.Store:
                    stored[node.id] = stored.get(node.id, 0) + 1
            continue
        if kind is gast.Constant or kind is gast.UnaryOp:
            foldable = True
        elif kind is gast.Subscript:
            if type(node.value) is name_type:
                subscripted = subscripted | {node.value.id}
                if type(node.ctx) is gast.Store:
                    mutated = mutated | {node.value.id}
        elif kind is gast.Call:
            f = node.func
            if type(f) is gast.Attribute and type(f.value) is name_type:
                mutated = mutated | {f.value.id}
            elif type(f) is name_type and f.id == "scatter_add" and type(
                    node.args[0]) is name_type:
                mutated = mutated | {node.args[0].id}
        for field in fields_of.get(kind) or N.name_fields(kind):
            v = getattr(node, field, None)
            if isinstance(v, ast_type):
                push(v)
            elif type(v) is list:
                for x in v:
                    if isinstance(x, ast_type):
                        push(x)
    return uses, defs, stored, subscripted, mutated, foldable


_NONE = frozenset()


class Remembered:
    """What the optimiser remembers during a run (a part of its class): of each statement,
    until a pass changes it in place and says so (:meth:`touch`), whether fold left it as
    it was (``folded``, :func:`fold.fold`'s ``clean``) and its facts (reads, writes: the
    statement's :func:`statement_facts`), kept for the next run too unless something else
    changes statements in place in between (:meth:`forget_statements`); of the tree, its
    :class:`Info` and statement lists while no pass changes what they say
    (:meth:`facts`)."""

    folded = read_counts = _between = None  # (_between: the two memos between runs)

    def start(self):
        self.folded, self.read_counts = self._between or ({}, {})
        self._between = None

    def stop(self):
        if self.folded is not None:
            self._between = (self.folded, self.read_counts)
        self.folded = self.read_counts = None

    def forget_statements(self):
        """Statements may have been changed in place since the last run (by a stage other
        than the optimiser's passes): the next run starts from nothing remembered."""
        self._between = None

    def touch(self, stmt):
        """``stmt`` was changed in place: forget what was remembered of it (and of the
        statements inside it)."""
        for memo in (self.folded, self.read_counts):
            if memo:
                memo.pop(id(stmt), None)
                for block in N.blocks(stmt) if N.has_block(stmt) else ():
                    for s in block:
                        memo.pop(id(s), None)

    def refolded(self):
        """Fold has run: forget the reads of each statement it changed (a simple statement
        fold left as it was is in ``folded``)."""
        folded = self.folded
        if self.read_counts:
            self.read_counts = {k: hit for k, hit in self.read_counts.items()
                                if folded.get(k) is hit[0]}

    def reads(self, s):
        """How often statement ``s`` reads each name (name -> count), its nested blocks
        included; remembered, during a run, for a statement holding no block, until a pass
        changes it (:meth:`touch`, :meth:`refolded`)."""
        if self.read_counts is None or N.has_block(s):
            return Counter(N.names_in(s, gast.Load))
        return self.statement_facts(s)[0]

    def bare(self, s):
        """Whether ``s`` (holding no block) holds no constant and no unary operation."""
        return not self.statement_facts(s)[5]

    def statement_facts(self, s):
        """:func:`statement_facts` of ``s`` (holding no block), remembered as :meth:`reads`."""
        memo = self.read_counts
        if memo is None:
            return statement_facts(s)
        hit = memo.get(id(s))
        if hit is None or hit[0] is not s:
            hit = memo[id(s)] = (s, statement_facts(s))
        elif self.check_schedule and hit[1] != statement_facts(s):
            raise AssertionError(f"the optimiser remembered stale facts of {s}")
        return hit[1]

    def facts(self, fdef):
        """The :class:`Info` of ``fdef`` and its statement lists. During :meth:`run` they
        are kept from one pass to the next while no pass changes what they say."""
        kept = self._kept()
        if kept[0] is None:
            kept[0] = Info(fdef, self.statement_facts)
            if self.check_schedule and not kept[0].holds_for(fdef):  # (summed as walked)
                raise AssertionError("the optimiser's counts by statement are wrong")
        elif self.check_schedule and not kept[0].holds_for(fdef):
            raise AssertionError("the optimiser kept facts a pass made untrue")
        return kept[0], self.blocks(fdef)

    def blocks(self, fdef):
        """``fdef``'s statement lists, kept while no pass takes out (or puts in) a
        statement holding a block (:meth:`forget`); one a pass emptied may stay listed."""
        kept = self._kept()
        if kept[1] is None:
            owned = list(N.owned_blocks(fdef))
            kept[1] = [block for _, _, block in owned]
            kept[2] = {id(block) for _, field, block in owned if field == "body"}
        elif self.check_schedule and [id(b) for b in N.blocks(fdef)] != [
                id(b) for b in kept[1] if b]:
            raise AssertionError("the optimiser kept statement lists a pass changed")
        return kept[1]

    def edit(self, block, s, change, *args):
        """``change(s, *args)`` (in place), told to what is remembered of ``s``; the edit of
        its counts, for :meth:`recount`."""
        simple = not N.has_block(s)
        old = self.statement_facts(s) if simple else None
        change(s, *args)
        self.touch(s)
        return (block, old, self.statement_facts(s)) if simple else (None, None, None)

    def recount(self, edits):
        """At the end of a pass that changed statements: ``edits``, (block, old facts, new
        facts) of each statement holding no block it took out (new None) or changed (block
        None: a change of some other statement), applied to the kept counts, which stay
        true (the pass read them as they were); else they are forgotten."""
        kept = self._facts
        info = kept[0] if kept is not None else None
        self._facts_kept = info is None or all(
            b is not None and id(b) in info.depth for b, _, _ in edits)
        if info is not None and self._facts_kept:
            for b, old, new in edits:
                info.update(old, new, info.depth[id(b)])

    def forget(self, blocks=False):
        """A pass changed the counts (and, if ``blocks``, took out a statement holding a
        block): :meth:`facts` counts again."""
        if self._facts is not None:
            self._facts = None if blocks else [None, *self._facts[1:]]

    def drop_pass(self, fdef):
        """:func:`drop_pass`, over the statement lists kept (:meth:`blocks`)."""
        blocks = self.blocks(fdef)
        bodies = self._kept()[2]
        if bodies is None:  # (outside a run: nothing kept)
            drop_pass(fdef)
            return
        for block in blocks:
            if any(type(s) is gast.Pass for s in block):
                kept = [s for s in block if type(s) is not gast.Pass]
                block[:] = kept if kept or id(block) not in bodies else [gast.Pass()]

    def _kept(self):
        kept = self._facts
        if kept is None:
            kept = [None, None, None]  # Info, blocks, ids of bodies: when first asked for
            if self._pure is not None:  # (during a run)
                self._facts = kept
        return kept


class Loads:
    """How often each name is read by each statement of one block (``reads``: a
    statement's name -> count), computed on demand and forgotten when a pass rewrites that
    statement."""

    def __init__(self, block, reads):
        self.block, self.reads = block, reads
        self._memo = {}

    def __getitem__(self, j):
        c = self._memo.get(j)
        if c is None:
            c = self._memo[j] = self.reads(self.block[j])
        return c

    def changed(self, j):
        self._memo.pop(j, None)


def drop_pass(fdef):
    """Take the ``pass`` statements out of ``fdef``'s statement lists (a body left empty
    keeps one)."""
    for _node, field, block in N.owned_blocks(fdef):
        if any(type(s) is gast.Pass for s in block):
            kept = [s for s in block if type(s) is not gast.Pass]
            block[:] = kept if kept or field != "body" else [gast.Pass()]

"""Pass 8 (continued): the optimiser's dead-code passes, a part of its class
(:class:`optimize.Optimizer` derives from :class:`DeadCode`).

A pure assignment goes when nothing can read what it stores: overwritten in the same
block before any read (:meth:`~DeadCode.dead_stores`), no later statement reading it
on any path (:meth:`~DeadCode.liveness`), or its name read nowhere (:meth:`~DeadCode.dce`).
A comment goes when nothing is left under it (:func:`drop_dangling_comments`).
"""

from __future__ import annotations

import gast

from ..ir import nodes as N
from .usage import is_plain_assign


class DeadCode:
    """Needs of its host: ``keep`` (names that stay), ``pure(expr)``, ``facts(fdef)``,
    ``blocks(fdef)``, ``statement_facts``, ``recount`` and ``forget`` (see
    :class:`optimize.Optimizer`)."""

    def dead_stores(self, fdef):
        """``a = e1`` overwritten by ``a = e2`` in the same block before any read."""
        edits = []
        for block in self.blocks(fdef):
            # walking backwards: names a plain assignment here would store in vain, because
            # straight-line assignments below overwrite them before anything reads them
            doomed = set()
            dead = []
            for i in range(len(block) - 1, -1, -1):
                s = block[i]
                if N.is_comment(s):
                    continue
                if not is_plain_assign(s):
                    doomed = set()
                    continue
                a = s.targets[0].id
                if a in doomed and self.pure(s.value):
                    dead.append(i)
                doomed.add(a)
                doomed.difference_update(self.statement_facts(s)[0])  # (those of s.value)
            for i in dead:
                edits.append((block, self.statement_facts(block[i]), None))
                block[i] = gast.Pass()
        if edits:
            self.drop_pass(fdef)
            self.recount(edits)
        return bool(edits)

    def liveness(self, fdef):
        """Drop pure assignments whose value no later statement can read (e.g. the zero
        an overwritten adjoint is cut to, at the end of a branch)."""
        ret = fdef.body[-1]
        live = set(N.names_in(ret, gast.Load)) if isinstance(ret, gast.Return) else set()
        self._dropped, self._read_memo = [], {}
        self._live_block(fdef.body, live)
        self._read_memo = None
        if self._dropped:
            self.drop_pass(fdef)
            self.recount(self._dropped)
        return bool(self._dropped)

    def _live_block(self, block, live):
        for i in range(len(block) - 1, -1, -1):
            s = block[i]
            if isinstance(s, gast.If):
                after = set(live)
                body = self._live_block(s.body, set(after))
                orelse = self._live_block(s.orelse, set(after))
                live.clear()
                live.update(body | orelse | set(N.names_in(s.test, gast.Load)))
                if all(isinstance(b, gast.Pass) for b in s.body) and not s.orelse \
                        and isinstance(s.test, (gast.Name, gast.Constant)):
                    block[i] = gast.Pass()
                    self._dropped.append((None, None, None))  # (counted again)
                    self.forget(blocks=True)  # (its statement lists are gone)
            elif isinstance(s, (gast.For, gast.While)):
                # a loop body may run again: everything it reads stays live throughout
                live.update(self._reads(s))
                self._live_block(s.body, set(live))
            elif is_plain_assign(s):  # (a stack pop is impure, so it stays)
                a = s.targets[0].id
                if a not in live and a not in self.keep and self.pure(s.value):
                    self._dropped.append((block, self.statement_facts(s), None))
                    block[i] = gast.Pass()
                    continue
                live.discard(a)
                live.update(self.statement_facts(s)[0])  # (its reads: it holds no block)
            else:
                live.update(self._reads(s))
        return live

    def _reads(self, s):
        """The names statement ``s`` reads, its nested blocks included (of a statement
        holding a block, remembered during one liveness pass, which never changes a
        statement: it only drops some)."""
        if not N.has_block(s):
            return self.statement_facts(s)[0].keys()  # (name -> how often it reads it)
        hit = self._read_memo.get(id(s))
        if hit is not None and hit[0] is s:
            return hit[1]
        out = set()
        for field in s._fields:
            v = getattr(s, field, None)
            if type(v) is list and v and isinstance(v[0], gast.stmt):
                for child in v:
                    out.update(self._reads(child))
            elif isinstance(v, gast.AST):
                out.update(N.names_in(v, gast.Load))
            elif type(v) is list:
                for x in v:
                    if isinstance(x, gast.AST):
                        out.update(N.names_in(x, gast.Load))
        self._read_memo[id(s)] = (s, out)
        return out

    def dce(self, fdef):
        """Drop pure assignments to names nothing reads, until none is left (the reads of
        what is dropped are taken off the counts, which may leave more unread)."""
        info, blocks = self.facts(fdef)
        uses = dict(info.uses)
        edits = []
        while True:
            dropped = False
            for block in blocks:
                for i, s in enumerate(block):
                    if not is_plain_assign(s):
                        continue
                    a = s.targets[0].id
                    if (uses.get(a, 0) == 0 and a not in self.keep and self.pure(s.value)
                            or isinstance(s.value, gast.Name) and s.value.id == a):  # a = a
                        edits.append((block, self.statement_facts(s), None))
                        block[i] = gast.Pass()
                        for name in N.names_in(s.value, gast.Load):
                            uses[name] -= 1
                        dropped = True
            if not dropped:
                break
        if edits:
            self.drop_pass(fdef)
            self.recount(edits)
        return bool(edits)


def drop_dangling_comments(fdef):
    for block in N.blocks(fdef):
        kept = []
        last = None  # the last comment kept in this block
        for k, s in enumerate(block):
            nxt = block[k + 1] if k + 1 < len(block) else None
            if N.is_comment(s):
                text = s.value.value
                dangling = nxt is None or N.is_comment(nxt)
                if text == "forward pass" and dangling:
                    continue
                if text.startswith("grad of") and (dangling or text == last):
                    continue  # nothing under it, or the same statement again
                last = text
            kept.append(s)
        block[:] = kept or [gast.Pass()]

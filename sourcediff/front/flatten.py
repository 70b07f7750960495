"""Pass 4b: structured control flow for the reverse sweep.

``return``, ``break`` and ``continue`` inside branches and loops become flag
variables, so every block runs to its end and the reverse sweep can replay it:

* ``return v`` in a branch -> ``_ret = v; _returned = True`` and the rest of
  the function is guarded by ``if _returned: pass else: ...``;
* ``break`` / ``continue`` -> ``_skipN = True`` (and ``_brkN = True``), the
  rest of the body is guarded, and ``if _brkN: break`` ends the body;
* a loop that can stop early counts its iterations in ``_nN`` once, so the
  reverse sweep knows how many to replay.

A ``while`` whose only exit is its own test keeps no flags: it counts full
iterations, and the reverse sweep replays them with ``for _ in range(_nN)``.
"""

from __future__ import annotations

import gast

from ..ir import nodes as N


class _Loop:
    def __init__(self, skip, brk):
        self.skip = skip
        self.brk = brk


class Flattener:
    def __init__(self, parsed, taken):
        self.parsed = parsed
        self.taken = set(taken)
        self.counts = {}
        self.ret = None
        self.retflag = None

    def fresh(self, base):
        n = self.counts.get(base, 0) + 1
        while f"_{base}{n}" in self.taken:
            n += 1
        self.counts[base] = n
        self.taken.add(f"_{base}{n}")
        return f"_{base}{n}"

    def block(self, stmts, loop):
        """(new statements, whether the block may exit early)."""
        out = []
        for i, s in enumerate(stmts):
            exits = False
            if isinstance(s, gast.Return):
                out += [N.assign(self.ret, s.value), N.assign(self.retflag, N.const(True))]
                if loop:
                    out += [N.assign(loop.skip, N.const(True)), N.assign(loop.brk, N.const(True))]
                return _loc(out, s), True
            if isinstance(s, gast.Break):
                return out + _loc([N.assign(loop.skip, N.const(True)),
                                   N.assign(loop.brk, N.const(True))], s), True
            if isinstance(s, gast.Continue):
                return out + _loc([N.assign(loop.skip, N.const(True))], s), True
            if isinstance(s, gast.If):
                body, e1 = self.block(s.body, loop)
                orelse, e2 = self.block(s.orelse, loop)
                out += self.branch(s.test, body, orelse, s)
                exits = e1 or e2
            elif isinstance(s, gast.With):
                body, exits = self.block(s.body, loop)
                out.append(gast.copy_location(
                    gast.With(items=s.items, body=body, type_comment=None), s))
            elif isinstance(s, (gast.For, gast.While)):
                new, returns = self.loop(s)
                out += new
                if returns:
                    exits = True
                    if loop:
                        out += _loc([N.assign(loop.skip, N.name(self.retflag)),
                                     N.assign(loop.brk, N.name(self.retflag))], s)
            else:
                out.append(s)
            if exits:
                rest, _ = self.block(stmts[i + 1:], loop)
                if rest:
                    guard = loop.skip if loop else self.retflag
                    out += self.branch(N.name(guard), [gast.Pass()], rest, s)
                return out, True
        return out, False

    def branch(self, test, body, orelse, src):
        """``if test: body else: orelse``; a test the branch reassigns is copied first,
        so the reverse sweep sees the value the forward pass branched on."""
        pre = []
        stored = set(N.names_in(gast.Module(body=body + orelse, type_ignores=[]), gast.Store))
        if isinstance(test, gast.Name) and test.id in stored:
            c = self.fresh("c")
            pre = [N.assign(c, test)]
            test = N.name(c)
        return _loc(pre, src) + [gast.copy_location(N.if_(test, body, orelse), src)]

    def loop(self, s):
        body = s.body
        returns = any(isinstance(n, gast.Return) for n in _walk_stmts(body))
        if isinstance(s, gast.While):
            plain = _split_while(body)
            if plain and not _exits(plain[2]) and not returns:
                return self.plain_while(s, *plain), False
        needs_flags = returns or _exits(body)
        counter = self.fresh("n") if needs_flags or isinstance(s, gast.While) else None
        pre = []
        if needs_flags:
            loop = _Loop(self.fresh("skip"), self.fresh("brk"))
            new_body, _ = self.block(body, loop)
            new_body = [N.assign(loop.skip, N.const(False))] + new_body
            new_body.append(N.if_(N.name(loop.brk), [gast.Break()]))
            pre.append(N.assign(loop.brk, N.const(False)))
        else:
            new_body, _ = self.block(body, None)
        if counter:
            pre.append(N.assign(counter, N.const(0)))
            inc = N.assign(counter, N.binop(N.name(counter), gast.Add(), N.const(1)))
            N.set_anno(inc, "counter_inc", True)
            new_body = [inc] + new_body
        if isinstance(s, gast.For):
            new = N.for_(s.target, s.iter, new_body)
        else:
            new = gast.While(test=N.const(True), body=new_body, orelse=[])
        N.set_anno(new, "counter", counter)
        return _loc(pre, s) + [gast.copy_location(new, s)], returns

    def plain_while(self, s, test, brk_if, rest):
        counter = self.fresh("n")
        rest, _ = self.block(rest, None)
        inc = N.assign(counter, N.binop(N.name(counter), gast.Add(), N.const(1)))
        N.set_anno(inc, "counter_inc", True)
        new = gast.While(test=N.const(True), body=test + [brk_if] + rest + [inc], orelse=[])
        N.set_anno(new, "test", test)
        N.set_anno(new, "rest", rest + [inc])
        N.set_anno(new, "counter", counter)
        return _loc([N.assign(counter, N.const(0))], s) + [gast.copy_location(new, s)]


def _loc(stmts, src):
    return N.set_location(stmts, getattr(src, "lineno", 0))


def _walk_stmts(stmts):
    for s in stmts:
        for n in N.walk(s):
            yield n


def _exits(stmts):
    """Whether ``stmts`` break or continue their own loop (not an inner one)."""
    for s in stmts:
        if isinstance(s, (gast.Break, gast.Continue)):
            return True
        if isinstance(s, gast.If) and (_exits(s.body) or _exits(s.orelse)):
            return True
        if isinstance(s, gast.With) and _exits(s.body):
            return True
    return False


def _split_while(body):
    for i, s in enumerate(body):
        if isinstance(s, gast.If) and len(s.body) == 1 and isinstance(s.body[0], gast.Break) \
                and not s.orelse:
            if _exits(body[:i]):
                return None
            return body[:i], s, body[i + 1:]
    return None


def flatten(parsed, body):
    """(new body without its final return, the returned atom)."""
    taken = set(N.names_in(gast.Module(body=body, type_ignores=[])))
    fl = Flattener(parsed, taken)
    if body and isinstance(body[-1], gast.Return) and not any(
            isinstance(n, gast.Return) for n in _walk_stmts(body[:-1])):
        new, _ = fl.block(body[:-1], None)
        return new, body[-1].value
    fl.ret, fl.retflag = fl.fresh("ret"), fl.fresh("returned")
    new, _ = fl.block(body, None)
    pre = [N.assign(fl.ret, N.const(None)), N.assign(fl.retflag, N.const(False))]
    return N.set_location(pre, getattr(parsed.tree, "lineno", 0)) + new, N.name(fl.ret)

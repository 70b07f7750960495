"""The reverse sweep of control flow (part of pass 6, :mod:`reverse`): a branch replays
the branch taken, a loop runs backwards over its recorded trip count."""

from __future__ import annotations


import gast

from ..ir import nodes as N
from .activity import operands


class FlowSweep:
    """The :class:`reverse.Sweep` methods for branches and loops."""

    def if_(self, s):
        start = self.adj.fork()
        self.depth += 1
        body = self.block(s.body)
        after_body, self.adj = self.adj, start  # (the other branch's zeros do not hold)
        orelse = self.block(s.orelse)
        self.depth -= 1
        self.adj = after_body.join(self.adj)
        if not body and not orelse:
            return []
        return [N.if_(N.clone(s.test), body, orelse)]

    def may_not_run(self, make):
        """The statements ``make()`` gives, inside a branch that may not run."""
        before = self.adj.fork()
        self.depth += 1
        out = make()
        self.depth -= 1
        self.adj = self.adj.join(before)
        return out

    def _loop_prepare(self, body):
        for v in _contributed(body, self.ns, self.active):
            if v not in self.adj.defined and v not in self.loop_locals:
                self.need_init(v)

    def loop_body(self, *blocks):
        """Reverse the blocks of one iteration (in the order given), with the zeros
        of iteration-local adjoints first."""
        self.loop_inits.append({})
        self.depth += 1
        before = self.adj.fork()
        self.adj.real = set()  # an earlier iteration may leave a symbolic zero
        out = [stmt for b in blocks for stmt in self.block(b)]
        self.adj = self.adj.join(before)  # (the loop may not run at all)
        self.depth -= 1
        inits = self.loop_inits.pop()
        return [N.assign(name, zero) for name, zero in inits.items()] + out

    def for_(self, s):
        self._loop_prepare(s.body)
        body = self.loop_body(s.body)
        if not _has_effect(body):
            return []
        it = N.clone(s.iter)
        counter = N.anno(s, "counter")
        if counter is not None:
            it = gast.Subscript(value=it, slice=gast.Slice(lower=None, upper=N.name(counter),
                                                           step=None), ctx=gast.Load())
        out = [N.for_(N.clone(s.target), N.call("reversed", [it]), body)]
        if s.target.id in self.multidef:
            out.append(_pop(s.target.id))
        return out

    def while_(self, s):
        if not N.has_anno(s, "test"):
            return self.while_general(s)
        test, rest = N.anno(s, "test"), N.anno(s, "rest")
        self._loop_prepare(s.body)
        iteration = self.loop_body(rest, test)
        final_test = self.block(test)  # the last check, which failed
        if not _has_effect(iteration):
            return final_test
        loop = N.for_(N.name(self.names.dummy(), store=True),
                      N.call("range", [N.name(N.anno(s, "counter"))]), iteration)
        return final_test + [loop]

    def while_general(self, s):
        self._loop_prepare(s.body)
        body = self.loop_body(s.body)
        if not _has_effect(body):
            return []
        return [N.for_(N.name(self.names.dummy(), store=True),
                       N.call("range", [N.name(N.anno(s, "counter"))]), body)]


def _pop(v, site=None):
    node = N.assign(v, N.parse_expr("_stack.pop()"))
    N.set_anno(node, "pop", v)
    N.set_anno(node, "site", site)  # the assignment it undoes (pairs it with its push)
    return node


def _has_effect(stmts):
    return any(not N.is_comment(s) and not N.anno(s, "pop") for s in stmts) or any(
        N.anno(s, "pop") for s in stmts)


def _contributed(stmts, ns, active):
    """Adjoints that a block may add to (so they need a value before a loop)."""
    out = []
    for s in stmts:
        for node in N.walk(s):
            if isinstance(node, gast.Assign):
                t = node.targets[0]
                if isinstance(t, gast.Name) and t.id in active:
                    names = operands(node.value, ns) + [t.id]
                elif isinstance(t, gast.Subscript) and t.value.id in active:
                    names = operands(node.value, ns) + [t.value.id]
                else:
                    continue
                out += [n for n in names if n in active and n not in out]
            elif isinstance(node, gast.Expr) and isinstance(node.value, gast.Call):
                out += [n for n in N.names_in(node.value) if n in active and n not in out]
    return out

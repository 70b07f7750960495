"""What the optimiser's passes know about a function: how often each name is defined and
read (:class:`Info`), which names the compiler made (:func:`generated`), which calls are
pure (:func:`pure_function`, :func:`pure_expr`), and the small statement queries the passes share; and the
copies that keep a value a later statement changes in place (:func:`unalias`).
"""

from __future__ import annotations

import random
from collections import Counter

import gast
import numpy as np

from ..ir import nodes as N
from ..prims import facts, registry
from .. import runtime
from ..front.resolve import MISSING, static_value
from .owners import Owners, read_before_change


def pure_function(fn):
    """Is a call of ``fn`` known to do nothing but compute its result, so that the
    optimiser may drop, merge or move it? Declared pure: NumPy's functions in the rule
    table and the functions declared non-differentiable, and a few builtins. Everything
    else runs as written: a user function (it may print, append to a list, count calls),
    a user ``@primitive``, and a random draw (``np.random.*``, a ``Generator``'s or
    ``random.Random``'s methods), even though it is declared non-differentiable."""
    owner = getattr(fn, "__self__", None)
    module = getattr(fn, "__module__", None) or ""
    if isinstance(owner, (np.random.RandomState, np.random.Generator, random.Random)) or (
            module == "random" or module.startswith("numpy.random")):
        return False
    rule = registry.lookup(fn)
    if rule is not None:
        return rule.user_vjp is None and rule.user_jvp is None
    return registry.is_nondiff(fn) or facts.of(fn).pure is True  # (slice, range, len...)


def pure_expr(expr, ns):
    """Whether evaluating ``expr`` has no side effects: it calls rules, NumPy and pure
    helpers only (``ns``: the namespace its names are read in)."""
    for node in N.walk(expr):
        if isinstance(node, gast.Call):
            if isinstance(node.func, gast.Name) and node.func.id in runtime.HELPERS:
                if facts.of_helper(node.func.id).pure is False:  # (scatter_add...)
                    return False
                continue
            fn = static_value(node.func, ns)
            if fn is MISSING:
                if isinstance(node.func, gast.Attribute) and isinstance(
                        node.func.value, gast.Name) and node.func.value.id == "np":
                    continue
                return False
            if not pure_function(fn):
                return False
        if isinstance(node, (gast.Lambda, gast.Yield)):
            return False
    return True


class Info:
    """Definition and use counts over the whole function, and which names are indexed
    (``subscripted``) or changed in place (``mutated``: ``y[i] = v``, ``lst.append``,
    ``scatter_add``), all from one walk."""

    def __init__(self, fdef):
        defs, uses, looped = {}, {}, {}
        subscripted, mutated = set(), set()
        for a in fdef.args.args:
            defs[a.id] = defs.get(a.id, 0) + 1
        # one walk, each node with the number of loops around it
        todo = [(fdef, 0)]
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
                    subscripted.add(node.value.id)
                    if type(node.ctx) is gast.Store:
                        mutated.add(node.value.id)
            elif kind is gast.Call:
                f = node.func
                if type(f) is gast.Attribute and type(f.value) is name_type:
                    mutated.add(f.value.id)
                elif type(f) is name_type and f.id == "scatter_add" and type(
                        node.args[0]) is name_type:
                    mutated.add(node.args[0].id)
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
        self.defs, self.uses = defs, uses
        self.subscripted, self.mutated = subscripted, mutated
        self.stores = dict(defs)  # assignments as written (a loop body's count once)
        for a in fdef.args.args:
            self.stores[a.id] = 2  # a parameter already holds a value when the body starts
        # names assigned inside loops count as multiply defined
        for name, n in looped.items():
            defs[name] += 2 * n

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


USER_NAMES = "__sourcediff_user_names__"  # key in ns: the names the user's function uses


def generated(name, user=frozenset()):
    """A name the compiler made (a temporary, an adjoint), free to inline or drop: spelled
    as the compiler spells them, and not one of the user's own (``_h``, ``y_bar``)."""
    return (name.startswith("_") or name.endswith("_bar") or "_bar_" in name) and \
        name not in user


_COUNTED = {gast.BinOp, gast.UnaryOp, gast.Call, gast.Name, gast.Subscript, gast.Constant}


def expr_size(node):
    """Operations and leaves in an expression, or in a statement's top-level expressions."""
    todo = [node] if isinstance(node, gast.expr) else list(top_exprs(node) or [])
    count = 0
    ast_type = gast.AST
    while todo:
        n = todo.pop()
        if type(n) in _COUNTED:
            count += 1
        for field in n._fields:
            v = getattr(n, field, None)
            if isinstance(v, ast_type):
                todo.append(v)
            elif type(v) is list:
                todo.extend(x for x in v if isinstance(x, ast_type))
    return count


def assigned_in(stmts, name):
    return any(is_plain_assign(t) and t.targets[0].id == name for t in stmts)


class Remembered:
    """What the optimiser remembers during a run (a part of its class): of each statement,
    until a pass changes it in place and says so (:meth:`touch`), whether fold left it as
    it was (``folded``, :func:`fold.fold`'s ``clean``); of the tree, its :class:`Info` and
    statement lists while no pass changes what they say (:meth:`facts`)."""

    def start(self):
        self.folded, self.read_counts = {}, {}

    def stop(self):
        self.folded = self.read_counts = None

    def touch(self, stmt):
        """``stmt`` was changed in place: forget what was remembered of it (and of the
        statements inside it)."""
        for memo in (self.folded, self.read_counts):
            if memo:
                memo.pop(id(stmt), None)
                for block in N.blocks(stmt):
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
        """How often statement ``s`` reads each name (a Counter), its nested blocks
        included; remembered, during a run, for a statement holding no block, until a pass
        changes it (:meth:`touch`, :meth:`refolded`)."""
        memo = self.read_counts
        if memo is None or N.has_block(s):
            return Counter(N.names_in(s, gast.Load))
        hit = memo.get(id(s))
        if hit is None or hit[0] is not s:
            hit = memo[id(s)] = (s, Counter(N.names_in(s, gast.Load)))
        elif self.check_schedule and hit[1] != Counter(N.names_in(s, gast.Load)):
            raise AssertionError(f"the optimiser remembered stale reads of {s}")
        return hit[1]

    def facts(self, fdef):
        """The :class:`Info` of ``fdef`` and its statement lists. During :meth:`run` they
        are kept from one pass to the next while no pass changes what they say."""
        kept = self._kept()
        if kept[0] is None:
            kept[0] = Info(fdef)
        elif self.check_schedule and not (kept[0].holds_for(fdef) and [
                id(b) for b in N.blocks(fdef)] == [id(b) for b in self.blocks(fdef)]):
            raise AssertionError("the optimiser kept facts a pass made untrue")
        return kept[0], self.blocks(fdef)

    def blocks(self, fdef):
        """``fdef``'s statement lists (kept as :meth:`facts` are)."""
        kept = self._kept()
        if kept[1] is None:
            kept[1] = list(N.blocks(fdef))
        return kept[1]

    def _kept(self):
        kept = self._facts
        if kept is None:
            kept = [None, None]  # Info, blocks: computed when first asked for
            if self._pure is not None:  # (during a run)
                self._facts = kept
        return kept


class Loads:
    """How often each name is read by each statement of one block (``reads``, a
    statement's Counter), computed on demand and forgotten when a pass rewrites that
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


def is_plain_assign(s):
    return isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)


def top_exprs(s):
    if isinstance(s, gast.Assign):
        return [s.value] + ([s.targets[0]] if isinstance(s.targets[0], gast.Subscript) else [])
    if isinstance(s, gast.AugAssign):
        return [s.value, s.target]
    if isinstance(s, (gast.Return, gast.Expr)):
        return [s.value] if s.value is not None else []
    if isinstance(s, gast.If):
        return [s.test]
    return None


def drop_pass(fdef):
    for _node, field, block in N.owned_blocks(fdef):
        if any(isinstance(s, gast.Pass) for s in block):
            kept = [s for s in block if not isinstance(s, gast.Pass)]
            block[:] = kept if kept or field != "body" else [gast.Pass()]


def unalias(fdef, params, ns):
    """``a_bar = y`` where ``y`` is later changed in place (a restored ``y[i]``, an adjoint
    buffer's ``scatter_add``): ``a_bar`` must keep today's value, so it gets a copy (unless
    every read of ``a_bar`` comes before the change, :func:`owners.read_before_change`). A
    gradient that is an argument itself (``x`` for ``sum(x * x) / 2``) is returned as a
    copy too (as is one the function reads from outside), so changing one never changes
    the other. True if it added any copy."""
    changed = False
    ret = fdef.body[-1]
    if isinstance(ret, gast.Return) and isinstance(ret.value, gast.Tuple) and len(
            ret.value.elts) > 1 and isinstance(ret.value.elts[1], gast.Tuple):
        grads = ret.value.elts[1].elts
        for k, g in enumerate(grads):
            if isinstance(g, gast.Name) and g.id in params:
                grads[k] = N.call("copy_of", [g])
                changed = True
    mutated = Info(fdef).mutated - {"_stack"}
    escaped = Owners(fdef, ns, ()).escaped if mutated else ()
    for block in N.blocks(fdef):
        for i, node in enumerate(block):
            if is_plain_assign(node) and generated(node.targets[0].id) and isinstance(
                    node.value, gast.Name) and node.value.id in mutated \
                    and node.value.id != node.targets[0].id \
                    and not _rebound_first(block[i + 1:], node.value.id) \
                    and not read_before_change(fdef, block[i + 1:], node.targets[0].id,
                                               node.value.id, _changes, escaped):
                node.value = N.call("copy_of", [node.value])
                changed = True
    return changed


def _rebound_first(stmts, y):
    """Whether ``stmts`` bind ``y`` to a new value (``y = ...``) before anything could
    change its present value in place: then a name given that value keeps it."""
    for s in stmts:
        if N.is_comment(s):
            continue
        if isinstance(s, (gast.For, gast.While, gast.If, gast.With, gast.Try)):
            if y in N.names_in(s):
                return False
            continue
        if _changes(s, y):
            return False
        if is_plain_assign(s) and s.targets[0].id == y:
            return True
    return False


def _changes(s, y):
    """Whether statement ``s`` may change ``y``'s value in place (``y[i] = ...``,
    ``y += ...``, ``y.append(...)``, ``scatter_add(y, ...)``, ``scatter_into(y, ...)``)."""
    if isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name) and s.target.id == y:
        return True
    for n in N.walk(s):
        if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) and isinstance(
                n.value, gast.Name) and n.value.id == y:
            return True
        if isinstance(n, gast.Call):
            f = n.func
            if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) \
                    and f.value.id == y:
                return True
            if isinstance(f, gast.Name) and f.id in ("scatter_add", "scatter_into") \
                    and n.args and isinstance(n.args[0], gast.Name) and n.args[0].id == y:
                return True
    return False

"""Pass 8: make the generated function read (and run) like hand-written code.

Within straight-line blocks: constant folding and algebraic identities
(``g * 1.0`` -> ``g``), copy propagation (``a_bar = y_bar``), common
subexpression elimination, forward substitution of single-use temporaries
(so ``_t1 = w * x; z = _t1 + b`` prints as ``z = w * x + b``), and dead code
elimination. Only generated names are ever propagated away; user names stay.
"""

from __future__ import annotations

import gast

from ..ir import nodes as N
from ..prims import facts
from . import inplace, shapes, shapes_rewrite
from .. import runtime
from ..ad import saves
from .contract import contract_sums
from .deadcode import DeadCode
from .fold import fold
from .owners import Owners, read_before_change
from .free import release
from .remat import rematerialise
from .scaling import scale_through_products
from ..ad.zeros import zero_adjoints
from ..front.resolve import MISSING, static_value
from .usage import (USER_NAMES, Info, Loads, assigned_in, drop_pass, expr_size, generated,
    is_plain_assign, pure_function, top_exprs)


class Optimizer(DeadCode):
    def __init__(self, ns, keep):
        self.ns = ns
        self.keep = keep
        self.user = ns.get(USER_NAMES, frozenset())
        self._pure = None  # during a run: id(expr) -> (expr, pure?)
        self._facts = None  # during a run: (Info, blocks) while no pass changes the tree
        self._facts_kept = False  # set by a pass whose change leaves them true

    def pure(self, expr):
        """No side effects (calls of rules, NumPy and pure helpers only)? Remembered during
        a run: what a pass inlines is pure, so an expression stays as pure as it was."""
        memo = self._pure
        if memo is None:
            return self._is_pure(expr)
        hit = memo.get(id(expr))
        if hit is None or hit[0] is not expr:
            hit = memo[id(expr)] = (expr, self._is_pure(expr))
        return hit[1]

    def _is_pure(self, expr):
        for node in N.walk(expr):
            if isinstance(node, gast.Call):
                if isinstance(node.func, gast.Name) and node.func.id in runtime.HELPERS:
                    if facts.of_helper(node.func.id).pure is False:  # (scatter_add...)
                        return False
                    continue
                fn = static_value(node.func, self.ns)
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

    # -- passes --------------------------------------------------------------------
    def passes(self):
        """The passes, in the order they take turns; each returns True if it changed
        anything."""
        return (fold, self.propagate, self.cse, self.substitute, self.dce, self.dead_stores,
                self.liveness)

    def run(self, fdef):
        """Run the passes in turn until every one of them, in a row, changes nothing
        (or six rounds have passed)."""
        passes = self.passes()
        quiet = 0  # passes in a row that changed nothing
        self._pure, self._facts = {}, None
        for turn in range(6 * len(passes)):
            if quiet == len(passes):
                break
            self._facts_kept = False
            if passes[turn % len(passes)](fdef):
                quiet = 0
                if not self._facts_kept:
                    self._facts = None
            else:
                quiet += 1
        self._pure = self._facts = None
        drop_dangling_comments(fdef)
        return fdef

    def facts(self, fdef):
        """The :class:`Info` of ``fdef`` and its statement lists. During :meth:`run` they
        are kept from one pass to the next while no pass changes the tree."""
        kept = self._kept()
        if kept[0] is None:
            kept[0] = Info(fdef)
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

    def propagate(self, fdef):
        """``a = b`` (or a constant) with ``a`` generated and single: use ``b``."""
        info, blocks = self.facts(fdef)
        subscripted, mutated = set(info.subscripted), info.mutated
        changed = False
        for block in blocks:
            loads = Loads(block)
            for i, s in enumerate(block):
                if not is_plain_assign(s):
                    continue
                a, v = s.targets[0].id, s.value
                if not (generated(a, self.user) and info.once(a)) or a in self.keep:
                    continue
                if isinstance(v, gast.Name) and not info.single(v.id) and not (
                        info.once(v.id) and assigned_in(block[:i], v.id)):
                    continue  # v could change between here and a use
                if isinstance(v, gast.Name) and v.id in mutated:
                    continue  # y[i] = ... between here and a use would change what it reads
                if not isinstance(v, (gast.Name, gast.Constant)):
                    continue
                if isinstance(v, gast.Constant) and a in subscripted:
                    continue  # (1.0)[0] would not even compile
                later = [j for j in range(i + 1, len(block)) if loads[j][a]]
                if sum(loads[j][a] for j in later) != info.uses.get(a, 0):
                    continue  # used elsewhere too (an enclosing block, another branch)
                mapping = {a: v}
                for j in later:
                    N.substitute(block[j], mapping)
                    loads.changed(j)
                if a in subscripted and isinstance(v, gast.Name):
                    subscripted.add(v.id)
                block[i] = gast.Pass()
                loads.changed(i)
                changed = True
        if changed:
            drop_pass(fdef)
        return changed

    def cse(self, fdef):
        info, blocks = self.facts(fdef)
        mutated = info.mutated
        changed = False
        for block in blocks:
            seen = {}
            for s in block:
                if not is_plain_assign(s) or isinstance(s.value, (
                        gast.Name, gast.Constant, gast.List, gast.Dict, gast.ListComp,
                        gast.DictComp)):
                    continue
                a = s.targets[0].id
                if not info.single(a) or a in mutated:
                    continue
                loads = N.names_in(s.value, gast.Load)
                if not all(info.single(n) for n in loads) or any(n in mutated for n in loads):
                    continue
                if not self.pure(s.value):
                    continue
                key = N.fingerprint(s.value)
                if key in seen:
                    s.value = N.name(seen[key])
                    changed = True
                else:
                    seen[key] = a
        return changed

    def substitute(self, fdef):
        """Inline generated temporaries used exactly once, right where they are used."""
        info, blocks = self.facts(fdef)
        changed = False
        for block in blocks:
            loads = Loads(block)
            i = 0
            while i < len(block):
                s = block[i]
                if (is_plain_assign(s) and generated(s.targets[0].id, self.user)
                        and s.targets[0].id not in self.keep
                        and info.once(s.targets[0].id)
                        and info.uses.get(s.targets[0].id, 0) == 1 and self.pure(s.value)):
                    j = self._use_site(block, loads, i, s.targets[0].id, s.value)
                    if j is not None and expr_size(block[j]) + expr_size(s.value) > _MAX_INLINE:
                        j = None
                    if j is not None:
                        mapping = {s.targets[0].id: s.value}
                        if isinstance(block[j], gast.If):  # the test may be the name itself
                            block[j].test = N.substitute(block[j].test, mapping)
                        else:
                            N.substitute(block[j], mapping)
                        block[i] = gast.Pass()  # counts stay valid: the use just moved
                        loads.changed(i)
                        loads.changed(j)
                        changed = True
                i += 1
        if changed:
            drop_pass(fdef)
            # every count but the inlined names' (gone from the tree) is as it was, and
            # no statement list came or went
            self._facts_kept = True
        return changed

    def _use_site(self, block, loads, i, name, value):
        reads = set(N.names_in(value, gast.Load))
        for j in range(i + 1, len(block)):
            s = block[j]
            if N.is_comment(s) or isinstance(s, gast.Pass):
                continue
            if loads[j][name]:
                exprs = top_exprs(s)
                if exprs is not None and any(name in N.names_in(e, gast.Load) for e in exprs):
                    return j
                return None  # used inside a nested block: evaluation count would change
            if not is_plain_assign(s) or s.targets[0].id in reads:
                return None
            if not self.pure(s.value) and not isinstance(s.value, (gast.Name, gast.Constant)):
                return None
        return None


_MAX_INLINE = 14


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


def optimize(fdef, ns, specialize, params, keep, kinds=None, outside=()):
    """Optimise ``fdef``; ``specialize`` (argument shapes) and ``kinds`` (argument dtypes,
    :func:`inplace.kinds_of`) are what the code may assume about its arguments.
    ``outside``: data the function reads from its module or closure (the user's objects,
    like its arguments: a gradient that is one of them is returned as a copy)."""
    zero_adjoints(fdef)
    if specialize is not None:
        shapes_rewrite.specialize(fdef, ns, specialize, params)
    opt = Optimizer(ns, set(keep))
    opt.run(fdef)
    float64 = None if kinds is None else (lambda: inplace.float64_test(fdef, ns, kinds, params))
    if specialize is not None:
        _rewrite_by_shapes(fdef, ns, specialize, params, opt, float64)
    if saves.prune_unread(fdef):
        opt.run(fdef)
    if specialize is not None and any(isinstance(s, gast.For) for s in fdef.body) \
            and rematerialise(fdef, shapes.analyse(fdef, ns, specialize, params), opt.pure):
        opt.run(fdef)  # (recomputed values nothing reads; temporaries no pop now separates)
        if "sum" in _found(fdef) and float64 is not None:  # (recomputed sums, written out)
            contract_sums(fdef, shapes.analyse(fdef, ns, specialize, params), float64())
    unalias(fdef, set(params) | set(keep) | set(outside), ns)
    if specialize is not None and kinds is not None:
        inplace.rewrite(fdef, ns, specialize, kinds, params)
    if specialize is not None:
        release(fdef, lambda: shapes.analyse(fdef, ns, specialize, params),
                set(keep) | set(outside))
    saves.batch_loop_saves(fdef)
    return fdef


def _rewrite_by_shapes(fdef, ns, spec, params, opt, float64):
    """The rewrites that need the shapes of the finished function, each where the
    function holds what it rewrites (one walk finds which), the optimiser run again after
    each that changed something. ``float64()``: what the dtypes say, or None."""
    found = _found(fdef)
    if ("broadcast_to" in found or "reshape" in found) and shapes_rewrite.simplify_products(
            fdef, ns, spec, params):
        opt.run(fdef)
        found = _found(fdef)
    if ("outer" in found or "sum" in found) and contract_sums(
            fdef, shapes.analyse(fdef, ns, spec, params), float64 and float64()):
        opt.run(fdef)
        found = _found(fdef)
    if "@" in found and scale_through_products(fdef, shapes.analyse(fdef, ns, spec, params)):
        opt.run(fdef)


def _found(fdef):
    """The attribute names (``outer``, ``broadcast_to``, ``sum``) in ``fdef``, and ``@`` if it
    multiplies matrices."""
    out = set()
    attribute, matmult = gast.Attribute, gast.MatMult
    for n in N.walk(fdef):
        if type(n) is attribute:
            out.add(n.attr)
        elif type(n) is matmult:
            out.add("@")
    return out


def unalias(fdef, params, ns):
    """``a_bar = y`` where ``y`` is later changed in place (a restored ``y[i]``, an adjoint
    buffer's ``scatter_add``): ``a_bar`` must keep today's value, so it gets a copy (unless
    every read of ``a_bar`` comes before the change, :func:`owners.read_before_change`). A
    gradient that is an argument itself (``x`` for ``sum(x * x) / 2``) is returned as a
    copy too (as is one the function reads from outside), so changing one never changes
    the other."""
    ret = fdef.body[-1]
    if isinstance(ret, gast.Return) and isinstance(ret.value, gast.Tuple) and len(
            ret.value.elts) > 1 and isinstance(ret.value.elts[1], gast.Tuple):
        grads = ret.value.elts[1].elts
        for k, g in enumerate(grads):
            if isinstance(g, gast.Name) and g.id in params:
                grads[k] = N.call("copy_of", [g])
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

"""Pass 8: make the generated function read (and run) like hand-written code.

Within straight-line blocks: constant folding and algebraic identities
(``g * 1.0`` -> ``g``), copy propagation (``a_bar = y_bar``), common
subexpression elimination, forward substitution of single-use temporaries
(so ``_t1 = w * x; z = _t1 + b`` prints as ``z = w * x + b``), and dead code
elimination. Only generated names are ever propagated away; user names stay.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import gast

from ..ir import nodes as N
from . import inplace, shapes, shapes_rewrite
from ..ad import batches, saves
from .contract import contract_sums
from .deadcode import DeadCode, drop_dangling_comments
from .fold import fold_counted
from .free import release
from .remat import rematerialise
from .scaling import scale_through_products
from ..ad.zeros import zero_adjoints
from .counts import Loads, Remembered
from .usage import (USER_NAMES, FirstAssigned, attributes_in, expr_size,
    generated, is_plain_assign, pure_expr, top_exprs, unalias)


# What a pass changes, and what gives a pass work: the kinds of facts about the code.
EXPRESSIONS = frozenset({"expressions"})  # the expressions in statements (their shapes)
COUNTS = frozenset({"counts"})            # which names are read and written, and where
EVERYTHING = EXPRESSIONS | COUNTS


class Pass(NamedTuple):
    name: str              # the Optimizer method
    changes: frozenset     # the facts a change by this pass can change
    reads: frozenset       # the facts whose change can give this pass work


# The optimiser's passes, in the order they take turns (Optimizer.run). fold is local to
# each expression: only a rewritten expression gives it work. cse replaces an expression
# by a name, which nothing folds; the dead-code passes only delete statements.
PIPELINE = (
    Pass("fold", EVERYTHING, EXPRESSIONS),  # constants and identities (fold.py)
    Pass("propagate", EVERYTHING, EVERYTHING),  # a = b: b used for a
    Pass("cse", COUNTS, EVERYTHING),  # the same pure expression computed again
    Pass("substitute", EVERYTHING, EVERYTHING),  # temporaries read once inlined
    Pass("dce", COUNTS, EVERYTHING),  # assignments nothing reads (deadcode.py)
    Pass("dead_stores", COUNTS, EVERYTHING),  # overwritten before read
    Pass("liveness", COUNTS, EVERYTHING),  # no later statement reads it
)


class Optimizer(DeadCode, Remembered):
    check_schedule = False  # (tests) run each pass the schedule skips: it must find nothing

    def __init__(self, ns, keep):
        self.ns = ns
        self.keep = keep
        self.user = ns.get(USER_NAMES, frozenset())
        self._pure = None  # during a run: id(expr) -> (expr, pure?)
        self._facts = None  # during a run: [Info, blocks] while no pass changes them
        self._facts_kept = False  # set by a pass whose change leaves them true
        self.stop()  # (what is remembered of each statement, during a run)

    def pure(self, expr):
        """No side effects (calls of rules, NumPy and pure helpers only)? Remembered during
        a run: what a pass inlines is pure, so an expression stays as pure as it was."""
        memo = self._pure
        if memo is None:
            return pure_expr(expr, self.ns)
        hit = memo.get(id(expr))
        if hit is None or hit[0] is not expr:
            hit = memo[id(expr)] = (expr, pure_expr(expr, self.ns))
        return hit[1]

    # -- passes --------------------------------------------------------------------
    def passes(self):
        """The passes of :data:`PIPELINE`, in its order, as callables of the tree; each
        returns True if it changed anything."""
        return tuple(getattr(self, p.name) for p in PIPELINE)

    def run(self, fdef, changed=EVERYTHING):
        """Run the passes in turn (:data:`PIPELINE`) until none has work left: a pass runs
        when a pass since its last turn (itself included, or the code before this run:
        ``changed``, the kinds of facts it changed) changed something the pass reads;
        and stops after six rounds."""
        passes = self.passes()
        dirty = [bool(p.reads & changed) for p in PIPELINE]
        self._pure, self._facts = {}, None
        self.start()
        for turn in range(6 * len(passes)):
            k = turn % len(passes)
            if not any(dirty):
                self._check_skipped(fdef, passes, range(len(passes)))  # (all, at the end)
                break
            if not dirty[k]:
                self._check_skipped(fdef, passes, [k])
                continue
            dirty[k] = False
            self._facts_kept = False
            if passes[k](fdef):
                made = PIPELINE[k].changes
                dirty = [d or bool(p.reads & made) for d, p in zip(dirty, PIPELINE)]
                if not self._facts_kept:
                    self.forget()
        self._pure = self._facts = None
        self.stop()
        drop_dangling_comments(fdef)
        return fdef

    def _check_skipped(self, fdef, passes, which):
        for k in which if self.check_schedule else ():
            if passes[k](fdef):
                raise AssertionError(f"the optimiser skipped {PIPELINE[k].name}, which had work")

    def fold(self, fdef):
        """Constants and identities (:func:`fold.fold`), in the statements changed since
        it last ran."""
        changed, dropped = fold_counted(fdef, self.folded, self.check_schedule,
                                        self.blocks(fdef), self.bare)
        self._facts_kept = not dropped  # (each name read and written where it was)
        if changed:
            self.refolded()
        return changed

    def propagate(self, fdef):
        """``a = b`` (or a constant) with ``a`` generated and single: use ``b``."""
        info, blocks = self.facts(fdef)
        subscripted, mutated = set(info.subscripted), info.mutated
        edits = []
        for block in blocks:
            loads, first = Loads(block, self.reads), FirstAssigned(block)
            where = None  # name -> the statements of the block reading it (a superset)
            for i, s in enumerate(block):
                if not (is_plain_assign(s) and isinstance(s.value, (gast.Name, gast.Constant))):
                    continue
                a, v = s.targets[0].id, s.value
                if not (generated(a, self.user) and info.once(a)) or a in self.keep:
                    continue
                if isinstance(v, gast.Name) and not info.single(v.id) and not (
                        info.once(v.id) and first.before(v.id, i)):
                    continue  # v could change between here and a use
                if isinstance(v, gast.Name) and v.id in mutated:
                    continue  # y[i] = ... between here and a use would change what it reads
                if isinstance(v, gast.Constant) and a in subscripted:
                    continue  # (1.0)[0] would not even compile
                if where is None:
                    where = {}
                    for j in range(len(block)):
                        for n in loads[j]:
                            where.setdefault(n, []).append(j)
                later = [j for j in where.get(a, ()) if j > i and loads[j].get(a)]
                if sum(loads[j][a] for j in later) != info.uses.get(a, 0):
                    continue  # used elsewhere too (an enclosing block, another branch)
                mapping = {a: v}
                for j in later:
                    edits.append(self.edit(block, block[j], N.substitute, mapping))
                    loads.changed(j)
                if later and isinstance(v, gast.Name):
                    where[v.id] = sorted(set(where.get(v.id, ())) | set(later))
                if a in subscripted and isinstance(v, gast.Name):
                    subscripted.add(v.id)
                edits.append((block, self.statement_facts(s), None))
                block[i] = gast.Pass()
                loads.changed(i)
        if edits:
            self.drop_pass(fdef)
            self.recount(edits)
        return bool(edits)

    def cse(self, fdef):
        info, blocks = self.facts(fdef)
        mutated = info.mutated
        edits = []
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
                loads = self.reads(s)
                if not all(info.single(n) for n in loads) or any(n in mutated for n in loads):
                    continue
                if not self.pure(s.value):
                    continue
                key = N.fingerprint(s.value)
                if key in seen:
                    edits.append(self.edit(block, s, setattr, "value", N.name(seen[key])))
                else:
                    seen[key] = a
        if edits:
            self.recount(edits)
        return bool(edits)

    def substitute(self, fdef):
        """Inline generated temporaries used exactly once, right where they are used."""
        info, blocks = self.facts(fdef)
        changed = False
        for block in blocks:
            loads = Loads(block, self.reads)
            i = 0
            while i < len(block):
                s = block[i]
                if (is_plain_assign(s) and generated(s.targets[0].id, self.user)
                        and s.targets[0].id not in self.keep
                        and info.once(s.targets[0].id)
                        and info.uses.get(s.targets[0].id, 0) == 1 and self.pure(s.value)):
                    j = self._use_site(block, loads, i, s.targets[0].id)
                    if j is not None and expr_size(block[j]) + expr_size(s.value) > _MAX_INLINE:
                        j = None
                    if j is not None:
                        mapping = {s.targets[0].id: s.value}
                        if isinstance(block[j], gast.If):  # the test may be the name itself
                            block[j].test = N.substitute(block[j].test, mapping, copy=False)
                        else:  # (read once: the value moves, uncopied)
                            N.substitute(block[j], mapping, copy=False)
                        block[i] = gast.Pass()  # counts stay valid: the use just moved
                        loads.changed(i)
                        loads.changed(j)
                        self.touch(block[j])
                        changed = True
                i += 1
        if changed:
            self.drop_pass(fdef)
            # every count but the inlined names' (gone from the tree) is as it was, and
            # no statement list came or went
            self._facts_kept = True
        return changed

    def _use_site(self, block, loads, i, name):
        reads = loads[i]  # (what block[i] = value reads)
        for j in range(i + 1, len(block)):
            s = block[j]
            if N.is_comment(s) or isinstance(s, gast.Pass):
                continue
            if loads[j].get(name):
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


class Unit:
    """One function under optimisation: its tree, what its code may assume (argument
    shapes ``spec``, dtypes ``kinds``), the optimiser, and the facts about the tree that
    the stages share (its shapes, the attributes it holds), each computed when first
    asked for and forgotten when a stage changes the tree."""

    def __init__(self, fdef, ns, spec, params, keep, kinds, outside):
        self.fdef, self.ns, self.spec, self.params, self.kinds = fdef, ns, spec, params, kinds
        self.keep, self.outside = set(keep), set(outside)
        self.opt = Optimizer(ns, self.keep)
        self._shapes = self._found = None

    def shapes(self):
        """The :class:`shapes.Shapes` of the tree as it is now."""
        if self._shapes is None:
            self._shapes = shapes.analyse(self.fdef, self.ns, self.spec, self.params)
        return self._shapes

    def found(self):
        """The attribute names (``outer``, ``broadcast_to``, ``sum``) in the tree, and
        ``@`` if it multiplies matrices."""
        if self._found is None:
            self._found = attributes_in(self.fdef)
        return self._found

    def changed(self, kept=frozenset()):
        """The tree changed: forget the facts about it but those ``kept`` (``"shapes"``:
        a change that leaves every name the shape it had)."""
        self._found = None
        if "shapes" not in kept:
            self._shapes = None


class Stage(NamedTuple):
    name: str
    when: Callable    # Unit -> whether the stage applies
    run: Callable     # Unit -> True if it changed the tree
    then: object      # after a change: the facts to run the optimiser on, or passes
    kept: frozenset = frozenset()  # the Unit's facts its change leaves true (Unit.changed;
    # "statements": it takes statements out, puts new ones in, changes none in place)


def _shaped(u):
    return u.spec is not None


def _float64(u):  # what the arguments' dtypes say of the tree's float64 values, or None
    return None if u.kinds is None else inplace.float64_test(u.fdef, u.ns, u.kinds, u.params)


def _recompute(u):
    """Loop temporaries recomputed (remat: new statements, none changed in place), then
    the optimiser (no pop separates them from their one use now) and the recomputed sums
    written as contractions."""
    if not rematerialise(u.fdef, u.shapes, u.opt.pure):
        return False
    u.opt.run(u.fdef)
    u.changed()
    if "sum" in u.found() and u.kinds is not None:
        contract_sums(u.fdef, u.shapes(), _float64(u))
    return True


def _untold(rewrite):
    """``rewrite(unit)``, for a rewrite that does not tell whether it changed the tree:
    taken to have changed it."""
    return lambda u: rewrite(u) or True


def _rebuilt(rewrite):
    """``rewrite(unit)`` made to tell whether it changed the tree, for a rewrite that
    only ever puts new statements in place of old ones (and says nothing)."""
    def run(u):
        before = [(block, list(block)) for block in N.blocks(u.fdef)]
        rewrite(u)
        return any(len(b) != len(old) or any(x is not y for x, y in zip(b, old))
                   for b, old in before)
    return run


def _prune(u):  # (the pushes and pops of values nothing reads)
    return saves.prune_unread(u.fdef)


# What optimize does, in order: each stage where it applies, and after a change, the
# optimiser's passes again (over what the change touched) or the passes named.
STAGES = (
    Stage("adjoints known to be zero", lambda u: True,
          lambda u: zero_adjoints(u.fdef), None),
    Stage("shape specialisation", _shaped,
          _untold(lambda u: shapes_rewrite.specialize(u.fdef, u.ns, u.spec, u.params)), None),
    Stage("saves nothing reads yet", lambda u: True, _prune, None,  # (restores read for a
          frozenset({"statements"})),  # shape only: gone before the passes scan them)
    Stage("optimise", lambda u: True, lambda u: True, EVERYTHING),
    Stage("broadcasts and reshapes of products", lambda u: _shaped(u) and (
        "broadcast_to" in u.found() or "reshape" in u.found()),
        lambda u: shapes_rewrite.simplify_products(u.fdef, u.ns, u.spec, u.params),
        EVERYTHING),
    Stage("sums of products as contractions", lambda u: _shaped(u) and (
        "outer" in u.found() or "sum" in u.found()),
        lambda u: contract_sums(u.fdef, u.shapes(), _float64(u)), EVERYTHING),
    Stage("column scalings through matrix products",
          lambda u: _shaped(u) and "@" in u.found(),
          lambda u: scale_through_products(u.fdef, u.shapes()), EVERYTHING),
    Stage("saves nothing reads", lambda u: True, _prune, COUNTS, frozenset({"statements"})),
    Stage("loop temporaries recomputed", lambda u: _shaped(u) and any(
        isinstance(s, gast.For) for s in u.fdef.body),
        _recompute, None),  # (then the optimiser, and recomputed sums as contractions)
    Stage("copies of values changed in place", lambda u: True,
          lambda u: unalias(u.fdef, set(u.params) | u.keep | u.outside, u.ns), None),
    Stage("in-place updates of fresh arrays", lambda u: _shaped(u) and u.kinds is not None,
          _rebuilt(lambda u: inplace.rewrite(u.fdef, u.ns, u.spec, u.kinds, u.params,
                                             u.shapes)),
          None, frozenset({"shapes"})),  # (a value computed into its own array)
    Stage("large temporaries released", _shaped,
          lambda u: release(u.fdef, u.shapes, u.keep | u.outside), None),
    Stage("one push per loop iteration", lambda u: True,
          _untold(lambda u: batches.batch_loop_saves(u.fdef)), None),
)


def optimize(fdef, ns, specialize, params, keep, kinds=None, outside=()):
    """Optimise ``fdef`` (:data:`STAGES`); ``specialize`` (argument shapes) and ``kinds``
    (argument dtypes, :func:`inplace.kinds_of`) are what the code may assume about its
    arguments. ``outside``: data the function reads from its module or closure (the
    user's objects, like its arguments: a gradient that is one of them is returned as a
    copy)."""
    u = Unit(fdef, ns, specialize, params, keep, kinds, outside)
    for stage in STAGES:
        if not (stage.when(u) and stage.run(u)):
            continue
        u.changed(stage.kept)
        if "statements" not in stage.kept:
            u.opt.forget_statements()
        if isinstance(stage.then, frozenset):
            u.opt.run(fdef, changed=stage.then)
        elif stage.then:
            for name in stage.then:
                getattr(u.opt, name)(fdef)
            u.changed()
            u.opt.forget_statements()
    return fdef

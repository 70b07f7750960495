"""Pass 8c (continued): which arrays the generated code owns, and adjoints accumulated in
place in them.

A reverse loop adds to the adjoint of a loop-carried value each iteration: ``W_bar =
W_bar + h.T @ g`` allocates a new (n, m) array per step, where a hand-written gradient
keeps one buffer and adds into it. That is exact (``a += e`` is the same float64
operation as ``a = a + e``) only where no one else can see the buffer: the name owns its
array (:class:`Owners`). Ownership is decided for the whole function at once, without
following its flow: every value bound to the name is new, and the name's value is never
given to anything that may keep it (another name, a container, the stack, a call, a view);
reading it in arithmetic, reductions and ufuncs is fine, and so is returning it at the end.
"""

from __future__ import annotations

import gast
import numpy as np

from ..prims import facts
from .. import runtime
from ..ir import nodes as N
from ..front.resolve import MISSING, static_value
from ..ad.saves import statements

F = "float64"   # a float64 array or NumPy scalar (the kinds of :mod:`inplace`)
W = "weak"      # a Python bool, int or float: it takes the other operand's dtype
ARITH = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow, gast.MatMult, gast.FloorDiv,
          gast.Mod)
_ACCUMULATE = (gast.Add, gast.Sub, gast.Mult)
_METADATA = ("shape", "ndim", "dtype", "size")


class Owners:
    """Which names own their array: every value bound to the name is new (an arithmetic
    result, a constant, a call that makes a new array), and no value the name holds is
    ever seen by anything else: no other name, container, stack, call or view is given it
    (only the function's last statement may return it). Writing into such an array
    changes nothing any other name can read."""

    def __init__(self, fdef, ns, exclude):
        self.ns = ns
        self.escaped = set(exclude)
        self.bindings = {}  # name -> the values bound to it (None: not a plain binding)
        self.entries = {}   # name -> its assignments of values not new, outside any block
        for a in fdef.args.args:
            self.escaped.add(a.id)
        last = fdef.body[-1] if fdef.body else None
        for block in N.blocks(fdef):
            top = block is fdef.body
            for s in block:
                self.statement(s, s is last, top)

    def owned(self, name, copied=False):
        """Whether ``name`` owns its array (``copied``: once its ``entries`` are copies)."""
        values = self.bindings.get(name)
        return name not in self.escaped and bool(values) and None not in values \
            and (copied or not self.entries.get(name))

    def statement(self, s, last, top=False):
        if isinstance(s, gast.Assign):
            self.escape(s.value)
            for t in s.targets:
                if isinstance(t, gast.Name) and not self.fresh(s.value) and top \
                        and len(s.targets) == 1:
                    self.bind(t.id, s.value)
                    self.entries.setdefault(t.id, []).append(s)
                elif isinstance(t, gast.Name):
                    self.bind(t.id, s.value if self.fresh(s.value) else None)
                else:
                    self.expr(t)
                    for n in N.names_in(t, gast.Store):
                        self.bind(n, None)
        elif isinstance(s, gast.AugAssign):
            self.escape(s.value)
            if not isinstance(s.target, gast.Name):
                self.expr(s.target)
        elif isinstance(s, gast.Return) and last and s.value is not None:
            self.expr(s.value)  # (returned at the end: nothing runs after it)
        elif isinstance(s, (gast.Expr, gast.Return)):
            self.escape(s.value)
        elif isinstance(s, (gast.For, gast.If, gast.While)):
            head = s.iter if isinstance(s, gast.For) else s.test
            self.escape(head)
            if isinstance(s, gast.For):
                for n in N.names_in(s.target, gast.Store):
                    self.bind(n, None)
        elif not isinstance(s, (gast.Pass, gast.Break, gast.Continue)):
            for n in N.names_in(s):  # (with, try, nested functions ...: anything goes)
                self.escaped.add(n)
                self.bind(n, None)

    def bind(self, name, value):
        self.bindings.setdefault(name, []).append(value)

    def escape(self, e):
        if e is not None:
            self.escaped.update(self.expr(e))

    def expr(self, e):
        """The names whose array ``e``'s value may share (those passed anywhere that may
        keep them escape on the way)."""
        if isinstance(e, gast.Name):
            return {e.id}
        if isinstance(e, gast.Constant):
            return set()
        if isinstance(e, (gast.BinOp, gast.UnaryOp, gast.Compare)):
            # (its operands, as gast.iter_child_nodes gives them, without the operators)
            for child in (e.left, e.right) if e.__class__ is gast.BinOp else (
                    (e.operand,) if e.__class__ is gast.UnaryOp else [e.left, *e.comparators]):
                if isinstance(child, (gast.Tuple, gast.List, gast.Set, gast.Dict)):
                    self.escape(child)  # ([a] + rest: a list holding a)
                elif isinstance(child, gast.expr):
                    self.expr(child)  # an operand is read: the result is a new value
            return set()
        if isinstance(e, gast.Attribute):
            inner = self.expr(e.value)
            return set() if e.attr in _METADATA else inner
        if isinstance(e, gast.Subscript):
            self.escape(e.slice)
            return self.expr(e.value)
        if isinstance(e, gast.Call):
            inner = set()
            for a in e.args:
                inner |= self.expr(a)
            for k in e.keywords:
                self.escape(k.value)
            if self.makes_new(e):
                return set()
            fn = static_value(e.func, self.ns)
            if fn is not MISSING and facts.of(fn).view:
                return inner  # (a NumPy view: it shares its argument's data, keeps nothing)
            self.escaped.update(inner)  # (the callee may keep an argument)
            return self.expr(e.func) | inner
        if isinstance(e, (gast.Tuple, gast.List, gast.Set, gast.IfExp, gast.BoolOp,
                          gast.Starred, gast.Dict)):
            out = set()
            for child in gast.iter_child_nodes(e):
                out |= self.expr(child)
            return out
        self.escaped.update(N.names_in(e))  # (a lambda, a comprehension ...)
        return set()

    def makes_new(self, call):
        """A call whose result is a new array, made of what it reads: the arguments are
        read, never kept."""
        if isinstance(call.func, gast.Name) and call.func.id in runtime.HELPERS:
            return facts.of_helper(call.func.id).fresh
        fn = static_value(call.func, self.ns)
        if fn is MISSING:
            return False
        f = facts.of(fn)
        # (shaped, same kind and not a view: a reduction or a scan, a new array)
        return f.fresh or f.float_ufunc or isinstance(fn, np.ufunc) \
            or f.shaped and f.same_kind and not f.view

    def fresh(self, e):
        """Every value ``e`` gives is new (or immutable: a constant, None included; ``a +=
        e`` then rebinds ``a``, or fails as ``a = a + e`` would)."""
        if isinstance(e, gast.Constant):
            return True
        if isinstance(e, gast.BinOp):
            return isinstance(e.op, ARITH)
        if isinstance(e, gast.UnaryOp):
            return isinstance(e.op, (gast.USub, gast.UAdd))
        return isinstance(e, gast.Call) and not any(k.arg == "out" for k in e.keywords) \
            and self.makes_new(e)


def accumulate(fdef, ns, rw, exclude, make_owners=None, in_place=None):
    """``a = a + e`` -> ``a += e`` (also ``-``, ``*``, and ``a = e + a``) where ``a`` owns
    its array (:class:`Owners`) and every array it holds is a float64 array of ``e``'s
    shape: the loop-carried adjoint ``W_bar`` is then one buffer, updated in place each
    iteration, where ``W_bar = W_bar + ...`` allocated a new one (``make_owners()``: the
    function's :class:`Owners`, if the caller has them). A number ``a`` (its
    ``0.0`` placeholder) is simply rebound, as before. An accumulation in a loop whose
    name starts (outside any block) as a value it does not own (``x_bar = w``, a user's
    array) copies that value once, there; so does one outside a loop that adds or takes
    an ``e`` the caller writes in place (``in_place(e)``: np.diff's adjoint, as updates
    of two regions). And ``y[i] += -e`` -> ``y[i] -= e``."""
    owners = looped = None  # (each made when a candidate first needs it)
    for block in N.blocks(fdef):
        for i, s in enumerate(block):
            if isinstance(s, gast.AugAssign) and isinstance(s.op, (gast.Add, gast.Sub)) \
                    and isinstance(s.value, gast.UnaryOp) and isinstance(s.value.op, gast.USub) \
                    and rw.kinds.of(s.value) == F and rw.kinds.of(s.target) == F:
                s.op = gast.Sub() if isinstance(s.op, gast.Add) else gast.Add()
                s.value = s.value.operand
                continue
            a, op, e = _accumulation(s)
            if a is None or rw.kinds.of(e) != F or not rw.shapes.of(e):
                continue  # (numbers: nothing to gain)
            if owners is None:
                owners = make_owners() if make_owners else Owners(fdef, ns, exclude)
            if a in N.names_in(e) and not owners.fresh(e):
                continue  # (a + a.T: e shares a's data while a is written)
            # (in a loop: a value from outside that is not new is copied once, before it)
            if looped is None:  # (the statements in loops: none has changed yet)
                looped = {id(x) for loop in statements(fdef)
                          if isinstance(loop, (gast.For, gast.While))
                          for b in N.blocks(loop) for x in b}
            once = id(s) in looped or in_place is not None and isinstance(
                op, (gast.Add, gast.Sub)) and in_place(e)
            if (owners.owned(a) or once and owners.owned(a, copied=True)) \
                    and _shape_held(a, owners.bindings[a], rw):
                for entry in owners.entries.pop(a, ()):
                    entry.value = N.call("copy_of", [entry.value])
                if isinstance(op, gast.Add) and isinstance(e, gast.UnaryOp) \
                        and isinstance(e.op, gast.USub):
                    op, e = gast.Sub(), e.operand
                block[i] = N.set_location([N.aug_assign(a, op, e)],
                                          getattr(s, "lineno", None))[0]


def _accumulation(s):
    """``a = a op e`` (or ``a = e op a`` for a commutative op), as (a, op, e)."""
    if not (isinstance(s, gast.Assign) and len(s.targets) == 1
            and isinstance(s.targets[0], gast.Name) and isinstance(s.value, gast.BinOp)
            and isinstance(s.value.op, _ACCUMULATE)):
        return None, None, None
    a, v = s.targets[0].id, s.value
    if isinstance(v.left, gast.Name) and v.left.id == a:
        return a, v.op, v.right
    if isinstance(v.right, gast.Name) and v.right.id == a and not isinstance(v.op, gast.Sub):
        return a, v.op, v.left
    return None, None, None


def _shape_held(a, values, rw):
    """The shape of every array ``a`` holds, given the ``values`` bound to it (None
    unless each is a number, a float64 array of that shape, or an accumulation ``a op e``
    whose ``e`` broadcasts into it; a number grows to the shape of the first array added
    to it, so then every one must have that shape)."""
    held, added = set(), set()
    numbers = False
    for v in values:
        if isinstance(v, gast.Constant):
            numbers = True
            continue
        name, _, e = _accumulation(N.assign(a, v))
        if name is not None:
            if rw.kinds.of(e) not in (F, W):
                return None
            added.add(rw.shapes.of(e))
        elif rw.kinds.of(v) == F:
            held.add(rw.shapes.of(v))
        else:
            return None
    if None in held or None in added:
        return None
    if numbers:
        return held.pop() if len(held | added) == 1 and held else (
            added.pop() if len(added) == 1 and not held else None)
    if len(held) != 1:
        return None
    shape = held.pop()
    try:
        return shape if all(np.broadcast_shapes(shape, s) == shape for s in added) else None
    except ValueError:
        return None


def read_before_change(fdef, rest, a, y, changes, escaped):
    """After ``a = y``: whether every read of ``a`` is in ``rest`` (the statements that
    follow in its block) before anything may change ``y`` in place, and none of them gives
    ``a`` to anything that may keep it (``escaped``, :class:`Owners`): then ``a`` needs no
    copy of ``y``. ``changes(s, y)``: whether statement ``s`` may change ``y`` in place."""
    if a in escaped:
        return False
    reads = 0
    changed = rebound = False
    for s in rest:
        mine = N.names_in(s, gast.Load).count(a)
        if mine and changed:
            return False
        reads += mine
        if rebound:
            continue
        if isinstance(s, (gast.For, gast.While, gast.If, gast.With, gast.Try)):
            changed = changed or y in N.names_in(s)
            if mine and changed:
                return False
        elif changes(s, y):
            changed = True
            if mine:
                return False
        elif isinstance(s, gast.Assign) and any(isinstance(t, gast.Name) and t.id == y
                                                for t in s.targets):
            rebound = True  # (later changes are to another array)
    return reads == N.names_in(fdef, gast.Load).count(a)


def dying_of(fdef, owners):
    """For each statement at the function's top level (id -> names): the names of arrays
    the function owns (:class:`Owners`) that it reads once and for the last time, so
    their array is free to hold its result."""
    out, later = {}, set()
    for s in reversed(fdef.body):
        reads, named = _reads_and_names(s)
        out[id(s)] = {n for n, c in reads.items() if c == 1 and n not in later
                      and owners.owned(n)}
        later |= named
    return out


def _reads_and_names(stmt):
    """How often ``stmt`` reads each name, and every name in it: one walk."""
    reads, named = {}, set()
    todo = [stmt]
    pop, name_type, const_type, load = todo.pop, gast.Name, gast.Constant, gast.Load
    while todo:
        n = pop()
        cls = n.__class__
        if cls is name_type:
            named.add(n.id)
            if isinstance(n.ctx, load):
                reads[n.id] = reads.get(n.id, 0) + 1
            if n.annotation is None:
                continue
        elif cls is const_type:
            continue
        N.queue_children(n, todo)
    return reads, named


def adds_undiff(fdef):
    """Whether a statement's value is a call of ``undiff`` (perhaps negated), or adds or
    multiplies one: where none is, :func:`undiff.expand` and :func:`undiff.accumulated`
    (after :func:`accumulate` made ``a = a + undiff(...)`` ``a += undiff(...)``)
    have nothing to rewrite. (A scan of the statements, not of every node.)"""
    for block in N.blocks(fdef):
        for s in block:
            if not isinstance(s, (gast.Assign, gast.AugAssign)):
                continue
            v = s.value
            for e in (v, v.left, v.right) if isinstance(v, gast.BinOp) else (v,):
                if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):
                    e = e.operand
                if isinstance(e, gast.Call) and isinstance(e.func, gast.Name) \
                        and e.func.id == "undiff":
                    return True
    return False


def no_calls(e):
    """No calls: evaluating ``e`` later than before changes nothing."""
    return all(isinstance(n, (gast.Name, gast.Constant, gast.BinOp, gast.UnaryOp,
                              gast.operator, gast.unaryop, gast.expr_context,
                              gast.Attribute, gast.Subscript, gast.Slice, gast.Tuple))
               for n in N.walk(e))

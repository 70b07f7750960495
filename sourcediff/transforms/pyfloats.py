"""Scalar code runs in Python floats.

``np.exp(z)`` of a Python float is a NumPy ``float64`` scalar, and so is everything
computed from it: each later ``+`` or ``*`` of the forward and reverse pass is NumPy's
scalar arithmetic (40-60 ns) where Python's float arithmetic takes 15 ns. In the entry
code of an adjoint specialised to Python scalars (every argument a float, int or bool),
:func:`plan` finds the NumPy calls whose result is surely a ``float64`` scalar and makes
it a Python float, ``float(np.exp(z))``: the same IEEE double.

Both are IEEE doubles and both call the C library, so ``+ - *``, unary ``-``, ``abs``
and comparisons give the same bits, and ``/ // % **`` too where Python raises no
exception. They differ at non-finite points only: Python raises ZeroDivisionError or
OverflowError where NumPy returns inf or nan, and a negative float to a non-integer power
is a complex number in Python, nan in NumPy. So

* a conversion is kept only where every use of the value it changes is one of those
  operations, with real scalar operands (or a ufunc, a ``math`` function, ``float()``,
  a stack push and pop, a gradient finished by ``float()``): any other use (an
  attribute, a helper, an unknown call...) and the conversions that reach it are
  dropped;
* where a division, modulo or power computes on a converted value, the entry code
  catches ArithmeticError and runs the unconverted code instead (its result is today's
  exactly, exceptions included), and so it does where a gradient comes out inf or nan
  (NumPy's warnings are then the same, or its error under ``np.errstate``; a value
  returned inf or nan while the gradients are finite has no NumPy warning): only code
  that computes and does nothing else (no call into user code) is converted, so that it
  can run again;
* a power of a converted value that Python could make complex (its exponent not an
  integer constant, its base not a non-negative constant) runs in NumPy: the operand
  that is a ``float64`` without the conversion is given back as one (``_sd_f64``).

What a value's type is without the conversions is :mod:`pyfloat_types`' (a join over
every assignment of a name); which conversions reach it is found the same way.
"""

from __future__ import annotations

import gast
import numpy as np

from ..ir import nodes as N
from ..front.resolve import MISSING
from .pyfloat_types import (ARITH, COMPARE, F64, FLT, PYB, PYF, PYI, RAISING, RANGE, REAL,
                            UNSET, Types, join, never_complex, pure)

__all__ = ["PYB", "PYF", "PYI", "Plan", "plan", "rewrite"]


class Plan:
    """What :func:`plan` decided: the calls made floats, the powers kept in NumPy (the
    operand given back as a float64: ``"left"`` or ``"right"``), whether the code must run
    again unconverted where Python raises, and whether the returned value is given back
    as a float64."""

    def __init__(self, calls, wraps, raising, value_f64):
        self.calls, self.wraps = calls, wraps
        self.raising, self.value_f64 = raising, value_f64

    def moved(self, ids):
        """This plan for a copy of the tree (``ids``: a node's id -> its copy's)."""
        return Plan({ids[i] for i in self.calls}, {ids[i]: w for i, w in self.wraps.items()},
                    self.raising, self.value_f64)


class _Analysis(Types):
    def __init__(self, ns, params, kinds, local):
        super().__init__(ns, params, kinds, local)
        self.taint = {}     # name -> the conversions (call ids) its value may come from
        self.bad = set()    # conversions that reach a use they would change
        self.raising = set()  # conversions that reach a / // % ** (Python may raise)
        self.wraps = {}     # id(BinOp **) -> the operand given back as a float64
        self.active = set()
        self.pure = True    # every call the body makes only computes

    def spoil(self, ts):
        self.bad |= ts

    def expr(self, e):
        """The conversions ``e``'s value comes from (uses that they would change spoil
        them)."""
        if isinstance(e, (gast.Constant, type(None))):
            return set()
        if isinstance(e, gast.Name):
            return set(self.taint.get(e.id, ()))
        if isinstance(e, gast.BinOp):
            return self.binop(e)
        if isinstance(e, gast.UnaryOp):
            t = self.expr(e.operand)
            if isinstance(e.op, gast.Not):
                return set()
            if t and self.type_of(e.operand) not in (F64, FLT):
                self.spoil(t)
                return set()
            return t
        if isinstance(e, gast.Compare):
            ts = set().union(*[self.expr(x) for x in [e.left, *e.comparators]])
            if ts and not (all(isinstance(op, COMPARE) for op in e.ops) and REAL.issuperset(
                    self.type_of(x) for x in [e.left, *e.comparators])):
                self.spoil(ts)
                return set()
            return ts  # (a bool, not a np.bool_: fit for a test, not for arithmetic)
        if isinstance(e, gast.BoolOp):
            return set().union(*[self.expr(v) for v in e.values])
        if isinstance(e, gast.IfExp):
            self.expr(e.test)
            return self.expr(e.body) | self.expr(e.orelse)
        if isinstance(e, gast.Call):
            return self.call(e)
        for child in gast.iter_child_nodes(e):  # anything else: spoiled
            if isinstance(child, gast.expr):
                self.spoil(self.expr(child))
        return set()

    def binop(self, e):
        left, right = self.expr(e.left), self.expr(e.right)
        both = left | right
        if not both:
            return set()
        a, b = self.type_of(e.left), self.type_of(e.right)
        if not isinstance(e.op, ARITH) or a not in REAL or b not in REAL:
            self.spoil(both)
            return set()
        if isinstance(e.op, gast.Pow) and not never_complex(e):
            # kept in NumPy: the operand that is a float64 without the conversions
            if left and a == F64:
                self.wraps[id(e)] = "left"
            elif right and b == F64:
                self.wraps[id(e)] = "right"
            else:
                self.spoil(both)
            return set()  # (a float64, as without the conversions)
        if isinstance(e.op, RAISING):
            self.raising |= both
        return both

    def call(self, e):
        fn = self.callee(e.func)
        args = [self.expr(a) for a in e.args]
        kw = set().union(*[self.expr(k.value) for k in e.keywords])
        ts = set().union(*args) | kw
        if fn is MISSING:
            if N.is_pop(e) and e.func.value.id in self.items:
                return set(self.taint.get(e.func.value.id, ()))  # (a push: see stmt)
            self.pure = False
            self.spoil(ts)
            if not isinstance(e.func, gast.Name):
                self.spoil(self.expr(e.func))
            return set()
        self.pure &= pure(fn) and not any(k.arg in ("out", None) for k in e.keywords)
        t = self.type_of(e)
        if t is None or kw:
            self.spoil(ts)  # (a helper, or arguments that are not real scalars)
            return set()
        if fn in (abs, min, max):
            return ts  # (one of its arguments)
        return {id(e)} if id(e) in self.active else set()

    def stmt(self, s):
        """Types and conversions of the names ``s`` assigns."""
        if N.is_comment(s) or isinstance(s, gast.Pass):
            return
        if isinstance(s, gast.Assign) and len(s.targets) == 1 \
                and isinstance(s.targets[0], gast.Name):
            if isinstance(s.value, gast.Constant) and s.value.value is None \
                    or N.is_pop(s.value) and N.anno(s, "pop") == s.targets[0].id:
                return  # (a placeholder, or a value the name held before: restored)
            self.bind(s.targets[0].id, self.type_of(s.value), self.expr(s.value))
            if isinstance(s.value, gast.List) and not s.value.elts:
                self.items.setdefault(s.targets[0].id, UNSET)  # a stack
        elif isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name):
            e = gast.BinOp(left=gast.Name(id=s.target.id, ctx=gast.Load(), annotation=None,
                                          type_comment=None), op=s.op, right=s.value)
            kind, taint = self.type_of(e), self.expr(e)
            if self.wraps.pop(id(e), None) is not None:  # (x **= y: no operand to wrap)
                self.spoil(self.expr(e.left) | self.expr(s.value))
                taint = set()
            self.bind(s.target.id, kind, taint)
        elif isinstance(s, gast.Expr) and isinstance(s.value, gast.Call) and isinstance(
                s.value.func, gast.Attribute) and s.value.func.attr == "append" and isinstance(
                s.value.func.value, gast.Name) and s.value.func.value.id in self.items \
                and len(s.value.args) == 1 and not s.value.keywords:
            stack, item = s.value.func.value.id, s.value.args[0]
            # (a tuple pushed: each of its places, popped into a tuple of names)
            places = [(f"{stack}[{k}]", e) for k, e in enumerate(item.elts)] \
                if isinstance(item, gast.Tuple) else [(stack, item)]
            for key, e in places:
                self.items[key] = join(self.items.get(key, UNSET), self.type_of(e))
                self.taint[key] = self.taint.get(key, set()) | self.expr(e)
        elif isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Tuple) and all(
                isinstance(t, gast.Name) for t in s.targets[0].elts) and N.is_pop(s.value) \
                and s.value.func.value.id in self.items:
            stack = s.value.func.value.id
            for k, t in enumerate(s.targets[0].elts):
                self.bind(t.id, self.items.get(f"{stack}[{k}]"),
                          self.taint.get(f"{stack}[{k}]", set()))
        elif isinstance(s, gast.For):
            kind = PYI if self.type_of(s.iter) == RANGE else None
            self.spoil(self.expr(s.iter))
            for name in N.names_in(s.target, gast.Store):
                self.bind(name, kind, set())
            self.block(s.body)
            self.block(s.orelse)
        elif isinstance(s, (gast.If, gast.While)):
            self.expr(s.test)  # (a converted value's truth is the same)
            self.block(s.body)
            self.block(s.orelse)
        else:
            self.pure = False
            for node in N.walk(s):
                if isinstance(node, gast.expr) and not isinstance(node, gast.Name):
                    self.spoil(self.expr(node))
                elif isinstance(node, gast.Name):
                    if isinstance(node.ctx, gast.Store):
                        self.bind(node.id, None, set())
                    else:
                        self.spoil(self.expr(node))

    def bind(self, name, kind, taint):
        if kind != UNSET:
            self.env[name] = join(self.env.get(name, UNSET), kind)
        if taint:
            self.taint[name] = self.taint.get(name, set()) | taint

    def block(self, stmts):
        for s in stmts:
            self.stmt(s)

    def run(self, body):
        """One pass over ``body`` until nothing changes (a loop's values join)."""
        for _ in range(10):
            before = (dict(self.env), dict(self.items),
                      {k: frozenset(v) for k, v in self.taint.items()})
            self.bad, self.raising, self.wraps, self.pure = set(), set(), {}, True
            self.block(body)
            if (self.env, self.items, {k: frozenset(v) for k, v in self.taint.items()}) \
                    == before:
                return True
        return False


def plan(body, ns, params, kinds, returned):
    """The conversions of ``body`` (the adjoint's statements) for arguments of ``kinds``
    (PYF, PYI or PYB each); ``returned``: (expression, use) pairs of the values the entry
    code returns, the use ``"float"`` (finished by ``float()``), ``"check"`` (only checked
    to be a scalar), ``"value"`` (returned as it is) or ``None`` (anything). -> a
    :class:`Plan`, or None: nothing to convert."""
    local, calls = set(), []
    for s in body:
        for n in N.walk(s):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                local.add(n.id)
            elif isinstance(n, gast.Call):
                calls.append(n)
    a = _Analysis(ns, params, kinds, local)
    if not a.run(body) or not a.pure:  # (the types first: no conversion yet)
        return None  # (code that does more than compute could not run again)
    # every NumPy call that surely gives a float64 is a candidate; those a use spoils go
    a.active = {id(n) for n in calls
                if isinstance(a.callee(n.func), np.ufunc) and a.type_of(n) == F64}
    while a.active:
        a.taint = {}
        if not a.run(body):
            return None
        value_f64 = False
        for e, use in returned:
            ts = a.expr(e)
            if not ts or use in ("float", "check"):
                continue
            if use == "value" and a.type_of(e) == F64:
                value_f64 = True
            else:
                a.spoil(ts)
        if not a.bad & a.active:
            return Plan(a.active, a.wraps, bool(a.raising), value_f64)
        a.active -= a.bad
    return None


class _Rewrite(gast.NodeTransformer):
    def __init__(self, plan):
        self.plan = plan
        self.done = {}  # id(node) -> what it became (a node the tree holds twice: once)

    def visit_Call(self, node):
        if id(node) not in self.done:
            new = self.generic_visit(node)
            self.done[id(node)] = N.call("float", [new]) if id(node) in self.plan.calls \
                else new
        return self.done[id(node)]

    def visit_BinOp(self, node):
        if id(node) not in self.done:
            side = self.plan.wraps.get(id(node))
            self.done[id(node)] = node = self.generic_visit(node)
            if side is not None:
                setattr(node, side, N.call("_sd_f64", [getattr(node, side)]))
        return self.done[id(node)]


def rewrite(nodes, plan):
    """``nodes`` (statements or expressions of the tree :func:`plan` read) with its
    conversions, in place."""
    rw = _Rewrite(plan)
    return [rw.visit(n) for n in nodes]

"""Pass 8c: update fresh arrays in place, as a careful hand-written gradient does.

``h = np.tanh(x @ W1 + b1)`` allocates three arrays where a person writes::

    h = x @ W1
    h += b1
    np.tanh(h, out=h)

An operation whose operand is a *fresh* array (the result of another operation,
never a name or a view, so nothing else can see it) may write its result into
that operand: ``a = L op R`` becomes ``a = L; a op= R``, ``a = L op R`` with ``R``
fresh becomes ``a = R; a op= L`` (``+``, ``*``) or ``np.subtract(L, a, out=a)``,
and ``a = np.tanh(L)`` becomes ``a = L; np.tanh(a, out=a)``. Each step is exact:
the same float64 operation on the same values, so the results are identical bit
for bit. That holds only where the fresh operand is surely a float64 array with
the result's shape and the other operand is real, which this pass checks from
the argument types, shapes and dtypes the adjoint is specialised for. It runs
last, on the finished function, and only on arrays of at least ``MIN_SIZE``
elements: below that an allocation costs less than the extra line to read.
"""

from __future__ import annotations

import functools

import gast
import numpy as np

from ..prims import facts
from ..ir import nodes as N
from . import shapes
from ..values.duck import is_duck
from .owners import ARITH as _ARITH
from .owners import F, Owners, W, accumulate, adds_undiff, dying_of, no_calls
from ..front.resolve import MISSING, static_value
from . import regions, undiff
from .usage import pure_expr

MIN_SIZE = 4096
_PLACE = "<value>"  # (the name of a value stored into an item, until it is given one)

R = "real"      # any other bool, integer or float dtype (never complex)
_IN_PLACE = {gast.Add: "add", gast.Sub: "subtract", gast.Mult: "multiply", gast.Div: "divide"}


def kind_of(value):
    """The kind of an argument value (None: not known to be real)."""
    t = type(value)
    if t is float or t is int or t is bool:
        return W
    if t is np.ndarray or isinstance(value, np.generic):
        if value.dtype == np.float64:
            return F
        if value.dtype.kind in "biuf":
            return R
    return None


def kinds_of(args):
    """The specialisation of a call by dtype: one kind per argument; None (no in-place
    updates at all) where an argument is a duck array (a Dask array...): its values,
    and the cotangents that flow from them, are lazy, never buffers to write into."""
    if any(is_duck(a) for a in args):
        return None
    return tuple(kind_of(a) for a in args)


def _combine(a, b):
    """The kind of an arithmetic result."""
    if a is None or b is None:
        return None
    if F in (a, b):
        return F
    return W if a == b == W else R


def _join(a, b):
    """The kind of a name assigned in two places."""
    return a if a == b else (None if a is None or b is None else R)


class Kinds:
    def __init__(self, ns, env):
        self.ns = ns
        self.env = env      # name -> kind

    def of(self, e):
        cls = e.__class__  # (by class, the commonest first: gast's have no subclasses)
        if cls is gast.Name:
            return self.env.get(e.id)  # (None: data from outside may change between calls)
        if cls is gast.BinOp:
            return _combine(self.of(e.left), self.of(e.right)) if isinstance(e.op, _ARITH) \
                else None
        if cls is gast.Call:
            return self.call(e)
        if cls is gast.Constant:
            return W if isinstance(e.value, (bool, int, float)) else None
        if cls is gast.Attribute:
            return self.of(e.value) if e.attr == "T" else None
        if cls is gast.Subscript:
            if isinstance(e.value, gast.Attribute) and e.value.attr == "shape":
                return W
            k = self.of(e.value)
            return k if k in (F, R) else None   # (a Python list's items could be anything)
        if cls is gast.UnaryOp:
            return self.of(e.operand) if isinstance(e.op, (gast.USub, gast.UAdd)) else None
        if cls is gast.Compare:
            return R  # a bool, or an array of them
        if cls is gast.IfExp:
            return _join(self.of(e.body), self.of(e.orelse))
        return None

    def call(self, e):
        if not e.args:
            return None
        first = self.of(e.args[0])
        # (same_kind: a float64 stays float64; float_ufunc: a unary ufunc, float64 out)
        if isinstance(e.func, gast.Name) and facts.of_helper(e.func.id).same_kind:
            return first if first in (F, None) else R
        fn = static_value(e.func, self.ns)
        if fn is MISSING:
            return None
        if getattr(fn, "__module__", None) == "math":
            return W  # (a Python number; frexp's and modf's tuples are never F)
        known = facts.of(fn)
        if known.shape_arg and len(e.args) == 1 and not e.keywords:
            return F  # np.zeros(shape): float64 unless a dtype is given
        if known.same_kind or known.float_ufunc and len(e.args) == 1:
            return first if first in (F, None) else R
        k = known.common_kind  # (np.dot, np.einsum: the operands' common dtype)
        if k is not None and len(e.args) > k and all(_whole(w.value) for w in e.keywords) \
                and not any(
                isinstance(a, gast.Starred) for a in e.args):
            return functools.reduce(_combine, [self.of(a) for a in e.args[k:]])
        return None


def _whole(e):
    """An int written in the code (``axis=-2``): an option, never a dtype or an operand."""
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):
        e = e.operand
    return isinstance(e, gast.Constant) and type(e.value) is int


class _Reading(Kinds):
    """:class:`Kinds` noting the kind each name had when first read in a round of
    :func:`infer` (``seen``), and what each statement read when last evaluated: one that
    would read the same kinds again binds what it bound, which changes nothing."""

    def __init__(self, ns, env):
        super().__init__(ns, env)
        self.seen = {}
        self.reads = {}  # what the statement at hand reads
        self.last = {}   # id(statement) -> (statement, what it read)

    def of(self, e):
        if e.__class__ is gast.Name:
            kind = self.env.get(e.id)
            self.seen.setdefault(e.id, kind)
            self.reads.setdefault(e.id, kind)
            return kind
        return Kinds.of(self, e)

    def same(self, s):
        """Whether statement ``s`` would read what it read last time (then it is not
        evaluated again: its reads count as this round's); else it is evaluated next."""
        hit = self.last.get(id(s))
        if hit is None or hit[0] is not s or any(
                self.env.get(n) != v for n, v in hit[1].items()):
            self.reads = {}
            self.last[id(s)] = (s, self.reads)
            return False
        for n, v in hit[1].items():
            self.seen.setdefault(n, v)
        return True


def infer(fdef, ns, kinds, params):
    """The kind of every name in ``fdef`` (a join over all its assignments)."""
    env = {p: k for p, k in zip(params, kinds)}   # (x = x.astype(...) joins to None)
    k = _Reading(ns, env)
    for _ in range(4):
        before = dict(env)
        k.seen = {}
        _visit(fdef.body, k, env)
        # (a name's kind only ever joins down, never back: where every name read had its
        # final kind when first read, another round reads the same and changes nothing)
        if env == before or all(env.get(n) == v for n, v in k.seen.items()):
            break
    return Kinds(ns, env)


def float64_test(fdef, ns, kinds, params):
    """A test of an expression of ``fdef`` (as it is now): surely a float64 array or a
    number? The kinds are inferred when first asked for (most callers never ask), or at
    ``test.prepare()``: a caller that changes ``fdef`` first calls that."""
    prepare = functools.cache(lambda: infer(fdef, ns, kinds, params))

    def test(e):
        return prepare().of(e) in (F, W)
    test.prepare = prepare
    return test


def _bind(env, name, kind):
    env[name] = _join(env[name], kind) if name in env else kind


def _visit(stmts, k, env):
    for s in stmts:
        if isinstance(s, gast.Assign):
            t = s.targets[0]
            if isinstance(t, gast.Name):
                if not (isinstance(s.value, gast.Constant) and s.value.value is None
                        or N.is_pop(s.value, "_stack") or k.same(s)):
                    # (None is a placeholder; a pop restores a value the name held before)
                    _bind(env, t.id, k.of(s.value))
            else:
                for n in N.names_in(t, gast.Store):
                    _bind(env, n, None)
        elif isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name):
            if not k.same(s):
                _bind(env, s.target.id, _combine(k.of(s.target), k.of(s.value)))
        elif isinstance(s, gast.For):
            for n in N.names_in(s.target, gast.Store):
                _bind(env, n, None)
            _visit(s.body, k, env)
            _visit(s.orelse, k, env)
        elif isinstance(s, (gast.If, gast.While, gast.With)):
            _visit(s.body, k, env)
            _visit(getattr(s, "orelse", []), k, env)
        elif isinstance(s, gast.Try):
            for block in (s.body, s.orelse, s.finalbody, *[h.body for h in s.handlers]):
                _visit(block, k, env)


def rewrite(fdef, ns, spec, kinds, params, analyse=None):
    """Rewrite ``a = <expression>`` statements of ``fdef`` to update fresh arrays in place
    (``analyse()``: the :class:`shapes.Shapes` of ``fdef`` as it is, if the caller has
    them). Every name keeps its shape: a value is computed into the array it is bound
    to."""
    if analyse is None:
        def analyse():
            return shapes.analyse(fdef, ns, spec, params)
    rw = _Rewriter(analyse, infer(fdef, ns, kinds, params), ns)
    diffs = adds_undiff(fdef)  # (the usual case: no np.diff)
    if diffs:
        undiff.expand(fdef, rw.kinds, lambda: rw.shapes, ns)
    regions.first_into_buffer(
        fdef, lambda p, e: rw.kinds.of(p) == F and rw.kinds.of(e) == F
        and rw.shapes.of(e) is not None and rw.shapes.of(e) == rw.shapes.of(p),
        rw.fresh, lambda e: pure_expr(e, ns))
    owners = functools.cache(lambda: Owners(fdef, ns, set(params)))
    if regions.rewrite(fdef, rw.kinds, owners):
        # (one Owners for the rewrites after this point: they change no binding it reads;
        # each lazy value below is made when first asked for: scalar code never needs it;
        # where regions changed nothing, the one it may have made holds)
        owners = functools.cache(lambda: Owners(fdef, ns, set(params)))
    accumulate(fdef, ns, rw, set(params), owners,
               lambda e: undiff.expandable(e, rw.kinds, rw.shapes))
    if diffs:
        undiff.accumulated(fdef, rw.kinds, lambda: rw.shapes, ns)
    names = N.anno(fdef, "names")
    dying = functools.cache(lambda: dying_of(fdef, owners()))
    for block in list(N.blocks(fdef)):
        new = []
        for s in block:
            rw.dying = lambda s=s: dying().get(id(s), ())
            out = [s]
            if not isinstance(s, (gast.Assign, gast.AugAssign)) or rw.kinds.of(s.value) != F:
                pass  # (expand would give the statement as it is: not a float64 value)
            elif isinstance(s, gast.Assign) and len(s.targets) == 1 \
                    and isinstance(s.targets[0], gast.Name):
                out = rw.expand(s.targets[0].id, s.value)
            elif names is not None and isinstance(
                    s.targets[0] if isinstance(s, gast.Assign) else getattr(s, "target", None),
                    gast.Subscript):
                # (buf[i] = e: e computed in place in an array of its own, then stored; or
                # where buf[i] is a view of buf's own array, computed in place there)
                out = rw.expand(_PLACE, s.value)
                into = _into_view(s, out, rw, owners) if len(out) > 1 else None
                if into is not None:
                    out = into
                if len(out) > 1:
                    t = names.temp("t")
                    for n in N.walk(gast.Module(body=out, type_ignores=[])):
                        if isinstance(n, gast.Name) and n.id == _PLACE:
                            n.id = t
                    if into is None:
                        s.value = N.name(t)
                        out.append(s)
            new += [s] if len(out) == 1 else N.set_location(out, getattr(s, "lineno", None))
        block[:] = new
    rw.dying = tuple
    regions.allocate_directly(fdef, lambda p: rw.kinds.of(N.name(p)) == F)
    return fdef


def _into_view(s, out, rw, owners):
    """``buf[a:b] = e``, ``e`` computed in place by ``out`` (:meth:`_Rewriter.expand`, into
    :data:`_PLACE`): the same statements writing into the view ``buf[a:b]`` itself, where
    that is buf's own float64 array (:class:`Owners`), ``e`` does not read it and has its
    shape, and the first statement is an operation that takes ``out=``; else None."""
    if not isinstance(s, gast.Assign):
        return None
    t, first = s.targets[0], out[0].value
    index = t.slice.elts if isinstance(t.slice, gast.Tuple) else [t.slice]
    if not (isinstance(t.value, gast.Name)
            and all(isinstance(i, gast.Slice) for i in index)    # (a view, never a copy)
            and rw.kinds.of(t.value) == F and owners().owned(t.value.id)
            and t.value.id not in N.names_in(s.value)):
        return None
    view = gast.Subscript(value=N.name(t.value.id), slice=N.clone(t.slice), ctx=gast.Load())
    if rw.shapes.of(view) is None or rw.shapes.of(view) != rw.shapes.of(s.value):
        return None
    place = N.keyword("out", N.name(_PLACE))
    if isinstance(first, gast.BinOp) and type(first.op) in _IN_PLACE:
        ufunc = N.attr(N.name("np"), _IN_PLACE[type(first.op)])
        compute = N.call(ufunc, [first.left, first.right], [place])
    elif isinstance(first, gast.UnaryOp) and isinstance(first.op, gast.USub):
        compute = N.call(N.attr(N.name("np"), "negative"), [first.operand], [place])
    elif isinstance(first, gast.Call) and len(first.args) == 1 and not first.keywords \
            and facts.of(static_value(first.func, rw.ns)).float_ufunc:
        compute = N.call(first.func, first.args, [place])
    else:
        return None
    return [N.assign(_PLACE, view), N.expr_stmt(compute)] + out[1:]


class _Rewriter:
    def __init__(self, analyse, kinds, ns):
        self._analyse, self.kinds, self.ns = analyse, kinds, ns
        self.dying = tuple  # () -> names whose array the statement at hand may take

    @functools.cached_property
    def shapes(self):
        """Shape inference, run at the first float64 value (scalar code never needs it;
        it runs before the first rewrite, so it sees the function unchanged)."""
        return self._analyse()

    def expand(self, a, e):
        """Statements that leave ``e``'s value in ``a``, in place where that is exact."""
        if self.kinds.of(e) != F:
            return [N.assign(a, e)]
        shape = self.shapes.of(e)
        if shape and int(np.prod(shape)) >= MIN_SIZE:
            if isinstance(e, gast.BinOp) and type(e.op) in _IN_PLACE:
                if self.fits(e.left, e.right, shape, a):
                    return self.expand(a, e.left) + [N.aug_assign(a, e.op, e.right)]
                if self.fits(e.right, e.left, shape, a) and no_calls(e.left):
                    # the right operand first: a + b and a * b are commutative, bit for bit
                    head = self.expand(a, e.right)
                    if isinstance(e.op, (gast.Add, gast.Mult)):
                        return head + [N.aug_assign(a, e.op, e.left)]
                    ufunc = N.attr(N.name("np"), _IN_PLACE[type(e.op)])
                    return head + [N.expr_stmt(N.call(ufunc, [e.left, N.name(a)], [
                        N.keyword("out", N.name(a))]))]
            if isinstance(e, gast.Call) and len(e.args) == 1 and not e.keywords \
                    and facts.of(static_value(e.func, self.ns)).float_ufunc \
                    and self.fits(e.args[0], None, shape, a):
                return self.expand(a, e.args[0]) + [N.expr_stmt(N.call(
                    e.func, [N.name(a)], [N.keyword("out", N.name(a))]))]
        return [N.assign(a, e)]

    def fits(self, fresh, other, shape, a):
        """Can ``fresh`` hold the result, and ``other`` (if any) be applied to it after
        ``a`` is bound to it?"""
        if not self.fresh(fresh) or self.kinds.of(fresh) != F or self.shapes.of(fresh) != shape:
            return False
        if other is None:
            return True
        if self.kinds.of(other) is None or a in N.names_in(other, gast.Load):
            return False
        s = self.shapes.of(other)
        if s is None:
            return False
        try:
            return np.broadcast_shapes(shape, s) == shape
        except ValueError:
            return False

    def fresh(self, e):
        """``e`` surely makes a new array (if an array at all) nothing else refers to, or
        is the last read of one."""
        if isinstance(e, gast.Name):
            return e.id in self.dying()
        if isinstance(e, gast.BinOp):
            return isinstance(e.op, _ARITH)
        if isinstance(e, gast.UnaryOp):
            return isinstance(e.op, gast.USub)
        if isinstance(e, gast.Call) and not e.keywords:
            fn = static_value(e.func, self.ns)
            return facts.of(fn).float_ufunc and len(e.args) == 1 \
                or facts.of(fn).fresh and len(e.args) == 2  # (np.dot(a, b, out))
        return False


"""Pass 8a: shape specialisation.

Given the shapes of the arguments at the first call (``()`` for a Python
scalar, ``a.shape`` for an array, ``None`` when unknown), infer the shape of
every value the forward pass computes (:mod:`shapes_rewrite` then drops
``unbroadcast`` wherever the cotangent already has its operand's shape).
Anything not known for certain stays ``None`` and keeps the generic helper,
so specialisation can make code faster but never wrong. Adjoints are taken to have the shape of
their primal: an adjoint starts as the symbolic zero ``0.0``, which is only ever
added to, and ``real_cot`` (instantiate) makes it real zeros before a rule reads it
(dropped in :mod:`shapes_rewrite` where the primal is a scalar or the adjoint surely
has its shape); so no helper is given a symbolic zero. A call into user code
(``split_call``) has the shape its callee returns at the arguments' shapes, read from
the callee's source (``compiled.output_shape_of``).
"""

from __future__ import annotations

import math
import types
import warnings

import gast
import numpy as np

from ..prims import facts
from ..errors import ArgumentError
from ..ir import nodes as N
from ..ir.compiler_hook import compiler
from ..ir.freevars import is_static
from ..ir.names import NAMES
from ..values.spec import spec
from ..front.resolve import MISSING, static_value
from .indices import MISSING_INDEX as _MISSING_INDEX
from .indices import const_index as _const_index
from .indices import is_none as _is_none
from ..ad.zeros import accumulates

_INTS = "<ints>"  # the key of Shapes.ints in an environment
SAFE = "<only added to>"  # the key of Shapes.safe in an environment
_SOME_INT = object()  # Shapes.ints: an int whose value changes (an item of a range)
_INT_OPS = {gast.Add: lambda a, b: a + b, gast.Sub: lambda a, b: a - b,
            gast.Mult: lambda a, b: a * b, gast.FloorDiv: lambda a, b: a // b}
_BINOP = {gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow, gast.FloorDiv, gast.Mod}


class Shapes:
    def __init__(self, ns, env, int_seqs=None):
        # name -> True while every assignment to it is a range or a shape (ints inside)
        self.int_seqs = {} if int_seqs is None else int_seqs
        self.ns = ns
        self.env = env      # name -> shape tuple, or None (unknown)
        # name -> the int it holds at this specialisation (None: not one int)
        self.ints = env.setdefault(_INTS, {})
        self.safe = env.get(SAFE, ())  # adjoints whose symbolic zero only v = v + e reads

    def int_value(self, e):
        """The int (or tuple of ints: a shape) ``e`` surely holds, given the argument
        shapes, or None."""
        cls = e.__class__
        if cls is gast.Name:
            return self.ints.get(e.id)
        if cls is gast.Constant:
            return e.value if type(e.value) is int else None
        if cls is gast.Call:
            return None  # (the commonest value: no int it holds is known)
        if isinstance(e, gast.Attribute) and e.attr in ("shape", "size", "ndim"):
            shape = self.of(e.value)
            return shape if shape is None or e.attr == "shape" else \
                math.prod(shape) if e.attr == "size" else len(shape)
        if isinstance(e, gast.Tuple):
            parts = tuple(self.int_value(x) for x in e.elts)
            return parts if all(type(p) is int for p in parts) else None
        if isinstance(e, gast.Subscript):
            seq, k = self.int_value(e.value), _const_index(e.slice, self.ints)
            if isinstance(seq, tuple) and isinstance(k, int) and -len(seq) <= k < len(seq):
                return seq[k]
        if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):  # (axis=-2)
            k = self.int_value(e.operand)
            return -k if type(k) is int else None
        if isinstance(e, gast.BinOp) and type(e.op) in _INT_OPS:
            a, b = self.int_value(e.left), self.int_value(e.right)
            if type(a) is int and type(b) is int and (b or type(e.op) is not gast.FloorDiv):
                return _INT_OPS[type(e.op)](a, b)
        return None

    def of(self, e):
        cls = e.__class__  # (a name first: the commonest)
        if cls is gast.Name:
            if e.id in self.env:
                return self.env[e.id]
            names = self.ns.get(NAMES)  # an adjoint or tangent has its value's shape
            primal = names.primal(e.id) if names is not None else None
            if primal in self.env:
                return self.env[primal]
            return None  # data read from outside may change between calls (freevars)
        if cls is gast.Constant:
            return () if isinstance(e.value, (int, float)) and not isinstance(e.value, bool) \
                else None
        if cls is gast.BinOp:
            if isinstance(e.op, gast.MatMult):
                return self.evaluate(np.matmul, [e.left, e.right], [])
            if type(e.op) in _BINOP:
                return broadcast(self.of(e.left), self.of(e.right))
            return None
        if isinstance(e, gast.UnaryOp):
            return None if isinstance(e.op, gast.Not) else self.of(e.operand)
        if isinstance(e, gast.Compare) and len(e.ops) == 1 and isinstance(
                e.ops[0], (gast.Eq, gast.NotEq, gast.Lt, gast.LtE, gast.Gt, gast.GtE)):
            return broadcast(self.of(e.left), self.of(e.comparators[0]))  # (y == 0)
        if isinstance(e, gast.Call):
            return self.call(e)
        if isinstance(e, gast.Subscript):
            return self.subscript(e)
        if isinstance(e, gast.Attribute):
            if e.attr in ("ndim", "size") and self.of(e.value):
                return ()  # an array's int attributes
            if e.attr == "T" and self.of(e.value):
                return self.of(e.value)[::-1]
            root = e.value
            while isinstance(root, gast.Attribute):
                root = root.value
            if not (isinstance(root, gast.Name) and is_static(self.ns.get(root.id))):
                return None  # an attribute of data: it may change between calls
            v = static_value(e, self.ns)  # np.pi
            return () if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        return None

    def subscript(self, e):
        """``x[i]``, ``x[1:]``, ``x[:, j]`` with constant indices: data never matters."""
        if isinstance(_const_index(e.slice), int) and (
                isinstance(e.value, gast.Attribute) and e.value.attr == "shape"
                and self.of(e.value.value) is not None
                or isinstance(e.value, gast.Name) and self.int_seqs.get(e.value.id)):
            return ()  # x.shape[0], or an item of a range: an int
        base = self.of(e.value)
        if base is None:
            return None
        if base and isinstance(e.slice, gast.Name) and self.ints.get(e.slice.id) is _SOME_INT:
            return base[1:]  # xs[t], t an item of a range
        idx = _const_index(e.slice, self.ints)
        if idx is _MISSING_INDEX:
            return None
        try:
            return np.zeros(base)[idx].shape
        except (IndexError, TypeError, ValueError):
            return None

    def call(self, e):
        like = facts.of_helper(e.func.id).shape_like if isinstance(e.func, gast.Name) else None
        if like is not None and len(e.args) > like:  # (the shape of argument ``like``)
            return self.of(e.args[like])
        if isinstance(e.func, gast.Name) and e.func.id == "untranspose" and e.args and (
                len(e.args) == 1 or _is_none(e.args[1])):
            shape = self.of(e.args[0])
            return None if shape is None else shape[::-1]
        if isinstance(e.func, gast.Name) and e.func.id == "split_call" and len(e.args) > 1:
            fn = static_value(e.args[1], self.ns)  # a call into user code: its output's shape
            return compiler.output_shape_of(fn, tuple(self.of(a) for a in e.args[2:])) \
                if isinstance(fn, types.FunctionType) else None
        fn = static_value(e.func, self.ns)
        if fn is MISSING:
            return None
        if getattr(fn, "__module__", None) == "math" or fn is math.pow:
            return ()
        if isinstance(fn, np.ufunc) and fn.signature is None and not e.keywords:
            # elementwise (a generalised ufunc such as np.matmul has a signature)
            shapes = [self.of(a) for a in e.args]
            out = ()
            for s in shapes:
                out = broadcast(out, s)
            return out
        if facts.of(fn).shaped:  # its output's shape follows from its inputs' shapes
            return self.evaluate(fn, e.args, e.keywords)
        if facts.of(fn).shape_arg and e.args:  # np.zeros(shape)
            dims = self.int_value(e.args[0])
            dims = (dims,) if type(dims) is int else dims
            if isinstance(dims, tuple) and all(type(d) is int and d >= 0 for d in dims):
                return dims
        return None

    def evaluate(self, fn, args, keywords):
        """Run ``fn`` on zeros of the known shapes (constants passed as they are)."""
        vals = []
        for a in args + [k.value for k in keywords]:
            if isinstance(a, gast.Constant):
                vals.append(a.value)
            elif isinstance(a, (gast.Tuple, gast.List)) and all(
                    isinstance(x, gast.Constant) for x in a.elts):
                vals.append(tuple(x.value for x in a.elts))
            elif isinstance(self.int_value(a), (int, tuple)):  # (x.size + 1: what it is)
                vals.append(self.int_value(a))
            else:
                s = self.of(a)
                if s is None or not _is_value(a, self):
                    return None
                vals.append(_Shaped(s))
        pos, kw = vals[:len(args)], dict(zip([k.arg for k in keywords], vals[len(args):]))
        key = (id(fn), tuple(_memo_key(v) for v in vals), tuple(kw))
        if key in _MEMO:
            return _MEMO[key]
        rule = facts.of(fn).shape_rule  # (np.matmul: no product of zeros to compute)
        if rule is not None and not kw and all(isinstance(v, _Shaped) for v in pos):
            out = rule(*[v.shape for v in pos])
            if out is not NotImplemented:
                _MEMO[key] = out
                return out
        if any(isinstance(v, _Shaped) and np.prod(v.shape) > 1_000_000 for v in vals):
            return None
        # a number known only as a number stands in as 0.0, 1 and 2: where its value decides
        # the shape (np.diff(x, n), np.repeat(x, k)), the three disagree, and it is unknown
        numbers = (np.zeros(()), 1, 2) if any(
            isinstance(v, _Shaped) and v.shape == () for v in vals) else (np.zeros(()),)
        outs = {_evaluated(fn, pos, kw, number) for number in numbers}
        out = outs.pop() if len(outs) == 1 else None
        _MEMO[key] = out
        return out


def _evaluated(fn, pos, kw, number):
    """The shape of ``fn``'s output on zeros of the shapes of :class:`_Shaped` arguments
    (``number`` for a number), else None."""
    for dtype in (float, int):  # (int zeros where float ones fail: indices)
        def value(v, dtype=dtype):
            return v if not isinstance(v, _Shaped) else number if v.shape == () else \
                np.zeros(v.shape, dtype)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                out = fn(*[value(v) for v in pos], **{k: value(v) for k, v in kw.items()})
        except Exception:  # noqa: BLE001 -- unknown is always safe
            continue
        # (a tuple of results, np.average(..., returned=True): not one array's shape)
        return None if isinstance(out, (tuple, list)) else np.shape(out)
    return None


_MEMO = {}  # (function, argument shapes and constants) -> result shape


class _Shaped:
    """An array argument known only by its shape."""

    def __init__(self, shape):
        self.shape = tuple(shape)


def _memo_key(v):
    if isinstance(v, _Shaped):
        return ("shape", v.shape)
    try:
        hash(v)
        return ("const", type(v).__name__, v)
    except TypeError:
        return ("repr", repr(v))


def _is_value(a, shapes):
    return isinstance(a, (gast.Name, gast.BinOp, gast.UnaryOp, gast.Call, gast.Attribute,
                          gast.Subscript))


def broadcast(a, b):
    if a is None or b is None:
        return None
    if type(a) is tuple and type(b) is tuple and (a == b or not a or not b):
        same = b if not a else a  # (the common cases, without NumPy's arrays)
        if all(type(d) is int and d >= 0 for d in same):
            return same
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


def infer(body, ns, env):
    """Shapes of names assigned in ``body`` (a join over all assignments)."""
    int_seqs = {}
    for _ in range(3):
        before = dict(env)
        visit(body, Shapes(ns, env, int_seqs), env)
        if env == before:
            return env
    return {k: v if before.get(k) == v else None for k, v in env.items()}


def _rebound(s):
    """Names ``s`` binds other than by a plain ``name = value`` (its nested blocks aside)."""
    get = _TARGETS.get(type(s))
    if get is None:
        return []
    return [n.id for t in get(s) for n in N.walk(t) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Store)]


_TARGETS = {gast.For: lambda s: [s.target], gast.AugAssign: lambda s: [s.target],
            gast.Assign: lambda s: s.targets, gast.AnnAssign: lambda s: [s.target],
            gast.With: lambda s: [i.optional_vars for i in s.items if i.optional_vars]}


def _item_shape(it, sh):
    if isinstance(it, gast.Name) and sh.int_seqs.get(it.id):
        return ()
    shape = sh.of(it)
    return shape[1:] if shape else None


def visit(stmts, sh, env, frozen=frozenset()):
    for s in stmts:
        kind = type(s)  # (gast's node classes have no subclasses)
        target = s.targets[0] if kind is gast.Assign else s.target if kind is gast.For \
            else None
        plain = type(target) is gast.Name
        if not plain:
            for t in _rebound(s):  # (an int is only known where plain assignments bind it)
                sh.ints[t] = None
        if kind is gast.Assign and plain:
            name, value = target.id, s.value
            if name in frozen or (type(value) is gast.Constant and value.value is None):
                continue  # None, a container's zero, is never differentiated
            sh.int_seqs[name] = sh.int_seqs.get(name, True) and (
                type(value) is gast.Call and static_value(value.func, sh.ns) is range
                or type(value) is gast.Attribute and value.attr == "shape"
                and sh.of(value.value) is not None)
            if type(value) is gast.Call and N.is_pop(value):
                continue
            if name in sh.safe:
                if type(value) is gast.Constant:
                    continue  # a symbolic zero no rule reads (zeros.only_added_to)
                added = accumulates(s)
                if added is not None:
                    shape = sh.of(added)
                    env[name] = shape if env.get(name, shape) == shape else None
                    continue
            value = sh.int_value(value)
            if name in sh.ints and sh.ints[name] != value:
                value = None
            sh.ints[name] = value
            shape = sh.of(s.value)
            if name in env and env[name] != shape:
                shape = None
            env[name] = shape
        elif kind is gast.Assign:
            if target.value.id not in frozen:
                env[target.value.id] = env.get(target.value.id)
        elif kind is gast.For:
            t = s.target.id
            if t not in frozen:
                env[t] = _item_shape(s.iter, sh)
                some = isinstance(s.iter, gast.Name) and sh.int_seqs.get(s.iter.id) \
                    and sh.ints.get(t, _SOME_INT) is _SOME_INT
                sh.ints[t] = _SOME_INT if some else None
            visit(s.body, sh, env, frozen)
        elif kind is gast.If or kind is gast.While or kind is gast.With:
            visit(s.body, sh, env, frozen)
            visit(getattr(s, "orelse", []), sh, env, frozen)


def spec_of(args):
    """The specialisation key of a call: each argument's shape, or None. A module is
    refused: generated code resolves ``xp.sum`` when it is compiled, from globals, so a
    module passed as an argument (``def f(x, xp=np)``) would be taken for an array."""
    out = []
    for i, a in enumerate(args):
        t = type(a)
        if t is float or t is int:
            out.append(())
        elif t is np.ndarray:
            out.append(a.shape)
        elif isinstance(a, (np.floating, np.integer)):
            out.append(())
        elif isinstance(a, types.ModuleType):
            raise ArgumentError(
                f"argument {i} is the module {a.__name__!r}: sourcediff reads the modules a "
                "function uses from its globals when it compiles it, not from its arguments",
                hint=f"import {a.__name__} at module level and call it by that name inside "
                     "the function instead of through a parameter; or differentiate it with "
                     "the runtime tape: grad(f, mode='tape')")
        else:
            out.append(None)
    return spec(out, args)


def output_shape(body, ns, env, out):
    """The statically known shape of the returned atom, or None."""
    env = dict(env)
    infer(body, ns, env)
    return Shapes(ns, env).of(out)


def analyse(fdef, ns, spec, params):
    """The shapes of the values in the finished function ``fdef`` (a :class:`Shapes`)."""
    env = {p: sh for p, sh in zip(params, spec)}
    infer(fdef.body[:N.reverse_start(fdef.body)], ns, env)
    for _ in range(2):
        visit(fdef.body, Shapes(ns, env), env, frozenset(env))
    return Shapes(ns, env)



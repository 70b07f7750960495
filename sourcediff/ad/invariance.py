"""Pass 5a: values the output does not depend on (a shift that cancels).

``m = np.max(z, axis=1, keepdims=True)`` subtracted before ``exp`` and added back after
``log`` (log-sum-exp), or divided out of a softmax, changes nothing the function
returns: the output is the same for any ``m``. Its derivative with respect to ``m`` is
then exactly zero, so ``m`` needs no adjoint, and nothing is spread back through the
max (no ``unreduce_select``).

For each name ``m`` assigned once, in straight-line code, this pass follows a shift
``m -> m + d`` (``d`` any array of ``m``'s shape) through the statements after it,
keeping for each value how it changes:

* ``ADD(c)``: by ``c * d`` (``z - m``: c = -1; ``np.log(ADD... MUL(c))``: c),
* ``MUL(c)``: by the factor ``exp(c * d)`` (``np.exp`` of ``ADD(c)``; products and
  quotients add and subtract ``c``; a sum or max over axes along which ``d`` is
  constant keeps it),

with ``d`` placed along the value's axes (which axis of ``m`` indexes each axis, or
None where ``d`` is the same along it). Terms combine only where ``d`` is placed the
same way; anything else is "depends on ``m`` somehow". If the returned value does not
change at all, ``m`` is cut from activity analysis (as ``stop_gradient`` would):
the gradient is the same, exactly.
"""

from __future__ import annotations

import gast
import numpy as np

from ..ir import nodes as N
from ..front.resolve import MISSING, static_value

ADD, MUL = "add", "mul"
ANY = "any"          # depends on m in a way not followed
_BINOP_KINDS = {gast.Add: (ADD, 1), gast.Sub: (ADD, -1), gast.Mult: (MUL, 1), gast.Div: (MUL, -1)}
_MAX_STATEMENTS = 400


def invariant_names(body, ns, shapes, output):
    """Names the value of ``output`` (a name) does not depend on; ``shapes``: the shape
    of each name assigned in ``body`` (None: unknown), from :func:`shapes.infer`."""
    if not isinstance(output, str) or len(body) > _MAX_STATEMENTS:
        return set()
    counts = {}
    for node in N.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    out = set()
    for i, s in enumerate(body):
        if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
            continue
        m = s.targets[0].id
        if counts.get(m) != 1 or m == output or shapes.get(m) is None \
                or not _shift_reads(body[i + 1:], m):
            continue
        shape = shapes[m]
        view = tuple(k if n != 1 else None for k, n in enumerate(shape))
        if _follow(body[i + 1:], ns, shapes, m, (ADD, 1, view), output) is None:
            out.add(m)
    return out


def _shift_reads(stmts, m):
    """Whether ``m`` is read by a subtraction or an addition (the only start of a
    cancellation): most names are not, and cost nothing here."""
    for s in stmts:
        for node in N.walk(s):
            if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Sub)) \
                    and any(isinstance(x, gast.Name) and x.id == m
                            for x in (node.left, node.right)):
                return True
    return False


def _follow(stmts, ns, shapes, m, start, output):
    """How ``output`` changes under the shift of ``m``: None (not at all), or a kind."""
    kinds = {m: start}
    for s in stmts:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            kind = _Kinds(kinds, shapes, ns).of(s.value)
            name = s.targets[0].id
            if kind is None:
                kinds.pop(name, None)
            else:
                kinds[name] = kind
        elif isinstance(s, gast.Return) or N.is_comment(s) or isinstance(s, gast.Pass):
            continue
        elif any(n in kinds for n in N.names_in(s)):
            return ANY  # a loop, a branch, an update in place: not followed
    return kinds.get(output)


class _Kinds:
    def __init__(self, kinds, shapes, ns):
        self.kinds, self.shapes, self.ns = kinds, shapes, ns

    def shape(self, e):
        if isinstance(e, gast.Name):
            return self.shapes.get(e.id)
        if isinstance(e, gast.Constant) and isinstance(e.value, (int, float)):
            return ()
        return None

    def of(self, e):
        """The kind of ``e``: None (unchanged by the shift), (ADD|MUL, c, view), ANY."""
        if isinstance(e, gast.Name):
            return self.kinds.get(e.id)
        if isinstance(e, gast.Constant):
            return None
        names = [n for n in N.names_in(e) if n in self.kinds]
        if not names:
            return None
        if isinstance(e, gast.BinOp) and isinstance(e.left, (gast.Name, gast.Constant)) \
                and isinstance(e.right, (gast.Name, gast.Constant)):
            return self.binop(e)
        if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub) \
                and isinstance(e.operand, gast.Name):
            k = self.of(e.operand)
            return k if k is None or k == ANY or k[0] == MUL else (ADD, -k[1], k[2])
        if isinstance(e, gast.Subscript) and isinstance(e.value, gast.Name):
            return self.subscript(e)
        if isinstance(e, gast.Call) and e.args and isinstance(e.args[0], gast.Name) \
                and all(n not in self.kinds for a in e.args[1:] for n in N.names_in(a)) \
                and all(n not in self.kinds for k in e.keywords for n in N.names_in(k)):
            return self.call(e)
        return ANY

    def aligned(self, e, out_shape):
        """The kind of operand ``e`` with its view padded to ``out_shape``'s rank."""
        k = self.of(e)
        if k is None or k == ANY:
            return k
        shape = self.shape(e)
        if shape is None or len(shape) > len(out_shape):
            return ANY
        return (k[0], k[1], (None,) * (len(out_shape) - len(shape)) + k[2])

    def binop(self, e):
        sa, sb = self.shape(e.left), self.shape(e.right)
        if sa is None or sb is None:
            return ANY
        try:
            so = np.broadcast_shapes(sa, sb)
        except ValueError:
            return ANY
        a, b = self.aligned(e.left, so), self.aligned(e.right, so)
        if ANY in (a, b):
            return ANY
        # (kind, sign): a sum or difference shifts, a product or quotient scales
        kind, sign = _BINOP_KINDS.get(type(e.op), (None, 0))
        if kind is None:
            return ANY
        if a is None:  # a constant operand: the other one's kind, its sign flipped by -, /
            return b if b[0] == kind and sign == 1 else (kind, -b[1], b[2]) \
                if b[0] == kind else ANY
        if b is None:
            return a if a[0] == kind else ANY
        return _combine(a, b, kind, sign)

    def subscript(self, e):
        k = self.of(e.value)
        if k is None or k == ANY:
            return k
        idx = e.slice.elts if isinstance(e.slice, gast.Tuple) else [e.slice]
        view, axis = [], 0
        for p in idx:
            if isinstance(p, gast.Constant) and p.value is None:
                view.append(None)
                continue
            if axis >= len(k[2]):
                return ANY
            here = k[2][axis]
            axis += 1
            if isinstance(p, gast.Slice):
                if here is not None and (p.lower or p.upper or p.step):
                    return ANY  # part of an axis d varies along
                view.append(here)
            elif isinstance(p, gast.Constant) and type(p.value) is int and here is None:
                continue  # an int index on an axis d is constant along
            else:
                return ANY
        return (k[0], k[1], tuple(view) + k[2][axis:])

    def call(self, e):
        fn = static_value(e.func, self.ns)
        if fn is MISSING:
            return ANY
        k = self.of(e.args[0])
        if k is None or k == ANY:
            return k
        if fn is np.exp:
            return (MUL, k[1], k[2]) if k[0] == ADD else ANY
        if fn is np.log:
            return (ADD, k[1], k[2]) if k[0] == MUL else ANY
        if fn in (np.sum, np.max, np.min, np.amax, np.amin) and len(e.args) == 1:
            if fn is np.sum and k[0] != MUL:
                return ANY  # (a sum of shifted terms: shifted n times)
            return self.reduce(k, e)
        return ANY

    def reduce(self, k, e):
        kw = {x.arg: x.value for x in e.keywords}
        if set(kw) - {"axis", "keepdims"}:
            return ANY
        keep = kw.get("keepdims")
        if keep is not None and not (isinstance(keep, gast.Constant)
                                     and isinstance(keep.value, bool)):
            return ANY
        keep = keep is not None and keep.value
        ndim = len(k[2])
        axis = kw.get("axis")
        if axis is None:
            axes = set(range(ndim))
        elif isinstance(axis, gast.Constant) and type(axis.value) is int:
            axes = {axis.value % ndim} if ndim else set()
        elif isinstance(axis, gast.Tuple) and all(
                isinstance(a, gast.Constant) and type(a.value) is int for a in axis.elts):
            axes = {a.value % ndim for a in axis.elts} if ndim else set()
        else:
            return ANY
        if any(k[2][a] is not None for a in axes):
            return ANY  # reduced along an axis d varies along
        view = tuple(None if a in axes else v for a, v in enumerate(k[2]) if keep or a not in axes)
        return (k[0], k[1], view)


def _combine(a, b, kind, sign):
    if a[0] != kind or b[0] != kind or a[2] != b[2]:
        return ANY
    c = a[1] + sign * b[1]
    return None if c == 0 else (kind, c, a[2])

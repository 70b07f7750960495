"""The reverse sweep at subscripts and attributes (part of pass 6, :mod:`reverse`): a
read sends its cotangent back into the container's adjoint, a store ``y[i] = v`` takes
``v``'s cotangent out of ``y``'s."""

from __future__ import annotations


import gast

from ..ir import nodes as N
from .activity import NONDIFF_ATTRS


class IndexSweep:
    """The :class:`reverse.Sweep` methods for subscripts and attributes."""

    def getitem(self, value, g):
        x = value.value
        if not (isinstance(x, gast.Name) and x.id in self.active):
            return []
        self.scatter.add(x.id)
        self.need_init(x.id)
        idx = index_expr(value.slice)
        b = self.bar(x.id)
        if x.id in self.lazy:  # x may not exist where the sweep starts: allocate on first use
            return [N.assign(b, N.call("scatter_into", [N.name(b), N.name(x.id), idx, g]))]
        return [N.expr_stmt(N.call("scatter_add", [N.name(b), idx, g]))]

    def attribute(self, value, g):
        """``y = p.w``, a field of a container (a dataclass...): ``p``'s adjoint gets
        ``y_bar`` in that field's place (``attr_cot`` refuses any other attribute)."""
        x = value.value
        if not (isinstance(x, gast.Name) and x.id in self.active) or value.attr in NONDIFF_ATTRS:
            return []
        return self.contribute(x.id, N.call("attr_cot", [N.name(x.id), N.const(value.attr), g]),
                               maybe_none=True)

    def setitem(self, s):
        """``y[idx] = v``: v gets ``y_bar[idx]``; that slot of ``y_bar`` is cut."""
        target = s.targets[0]
        y = target.value.id
        out = []
        idx = index_expr(target.slice)
        if y in self.active and self.has_adjoint(y):
            if y not in self.adj.defined:
                self.need_init(y)
            out += self.instantiate(y)
            b = N.name(self.bar(y))
            v = s.value
            if isinstance(v, gast.Name) and v.id in self.active:
                if y in self.lazy or y in self.multidef:
                    # (y rebound elsewhere: its adjoint may be None, allocated on first use)
                    out += self.contribute(v.id, N.call("take_cot", [b, idx, N.name(v.id)]),
                                           maybe_none=True)
                else:
                    item = gast.Subscript(value=b, slice=idx, ctx=gast.Load())
                    out += self.accumulate(v.id, N.call("unbroadcast", [
                        N.call("np.copy", [item]), N.name(v.id)]))
            out.append(N.assign(self.bar(y), N.call("cut_index", [b, N.clone(idx)])))
            out = [N.comment(self.describe(s))] + out
        if y in self.multidef:
            restore = N.assign(gast.Subscript(value=N.name(y), slice=N.clone(target.slice),
                                              ctx=gast.Store()), N.parse_expr("_stack.pop()"))
            N.set_anno(restore, "pop", y)
            out.append(restore)
        return out

    def written_lists(self):
        """Names the differentiated function assigns (its own lists, not outer ones: an
        outer list is in ``ns``, a list that normalisation made is not)."""
        if getattr(self, "_written", None) is None:
            self._written = set(N.names_in(self.parsed.tree, gast.Store))
        return self._written

    def scatter_add(self, call_):
        """Generated code differentiated again: ``buf[idx] += v`` gives ``v`` ``buf_bar[idx]``."""
        buf, idx, v = call_.args
        if not (isinstance(v, gast.Name) and v.id in self.active and self.has_adjoint(buf.id)):
            return []
        item = gast.Subscript(value=N.name(self.bar(buf.id)), slice=N.clone(idx), ctx=gast.Load())
        return self.accumulate(v.id, N.call("unbroadcast", [item, N.name(v.id)]))

    # -- control flow ----------------------------------------------------------------


def index_expr(node):
    """A subscript's index as an ordinary expression (slices as ``slice(...)``)."""
    if isinstance(node, gast.Slice):
        parts = [N.const(None) if getattr(node, k) is None else N.clone(getattr(node, k))
                 for k in ("lower", "upper", "step")]
        if isinstance(parts[2], gast.Constant) and parts[2].value is None:
            parts.pop()  # slice(lower, upper): the step is optional, the bounds are not
        return N.call("slice", parts)
    if isinstance(node, gast.Tuple):
        return N.tuple_([index_expr(e) for e in node.elts])
    return N.clone(node)

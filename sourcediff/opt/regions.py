"""Pass 8c (continued): updates of one region of an adjoint buffer, written once.

The reverse sweep adds each read's cotangent where it was read: Rosenbrock reads
``x[:-1]`` twice, so its adjoint holds ``x_bar[:-1] += a`` and, a few lines on,
``x_bar[:-1] += b``. Each such line reads the region, adds, and writes it back. A
hand-written gradient adds the two cotangents first, and writes the first one into
the fresh zero buffer rather than adding it to zeros:

    x_bar = _sd.zeros_for(x)             x_bar = _sd.zeros_for(x)
    x_bar[:-1] += a            ->        ...
    ...                                  x_bar[:-1] = a + b
    x_bar[:-1] += b

Both rewrites are exact up to the order of one float addition (``(0 + a) + b`` is
``a + b``), and apply only where nothing between the two lines can see the buffer or
change what ``a`` reads, and where the buffer is an array of the function's own
(:class:`owners.Owners`) holding real values (the kinds of :mod:`inplace`).

A whole array added to the zero buffer is its first value instead
(:func:`first_into_buffer`), computed where the zeros were when updates of regions come
between (``x_bar = zeros_for(x); x_bar[0] += a; x_bar = x_bar + 2 * x`` -> ``x_bar = 2 *
x; x_bar[0] += a``): the zeros, and a pass over the buffer, gone.
"""

from __future__ import annotations

import gast

from ..ir import nodes as N
from ..ir.names import RUNTIME
from ..ad.zeros import accumulates
from .fold import folded
from .owners import F

_INDEX = (gast.Name, gast.Constant, gast.Slice, gast.Tuple, gast.UnaryOp, gast.BinOp,
          gast.unaryop, gast.operator, gast.expr_context)


def region_update(s):
    """``buf[index] += e`` (an index of names and constants) as (buf, index, e)."""
    if not (isinstance(s, gast.AugAssign) and isinstance(s.op, gast.Add)
            and isinstance(s.target, gast.Subscript)
            and isinstance(s.target.value, gast.Name)
            and all(isinstance(n, _INDEX) for n in N.walk(s.target.slice))):
        return None
    return s.target.value.id, s.target.slice, s.value


def changed_by(s):
    """The names whose value ``s`` may change: those it binds, those whose items or
    attributes it assigns, and every name a call in an expression statement is given."""
    if isinstance(s, gast.Expr):
        return set(N.names_in(s))
    targets = s.targets if isinstance(s, gast.Assign) else \
        [s.target] if isinstance(s, (gast.AugAssign, gast.AnnAssign, gast.For)) else None
    if targets is None:
        return set(N.names_in(s))  # (if, while, with, try...: anything)
    changed = set()
    for t in targets:
        changed.update(N.names_in(t))  # (a[i] = v changes a; i is read, taken as changed)
    return changed


def merge_updates(fdef, real, owned):
    """``buf[i] += a`` ... ``buf[i] += b`` -> ``buf[i] += a + b`` (at the second line)
    where ``owned(buf)``, ``real(a)`` and ``real(b)``, and no line between mentions
    ``buf`` or may change a name ``a`` or ``i`` reads. True if anything changed."""
    changed = False
    for block in N.blocks(fdef):
        merged = []  # the updates merged into a later one
        pending = {}  # (buf, index dump) -> the position of its last update
        reads = {}  # position of a pending update -> the names its value and index read
        for j, s in enumerate(block):
            u = region_update(s)
            key = (u[0], gast.dump(u[1])) if u else None
            i = pending.pop(key, None) if key else None
            if i is not None:
                first = block[i]
                s.value = folded(N.binop(first.value, gast.Add(), s.value))
                merged.append(first)
            if u and owned(u[0]) and real(u[2]):
                pending[key] = j
                reads[j] = set(N.names_in(s.value) + N.names_in(s.target.slice))
            # an update moves down only past lines that leave its buffer, value and index be
            if not pending:
                continue
            hit = changed_by(s) if not u else {u[0]}
            mentioned = None  # (the names in s, when first asked for)
            for k, at in list(pending.items()):
                if at == j:
                    continue
                if mentioned is None:
                    mentioned = set(N.names_in(s))
                if k[0] in mentioned or hit & reads[at]:
                    del pending[k]
        if merged:
            block[:] = [s for s in block if not any(s is m for m in merged)]
            changed = True
    return changed


def first_into_zeros(fdef, real, buffer):
    """``buf = zeros_for(p)`` followed, with no line between mentioning ``buf``, by
    ``buf[i] += e`` -> ``buf[i] = e`` where ``buffer(buf)`` (an array) and ``real(e)``
    (``e`` real: the zeros it was
    added to change nothing, and the assignment casts and broadcasts as the addition
    would). True if anything changed."""
    changed = False
    for block in N.blocks(fdef):
        fresh = set()
        for s in block:
            if not fresh:  # (no zero buffer made yet: nothing to look for)
                if _is_zeros_for(s):
                    fresh.add(s.targets[0].id)
                continue
            u = region_update(s)
            if u and u[0] in fresh and buffer(u[0]) and real(u[2]):
                block[block.index(s)] = N.set_location(
                    [N.assign(s.target, s.value)], getattr(s, "lineno", None))[0]
                changed = True
            for n in N.names_in(s):
                fresh.discard(n)
            if _is_zeros_for(s):
                fresh.add(s.targets[0].id)
    return changed


def first_into_buffer(fdef, fits, fresh, pure):
    """``v = zeros_for(p)`` followed by ``v = v + e`` where ``fits(p, e)`` (``e`` is surely a
    float64 array of ``p``'s shape, as the zero buffer is): ``e`` becomes ``v``'s first
    value, ``e`` itself if it is a new array (``fresh(e)``), else ``copy_of(e)``; either way
    ``v`` still holds an array of its own, for the updates in place that follow. (The
    buffer and the sum are two passes over memory, the copy is one.) Between the two, no
    line may read ``v`` but updates ``v[i] += x`` or ``v[i] -= x`` of a region (``x`` and
    ``i`` without ``v``): those then add to ``e`` (``e`` computed where the zeros were:
    ``pure(e)``, and no line between changes a name it reads). True if anything
    changed."""
    changed = False
    for block in list(N.blocks(fdef)):
        dropped = []
        names = {}  # position -> the names in the statement there (until it changes)
        for i, s in enumerate(block):
            if not _is_zeros_for(s):
                continue
            v, j, updates = s.targets[0].id, None, False
            for k in range(i + 1, len(block)):
                if _adds_to_region(block[k], v):
                    updates = True
                    continue
                mentioned = names.get(k)
                if mentioned is None:
                    mentioned = names[k] = set(N.names_in(block[k]))
                if v in mentioned:
                    j = k
                    break
            e = accumulates(block[j]) if j is not None else None
            if e is None or block[j].targets[0].id != v or not fits(s.value.args[0], e):
                continue
            value = e if fresh(e) else N.call("copy_of", [e])
            if not updates:
                block[j].value = value
                dropped.append(i)
            elif pure(e) and not any(changed_by(x) & set(N.names_in(e))
                                     for x in block[i + 1:j]):
                block[i] = N.set_location([N.assign(s.targets[0], value)],
                                          getattr(s, "lineno", None))[0]
                dropped.append(j)
            else:
                continue
            names.pop(i, None)
            names.pop(j, None)
            changed = True
        if dropped:
            block[:] = [s for k, s in enumerate(block) if k not in dropped]
    return changed


def _adds_to_region(s, v):
    """``v[i] += x`` or ``v[i] -= x``, with neither ``i`` nor ``x`` reading ``v``."""
    return isinstance(s, gast.AugAssign) and isinstance(s.op, (gast.Add, gast.Sub)) \
        and isinstance(s.target, gast.Subscript) and isinstance(s.target.value, gast.Name) \
        and s.target.value.id == v and v not in N.names_in(s.target.slice) \
        and v not in N.names_in(s.value)


def allocate_directly(fdef, buffer):
    """``buf = zeros_for(p)`` -> ``buf = np.zeros(p.shape)`` where ``buffer(p)``: ``p`` is
    surely a float64 array, so the helper's tests of its type are known (a call less,
    and a third of its time). True if anything changed."""
    changed = False
    for block in N.blocks(fdef):
        for i, s in enumerate(block):
            if _is_zeros_for(s) and isinstance(s.value.args[0], gast.Name) \
                    and buffer(s.value.args[0].id):
                shape = N.attr(s.value.args[0], "shape")
                block[i] = N.set_location([N.assign(s.targets[0], N.call(
                    N.attr(N.name("np"), "zeros"), [shape]))], getattr(s, "lineno", None))[0]
                changed = True
    return changed


def zeros_of(e, printed=False):
    """``p`` (an expression) where ``e`` is a zero buffer of ``p``'s shape and dtype: the
    helper ``zeros_for(p)`` (in code as printed, ``_sd.zeros_for(p)``: there a plain
    ``zeros_for`` is the user's), or ``np.zeros(p.shape)`` (what it is for a float64
    array ``p``: :func:`allocate_directly`); else None. (The one test of a zero buffer:
    these rewrites' and grad's entry code's, which returns one updated in place as it
    is.)"""
    if not (isinstance(e, gast.Call) and len(e.args) == 1 and not e.keywords):
        return None
    f, arg = e.func, e.args[0]
    if printed:
        helper = isinstance(f, gast.Attribute) and f.attr == _ZEROS \
            and isinstance(f.value, gast.Name) and f.value.id == RUNTIME
    else:
        helper = isinstance(f, gast.Name) and f.id == _ZEROS
    if helper:
        return arg
    if isinstance(f, gast.Attribute) and f.attr == "zeros" and isinstance(f.value, gast.Name) \
            and f.value.id == "np" and isinstance(arg, gast.Attribute) and arg.attr == "shape":
        return arg.value
    return None


_ZEROS = "zeros_for"


def _is_zeros_for(s):
    """``v = zeros_for(p)``, the helper (never a user's function of that name: the front
    spells it ``zeros_for_user``)."""
    return isinstance(s, gast.Assign) and len(s.targets) == 1 \
        and isinstance(s.targets[0], gast.Name) and isinstance(s.value, gast.Call) \
        and isinstance(s.value.func, gast.Name) and zeros_of(s.value) is not None


def rewrite(fdef, kinds, owners):
    """Both rewrites, for :func:`inplace.rewrite` (``kinds``: its :class:`inplace.Kinds`;
    ``owners()``: the function's :class:`owners.Owners`)."""
    def real(e):
        return kinds.of(e) is not None

    def buffer(b):
        return kinds.of(N.name(b)) == F
    merged = merge_updates(fdef, real, lambda b: buffer(b) and owners().owned(b))
    return first_into_zeros(fdef, real, buffer) or merged

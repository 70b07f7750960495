"""Pass 8c (continued): ``np.diff``'s adjoint written as updates of two regions of a buffer.

The cotangent of ``a`` in ``d = np.diff(a)`` is ``undiff(g, a, 1, -1)``: a zero array of
``a``'s shape, ``g`` stored into ``[1:]`` and taken from ``[:-1]``. A hand-written
gradient adds those regions straight into the buffer the gradient is summed in::

    u_bar = undiff(2 * s * d, u, 1, -1)         s = lam / np.sqrt(d ** 2 + eps) * d
    u_bar = u_bar + (u - f)             ->      u_bar = u - f
                                                u_bar[1:] += s
                                                u_bar[:-1] -= s

``v = undiff(g, a, n, axis)`` becomes ``v = zeros_for(a)`` and the ``n + 1`` updates of
the ``n``-th difference's regions (its binomial coefficients: ``+g, -2 * g, +g`` for
``n = 2``); :func:`regions.first_into_buffer` then makes an array added to ``v`` later
its first value, and :func:`regions.first_into_zeros` the first update a store where
the zeros stay. An accumulation ``acc += undiff(g, a, n, axis)`` into an array the
function owns (:func:`owners.accumulate` made it, copying once a value the function
does not own: ``x_bar = copy_of(x)`` where the ridge term's cotangent is ``x`` itself)
becomes the updates of ``acc`` itself. Both only where ``g`` and ``a`` are surely
float64 arrays of the shapes the difference gives (:mod:`inplace`'s kinds,
:mod:`shapes`), exact up to the order in which the same float64 numbers are added.

``g`` is read by every update, so it needs a name: a name it is already, or the
definition of a generated name ``t`` that ``g`` alone reads takes ``g``'s value
(``t = c * e`` ... ``undiff(2 * t * d, ...)`` -> ``t = 2 * c * e * d``, its constants
folded; in place, the product is then one more step of ``t``'s own array), or a new
temporary holds it.
"""

from __future__ import annotations

import math

import gast

from ..ir import nodes as N
from .fold import folded
from .owners import F
from .regions import changed_by
from .usage import pure_expr

MAX_ORDER = 4  # (n + 1 updates: beyond that, the helper's loop reads better)
_OWN_VALUES = ("adjoint", "temp")  # the roles of names whose definition may take g's value


def expand(fdef, kinds, shapes, ns):
    """``v = undiff(g, a, n, axis)`` -> ``v = zeros_for(a)`` and the region updates of
    ``v``, where that is exact (``kinds``: :class:`inplace.Kinds`; ``shapes()``: the
    :class:`shapes.Shapes` of ``fdef`` as it is). True if anything changed."""
    return _rewrite(fdef, kinds, shapes, ns, _assigned)


def accumulated(fdef, kinds, shapes, ns):
    """``acc += undiff(g, a, n, axis)`` (or ``-=``) -> the region updates of ``acc``
    (which :func:`owners.accumulate` found owns a float64 array of ``a``'s shape). True if
    anything changed."""
    return _rewrite(fdef, kinds, shapes, ns, _added)


def expandable(e, kinds, sh):
    """``e`` is a call ``undiff(...)`` whose updates these rewrites can write."""
    return _undiff(e) and _plan(e, kinds, sh) is not None


def _assigned(s):
    """``v = undiff(...)``: (v, the call, sign 1, whether a new buffer is needed)."""
    if isinstance(s, gast.Assign) and len(s.targets) == 1 \
            and isinstance(s.targets[0], gast.Name) and _undiff(s.value):
        return s.targets[0].id, s.value, 1, True
    return None


def _added(s):
    """``acc += undiff(...)`` or ``acc -= undiff(...)``: (acc, the call, sign, False)."""
    if isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name) \
            and isinstance(s.op, (gast.Add, gast.Sub)) and _undiff(s.value):
        return s.target.id, s.value, 1 if isinstance(s.op, gast.Add) else -1, False
    return None


def _undiff(e):
    """A call ``undiff(g, a, n, axis)`` with ``a`` a name and ``n``, ``axis`` ints."""
    return isinstance(e, gast.Call) and isinstance(e.func, gast.Name) \
        and e.func.id == "undiff" and len(e.args) == 4 and not e.keywords \
        and isinstance(e.args[1], gast.Name) and all(_int(x) is not None for x in e.args[2:])


def _int(e):
    """The int ``e`` is (``-1`` is a minus and a 1 where it was written so), or None."""
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):
        k = _int(e.operand)
        return None if k is None else -k
    return e.value if isinstance(e, gast.Constant) and type(e.value) is int else None


def _rewrite(fdef, kinds, shapes, ns, match):
    names = N.anno(fdef, "names")
    changed, zeroed = False, set()  # (zeroed: the accumulators whose 0.0 is zeros now)
    for block in list(N.blocks(fdef)):
        i = 0
        while i < len(block):
            m = match(block[i])
            plan = m and _plan(m[1], kinds, shapes())
            starts = () if not plan or m[3] or m[0] in zeroed \
                or _array_of(fdef, m[0], m[1].args[1], shapes()) \
                else _zero_starts(fdef, m[0], shapes().of(m[1].args[1]), shapes())
            if not plan or starts is None:
                i += 1
                continue
            if starts:
                zeroed.add(m[0])
            for start in starts:  # (the symbolic zero 0.0 made real: zeros of a's shape)
                start.value = N.call(N.attr(N.name("np"), "zeros"), [
                    N.tuple_([N.const(k) for k in shapes().of(m[1].args[1])])])
            v, call, sign, fresh = m
            g, a = call.args[0], call.args[1].id
            if isinstance(g, gast.Name) and g.id != v:
                g, head = g.id, []
            else:
                g, head = _named(fdef, block, i, g, kinds, shapes(), ns, names)
            out = head + ([N.assign(v, N.call("zeros_for", [N.name(a)]))] if fresh else [])
            out += _updates(v, g, sign, *plan)
            block[i:i + 1] = N.set_location(out, getattr(block[i], "lineno", None))
            i += len(out)
            changed = True
    return changed


def _array_of(fdef, acc, a, sh):
    """``acc`` surely holds an array of ``a``'s shape wherever ``acc += ...`` runs: that is
    its shape (:func:`owners.accumulate` checked each value it is bound to), and it is
    never bound to a number (``acc += e`` rebinds a number's placeholder ``0.0``)."""
    return sh.of(N.name(acc)) == sh.of(a) and not any(
        isinstance(s, gast.Assign) and isinstance(s.value, gast.Constant)
        and any(isinstance(t, gast.Name) and t.id == acc for t in s.targets)
        for s in N.walk(fdef))


def _zero_starts(fdef, acc, shape, sh):
    """The statements ``acc = 0.0`` at the top of ``fdef``, if ``acc`` is bound nowhere
    else but by updates in place with arrays of ``shape`` (``acc += e``,
    :func:`owners.accumulate`); else None. There the symbolic zero is zeros of that shape,
    its primal's (an update of two regions needs an array to update)."""
    starts = [s for s in fdef.body if isinstance(s, gast.Assign) and len(s.targets) == 1
              and isinstance(s.targets[0], gast.Name) and s.targets[0].id == acc
              and isinstance(s.value, gast.Constant) and type(s.value.value) is float
              and s.value.value == 0.0]
    updates = [s for s in N.walk(fdef) if isinstance(s, gast.AugAssign)
               and isinstance(s.target, gast.Name) and s.target.id == acc]
    stores = [n for n in N.walk(fdef) if isinstance(n, gast.Name) and n.id == acc
              and isinstance(n.ctx, gast.Store)]
    return starts if starts and shape and len(stores) == len(starts) + len(updates) \
        and all(sh.of(u.value) == shape for u in updates) else None


def _plan(call, kinds, sh):
    """(n, axis) of ``undiff(g, a, n, axis)`` (``axis`` counted from the first) where
    ``g`` and ``a`` are surely float64 arrays, ``g`` of the shape ``np.diff(a, n, axis)``
    has; else None."""
    g, a, n, axis = call.args[0], call.args[1], _int(call.args[2]), _int(call.args[3])
    shape = sh.of(a)
    if not (shape and kinds.of(g) == F and kinds.of(a) == F and 1 <= n <= MAX_ORDER
            and -len(shape) <= axis < len(shape)):
        return None
    axis %= len(shape)
    diffed = list(shape)
    diffed[axis] -= n
    if diffed[axis] < 0 or sh.of(g) != tuple(diffed):
        return None
    return n, axis


def _updates(v, g, sign, n, axis):
    """The updates of ``v`` adding the adjoint of the ``n``-th difference along ``axis``:
    ``g`` times ``(-1) ** (n - k) * C(n, k)`` into the region ``[k:k - n]``, k from n
    down to 0 (``[1:]`` first, then ``[:-1]``: as the helper does)."""
    out = []
    for k in range(n, -1, -1):
        c = sign * (-1) ** (n - k) * math.comb(n, k)
        part = gast.Slice(lower=N.const(k) if k else None,
                          upper=N.const(k - n) if k < n else None, step=None)
        index = part if axis == 0 else N.tuple_(
            [gast.Slice(lower=None, upper=None, step=None)] * axis + [part])
        target = gast.Subscript(value=N.name(v), slice=index, ctx=gast.Store())
        value = N.name(g) if abs(c) == 1 else N.binop(N.const(abs(c)), gast.Mult(), N.name(g))
        out.append(N.aug_assign(target, gast.Add() if c > 0 else gast.Sub(), value))
    return out


def _named(fdef, block, i, g, kinds, sh, ns, names):
    """A name holding ``g``'s value at ``block[i]``, and the statements to put before it:
    the definition of a generated name ``g`` alone reads, taking ``g``'s value; else a new
    temporary."""
    if isinstance(g, gast.Name):  # (undiff(v, ...) assigned to v: v's value kept)
        t = names.temp("t")
        _known(t, g, kinds, sh)
        return t, [N.assign(t, g)]
    if pure_expr(g, ns):
        for t in dict.fromkeys(N.names_in(g, gast.Load)):
            k = _definition(fdef, block, i, t, g, names)
            if k is not None and sh.of(g) == sh.of(N.name(t)) \
                    and kinds.of(g) == kinds.of(N.name(t)) == F:
                d = block[k]
                d.value = folded(N.substitute(N.clone(g), {t: d.value}))
                return t, []
    t = names.temp("t")
    _known(t, g, kinds, sh)
    return t, [N.assign(t, g)]


def _definition(fdef, block, i, t, g, names):
    """The position in ``block`` of the one assignment of ``t``, a generated name read
    once in all of ``fdef`` (in ``g``, at ``block[i]``), where nothing between it and
    ``block[i]`` changes a name ``g`` reads; else None."""
    if names is None or names.role(t) not in _OWN_VALUES \
            or N.names_in(fdef).count(t) != 2 or N.names_in(g).count(t) != 1:
        return None
    k = next((k for k in range(i - 1, -1, -1) if t in N.names_in(block[k])), None)
    d = block[k] if k is not None else None
    if not (isinstance(d, gast.Assign) and len(d.targets) == 1
            and isinstance(d.targets[0], gast.Name) and d.targets[0].id == t):
        return None
    reads = set(N.names_in(g))
    if any(changed_by(s) & reads for s in block[k + 1:i]):
        return None
    return k


def _known(t, e, kinds, sh):
    """A new name bound to ``e``: its kind and shape are ``e``'s."""
    kinds.env[t] = kinds.of(e)
    sh.env[t] = sh.of(e)

"""The recorded graph: nodes, boxes, trace levels, and unwrapping.

A :class:`Box` wraps a value (a float, an ndarray, or -- for higher-order
derivatives -- another box) together with the :class:`Node` that produced it
and the *level* of the trace it belongs to. Every ``grad``/``vjp`` call opens a
new level; nested calls get higher levels, so an operation always records on
the innermost trace among its operands and treats boxes of outer traces as
ordinary values (which record themselves, one level down).
"""

from __future__ import annotations

import contextlib
import itertools
import threading

from ..errors import SourceDiffError

_node_order = itertools.count()
_levels = itertools.count(1)
_active = threading.local()


def new_level():
    """A fresh trace level, higher than every level handed out before."""
    return next(_levels)


@contextlib.contextmanager
def tracing(level):
    """Mark ``level`` as the innermost trace while the user function runs.

    Plain arrays that recorded operations keep (``x @ w`` keeps ``w`` for its
    backward) are read-only meanwhile, so changing one in place (``w += 1``) is a
    clear error instead of a silently wrong gradient; they are writable again after.
    """
    stack = _active.__dict__.setdefault("levels", [])
    held = _active.__dict__.setdefault("held", [])
    stack.append(level)
    held.append([])
    try:
        yield
    except ValueError as exc:
        if held[-1] and "read-only" in str(exc):
            raise SourceDiffError(
                "an array that a recorded operation uses was changed in place afterwards "
                f"({exc}); the tape keeps a reference to it, so the gradient would be wrong",
                hint="copy it before changing it (y = y.copy()) or write y = y + v") from None
        raise
    finally:
        stack.pop()
        for array in reversed(held.pop()):
            try:
                array.flags.writeable = True
            except ValueError:  # a view whose base is still held: restored with the base
                pass


def hold(array):
    """Keep ``array`` unchanged (read-only) until the innermost trace's function returns."""
    held = getattr(_active, "held", None)
    if held and array.flags.writeable:
        array.flags.writeable = False
        held[-1].append(array)


def current_level():
    """The innermost trace whose user function is running, or None."""
    stack = getattr(_active, "levels", None)
    return stack[-1] if stack else None


class Node:
    """One recorded operation.

    ``parents`` are the nodes of its traced inputs; ``backward(g)`` turns the
    cotangent of its output into one cotangent per parent (``None`` = none) by
    calling ``pullback(g, *saved)``. ``order`` grows with every node made, so
    parents always come before children: sorting by it is a topological order.
    """

    __slots__ = ("parents", "pullback", "saved", "order")

    def __init__(self, parents=(), pullback=None, saved=()):
        self.parents = parents
        self.pullback = pullback
        self.saved = saved
        self.order = next(_node_order)

    def backward(self, g):
        return self.pullback(g, *self.saved)

    def __repr__(self):
        return f"<Node #{self.order} parents={len(self.parents)}>"


class Const(Node):
    """The node of a traced *constant*: an array made inside the traced function
    (``np.zeros(3)``) or computed from such arrays only. It has no gradient, so
    operations on it are not recorded and converting it to a plain value is safe;
    it is a :class:`Box` only so that ``y[i] = traced`` can record into it."""

    __slots__ = ()


class Box:
    """A value being traced: ``value``, its ``node``, and its trace ``level``."""

    __slots__ = ("value", "node", "level")

    def __init__(self, value, node, level):
        self.value = value
        self.node = node
        self.level = level


def is_box(x):
    return isinstance(x, Box)


def is_constant(x):
    """Whether ``x`` is a box holding a traced constant (see :class:`Const`)."""
    return isinstance(x, Box) and type(x.node) is Const


def _is_seq(x):
    return isinstance(x, (list, tuple))


def find_top(args, kwargs=None):
    """The box of the highest level among ``args``/``kwargs`` (lists searched too)."""
    best = None
    stack = list(args) + list((kwargs or {}).values())
    while stack:
        x = stack.pop()
        if isinstance(x, Box):
            if best is None or x.level > best.level:
                best = x
        elif _is_seq(x):
            stack.extend(x)
    return best


def has_box(x):
    """Whether ``x`` is, or (in lists/tuples/dicts) holds, a box."""
    return holds(x, Box)


def holds(x, kind):
    """Whether ``x`` is, or (in lists/tuples/dicts) holds, an instance of ``kind``."""
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, kind):
            return True
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
    return False


def map_tree(fn, x):
    """Apply ``fn`` to every non-container leaf of nested dicts/lists/tuples."""
    if isinstance(x, dict):
        return {k: map_tree(fn, v) for k, v in x.items()}
    if isinstance(x, list):
        return [map_tree(fn, v) for v in x]
    if isinstance(x, tuple):
        items = [map_tree(fn, v) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
    return fn(x)


def unwrap(x, level):
    """``x`` with the boxes of trace ``level`` replaced by their values."""
    if isinstance(x, Box):
        return x.value if x.level == level else x
    if isinstance(x, (list, tuple, dict)) and has_box(x):
        return map_tree(lambda v: unwrap(v, level), x)
    return x


def unwrap_all(x):
    """``x`` with every box, at every level, replaced by its plain value."""
    while isinstance(x, Box):
        x = x.value
    if isinstance(x, (list, tuple, dict)) and has_box(x):
        return map_tree(unwrap_all, x)
    return x

"""Views of an array the function updates in place.

``t = y[:-1]`` (or ``y.T``, ``np.reshape(y, s)``) shares ``y``'s data: after
``y[1:] = np.sin(t)`` it holds the new values. The forward code reads ``t`` before the
update, but the reverse sweep reads it again afterwards (the adjoint of ``np.sin(t)`` is
``g * np.cos(t)``) and would see the new values: a wrong gradient with no error. So:

* :func:`check_stale` (both modes): a view read after its array was updated in place
  (NumPy: the read sees the update, an aliasing the derivative does not follow) is
  refused, naming the view and the update;
* :func:`copy_views` (the adjoint only, after its reverse sweep is written): each other
  binding of a name the reverse sweep reads to a view of an array the function updates
  in place becomes a copy (``t = copy_of(y[:-1])``): the value the forward code reads
  is the same, and the reverse sweep reads what it read.
"""

from __future__ import annotations

import gast

from ..ir import nodes as N
from ..runtime import copy_of
from .fence import fail, view_base


def view_root(v, ns, roots):
    """The name of the array whose data expression ``v`` may share (``y`` for ``y[:-1]``,
    ``y.T``, ``np.reshape(y, s)``, and for a view of a view of ``y`` or a name bound to
    one: ``roots`` maps a name bound to a view to its array), or None for a value of its
    own or a bare name of one."""
    seen_view = False
    while not isinstance(v, gast.Name):
        # (basic indexing: a view; a fancy index copies, taken for a view all the same)
        v = v.value if isinstance(v, gast.Subscript) else view_base(v, ns)
        if v is None:
            return None
        seen_view = True
    return roots.get(v.id, v.id) if seen_view else roots.get(v.id)  # (a view's name: one)


def _updated(s):
    """The array statement ``s`` (not its nested statements) updates in place, or None:
    ``y[i] = v``, ``y[i][j] = v``, ``y[i] += v``, ``y += v``."""
    if isinstance(s, gast.Assign) and len(s.targets) == 1 \
            and isinstance(s.targets[0], gast.Subscript):
        t = s.targets[0]
    elif isinstance(s, gast.AugAssign):
        t = s.target
    else:
        return None
    while isinstance(t, gast.Subscript):
        t = t.value
    return t.id if isinstance(t, gast.Name) else None


def updated_arrays(body):
    """Every name some statement of ``body`` updates in place."""
    return {y for s in _statements(body) if (y := _updated(s)) is not None}


def _statements(body):
    for s in body:
        yield s
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                yield from _statements(inner)


def check_stale(parsed, body, ns):
    """Refuse a read of a view made stale by an in-place update of its array (see the
    module's docstring), following the order statements run in (a loop's body twice:
    its next iteration reads what this one left)."""
    if updated_arrays(body):
        _Stale(parsed, ns).block(body, {}, {})


class _Stale:
    def __init__(self, parsed, ns):
        self.parsed, self.ns = parsed, ns

    def block(self, stmts, views, stale):
        """``views``: name -> its array, for names bound to a view; ``stale``: name -> the
        statement that updated its array since. Both updated in place."""
        for s in stmts:
            if isinstance(s, (gast.If, gast.For, gast.While)):
                self.compound(s, views, stale)
                continue
            for n in N.names_in(s, gast.Load):
                if n in stale:
                    fail(self.parsed, s, f"a read of '{n}', a view of '{views[n]}', after "
                         f"'{views[n]}' was updated in place (line "
                         f"{getattr(stale[n], 'lineno', '?')}): the view sees the update",
                         f"take a copy when you make it, e.g. {n} = np.copy(...), or "
                         "read it before the update")
            y = _updated(s)
            if y is not None:
                stale.update((n, s) for n, r in views.items() if r == y)
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
                t = s.targets[0].id
                views.pop(t, None)
                stale.pop(t, None)
                root = view_root(s.value, self.ns, views)
                if root is not None:
                    views[t] = root

    def compound(self, s, views, stale):
        for n in N.names_in(s.test if not isinstance(s, gast.For) else s.iter, gast.Load):
            if n in stale:  # (a loop's header, a branch's test)
                fail(self.parsed, s, f"a read of '{n}', a view of '{views[n]}', after "
                     f"'{views[n]}' was updated in place: the view sees the update",
                     f"take a copy when you make it, e.g. {n} = np.copy(...)")
        if isinstance(s, gast.If):
            v2, s2 = dict(views), dict(stale)
            self.block(s.body, views, stale)
            self.block(s.orelse, v2, s2)
            views.update(v2)
            stale.update(s2)
            return
        for _ in range(2):  # (the second pass: what the first iteration left)
            if isinstance(s, gast.For):
                for n in N.names_in(s.target, gast.Store):
                    views.pop(n, None)
                    stale.pop(n, None)
            self.block(s.body, views, stale)
        self.block(s.orelse, views, stale)


def copy_views(parsed, forward, ns, rev):
    """``forward`` (the adjoint's forward statements, in place) with each binding of a
    name the reverse statements ``rev`` read to a view of an array updated in place made
    a copy, ``t = copy_of(y[:-1])`` (see the module's docstring)."""
    updated = updated_arrays(forward)
    if updated:
        read = set(N.names_in(gast.Module(body=rev, type_ignores=[]), gast.Load))
        _Copies(parsed, ns, read, updated).block(forward)
    return forward


class _Copies:
    def __init__(self, parsed, ns, read, updated):
        self.parsed, self.ns, self.read, self.updated = parsed, ns, read, updated
        self.roots = {}  # name -> the array it is a view of (a copy: none)

    def block(self, stmts):
        for s in stmts:
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                    self.block(inner)
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
                self.assign(s)

    def assign(self, s):
        t, root = s.targets[0].id, view_root(s.value, self.ns, self.roots)
        self.roots.pop(t, None)
        if root is None:
            return
        if root not in self.updated or t not in self.read:
            self.roots[t] = root  # (a view of t is a view of root)
            return
        if self.ns.setdefault("copy_of", copy_of) is not copy_of:
            fail(self.parsed, s, f"a view of '{root}', updated in place, in a function "
                 "that reads its own 'copy_of'", "rename that global")
        s.value = N.call("copy_of", [s.value])

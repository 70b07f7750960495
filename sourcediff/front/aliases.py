"""``v += e`` on a name that may share its data with an array read afterwards.

NumPy's ``v += e`` writes into ``v``'s array, so after ``v = y[1:]`` (or ``v = y``,
``v = y.T``, ``for v in y``, ``v, w = y[:2], y[2:]``...) it changes ``y`` too; the
derivative is that of the normal form's ``v = v + e``, a new array, ``y`` unchanged.
Where ``y`` (or another name sharing its data) is read after the update the value and
the gradient would be wrong with no error: :func:`check_augmented` refuses it.

"After" follows the order statements run in: their position in the function's text,
never their line number (``v += e; s = np.sum(y)`` on one line is after too), and a
loop holding the update runs again (its next iteration reads what this one left), and a
nested function or lambda may run at any time later.
"""

from __future__ import annotations

import gast

from ..ir import nodes as N
from ..ir.signature import param_names
from .fence import fail, view_base
from .resolve import static_value

_LATER = (gast.Lambda, gast.FunctionDef)  # (what they read, they read when called)


def check_augmented(parsed, ns, number):
    """Refuse ``v += e`` (``v`` a name) where a name that may share ``v``'s data is read
    after the update (see the module's docstring). Read from the text as written (the
    normal form has no ``+=``); a number (``number(y)``: known from the argument shapes)
    shares nothing."""
    tree = parsed.tree
    if any(isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Name)
           for n in N.walk(tree)):
        arrays = {p: {p} for p in param_names(tree.args)}
        _Shares(parsed, ns, number, tree).block(tree.body, arrays, {})


class _Shares:
    """The statements in the order they run, following which arrays each name may
    refer to (or be a view of): ``arrays``, name -> its arrays (a parameter's or a
    name from outside: its own name; a new one: the statement and name it was made
    for), and
    ``changed``, name -> the ``+=`` that changed its data through another name since
    it was bound. Both updated in place."""

    def __init__(self, parsed, ns, number, tree):
        self.parsed, self.ns, self.number = parsed, ns, number
        self.lazy = {n.id for f in N.walk(tree) if isinstance(f, _LATER) and f is not tree
                     for n in N.walk(f) if isinstance(n, gast.Name)
                     and isinstance(n.ctx, gast.Load)}  # (read whenever it is called)

    def block(self, stmts, arrays, changed):
        for s in stmts:
            self.reads(_own_loads(s), changed)
            if isinstance(s, gast.If):
                a2, c2 = _copy(arrays), dict(changed)
                self.block(s.body, arrays, changed)
                self.block(s.orelse, a2, c2)
                _join(arrays, changed, a2, c2)
            elif isinstance(s, (gast.For, gast.While)):
                self.loop(s, arrays, changed)
            elif isinstance(s, gast.FunctionDef):  # (its updates: as if called from here)
                inner = dict(changed)
                self.block(s.body, _copy(arrays), inner)
                for n, update in inner.items():
                    changed.setdefault(n, update)
            elif isinstance(s, gast.With):
                self.block(s.body, arrays, changed)
            elif isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name):
                self.update(s, arrays, changed)
            else:
                self.bind(s, _bindings(s, self.ns), arrays, changed)
                for t, shared in _stored(s, self.ns):  # L.append(y): L holds y now
                    arrays[t] = arrays.setdefault(t, {t}).union(
                        *(arrays.setdefault(n, {n}) for n in shared))

    def reads(self, loads, changed):
        for n in loads:
            if n in changed:
                self.refuse(changed[n], n)

    def refuse(self, s, n):
        v = s.target.id
        fail(self.parsed, s, f"an in-place update of '{v}' ({v} += ...), which may share "
             f"its data with '{n}' (NumPy then changes '{n}' too), read afterwards",
             f"write {v} = {v} + ... (a new array), or take a copy (np.copy) where "
             f"'{v}' or '{n}' is bound")

    def bind(self, s, pairs, arrays, changed):
        made = [(t, set().union(*(arrays.setdefault(n, {n}) for n in shared)))
                for t, shared in pairs]  # (all read before any is bound: a, b = b, a)
        for t, refers in made:
            if not refers:  # a new array, made by s for t
                new = (s, t)
                for old in arrays.values():  # (one made here before, in a loop: another)
                    if new in old:
                        old.discard(new)
                        old.add(("before", new))
                refers.add(new)
            arrays[t] = refers
            changed.pop(t, None)

    def update(self, s, arrays, changed):
        """``v += e``: every other name of ``v``'s arrays sees the change."""
        v = s.target.id
        if self.number(v):
            return  # (a number: v += e binds a new one)
        mine = arrays.setdefault(v, {v})
        for n, refers in arrays.items():
            if n != v and refers & mine and not self.number(n):
                if n in self.lazy:
                    self.refuse(s, n)
                changed.setdefault(n, s)

    def loop(self, s, arrays, changed):
        """Until what the loop's head sees is the same again: a next iteration reads
        what this one left (and a loop may run no times)."""
        while True:
            a0, c0 = _copy(arrays), dict(changed)
            if isinstance(s, gast.For):
                self.bind(s, _bindings(s, self.ns), arrays, changed)
            self.block(s.body, arrays, changed)
            _join(arrays, changed, a0, c0)
            if arrays == a0 and changed.keys() == c0.keys():
                return
            if isinstance(s, gast.While):
                self.reads(_own_loads(s), changed)  # (its test, before each iteration)


def _copy(arrays):
    return {n: set(refers) for n, refers in arrays.items()}


def _join(arrays, changed, a2, c2):
    """Either branch's state (``a2``, ``c2`` into ``arrays``, ``changed``)."""
    for n, refers in a2.items():
        arrays[n] = arrays.get(n, set()) | refers
    for n, s in c2.items():
        changed.setdefault(n, s)


def _own_loads(s):
    """The names statement ``s`` reads itself (not in the statements it holds; not in
    a lambda, which reads them when called), in the order of the text."""
    todo = [getattr(s, f, None) for f in reversed(N.walk_fields(type(s)))
            if f not in ("body", "orelse")]  # (the statements it holds: their own)
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo += reversed(node)
        elif isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            yield node.id
        elif isinstance(node, gast.AST) and not isinstance(node, gast.Lambda):
            todo += [getattr(node, f, None) for f in reversed(N.walk_fields(type(node)))]


def _bindings(s, ns):
    """``(name, names)`` for each name statement ``s`` binds, with the names whose data
    the value bound may share."""
    if isinstance(s, gast.Assign):
        for t in s.targets:
            yield from _pairs(t, s.value, ns)
    elif isinstance(s, gast.AnnAssign) and s.value is not None:
        yield from _pairs(s.target, s.value, ns)
    elif isinstance(s, gast.For):  # (rows of an array are views; items of a list, aliases)
        it = s.iter
        f = static_value(it.func, ns) if isinstance(it, gast.Call) else None
        through = any(f is g for g in _THROUGH)
        shared = set().union(*(_shared(a, ns) for a in it.args)) if through else _shared(
            it, ns)
        yield from ((t, shared) for t in N.names_in(s.target, gast.Store))


def _stored(s, ns):
    """``(name, names)`` for ``L.append(y)``, ``L.extend([y, z])``, ``L.insert(i, y)``:
    the list ``L`` then holds ``y`` (``z``)."""
    call = s.value if isinstance(s, gast.Expr) else None
    if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) \
            and isinstance(call.func.value, gast.Name) and call.args \
            and call.func.attr in ("append", "extend", "insert"):
        yield call.func.value.id, _shared(call.args[-1], ns)


_THROUGH = (enumerate, zip, reversed, list, tuple, sorted, iter)  # (the items themselves)


def _pairs(target, value, ns):
    if isinstance(target, (gast.Tuple, gast.List)) and isinstance(
            value, (gast.Tuple, gast.List)) and len(target.elts) == len(value.elts) \
            and not any(isinstance(e, gast.Starred) for e in target.elts + value.elts):
        for t, v in zip(target.elts, value.elts):  # a, b = y[:2], y[2:]
            yield from _pairs(t, v, ns)
        return
    shared = _shared(value, ns)
    yield from ((t, shared) for t in N.names_in(target, gast.Store))


def _shared(v, ns):
    """The names whose data value ``v`` may share: ``y`` for ``y``, ``y[1:]``, ``y.T``,
    ``np.reshape(y, s)`` (a view: basic indexing; a fancy index copies, taken for a view
    all the same), each item's for a display ``[y, z]``, either's for ``a if c else b``,
    every name a comprehension reads."""
    if isinstance(v, gast.Name):
        return {v.id}
    if isinstance(v, (gast.Tuple, gast.List)):
        return set().union(*(_shared(e, ns) for e in v.elts))
    if isinstance(v, gast.Dict):
        return set().union(*(_shared(e, ns) for e in v.values))
    if isinstance(v, gast.Starred):
        return _shared(v.value, ns)
    if isinstance(v, gast.IfExp):
        return _shared(v.body, ns) | _shared(v.orelse, ns)
    if isinstance(v, gast.BoolOp):
        return set().union(*(_shared(e, ns) for e in v.values))
    if isinstance(v, (gast.ListComp, gast.DictComp)):
        return set(N.names_in(v, gast.Load))
    base = v.value if isinstance(v, gast.Subscript) else view_base(v, ns)
    return set() if base is None else _shared(base, ns)

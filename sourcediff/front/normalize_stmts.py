"""Pass 4 for statements (part of :mod:`normalize`): assignments and unpacking, loops
over ranges, sequences, ``zip``/``enumerate`` and dicts, ``while``."""

from __future__ import annotations

import gast

from ..ir import nodes as N
from .fence import fail
from .resolve import MISSING, static_value
from ..runtime import keys_of


class StatementNormalizer:
    """The :class:`normalize.Normalizer` methods for statements."""

    def block(self, stmts):
        return self.sub_block(lambda: [self.stmt(s) for s in stmts])

    def stmt(self, s):
        if isinstance(s, gast.Assign):
            return self.assign(s)
        if isinstance(s, gast.AnnAssign):
            if s.value is not None:
                self.assign(N.assign(s.target, s.value))
            return
        if isinstance(s, gast.AugAssign):
            value = N.binop(N.load(s.target), s.op, s.value)
            return self.assign(gast.copy_location(N.assign(s.target, value), s))
        if isinstance(s, gast.Return):
            value = N.const(None) if s.value is None else self.atom(s.value)
            return self.emit(N.return_(value), s)
        if isinstance(s, gast.Expr):
            if isinstance(s.value, gast.Constant):
                return  # docstring or bare constant
            return self.emit(N.expr_stmt(self.simple(s.value)), s)
        if isinstance(s, gast.If):
            test = self.atom(s.test)
            return self.emit(N.if_(test, self.block(s.body), self.block(s.orelse)), s)
        if isinstance(s, gast.For):
            return self.for_(s)
        if isinstance(s, gast.While):
            return self.while_(s)
        if isinstance(s, gast.With):
            new = gast.With(items=s.items, body=self.block(s.body), type_comment=None)
            return self.emit(new, s)
        if isinstance(s, (gast.Break, gast.Continue, gast.Pass, gast.Assert, gast.Raise,
                          gast.FunctionDef)):
            return self.emit(s, s)
        fail(self.parsed, s, f"the statement {type(s).__name__}", "rewrite it")

    def assign(self, s):
        targets = s.targets
        if len(targets) > 1:
            value = self.atom(s.value)
            for t in targets:
                self.assign(gast.copy_location(N.assign(t, N.load(value)), s))
            return
        target = targets[0]
        if isinstance(target, gast.Name):
            return self.emit(N.assign(target, self.simple(s.value)), s)
        if isinstance(target, (gast.Tuple, gast.List)):
            return self.unpack(target, s.value, s)
        if isinstance(target, gast.Subscript):
            obj = self.atom(N.load(target.value))
            idx = self.index(target.slice)
            value = self.atom(s.value)
            sub = gast.Subscript(value=N.name(obj.id, store=False), slice=idx, ctx=gast.Store())
            return self.emit(N.assign(sub, value), s)
        if isinstance(target, gast.Attribute):  # obj.n += 1, allowed by the fence: it runs
            if self.ns.get("setattr") is not setattr:
                fail(self.parsed, s, "assignment to an attribute in a function that reads "
                     "its own 'setattr'", "rename that global")
            obj, value = self.atom(N.load(target.value)), self.atom(s.value)
            return self.emit(N.expr_stmt(N.call("setattr", [obj, N.const(target.attr), value])),
                             s)
        fail(self.parsed, s, "this assignment target", "assign to a plain name")

    def unpack(self, target, value, s):
        stars = [i for i, e in enumerate(target.elts) if isinstance(e, gast.Starred)]
        if stars:  # a, *rest, z = seq: rest = list(seq[1:-1]), as Python builds it
            whole, k, n = self.atom(value), stars[0], len(target.elts)
            self.check_length(whole, n - 1, "at least ", s)
            for i, tgt in enumerate(target.elts):
                if i == k:
                    part = gast.Subscript(value=N.load(whole), slice=gast.Slice(
                        lower=N.const(k), upper=N.const(i - n + 1) if i < n - 1 else None,
                        step=None), ctx=gast.Load())
                    tgt, item = tgt.value, N.call("list", [part])
                else:
                    item = gast.Subscript(value=N.load(whole),
                                          slice=N.const(i if i < k else i - n), ctx=gast.Load())
                self.assign(gast.copy_location(N.assign(tgt, item), s))
            return
        if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(target.elts):
            temps = [self.atom(v) for v in value.elts]
            stored = set(N.names_in(target))
            # evaluate all right-hand sides before any assignment (``a, b = b, a``)
            safe = []
            for t in temps:
                if isinstance(t, gast.Name) and t.id in stored:
                    tmp = self.temp()
                    self.emit(N.assign(tmp, t), s)
                    t = N.name(tmp)
                safe.append(t)
            for tgt, v in zip(target.elts, safe):
                self.assign(gast.copy_location(N.assign(tgt, v), s))
            return
        whole = self.atom(value)
        self.check_length(whole, len(target.elts), "", s)
        for i, tgt in enumerate(target.elts):
            item = gast.Subscript(value=N.load(whole), slice=N.const(i), ctx=gast.Load())
            self.assign(gast.copy_location(N.assign(tgt, item), s))

    def check_length(self, whole, n, at_least, s):
        """``a, b = seq`` reads ``seq[0]``, ``seq[1]``: first Python's own check that
        ``seq`` has two items (else a ValueError, as the function itself raises), so a
        sequence of another length never gives a value and a gradient."""
        if isinstance(whole, gast.Constant):
            return
        test = gast.Compare(left=N.call("len", [N.load(whole)]),
                            ops=[gast.Lt() if at_least else gast.NotEq()],
                            comparators=[N.const(n)])
        message = f"expected {at_least}{n} values to unpack"
        fail = gast.Raise(exc=N.call("ValueError", [N.const(message)]), cause=None)
        self.emit(gast.If(test=test, body=[gast.copy_location(fail, s)], orelse=[]), s)

    def for_(self, s):
        """``for x in seq`` -> ``for _i in range(len(seq)): x = seq[_i]``.

        Every loop then counts with ``range``, so the reverse sweep replays it with
        ``reversed(range)`` and reads of ``seq[_i]`` get ordinary adjoints."""
        s = self.dict_loop(s)
        it = s.iter
        fn = static_value(it.func, self.ns) if isinstance(it, gast.Call) and self.is_static(
            it.func) else None
        if fn in (enumerate, zip) and not it.keywords and 1 <= len(it.args) <= (
                2 if fn is enumerate else 99):
            return self.indexed_for(s, it)
        is_range = fn is range
        if isinstance(it, gast.Call) and self.is_static(it.func) and static_value(
                it.func, self.ns) in (zip, enumerate, reversed):
            it = N.call("list", [it])
        it = self.atom(it)
        target = s.target
        body_prefix = []
        if not is_range:
            idx = self.temp()
            item = gast.Subscript(value=N.load(it), slice=N.name(idx), ctx=gast.Load())
            body_prefix = [gast.copy_location(N.assign(target, item), s)]
            target = N.name(idx, store=True)
            it = self.atom(N.call("range", [N.call("len", [N.load(it)])]))
        elif not isinstance(target, gast.Name):
            tmp = self.temp()
            body_prefix = [gast.copy_location(N.assign(target, N.name(tmp)), s)]
            target = N.name(tmp, store=True)
        body = self.block(body_prefix + s.body)
        self.emit(N.for_(target, it, body), s)

    def dict_loop(self, s):
        """Loops over a dict's ``keys()``, ``values()`` or ``items()``, and ``for k in d``
        whose body reads ``d[k]``, as a loop over the key list with ``d[k]`` reads."""
        it, target = s.iter, s.target
        if isinstance(it, gast.Call) and isinstance(it.func, gast.Attribute) and not it.args \
                and not it.keywords and it.func.attr in ("keys", "values", "items") \
                and static_value(it.func, self.ns) is MISSING:
            d, kind = it.func.value, it.func.attr
        elif isinstance(it, gast.Name) and isinstance(target, gast.Name) and any(
                isinstance(n, gast.Subscript) and isinstance(n.value, gast.Name)
                and n.value.id == it.id and isinstance(n.slice, gast.Name)
                and n.slice.id == target.id for b in s.body for n in N.walk(b)):
            d, kind = it, "keys"
        else:
            return s
        if kind == "items" and not (isinstance(target, gast.Tuple) and len(target.elts) == 2):
            return s
        self.ns.setdefault("keys_of", keys_of)
        keys = N.call("keys_of", [N.load(d)])
        if kind == "keys":
            return gast.copy_location(N.for_(target, keys, s.body), s)
        key = target.elts[0] if kind == "items" else N.name(self.temp(), store=True)
        value = target.elts[1] if kind == "items" else target
        read = gast.Subscript(value=N.load(d), slice=N.load(key), ctx=gast.Load())
        first = gast.copy_location(N.assign(value, read), s)
        return gast.copy_location(N.for_(key, keys, [first] + s.body), s)

    def indexed_for(self, s, it):
        """``for i, v in enumerate(x)`` / ``for a, b in zip(x, y)`` (nested too, as in
        ``enumerate(zip(x, y))``) as one index loop: ``target = <item at _i>``."""
        idx = self.temp()
        count, item = self.zipped(it, N.name(idx))
        prefix = [gast.copy_location(a, s) for a in _unpack(s.target, item)]
        rng = self.atom(N.call("range", [count]))
        self.emit(N.for_(N.name(idx, store=True), rng, self.block(prefix + s.body)), s)

    def zipped(self, it, idx):
        """(number of items, item ``idx``) of ``zip(...)``, ``enumerate(...)`` or a sequence."""
        fn = static_value(it.func, self.ns) if isinstance(it, gast.Call) and self.is_static(
            it.func) and not it.keywords else None
        if fn is zip and it.args:
            parts = [self.zipped(a, idx) for a in it.args]
            counts = [c for c, _ in parts]
            count = N.call("min", counts) if len(counts) > 1 else counts[0]
            return count, N.tuple_([item for _, item in parts])
        if fn is enumerate and 1 <= len(it.args) <= 2:
            count, inner = self.zipped(it.args[0], idx)
            number = N.clone(idx)
            if len(it.args) > 1:
                number = N.binop(number, gast.Add(), self.atom(it.args[1]))
            return count, N.tuple_([number, inner])
        seq = self.atom(it)
        return (N.call("len", [N.load(seq)]),
                gast.Subscript(value=N.load(seq), slice=N.clone(idx), ctx=gast.Load()))

    def while_(self, s):
        # while c: body  ->  while True: <c's statements>; if not c: break; body
        def fill():
            test = self.atom(s.test)
            neg = self.temp()
            self.emit(N.assign(neg, gast.UnaryOp(op=gast.Not(), operand=test)), s)
            self.emit(N.if_(N.name(neg), [gast.Break()]), s)
            for stmt in s.body:
                self.stmt(stmt)
        body = self.sub_block(fill)
        self.emit(gast.While(test=N.const(True), body=body, orelse=[]), s)


def own_counters(body, params, temp):
    """Each loop ``for i in range(...)`` of ``body`` (normalised) whose ``i`` something
    else assigns too (its own body, or anywhere in the function an assignment or a
    parameter: not just another loop's target) as ``for _t in range(...): i = _t; ...``,
    in place; ``temp()`` gives a new name.

    The reverse sweep sets a loop's target from the range at each reversed iteration,
    and neither sweep gives it a derivative: right only for a name holding the
    iteration's number all through the body and never a differentiated value. Every
    other loop counts with a name of its own, and ``i`` is an ordinary variable, saved,
    restored and differentiated as any other."""
    assigned = set(params) | _assigned(body, loop_targets=False)
    for s in _statements(body):
        i = getattr(s, "target", None) if isinstance(s, gast.For) else None
        if isinstance(i, gast.Name) and (
                i.id in assigned or i.id in _assigned(s.body, loop_targets=True)):
            tmp = temp()
            s.body.insert(0, gast.copy_location(N.assign(i.id, N.name(tmp)), s))
            s.target = N.name(tmp, store=True)
    return body


def _assigned(stmts, loop_targets):
    """The names statements ``stmts`` assign (nested blocks included, a nested function's
    locals not), with or without those assigned as a loop's target."""
    out = set()
    for s in _statements(stmts):
        if isinstance(s, gast.For):
            if loop_targets:
                out.update(N.names_in(s.target, gast.Store))
        elif isinstance(s, gast.FunctionDef):
            out.add(s.name)
        elif isinstance(s, gast.With):
            out.update(n for item in s.items if item.optional_vars is not None
                       for n in N.names_in(item.optional_vars, gast.Store))
        elif not N.has_block(s):
            out.update(N.names_in(s, gast.Store))
    return out


def _statements(stmts):
    """Every statement of ``stmts``, nested blocks included, a nested function's not."""
    for s in stmts:
        yield s
        if N.has_block(s) and not isinstance(s, gast.FunctionDef):
            for field in ("body", "orelse"):
                yield from _statements(getattr(s, field, None) or [])


def _unpack(target, value):
    """``target = value`` as one assignment per name where both are tuples alike."""
    if isinstance(target, gast.Tuple) and isinstance(value, gast.Tuple) and len(
            target.elts) == len(value.elts):
        return [a for t, v in zip(target.elts, value.elts) for a in _unpack(t, v)]
    return [N.assign(target, value)]

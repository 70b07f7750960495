"""Calls that unpack a sequence or dict whose length or keys are known when the function
is compiled: ``f(*args)`` becomes ``f(args[0], args[1], ...)``, ``f(*args[1:])`` the
items of that slice, ``f(**kw)`` becomes ``f(a=kw["a"], ...)``; and ``kw.get("a",
default)`` becomes ``kw["a"]`` or ``default``, as the keys say (run on the parsed tree,
before normalisation).

A name's length is known when every store to it gives the same one: a tuple or list
display without a starred item, ``list(y)``/``tuple(y)`` of a name of known length, or a
parameter whose length the call's specialisation gives (:mod:`sourcediff.values.spec`);
and nothing changes it but item assignments (``args[i] = v``). A dict's keys are known
when it is a display with string keys (or such a parameter), stored once and never
changed. Other ``*args`` and ``**kwargs`` calls stay, for the fence to refuse.

``dict(...)`` of a display (pairs, a dict, keywords) is read as that dict display
(:func:`dict_display`, for the normaliser).
"""

from __future__ import annotations

import gast

from ..ir import nodes as N

_READING = ("get", "keys", "values", "items")  # dict methods that leave the dict as it is


def expand_starred_calls(tree, known=None):
    """Spell out the starred arguments, ``**`` keywords and ``.get`` calls of ``tree``
    whose length or keys are known (``known``: parameter name -> length or keys)."""
    _Expand(_known_lengths(tree, known or {})).visit(tree)


class _Expand(gast.NodeTransformer):
    def __init__(self, lengths):
        self.lengths = lengths

    def visit_Call(self, node):
        self.generic_visit(node)
        node.args = [item for a in node.args for item in self.starred(a, node)]
        node.keywords = [item for k in node.keywords for item in self.double_starred(k, node)]
        return self.get(node)

    def starred(self, a, call):
        """``*name`` or ``*name[i:j:k]`` of known length: its items; else ``a`` itself."""
        if not isinstance(a, gast.Starred):
            return [a]
        name, picked = a.value, None
        if isinstance(name, gast.Subscript) and isinstance(name.slice, gast.Slice):
            name, picked = name.value, _const_slice(name.slice)
            if picked is None:
                return [a]
        n = self.lengths.get(name.id) if isinstance(name, gast.Name) else None
        if not isinstance(n, int):
            return [a]
        indices = range(n) if picked is None else range(n)[picked]
        return [_located(gast.Subscript(value=N.name(name.id), slice=N.const(i),
                                        ctx=gast.Load()), a, call) for i in indices]

    def double_starred(self, k, call):
        """``**name`` with known keys: one keyword per key; else ``k`` itself."""
        keys = self.lengths.get(k.value.id) if k.arg is None and isinstance(
            k.value, gast.Name) else None
        if not isinstance(keys, tuple):
            return [k]
        return [gast.keyword(arg=key, value=_located(gast.Subscript(
            value=N.name(k.value.id), slice=N.const(key), ctx=gast.Load()), k.value, call))
            for key in keys]

    def get(self, node):
        """``d.get("a", default)`` with known keys: ``d["a"]`` if "a" is one of them, else
        the default (None if not given)."""
        f = node.func
        if not (isinstance(f, gast.Attribute) and f.attr == "get" and isinstance(
                f.value, gast.Name) and isinstance(self.lengths.get(f.value.id), tuple)
                and not node.keywords and 1 <= len(node.args) <= 2
                and isinstance(node.args[0], gast.Constant)):
            return node
        if node.args[0].value in self.lengths[f.value.id]:
            out = gast.Subscript(value=N.name(f.value.id), slice=node.args[0],
                                 ctx=gast.Load())
        else:
            out = node.args[1] if len(node.args) == 2 else N.const(None)
        return gast.copy_location(out, node)


def _located(item, near, call):
    N.set_location([item], getattr(near, "lineno", None) or call.lineno)
    return item


def _const_slice(s):
    """``slice(i, j, k)`` of a slice of integer constants (or omitted parts), else None."""
    parts = []
    for p in (s.lower, s.upper, s.step):
        if p is None:
            parts.append(None)
        elif isinstance(p, gast.Constant) and type(p.value) is int:
            parts.append(p.value)
        elif isinstance(p, gast.UnaryOp) and isinstance(p.op, gast.USub) and isinstance(
                p.operand, gast.Constant) and type(p.operand.value) is int:
            parts.append(-p.operand.value)
        else:
            return None
    return None if parts[2] == 0 else slice(*parts)


def _known_lengths(tree, known):
    """Name -> its length (an int) or its keys (a tuple), where the module docstring's
    conditions hold."""
    sources, stores, changed = {}, {}, set()
    for node in N.walk(tree):
        if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1  # (a parameter counts too)
            if isinstance(node.ctx, gast.Param) and node.id in known:
                sources.setdefault(node.id, []).append(known[node.id])
        if isinstance(node, gast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], gast.Name):
            sources.setdefault(node.targets[0].id, []).append(node.value)
        if isinstance(node, (gast.Subscript, gast.Attribute)) and isinstance(
                node.value, gast.Name):
            if isinstance(node, gast.Attribute) and node.attr not in _READING or isinstance(
                    node, gast.Subscript) and not isinstance(node.ctx, gast.Load) and (
                    isinstance(node.ctx, gast.Del) or isinstance(node.slice, gast.Slice)):
                changed.add(node.value.id)  # args.append(...), del args[0], args[1:] = ...
            elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store):
                changed.add(("item", node.value.id))  # args[0] = ...: a list keeps its length
    changed |= _escaping(tree, sources)
    candidates = {}
    for name, values in sources.items():
        if len(values) == stores.get(name) and name not in changed:
            direct = {_length_of(v, {}) for v in values} - {None}
            if len(direct) == 1:
                n = direct.pop()
                if isinstance(n, int) or ("item", name) not in changed:
                    candidates[name] = n
    # a greatest fixed point (args = list(args) keeps args's length): drop each name one
    # of whose stores does not surely give its candidate, until none is dropped
    lengths = candidates
    while True:
        kept = {name: n for name, n in lengths.items()
                if all(_length_of(v, lengths) == n for v in sources[name])}
        if kept == lengths:
            return lengths
        lengths = kept


def _escaping(tree, sources):
    """Names that may hold a list or dict (a display, ``list(...)``, a ``**kwargs``
    parameter) read anywhere but as ``name[i]``, ``*name``, ``**name``, ``name.get``/
    ``.keys``/``.values``/``.items`` or ``len``/``list``/``tuple(name)``: a second
    name or a callee may change them (``other = args; other.append(v)``)."""
    mutable = {name for name, values in sources.items() if any(
        isinstance(v, (gast.List, gast.Dict, tuple)) or isinstance(v, gast.Call) and isinstance(
            v.func, gast.Name) and v.func.id == "list" for v in values)}
    safe = set()
    for node in N.walk(tree):
        if isinstance(node, (gast.Subscript, gast.Starred)):
            safe.add(id(node.value))
        elif isinstance(node, gast.Attribute) and node.attr in _READING:
            safe.add(id(node.value))
        elif isinstance(node, gast.keyword) and node.arg is None:
            safe.add(id(node.value))
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                node.func.id in ("len", "list", "tuple"):
            safe.update(id(a) for a in node.args)
    return {node.id for node in N.walk(tree) if isinstance(node, gast.Name)
            and isinstance(node.ctx, gast.Load) and node.id in mutable and id(node) not in safe}


def _length_of(value, lengths):
    """The length (or dict keys) ``value`` surely has, or None."""
    if isinstance(value, (int, tuple)):  # a parameter's, from the specialisation
        return value
    if isinstance(value, (gast.Tuple, gast.List)) and not any(
            isinstance(e, gast.Starred) for e in value.elts):
        return len(value.elts)
    if isinstance(value, gast.Dict) and all(
            isinstance(k, gast.Constant) and isinstance(k.value, str)
            and k.value.isidentifier() for k in value.keys):
        return tuple(dict.fromkeys(k.value for k in value.keys))
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and \
            value.func.id in ("list", "tuple") and len(value.args) == 1 and \
            not value.keywords:
        n = _length_of(value.args[0], lengths)
        return n if isinstance(n, int) else None
    if isinstance(value, gast.Name):
        return lengths.get(value.id)
    return None


def dict_display(call):
    """The keys and values of ``dict(...)`` written as a display (no argument, a dict
    display, or a list or tuple display of pairs; keywords after), else None."""
    keys, values = [], []
    if len(call.args) > 1 or any(k.arg is None for k in call.keywords):
        return None
    for arg in call.args:
        if isinstance(arg, gast.Dict) and None not in arg.keys:
            keys, values = list(arg.keys), list(arg.values)
        elif isinstance(arg, (gast.List, gast.Tuple)) and all(
                isinstance(e, (gast.Tuple, gast.List)) and len(e.elts) == 2 for e in arg.elts):
            keys, values = [e.elts[0] for e in arg.elts], [e.elts[1] for e in arg.elts]
        else:
            return None
    keys += [N.const(k.arg) for k in call.keywords]
    return keys, values + [k.value for k in call.keywords]

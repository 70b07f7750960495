"""Calls that unpack a display made in the function: ``f(*args)`` where ``args`` is a
tuple or list display, ``f(**kw)`` where ``kw`` is a dict display with string keys, both
assigned once and never changed, become calls with the items spelled out (run on the
parsed tree, before normalisation)."""

from __future__ import annotations

import gast

from ..ir import nodes as N


def expand_starred_calls(tree, known=None):
    """``f(*args)`` where ``args`` is a tuple or list display assigned once (and never
    changed) becomes ``f(args[0], args[1], ...)``: its length is known here; ``f(**kw)``
    where ``kw`` is such a dict display with string keys, ``f(a=kw["a"], ...)``. The same
    for a parameter never rebound whose length or keys ``known`` gives (name -> length or
    keys: the call's specialisation, :mod:`sourcediff.values.spec`). Other ``*args`` and
    ``**kwargs`` calls stay, for the fence to refuse."""
    displays = _fixed_displays(tree, known or {})
    for node in N.walk(tree):
        if isinstance(node, gast.Call) and any(
                k.arg is None and isinstance(k.value, gast.Name)
                and isinstance(displays.get(k.value.id), tuple) for k in node.keywords):
            keywords = []
            for k in node.keywords:
                keys = displays.get(k.value.id) if k.arg is None and isinstance(
                    k.value, gast.Name) else None
                if not isinstance(keys, tuple):
                    keywords.append(k)
                    continue
                for key in keys:
                    item = gast.Subscript(value=N.name(k.value.id), slice=N.const(key),
                                          ctx=gast.Load())
                    N.set_location([item], getattr(k.value, "lineno", None) or node.lineno)
                    keywords.append(gast.keyword(arg=key, value=item))
            node.keywords = keywords
        if isinstance(node, gast.Call) and any(
                isinstance(a, gast.Starred) and isinstance(a.value, gast.Name)
                and isinstance(displays.get(a.value.id), int) for a in node.args):
            args = []
            for a in node.args:
                n = displays.get(a.value.id) if isinstance(a, gast.Starred) and isinstance(
                    a.value, gast.Name) else None
                if not isinstance(n, int):
                    args.append(a)
                    continue
                for i in range(n):
                    item = gast.Subscript(value=N.name(a.value.id), slice=N.const(i),
                                          ctx=gast.Load())
                    N.set_location([item], getattr(a, "lineno", None) or node.lineno)
                    args.append(item)
            node.args = args


def _fixed_displays(tree, known):
    """Names (not parameters anywhere in ``tree``) stored once, by ``name = (a, b, ...)``
    or ``[a, b, ...]`` without a starred item, and never changed in place: their length;
    by ``name = {"a": x, ...}`` with string keys only: the keys, a tuple."""
    stores, lengths, changed = {}, dict(known), set()
    for node in N.walk(tree):
        if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1  # (a parameter counts too)
        if isinstance(node, gast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], gast.Name) and isinstance(node.value, (gast.Tuple, gast.List)) \
                and not any(isinstance(e, gast.Starred) for e in node.value.elts):
            lengths[node.targets[0].id] = len(node.value.elts)
        if isinstance(node, gast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], gast.Name) and isinstance(node.value, gast.Dict) and all(
                    isinstance(k, gast.Constant) and isinstance(k.value, str)
                    and k.value.isidentifier() for k in node.value.keys):
            lengths[node.targets[0].id] = tuple(dict.fromkeys(k.value for k in node.value.keys))
        if isinstance(node, (gast.Subscript, gast.Attribute)) and isinstance(
                node.value, gast.Name):
            if not isinstance(node.ctx, gast.Load) or isinstance(node, gast.Attribute):
                changed.add(node.value.id)  # args[0] = ..., args.append(...)
    return {k: n for k, n in lengths.items() if stores.get(k) == 1 and k not in changed}

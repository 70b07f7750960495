"""Pass 8e (last): large temporaries released after their last use.

A name keeps its array alive until the function returns; a hand-written gradient lets
go of a big forward temporary once the reverse sweep has read it for the last time.
Where an array of at least ``MIN_SIZE`` elements (its shape known from shape
specialisation) is bound by a plain top-level assignment and mentioned for the last
time by a top-level statement before the return, ``name = None`` follows it,
so the peak memory of a gradient call holds only what is still needed. (The name is
bound to None rather than deleted: generated code is differentiated again at higher
order, and ``del`` is not differentiable code.) Not in a function that defines a
nested function or lambda, which could read the name later.
"""

from __future__ import annotations

import math

import gast

from ..ir import nodes as N

MIN_SIZE = 4096


def release(fdef, analyse, keep=()):
    """Insert the releases into ``fdef`` (``analyse()``: its :class:`shapes.Shapes`, asked
    for only if some name could be released; ``keep``: names never released). True if
    any was added."""
    body = fdef.body
    if not body or not isinstance(body[-1], gast.Return):
        return False
    params = {a.id for a in fdef.args.args}
    names = N.anno(fdef, "names")  # (the NameGen: the stack of saved values is never released)
    bound, last = {}, {}
    for i, s in enumerate(body[:-1]):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            bound.setdefault(s.targets[0].id, i)
        mentioned = _names(s)
        if mentioned is None:
            return False  # a closure may read a name after its last mention
        last.update(dict.fromkeys(mentioned, i))
    returned = _names(body[-1])
    if returned is None:
        return False
    returned = set(returned)
    drops = {}
    candidates = [(n, i) for n, i in last.items() if not (
        n in params or n in keep or n in returned or n not in bound or bound[n] > i
        or names.role(n) == "stack")]
    sh = analyse() if candidates else None
    for n, i in candidates:
        shape = sh.of(N.name(n))
        if shape and math.prod(shape) >= MIN_SIZE:
            drops.setdefault(i, []).append(n)
    if not drops:
        return False
    out = []
    for i, s in enumerate(body):
        out.append(s)
        # (``name = None``, not ``del name``: generated code is itself differentiated
        # at higher order, and an assignment is code any pass reads)
        out += [N.assign(n, N.const(None)) for n in sorted(drops.get(i, ()))]
    body[:] = out
    return True


def _names(stmt):
    """``N.names_in(stmt)`` (in any order), or None where ``stmt`` defines a function or a
    lambda: one walk for both."""
    out = []
    todo = [stmt]
    pop, name_type, const_type = todo.pop, gast.Name, gast.Constant
    closures = (gast.FunctionDef, gast.Lambda)
    while todo:
        n = pop()
        cls = n.__class__
        if cls is name_type:
            out.append(n.id)
            if n.annotation is None:
                continue
        elif cls is const_type:
            continue
        elif cls in closures:
            return None
        N.queue_children(n, todo)
    return out

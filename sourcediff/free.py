"""Pass 8e (last): large temporaries released after their last use.

A name keeps its array alive until the function returns; a hand-written gradient lets
go of a big forward temporary once the reverse sweep has read it for the last time.
Where an array of at least ``MIN_SIZE`` elements (its shape known from shape
specialisation) is bound by a plain top-level assignment and mentioned for the last
time by a top-level statement before the return, ``del name`` follows that statement,
so the peak memory of a gradient call holds only what is still needed.
"""

from __future__ import annotations

import math

import gast

from . import nodes as N

MIN_SIZE = 4096


def release(fdef, sh, keep=()):
    """Insert the ``del`` statements into ``fdef`` (``sh``: its :class:`shapes.Shapes`;
    ``keep``: names never released). True if any was added."""
    body = fdef.body
    if not body or not isinstance(body[-1], gast.Return):
        return False
    params = {a.id for a in fdef.args.args}
    bound, last = {}, {}
    for i, s in enumerate(body[:-1]):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            bound.setdefault(s.targets[0].id, i)
        for n in N.names_in(s):
            last[n] = i
    returned = set(N.names_in(body[-1]))
    drops = {}
    for n, i in last.items():
        if n in params or n in keep or n in returned or n not in bound or bound[n] > i \
                or n.startswith("_stack"):
            continue
        shape = sh.of(N.name(n))
        if shape and math.prod(shape) >= MIN_SIZE:
            drops.setdefault(i, []).append(n)
    if not drops:
        return False
    out = []
    for i, s in enumerate(body):
        out.append(s)
        if i in drops:
            out.append(gast.Delete(targets=[N.name(n, store=True) for n in sorted(drops[i])]))
            out[-1].targets[:] = [gast.Name(id=t.id, ctx=gast.Del(), annotation=None,
                                            type_comment=None) for t in out[-1].targets]
    body[:] = out
    return True

"""The reverse sweep: send cotangents from outputs back to inputs.

Iterative (no recursion), so a chain of a million operations is fine. Nodes
are visited newest first, which is a topological order because every node is
made after its parents. Cotangents are summed out of place (``a + b`` makes a
new array), so no array that might alias user data is ever written to.
When the cotangents or the saved values are themselves traced, the arithmetic
here records on the outer trace: that is how ``grad(grad(f))`` works.
"""

from __future__ import annotations

from operator import attrgetter


def reachable(roots):
    """Every node the ``roots`` depend on, newest first."""
    seen = set()
    stack = list(roots)
    nodes = []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        nodes.append(node)
        stack.extend(node.parents)
    nodes.sort(key=attrgetter("order"), reverse=True)
    return nodes


def backward(seeds):
    """Run the sweep from ``{node: cotangent}``.

    Returns the cotangents that reached source nodes (nodes with no parents:
    the traced inputs and traced constants), keyed by node.
    """
    cots = dict(seeds)
    sources = {}
    for node in reachable(seeds):
        g = cots.pop(node, None)
        if g is None:
            continue
        if not node.parents:
            sources[node] = g
            continue
        for parent, c in zip(node.parents, node.backward(g)):
            if c is not None:
                cots[parent] = add(cots.get(parent), c)
    return sources


def add(a, b):
    """``a + b`` where ``a`` may be None (no cotangent yet); the cotangents of a tuple
    output (lists, None for an entry not read) add entry by entry."""
    if isinstance(a, list) and isinstance(b, list):
        return [y if x is None else x if y is None else x + y for x, y in zip(a, b)]
    return b if a is None else a + b

"""Walks over gast trees: every node (``walk``), the statement lists (``blocks``), the
names (``names_in``). The compiler's passes call these for nearly every statement, every
round: hence the hand-written loops, and the fields to look at kept per node class.
(:mod:`nodes` re-exports them.)"""

from __future__ import annotations

from collections import deque

import gast


def walk(node):
    """``ast.walk`` (same breadth-first order), without its per-node generator overhead,
    and without the nodes that only mark a context or an operator (``Load``, ``Store``,
    ``Add``, ``Lt`` ...: read their parent's ``ctx``, ``op`` or ``ops``), two in five
    nodes of generated code. A node's children are queued before it is yielded (as
    ``ast.walk`` does): a caller may replace them, and the walk goes on with those it
    had."""
    queue = [node]  # (the nodes met, in order: iterating it while it grows is the queue)
    append, ast_type, list_type = queue.append, gast.AST, list
    fields_of = _WALK_FIELDS
    for n in queue:
        for field in fields_of.get(n.__class__) or walk_fields(n.__class__):
            v = getattr(n, field, None)
            if type(v) is list_type:
                for x in v:
                    if isinstance(x, ast_type):
                        append(x)
            elif isinstance(v, ast_type):
                append(v)
        yield n


_LEAF_FIELDS = {"id", "attr", "kind", "type_comment", "arg", "level", "module", "simple",
                "is_async", "conversion"}  # (fields that never hold a node)
_CHILD_FIELDS = {}  # node class -> its fields but those


def child_fields(cls):
    """The fields of node class ``cls`` that may hold a node (not its strings)."""
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS[cls] = tuple(f for f in cls._fields if f not in _LEAF_FIELDS)
    return fields


_MARKER_FIELDS = {"ctx", "op", "ops"}  # (fields holding contexts and operators)
_WALK_FIELDS = {}  # node class -> the fields walk follows


def walk_fields(cls):
    """The fields of node class ``cls`` that :func:`walk` follows: those that may hold a
    node, but contexts and operators."""
    fields = _WALK_FIELDS.get(cls)
    if fields is None:
        fields = _WALK_FIELDS[cls] = tuple(f for f in child_fields(cls)
                                           if f not in _MARKER_FIELDS)
    return fields


_BLOCK_FIELDS = {}  # node class -> its fields that may hold statements


def blocks(root):
    """Every statement list (``body``, ``orelse``) under ``root``, in the order ``walk``
    meets them, visiting statements only (never the expressions inside them)."""
    for _node, _field, block in owned_blocks(root):
        yield block


def owned_blocks(root):
    """``(node, field, block)`` for every statement list ``block`` under ``root``."""
    todo = deque([root])
    pop, push = todo.popleft, todo.append
    stmt_types = (gast.stmt, gast.excepthandler)
    fields_of, holds = _BLOCK_FIELDS, _HOLDS
    while todo:
        n = pop()
        fields = fields_of.get(n.__class__)
        if fields is None:
            fields = fields_of[n.__class__] = tuple(
                f for f in n._fields if f in ("body", "orelse", "finalbody", "handlers"))
        if not fields:
            continue  # (it holds no statements)
        for field in fields:
            v = getattr(n, field, None)
            if type(v) is list:
                for x in v:  # (only a statement that may hold statements is looked into)
                    held = holds.get(x.__class__)
                    if held is None:
                        held = isinstance(x, stmt_types) and has_block(x)
                    if held and isinstance(x, stmt_types):
                        push(x)
        for field in ("body", "orelse"):
            block = getattr(n, field, None)
            if type(block) is list and block and isinstance(block[0], gast.stmt):
                yield n, field, block


def has_block(stmt):
    """Whether statement ``stmt`` may hold statements (a loop, a branch, a with, a try, a
    match...), by its class."""
    cls = stmt.__class__
    held = _HOLDS.get(cls)
    if held is None:
        held = _HOLDS[cls] = bool({"body", "orelse", "finalbody", "handlers", "cases"}
                                  & set(cls._fields))
    return held


_HOLDS = {}  # statement class -> whether it may hold statements


def names_in(node, ctx=None):
    """Ids of Name nodes in ``node`` (optionally only Load or Store ones), in source
    order. (Called for nearly every statement by every optimiser pass: hence the
    hand-written walk.)"""
    out = []
    todo = [node]
    pop, push, extend = todo.pop, todo.append, todo.extend
    ast_type, name_type = gast.AST, gast.Name
    fields_of = NAME_FIELDS
    while todo:
        n = pop()
        cls = n.__class__
        if cls is name_type:
            if ctx is None or isinstance(n.ctx, ctx):
                out.append(n.id)
            if n.annotation is None:
                continue
        fields = fields_of.get(cls)
        if fields is None:
            if not isinstance(n, ast_type):
                continue  # (a constant's value, a string of a Global's names: no node)
            fields = name_fields(cls)
        for field in fields:
            v = getattr(n, field, None)
            if type(v) is list:
                extend(v[::-1])
            elif v is not None:
                push(v)
    return out


def queue_children(node, todo):
    """Put on ``todo`` (a list) the children of ``node`` that may hold a Name, in no
    particular order: the step of the hand-written walks of the passes that each read a
    statement once for several facts (each takes the node classes it cares about apart
    first, then calls this). Anything but a node (a constant's value, a string) has none."""
    fields = NAME_FIELDS.get(node.__class__)
    if fields is None:
        if not isinstance(node, gast.AST):
            return
        fields = name_fields(node.__class__)
    for field in fields:
        v = getattr(node, field, None)
        if type(v) is list:
            todo.extend(v)
        elif v is not None:
            todo.append(v)


NAME_FIELDS = {}  # node class -> its fields that may hold a Name, last first
_NO_NAME_FIELDS = {"ctx", "op", "ops", "id", "attr", "kind", "type_comment", "arg"}


def name_fields(cls):
    """The fields of node class ``cls`` that may hold a Name (or a node holding one),
    last first: not contexts, operators, nor strings."""
    fields = NAME_FIELDS.get(cls)
    if fields is None:
        fields = NAME_FIELDS[cls] = tuple(
            f for f in reversed(cls._fields) if f not in _NO_NAME_FIELDS)
    return fields

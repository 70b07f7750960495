"""All knowledge of gast node fields lives here (and in :mod:`walks`, the walks over
trees, re-exported): small factories and queries.

Passes build nodes only through these helpers (or by parsing template source),
never by filling gast constructors by hand, so a gast upgrade touches one file.
"""

from __future__ import annotations

import ast
import copy
import threading

import gast

from .walks import (NAME_FIELDS, blocks, child_fields, has_block, name_fields,  # noqa: F401
                    names_in, owned_blocks, queue_children, walk, walk_fields)


def name(id_, store=False):
    return gast.Name(id=id_, ctx=gast.Store() if store else gast.Load(),
                     annotation=None, type_comment=None)


def const(value):
    return gast.Constant(value=value, kind=None)


def assign(target, value):
    if isinstance(target, str):
        target = name(target, store=True)
    return gast.Assign(targets=[target], value=value, type_comment=None)


def expr_stmt(value):
    return gast.Expr(value=value)


def call(func, args=(), keywords=()):
    if isinstance(func, str):
        func = parse_expr(func)
    return gast.Call(func=func, args=list(args), keywords=list(keywords))


def keyword(arg, value):
    return gast.keyword(arg=arg, value=value)


def attr(value, attr_name):
    return gast.Attribute(value=value, attr=attr_name, ctx=gast.Load())


def binop(left, op, right):
    return gast.BinOp(left=left, op=op, right=right)


def neg(operand):
    return gast.UnaryOp(op=gast.USub(), operand=operand)


def aug_assign(target, op, value):
    """``target op= value``."""
    if isinstance(target, str):
        target = name(target, store=True)
    return gast.AugAssign(target=target, op=op, value=value)


def tuple_(elts, store=False):
    return gast.Tuple(elts=list(elts), ctx=gast.Store() if store else gast.Load())


def if_(test, body, orelse=()):
    return gast.If(test=test, body=list(body) or [gast.Pass()], orelse=list(orelse))


def for_(target, iter_, body):
    if isinstance(target, str):
        target = name(target, store=True)
    return gast.For(target=target, iter=iter_, body=list(body) or [gast.Pass()], orelse=[],
                    type_comment=None)


def return_(value):
    return gast.Return(value=value)


def function_def(name_, params, body):
    """``def name_(*params): body`` (plain positional parameters)."""
    return gast.FunctionDef(
        name=name_, args=gast.arguments(
            args=[gast.Name(id=a, ctx=gast.Param(), annotation=None, type_comment=None)
                  for a in params], posonlyargs=[], vararg=None, kwonlyargs=[],
            kw_defaults=[], kwarg=None, defaults=[]),
        body=body, decorator_list=[], returns=None, type_comment=None, type_params=[])


def comment(text):
    """A comment line, carried as a marker statement and printed by codegen."""
    node = gast.Expr(value=gast.Constant(value=text, kind="comment"))
    return node


def is_comment(node):
    return (isinstance(node, gast.Expr) and isinstance(node.value, gast.Constant)
            and node.value.kind == "comment")


# --- node facts: what a pass leaves on a node for a later pass -----------------------------
# A node's facts are one dict in its attribute ``anno`` (as in Tangent),
# replaced whole on each change, so a copy of the node (``clone``) shares them until one of
# the two changes. The keys, by the pass that writes them:
#   reverse_pass  driver: the comment that starts an adjoint's reverse pass (``reverse_mark``)
#   counter, test, rest  flatten: a while loop's trip counter, its test and its other
#                 statements; counter_inc: the statement counting its trips (never saved)
#   pop, site     reverse_flow, reverse_index, saves: the name a restore pops, and the id of
#                 the assignment it undoes (pairs it with its push); push: the name pushed;
#                 first: the first assignment of a name (nothing to save before it)
#   split_call    reverse_calls: a call the forward pass runs once (``("call", func, args,
#                 cotangent args)`` or ``("method", func, args, None)``)
#   pullbacks     split: the list that call's pullbacks are pushed to
#   scaling       scaling: a column scaling to move through a matrix product
#   names         driver: on the generated FunctionDef, its NameGen (a name's role, see names.py)
def anno(node, key, default=None):
    """Fact ``key`` of ``node`` (``default`` if it has none)."""
    return getattr(node, "anno", _NO_FACTS).get(key, default)


def has_anno(node, key):
    return key in getattr(node, "anno", _NO_FACTS)


def set_anno(node, key, value):
    node.anno = {**getattr(node, "anno", _NO_FACTS), key: value}


def del_anno(node, key):
    facts = dict(getattr(node, "anno", _NO_FACTS))
    del facts[key]
    node.anno = facts


_NO_FACTS = {}


def reverse_mark():
    """The comment ``# reverse pass`` that ends an adjoint's forward pass, marked as such."""
    node = comment("reverse pass")
    set_anno(node, "reverse_pass", True)
    return node


def reverse_start(body):
    """The position of the ``reverse_mark`` in ``body`` (``len(body)`` if it has none)."""
    return next((i for i, s in enumerate(body) if anno(s, "reverse_pass")), len(body))


def is_pop(node, of=None):
    """``lst.pop()`` (of the list named ``of``, if given): a stack restoring a value."""
    return (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
            and node.func.attr == "pop" and isinstance(node.func.value, gast.Name)
            and not node.args and not node.keywords and of in (None, node.func.value.id))


# CPython keeps the state of its AST conversions per interpreter, not per thread: two
# threads parsing at once can fail with "SystemError: AST constructor recursion depth
# mismatch" (3.11, 3.12). Every parse in sourcediff goes through these, one at a time.
_PARSE_LOCK = threading.RLock()


def parse(src, mode="exec"):
    """``gast.parse``, one thread at a time."""
    with _PARSE_LOCK:
        return gast.parse(src, mode=mode)


def parse_ast(src, mode="exec"):
    """``ast.parse`` (the standard tree), one thread at a time."""
    with _PARSE_LOCK:
        return ast.parse(src, mode=mode)


def parse_expr(src):
    """The expression ``src`` as a fresh tree (a copy of the one parsed the first time:
    the compiler spells the same few callees, ``np.sum``, ``_stack.pop``, again and
    again)."""
    tree = _EXPRS.get(src)
    if tree is None:
        tree = parse(src, mode="eval").body
        if len(_EXPRS) < _EXPRS_MAX:
            _EXPRS[src] = tree
    return clone(tree)


_EXPRS = {}  # source -> its parsed expression, never handed out (copies are)
_EXPRS_MAX = 4096


def parse_stmts(src):
    return parse(src).body


def clone(node, memo=None):
    """A deep copy of a tree (``copy.deepcopy`` semantics for ASTs, several times
    faster): nodes and lists are copied, a node reached twice is copied once, and
    leaf values (names, numbers, strings) are shared, as are the nodes that only mark a
    context or an operator (``Load``, ``Add``: they hold nothing, and CPython's parser
    shares them too)."""
    if memo is None:
        memo = {}
    if isinstance(node, list):
        return [clone(x, memo) if isinstance(x, (gast.AST, list))
                and type(x) not in _MARKERS_SHARED else x for x in node]
    new = memo.get(id(node))
    if new is not None:
        return new
    cls = node.__class__
    new = memo[id(node)] = cls.__new__(cls)
    d = node.__dict__.copy()  # (then the values that are not leaves replaced)
    for k, v in d.items():
        kind = type(v)
        if kind is str or kind is int or v is None or kind in _MARKERS_SHARED:
            continue
        if kind is list or isinstance(v, (gast.AST, list)):
            d[k] = clone(v, memo)
        elif isinstance(v, (dict, set)) and k != "anno":  # (facts: shared, see anno)
            d[k] = copy.deepcopy(v)
    new.__dict__ = d
    return new


_MARKERS_SHARED = frozenset(  # (contexts and operators: no fields, no location)
    c for c in vars(gast).values() if isinstance(c, type) and issubclass(c, (
        gast.expr_context, gast.operator, gast.boolop, gast.cmpop, gast.unaryop))
    and not c._fields and not getattr(c, "_attributes", ()))


def load(node):
    """A copy of ``node`` with every context set to Load."""
    node = clone(node)
    for n in walk(node):
        if hasattr(n, "ctx"):
            n.ctx = gast.Load()
    return node


def factors(node):
    """The factors of a product ``a * b * c`` (the node itself if it is no product)."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
        return factors(node.left) + factors(node.right)
    return [node]


def is_atom(node):
    return isinstance(node, (gast.Name, gast.Constant))


def substitute(tree, mapping, copy=True):
    """Replace Name loads by the expressions in ``mapping`` (copied, unless ``copy`` is
    False: for an expression put in once and nowhere else; they are not searched again).
    Changes ``tree`` in place and returns it (or the expression, when ``tree`` is itself
    such a name)."""
    def hit(v):
        return type(v) is gast.Name and v.id in mapping and type(v.ctx) is gast.Load

    put = clone if copy else _same
    if hit(tree):
        return put(mapping[tree.id])
    name_type = gast.Name
    for node in walk(tree):
        for field in walk_fields(node.__class__):
            v = getattr(node, field, None)
            if type(v) is list:
                for i, x in enumerate(v):
                    if type(x) is name_type and hit(x):
                        v[i] = put(mapping[x.id])
            elif type(v) is name_type and hit(v):
                setattr(node, field, put(mapping[v.id]))
    return tree


def instantiate(template, mapping):
    """``substitute(clone(template), mapping)`` without walking the copy: a copy of
    ``template`` (left as it is: a rule's template, shared) with each Name load in
    ``mapping`` replaced by a copy of its expression (one copy per use, not searched
    again): those copies given to :func:`clone` as what it made of the names already."""
    memo = {id(n): clone(mapping[n.id]) for n in walk(template) if type(n) is gast.Name
            and n.id in mapping and type(n.ctx) is gast.Load}
    return clone(template, memo)


def _same(node):
    return node


def set_location(nodes, lineno):
    """Give new nodes a line number (nodes that have one keep it)."""
    for node in nodes:
        for n in walk(node):
            if isinstance(n, (gast.stmt, gast.expr)) and getattr(n, "lineno", None) is None:
                n.lineno = lineno
                n.col_offset = 0
                if not hasattr(n, "end_lineno"):
                    n.end_lineno = lineno
                    n.end_col_offset = 0
    return nodes


_CHILD = ("child",)
_MARKERS = {"ctx", "op", "ops"}  # (the fields walk does not follow)


def fingerprint(node):
    """A hashable key equal for two trees exactly when they are structurally equal
    (what ``gast.dump`` shows, at a fraction of its cost): each node's type and, field
    by field, its leaf values, a marker for a child node, or a child list's items
    (markers and leaves), in breadth-first order."""
    parts = []
    add = parts.append
    ast_type = gast.AST
    for n in walk(node):
        add(n.__class__)
        for field in n._fields:
            v = getattr(n, field, None)
            if isinstance(v, ast_type):
                # which fields hold a node (x[:-1] is not x[::-1]); a context or an
                # operator, which walk does not reach, by its class
                add(v.__class__ if field in _MARKERS else _CHILD)
                continue
            if type(v) is list:
                add(tuple(x.__class__ if field in _MARKERS else _CHILD
                          if isinstance(x, ast_type) else x for x in v))
            elif v is None or type(v) is str:
                add(v)
            else:  # 0.0 and -0.0, 1 and 1.0 and True are different constants
                add((v.__class__, repr(v)))
    return tuple(parts)


class Transformer:
    """A lean ``gast.NodeTransformer`` (the optimiser runs some on every statement, every
    round) that notes whether it replaced any node. A ``visit_X`` method returns the node
    or its replacement (never None or a list); names, constants, contexts and operators
    are not visited."""

    changed = False
    _methods = {}  # (Transformer class, node class) -> its visit_X function, or None

    def visit(self, node):
        key = (self.__class__, node.__class__)
        try:
            method = self._methods[key]
        except KeyError:
            method = self._methods[key] = getattr(
                self.__class__, "visit_" + node.__class__.__name__, None)
        new = self.generic_visit(node) if method is None else method(self, node)
        if new is not node:
            self.changed = True
        return new

    def generic_visit(self, node):
        ast_type = gast.AST
        for field in walk_fields(node.__class__):  # (contexts and operators: not visited)
            v = getattr(node, field, None)
            if isinstance(v, ast_type):
                if type(v) not in LEAVES:
                    new = self.visit(v)
                    if new is not v:
                        setattr(node, field, new)
            elif type(v) is list:
                for i, x in enumerate(v):
                    if isinstance(x, ast_type) and type(x) not in LEAVES:
                        new = self.visit(x)
                        if new is not x:
                            v[i] = new
        return node


LEAVES = {gast.Name, gast.Constant, gast.Load, gast.Store}  # a Transformer never visits these

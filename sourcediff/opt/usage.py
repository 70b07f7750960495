"""What the optimiser's passes know about a function (how often each name is defined and
read: :mod:`counts`): which names the compiler made (:func:`generated`), which calls are
pure (:func:`pure_function`, :func:`pure_expr`), and the small statement queries the passes share; and the
copies that keep a value a later statement changes in place (:func:`unalias`).
"""

from __future__ import annotations

import random

import gast
import numpy as np

from ..ir import nodes as N
from ..prims import facts, registry
from .. import runtime
from ..front.resolve import MISSING, static_value
from .owners import Owners, read_before_change


def pure_function(fn):
    """Is a call of ``fn`` known to do nothing but compute its result, so that the
    optimiser may drop, merge or move it? Declared pure: NumPy's functions in the rule
    table and the functions declared non-differentiable, and a few builtins. Everything
    else runs as written: a user function (it may print, append to a list, count calls),
    a user ``@primitive``, and a random draw (``np.random.*``, a ``Generator``'s or
    ``random.Random``'s methods), even though it is declared non-differentiable."""
    owner = getattr(fn, "__self__", None)
    module = getattr(fn, "__module__", None) or ""
    if isinstance(owner, (np.random.RandomState, np.random.Generator, random.Random)) or (
            module == "random" or module.startswith("numpy.random")):
        return False
    rule = registry.lookup(fn)
    if rule is not None:
        return rule.user_vjp is None and rule.user_jvp is None
    return registry.is_nondiff(fn) or facts.of(fn).pure is True  # (slice, range, len...)


def pure_expr(expr, ns):
    """Whether evaluating ``expr`` has no side effects: it calls rules, NumPy and pure
    helpers only (``ns``: the namespace its names are read in)."""
    for node in N.walk(expr):
        if isinstance(node, gast.Call):
            if isinstance(node.func, gast.Name) and node.func.id in runtime.HELPERS:
                if facts.of_helper(node.func.id).pure is False:  # (scatter_add...)
                    return False
                continue
            fn = static_value(node.func, ns)
            if fn is MISSING:
                if isinstance(node.func, gast.Attribute) and isinstance(
                        node.func.value, gast.Name) and node.func.value.id == "np":
                    continue
                return False
            if not pure_function(fn):
                return False
        if isinstance(node, (gast.Lambda, gast.Yield)):
            return False
    return True


USER_NAMES = "__sourcediff_user_names__"  # key in ns: the names the user's function uses


def generated(name, user=frozenset()):
    """A name the compiler made (a temporary, an adjoint), free to inline or drop: spelled
    as the compiler spells them, and not one of the user's own (``_h``, ``y_bar``)."""
    return (name.startswith("_") or name.endswith("_bar") or "_bar_" in name) and \
        name not in user


_COUNTED = {gast.BinOp, gast.UnaryOp, gast.Call, gast.Name, gast.Subscript, gast.Constant}


def expr_size(node):
    """Operations and leaves in an expression, or in a statement's top-level expressions."""
    counted = _COUNTED
    return sum(1 for root in ([node] if isinstance(node, gast.expr) else top_exprs(node) or ())
               for n in N.walk(root) if n.__class__ in counted)


def attributes_in(tree):
    """The attribute names (``outer``, ``broadcast_to``, ``sum``) in ``tree``, and ``@``
    if it multiplies matrices (a walk skipping names, contexts and operators)."""
    found = set()
    todo = [tree]
    pop, push, fields_of = todo.pop, todo.append, N.NAME_FIELDS
    ast_type, name_type = gast.AST, gast.Name
    while todo:
        n = pop()
        kind = type(n)
        if kind is gast.Attribute:
            found.add(n.attr)
        elif (kind is gast.BinOp or kind is gast.AugAssign) and type(n.op) is gast.MatMult:
            found.add("@")
        for field in fields_of.get(kind) or N.name_fields(kind):
            v = getattr(n, field, None)
            if isinstance(v, ast_type):
                if type(v) is not name_type:
                    push(v)
            elif type(v) is list:
                todo.extend([x for x in v if isinstance(x, ast_type)])
    return found


class FirstAssigned:
    """Where in ``block`` each name is first assigned (``name = ...``), found when first
    asked (a statement taken out later leaves its index: what it assigned is no longer
    read there)."""

    def __init__(self, block):
        self.block, self._first = block, None

    def before(self, name, i):
        """Whether ``name = ...`` is one of ``block[:i]``."""
        if self._first is None:
            self._first = {}
            for k, t in enumerate(self.block):
                if is_plain_assign(t):
                    self._first.setdefault(t.targets[0].id, k)
        return self._first.get(name, i) < i


def is_plain_assign(s):
    return type(s) is gast.Assign and type(s.targets[0]) is gast.Name


def top_exprs(s):
    if isinstance(s, gast.Assign):
        return [s.value] + ([s.targets[0]] if isinstance(s.targets[0], gast.Subscript) else [])
    if isinstance(s, gast.AugAssign):
        return [s.value, s.target]
    if isinstance(s, (gast.Return, gast.Expr)):
        return [s.value] if s.value is not None else []
    if isinstance(s, gast.If):
        return [s.test]
    return None


def unalias(fdef, params, ns):
    """``a_bar = y`` where ``y`` is later changed in place (a restored ``y[i]``, an adjoint
    buffer's ``scatter_add``): ``a_bar`` must keep today's value, so it gets a copy (unless
    every read of ``a_bar`` comes before the change, :func:`owners.read_before_change`). A
    gradient that is an argument itself (``x`` for ``sum(x * x) / 2``) is returned as a
    copy too (as is one the function reads from outside), so changing one never changes
    the other. True if it added any copy."""
    changed = False
    ret = fdef.body[-1]
    if isinstance(ret, gast.Return) and isinstance(ret.value, gast.Tuple) and len(
            ret.value.elts) > 1 and isinstance(ret.value.elts[1], gast.Tuple):
        grads = ret.value.elts[1].elts
        for k, g in enumerate(grads):
            if isinstance(g, gast.Name) and g.id in params:
                grads[k] = N.call("copy_of", [g])
                changed = True
    mutated = escaped = None  # (each found when a copy is first in question: most
    # functions have no a_bar = y of a y changed in place, and need neither)
    for block in N.blocks(fdef):
        for i, node in enumerate(block):
            if not (is_plain_assign(node) and generated(node.targets[0].id) and isinstance(
                    node.value, gast.Name) and node.value.id != node.targets[0].id):
                continue
            if mutated is None:
                mutated = _mutated(fdef) - {"_stack"}
            if node.value.id not in mutated or _rebound_first(block[i + 1:], node.value.id):
                continue
            if escaped is None:  # (before any copy is added: the function as it came)
                escaped = Owners(fdef, ns, ()).escaped
            if not read_before_change(fdef, block[i + 1:], node.targets[0].id,
                                      node.value.id, _changes, escaped):
                node.value = N.call("copy_of", [node.value])
                changed = True
    return changed


def _mutated(fdef):
    """The names ``fdef`` changes in place (``Info(fdef).mutated``: ``y[i] = v``,
    ``y.method(...)``, ``scatter_add(y, ...)``), from a walk that counts nothing else and
    never queues a name or a constant."""
    out = set()
    todo = [fdef]
    pop, push, extend = todo.pop, todo.append, todo.extend
    ast_type, name_type, const_type = gast.AST, gast.Name, gast.Constant
    sub_type, call_type, attr_type, store = gast.Subscript, gast.Call, gast.Attribute, gast.Store
    fields_of = N.NAME_FIELDS
    while todo:
        node = pop()
        kind = type(node)
        if kind is sub_type:
            if type(node.value) is name_type and type(node.ctx) is store:
                out.add(node.value.id)
        elif kind is call_type:
            f = node.func
            if type(f) is attr_type and type(f.value) is name_type:
                out.add(f.value.id)
            elif type(f) is name_type and f.id == "scatter_add" \
                    and type(node.args[0]) is name_type:
                out.add(node.args[0].id)
        for field in fields_of.get(kind) or N.name_fields(kind):
            v = getattr(node, field, None)
            if type(v) is list:
                extend([x for x in v if type(x) is not name_type and type(x) is not const_type
                        and isinstance(x, ast_type)])
            elif type(v) is not name_type and type(v) is not const_type \
                    and isinstance(v, ast_type):
                push(v)
    return out


def _rebound_first(stmts, y):
    """Whether ``stmts`` bind ``y`` to a new value (``y = ...``) before anything could
    change its present value in place: then a name given that value keeps it."""
    for s in stmts:
        if N.is_comment(s):
            continue
        if isinstance(s, (gast.For, gast.While, gast.If, gast.With, gast.Try)):
            if y in N.names_in(s):
                return False
            continue
        if _changes(s, y):
            return False
        if is_plain_assign(s) and s.targets[0].id == y:
            return True
    return False


def _changes(s, y):
    """Whether statement ``s`` may change ``y``'s value in place (``y[i] = ...``,
    ``y += ...``, ``y.append(...)``, ``scatter_add(y, ...)``, ``scatter_into(y, ...)``)."""
    if isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name) and s.target.id == y:
        return True
    for n in N.walk(s):
        if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) and isinstance(
                n.value, gast.Name) and n.value.id == y:
            return True
        if isinstance(n, gast.Call):
            f = n.func
            if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) \
                    and f.value.id == y:
                return True
            if isinstance(f, gast.Name) and f.id in ("scatter_add", "scatter_into") \
                    and n.args and isinstance(n.args[0], gast.Name) and n.args[0].id == y:
                return True
    return False

"""Pass 4: normalise to one operation per statement (A-normal form).

After this pass every statement is one of
    ``x = <op>(atoms)``, ``y[index] = atom``, ``return atom``, ``expr-call``,
    ``if atom: ...``, ``for target in atom: ...``, ``while True: ...``,
    ``with no_grad(): ...``, ``break``, ``continue``, ``pass``,
where an atom is a name or a constant. User names are kept; the temporaries
are ``_t1, _t2, ...`` in order of appearance, so output is deterministic.
Array methods become NumPy calls (``x.sum(0)`` -> ``np.sum(x, 0)``,
``x.T`` -> ``np.transpose(x)``) so the rule table sees one spelling.
"""

from __future__ import annotations

import types

import gast
import numpy as np

from ..ir import nodes as N
from . import closures
from ..runtime import numeric
from ..prims import registry
from .fence import fail
from .resolve import MISSING, never_read, static_value
from .normalize_stmts import StatementNormalizer, _unpack, own_counters  # noqa: F401
from .displays import dict_display
from ..ir.signature import param_names

_SHAPE_ATTRS = {"shape", "ndim", "size", "dtype", "real", "imag"}


class Normalizer(StatementNormalizer):
    def __init__(self, parsed, ns, names):
        self.parsed = parsed
        self.ns = ns
        self.names = names          # the NameGen (temporaries: _t1, _t2 ...)
        self.out = []
        self.local = set(N.names_in(parsed.tree, gast.Store)) | set(
            param_names(parsed.tree.args))
        self.list_names = _list_names(parsed.tree)  # (einsum's sublists)

    # -- helpers -------------------------------------------------------------
    def temp(self):
        return self.names.temp("t")

    def emit(self, stmt, src):
        # a new statement keeps the columns of the code it comes from (for error carets)
        origin = src if isinstance(src, gast.expr) else getattr(src, "value", None)
        value = getattr(stmt, "value", None)
        if isinstance(origin, gast.expr) and isinstance(value, gast.expr) \
                and getattr(value, "lineno", None) is None:
            gast.copy_location(value, origin)
        if isinstance(src, gast.expr) and getattr(stmt, "lineno", None) is None:
            gast.copy_location(stmt, src)
        if isinstance(stmt, gast.Assign) and isinstance(src, (gast.Assign, gast.AugAssign)) \
                and getattr(stmt.targets[0], "lineno", None) is None:
            gast.copy_location(stmt.targets[0], getattr(src, "target", None) or src.targets[0])
        N.set_location([stmt], getattr(src, "lineno", 0))
        self.out.append(stmt)

    def is_static(self, node):
        """An expression of module-level names only (``np.pi``, ``np.newaxis``)."""
        if isinstance(node, gast.Constant):
            return True
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
            return isinstance(node.operand, gast.Constant)  # -1
        if isinstance(node, (gast.Name, gast.Attribute)):
            if any(n in self.local for n in N.names_in(node)):
                return False
            return static_value(node, self.ns) is not MISSING
        return False

    def atom(self, node):
        if isinstance(node, gast.Name) or self.is_static(node):
            return node
        t = self.temp()
        self.emit(N.assign(t, self.simple(node)), node)
        return N.name(t)

    # -- expressions -----------------------------------------------------------
    def simple(self, node):
        """``node`` rewritten so that its children are atoms."""
        if isinstance(node, (gast.Name, gast.Constant)) or self.is_static(node):
            return node
        if isinstance(node, gast.BinOp):
            return N.binop(self.atom(node.left), node.op, self.atom(node.right))
        if isinstance(node, gast.UnaryOp):
            return gast.UnaryOp(op=node.op, operand=self.atom(node.operand))
        if isinstance(node, gast.Call):
            return self.call(node)
        if isinstance(node, gast.Attribute):
            if node.attr == "T":
                return N.call(N.parse_expr("np.transpose"), [self.atom(node.value)])
            if node.attr in ("real", "imag"):
                return N.call(N.parse_expr(f"np.{node.attr}"), [self.atom(node.value)])
            return N.attr(self.atom(node.value), node.attr)
        if isinstance(node, gast.Subscript):
            if self.is_static(node.value):
                helper = self.static_subscript(node)
                if helper is not None:
                    return helper
            return gast.Subscript(value=self.atom(node.value), slice=self.index(node.slice),
                                  ctx=gast.Load())
        if isinstance(node, gast.Compare):
            return gast.Compare(left=self.atom(node.left), ops=node.ops,
                                comparators=[self.atom(c) for c in node.comparators])
        if isinstance(node, (gast.Tuple, gast.List)):
            return type(node)(elts=[self.atom(e) for e in node.elts], ctx=gast.Load())
        if isinstance(node, gast.Dict):
            return gast.Dict(keys=[self.atom(k) for k in node.keys],
                             values=[self.atom(v) for v in node.values])
        if isinstance(node, gast.IfExp):
            return self.ifexp(node)
        if isinstance(node, gast.BoolOp):
            return self.boolop(node)
        if isinstance(node, gast.ListComp):
            return self.listcomp(node)
        if isinstance(node, (gast.JoinedStr, gast.Lambda)):
            return node
        fail(self.parsed, node, f"the expression {type(node).__name__}",
             "rewrite it with simpler expressions")

    def index(self, node):
        if isinstance(node, gast.Slice):
            return gast.Slice(**{k: None if getattr(node, k) is None else self.atom(getattr(node, k))
                                 for k in ("lower", "upper", "step")})
        if isinstance(node, gast.Tuple):
            return N.tuple_([self.index(e) for e in node.elts])
        return self.atom(node)

    def call(self, node):
        node = self.lift_transformed(node)
        definition = registry.via(static_value(node.func, self.ns)) if self.is_static(
            node.func) else None
        if definition is not None:  # np.trapezoid(y, x): its NumPy definition's call
            name = self.names.global_name(definition.__name__)
            self.ns[name] = definition
            node = N.call(name, node.args, node.keywords)
        if self.is_static(node.func) and _callable_object(static_value(node.func, self.ns)):
            # layer(x), an object with a __call__ written in Python: layer.__call__(x)
            node = N.call(N.attr(node.func, "__call__"), node.args, node.keywords)
        func = node.func
        if isinstance(func, gast.Attribute) and not self.is_static(func):
            method = registry.method_function(func.attr)
            if getattr(method, "__module__", None) == numeric.__name__:
                if not node.args and not node.keywords:  # x.item() -> item_of(x)
                    return self.helper_call(method, [self.atom(func.value)])
            elif method is not None or func.attr == "astype":
                return self.method_call(func, node)
        if self.is_static(func) and static_value(func, self.ns) in (max, min) \
                and len(node.args) == 1 and not node.keywords \
                and not isinstance(node.args[0], gast.Starred):
            # max(a) of one sequence: its item at the index builtin max takes it from
            seq = self.atom(node.args[0])
            pick = numeric.index_of_max if static_value(func, self.ns) is max \
                else numeric.index_of_min
            return gast.Subscript(value=seq, slice=self.atom(self.helper_call(pick, [seq])),
                                  ctx=gast.Load())
        if self.is_static(func) and static_value(func, self.ns) is np.einsum:
            node = self.einsum_sublists(node)
        if self.is_static(func) and static_value(func, self.ns) is dict and dict_display(node):
            # dict(a=x, b=y), dict([("a", x)], b=y), dict({"a": x}) are a dict literal
            keys, values = dict_display(node)
            return gast.Dict(keys=[self.atom(k) for k in keys],
                             values=[self.atom(v) for v in values])
        if self.is_static(func) and static_value(func, self.ns) in (tuple, list) \
                and len(node.args) == 1 and not node.keywords \
                and isinstance(node.args[0], (gast.Tuple, gast.List)):
            # tuple((params,)), list([a, b]) are the display itself
            kind = gast.Tuple if static_value(func, self.ns) is tuple else gast.List
            return self.simple(kind(elts=node.args[0].elts, ctx=gast.Load()))
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name):
            pass  # a method of a local (``out.append``): keep it visible to later passes
        elif isinstance(func, gast.Attribute) and not self.is_static(func):
            func = N.attr(self.atom(func.value), func.attr)  # f(x).m(): a method of a local
        elif not self.is_static(func):
            func = self.atom(func)
        args = [gast.Starred(value=self.atom(a.value), ctx=gast.Load())  # (*x.shape: fence)
                if isinstance(a, gast.Starred) else self.atom(a) for a in node.args]
        kws = [N.keyword(k.arg, self.atom(k.value)) for k in node.keywords]
        if self.is_static(func) and static_value(func, self.ns) in (np.array, np.asarray):
            return self.cast(func, args, kws, node)
        return N.call(func, args, kws)

    def cast(self, func, args, kws, node):
        """``np.array(x, dtype)`` (``np.asarray``, ``x.astype(dtype)``) to a dtype not
        surely a float or complex one: ``int_cast`` (an integer or boolean dtype, known
        here: no derivative) or ``cast`` (one known at run time: its rule asks then)."""
        dtype = args[1] if len(args) > 1 else next(
            (k.value for k in kws if k.arg == "dtype"), None)
        if dtype is None or isinstance(dtype, gast.Constant) and dtype.value is None:
            return N.call(func, args, kws)
        kind = None
        try:
            kind = np.dtype(dtype.value if isinstance(dtype, gast.Constant) else static_value(
                dtype, self.ns) if self.is_static(dtype) else MISSING).kind
        except TypeError:
            pass
        if kind is not None and kind in "fc":
            return N.call(func, args, kws)
        copy = next((k.value for k in kws if k.arg == "copy"), None)
        if len(args) > 2 or any(k.arg not in ("dtype", "copy") for k in kws) or not (
                copy is None or isinstance(copy, gast.Constant)):
            fail(self.parsed, node, "np.array(x, dtype) with other arguments, for a dtype "
                 "that may not be a float", "call np.array(x, dtype) alone, or x.astype(dtype)")
        share = copy.value is False if copy is not None else \
            static_value(func, self.ns) is np.asarray
        helper = numeric.int_cast if kind is not None and kind in "iub" else numeric.cast
        return self.helper_call(helper, [args[0], dtype, N.const(share)])

    def lift_transformed(self, node):
        """``grad(lambda y: x * y)(2.0)`` where the function reads locals (``x``) as
        ``grad(lifted)(2.0, x)``: the lifted function takes them as trailing parameters,
        so their derivatives flow through the call like any argument's (no perturbation
        confusion: the inner gradient is a function of ``x`` that is differentiated)."""
        inner_call = node.func
        if not (isinstance(inner_call, gast.Call) and inner_call.args
                and self.is_static(inner_call.func) and getattr(
                    static_value(inner_call.func, self.ns), "__sourcediff_transform__", False)):
            return node
        target = inner_call.args[0]
        name = "lambda_"
        if isinstance(target, gast.Name):
            name = target.id
            target = closures.nested_definition(self.parsed, target.id)
        if not isinstance(target, (gast.Lambda, gast.FunctionDef)):
            return node
        lifted = closures.lifted_function(self.parsed, target, name)
        if lifted is None:
            return node
        fn, free = lifted
        gname = self.names.global_name(f"{name}_lifted".lstrip("_"))
        self.ns[gname] = fn
        transform = N.call(inner_call.func, [N.name(gname), *inner_call.args[1:]],
                           inner_call.keywords)
        return N.call(transform, [*node.args, *[N.name(v) for v in free]], node.keywords)

    def helper_call(self, fn, args):
        """A call to one of sourcediff's numeric helpers (a rule in the table)."""
        self.ns.setdefault(fn.__name__, fn)
        return N.call(fn.__name__, args)

    def einsum_sublists(self, node):
        """``np.einsum(a, [0, 1], b, [1, 2], [0, 2])`` (the sublist form) as
        ``np.einsum("ab,bc->ac", a, b)``, the form the rule table knows. A sublist is a
        literal list, a module-level one, or a local name the function only ever assigns
        literal lists: the subscripts are a constant where every sublist is known here,
        else built at run time (``einsum_subscripts``). With none of those (a first
        argument that may be the subscripts string), the call stays as written."""
        args = node.args
        if not args or isinstance(self.value_of(args[0]), str):
            return node
        pairs, has_out = len(args) // 2, len(args) % 2
        lists = [args[2 * i + 1] for i in range(pairs)] + ([args[-1]] if has_out else [])
        if not any(isinstance(self.value_of(a), (list, tuple)) or (
                isinstance(a, gast.Name) and a.id in self.list_names) for a in lists):
            return node
        lists += [] if has_out else [N.const(None)]
        try:   # every sublist known here: the subscripts are a constant
            spec = N.const(numeric.einsum_subscripts(*[self.value_of(a) for a in lists]))
        except (TypeError, IndexError):
            spec = self.helper_call(numeric.einsum_subscripts, lists)
        return N.call(node.func, [spec, *[args[2 * i] for i in range(pairs)]], node.keywords)

    def value_of(self, node):
        """The value of a literal or module-level ``node``, or MISSING."""
        if isinstance(node, gast.Constant):
            return node.value
        if isinstance(node, (gast.List, gast.Tuple)):
            values = [self.value_of(e) for e in node.elts]
            return MISSING if any(v is MISSING for v in values) else values
        return static_value(node, self.ns) if self.is_static(node) else MISSING

    def static_subscript(self, node):
        """``np.r_[a, b]`` / ``np.c_[a, b]`` of values and slices (no strings) as a call to
        a helper with a rule, each slice ``start:stop:step`` the array ``r_range`` makes
        of it; other subscripts of module-level objects stay as they are."""
        base = static_value(node.value, self.ns)
        helper = {id(np.r_): numeric.r_concat, id(np.c_): numeric.c_concat}.get(id(base))
        items = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
        if helper is None or any(isinstance(e, gast.Constant) and isinstance(e.value, str)
                                 for e in items) or all(isinstance(e, gast.Slice) and all(
                b is None or isinstance(b, gast.Constant) for b in (e.lower, e.upper, e.step))
                                                        for e in items):
            return None  # (constant slices only: a constant, np.r_[0:3], left to NumPy)
        items = [self.helper_call(numeric.r_range, [
            self.atom(b) if b is not None else N.const(None) for b in (e.lower, e.upper, e.step)])
                 if isinstance(e, gast.Slice) else e for e in items]
        return self.helper_call(helper, [self.atom(N.tuple_(items))])

    def method_call(self, func, node):
        obj = self.atom(func.value)
        name = func.attr
        args = [self.atom(a) for a in node.args]
        kws = [N.keyword(k.arg, self.atom(k.value)) for k in node.keywords]
        if name in ("reshape", "transpose") and len(args) > 1:
            args = [self.atom(N.tuple_(args))]
        np_name = {"flatten": "ravel"}.get(name, name)
        if name == "astype":  # a new array, as astype makes (np.asarray only if copy=False)
            copy = [k for k in kws if k.arg == "copy"]
            share = copy and isinstance(copy[0].value, gast.Constant) and not copy[0].value.value
            kws = [N.keyword("dtype", args[0])] if args else [k for k in kws if k.arg != "copy"]
            return self.cast(N.parse_expr("np.asarray" if share else "np.array"), [obj], kws,
                             node)
        return N.call(N.parse_expr(f"np.{np_name}"), [obj, *args], kws)

    def listcomp(self, node):
        """``[e for v in seq if c]`` -> a loop appending to a fresh list (own loop names)."""
        out = self.temp()
        mapping = {}
        for gen in node.generators:
            for n in N.names_in(gen.target, gast.Store):
                mapping[n] = N.name(self.temp())
        body = [N.expr_stmt(N.call(N.attr(N.name(out), "append"),
                                   [N.substitute(N.clone(node.elt), mapping)]))]
        for gen in reversed(node.generators):
            for cond in reversed(gen.ifs):
                body = [N.if_(N.substitute(N.clone(cond), mapping), body)]
            target = N.substitute(N.clone(gen.target), {})
            for n in N.walk(target):
                if isinstance(n, gast.Name):
                    n.id = mapping[n.id].id
            body = [N.for_(target, N.substitute(N.clone(gen.iter), mapping), body)]
        self.emit(N.assign(out, gast.List(elts=[], ctx=gast.Load())), node)
        for stmt in N.set_location(body, getattr(node, "lineno", 0)):
            self.stmt(stmt)
        return N.name(out)

    def ifexp(self, node):
        t = self.temp()
        test = self.atom(node.test)
        body = self.sub_block(lambda: self.emit(N.assign(t, self.simple(node.body)), node))
        orelse = self.sub_block(lambda: self.emit(N.assign(t, self.simple(node.orelse)), node))
        self.emit(N.if_(test, body, orelse), node)
        return N.name(t)

    def boolop(self, node):
        # short-circuit: ``a and b`` -> t = a; if t: t = b
        t = self.temp()
        self.emit(N.assign(t, self.simple(node.values[0])), node)
        for value in node.values[1:]:
            test = N.name(t)
            if isinstance(node.op, gast.Or):
                test = gast.UnaryOp(op=gast.Not(), operand=test)
                tname = self.temp()
                self.emit(N.assign(tname, test), node)
                test = N.name(tname)
            body = self.sub_block(lambda v=value: self.emit(N.assign(t, self.simple(v)), node))
            self.emit(N.if_(test, body), node)
        return N.name(t)

    def sub_block(self, fill):
        saved, self.out = self.out, []
        fill()
        block, self.out = self.out, saved
        return block

    # -- statements ----------------------------------------------------------------
def normalize(parsed, ns, names):
    """The function body in A-normal form (a list of statements)."""
    if "np" not in ns:
        ns["np"] = np
    for name, obj in (("len", len), ("range", range), ("min", min), ("list", list),
                      ("setattr", setattr)):
        ns.setdefault(name, obj)  # builtins the rewrites below introduce
    norm = Normalizer(parsed, ns, names)
    return own_counters(norm.block(parsed.tree.body), param_names(parsed.tree.args), norm.temp)


def _list_names(tree):
    """Local names every assignment of which (and there is one) is a literal list."""
    kinds = {}
    for n in gast.walk(tree):
        targets = n.targets if isinstance(n, gast.Assign) else getattr(n, "target", None)
        for t in (targets if isinstance(targets, list) else [targets]):
            literal = isinstance(t, gast.Name) and isinstance(n, gast.Assign) and isinstance(
                n.value, (gast.List, gast.Tuple))
            for name in (gast.walk(t) if isinstance(t, gast.AST) else ()):
                if isinstance(name, gast.Name):
                    kinds[name.id] = kinds.get(name.id, True) and literal
    return {name for name, literal in kinds.items() if literal}


def _callable_object(obj):
    """An instance whose class defines ``__call__`` in Python code the compiler reads (not
    a function, a class, a library's or sourcediff's own object, one with a rule)."""
    call = next((vars(c)["__call__"] for c in type(obj).__mro__ if "__call__" in vars(c)),
                None) if callable(obj) else None
    return isinstance(call, types.FunctionType) and not isinstance(obj, type) \
        and not never_read(call) and registry.lookup(obj) is None \
        and not registry.is_nondiff(obj)

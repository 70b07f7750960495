"""Pass 3: the language fence.

Rejects what the compiler does not transform, before any other work, with
the function name, file:line, a caret under the construct and what to do
instead. Everything not rejected here must be handled by later passes.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import types
from collections import Counter

import gast
import numpy as np

from ..prims import facts
from ..ir import nodes as N
from ..errors import NonScalarOutputError, UnsupportedSyntaxError, columns
from .resolve import USERS, static_value
from ..runtime import copy_of
from ..ir.signature import param_names

TAPE = "or differentiate it with the runtime tape: grad(f, mode='tape')"

_REJECT = {
    gast.Try: ("try/except", "move the try/except outside the differentiated function"),
    gast.Global: ("global", "pass the value in as an argument"),
    gast.Nonlocal: ("nonlocal", "return the value instead of writing to an enclosing scope"),
    gast.Yield: ("yield (a generator)", "build and return a list instead"),
    gast.YieldFrom: ("yield from (a generator)", "build and return a list instead"),
    gast.Await: ("await", "differentiate a plain (non-async) function"),
    gast.AsyncFunctionDef: ("async def", "differentiate a plain (non-async) function"),
    gast.AsyncFor: ("async for", "use a plain for loop"),
    gast.AsyncWith: ("async with", "use a plain with block"),
    gast.ClassDef: ("a class defined inside the function", "define the class at module level"),
    gast.Delete: ("del", "drop the del statement; names go out of scope by themselves"),
    gast.Import: ("import inside the function", "import at module level"),
    gast.ImportFrom: ("import inside the function", "import at module level"),
    gast.GeneratorExp: ("a generator expression", "use a list comprehension or a loop"),
    gast.SetComp: ("a set comprehension", "use a list"),
    gast.Set: ("a set literal", "use a list or tuple"),
    gast.NamedExpr: ("the walrus operator :=", "assign on a separate line"),
    gast.Match: ("match", "use if/elif"),
}


def check(parsed, allow_nested=True):
    """Raise :class:`UnsupportedSyntaxError` at the first unsupported construct."""
    tree = parsed.tree
    for node in N.walk(tree):
        for kind, (what, hint) in _REJECT.items():
            if isinstance(node, kind):
                _fail(parsed, node, what, hint)
        if isinstance(node, gast.With):
            for item in node.items:
                if not _is_no_grad(item.context_expr):
                    _fail(parsed, node, "a with block other than no_grad()",
                          "only `with no_grad():` is supported inside a differentiated function")
        if isinstance(node, (gast.For, gast.While)) and node.orelse:
            _fail(parsed, node, "else on a loop", "use a flag variable instead")
        if isinstance(node, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
            targets = node.targets if isinstance(node, gast.Assign) else [node.target]
            for t in targets:
                for sub in N.walk(t):
                    if isinstance(sub, gast.Attribute) and isinstance(sub.ctx, gast.Store):
                        _check_attribute_store(parsed, node, t, sub)
                    if isinstance(sub, gast.Starred) and not _one_star_of(t, sub):
                        _fail(parsed, node, "this starred assignment",
                              "unpack each element by index, or use one *name in a flat "
                              "a, *rest = seq")
        if isinstance(node, gast.FunctionDef) and node is not tree and not allow_nested:
            _fail(parsed, node, "a nested def", "define the helper at module level")
        if isinstance(node, gast.Call):
            for a in node.args:
                if isinstance(a, gast.Starred) and not _shape_of(a.value):
                    _fail(parsed, node, "a *args call", "pass each argument explicitly")
            for k in node.keywords:
                if k.arg is None:
                    _fail(parsed, node, "a **kwargs call", "pass each keyword explicitly")


def _one_star_of(target, star):
    """``star`` is the one starred name of the flat tuple or list ``target``."""
    return isinstance(target, (gast.Tuple, gast.List)) and star in target.elts and sum(
        isinstance(e, gast.Starred) for e in target.elts) == 1 and isinstance(
            star.value, gast.Name)


def _shape_of(node):
    """``x.shape``: a tuple of ints, so ``rs.randn(*x.shape)`` passes no gradient."""
    return isinstance(node, gast.Attribute) and node.attr == "shape"


def _check_attribute_store(parsed, stmt, target, attr):
    """``obj.n += 1``, ``obj.last = loss`` on an object from outside (a global or closure
    variable; not an argument or a local): the store runs as written (a counter, a log)
    where no gradient can flow through it: the update is a constant step or constant, or the function never reads ``obj`` again but for attributes it does
    not set (no ``obj.last`` read back, no ``obj.method()``, no ``f(obj)``)."""
    hint = "build a new value instead of setting an attribute"
    if target is not attr or not isinstance(attr.value, gast.Name) or isinstance(
            stmt, gast.AnnAssign):
        _fail(parsed, stmt, "assignment to an attribute", hint)
    obj = attr.value.id
    if obj in set(N.names_in(parsed.tree, gast.Store)) | set(param_names(parsed.tree.args)):
        _fail(parsed, stmt, "assignment to an attribute", hint + " (only an object from "
              "outside the function, a counter or a log, may have its attributes set)")
    if isinstance(stmt.value, gast.Constant):
        return
    owner = {}  # child -> parent, for the loads of obj
    for node in N.walk(parsed.tree):
        for child in gast.iter_child_nodes(node):
            owner[id(child)] = node
    written = {a.attr for a in N.walk(parsed.tree) if isinstance(a, gast.Attribute)
               and isinstance(a.ctx, gast.Store) and isinstance(a.value, gast.Name)
               and a.value.id == obj}
    for node in N.walk(parsed.tree):
        if not (isinstance(node, gast.Name) and node.id == obj and isinstance(
                node.ctx, gast.Load)):
            continue
        up = owner.get(id(node))
        if isinstance(up, gast.Attribute) and isinstance(up.ctx, gast.Store):
            continue
        if isinstance(up, gast.Attribute) and up.attr not in written and not (
                isinstance(owner.get(id(up)), gast.Call) and owner[id(up)].func is up):
            continue  # obj.other: an attribute this function does not set
        _fail(parsed, stmt, f"setting '{obj}.{attr.attr}' where the function reads "
              f"'{obj}' back (a gradient through it would be lost)",
              "return the value instead, or set the attribute outside the differentiated "
              "function (a counter 'obj.n += 1' or a log 'obj.last = loss' that is never "
              "read back is fine)")


def _is_no_grad(expr):
    if isinstance(expr, gast.Call):
        f = expr.func
        return (isinstance(f, gast.Name) and f.id == "no_grad") or (
            isinstance(f, gast.Attribute) and f.attr == "no_grad")
    return False


def _fail(parsed, node, what, hint):
    lineno = getattr(node, "lineno", None)
    for inside, user in N.anno(parsed.tree, USERS, {}).items():  # (like, not like_user)
        what, hint = (re.sub(rf"\b{inside}\b", user, t) for t in (what, hint))
    raise UnsupportedSyntaxError(
        f"sourcediff cannot differentiate {what}",
        function=parsed.name, filename=parsed.filename, lineno=lineno,
        construct=what, hint=f"{hint}; {TAPE}", source_line=parsed.line(lineno),
        **columns(node))


def fail(parsed, node, what, hint):
    """Raise the fence's error for ``node`` (used by later passes too)."""
    _fail(parsed, node, what, hint)


def check_discarded_call(parsed, call, touched, ns):
    """``f(x)`` as a statement: its result is dropped, so it can only matter by changing
    an argument in place (``np.tanh(h, out=h)``, ``x.sort()``). Both modes refuse it where
    ``touched`` (the differentiated names it reads) is not empty, except for ``print``."""
    touched = list(dict.fromkeys(touched))
    fn = static_value(call.func, ns)
    if fn is setattr and len(call.args) == 3:  # obj.attr = v (the fence checked v)
        touched = [n for n in touched if n in N.names_in(call.args[0])]
    if touched and fn is not print and not _leaves_unchanged(fn, call, touched):
        fail(parsed, call, "a call whose result is discarded but that may change "
             f"{', '.join(touched)}", "assign the result to a new variable; lists may "
             "only grow with .append")


def _leaves_unchanged(fn, call, touched, depth=0):
    """Whether ``fn``, a Python function whose source can be read (``plot(ax, mat)``),
    leaves the arguments of ``call`` that hold ``touched`` names unchanged: its code
    stores into none of those parameters or their aliases (``p[i] = v``, ``p.a = v``,
    ``p += v``), calls no changing method on them (``p.sort()``), passes none to ``out=``
    or to a NumPy function that writes its argument (``np.copyto``), and passes them on
    only to Python functions of which the same holds (other library functions, a plot's
    ``ax.matshow(mat)``, are taken to read them). Anything else may change them."""
    if not isinstance(fn, types.FunctionType) or depth > 4 or call.keywords or any(
            isinstance(a, (gast.Starred, ast.Starred)) for a in call.args):
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return False
    if not isinstance(tree, ast.FunctionDef) or tree.args.vararg or tree.args.posonlyargs:
        return False
    params = [a.arg for a in tree.args.args]
    watched = set()
    for i, a in enumerate(call.args):
        if set(N.names_in(a)) & set(touched):
            if i >= len(params):
                return False
            watched.add(params[i])
    return not _changes(tree, watched, fn.__globals__, depth)


def _root(node):
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _changes(tree, watched, glob, depth):
    nodes = list(ast.walk(tree))
    for node in nodes:  # aliases: q = p
        if isinstance(node, ast.Assign) and _root(node.value) in watched:
            watched |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for node in nodes:
        targets = (node.targets if isinstance(node, ast.Assign) else
                   [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for t in targets:
            if (_root(t) in watched and not isinstance(t, ast.Name)) or (
                    isinstance(node, ast.AugAssign) and _root(t) in watched):
                return True
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and _root(f.value) in watched \
                and facts.changes_object(f.attr):
            return True
        if any(k.arg == "out" and _root(k.value) in watched for k in node.keywords):
            return True
        passed = [i for i, a in enumerate(node.args) if _root(a) in watched]
        if not passed and not any(_root(k.value) in watched for k in node.keywords):
            continue
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
        if facts.named(name, "writes"):  # np.copyto(p, ...), np.add.at(p, ...)
            return True
        callee = glob.get(f.id) if isinstance(f, ast.Name) else None
        if callee is not None and getattr(callee, "__module__", "").split(".")[0] not in (
                "numpy", "builtins", "math", "scipy"):
            inner = gast.Call(func=gast.Name(id=f.id, ctx=gast.Load(), annotation=None,
                                             type_comment=None),
                              args=[gast.Name(id="_sd_x" if i in passed else "_sd_c",
                                              ctx=gast.Load(), annotation=None,
                                              type_comment=None)
                                    for i in range(len(node.args))], keywords=[])
            if node.keywords or not _leaves_unchanged(callee, inner, ["_sd_x"], depth + 1):
                return True
    return False


def check_inplace(parsed, body, params, ns):
    """``y[i] = v`` is differentiated only where ``y`` is an array this function made
    (``np.zeros``, ``np.copy``, arithmetic...) and no other name refers to it."""
    module = gast.Module(body=body, type_ignores=[])
    targets = {}
    for node in N.walk(module):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Subscript):
            targets.setdefault(node.targets[0].value.id, node)
    hint = ("write into a new array made in this function, e.g. y = np.zeros_like(x) or "
            "y = np.copy(x), and do not give it a second name")
    moved = _moved(module)
    loads = Counter(N.names_in(module, gast.Load))
    for y, where in targets.items():
        for node in N.walk(module):
            if not isinstance(node, gast.Assign) or not isinstance(node.targets[0], gast.Name):
                continue
            v = node.value
            if node.targets[0].id == y:
                fresh = isinstance(v, (gast.BinOp, gast.UnaryOp, gast.List, gast.Dict,
                                       gast.Constant)) \
                    or N.is_pop(v, "_stack") or (  # a stack restoring y's own earlier value
                        isinstance(v, gast.Call) and _is_fresh(static_value(v.func, ns), np)) \
                    or (  # y = y_prev: its own array back
                        isinstance(v, gast.Name) and moved.get(v.id) == y
                        and loads[v.id] == 1)
                if not fresh:
                    fail(parsed, where.targets[0], f"an in-place update of '{y}', which may share its "
                         "data with another array", hint)
            elif isinstance(v, gast.Name) and v.id == y and moved.get(
                    node.targets[0].id) != y:
                fail(parsed, node, f"a second name for '{y}', which is updated in place", hint)
    # y += v changes the array in place too: a view of y would see it
    augmented = {node.target.id for node in N.walk(parsed.tree)
                 if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name)}
    for y in set(targets) | augmented:
        for node in N.walk(module):
            if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name) \
                    and not _TEMP.match(node.targets[0].id) \
                    and moved.get(node.targets[0].id) != y \
                    and _view_of(node.value, ns, np) == y and node.targets[0].id != y:
                fail(parsed, node, f"a view of '{y}' (it shares its data), and '{y}' is "
                     "updated in place", "take a copy, e.g. np.copy(np.reshape(y, shape)), or "
                     "update a separate array")


_TEMP = re.compile(r"_t\d+$")  # normalisation's temporaries: read once, right away


def _moved(module):
    """``z = y`` right before ``y`` is bound to something else (how a generated adjoint
    keeps an overwritten value, ``s_prev = s``): from then on only ``z`` names that
    array, so it is not a second name. ``{z: y}``."""
    out = {}
    for block in N.blocks(module):
        stmts = [s for s in block if not N.is_comment(s)]
        for s, nxt in zip(stmts, stmts[1:]):
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                    and isinstance(s.value, gast.Name) and isinstance(nxt, gast.Assign) \
                    and isinstance(nxt.targets[0], gast.Name) \
                    and nxt.targets[0].id == s.value.id:
                out[s.targets[0].id] = s.value.id
    return out


def _view_of(v, ns, np):
    """The name whose data ``v`` may share without copying (``y.T``, ``np.reshape(y)``...)."""
    while not isinstance(v, gast.Name):
        v = view_base(v, ns)
        if v is None:
            return None
    return v.id


def view_base(v, ns):
    """The expression whose data ``v`` shares when ``v`` is a view of it (``y.T``,
    ``y.reshape(s)``, ``np.reshape(y, s)``: a rule declared ``view``), else None."""
    if isinstance(v, gast.Attribute) and v.attr in ("T", "mT", "real", "imag"):
        return v.value
    if isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) and (
            facts.named(v.func.attr, "view") or v.func.attr == "view") and static_value(
            v.func, ns) is not getattr(np, v.func.attr, None):
        return v.func.value  # a method: y.reshape(...)
    if isinstance(v, gast.Call) and v.args and facts.of(static_value(v.func, ns)).view:
        return v.args[0]
    return None


def own_arguments(parsed, body, params, ns):
    """``x[i] = v`` on an argument ``x``: the function is differentiated as a function of
    ``x``'s value, so it first takes its own copy (``x = copy_of(x)``) and the caller's
    array is never written to. Returns ``body`` with those copies in front."""
    written = []
    for node in N.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Subscript) \
                and isinstance(node.targets[0].value, gast.Name):
            y = node.targets[0].value.id
            if y in params and y not in written:
                written.append(y)
    if written and ns.setdefault("copy_of", copy_of) is not copy_of:
        fail(parsed, parsed.tree, f"an in-place update of the argument '{written[0]}' in a "
             "function that reads its own 'copy_of'", "rename that global")
    copies = [N.assign(y, N.call("copy_of", [N.name(y)])) for y in written]
    for c in copies:
        c.lineno = getattr(body[0], "lineno", None) if body else None
    return copies + body


def _is_fresh(fn, np):
    # (fresh: np.zeros..., an adjoint buffer zeros_for (grad of grad), an own copy copy_of)
    return isinstance(fn, np.ufunc) or facts.of(fn).fresh


def refuse_container_output(parsed, body, out):
    """``grad`` of a function returning a tuple, list or dict: say so before any work."""
    if not isinstance(out, gast.Name):
        return
    for node in N.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name) \
                and node.targets[0].id == out.id and isinstance(
                    node.value, (gast.Tuple, gast.List, gast.Dict)):
            kind = {gast.Tuple: "a tuple", gast.List: "a list", gast.Dict: "a dict"}[
                type(node.value)]
            raise NonScalarOutputError(
                f"grad needs a scalar output, but '{parsed.name}' returns {kind}",
                function=parsed.name, filename=parsed.filename, lineno=node.lineno,
                source_line=parsed.line(node.lineno),
                hint="return one number; for (loss, aux) pass has_aux=True; for several "
                     "outputs use vjp or jacobian")

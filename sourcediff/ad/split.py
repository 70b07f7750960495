"""Pass 6b: calls into user code run once (split adjoints).

A call ``y = helper(x)`` whose result gets an adjoint is run in the forward pass as

    y = split_call(_pullbacks1, helper, x)

which runs the callee's *split* adjoint once: its forward part gives ``y`` and
leaves a pullback (a closure over the callee's own forward values) on the call
site's list. The reverse sweep takes it back, last in first out, so a call in a
loop gets the pullback of the same iteration:

    _pb1 = pullback_of(_pullbacks1)
    _cts1 = _pb1(y_bar)

So a helper that draws random numbers, appends to a log or is simply expensive
runs exactly once per gradient, as it does under a tape. The split form of a
function (``to_split_form``) is the generated adjoint with its reverse pass moved
into a nested ``pullback`` function.

Code that will be differentiated again (``grad(grad(f))``, ``hessian``) needs plain
data flow, no closures: there a call runs as ``_rr1 = split_res(helper, x)`` whose
*residual form* (:func:`to_residual_form`) gives the value and a tuple of the forward
values its reverse pass reads (the residuals, led by that reverse pass as a plain
function and the cotangents of a None seed, all None), pushed on the call site's list; the reverse sweep pops them and runs
``pullback_res(residuals, y_bar)``. Both are calls of plain generated functions, so
forward mode differentiates them like any call into generated code, and each helper
runs once per forward pass at every order.
"""

from __future__ import annotations

import gast

from ..ir import nodes as N
from ..front.resolve import static_value
from ..runtime.splitcall import NotSplittable  # noqa: F401  (raised by the driver)


def mark(body, ns, active, names, is_user_call):
    """Give each ``x = call`` to user code whose ``x`` is active its pullback list
    (``N.anno(s, "pullbacks")``); the reverse sweep pops it, :func:`rewrite` runs the call.
    True if it marked any."""
    marked = False
    for s in _assigns(body):
        t, v = s.targets[0], s.value
        if isinstance(t, gast.Name) and t.id in active and isinstance(v, gast.Call) \
                and is_user_call(v, static_value(v.func, ns)):
            N.set_anno(s, "pullbacks", names.temp("pullbacks", "pullback"))
            marked = True
    return marked


def rewrite(forward, reverse=None, names=None):
    """The forward statements with each marked call the sweep used run by
    ``split_call`` (or ``split_method``), and the lists those need, made up front.
    With ``reverse`` (code differentiated again), the residual form instead: forward
    ``_rr = split_res(f, *args); y = _rr[0]; pbs.append(_rr[1])``, reverse
    ``_pb = pbs.pop(); cts = pullback_res(_pb, g)``; both lists changed in place."""
    lists, methods = [], set()
    for s in _assigns(forward):
        call = N.anno(s, "split_call")
        if call is None:
            continue
        pbs = N.name(N.anno(s, "pullbacks"))
        lists.append(N.assign(N.anno(s, "pullbacks"), gast.List(elts=[], ctx=gast.Load())))
        kind, func, args, needed = call
        # only the arguments the caller differentiates get cotangents (wrt=...): not the
        # constants written in the call (h(x, 3.0): no cotangent for 3.0 is computed)
        wanted = [i for i, a in enumerate(args) if (needed is None or i in needed)
                  and not isinstance(a, gast.Constant)]
        wrt = [] if not wanted or len(wanted) == len(args) else [
            N.keyword("wrt", N.tuple_([N.const(i) for i in wanted]))]
        if reverse is not None:
            _residual_call(forward, s, func, args, names, wrt)
            if kind == "method":  # obj.f(...): split_res(obj.f, ...), cotangents of the args
                methods.add(N.anno(s, "pullbacks"))
            continue
        if kind == "method":
            s.value = N.call("split_method", [pbs, N.clone(func.value), N.const(func.attr),
                                              *[N.clone(a) for a in args]])
        else:
            s.value = N.call("split_call", [pbs, N.clone(func), *[N.clone(a) for a in args]],
                             wrt)
    if reverse is not None:
        _residual_pullbacks(reverse, methods)
    return lists + forward


def _residual_call(forward, s, func, args, names, wrt):
    rr = names.temp("rr", "pullback")
    item = [gast.Subscript(value=N.name(rr), slice=N.const(k), ctx=gast.Load()) for k in (0, 1)]
    new = [N.assign(rr, N.call("split_res", [N.clone(func), *[N.clone(a) for a in args]],
                               wrt)),
           N.assign(s.targets[0].id, item[0]),
           N.expr_stmt(N.call(N.attr(N.name(N.anno(s, "pullbacks")), "append"), [item[1]]))]
    _replace(forward, s, new)


def _replace(stmts, old, new):
    for i, s in enumerate(stmts):
        if s is old:
            stmts[i:i + 1] = new
            return True
        for field in ("body", "orelse"):
            if _replace(getattr(s, field, None) or [], old, new):
                return True
    return False


def _residual_pullbacks(reverse, methods):
    """``_pb = pullback_of(pbs)`` -> ``_pb = pbs.pop()``; ``cts = _pb(g)`` ->
    ``cts = pullback_res(_pb, g)``. For a method call (``pbs`` in ``methods``), whose
    split pullback led with the object's cotangent, ``cts[k]`` -> ``cts[k - 1]``: its
    residual form gives the arguments' only (the object is not differentiated there)."""
    pbs, shifted, cts = set(), set(), set()
    for s in _assigns(reverse):
        v = s.value
        if isinstance(v, gast.Call) and isinstance(v.func, gast.Name):
            if v.func.id == "pullback_of":
                s.value = N.call(N.attr(N.clone(v.args[0]), "pop"), [])
                pbs.add(s.targets[0].id)
                if isinstance(v.args[0], gast.Name) and v.args[0].id in methods:
                    shifted.add(s.targets[0].id)
            elif v.func.id in pbs:
                s.value = N.call("pullback_res", [N.name(v.func.id), *v.args])
                if v.func.id in shifted:
                    cts.add(s.targets[0].id)
    for node in N.walk(gast.Module(body=reverse, type_ignores=[])):
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) \
                and node.value.id in cts and isinstance(node.slice, gast.Constant):
            node.slice = N.const(node.slice.value - 1)


def distinct_results(fdef):
    """Each gradient its own array: the optimiser may leave two under one name
    (``np.sum(np.sin(x + y))``: ``x_bar`` is ``y_bar``); the later ones become copies, so
    updating one in place leaves the other as it was."""
    seen = set()
    grads = fdef.body[-1].value.elts[1]
    for i, g in enumerate(grads.elts):
        if isinstance(g, gast.Name) and g.id in seen:
            grads.elts[i] = N.call("copy_of", [g])
        seen.add(getattr(g, "id", None))


def to_residual_form(fdef, seed, params, wrt_names, bwd_name, res_name, varied, first=0):
    """``f(params, seed) -> (value, grads)`` as two plain functions: the forward part
    ``f(params) -> (value, (bwd, *residuals))`` and the reverse part ``bwd(residuals,
    seed) -> cotangents`` (one per parameter from ``params[first]`` on, None for those
    not in ``wrt_names``: ``first=1`` leaves a method's ``self`` out), where the residuals
    are the forward values the reverse part reads. Those not in ``varied`` (a loop's
    range, a length, data) are read by ``held``, so forward mode over ``bwd`` knows them
    constant."""
    body = fdef.body
    start = N.reverse_start(body)
    ret = body[-1]
    forward, reverse = body[:start], body[start:-1]
    value, grads = ret.value.elts[0], ret.value.elts[1]
    made = set(params)
    for s in forward:
        made.update(N.names_in(s, gast.Store))
    made.update(local_functions(forward))  # (a local def the reverse part calls)
    read = set()
    for s in reverse + [grads]:
        read.update(N.names_in(s, gast.Load))
    kept = sorted(read & made - {seed})
    # a residual stored only on some paths (a branch the call did not take: ``if x is
    # None: return ...``) starts as None, so the tuple of residuals can always be built
    surely = set(params) | {n for s in forward if not isinstance(s, (gast.If, gast.For,
                                                                     gast.While))
                            for n in N.names_in(s, gast.Store)}
    start_none = [N.assign(n, N.const(None)) for n in kept if n not in surely]
    at = next((i + 1 for i, s in enumerate(forward) if N.is_comment(s)
               and s.value.value == "forward pass"), 0)  # (under the docstring and comment)
    by_name = dict(zip(wrt_names, grads.elts))
    cts = [N.clone(by_name[p]) if p in by_name else N.const(None) for p in params[first:]]
    # the residuals: bwd, the cotangents of a zero seed (all None: pullback_res's answer
    # to a None seed, without running bwd), then the values bwd reads
    nones = N.tuple_([N.const(None) for _ in cts])
    fdef.args = _arguments(params)
    fdef.body = forward[:at] + start_none + forward[at:] + [N.return_(N.tuple_([
        value, N.tuple_([N.name(bwd_name), nones] + [N.name(n) for n in kept])]))]
    unpack = [N.assign(n, gast.Subscript(value=N.name(res_name), slice=N.const(k + 2),
                                         ctx=gast.Load()) if n in varied else
                       N.call("held", [N.name(res_name), N.const(k + 2)]))
              for k, n in enumerate(kept)]
    bwd = gast.FunctionDef(
        name=bwd_name, args=_arguments([res_name, seed]),
        body=[N.clone(body[0]), *unpack, *reverse, N.return_(N.tuple_(cts))], decorator_list=[],
        returns=None, type_comment=None, type_params=[])
    return fdef, bwd


def to_split_form(fdef, seed, name):
    """``f(params, seed) -> (value, grads)`` as ``f(params) -> (value, pullback)`` where
    ``pullback(seed) -> grads`` (a nested function called ``name``) runs the reverse pass
    on the forward pass's values.
    None where the value needs the reverse pass (then the caller keeps ``vjp_call``)."""
    body = fdef.body
    start = N.reverse_start(body)
    ret = body[-1]
    forward, reverse = body[:start], body[start:-1]
    value, grads = ret.value.elts[0], ret.value.elts[1]
    rebound = {n for s in reverse for n in N.names_in(s, gast.Store)}
    if rebound & set(N.names_in(value, gast.Load)):
        return None
    outer = {a.id for a in fdef.args.args if a.id != seed}
    for s in forward:
        outer.update(N.names_in(s, gast.Store))
    shared = sorted(rebound & outer)
    inner = ([gast.Nonlocal(names=shared)] if shared else []) + reverse + [N.return_(grads)]
    pullback = gast.FunctionDef(
        name=name, args=_arguments([seed]), body=inner, decorator_list=[],
        returns=None, type_comment=None, type_params=[])
    fdef.args = _arguments([a.id for a in fdef.args.args if a.id != seed])
    fdef.body = forward + [pullback, N.return_(N.tuple_([value, N.name(name)]))]
    return fdef


def local_functions(body):
    """The names bound by a ``def`` in ``body`` (its blocks included) and nowhere else."""
    defs, other = set(), set()
    for s in body:
        for node in N.walk(s):
            if isinstance(node, gast.FunctionDef):
                defs.add(node.name)
            elif isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                other.add(node.id)
    return defs - other


def _arguments(names):
    return gast.arguments(
        args=[gast.Name(id=a, ctx=gast.Param(), annotation=None, type_comment=None)
              for a in names],
        posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


def _assigns(stmts):
    for s in stmts:
        if isinstance(s, gast.Assign):
            yield s
        for field in ("body", "orelse"):
            yield from _assigns(getattr(s, field, None) or [])


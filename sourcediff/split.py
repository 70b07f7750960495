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

Code that will be differentiated again (``grad(grad(f))``, ``hessian``) keeps the
unsplit form, ``vjp_call``, whose tangent rule forward mode knows.
"""

from __future__ import annotations

import gast

from . import nodes as N
from .resolve import static_value


class NotSplittable(Exception):
    """The value is computed in the reverse pass: the caller falls back to ``vjp_call``."""


def mark(body, ns, active, names, is_user_call):
    """Give each ``x = call`` to user code whose ``x`` is active its pullback list
    (``s.sd_pullbacks``); the reverse sweep pops it, :func:`rewrite` runs the call."""
    for s in _assigns(body):
        t, v = s.targets[0], s.value
        if isinstance(t, gast.Name) and t.id in active and isinstance(v, gast.Call) \
                and is_user_call(v, static_value(v.func, ns)):
            s.sd_pullbacks = names.temp("pullbacks")


def rewrite(forward):
    """The forward statements with each marked call the sweep used run by
    ``split_call`` (or ``split_method``), and the lists those need, made up front."""
    lists = []
    for s in _assigns(forward):
        call = getattr(s, "sd_split_call", None)
        if call is None:
            continue
        pbs = N.name(s.sd_pullbacks)
        lists.append(N.assign(s.sd_pullbacks, gast.List(elts=[], ctx=gast.Load())))
        kind, func, args = call
        if kind == "method":
            s.value = N.call("split_method", [pbs, N.clone(func.value), N.const(func.attr),
                                              *[N.clone(a) for a in args]])
        else:
            s.value = N.call("split_call", [pbs, N.clone(func), *[N.clone(a) for a in args]])
    return lists + forward


def to_split_form(fdef, seed, name):
    """``f(params, seed) -> (value, grads)`` as ``f(params) -> (value, pullback)`` where
    ``pullback(seed) -> grads`` (a nested function called ``name``) runs the reverse pass
    on the forward pass's values.
    None where the value needs the reverse pass (then the caller keeps ``vjp_call``)."""
    body = fdef.body
    start = next(i for i, s in enumerate(body)
                 if N.is_comment(s) and s.value.value == "reverse pass")
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


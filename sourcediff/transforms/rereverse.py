"""Reverse over reverse: ``vjp(grad(f), x)`` and ``grad`` of a function of a gradient.

The generated gradient is plain Python calling NumPy and the runtime helpers, and every
helper has a reverse rule in the table (``tests/test_helper_rules.py`` audits it). So its
reverse mode is taken by the runtime tape run over the generated code
(:mod:`sourcediff.tape.generated`): one reverse pass over the gradient's own code per
pullback, for any cotangent, loops (their ``_stack``) and calls into user code included.

Two paths, each where it is needed:

* ``gradient_vjp`` (``vjp(grad(f), x)``; ``grad``/``vjp`` of a function that calls
  ``grad(h)``, through ``runtime.vjp_call``): true reverse over reverse, as above.
* ``recorded_jacobian`` (``hessian(f)``, ``jacobian(grad(f))`` where the gradient calls
  into user code): the gradient recorded once, one reverse pass per row, so each helper
  runs once per Hessian (forward mode would run it once per column).
* ``higher.symmetric_gradient_vjp``: the pullback as *generated code* (a tangent of the
  gradient with respect to every argument, exact by symmetry of second derivatives).
  Forward mode can read it back, so it is what a second derivative of a function that
  calls ``grad(h)`` inside runs through (``runtime.adjoint_fn``: ``hessian(g)``,
  ``grad(grad(g))``), and the cross-check of the tests.
"""

from __future__ import annotations

import re

import numpy as np

from ..ir import codegen, signature
from .. import runtime
from .api import grad
from ..pipeline import link
from ..pipeline.compiled import ForwardGrad, _like, flat_primals
from ..ir.names import RUNTIME
from ..values import structure
from ..ir.compiler_hook import provides
from ..errors import ArgumentError, MissingRuleError, SourceDiffError
from .gradfunction import GradFunction
from ..opt.shapes import spec_of


@provides
def gradient_vjp(made, primals):
    """``(made(*primals), pullback)`` for a gradient sourcediff made, by reverse mode over
    its generated code (see the module docstring)."""
    name = getattr(made, "__name__", None)
    out, pull = recorded_gradient(made, primals)
    single = made.single

    def pullback(cotangent):
        vs = gradient_cotangents(cotangent, out, single, name)
        return pull(vs[0] if single else tuple(vs))

    return out, pullback


def _held(c, p):
    """The cotangent ``c`` of the primal ``p`` with each leaf that holds no float (an int,
    a flag, None, a string: held fixed, as ``grad`` holds them) given a plain zero: 0.0
    for a number, float zeros for an int array, None for anything else."""
    leaves, rebuild = structure.flatten(p)
    c_leaves = structure.flatten(c)[0]
    if len(c_leaves) != len(leaves) or all(runtime._differentiable(v) for v in leaves):
        return c
    return rebuild([g if runtime._differentiable(v) else
                    0.0 if isinstance(v, (int, np.integer, np.bool_)) else
                    np.zeros(v.shape) if isinstance(v, np.ndarray) and v.dtype.kind in "biu"
                    else None for g, v in zip(c_leaves, leaves)])


def gradient_cotangents(cotangent, out, single, name):
    """The cotangents of a gradient's outputs as a tuple, each shaped like its gradient;
    a clear error otherwise."""
    vs = (cotangent,) if single else tuple(cotangent)
    outs = (out,) if single else tuple(out)
    if len(vs) == len(outs):
        vs = tuple(_completed(c, o) for c, o in zip(vs, outs))
    if len(vs) != len(outs) or not all(_matches(c, o) for c, o in zip(vs, outs)):
        raise ArgumentError(
            "the cotangent does not match the gradient: pass one shaped like each "
            "gradient (a tuple for a tuple wrt)", function=name,
            hint="pass np.ones_like(g) for each gradient g")
    return vs


def _completed(c, o):
    """The cotangent ``c`` generated code gives a gradient ``o`` laid out as ``o``: a dict
    with some of its keys (the items read, ``g["a"]``) given None, no cotangent, for the
    others; an array stacking the cotangents of a tuple's (a list's) items of one shape
    (the cotangent of ``np.array(g)``) split into them."""
    if isinstance(c, dict) and isinstance(o, dict) and set(c) <= set(o):
        return {k: _completed(c[k], v) if k in c else None for k, v in o.items()}
    if isinstance(o, (tuple, list)) and isinstance(c, np.ndarray) and c.ndim and \
            len(c) == len(o) and all(np.shape(v) == c.shape[1:] and not isinstance(
                v, (tuple, list, dict)) for v in o):
        return type(o)(c[i] for i in range(len(o)))
    return c


def _matches(c, o):
    """Cotangent ``c`` has gradient ``o``'s structure and shapes (a list of arrays of
    different shapes, for a list argument, too)."""
    try:
        structure.cotangent_leaves(o, c)
    except ArgumentError:
        return False
    return True


def recorded_gradient(made, primals):
    """``(made(*primals), pull)`` from one run of the gradient's generated code on the tape
    (a helper it calls runs once): ``pull(cotangent)``, one cotangent per primal, for a
    cotangent shaped like the gradient (a tuple of them, None for a zero one, for a tuple
    ``wrt``), a reverse pass over what the tape recorded, as often as wanted (a Hessian's
    rows: :func:`higher.jacobian`)."""
    from ..tape.generated import vjp_of_generated
    name = getattr(made, "__name__", None)
    if getattr(made, "with_value", False) or getattr(made, "has_aux", False):
        raise ArgumentError("vjp of value_and_grad or of a gradient with has_aux=True is not "
                            "supported", function=name,
                            hint="take vjp of grad(f) (the gradient alone)")
    if not isinstance(made, (GradFunction, ForwardGrad)):
        raise ArgumentError(f"vjp cannot read the gradient '{name}' back", function=name)
    # (flat: defaults filled in, *args a tuple; layout: the flat indices the primals fill)
    flat, layout, packed = flat_primals(
        made.fn if isinstance(made, GradFunction) else made.inner, tuple(primals))
    flat = tuple(flat)
    plain = made.plain_function(flat, with_value=True)
    (value, raw), pull = vjp_of_generated(plain, flat, name)
    if value is not None and np.ndim(value) != 0:
        out = made(*primals)  # not a scalar: grad's error (a one-element output: seeded)
    else:  # finished as grad finishes it: each gradient its argument's type
        out = tuple(_like(r, flat[i]) for r, i in zip((raw,) if made.single else raw,
                                                      made.wrt))
        out = out[0] if made.single else out

    def pullback(cotangent):
        cts = pull((None, cotangent))
        cts = signature.per_primal([_like(cts[i], flat[i]) for i in layout], packed)
        return tuple(_held(_like(c, p), p) for c, p in zip(cts, primals))

    return out, pullback


def recorded_jacobian(fn, args, idx, single):
    """The Jacobian (blocks as ``higher.jacobian`` lays them out) of ``fn``, a gradient
    sourcediff made whose code calls into user code, with respect to the arguments
    ``idx``: the gradient run once on the tape (:func:`recorded_gradient`: its
    linearisation), then one reverse pass over the record per element of the gradient, so
    a helper runs once per Jacobian, not once per column. None otherwise: forward mode
    takes the columns (compiled code, faster than the tape over a loop, and nothing there
    runs user code twice), and where the tape cannot run the code or a rule has no
    reverse over reverse (forward mode, exact too, may have it)."""
    made = getattr(fn, "__sourcediff_state__", fn)
    if not isinstance(made, GradFunction) or made.with_value or made.has_aux:
        return None
    try:
        flat = tuple(flat_primals(made.fn, tuple(args))[0])
        if not _USER_CALL.search(made._adjoint(flat, in_place=False).source or ""):
            return None
        out, pull = recorded_gradient(made, args)
        return _rows(out, pull, args, idx, single)
    except SourceDiffError:
        return None


# the helpers through which generated code runs user code (split.py, runtime.vjp_call)
_USER_CALL = re.compile(rf"\b{RUNTIME}\.(split_res|vjp_call|vjp_method|jvp_pair|jvp_call|"
                        r"jvp_method)\(")


def _rows(out, pull, args, idx, single):
    """The Jacobian of the gradient ``out`` from ``pull``, one call per element of it."""
    multi = isinstance(out, (tuple, list))
    outs = tuple(out) if multi else (out,)
    blocks = []
    for k, o in enumerate(outs):
        rows = [[] for _ in idx]
        for j in range(int(np.size(o))):
            e = np.zeros(np.size(o))
            e[j] = 1.0
            ct = e.reshape(np.shape(o)) if np.ndim(o) else 1.0
            cts = pull(tuple(ct if m == k else None for m in range(len(outs))) if multi
                       else ct)
            for acc, i in zip(rows, idx):
                acc.append(np.ravel(cts[i]))
        Js = [np.stack(r, axis=0).reshape(np.shape(o) + np.shape(args[i])) if r else
              np.zeros(np.shape(o) + np.shape(args[i])) for r, i in zip(rows, idx)]
        blocks.append(Js[0] if single else tuple(Js))
    return tuple(blocks) if multi else blocks[0]


_VIEWS: dict = {}   # (id(made), shapes, active) -> (made, generated function)


@provides
def gradient_adjoint_view(fn, args, active=True):
    """A plain generated function ``F(*args, g) == runtime.vjp_call(fn, g, *args)`` for
    ``fn`` a gradient sourcediff made (``grad(h)`` called inside differentiated code),
    so that forward mode can read it back: a second derivative of such a function
    (``hessian(g)``, ``grad(grad(g))``). It is the symmetric form: the tangent of
    ``grad(h, wrt=every float argument)`` along ``g`` in the slots ``fn`` differentiates,
    ``jvp_call`` of that gradient's generated code."""
    made = getattr(fn, "__sourcediff_state__", fn)
    name = getattr(fn, "__name__", "gradient")
    if isinstance(made, ForwardGrad):
        return _derivative_view(made, args, active, name)
    if not isinstance(made, GradFunction) or made.with_value or made.has_aux or not all(
            isinstance(i, (int, np.integer)) for i in made.wrt_items):
        raise MissingRuleError(
            f"a second derivative through the call of '{name}' inside the differentiated "
            "function is supported for grad(h) of named arguments only",
            construct="grad(...) called inside differentiated code",
            hint="call grad(h) (not value_and_grad, has_aux, or a gradient of a gradient) "
                 "inside, or write the derivative out")
    key = (id(made), spec_of(args), bool(active))
    hit = _VIEWS.get(key)
    if hit is not None and hit[0] is made:
        return hit[1]
    n = len(args)
    params = [f"_sd_a{i}" for i in range(n)]
    diff = tuple(i for i, a in enumerate(args) if runtime._differentiable(a))
    if not (active and diff):
        body = f"    return {[None] * n!r}"
        glob = {}
    else:
        full = grad(made.fn, diff[0] if len(diff) == 1 else diff)
        items = [int(i) for i in made.wrt_items]
        tans = []
        for k in range(n):
            if k in items:
                tans.append("_sd_g" if made.single else f"_sd_g[{items.index(k)}]")
            else:
                tans.append(f"{RUNTIME}.zeros_tangent({params[k]})" if k in diff else "None")
        t = "_sd_t" if len(diff) == 1 else None
        outs = [("_sd_t" if t else f"_sd_t[{diff.index(k)}]") if k in diff else "None"
                for k in range(n)]
        body = (f"    _sd_t = {RUNTIME}.jvp_call(_sd_full, ({', '.join(tans)},), {', '.join(params)})\n"
                f"    return [{', '.join(outs)}]")
        glob = {"_sd_full": full.plain_function(tuple(args)), RUNTIME: link.HELPERS}
    return _compiled_view(made, key, params, body, glob)


def _compiled_view(made, key, params, body, glob):
    fname = f"{getattr(made.fn, '__name__', 'h')}_grad_cts".replace("<", "_").replace(">", "_")
    src = f"def {fname}({', '.join(params + ['_sd_g'])}):\n{body}\n"
    view = codegen.compile_function(src, fname, {"np": np, **glob}, fname)
    _VIEWS[key] = (made, view)
    return view


def _derivative_view(made, args, active, name):
    """``gradient_adjoint_view`` of a derivative of a gradient (``grad(grad(h))``, a
    ``ForwardGrad``) of scalar arguments: for each, the tangent of its generated code
    along that argument (``jvp_call``), times the cotangent ``g``, summed."""
    n = len(args)
    params = [f"_sd_a{i}" for i in range(n)]
    diff = tuple(i for i, a in enumerate(args) if runtime._differentiable(a))
    if made.with_value or any(np.ndim(args[k]) for k in diff):
        raise MissingRuleError(
            f"a second derivative through the call of '{name}' inside the differentiated "
            "function is supported for a gradient of a gradient of scalar arguments only",
            construct="grad(grad(...)) called inside differentiated code",
            hint="call it with scalar arguments, or write the derivative out")
    key = (id(made), spec_of(args), bool(active))
    hit = _VIEWS.get(key)
    if hit is not None and hit[0] is made:
        return hit[1]
    if not (active and diff):
        return _compiled_view(made, key, params, f"    return {[None] * n!r}", {})
    lines = []
    for k in diff:
        tans = ["1.0" if j == k else f"{RUNTIME}.zeros_tangent({params[j]})" if j in diff
                else "None" for j in range(n)]
        lines.append(f"    _sd_t{k} = {RUNTIME}.jvp_call(_sd_plain, ({', '.join(tans)},), "
                     f"{', '.join(params)})")
    outs = [f"np.sum(_sd_g * _sd_t{k})" if k in diff else "None" for k in range(n)]
    body = "\n".join(lines + [f"    return [{', '.join(outs)}]"])
    glob = {"_sd_plain": made.plain_function(tuple(args)), RUNTIME: link.HELPERS}
    return _compiled_view(made, key, params, body, glob)

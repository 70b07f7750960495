"""Reverse over reverse: ``vjp(grad(f), x)`` and ``grad`` of a function of a gradient.

The generated gradient is plain Python calling NumPy and the runtime helpers, and every
helper has a reverse rule in the table (``tests/test_helper_rules.py`` audits it). So its
reverse mode is taken by the runtime tape run over the generated code
(:mod:`sourcediff.tape.generated`): one reverse pass over the gradient's own code per
pullback, for any cotangent, loops (their ``_stack``) and calls into user code included.

Two paths, each where it is needed:

* ``gradient_vjp`` (``vjp(grad(f), x)``; ``grad``/``vjp`` of a function that calls
  ``grad(h)``, through ``runtime.vjp_call``): true reverse over reverse, as above.
* ``higher.symmetric_gradient_vjp``: the pullback as *generated code* (a tangent of the
  gradient with respect to every argument, exact by symmetry of second derivatives).
  Forward mode can read it back, so it is what a second derivative of a function that
  calls ``grad(h)`` inside runs through (``runtime.adjoint_fn``: ``hessian(g)``,
  ``grad(grad(g))``), and the cross-check of the tests.
"""

from __future__ import annotations

import zlib

import numpy as np

from . import codegen, runtime
from .api import grad
from .compiled import ForwardGrad, _like, flat_primals
from .compiler_hook import provides
from .errors import ArgumentError, MissingRuleError
from .gradfunction import GradFunction
from .shapes import spec_of


@provides
def gradient_vjp(made, primals):
    """``(made(*primals), pullback)`` for a gradient sourcediff made, by reverse mode over
    its generated code (see the module docstring)."""
    from .tape.generated import vjp_of_generated
    name = getattr(made, "__name__", None)
    if getattr(made, "with_value", False) or getattr(made, "has_aux", False):
        raise ArgumentError("vjp of value_and_grad or of a gradient with has_aux=True is not "
                            "supported", function=name,
                            hint="take vjp of grad(f) (the gradient alone)")
    if not isinstance(made, (GradFunction, ForwardGrad)):
        raise ArgumentError(f"vjp cannot read the gradient '{name}' back", function=name)
    single = made.single
    flat, _, packed = flat_primals(made.fn if isinstance(made, GradFunction) else made.inner,
                                   tuple(primals))
    if packed:
        raise ArgumentError("vjp of a gradient of a function with *args is not supported",
                            function=name, hint="give the function named parameters")
    out = made(*primals)
    plain = made.plain_function(tuple(flat))
    value, pull = vjp_of_generated(plain, tuple(flat), name)
    del value

    def pullback(cotangent):
        vs = (cotangent,) if single else tuple(cotangent)
        outs = (out,) if single else tuple(out)
        if len(vs) != len(outs) or any(np.shape(c) != np.shape(o) for c, o in zip(vs, outs)):
            raise ArgumentError(
                "the cotangent does not match the gradient: pass one shaped like each "
                "gradient (a tuple for a tuple wrt)", function=name,
                hint="pass np.ones_like(g) for each gradient g")
        ct = vs[0] if single else tuple(vs)
        cts = pull(ct)[:len(primals)]
        return tuple(_like(c, p) for c, p in zip(cts, primals))

    return out, pullback


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
                tans.append(f"zeros_tangent({params[k]})" if k in diff else "None")
        t = "_sd_t" if len(diff) == 1 else None
        outs = [("_sd_t" if t else f"_sd_t[{diff.index(k)}]") if k in diff else "None"
                for k in range(n)]
        body = (f"    _sd_t = jvp_call(_sd_full, ({', '.join(tans)},), {', '.join(params)})\n"
                f"    return [{', '.join(outs)}]")
        glob = {"_sd_full": full.plain_function(tuple(args)),
                "jvp_call": runtime.HELPERS["jvp_call"],
                "zeros_tangent": runtime.HELPERS["zeros_tangent"]}
    fname = f"{getattr(made.fn, '__name__', 'h')}_grad_cts".replace("<", "_").replace(">", "_")
    src = f"def {fname}({', '.join(params + ['_sd_g'])}):\n{body}\n"
    filename = f"<sourcediff {fname}:{zlib.crc32(src.encode()):08x}>"
    view = codegen.compile_function(src, fname, {"np": np, **glob}, filename)
    _VIEWS[key] = (made, view)
    return view

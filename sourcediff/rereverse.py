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

import numpy as np

from .compiled import ForwardGrad, _like, flat_primals
from .compiler_hook import provides
from .errors import ArgumentError
from .gradfunction import GradFunction


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
    plain = made.plain_function(tuple(primals))
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

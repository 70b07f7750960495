"""``vjp``: evaluate a function once and return its pullback (a split adjoint, or the
adjoint of a gradient sourcediff made)."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from .. import runtime
from ..ir import signature
from ..ad import split
from ..values import structure
from .._typing import T
from ..pipeline.compiled import adjoint_of, flat_primals
from ..ir.compiler_hook import compiler
from ..errors import SourceUnavailableError
from ..prims.custom import Primitive
from ..opt.shapes import spec_of
from .adjoints import _PrimitiveAdjoint
from .gradfunction import VJP_FIXED, GradFunction, _fast_check


def vjp(fn: Callable[..., T], *primals: Any) -> tuple[T, Callable[[T], tuple[Any, ...]]]:
    """Evaluate a function and return its pullback (reverse mode, any output).

    ``vjp(fn, *primals)`` runs ``fn(*primals)`` once and returns its output
    with a *pullback*: ``pullback(cotangent)`` gives the vector-Jacobian
    product, one cotangent per primal (``cotangent @ J_i`` for each argument
    ``i``), without forming the Jacobian. This is PyTorch's
    ``out.backward(cotangent)`` and ``jax.vjp``.

    Parameters
    ----------
    fn : callable
        A Python function (or a :func:`primitive`, or a gradient made by
        sourcediff: ``vjp(grad(f), x)`` gives Hessian-vector products).
    *primals
        The arguments, by position; parameters left out keep their defaults.
        Every primal is differentiated.

    Returns
    -------
    out : object
        ``fn(*primals)``.
    pullback : callable
        ``pullback(cotangent) -> tuple``; ``cotangent`` has the structure and
        shapes of ``out`` (for a tuple, list or dict of arrays, one of those;
        None for a part that gets no cotangent), and the tuple holds one
        cotangent per primal, each shaped like its primal. It may be called
        again (later calls rerun the forward pass).

    Raises
    ------
    SourceDiffError
        As :func:`grad`; :class:`ArgumentError` for a cotangent of the wrong
        structure or shape.

    See Also
    --------
    jvp : forward mode, one directional derivative per call.
    jacobian : the whole Jacobian.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import vjp
    >>> def f(x, y):
    ...     return x * y + np.sin(x)
    >>> out, pullback = vjp(f, np.array([0.0, 1.0]), np.array([2.0, 3.0]))
    >>> out
    array([0.        , 3.84147098])
    >>> dx, dy = pullback(np.ones(2))
    >>> dx, dy
    (array([3.        , 3.54030231]), array([0., 1.]))
    """
    made = getattr(fn, "__sourcediff_state__", fn)
    bound = getattr(fn, "__sourcediff_bound__", None)
    if bound is not None and isinstance(made, GradFunction):  # grad(model.loss)
        out, pull = compiler.gradient_vjp(made, (bound[1], *primals))  # (the object fixed)
        return out, lambda cotangent: pull(cotangent)[1:]
    if hasattr(fn, "plain_function") or isinstance(made, GradFunction):
        return compiler.gradient_vjp(made, primals)  # reverse over reverse: rereverse.py
    wrt, flat, packed = tuple(range(len(primals))), primals, False
    first = None  # the split adjoint's pullback, usable once
    if isinstance(fn, Primitive):
        adj = _PrimitiveAdjoint(fn, wrt, seed=True)
        out = fn(*primals)
    else:
        _fast_check(fn, primals, wrt, fixed=VJP_FIXED)
        flat, wrt, packed = flat_primals(fn, primals)  # defaults filled in, *args a tuple
        try:
            adj = adjoint_of(fn, wrt, "split", spec=spec_of(flat))
        except SourceUnavailableError as exc:
            from .. import tape  # imported on first use
            warnings.warn(f"sourcediff: {exc.bare_message}; using the runtime tape instead",
                          stacklevel=2)
            return tape.vjp(fn, *primals)
        except split.NotSplittable:
            adj = adjoint_of(fn, wrt, "vjp", spec=spec_of(flat))
            out = fn(*primals)
        else:
            out, first = adj.fn(*flat)  # the function runs once, here; its pullback waits
    taken = []

    def pullback(cotangent):
        structure.cotangent_leaves(out, cotangent, fn.__name__)  # raises if they differ
        if first is not None and not taken:
            taken.append(True)  # a split pullback replays its forward pass's saves once
            grads = first(cotangent)
        else:  # called again: the whole adjoint, forward pass included
            again = adj if first is None else adjoint_of(fn, wrt, "vjp", spec=spec_of(flat))
            grads = again.fn(*flat, cotangent)[1]
        grads = signature.per_primal([runtime.like(g, flat[i]) for g, i in zip(grads, wrt)],
                                     packed)
        return tuple(_own(g, cotangent) for g in grads)

    pullback.__sourcediff_source__ = adj.source
    return out, pullback


def _own(g, given):
    """``g``, copied if it is (a view of) an array the caller gave us."""
    if isinstance(g, np.ndarray) and isinstance(given, np.ndarray) and np.may_share_memory(
            g, given):
        return g.copy()
    return g

"""``grad``, ``value_and_grad`` and ``vjp`` on the runtime tape.

Each call wraps the selected arguments' leaves in :class:`Tracer` objects of
a fresh trace level, runs the user function natively (so any Python control
flow works), then sweeps back from the output. The function run is the copy
made by :func:`.shim.traceable` (once per ``grad``/``value_and_grad`` object),
which sees ``math``, ``numpy`` and ``float`` replaced so that they record.
"""

from __future__ import annotations

import functools
import inspect
import types

import numpy as np

from .. import runtime
from ..values import structure
from ..errors import ArgumentError, NonScalarOutputError, SourceDiffError
from . import shim, sweep
from .graph import Node, is_box, new_level, tracing, unwrap, unwrap_all
from .tracer import Tracer


def grad(f=None, wrt=0, *, has_aux=False):
    """The gradient of scalar-valued ``f`` with respect to argument(s) ``wrt``.

    Usable as ``grad(f)``, ``@grad`` and ``@grad(wrt=(0, 1))``. With
    ``has_aux=True``, ``f`` returns ``(loss, aux)`` and the gradient function
    returns ``(grads, aux)``.
    """
    if f is None:
        return lambda fn: grad(fn, wrt, has_aux=has_aux)
    both = value_and_grad(f, wrt, has_aux=has_aux)

    def gradient(*args, **kwargs):
        value, grads = both(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads
    return TapeFunction(gradient, f, "grad")


def value_and_grad(f=None, wrt=0, *, has_aux=False):
    """Like :func:`grad`, returning ``(value, grads)``; ``((loss, aux), grads)`` with aux."""
    if f is None:
        return lambda fn: value_and_grad(fn, wrt, has_aux=has_aux)
    _refuse_compiled(f)
    run = shim.traceable(f)

    def value_and_gradient(*args, **kwargs):
        indices, single = structure.resolve_wrt(f, wrt, nargs=len(args))
        args, kwargs = _as_positional(f, args, kwargs, indices)
        level = new_level()
        args = [a if i in indices else shim.data_view(a) for i, a in enumerate(args)]
        kwargs = {k: shim.data_view(v) for k, v in kwargs.items()}
        inputs = []
        for i in indices:
            args[i], traced = _trace_argument(f, args[i], i, level)
            inputs.append(traced)
        with tracing(level):
            out = run(*args, **kwargs)
        loss, aux = _split_aux(f, out, has_aux)
        value = _check_scalar(f, loss, level)
        seeds = {loss.node: _ones_like(value)} if _on_trace(loss, level) else {}
        sources = sweep.backward(seeds)
        grads = tuple(_gradient(traced, sources) for traced in inputs)
        value = (value, shim.plain(unwrap(aux, level))) if has_aux else value
        return value, grads[0] if single else grads
    return TapeFunction(value_and_gradient, f, "value_and_grad")


class TapeFunction:
    """What :func:`grad` and :func:`value_and_grad` return: called like ``f``, named
    and documented like it (and with its signature).

    It is not a Python function on purpose: its code is the tape's, not ``f``'s,
    and the compiler reads source -- through a ``functools.wraps`` ``__wrapped__``
    it would read ``f``'s and silently differentiate ``f`` instead of its
    gradient. Without source, ``sourcediff.grad`` of it falls back to the tape
    (tape over tape: right), compiled code calling it gets no rule for it, and
    ``sourcediff.jvp`` refuses it.
    """

    def __init__(self, call, f, made_by):
        self._sd_tape_call = call
        self.made_by = made_by
        functools.update_wrapper(self, f, updated=())   # (not f.__dict__: it may hold ours)
        self.__dict__.pop("__wrapped__", None)
        try:
            self.__signature__ = inspect.signature(f)
        except (TypeError, ValueError):
            pass

    def __call__(self, *args, **kwargs):
        return self._sd_tape_call(*args, **kwargs)

    def __get__(self, obj, owner=None):
        """A method when used as a decorator in a class body (like a function)."""
        return self if obj is None else types.MethodType(self, obj)

    def __repr__(self):
        name = getattr(self, "__qualname__", getattr(self, "__name__", "f"))
        return f"<sourcediff.tape.{self.made_by} of {name}>"


def vjp(f, *primals):
    """``(f(*primals), pullback)``; ``pullback(ct)`` gives one cotangent per primal."""
    _refuse_compiled(f)
    level = new_level()
    args, inputs = [], []
    for i, p in enumerate(primals):
        arg, traced = _trace_argument(f, p, i, level,
                                      "fix this argument in a lambda: tape.vjp(lambda x: "
                                      "f(x, n), x)")
        args.append(arg)
        inputs.append(traced)
    with tracing(level):
        out = shim.traceable(f)(*args)
    out_leaves, rebuild = structure.flatten(out)
    raw_out = rebuild([unwrap(leaf, level) for leaf in out_leaves])

    def pullback(cotangent):
        seeds = {}
        for leaf, ct in zip(out_leaves, structure.cotangent_leaves(raw_out, cotangent, _name(f))):
            if ct is not None and _on_trace(leaf, level):
                seeds[leaf.node] = sweep.add(seeds.get(leaf.node), ct)
        sources = sweep.backward(seeds)
        return tuple(_gradient(traced, sources) for traced in inputs)
    return raw_out, pullback


# --- inputs ---------------------------------------------------------------------------------

def _refuse_compiled(f):
    """A function made by the compiler (``sourcediff.grad(g)``...) runs generated code
    that takes plain arrays only: the tape cannot record through it."""
    fn = getattr(f, "__func__", f)
    if getattr(fn, "__sourcediff_state__", None) is not None or callable(
            getattr(fn, "plain_function", None)):
        name = _name(f)
        raise SourceDiffError(
            f"the tape cannot differentiate '{name}': it was made by the sourcediff compiler "
            "(sourcediff.grad or value_and_grad), whose generated code takes plain arrays, "
            "not traced values", function=name,
            hint="stay with one engine: sourcediff.grad(sourcediff.grad(g)) (or "
                 "sourcediff.hessian(g)), or tape.grad(tape.grad(g))")


def _as_positional(f, args, kwargs, indices):
    """Move arguments that ``wrt`` selects but were passed by keyword into ``args``."""
    if all(i < len(args) for i in indices):
        return args, kwargs
    try:
        bound = inspect.signature(f).bind(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise ArgumentError(str(e), function=_name(f)) from None
    args, kwargs = bound.args, bound.kwargs
    missing = [i for i in indices if i >= len(args)]
    if missing:
        raise ArgumentError(f"wrt selects argument {missing[0]}, but '{_name(f)}' was called "
                            f"with {len(args)} positional argument(s)", function=_name(f))
    return args, kwargs


def _trace_argument(f, value, index, level, fixed="leave this argument out of wrt"):
    """Wrap every leaf of one argument; return it and ``(nodes, leaves, rebuild)``."""
    structure.check_differentiable(f, unwrap_all(value), index, fixed=fixed)
    leaves, rebuild = structure.flatten(value)
    boxes = [Tracer(leaf, Node(), level) for leaf in leaves]
    return rebuild(boxes), ([b.node for b in boxes], leaves, rebuild)


def _gradient(traced, sources):
    """The gradient of one argument, shaped like it, from the sweep's cotangents."""
    nodes, leaves, rebuild = traced
    return rebuild([_like(sources[n], leaf) if n in sources else _zeros_like(leaf)
                    for n, leaf in zip(nodes, leaves)])


def _zeros_like(x):
    return runtime.zeros_like_grad(unwrap_all(x))


def _like(g, x):
    """Cotangent ``g`` with the type, shape and dtype of primal ``x`` (fresh memory)."""
    if not (is_box(g) or is_box(x)):
        out = runtime.like(g, x)
        return out.copy() if out is g and isinstance(out, np.ndarray) else out
    plain = unwrap_all(x)
    if not is_box(g):
        return runtime.like(g, plain)
    if g.ndim > np.ndim(plain):                  # higher order: keep g traced
        return runtime.unbroadcast(g, plain)
    if g.shape != np.shape(plain):
        return np.broadcast_to(g, np.shape(plain))
    return g


# --- outputs --------------------------------------------------------------------------------

def _on_trace(x, level):
    return is_box(x) and x.level == level


def _split_aux(f, out, has_aux):
    if not has_aux:
        return out, None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise ArgumentError("has_aux=True needs the function to return a pair (loss, aux)",
                            function=_name(f))
    return out[0], out[1]


def _check_scalar(f, loss, level):
    """The plain value of ``loss`` (at this level), which must be a scalar or a
    one-element array (shape (1,) or (1, 1): seeded with ones of its shape). A complex
    one gives the gradient of its real part (autograd's convention, docs/complex.md)."""
    plain = unwrap_all(loss)
    if isinstance(plain, (tuple, list, dict)):
        raise NonScalarOutputError(
            f"grad needs a function returning a scalar, but it returned a {type(plain).__name__}",
            function=_name(f), hint="return only the loss, or pass has_aux=True to return "
                                    "(loss, aux); use vjp for several outputs")
    if np.size(plain) != 1 or not np.issubdtype(
            np.result_type(plain), np.number):
        raise NonScalarOutputError(
            f"grad needs a function returning a scalar, but it returned "
            f"{_describe(plain)}", function=_name(f),
            hint="reduce the output (e.g. np.sum) or use vjp for non-scalar outputs")
    return unwrap(loss, level)


def _describe(x):
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"a {type(x).__name__}"


def _ones_like(value):
    plain = unwrap_all(value)
    if isinstance(plain, float):
        return 1.0
    dtype = np.result_type(plain)
    return np.ones(np.shape(plain), dtype if np.issubdtype(dtype, np.floating) else float)


def _name(f):
    return getattr(f, "__name__", repr(f))

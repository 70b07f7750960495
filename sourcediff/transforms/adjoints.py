"""Adjoints that are not generated code, with the interface of a compiled one (``fn``
returning the value and the gradients): a user primitive's own rules, the runtime tape
where the source cannot be read, and the lift of arguments to a duck array's type."""

from __future__ import annotations

import types
import warnings

import numpy as np

from ..prims import registry
from .. import runtime
from ..errors import SourceDiffError
from ..values.duck import is_duck
from ..values.duck import key as duck_key
from ..values.spec import Items
from ..values.lift import lift


class _Lifted:
    """The adjoint for a call with duck array data (Dask...): NumPy arrays among the
    arguments it differentiates are lifted to the data's array type first
    (:func:`lift.lift`), so an adjoint buffer such as ``x_bar[0] += g`` can hold a lazy
    cotangent. Run from the dispatcher (no entry code: graph building dominates)."""

    def __init__(self, adj, wrt):
        self.adj, self.wrt = adj, wrt
        self.statics, self.source = adj.statics, adj.source

    def fn(self, *args):
        return self.adj.fn(*lift(args, self.wrt))


class _TapeAdjoint:
    """Fallback where the source cannot be read: the runtime tape, same results."""

    def __init__(self, fn, wrt, has_aux, reason):
        from .. import tape  # imported on first use (see sourcediff/__init__.py)
        if isinstance(fn, (types.BuiltinFunctionType, type)) and registry.lookup(fn) is None:
            raise SourceDiffError(
                f"'{getattr(fn, '__name__', fn)}' is a builtin with no derivative rule",
                function=getattr(fn, "__name__", None),
                hint="differentiate a Python function that calls it, or give it a rule with "
                     "sourcediff.primitive(...).defvjp(...)")
        self.source = None
        self.statics = ()
        self.wrt = wrt
        self._vg = tape.value_and_grad(fn, tuple(wrt), has_aux=has_aux)
        self.has_aux = has_aux
        # made once per grad(...) object, so this warns once per object (a set of ids
        # would miss a new object that reuses a collected one's id)
        warnings.warn(f"sourcediff: {reason.bare_message}; using the runtime tape instead",
                      stacklevel=4)

    def fn(self, *args):
        value, grads = self._vg(*args)
        grads = tuple(grads)  # wrt is always a tuple here
        if self.has_aux:
            return value[0], grads, value[1]
        return value, grads


def _key(args):
    """What the compiled code is specialised on: each ndarray's (shape, dtype), each
    duck array's type and dtype (:func:`duck.key`), a tuple's length and a dict's keys
    (:class:`spec.Items`), every other argument's type."""
    return tuple([(a.shape, a.dtype) if type(a) is np.ndarray else
                  duck_key(a) if is_duck(a) else
                  Items.key(a) if type(a) is tuple or type(a) is dict else type(a)
                  for a in args])


class _PrimitiveAdjoint:
    """``grad`` of a ``@primitive`` itself: its own rule, nothing to compile."""

    def __init__(self, prim, wrt, seed=False):
        self.prim, self.wrt, self.seed = prim, wrt, seed
        self.source = None
        self.statics = ()

    def fn(self, *args):
        g = args[-1] if self.seed else 1.0
        args = args[:-1] if self.seed else args
        ans = self.prim(*args)
        cts = self.prim.vjp_or_raise()(g, ans, *args)
        return ans, tuple(runtime.zeros_like_grad(args[i]) if cts[i] is None else cts[i]
                          for i in self.wrt)

"""One step of a checkpointed loop (:mod:`checkpoint`): its reverse, by the step's
compiled adjoint (made once per kind of state), and the loop's tangent, by the step's
tangent code."""

from __future__ import annotations

import types
import warnings

import numpy as np

from .. import runtime
from ..ad import split
from ..values import structure
from ..pipeline.compiled import adjoint_of, flat_primals, jvp_adjoint
from ..prims.custom import Primitive
from ..errors import ArgumentError, SourceUnavailableError
from ..opt.shapes import spec_of

_PLAIN = (float, np.float64, np.ndarray)  # cotangents added with + (not containers)


def _differentiable(x):
    """A parameter the gradient flows to: every leaf a float (or complex) number."""
    leaves = list(structure.leaves(x, ""))
    return bool(leaves) and all(
        isinstance(v, (float, complex, np.ndarray, np.generic))
        and np.asarray(v).dtype.kind in "fc" for _, v in leaves)


class StepAdjoint:
    """Step ``i`` forward (``advance``), forward keeping its pullback (``tape``), and back
    (``back``: the state's cotangent; the parameters' accumulated, the item's stored); the
    step's compiled split adjoint is made once per kind of state. ``xs`` (None for a loop
    of ``n`` steps) gives step ``i`` its item ``xs[i]``, passed before the parameters."""

    def __init__(self, step, state, params, xs=None):
        self.step, self.state, self.xs = step, state, xs
        self.params = params if xs is None else (xs[0], *params)  # as the step sees them
        self.given = params
        self.active = [i for i, p in enumerate(self.params) if _differentiable(p)]
        self.bars = [None] * len(self.params)
        self.xs_bar = [None] * len(xs) if xs is not None and 0 in self.active else None
        self.adjoints = {}

    def _args(self, i):
        if self.xs is None:
            return self.params
        return (self.xs[i], *self.given)

    def advance(self, i, state):
        return self.step(state, *self._args(i))

    def tape(self, i, state):
        """``(step(state), pullback)``; ``pullback(g)`` gives the cotangents of the state and
        of the differentiated parameters, in order."""
        key = type(state)
        fn = self.adjoints.get(state.dtype if key is np.ndarray else key)
        if fn is None:
            fn = self.adjoints[state.dtype if key is np.ndarray else key] = self._adjoint(state)
        return fn(state, *self._args(i))

    def back(self, i, pullback, g):
        grads = pullback(g)
        bars = self.bars
        for k, j in enumerate(self.active, 1):
            b = grads[k]
            if self.xs_bar is not None and j == 0:
                self.xs_bar[i] = b
            elif b is not None:
                old = bars[j]
                bars[j] = b if old is None else old + b if type(b) in _PLAIN else \
                    runtime.add_cot(old, b)
        g = grads[0]
        return runtime.zeros_like_grad(self.state) if g is None else g

    def _adjoint(self, state):
        step, params, active = self.step, self.params, self.active
        if isinstance(step, Primitive):  # its own rule
            rule = step.vjp_or_raise()

            def by_rule(s, *params):
                ans = step(s, *params)

                def pullback(g):
                    cots = rule(g, ans, s, *params)
                    return cots[0], *[cots[1 + i] for i in active]
                return ans, pullback
            return by_rule
        if not isinstance(step, types.FunctionType):
            raise ArgumentError(
                f"checkpoint.loop differentiates a step written as a Python function or a "
                f"sourcediff.primitive, not {type(step).__name__}",
                hint="wrap it: loop(lambda s, *p: obj.step(s, *p), state, n, *params)")
        primals = (state, *params)
        flat, _, packed = flat_primals(step, primals)
        if packed or len(flat) != len(primals):
            raise ArgumentError(
                f"the step function '{step.__name__}' of checkpoint.loop must take "
                "(state, *params) as plain positional parameters, one per value passed",
                function=step.__name__, hint="def step(state, a, b): ...")
        wrt, spec = (0, *[1 + i for i in active]), spec_of(primals)
        try:  # the split form knows the seed's shape: no unbroadcast left in it
            return adjoint_of(step, wrt, "split", spec=spec).fn
        except SourceUnavailableError as exc:
            return self._taped(exc)
        except split.NotSplittable:
            whole = adjoint_of(step, wrt, "vjp", spec=spec).fn

            def by_whole(s, *params):
                return step(s, *params), lambda g: whole(s, *params, g)[1]
            return by_whole

    def _taped(self, exc):
        """The runtime tape, where the step's source cannot be read (as :func:`vjp`)."""
        from .. import tape  # imported on first use (see sourcediff/__init__.py)
        warnings.warn(f"sourcediff: {exc.bare_message}; checkpoint.loop differentiates its "
                      "steps with the runtime tape instead", stacklevel=4)
        step, active = self.step, self.active

        def by_tape(s, *params):
            def moved(s, *values):
                args = list(params)
                for i, v in zip(active, values):
                    args[i] = v
                return step(s, *args)
            return tape.vjp(moved, s, *[params[i] for i in active])
        return by_tape

    def cotangents(self):
        """The cotangents of ``xs`` (None for a loop of ``n`` steps) and of the parameters."""
        bars = [None if b is None else runtime.like(b, p) for b, p in zip(self.bars,
                                                                          self.params)]
        if self.xs is None:
            return None, bars
        if self.xs_bar is None:
            return None, bars[1:]
        items = [runtime.like(b, x) for b, x in zip(self.xs_bar, self.xs)]
        if isinstance(self.xs, np.ndarray):
            return runtime.like(np.stack(items) if items else np.zeros(self.xs.shape),
                                self.xs), bars[1:]
        return type(self.xs)(items), bars[1:]


def step_tangents(step, state, t_state, n, params, t_params, xs=None, t_xs=None):
    """The state's tangent after ``n`` steps (``t_params`` None where a parameter is fixed;
    with ``xs``, step ``i`` gets ``xs[i]`` first and ``t_xs[i]`` its tangent)."""
    if xs is not None:
        params, t_params = (xs[0], *params), (t_xs, *t_params)
    moved = [i for i, t in enumerate(t_params) if t is not None]
    made = {}
    for i in range(n):
        args = params if xs is None else (xs[i], *params[1:])
        tans = [t_params[j] if xs is None or j else t_xs[i] for j in moved]
        if isinstance(step, Primitive):
            new = step(state, *args)
            t_state = step.jvp_or_raise()(
                (t_state, *[t if xs is None or j or t is None else t[i]
                             for j, t in enumerate(t_params)]),
                new, state, *args)
            state = new
            continue
        key = (type(state), getattr(state, "dtype", None))
        fn = made.get(key)
        if fn is None:
            fn = made[key] = jvp_adjoint(step, (0, *[1 + j for j in moved]),
                                         spec_of((state, *args))).fn
        state, t_state = fn(state, *args, t_state, *tans)
    return t_state

"""One step of a checkpointed loop (:mod:`checkpoint`): its reverse, by the step's
compiled adjoint (made once per kind of state), and the loop's tangent, by the step's
tangent code."""

from __future__ import annotations

import types
import warnings

import numpy as np

from . import runtime, split, structure
from .compiled import adjoint_of, flat_primals, jvp_adjoint
from .custom import Primitive
from .errors import ArgumentError, SourceUnavailableError
from .shapes import spec_of

_PLAIN = (float, np.float64, np.ndarray)  # cotangents added with + (not containers)


def _differentiable(x):
    """A parameter the gradient flows to: every leaf a float (or complex) number."""
    leaves = list(structure.leaves(x, ""))
    return bool(leaves) and all(
        isinstance(v, (float, complex, np.ndarray, np.generic))
        and np.asarray(v).dtype.kind in "fc" for _, v in leaves)


class StepAdjoint:
    """One step's reverse (``back``) and forward (``advance``), the parameters' cotangents
    accumulated; the step's compiled ``vjp`` adjoint is made once per kind of state."""

    def __init__(self, step, params):
        self.step, self.params = step, params
        self.active = [i for i, p in enumerate(params) if _differentiable(p)]
        self.bars = [None] * len(params)
        self.adjoints = {}
        self.steps = 0

    def advance(self, state):
        return self.step(state, *self.params)

    def back(self, state, g):
        key = type(state)
        fn = self.adjoints.get(state.dtype if key is np.ndarray else key)
        if fn is None:
            fn = self.adjoints[state.dtype if key is np.ndarray else key] = self._adjoint(state)
        g_state, g_params = fn(state, g)
        bars = self.bars
        for i, b in zip(self.active, g_params):
            if b is not None:
                old = bars[i]
                bars[i] = b if old is None else old + b if type(b) in _PLAIN else \
                    runtime.add_cot(old, b)
        return runtime.zeros_like_grad(state) if g_state is None else g_state

    def _adjoint(self, state):
        step, params, active = self.step, self.params, self.active
        if isinstance(step, Primitive):  # its own rule
            rule = step.vjp_or_raise()

            def by_rule(s, g):
                cots = rule(g, step(s, *params), s, *params)
                return cots[0], [cots[1 + i] for i in active]
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
            run = adjoint_of(step, wrt, "split", spec=spec).fn
        except SourceUnavailableError as exc:
            return self._taped(exc)
        except split.NotSplittable:
            whole = adjoint_of(step, wrt, "vjp", spec=spec).fn

            def compiled(s, g):
                grads = whole(s, *params, g)[1]
                return grads[0], grads[1:]
            return compiled

        def by_split(s, g):
            grads = run(s, *params)[1](g)
            return grads[0], grads[1:]
        return by_split

    def _taped(self, exc):
        """The runtime tape, where the step's source cannot be read (as :func:`vjp`)."""
        from . import tape  # imported on first use (see sourcediff/__init__.py)
        warnings.warn(f"sourcediff: {exc.bare_message}; checkpoint.loop differentiates its "
                      "steps with the runtime tape instead", stacklevel=4)
        step, params, active = self.step, list(self.params), self.active

        def moved(s, *values):
            for i, v in zip(active, values):
                params[i] = v
            return step(s, *params)

        def by_tape(s, g):
            grads = tape.vjp(moved, s, *[self.params[i] for i in active])[1](g)
            return grads[0], grads[1:]
        return by_tape

    def param_cotangents(self):
        return [None if b is None else runtime.like(b, p)
                for b, p in zip(self.bars, self.params)]


def step_tangents(step, state, t_state, n, params, t_params):
    """The state's tangent after ``n`` steps (``t_params`` None where a parameter is fixed)."""
    moved = [i for i, t in enumerate(t_params) if t is not None]
    if isinstance(step, Primitive):
        rule = step.jvp_or_raise()
        for _ in range(n):
            new = step(state, *params)
            t_state = rule((t_state, *t_params), new, state, *params)
            state = new
        return t_state
    made = {}
    moving = [t_params[i] for i in moved]
    for _ in range(n):
        key = (type(state), getattr(state, "dtype", None))
        fn = made.get(key)
        if fn is None:
            fn = made[key] = jvp_adjoint(step, (0, *[1 + i for i in moved]),
                                         spec_of((state, *params))).fn
        state, t_state = fn(state, *params, t_state, *moving)
    return t_state

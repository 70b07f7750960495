"""``checkpoint.loop``: a long loop differentiated in O(sqrt(n)) memory.

``state = checkpoint.loop(step, state, n, *params)`` runs ``state = step(state,
*params)`` ``n`` times, like the ``for`` loop it replaces (``loop(step, state, xs,
*params)``: ``state = step(state, x, *params)`` for each ``x`` in ``xs``). Differentiated by the
compiler, the ``for`` loop pushes what each step overwrites, so its memory grows with
``n``; the loop is a :func:`primitive` whose reverse rule keeps ``ceil(sqrt(n))``
checkpoints and runs each segment again from its checkpoint (:mod:`schedules`), so it
holds about ``2 sqrt(n)`` states and runs each step twice forward. Each step is
differentiated by sourcediff itself (its split adjoint, compiled once).
``make_loop(snapshots=s)`` gives a loop on Griewank's binomial schedule (Revolve) with
``s`` snapshots, for tighter memory; ``make_loop(every=k)`` segments of ``k`` steps.
docs/checkpointing.md has the measurements; ``loop``'s docstring more examples.

Examples
--------
>>> from sourcediff import checkpoint, grad
>>> def step(h, a):
...     return 0.5 * (h + a / h)   # Newton's iteration for sqrt(a)
>>> round(grad(lambda a: checkpoint.loop(step, 1.0, 50, a))(4.0), 12)  # d sqrt(a) / da
0.25
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np

from .. import runtime
from ..runtime import schedules
from ..values import structure
from .checkpoint_step import StepAdjoint, step_tangents
from ..prims.custom import Primitive, primitive
from ..errors import ArgumentError, MissingRuleError, SourceDiffError


class Stats(NamedTuple):
    """What the last reverse sweep of a checkpointed loop did (in this thread)."""

    n: int               # steps in the loop
    schedule: str        # "segments of k" or "binomial, s snapshots"
    peak_states: int     # the most loop states (or step pullbacks) held at once
    forward_steps: int   # steps the reverse sweep ran forward (again)
    backward_steps: int  # steps differentiated (each once: n)


_last = threading.local()


def last_stats() -> Stats | None:
    """The :class:`Stats` of the last checkpointed reverse sweep in this thread, or None."""
    return getattr(_last, "stats", None)


def make_loop(every: int | None = None, snapshots: int | None = None) -> Primitive:
    """A checkpointed loop with its own schedule (see :func:`loop`).

    Parameters
    ----------
    every : int, optional
        Segments of ``every`` steps (default ``ceil(sqrt(n))``, which holds fewest
        states: about ``2 sqrt(n)``); each step runs twice forward.
    snapshots : int, optional
        Griewank's binomial schedule (Revolve) with at most ``snapshots`` states kept
        besides the first: memory fixed whatever ``n``; a step runs at most ``r + 1``
        times forward, ``r`` the least with ``binom(snapshots + r, snapshots) >= n``.

    Returns
    -------
    Primitive
        ``loop(step, state, n, *params)``, to call as :func:`loop`. Make it once, at
        module level: the compiler resolves the name when it reads your function.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import checkpoint, grad
    >>> tight = checkpoint.make_loop(snapshots=4)
    >>> def step(h, a):
    ...     return np.tanh(a * h)
    >>> def f(a):
    ...     return tight(step, 0.5, 1000, a)
    >>> round(grad(f)(0.9), 12) == round(grad(lambda a: checkpoint.loop(step, 0.5, 1000, a))(0.9), 12)
    True
    """
    if every is not None and snapshots is not None:
        raise ArgumentError("make_loop takes every= or snapshots=, not both",
                            hint="every=k for segments of k steps, snapshots=s for Revolve")
    for name, v in (("every", every), ("snapshots", snapshots)):
        if v is not None and (not isinstance(v, (int, np.integer)) or isinstance(v, bool)
                              or v < (1 if name == "every" else 0)):
            raise ArgumentError(f"make_loop({name}={v!r}): {name} must be an int >= "
                                f"{1 if name == 'every' else 0}")

    def loop(step, state, n, *params):
        return _run(step, state, n, params)

    def loop_vjp(g, ans, step, state, n, *params):
        return _reverse(g, step, state, n, params, every, snapshots)

    made = primitive(loop)
    made.defvjp(_FirstOrder(loop_vjp))
    made.defjvp(_FirstOrder(_tangent))
    return made


class _FirstOrder(Primitive):
    """A rule of the loop, opaque in turn: differentiating it (a second derivative)
    is refused at compile time, and by the tape when it records it."""

    def vjp_or_raise(self):
        raise _second_order()

    def jvp_or_raise(self):
        raise _second_order()


def _second_order():
    return MissingRuleError(
        "checkpoint.loop is differentiated once (grad, value_and_grad, vjp, jvp), not "
        "twice: its derivative rules have no derivative", construct="checkpoint.loop",
        hint="for hessian, hvp or grad(grad(f)), write the loop as a plain for loop")


def _run(step, state, n, params):
    n, xs = _check(step, state, n, params)
    for i in range(n):
        new = step(state, *params) if xs is None else step(state, xs[i], *params)
        state = _checked(new, state, step) if i in (0, n - 1) else new
    return state


def _check(step, state, n, params):
    """``(n, xs)``: the number of steps, and the items (None for an int ``n``); a clear
    error for what the loop cannot differentiate."""
    name = getattr(step, "__name__", repr(step))
    if not callable(step):
        raise ArgumentError(f"checkpoint.loop's first argument must be the step function, "
                            f"not {type(step).__name__}",
                            hint="loop(step, state, n, *params) with state = step(state, *params)")
    xs = None
    if isinstance(n, (np.ndarray, list, tuple)) and np.ndim(n) > 0:
        xs, n = n, len(n)
    elif isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ArgumentError(
            f"checkpoint.loop's third argument must be a step count (an int >= 0) or the "
            f"items to loop over (an array, list or tuple), got {n!r}",
            hint="loop(step, state, n, *params) or loop(step, state, xs, *params)")
    for path, leaf in structure.leaves(state, "state"):
        if _is_traced(leaf) or np.asarray(leaf).dtype.kind not in "fc":
            if _is_traced(leaf):
                break
            raise ArgumentError(
                f"the state of checkpoint.loop must hold floats, but {path} is "
                f"{type(leaf).__name__} {np.asarray(leaf).dtype}", function=name,
                hint="start from a float state, e.g. 0.0 or x.astype(float)")
    cells = [c.cell_contents for c in (getattr(step, "__closure__", None) or ())
             if _filled(c)]
    if any(_is_traced(v) for v in cells):
        raise _closure_error(name)
    return int(n), xs


def _filled(cell):
    try:
        cell.cell_contents  # noqa: B018  (an empty cell raises)
    except ValueError:
        return False
    return True


def _is_traced(v):
    return hasattr(v, "_sd_call_primitive")  # a value the runtime tape is recording


def _closure_error(name):
    return SourceDiffError(
        f"the step function '{name}' of checkpoint.loop reads a differentiated value from "
        "its closure", function=name, construct="checkpoint.loop",
        hint="pass the value as a parameter: loop(step, state, n, value) calls "
             "step(state, value), and its gradient flows to it")


def _checked(new, old, step):
    if _is_traced(new):
        raise _closure_error(getattr(step, "__name__", repr(step)))
    if np.shape(new) != np.shape(old) or structure.structure_mismatch(old, new):
        raise ArgumentError(
            f"the step function '{getattr(step, '__name__', step)}' of checkpoint.loop "
            f"must return a state shaped like its input: it got {_describe(old)} and "
            f"returned {_describe(new)}", function=getattr(step, "__name__", None),
            hint="return the new state only, with the shape and structure of the old one")
    return new


def _describe(x):
    if isinstance(x, (tuple, list, dict)):
        return f"a {type(x).__name__} of {len(x)}"
    return f"shape {np.shape(x)}"


def _reverse(g, step, state, n, params, every, snapshots):
    """The loop's reverse rule: cotangents of (step, state, n or xs, *params)."""
    n, xs = _check(step, state, n, params)
    adj = StepAdjoint(step, state, params, xs)
    count = schedules.Count()
    if snapshots is not None:
        g = schedules.binomial(state, n, g, adj.advance, adj.tape, adj.back, snapshots,
                               count)
        schedule = f"binomial, {snapshots} snapshots"
    else:
        k = every or schedules.default_every(n)
        g = schedules.segments(state, n, g, adj.advance, adj.tape, adj.back, k, count)
        schedule = f"segments of {k}"
    _last.stats = Stats(n, schedule, count.peak, count.forward, count.backward)
    xs_bar, bars = adj.cotangents()
    return (None, runtime.like(g, state), xs_bar, *bars)


def _tangent(tangents, ans, step, state, n, *params):
    """Forward mode: a loop of the step's tangent code, in constant memory."""
    n, xs = _check(step, state, n, params)
    t_state = tangents[1] if tangents[1] is not None else runtime.zeros_tangent(state)
    return step_tangents(step, state, t_state, n, params, tangents[3:], xs, tangents[2])


loop: Primitive = make_loop()
loop.__doc__ = """Run ``state = step(state, *params)`` ``n`` times; differentiated in
O(sqrt(n)) memory.

It computes what ``for _ in range(n): state = step(state, *params)`` computes, or,
given items ``xs`` in place of ``n``, ``for x in xs: state = step(state, x, *params)``.
Inside a function given to :func:`grad`, :func:`value_and_grad`, :func:`vjp`,
:func:`jvp` or :mod:`sourcediff.tape`, its gradient flows to ``state``, to float
``xs`` and to each float ``params`` (not to ``step`` or ``n``). The reverse sweep keeps
``ceil(sqrt(n))`` checkpoints and runs each segment again from its checkpoint, keeping
its steps' pullbacks: about ``2 sqrt(n)`` states (or pullbacks) held instead of ``n``,
for each step run twice forward (:func:`make_loop` for other schedules,
:func:`last_stats` for what the last sweep did). ``step`` is differentiated by
sourcediff like any function you call; it runs again in the reverse sweep, so it must
give the same state from the same inputs (no random draws: pass them in ``xs``).

Parameters
----------
step : callable
    ``step(state, *params) -> new state`` (``step(state, x, *params)`` with ``xs``),
    shaped like ``state``: a Python function (module-level, nested or lambda) or a
    :func:`primitive`. Values it reads from its closure are constants: a
    differentiated value must be passed in ``params``.
state : float, array, or tuple / list / dict of them
    The initial state (floats).
n : int, or array, list or tuple
    The number of steps (0 returns ``state``); or the items ``xs``, one step each
    (``xs[i]`` for step ``i``: an array's rows).
*params
    Passed to every step, by position; the gradient flows to the float ones.

Returns
-------
object
    The state after ``n`` steps.

Raises
------
ArgumentError
    A step count that is not an int >= 0 (nor items), a state that is not made of
    floats, a step returning a state of another shape.
SourceDiffError
    A step reading a differentiated value from its closure; a second derivative
    (``hessian``, ``grad(grad(f))``) through the loop.

Examples
--------
>>> import numpy as np
>>> from sourcediff import checkpoint, grad
>>> def step(h, a, b):
...     return np.tanh(a * h + b)
>>> def f(a, b):
...     return checkpoint.loop(step, 0.5, 10_000, a, b)
>>> def plain(a, b):
...     h = 0.5
...     for _ in range(10_000):
...         h = np.tanh(a * h + b)
...     return h
>>> np.allclose(grad(f, wrt=(0, 1))(0.9, 0.1), grad(plain, wrt=(0, 1))(0.9, 0.1))
True
>>> checkpoint.last_stats().peak_states  # 100 checkpoints, 99 states of one segment
199

Over items (an RNN over a sequence): the gradient reaches them too.

>>> def cell(h, x, w):
...     return np.tanh(w * h + x)
>>> def rnn(w, xs):
...     return checkpoint.loop(cell, 0.0, xs, w)
>>> dw, dxs = grad(rnn, wrt=(0, 1))(0.5, np.array([1.0, -1.0, 2.0]))
>>> dxs.shape
(3,)
"""

__all__ = ["loop", "make_loop", "last_stats", "Stats"]

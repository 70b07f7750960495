"""What ``jacobian``, ``hessian`` and ``hvp`` differentiate with respect to, and the blocks
they give back with the structure of the arguments and of the output.

A ``wrt`` item selects an argument by position or the ``*args`` tuple by name. Either
may be a container (a tuple, list, dict, dataclass...) of float leaves: the Jacobian
with respect to it has its structure, each leaf ``l`` holding the block of shape
``out.shape + l.shape`` (as ``jax.jacobian`` does for a pytree). For ``*args`` that is
a tuple with one block per item, so ``hessian(f, wrt="args")`` gives ``H[i][j]``.
"""

from __future__ import annotations

import inspect

import numpy as np

from ..errors import ArgumentError
from ..ir import signature
from ..runtime import zeros_tangent
from ..values import structure
from ..values.structure import check_differentiable, resolve_wrt


class Selected:
    """One argument ``wrt`` selects: its value (the ``*args`` tuple for ``*args``), the
    call positions it fills, and its float leaves."""

    def __init__(self, value, positions, packed, item):
        self.value, self.positions, self.packed, self.item = value, positions, packed, item
        self.leaves, self.rebuild = structure.flatten(value)
        self.plain = not packed and len(self.leaves) == 1 and self.leaves[0] is value

    def place(self, tangents, t):
        """Put ``t``, a tangent shaped like the value, into the call's ``tangents``."""
        if self.packed:
            if not isinstance(t, (tuple, list)) or len(t) != len(self.positions):
                raise ArgumentError(
                    f"the vector for *{self.item} must be a tuple of {len(self.positions)} "
                    f"(one per item of *{self.item}), not {structure._what(t)}",
                    hint=f"pass a tuple shaped like the *{self.item} items")
            for pos, tk in zip(self.positions, t):
                tangents[pos] = tk
        else:
            tangents[self.positions[0]] = t

    def one_hot(self, args, leaf, j):
        """The call's tangents moving element ``j`` of leaf ``leaf`` alone (every other
        argument held fixed: its zero tangent, None for None)."""
        tangents = [zeros_tangent(a) for a in args]
        parts = []
        for m, v in enumerate(self.leaves):
            e = np.zeros(np.shape(v))
            if m == leaf:
                e.flat[j] = 1.0
            parts.append(e if np.ndim(v) else float(e))
        self.place(tangents, self.rebuild(parts))
        return tangents


def select(fn, sig_fn, wrt, args, kwargs, transform):
    """(the :class:`Selected` arguments, single?) for a call of ``transform``'s result
    with ``args``; clear errors for keywords, a parameter that cannot be selected and an
    argument that holds no floats."""
    name = getattr(fn, "__name__", None)
    if kwargs:
        raise ArgumentError(
            f"{transform} takes the arguments of '{name}' by position, but got keyword "
            f"argument(s) {', '.join(sorted(kwargs))}", function=name,
            hint=f"pass them by position, or fix them in a lambda: {transform}(lambda x: "
                 f"{name}(x, {next(iter(kwargs))}=...))")
    where = getattr(getattr(fn, "__sourcediff_state__", None), "fn", sig_fn)  # (grad(f): f)
    where = where if hasattr(where, "__code__") else sig_fn
    sig = signature.signature(sig_fn)
    if sig is not None:
        signature.bind(where, sig, args, {})  # (too few or too many arguments: the error)
    items, single = resolve_wrt(sig_fn, wrt, nargs=len(args), names_ok=True)
    npos, var = positional_of(sig_fn)
    out = []
    for item in items:
        if isinstance(item, str):
            if item != var:
                raise ArgumentError(
                    f"{transform} cannot differentiate with respect to the keyword-only "
                    f"parameter {item!r} of '{name}'", function=name,
                    hint=f"fix it in a lambda taking it by position: {transform}(lambda x, "
                         f"{item}: {name}(x, {item}={item}), wrt=1)")
            value = tuple(args[npos:])
            out.append(Selected(value, tuple(range(npos, len(args))), True, item))
        else:
            if item >= len(args):
                raise ArgumentError(
                    f"wrt selects argument {item}, but '{name}' was called with "
                    f"{len(args)} argument(s)", function=name,
                    hint="pass every argument up to the ones wrt selects")
            out.append(Selected(args[item], (item,), False, item))
        check_differentiable(where, out[-1].value, item)
    return out, single


def positional_of(fn):
    """The number of positional parameters of ``fn`` and the name of its ``*args``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return 0, None
    npos = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    var = next((p.name for p in params if p.kind == p.VAR_POSITIONAL), None)
    return npos, var


def output_parts(out):
    """The output's leaves and a function putting blocks back in its structure (a list
    or tuple output gives a tuple, as ``jacobian`` always has)."""
    if not (isinstance(out, (tuple, list, dict)) or structure.kind_of(out) is not None):
        return [out], None
    leaves, rebuild = structure.flatten(out)

    def put_back(blocks):
        made = rebuild(blocks)
        return tuple(made) if isinstance(made, list) else made
    return leaves, put_back


def tangent_leaves(t, n):
    """The leaves of an output's tangent (a symbolic zero, 0.0 or None, stands for
    zeros of each of the ``n`` leaves)."""
    if n > 1 and (t is None or isinstance(t, (float, int))):
        return [0.0] * n
    return [0.0 if v is None else v for v in structure.flatten(t)[0]]

"""What ``jvp`` accepts as primals and tangents (the checks ``grad`` makes, in forward
mode), and which arguments are float leaves."""

from __future__ import annotations

import numpy as np

from ..values import structure
from ..errors import ArgumentError, SourceDiffError


def check_jvp_inputs(fn, primals, tangents):
    """What ``grad`` refuses, ``jvp`` refuses too: non-numeric primals and tangents, a
    complex tangent of a real primal, int primals moved along a nonzero tangent (held fixed, with a zero
    tangent, they are fine), and functions made by the runtime tape."""
    from ..tape.api import TapeFunction
    name = getattr(fn, "__name__", None)
    if isinstance(getattr(fn, "__func__", fn), TapeFunction):
        raise SourceDiffError(
            f"jvp cannot differentiate '{name}': it was made by sourcediff.tape."
            f"{getattr(fn, 'made_by', 'grad')}, which records at run time and has no source "
            "for forward mode", function=name,
            hint="for higher order use the compiler: jvp(sourcediff.grad(f), ...), "
                 "sourcediff.hessian(f) or sourcediff.hvp(f); or nest the tape: "
                 "tape.grad(tape.grad(f))")
    for i, (p, t) in enumerate(zip(primals, tangents)):
        if t is None:  # no tangent: held fixed, whatever it is (None, a string, a flag...)
            continue
        p_leaves = dict(structure.leaves(p, ""))
        for path, leaf in structure.leaves(t, ""):
            complex_ok = np.iscomplexobj(p_leaves.get(path, 0.0))
            if not _real_number(leaf) and not (complex_ok and np.iscomplexobj(leaf)):
                kind = (f"an array of dtype {leaf.dtype}" if isinstance(leaf, np.ndarray) else
                        "a complex number" if np.iscomplexobj(leaf) else
                        f"a {type(leaf).__name__}")
                raise ArgumentError(
                    f"tangent {i}{path} is {kind}: jvp needs real tangents for real primals",
                    function=name,
                    hint="a complex tangent moves a complex primal only; to move a real "
                         "argument into the complex plane, pass it as a complex number"
                    if np.iscomplexobj(leaf) else "give it a float tangent shaped like its "
                    "primal (np.ones_like(x)); None, or zeros, hold the argument fixed")
        if _held_fixed(p, t):
            continue
        try:
            structure.check_differentiable(fn, p, i)
        except ArgumentError as e:
            hint = e.hint
            if "int" in e.bare_message.rsplit(": it is ", 1)[-1]:
                hint = ("pass floats (e.g. 2.0 or x.astype(float)), or give this argument a "
                        "zero tangent to hold it fixed")
            else:
                hint = hint.replace("leave this argument out of wrt",
                                    "give it a zero tangent to hold it fixed")
            raise ArgumentError(e.bare_message, function=e.function, filename=e.filename,
                                lineno=e.lineno, hint=hint) from None


def _real_number(x):
    if isinstance(x, np.ndarray):
        return np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer) \
            or x.dtype == bool
    return isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating))


def _held_fixed(p, t):
    """A primal with a zero tangent that is no float (an int, a flag, a string): not
    moved, so not differentiated."""
    return all(not np.any(v) for _, v in structure.leaves(t, ""))


def float_leaf(a):
    """A float (or complex) number or array: what reverse mode differentiates."""
    return isinstance(a, (float, complex, np.floating, np.complexfloating)) or (
        isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.inexact))

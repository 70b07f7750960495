"""Rules of the functions that treat a complex number as a pair of reals (issue #18).

The convention is autograd's (docs/complex.md): the cotangent of a complex ``z = x + iy``
is ``dL/dx - i dL/dy``, the gradient of the real part of the output. With it a
holomorphic function's rule is its real one, unconjugated (``g * f'(z)``), so every
rule of :mod:`sourcediff.prims.rules` holds for complex values as written; only the functions
below, which are not holomorphic, need rules of their own. A tangent is ``dx + i dy``;
a real output's tangent is real.

Read a line as in :mod:`sourcediff.prims.rules`. ``np.abs``'s cotangent is ``g`` times the
conjugate of ``z / |z|``, which is ``np.sign(x)`` for a real ``x``.
"""

from __future__ import annotations

import ast
import builtins
import math
import operator

import numpy as np

from ..runtime import numeric_complex as nc
from .. import runtime as rt
from . import registry
from .registry import defmethod, defnondiff, defrule

# |z|, the angle, and the parts: dL/dx - i dL/dy of each, written with functions that
# have rules (so they differentiate again). Where |z| is 0 the derivative is taken as 0.
# Their outputs are real, so their cotangent ``g`` is real: ``np.real(g)`` drops the
# imaginary part a real value's cotangent picks up where it was promoted to complex
# (``t * 1j`` gives ``t`` the cotangent ``g * 1j``; only its real part is dL/dt).
_UNIT = "np.conj(x) / np.where(ans == 0, 1.0, ans)"   # conj(z) / |z|; sign(x) for a real x
defrule((np.abs, np.absolute, np.fabs, builtins.abs, math.fabs, operator.abs), "x",
        (f"np.real(g) * {_UNIT}",), (f"np.real(dx * {_UNIT})",))
defrule(np.angle, "z, deg=False",
        ("-1j * np.real(g) * np.conj(z) / np.where(z == 0, 1.0, np.real(z * np.conj(z))) * "
         "(57.29577951308232 if deg else 1.0)",),
        ("np.imag(dz * np.conj(z) / np.where(z == 0, 1.0, np.real(z * np.conj(z)))) * "
         "(57.29577951308232 if deg else 1.0)",), shaped=True)
# sign(z) = z / |z| for a complex z (0 at 0): ds = (dz - s Re(conj(s) dz)) / |z|, which is
# exactly 0 for a real x (s * s == 1): a real sign stays constant, and an adjoint
# specialised to real arguments has no line for it (complex_only)
_R = "np.where(ans == 0, np.inf, np.abs(x))"
defrule(np.sign, "x", (f"(g - np.real(g * ans) * np.conj(ans)) / {_R}",),
        (f"(dx - ans * np.real(np.conj(ans) * dx)) / {_R}",), shaped=True, complex_only=("x",))
defrule(np.real, "val", ("np.real(g)",), linear=True, view=True, shaped=True)
defrule(np.imag, "val", ("-1j * np.real(g)",), linear=True, view=True, shaped=True)
# real_if_close: the real part where it drops the imaginary one, else the identity
defrule(np.real_if_close, "a, tol=100", ("g if np.iscomplexobj(ans) else np.real(g)",),
        ("da if np.iscomplexobj(ans) else np.real(da)",), shaped=True)
defrule((np.conj, np.conjugate), "x", ("np.conj(g)",), ("np.conj(dx)",))
defrule(builtins.complex, "real=0.0, imag=0.0", ("g", "1j * g"), ("dreal + 0j", "1j * dimag"))
defmethod("conj", np.conj)
defmethod("conjugate", np.conjugate)


def refuse_complex(fn, of):
    """Guard ``fn``'s rule with ``real_or_refuse``: its formula is for a real ``of`` (complex
    matrices need conjugate transposes; SciPy has no complex polygamma), so a complex one
    is refused before the formula runs, never silently wrong."""
    rule = registry.lookup(fn)
    for table in (rule.vjps, rule.jvps, rule.seq_vjps):
        for param, src in table.items():
            table[param] = _guarded(src, f"real_or_refuse({of}, {rule.name!r})")


def _guarded(src, guard):
    """``src`` if ``guard`` holds; of a tuple, its first item (forward mode reads a tuple
    of tangents item by item)."""
    tree = ast.parse(src, mode="eval")
    if isinstance(tree.body, ast.Tuple):
        first = ast.unparse(tree.body.elts[0])
        rest = ", ".join(ast.unparse(e) for e in tree.body.elts[1:])
        return f"(({first}) if {guard} else None, {rest})"
    return f"({src}) if {guard} else None"


# --- the helpers ----------------------------------------------------------------------------
defnondiff(nc.real_or_refuse)   # (True, or the refusal)

rt.HELPERS.update(nc.HELPERS)

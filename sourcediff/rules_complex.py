"""Rules of the functions that treat a complex number as a pair of reals (issue #18).

The convention is autograd's (docs/complex.md): the cotangent of a complex ``z = x + iy``
is ``dL/dx - i dL/dy``, the gradient of the real part of the output. With it a
holomorphic function's rule is its real one, unconjugated (``g * f'(z)``), so every
rule of :mod:`sourcediff.rules` holds for complex values as written; only the functions
below, which are not holomorphic, need rules of their own. A tangent is ``dx + i dy``;
a real output's tangent is real.

Read a line as in :mod:`sourcediff.rules`. ``np.abs``'s cotangent is ``g`` times the
conjugate of ``z / |z|``, which is ``np.sign(x)`` for a real ``x``.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from . import numeric_complex as nc
from . import runtime as rt
from .registry import defmethod, defrule

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
         "(57.29577951308232 if deg else 1.0)",))
# sign(z) = z / |z| for a complex z (0 at 0): ds = (dz - s Re(conj(s) dz)) / |z|, which is
# exactly 0 for a real x (s * s == 1): a real sign stays constant
_R = "np.where(ans == 0, np.inf, np.abs(x))"
defrule(np.sign, "x", (f"(g - np.real(g * ans) * np.conj(ans)) / {_R}",),
        (f"(dx - ans * np.real(np.conj(ans) * dx)) / {_R}",))
defrule(np.real, "val", ("np.real(g)",), ("np.real(dval)",))
defrule(np.imag, "val", ("-1j * np.real(g)",), ("np.imag(dval)",))
defrule((np.conj, np.conjugate), "x", ("np.conj(g)",), ("np.conj(dx)",))
defrule(builtins.complex, "real=0.0, imag=0.0", ("g", "1j * g"), ("dreal + 0j", "1j * dimag"))
defmethod("conj", np.conj)
defmethod("conjugate", np.conjugate)

# --- the helpers ----------------------------------------------------------------------------
defrule(nc.refuse_complex, "v, x, name", ("refuse_complex(g, x, name)", None, None),
        ("refuse_complex(dv, x, name)", None, None))

rt.HELPERS.update(nc.HELPERS)

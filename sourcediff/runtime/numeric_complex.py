"""Numeric helpers of complex values: what rule templates call to refuse a complex
argument that a rule's formula does not cover (its real formula would be silently
wrong there), with its own rule in :mod:`sourcediff.prims.rules_complex`; and the real part
of a real output's tangent (:func:`sourcediff.jvp`).
"""

from __future__ import annotations

import numpy as np

from ..errors import MissingRuleError


def real_or_refuse(x, name):
    """True where ``x`` is real; a MissingRuleError naming ``name`` where it is complex (a
    rule template's guard, evaluated before the formula it guards)."""
    if np.iscomplexobj(x):
        raise MissingRuleError(
            f"no derivative rule for {name} of a complex argument (its rule is for real "
            "arguments only)", construct=name,
            hint="differentiate with respect to real arguments here, or write the complex "
                 "function with the real and imaginary parts as real arrays")
    return True


def real_where_real(t, out):
    """The tangent of a real output is real: a real value that went through complex ones
    (the gradient of a real argument of an FFT) has a complex tangent with a zero
    imaginary part, dropped here."""
    if isinstance(t, (list, tuple)) and isinstance(out, (list, tuple)) and len(t) == len(out):
        return type(t)(real_where_real(a, b) for a, b in zip(t, out))
    if isinstance(t, dict) and isinstance(out, dict):
        return {k: real_where_real(v, out.get(k)) for k, v in t.items()}
    if np.iscomplexobj(t) and isinstance(out, (float, np.floating, np.ndarray)) \
            and not np.iscomplexobj(out):
        return float(np.real(t)) if isinstance(out, float) else np.real(t)
    return t


HELPERS = {"real_or_refuse": real_or_refuse}  # (real_where_real is the API's)

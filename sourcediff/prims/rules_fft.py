"""Rules of ``np.fft`` (issue #18): every transform, with ``n``/``s``, ``axis``/``axes``
and ``norm``.

Read a line as in :mod:`sourcediff.prims.rules`. The transforms are linear, so a tangent is
the transform of the tangent, and a cotangent is the transpose applied to ``g``
(no conjugation: docs/complex.md). The full transforms are symmetric, so ``fft``'s
cotangent is ``fft(g)`` with the same ``norm``, fitted back to the input's length where
``n`` padded or cut it. The real transforms' transposes are helpers in
:mod:`sourcediff.runtime.numeric_fft` (``irfft``'s counts each bin but the zero and Nyquist
bins twice); ``hfft`` / ``ihfft`` are ``irfft`` / ``rfft`` of the conjugate with the
opposite ``norm``.
"""

from __future__ import annotations

import numpy as np

from ..runtime import numeric_fft as nf
from .. import runtime as rt
from .registry import deffacts, defnondiff, defrule

_ONE = "None if n is None else (n,)"   # a 1-D transform's n as an n-D one's s

for _f in (np.fft.fft, np.fft.ifft):
    _name = _f.__name__
    defrule(_f, "a, n=None, axis=-1, norm=None",
            (f"fit(np.fft.{_name}(g, None, axis, norm), a)",), linear=True, expensive=True)
for _f in (np.fft.fft2, np.fft.ifft2):
    _name = _f.__name__
    defrule(_f, "a, s=None, axes=(-2, -1), norm=None",
            (f"fit(np.fft.{_name}(g, None, axes, norm), a)",), linear=True)
for _f in (np.fft.fftn, np.fft.ifftn):
    _name = _f.__name__
    defrule(_f, "a, s=None, axes=None, norm=None",
            (f"fit(np.fft.{_name}(g, None, fft_axes(a, s, axes), norm), a)",), linear=True)

defrule(np.fft.rfft, "a, n=None, axis=-1, norm=None",
        (f"rfftn_vjp(g, a, {_ONE}, (axis,), norm)",), linear=True)
defrule(np.fft.rfft2, "a, s=None, axes=(-2, -1), norm=None", ("rfftn_vjp(g, a, s, axes, norm)",),
        linear=True)
defrule(np.fft.rfftn, "a, s=None, axes=None, norm=None", ("rfftn_vjp(g, a, s, axes, norm)",),
        linear=True)
defrule(np.fft.irfft, "a, n=None, axis=-1, norm=None",
        (f"irfftn_vjp(g, a, {_ONE}, (axis,), norm)",), linear=True)
defrule(np.fft.irfft2, "a, s=None, axes=(-2, -1), norm=None", ("irfftn_vjp(g, a, s, axes, norm)",),
        linear=True)
defrule(np.fft.irfftn, "a, s=None, axes=None, norm=None", ("irfftn_vjp(g, a, s, axes, norm)",),
        linear=True)
# hfft(a) is irfft(conj(a)) and ihfft(a) is conj(rfft(a)), each with the opposite norm
defrule(np.fft.hfft, "a, n=None, axis=-1, norm=None",
        (f"np.conj(irfftn_vjp(g, a, {_ONE}, (axis,), swap_norm(norm)))",), linear=True)
defrule(np.fft.ihfft, "a, n=None, axis=-1, norm=None",
        (f"rfftn_vjp(np.conj(g), a, {_ONE}, (axis,), swap_norm(norm))",), linear=True)
# the shifts are permutations: each one's transpose is the other
defrule(np.fft.fftshift, "x, axes=None", ("np.fft.ifftshift(g, axes)",), linear=True)
defrule(np.fft.ifftshift, "x, axes=None", ("np.fft.fftshift(g, axes)",), linear=True)
defnondiff(nf.swap_norm, nf.fft_axes)
# the family's output shape follows from its input's shape and its n, s and axes
deffacts(np.fft.fft, np.fft.ifft, np.fft.fft2, np.fft.ifft2, np.fft.fftn, np.fft.ifftn,
         np.fft.rfft, np.fft.rfft2, np.fft.rfftn, np.fft.irfft, np.fft.irfft2, np.fft.irfftn,
         np.fft.hfft, np.fft.ihfft, np.fft.fftshift, np.fft.ifftshift, shaped=True)
# the sample frequencies k / (n d) are proportional to 1 / d (the spacing)
for _fn in (np.fft.fftfreq, np.fft.rfftfreq):
    defrule(_fn, "n, d=1.0", (None, "-np.sum(g * ans) / d"), (None, "-dd * ans / d"))

# --- the helpers: each linear in its first argument, its transpose the transform -----------
defrule(nf.fit, "v, a", ("fit(g, v)", None), ("fit(dv, a)", None))
defrule(nf.rfftn_vjp, "v, a, s=None, axes=None, norm=None",
        ("np.fft.rfftn(g, s, fft_axes(g, s, axes), norm)", None),
        ("rfftn_vjp(dv, a, s, axes, norm)", None))
defrule(nf.irfftn_vjp, "v, a, s=None, axes=None, norm=None",
        ("np.fft.irfftn(g, s, fft_axes(g, s, axes), norm)", None),
        ("irfftn_vjp(dv, a, s, axes, norm)", None))

rt.HELPERS.update(nf.HELPERS)

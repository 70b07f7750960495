"""Numeric helpers of the ``np.fft`` rules (:mod:`sourcediff.prims.rules_fft`).

Every transform is linear over the reals, so its cotangent is its transpose applied to
``g`` (docs/complex.md: the transpose for the form ``Re(sum u * v)``, no conjugation):
the full transforms are symmetric matrices, ``n``/``s`` padding and truncation transpose
to each other (:func:`fit`), and the real transforms need the helpers below. Each helper
is linear in its first argument and has its own rule, so it differentiates again.
"""

from __future__ import annotations

import numpy as np


def fit(v, a):
    """``v`` cut or padded with zeros to the shape of ``a``, axis by axis: the transpose of
    the padding (or cutting) that ``n=`` / ``s=`` does to a transform's input."""
    shape = np.shape(a)
    if np.shape(v) == shape:
        return v
    v = v[tuple(slice(0, n) for n in shape)]
    pad = [(0, n - m) for n, m in zip(shape, np.shape(v))]
    return np.pad(v, pad) if any(p for _, p in pad) else v


def _axes_s(a, s, axes, inverse_real=False):
    """The axes and lengths a transform of ``a`` runs over, as NumPy picks them."""
    nd = np.ndim(a)
    if axes is None:
        axes = range(nd) if s is None else range(-len(s), 0)
    axes = [ax % nd for ax in axes]
    if s is None:
        s = [np.shape(a)[ax] for ax in axes]
        if inverse_real:
            s[-1] = 2 * (s[-1] - 1)
    return axes, list(s)


def fft_axes(a, s=None, axes=None):
    """The axes ``np.fft.fftn(a, s, axes)`` transforms (the last ``len(s)`` by default)."""
    return _axes_s(a, s, axes)[0]


def rfftn_vjp(g, a, s=None, axes=None, norm=None):
    """The cotangent of real ``a`` in ``np.fft.rfftn(a, s, axes, norm)``: the full
    transform of ``g`` padded with zeros to the full spectrum, cut to ``a``'s shape."""
    axes, s = _axes_s(a, s, axes)
    return np.real(fit(np.fft.fftn(g, s, axes, norm), a))


def irfftn_vjp(g, a, s=None, axes=None, norm=None):
    """The cotangent of ``a`` in ``np.fft.irfftn(a, s, axes, norm)``: the inverse
    transform of ``g``, its first ``n // 2 + 1`` bins along the last axis, the others
    than the zero and the Nyquist bin counted twice (each stands for itself and its
    conjugate mirror), fitted to ``a``'s shape."""
    axes, s = _axes_s(a, s, axes, inverse_real=True)
    n = s[-1]
    h = np.fft.ifftn(np.real(g), None, axes, norm)   # (g is real: the output is)
    h = np.take(h, np.arange(n // 2 + 1), axis=axes[-1])
    weight = np.full(n // 2 + 1, 2.0)
    weight[0] = 1.0
    if n % 2 == 0:
        weight[-1] = 1.0
    shape = [1] * np.ndim(h)
    shape[axes[-1]] = n // 2 + 1
    return fit(h * np.reshape(weight, shape), a)


def swap_norm(norm):
    """The ``norm`` of the opposite direction (``np.fft.hfft`` is an ``irfft`` of it)."""
    return {None: "forward", "backward": "forward", "forward": "backward"}.get(norm, norm)


HELPERS = {name: obj for name, obj in globals().items()
           if callable(obj) and not name.startswith("_") and getattr(obj, "__module__", None)
           == __name__}

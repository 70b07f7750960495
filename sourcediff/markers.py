"""Markers the user writes inside differentiated code.

At run time they are almost nothing: ``stop_gradient(x)`` returns ``x`` and
``no_grad()`` is a context manager. The compiler recognises them by identity
and cuts the gradient; the tape consults :func:`recording` to stop recording.
"""

from __future__ import annotations

import threading

_state = threading.local()


def stop_gradient(x):
    """``x``, through which no gradient flows (PyTorch's ``detach``)."""
    unwrap = getattr(x, "_sd_stop_gradient", None)
    return unwrap() if unwrap is not None else x


class no_grad:
    """``with no_grad():`` -- nothing computed inside contributes to a gradient."""

    def __enter__(self):
        _state.depth = getattr(_state, "depth", 0) + 1
        return self

    def __exit__(self, *exc):
        _state.depth -= 1
        return False


def recording():
    """False inside a ``no_grad()`` block (for the tape)."""
    return getattr(_state, "depth", 0) == 0

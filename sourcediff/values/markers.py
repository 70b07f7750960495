"""Markers the user writes inside differentiated code.

At run time they are almost nothing: ``stop_gradient(x)`` returns ``x`` and
``no_grad()`` is a context manager. The compiler recognises them by identity
and cuts the gradient; the tape consults :func:`recording` to stop recording.
"""

from __future__ import annotations

import threading
from typing import Literal

from .._typing import T

_state = threading.local()


def stop_gradient(x: T) -> T:
    """Return ``x`` unchanged, as a constant for differentiation.

    No gradient flows through the result: inside a differentiated function,
    ``stop_gradient(x)`` is a value the derivative treats as fixed (PyTorch's
    ``x.detach()``, JAX's ``lax.stop_gradient``). Outside one it returns ``x``.

    Parameters
    ----------
    x : float, array or container
        Any value.

    Returns
    -------
    object
        ``x``.

    See Also
    --------
    no_grad : the same for a whole block of statements.

    Examples
    --------
    >>> from sourcediff import grad, stop_gradient
    >>> def f(x):
    ...     return x * stop_gradient(x)     # d/dx (x * c) with c = x held fixed
    >>> grad(f)(3.0)
    3.0
    """
    unwrap = getattr(x, "_sd_stop_gradient", None)
    return unwrap() if unwrap is not None else x


class no_grad:
    """A ``with`` block whose computations contribute nothing to a gradient.

    ``with no_grad():`` inside a differentiated function makes every value
    assigned in the block a constant for differentiation (PyTorch's
    ``torch.no_grad()``); on the tape, nothing in it is recorded. It runs as
    written, and may be used outside differentiated code (it does nothing
    there).

    See Also
    --------
    stop_gradient : the same for one value.

    Examples
    --------
    >>> from sourcediff import grad, no_grad
    >>> def f(x):
    ...     with no_grad():
    ...         scale = 2.0 * x              # held fixed
    ...     return scale * x
    >>> grad(f)(3.0)
    6.0
    """

    def __enter__(self) -> no_grad:
        _state.depth = getattr(_state, "depth", 0) + 1
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _state.depth -= 1
        return False


def recording():
    """False inside a ``no_grad()`` block (for the tape)."""
    return getattr(_state, "depth", 0) == 0

"""Duck arrays: arrays of other libraries that follow NumPy's dispatch protocols.

A Dask array (or a CuPy array...) implements ``__array_function__`` (NEP 18) and
``__array_ufunc__`` (NEP 13), so ``np.sum(x)``, ``np.tanh(x)`` and ``x @ w`` on it
return arrays of its own type: Dask builds a lazy graph instead of computing. The
generated code is plain NumPy-calling Python, so it runs on them unchanged, with
three rules for the code around it:

- specialisation keys on the array's type (and shape, dtype), never its values;
- no ndarray-only shortcuts (in-place updates, ``.flags``, ``np.array(...)`` copies);
- nothing asks for a value (``float()``, ``bool()``, ``np.asarray``): that would
  compute a lazy array.
"""

from __future__ import annotations

import numpy as np

from ..errors import ArgumentError


def is_duck(x):
    """``x`` is an array of another library that dispatches through NumPy's functions
    (not an ndarray, nor one of its subclasses, nor a NumPy scalar)."""
    t = type(x)
    return (t is not np.ndarray and hasattr(t, "__array_function__")
            and not isinstance(x, np.ndarray) and hasattr(x, "dtype") and hasattr(x, "shape"))


def name(x):
    """The type of duck array ``x`` for messages: ``dask.Array``."""
    t = type(x)
    return f"{t.__module__.split('.')[0]}.{t.__name__}"


class Key(tuple):
    """The specialisation key of a duck array argument: its type and dtype. Its shape
    is left out: code compiled for a duck array is generic in shape (no shape
    specialisation, no in-place updates), so one compile serves every shard."""

    __slots__ = ()

    @property
    def type(self):
        return self[0]

    @property
    def dtype(self):
        return self[1]


def key(x):
    """:class:`Key` of duck array ``x``; an unknown size (Dask after a boolean mask) is an
    error, since the generated code reads shapes."""
    if any(n != n for n in x.shape):  # NaN: unknown until computed
        raise ArgumentError(
            f"an argument is a {name(x)} of unknown shape {x.shape}",
            hint="give it known chunk sizes first (for Dask: x.compute_chunk_sizes()), "
                 "since the gradient reads shapes")
    return Key((type(x), x.dtype))

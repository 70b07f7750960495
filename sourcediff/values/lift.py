"""Duck arrays among the arguments: the float NumPy arrays a gradient writes into made
arrays of the duck type (so a lazy cotangent can be stored in them)."""

from __future__ import annotations

import numpy as np

from .duck import is_duck
from .structure import flatten, leaves


def lift(args, wrt):
    """``args`` with the float NumPy arrays among (or inside) the arguments ``wrt``
    selects made arrays of the first duck argument's type (``np.asarray(a, like=...)``,
    NEP 35, lazy for Dask). Only these can have adjoint buffers that lazy cotangents are
    written into."""
    template = next((a for a in args if is_duck(a)), None)
    if template is None:
        return args
    out = list(args)
    for i in wrt:
        if is_duck(args[i]):
            continue
        leaves, rebuild = flatten(args[i])
        if any(_liftable(v) for v in leaves):
            out[i] = rebuild([np.asarray(v, like=template) if _liftable(v) else v
                              for v in leaves])
    return tuple(out)


def needs_lift(args, wrt):
    """Some argument ``wrt`` selects holds a float NumPy array (for :func:`lift`)."""
    return any(not is_duck(args[i]) and any(_liftable(v) for _, v in leaves(args[i]))
               for i in wrt)


def _liftable(v):
    return type(v) is np.ndarray and v.dtype.kind == "f"

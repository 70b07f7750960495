"""What a traced function sees instead of SciPy's modules and distributions.

SciPy's functions written in Python (``scipy.stats.t.logpdf``, ``scipy.linalg.expm``,
``scipy.special.polygamma``...) convert their arguments with ``np.asarray``, which a
traced value refuses. :mod:`sourcediff.tape.shim` gives the traced copy of a function
a view of each SciPy module (and of each ``scipy.stats`` distribution) it names: a
function with a rule in the table records through that rule when given a traced
value, and is SciPy's own otherwise. SciPy's ufuncs (``scipy.special.gammaln``) need
no view: NumPy hands them to the tracer.
"""

from __future__ import annotations

import functools
import types

import numpy as np

from ..prims import registry
from . import record
from .graph import find_top


def _recording(fn):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        if find_top(args, kwargs) is None:
            return fn(*args, **kwargs)
        return record.call_rule(fn, args, kwargs)
    return call


class _View:
    """A module or a distribution object seen through :func:`replacement`."""

    def __init__(self, target):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_cache", {})

    def __getattr__(self, name):
        value = getattr(self._target, name)
        seen = self._cache.get(name)
        if seen is not None and (seen[0] is value or seen[0] == value):
            return seen[1]
        new = replacement(value)
        self._cache[name] = (value, new)
        return new

    def __call__(self, *args, **kwargs):      # a frozen distribution: st.norm(0, 1)
        return self._target(*args, **kwargs)

    def __repr__(self):
        return f"<traced view of {self._target!r}>"


def _from_scipy(value):
    module = getattr(value, "__module__", None) or getattr(type(value), "__module__", "")
    return str(module).split(".")[0] == "scipy"


def replacement(value):
    """``value`` as a traced function sees it (unchanged unless it is SciPy's)."""
    if isinstance(value, types.ModuleType):
        return _View(value) if value.__name__.split(".")[0] == "scipy" else value
    if isinstance(value, np.ufunc) or not _from_scipy(value):
        return value
    if callable(value) and (registry.lookup(value) is not None or registry.is_nondiff(value)):
        return _recording(value)
    if type(value).__module__.startswith("scipy.stats") and not isinstance(value, type):
        return _View(value)                   # a distribution: st.norm, st.multivariate_normal
    return value

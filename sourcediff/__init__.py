"""sourcediff: ahead-of-time automatic differentiation by source transformation.

sourcediff reads a function's source, writes its derivative as plain Python
(readable with :func:`source`), optimises it and compiles it once per kind of
argument.

    >>> import numpy as np
    >>> from sourcediff import grad
    >>> def f(x):
    ...     return np.sum(x ** 2)
    >>> grad(f)(np.array([1.0, 2.0]))
    array([2., 4.])

The public names are those in ``__all__``; :mod:`sourcediff.tape` (the runtime
tape, reverse mode by operator overloading) is imported on first use. The
submodules (``sourcediff.transforms.api``, ``sourcediff.prims.rules``, ...) stay importable but
are internal: they are left out of ``dir(sourcediff)`` and may change.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING

from .transforms import checkpoint
from .prims import rules as _rules  # noqa: F401  (fills the rule table)
from .transforms.api import grad, source, value_and_grad, vjp
from .transforms.check import GradientCheckError, check_grad
from .prims.custom import Primitive, primitive
from .errors import (ArgumentError, MissingRuleError, NonScalarOutputError, SourceDiffError,
    SourceUnavailableError, UnsupportedSyntaxError)
from .transforms.higher import hessian, hvp, jacobian, jvp
from .transforms import rereverse as _rereverse  # noqa: F401,E402  (provides gradient_vjp)
from .values.markers import no_grad, stop_gradient
from .values.structure import register_container

if TYPE_CHECKING:
    from . import tape as tape

__version__ = "0.1.0"

__all__ = [
    # transformations
    "grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "hvp",
    # reading and checking what was generated
    "source", "check_grad",
    # in your code
    "primitive", "Primitive", "stop_gradient", "no_grad", "register_container",
    # long loops in O(sqrt(n)) memory: checkpoint.loop(step, state, n, *params)
    "checkpoint",
    # errors
    "SourceDiffError", "UnsupportedSyntaxError", "MissingRuleError", "NonScalarOutputError",
    "ArgumentError", "SourceUnavailableError", "GradientCheckError",
    # the runtime tape (imported on first use)
    "tape",
]


def __getattr__(name: str) -> object:
    """``sourcediff.tape`` is imported on first use (PEP 562)."""
    if name == "tape":
        return _importlib.import_module(".tape", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names only: the internal submodules stay importable, but unlisted."""
    return sorted([*__all__, "__version__"])

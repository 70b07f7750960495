"""sourcediff: ahead-of-time automatic differentiation by source transformation.

    >>> import numpy as np
    >>> from sourcediff import grad
    >>> def f(x):
    ...     return np.sum(x ** 2)
    >>> grad(f)(np.array([1.0, 2.0]))
    array([2., 4.])
"""

from . import rules as _rules  # noqa: F401  (fills the rule table)
from .api import grad, source, value_and_grad, vjp
from .check import GradientCheckError, check_grad
from .custom import primitive
from .higher import hessian, hvp, jacobian, jvp
from .errors import SourceDiffError
from .markers import no_grad, stop_gradient
from .structure import register_container

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "hvp", "source", "check_grad", "GradientCheckError", "primitive", "stop_gradient",
           "no_grad", "SourceDiffError", "register_container"]
__version__ = "0.1.0"

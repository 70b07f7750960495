"""The runtime tape: reverse mode by operator overloading (like PyTorch autograd).

    >>> import numpy as np
    >>> from sourcediff import tape
    >>> tape.grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    array([2., 4.])

The function runs natively on :class:`Tracer` values, so every Python
construct works (loops, data-dependent ``if``/``while``, recursion, closures,
containers). Each operation is looked up in the same rule table the compiler
uses (:mod:`sourcediff.rules`); user ``sourcediff.primitive`` rules are used
as given. ``grad(grad(f))`` works because the reverse sweep records itself on
the outer trace.

What the tape cannot see, and what happens instead:

* ``math.sin(x)``, ``float(x)``, ``np.asarray(x)``, ``x.item()`` and storing a
  traced value into a plain array (``out = np.zeros(3); out[0] = x``) would
  drop the gradient, so they raise :class:`TracerConversionError` (inside
  ``no_grad()`` they are allowed). Use ``np.*`` functions, ``np.stack`` of a
  list, or ``out = np.zeros_like(x)`` (which stays traced).
* ``y[idx] = v`` on a traced ``y`` is a functional update: ``y`` now stands for
  the updated array, but views taken before the assignment keep the old values.
* A NumPy function without a rule raises :class:`~sourcediff.errors.MissingRuleError`.
"""

from .api import grad, value_and_grad, vjp
from .tracer import Tracer, TracerConversionError

__all__ = ["grad", "value_and_grad", "vjp", "Tracer", "TracerConversionError"]

"""The runtime tape: reverse mode by operator overloading (like PyTorch autograd).

    >>> import numpy as np
    >>> from sourcediff import tape
    >>> tape.grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    array([2., 4.])

The function runs natively on :class:`Tracer` values, so every Python
construct works (loops, data-dependent ``if``/``while``, recursion, closures,
containers). Each operation is looked up in the same rule table the compiler
uses (:mod:`sourcediff.prims.rules`); user ``sourcediff.primitive`` rules are used
as given. ``grad(grad(f))`` works because the reverse sweep records itself on
the outer trace.

``math.sin(x)``, ``float(x)`` and ``out = np.zeros(3); out[0] = x`` cannot be
intercepted on a traced value (they convert it), so the tape runs a copy of
the function that sees ``math``, ``numpy`` and ``float`` replaced
(:mod:`sourcediff.tape.shim`; made once per ``grad`` object):

* ``math.*`` functions (also ``from math import sin``, ``import math as m``)
  record through the table's ``math`` rules; ``float(x)`` through its
  ``float`` rule, in functions that only ever *call* ``float``;
* arrays made inside the function (``np.zeros``, ``ones``, ``empty``, ``full``,
  ``*_like``, ``eye``, ``arange``, ``linspace``, ``copy``, ``array``...) are
  traced constants, so ``out[i] = x`` records and ``out.dot(x)`` works; they
  carry no gradient, so converting them (``float``, ``np.asarray``) is fine;
* ``np.array([x, y])`` / ``np.asarray`` of lists holding traced values stack
  them, and ``np.sum([x, y])`` (any NumPy function given such a list) too;
* non-differentiated array arguments (``X`` in ``grad(loss)(W, X)``) are
  passed as views whose ``X.dot(W)`` accepts a traced ``W``.

What is still refused, with :class:`TracerConversionError` and a hint
(inside ``no_grad()`` conversions are allowed):

* the above outside the copy: in helpers from *other* modules, after a
  ``import math`` inside the function body, in methods of classes, and in
  functions that assign globals (they run unchanged, so the assignment
  reaches the module); ``float`` where the code also uses the name otherwise
  (``isinstance(v, float)``, ``dtype=float``);
* storing a traced value into, or ``.dot(traced)`` of, a plain array made
  outside the function (a global, a closure variable, an array inside a
  container argument);
* ``x.__float__()``, ``plain_array += x`` (``out=`` of a ufunc).

Other semantics to know:

* ``x.item()`` (of a one-element array; ``x.item(i)`` picks element ``i``
  first) works anywhere, like ``float(x)`` in the differentiated function: the
  result is a traced Python float that keeps its gradient. ``x.tolist()``
  gives nested lists of such floats.
* ``x % y``, ``divmod``, ``np.mod``/``np.remainder``, ``math.fmod``/``np.fmod``
  record through the table's rules (d/dy is ``-floor(x / y)``, ``-trunc(x / y)``
  for ``fmod``); the jumps in ``x // y`` carry no gradient.
* Functions made by the tape can be differentiated by the tape again
  (``tape.grad(tape.grad(f))``) and by ``sourcediff.grad`` (which falls back to the
  tape for them: they have no source), not by ``sourcediff.jvp``/``hessian``
  (forward mode needs source): that is a clear error. The tape refuses
  functions made by the compiler (``tape.grad(sourcediff.grad(f))``).

* ``y[idx] = v`` on a traced ``y`` is a functional update: ``y`` now stands for
  the updated array, but views taken before the assignment keep the old values.
* Arrays made inside the function are :class:`Tracer` objects, not ndarrays:
  ``isinstance(y, np.ndarray)`` is False; methods the tape does not know are
  forwarded to the plain array (except in-place ones such as ``sort``).
* A NumPy function without a rule raises :class:`~sourcediff.errors.MissingRuleError`
  (unless all its traced arguments are constants).
"""

from .api import grad, value_and_grad, vjp
from .tracer import Tracer, TracerConversionError

__all__ = ["grad", "value_and_grad", "vjp", "Tracer", "TracerConversionError"]

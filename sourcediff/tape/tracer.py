"""The traced value: a float or ndarray that records what is done to it.

Python operators, NumPy ufuncs (``__array_ufunc__``) and NumPy functions
(``__array_function__``) on a :class:`Tracer` all go through
:func:`record.call_rule`, so user code like ``np.sum(np.sin(x) * w, axis=0)``
runs unchanged. Comparisons, ``len`` and shape queries give plain results, so
Python control flow (``if``, ``while``, ``for``) just runs.

Converting a tracer to a plain number or array (``x.__float__()``,
``x.__array__()``) would drop its gradient silently, so while recording it
raises :class:`TracerConversionError` instead; inside ``no_grad()``, and for
traced constants (arrays made inside the traced function, which carry no
gradient), it is allowed. ``x.item()`` and ``x.tolist()`` need no conversion:
they give traced Python floats (recorded like ``float(x)``). The ``math``, ``np`` and
``float`` a traced function sees are replaced (:mod:`.shim`) so that the
usual spellings (``math.sin(x)``, ``float(x)``, ``np.array([x, y])``,
``out = np.zeros(3); out[0] = x``) record instead of converting.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from ..prims import facts, registry
from ..values import markers
from ..errors import SourceDiffError
from . import record
from .graph import Box, Const, is_constant, unwrap_all


class TracerConversionError(SourceDiffError):
    """A traced value was about to become a plain float or array."""


def _conversion_error(what):
    return TracerConversionError(
        f"{what} of a traced value would drop its gradient",
        hint="the tape replaces math, np and float only in the differentiated function and "
             "the functions of its own module; elsewhere (a helper from another module, a "
             "local 'import math', an array passed in or built outside) use np.* functions "
             "(np.sin, not math.sin), plain_array @ x instead of plain_array.dot(x), "
             "np.stack([...]) instead of np.array([...]), y = np.zeros_like(x) instead of "
             "np.zeros(...) before y[i] = x; or wrap the value in stop_gradient(...) if it is "
             "meant to be a constant")


def _item(x):
    """``x.item()`` on the plain values of one trace (boxes of an outer trace record)."""
    return x.item() if isinstance(x, Box) else np.asarray(x).item()


def _binary(op):
    """``__op__`` and ``__rop__`` for a binary operator with a table rule."""
    def forward(self, other):
        return record.call_rule(op, (self, other), {})

    def reverse(self, other):
        return record.call_rule(op, (other, self), {})
    return forward, reverse


def _compare(op):
    def compare(self, other):
        return op(unwrap_all(self), unwrap_all(other))
    return compare


class Tracer(Box):
    """A value on the tape: behaves like the float or ndarray it wraps."""

    __slots__ = ()

    # --- NumPy protocols --------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return record.dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return record.call_rule(func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        # (a cast to an integer or boolean dtype, np.int64(x), is piecewise constant: its
        # derivative is zero, as in astype; a float one would drop the gradient)
        if markers.recording() and not is_constant(self) and (
                dtype is None or np.issubdtype(np.dtype(dtype), np.inexact)):
            raise _conversion_error("np.asarray / np.array, plain_array.dot(x) (write "
                                    "plain_array @ x), or storing it in a plain array")
        return np.asarray(unwrap_all(self), dtype=dtype)

    def _sd_stop_gradient(self):
        """``stop_gradient(x)``: the plain value, cut from every trace."""
        return unwrap_all(self)

    def _sd_call_primitive(self, prim, args, kwargs):
        """A ``sourcediff.primitive`` called with this tracer among its arguments."""
        return record.call_primitive(prim, args, kwargs)

    # --- arithmetic ---------------------------------------------------------------------
    __add__, __radd__ = _binary(operator.add)
    __sub__, __rsub__ = _binary(operator.sub)
    __mul__, __rmul__ = _binary(operator.mul)
    __truediv__, __rtruediv__ = _binary(operator.truediv)
    __pow__, __rpow__ = _binary(operator.pow)
    __matmul__, __rmatmul__ = _binary(operator.matmul)
    __floordiv__, __rfloordiv__ = _binary(operator.floordiv)
    __mod__, __rmod__ = _binary(operator.mod)

    def __divmod__(self, other):
        return self // other, self % other

    def __rdivmod__(self, other):
        return other // self, other % self

    def __neg__(self):
        return record.call_rule(operator.neg, (self,), {})

    def __pos__(self):
        return record.call_rule(operator.pos, (self,), {})

    def __abs__(self):
        return record.call_rule(operator.abs, (self,), {})

    # --- comparisons and conversions: plain results ---------------------------------------
    __lt__ = _compare(operator.lt)
    __le__ = _compare(operator.le)
    __gt__ = _compare(operator.gt)
    __ge__ = _compare(operator.ge)
    __eq__ = _compare(operator.eq)
    __ne__ = _compare(operator.ne)
    __hash__ = None

    def __bool__(self):
        return bool(unwrap_all(self))

    def __int__(self):
        return int(unwrap_all(self))

    def __float__(self):
        if markers.recording() and not is_constant(self):
            raise _conversion_error("float(x), math.* functions, or storing x in a plain array")
        return float(unwrap_all(self))

    def item(self, *args):
        """``x.item()``: like ``float(x)`` in a traced function, the value keeps its
        gradient (a traced Python float, recorded by the table's ``float`` rule);
        ``x.item(i)`` / ``x.item(i, j)`` pick a flat / an n-d index first."""
        if not markers.recording() or is_constant(self):
            return np.asarray(unwrap_all(self)).item(*args)
        if args:
            idx = args[0] if len(args) == 1 else tuple(args)
            picked = self[idx] if isinstance(idx, tuple) else np.reshape(self, -1)[idx]
            return picked.item()
        if self.size != 1:
            return np.asarray(unwrap_all(self)).item()       # NumPy's own ValueError
        return record.call_rule(builtins.float, (self,), {}, impl=_item)

    def tolist(self):
        """``x.tolist()``: nested lists of traced Python floats (each keeps its gradient)."""
        if not markers.recording() or is_constant(self):
            return np.asarray(unwrap_all(self)).tolist()
        if self.ndim == 0:
            return self.item()
        return [self[i].tolist() for i in range(len(self))]

    def __round__(self, ndigits=None):
        return round(unwrap_all(self), ndigits)

    # --- indexing and iteration ---------------------------------------------------------------
    def __getitem__(self, idx):
        return record.call_rule(operator.getitem, (self, unwrap_all(idx)), {})

    def __setitem__(self, idx, v):
        """``y[idx] = v``: this tracer now stands for the updated array."""
        new = record.index_update(self, unwrap_all(idx), v)
        if not isinstance(new, Tracer):        # nothing traced is left in it
            new = Tracer(new, Const(), self.level)
        self.value, self.node, self.level = new.value, new.node, new.level

    def fill(self, v):
        """``y.fill(v)``: like ``y[...] = v``."""
        self[...] = v

    def __len__(self):
        return len(unwrap_all(self))

    def __iter__(self):
        if isinstance(unwrap_all(self), tuple):  # a tuple-valued rule's output (eigh, svd...)
            return (self[i] for i in range(len(self)))
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    # --- array attributes and methods ------------------------------------------------------------
    shape = property(lambda self: np.shape(unwrap_all(self)))
    ndim = property(lambda self: np.ndim(unwrap_all(self)))
    size = property(lambda self: np.size(unwrap_all(self)))
    dtype = property(lambda self: np.result_type(unwrap_all(self)))
    T = property(lambda self: np.transpose(self))
    real = property(lambda self: np.real(self))
    imag = property(lambda self: np.imag(self))

    def reshape(self, *shape, **kwargs):
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``."""
        if len(shape) == 1:
            shape = shape[0]
        return np.reshape(self, shape, **kwargs)

    def transpose(self, *axes):
        """``x.transpose()``, ``x.transpose(1, 0)`` or ``x.transpose((1, 0))``."""
        if len(axes) == 1 and axes[0] is not None and not isinstance(axes[0], int):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def astype(self, dtype, **kwargs):
        """A cast; to a float or complex dtype it is recorded (its cotangent passes
        through; a real one of a complex value is its real part's)."""
        if not np.issubdtype(np.dtype(dtype), np.inexact):
            return unwrap_all(self).astype(dtype, **kwargs)

        def cast(a):
            return np.asarray(a).astype(dtype) if not isinstance(a, Box) else a.astype(dtype)
        return record.record(cast, registry.lookup(np.asarray), (self,), {})

    def __getattr__(self, name):
        """Array methods (``x.sum(axis=0)``, ``x.dot(w)``...) from the method table."""
        if name.startswith("__"):
            raise AttributeError(name)
        fn = registry.method_function(name)
        # no gradient to lose: a plain result (but never a method that changes the array in
        # place, declared with defchanging: a recorded operation may have saved the array)
        if fn is None and is_constant(self) and not facts.changes_object(name):
            return getattr(self.value, name)
        if fn is None:
            raise AttributeError(
                f"traced value has no attribute '{name}' (the tape knows the array methods "
                "registered with registry.defmethod; use the np.* function instead)")

        def method(*args, **kwargs):
            return fn(self, *args, **kwargs)
        return method

    # --- display -------------------------------------------------------------------------------
    def __repr__(self):
        return f"Tracer({unwrap_all(self)!r}, level={self.level})"

    def __format__(self, spec):
        return format(unwrap_all(self), spec)

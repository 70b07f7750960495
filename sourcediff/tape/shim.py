"""What a traced function sees instead of ``math``, ``numpy`` and ``float``.

Python's ``math`` functions and ``float(x)`` call ``x.__float__()``, and a plain
array stores ``out[i] = x`` by converting ``x``: none of them can be
intercepted on the tracer without dropping the gradient. So ``tape.grad(f)``
runs a *copy* of ``f`` (same code, defaults and closure) whose globals are a
live view of ``f``'s module in which

* the ``math`` module (under any name) is :data:`MATH`, whose functions record
  through the rule table when given a traced value (``math.sin`` has a rule)
  and are the real ones otherwise; ``from math import sin`` gets the same;
* the ``numpy`` module (under any name) is :data:`NP`: the array creators
  (``zeros``, ``ones``, ``empty``, ``full``, ``*_like``, ``eye``, ``identity``,
  ``arange``, ``linspace``, ``copy``, ``array``, ``asarray``...) return *traced
  constants* (so a later ``out[i] = x`` records), ``np.array([x, y])`` of traced
  values stacks them, and any other NumPy function given a list holding traced
  values (``np.sum([x, y])``) gets it as a stacked array; all else is NumPy's;
* SciPy's modules and distributions are views whose functions with a rule record
  through it (:mod:`sourcediff.tape.scipy_view`);
* ``float(x)`` -- in code that only ever *calls* ``float`` -- records through
  the table's ``float`` rule;
* the other functions of the same module that ``f`` calls are such copies too.

The view reads the module's globals at every lookup, so later changes to them
are seen. Not covered (the usual error with a hint is raised instead):
functions from other modules, a ``math``/``numpy`` imported inside the
function body, methods of classes, and functions that assign globals (those
run unchanged, so that the assignment reaches the module).
"""

from __future__ import annotations

import builtins
import dis
import functools
import math
import types

import numpy as np

from ..runtime import numeric
from . import callsites, record, scipy_view
from .graph import current_level, find_top, has_box, holds, is_box, is_constant, map_tree
from .tracer import Tracer, TracerConversionError

_DISPATCHER = type(np.sum)        # NumPy's array-function dispatcher type
_FLOAT_NAME = "__sourcediff_float__"
_LIBRARIES = frozenset({"sourcediff", "numpy", "scipy"})

# id(real function) -> (real function, replacement): ``from math import sin`` etc.
_SUBSTITUTES: dict = {}


# --- math ------------------------------------------------------------------------------------

def _math_function(fn):
    @functools.wraps(fn)
    def shim(*args, **kwargs):
        if find_top(args, kwargs) is None:
            return fn(*args, **kwargs)
        return record.call_rule(fn, args, kwargs, impl=shim)
    return shim


MATH = types.ModuleType("math", math.__doc__)
for _name, _value in vars(math).items():
    if isinstance(_value, types.BuiltinFunctionType):
        MATH.__dict__[_name] = _math_function(_value)
        _SUBSTITUTES[id(_value)] = (_value, MATH.__dict__[_name])
    elif _name not in ("__name__", "__doc__"):
        MATH.__dict__[_name] = _value
record.provide_math(MATH)


# --- float -----------------------------------------------------------------------------------

def traced_float(x=0.0):
    """``float(x)``; for a traced ``x``, recorded by the table's ``float`` rule."""
    if is_box(x) and not is_constant(x):
        return record.call_rule(builtins.float, (x,), {}, impl=traced_float)
    return builtins.float(x)


# --- numpy -----------------------------------------------------------------------------------

def _here(out):
    """``out`` as a traced constant of the running trace (if it is a float array)."""
    return record.constant(out, current_level(), Tracer)


def _stacked(obj):
    """A nested list/tuple holding traced values as one traced array (``np.stack``)."""
    if isinstance(obj, (list, tuple)) and has_box(obj):
        return np.stack([_stacked(item) for item in obj])
    return obj


def _cast(out, dtype):
    return out if dtype is None else out.astype(dtype)


def _creator(fn):
    @functools.wraps(fn)
    def create(*args, **kwargs):
        if has_box(args) or has_box(kwargs):   # np.arange(x, 5.0), np.full(3, x): its rule
            out = record.call_rule(fn, args, kwargs)
            return out if is_box(out) else _here(out)  # (np.full_like(x, 1.0): a constant)
        return _here(fn(*args, **kwargs))
    return create


def _array(obj, dtype=None, *args, copy=True, ndmin=0, **kwargs):
    if has_box(obj):
        out = record.call_rule(np.array, (obj,), {}) if is_box(obj) else _stacked(obj)
        out = _cast(out, dtype)
        while np.ndim(out) < ndmin:
            out = np.expand_dims(out, 0)
        return out
    out = np.array(obj, dtype, *args, copy=copy, ndmin=ndmin, **kwargs)
    if isinstance(obj, np.ndarray) and np.may_share_memory(out, obj):
        return out                       # copy=False/None kept the caller's memory
    return _here(out)


def _as_array(fn):
    """``np.asarray`` and friends: a traced value is returned as it is (no copy)."""
    @functools.wraps(fn)
    def asarray(a, dtype=None, *args, **kwargs):
        if is_box(a):
            same = dtype is None or np.dtype(dtype) == a.dtype
            return a if same else a.astype(dtype)
        if has_box(a):
            return _cast(_stacked(a), dtype)
        out = fn(a, dtype, *args, **kwargs)
        return _here(out) if isinstance(a, (list, tuple)) else out
    return asarray


def _conversion_failed(e):
    while e is not None:
        if isinstance(e, TracerConversionError):
            return True
        e = e.__cause__ or e.__context__
    return False


def _lists_as_arrays(fn):
    """A NumPy function that, if it failed converting a list holding traced values,
    is called again with those lists stacked into traced arrays."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (TracerConversionError, TypeError, ValueError) as e:
            lists = [a for a in (*args, *kwargs.values())
                     if isinstance(a, (list, tuple)) and has_box(a)]
            if not (lists and _conversion_failed(e)):
                raise
        return fn(*[_stacked(a) for a in args], **{k: _stacked(v) for k, v in kwargs.items()})
    return call


def _numpy_attribute(name):
    """``NP.name`` for anything not set explicitly: NumPy's, functions wrapped once."""
    value = getattr(np, name)
    if type(value) in (types.FunctionType, _DISPATCHER):
        value = _lists_as_arrays(value)
    NP.__dict__[name] = value
    return value


class _Concatenator:
    """``np.r_`` / ``np.c_``: of traced values (no slices or strings), through the rules of
    ``numeric.r_concat`` / ``c_concat``, as the compiler writes them; else NumPy's."""

    def __init__(self, real, helper):
        self.real, self.helper = real, helper

    def __getitem__(self, key):
        parts = key if isinstance(key, tuple) else (key,)
        if has_box(parts) and not any(isinstance(p, (slice, str)) for p in parts):
            return record.call_rule(self.helper, (list(parts),), {})
        return self.real[key]

    def __getattr__(self, name):
        return getattr(self.real, name)


def _einsum(*args, **kwargs):
    """``np.einsum`` in its sublist form too: as the subscripts string, so the traced
    operands reach einsum's rule."""
    if args and not isinstance(args[0], str):
        pairs = len(args) // 2
        out = args[-1] if len(args) % 2 else None
        spec = numeric.einsum_subscripts(*[args[2 * i + 1] for i in range(pairs)], out)
        args = (spec, *[args[2 * i] for i in range(pairs)])
    return _lists_as_arrays(np.einsum)(*args, **kwargs)


NP = types.ModuleType("numpy", np.__doc__)
NP.__dict__["__getattr__"] = _numpy_attribute
for _fn in (np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like, np.eye,
            np.identity, np.arange, np.linspace, np.copy, np.full, np.full_like):
    NP.__dict__[_fn.__name__] = _creator(_fn)
NP.__dict__.update(array=functools.wraps(np.array)(_array),
                   einsum=functools.wraps(np.einsum)(_einsum),
                   r_=_Concatenator(np.r_, numeric.r_concat),
                   c_=_Concatenator(np.c_, numeric.c_concat))
for _fn in (np.asarray, np.asanyarray, np.ascontiguousarray, np.asfortranarray):
    NP.__dict__[_fn.__name__] = _as_array(_fn)
for _name in list(NP.__dict__):
    _real = getattr(np, _name, None)
    if callable(_real) and not isinstance(_real, type):
        _SUBSTITUTES[id(_real)] = (_real, NP.__dict__[_name])


# --- the function copy and its globals ---------------------------------------------------------

def traceable(f):
    """``f``, or a copy of it that sees :data:`MATH`, :data:`NP` and :func:`traced_float`.

    Bound methods and ``functools.partial`` objects are handled through the
    function they wrap; anything else that is not a plain Python function, and
    functions of ``sourcediff``/NumPy/SciPy themselves, are returned unchanged.
    """
    view = scipy_view.replacement(f)      # a SciPy function with a rule records through it
    if view is not f:
        return view
    if isinstance(f, types.MethodType):
        inner = traceable(f.__func__)
        return f if inner is f.__func__ else types.MethodType(inner, f.__self__)
    if isinstance(f, functools.partial):
        inner = traceable(f.func)
        return f if inner is f.func else functools.partial(inner, *f.args, **f.keywords)
    if type(f) is not types.FunctionType:
        return f
    module = f.__globals__
    name = module.get("__name__")
    if isinstance(name, str) and name.split(".")[0] in _LIBRARIES:
        return f
    return _Globals(module).copy_function(f)


class _Globals(dict):
    """A live view of a module's globals with ``math``/``numpy``/``float`` replaced.

    Only ``__builtins__`` and ``__name__`` (and whatever ``exec`` in the function
    writes) are stored in the dict itself; every other lookup reads the module.
    """

    __slots__ = ("_module", "_seen")

    def __init__(self, module):
        super().__init__()
        dict.__setitem__(self, "__builtins__", module.get("__builtins__", builtins))
        if "__name__" in module:
            dict.__setitem__(self, "__name__", module["__name__"])
        self._module = module
        self._seen = {}            # name -> (module's value, what the copy sees)

    def __getitem__(self, name):
        try:
            return dict.__getitem__(self, name)
        except KeyError:
            pass
        if name == _FLOAT_NAME:
            return self._module.get("float", traced_float)
        value = self._module[name]           # a KeyError falls through to the builtins
        seen = self._seen.get(name)
        if seen is not None and seen[0] is value:
            return seen[1]
        new = self._replacement(value)
        self._seen[name] = (value, new)
        return new

    def untraced(self, fn):
        """``fn``, a function made while traced code ran (a lambda it passes to ``grad``),
        as it is without the tracer: its module's own globals, its code before
        :func:`_with_traced_float`. The compiler reads that one (what it compiles then
        records when called with traced values)."""
        glob = self._module
        if isinstance(glob, _Globals):
            return glob.untraced(fn)
        new = types.FunctionType(_UNTRACED_CODE.get(fn.__code__, fn.__code__), glob,
                                 fn.__name__, fn.__defaults__, fn.__closure__)
        new.__kwdefaults__ = fn.__kwdefaults__
        new.__qualname__ = fn.__qualname__
        new.__dict__.update(fn.__dict__)
        return new

    def _replacement(self, value):
        if value is math:
            return MATH
        if value is np:
            return NP
        sub = _SUBSTITUTES.get(id(value))
        if sub is not None and sub[0] is value:
            return sub[1]
        kind = type(value)
        if kind is types.FunctionType and value.__globals__ is self._module:
            return self.copy_function(value)
        if kind in (types.FunctionType, _DISPATCHER) and str(
                getattr(value, "__module__", "")).startswith("numpy"):
            name = getattr(value, "__name__", "")
            if getattr(np, name, None) is value:
                return getattr(NP, name)
        return scipy_view.replacement(value)

    def copy_function(self, fn):
        if _writes_globals(fn.__code__):
            return fn
        new = types.FunctionType(_with_traced_float(fn.__code__), self, fn.__name__,
                                 fn.__defaults__, fn.__closure__)
        new.__kwdefaults__ = fn.__kwdefaults__
        new.__qualname__ = fn.__qualname__
        new.__doc__ = fn.__doc__
        new.__annotations__ = fn.__annotations__
        new.__dict__.update(fn.__dict__)
        return new


def _nested_codes(code):
    return [c for c in code.co_consts if isinstance(c, types.CodeType)]


@functools.lru_cache(maxsize=4096)
def _writes_globals(code):
    """Whether ``code`` (or a function or comprehension inside it) assigns a global."""
    if any(ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL") for ins in dis.get_instructions(code)):
        return True
    return any(_writes_globals(c) for c in _nested_codes(code))


@functools.lru_cache(maxsize=4096)
def _with_traced_float(code):
    """``code`` with ``float`` renamed to :data:`_FLOAT_NAME` where it is only ever called.

    A name is shared by all instructions that use it, so the rename is safe
    only if every one is a global load for a call (``isinstance(v, float)``,
    ``dtype=float`` or ``x.float`` keep the real name).
    """
    consts = tuple(_with_traced_float(c) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    names = code.co_names
    if "float" in names and callsites.only_called(code, "float"):
        names = tuple(_FLOAT_NAME if n == "float" else n for n in names)
    if names == code.co_names and all(a is b for a, b in zip(consts, code.co_consts)):
        return code
    new = code.replace(co_consts=consts, co_names=names)
    _UNTRACED_CODE[new] = code
    return new


_UNTRACED_CODE = {}  # code made by _with_traced_float -> its original (see _Globals.untraced)


# --- plain array arguments ---------------------------------------------------------------------

class DataArray(np.ndarray):
    """A view of a plain array argument that is not differentiated (``X`` in
    ``grad(loss)(W, X)``), whose ``.dot`` accepts traced values: a plain
    ``ndarray.dot`` converts its argument and cannot be intercepted. It shares
    memory with the argument; results of NumPy functions and arithmetic on it
    are plain ndarrays (views of it, like ``X.T`` or ``X[0]``, stay data views).
    """

    def __array_function__(self, func, types, args, kwargs):
        return func(*plain(args), **plain(kwargs))

    def dot(self, b, out=None):
        if out is None and has_box(b):
            return np.dot(self.view(np.ndarray), b)
        return np.ndarray.dot(self.view(np.ndarray), b, out)

    def __array_wrap__(self, arr, context=None, return_scalar=False):
        arr = arr.view(np.ndarray)
        return arr[()] if return_scalar else arr


def data_view(value):
    """``value`` as a :class:`DataArray` if it is a plain ndarray, else unchanged."""
    return value.view(DataArray) if type(value) is np.ndarray else value


def plain(value):
    """``value`` (or the leaves of a container) with :class:`DataArray` views undone."""
    if isinstance(value, DataArray):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple, dict)) and holds(value, DataArray):
        return map_tree(plain, value)
    return value

"""The types of the values of scalar code, without :mod:`pyfloats`' conversions.

A value is a Python float, int or bool, a NumPy ``float64`` or ``np.bool_`` scalar, one
of a float and a float64 (a name assigned both), or unknown (None). As
:mod:`sourcediff.opt.inplace` infers kinds, a name's type is the join over all its
assignments, so it holds wherever the name is read.
"""

from __future__ import annotations

import builtins
import functools
import itertools
import warnings

import gast
import numpy as np

from ..front.resolve import MISSING, static_value
from ..ir import nodes as N
from ..runtime import HELPERS

PYF, PYI, PYB = "float", "int", "bool"        # Python's
F64, NPB = "float64", "np.bool_"             # NumPy's scalars
FLT = "float or float64"                      # one of the two (a name assigned both)
UNSET = "unset"                               # not assigned yet (the first pass of a loop)
RANGE = "range"                               # a range of ints (or reversed)
REAL = frozenset({PYF, PYI, PYB, F64, FLT})   # operands whose arithmetic is exact either way
_FLOATS = frozenset({PYF, F64, FLT})

ARITH = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.FloorDiv, gast.Mod, gast.Pow)
RAISING = (gast.Div, gast.FloorDiv, gast.Mod, gast.Pow)  # (Python raises, NumPy gives inf)
COMPARE = (gast.Eq, gast.NotEq, gast.Lt, gast.LtE, gast.Gt, gast.GtE)
_PURE_BUILTINS = (float, int, abs, min, max, range, reversed)
_SAMPLES = {PYF: (0.5,), PYI: (2,), PYB: (True,), F64: (np.float64(0.5),),
            FLT: (0.5, np.float64(0.5))}
_TYPES = {float: PYF, int: PYI, bool: PYB, np.float64: F64, np.bool_: NPB}


def join(a, b):
    """The type of a name assigned ``a`` in one place and ``b`` in another."""
    if a == UNSET or a == b:
        return b
    if b == UNSET:
        return a
    return FLT if a in _FLOATS and b in _FLOATS else None


class Types:
    """Each name's type (``env``) and each expression's (:meth:`type_of`)."""

    def __init__(self, ns, params, kinds, local):
        self.ns = ns
        self.local = local  # the names the function assigns
        self.env = dict(zip(params, kinds))  # name -> its type without conversions
        self.items = {}     # a stack's name -> the type of what is pushed to it

    # --- the function a call calls ---------------------------------------------------
    def callee(self, func):
        if isinstance(func, gast.Name) and func.id not in self.local \
                and func.id not in self.ns and hasattr(builtins, func.id):
            return getattr(builtins, func.id)
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                and func.value.id in self.local:
            return MISSING  # (a method of a local value: a stack's push and pop aside)
        return static_value(func, self.ns)

    # --- types without the conversions --------------------------------------------------
    def type_of(self, e):
        if isinstance(e, gast.Constant):
            return _TYPES.get(type(e.value))
        if isinstance(e, gast.Name):
            if e.id in self.env:
                return self.env[e.id]
            return UNSET if e.id in self.local else None
        if isinstance(e, gast.BinOp):
            return self.binop_type(e)
        if isinstance(e, gast.UnaryOp):
            t = self.type_of(e.operand)
            if isinstance(e.op, gast.Not):
                return PYB if t != UNSET else UNSET
            return t if t in (UNSET, PYF, PYI, F64, FLT) else None  # (-True is an int)
        if isinstance(e, gast.Compare):
            ts = [self.type_of(x) for x in [e.left, *e.comparators]]
            if UNSET in ts:
                return UNSET
            if not all(isinstance(op, COMPARE) for op in e.ops) or not REAL.issuperset(ts):
                return None
            return NPB if F64 in ts else None if FLT in ts else PYB
        if isinstance(e, gast.IfExp):
            return join(self.type_of(e.body), self.type_of(e.orelse))
        if isinstance(e, gast.Call):
            return self.call_type(e)
        return None

    def binop_type(self, e):
        a, b = self.type_of(e.left), self.type_of(e.right)
        if UNSET in (a, b):
            return UNSET
        if not isinstance(e.op, ARITH) or a not in REAL or b not in REAL:
            return None
        if F64 in (a, b):
            return F64  # (NumPy's power is never complex)
        if isinstance(e.op, gast.Pow) and not never_complex(e):
            return None  # a Python power may be complex
        if FLT in (a, b):
            return FLT
        if PYF in (a, b) or isinstance(e.op, gast.Div):
            return PYF
        return None if isinstance(e.op, gast.Pow) else PYI  # (2 ** -1 is a float)

    def call_type(self, e):
        if e.keywords or any(isinstance(a, gast.Starred) for a in e.args):
            return None
        fn = self.callee(e.func)
        if fn is MISSING:
            if N.is_pop(e) and e.func.value.id in self.items:
                return self.items[e.func.value.id]
            return None
        ts = [self.type_of(a) for a in e.args]
        if UNSET in ts:
            return UNSET
        if fn is range:
            return RANGE if all(t in (PYI, PYB) for t in ts) else None
        if fn is reversed:
            return RANGE if ts == [RANGE] else None
        if fn is float or fn is int:  # (whatever the argument: a Python float, an int)
            return (PYF if fn is float else PYI) if len(ts) == 1 else None
        if fn is abs:
            return ts[0] if len(ts) == 1 and ts[0] in (PYF, PYI, F64, FLT) else None
        if fn in (min, max):
            return functools.reduce(join, ts) if len(ts) > 1 and REAL.issuperset(ts) \
                else None
        if fn is np.float64:
            return F64 if len(ts) == 1 and ts[0] in REAL else None
        if scalar_function(fn) and ts and REAL.issuperset(ts):
            return _result_type(fn, tuple(ts))
        return None

    # --- which conversions reach which values -------------------------------------------

def never_complex(e):
    """``a ** b`` that Python never makes complex: ``b`` an integer constant, or ``a`` a
    constant that is not negative."""
    b, a = _constant(e.right), _constant(e.left)
    return (isinstance(b, (int, float)) and float(b).is_integer()
            or isinstance(a, (int, float)) and a >= 0)


def _constant(e):
    if isinstance(e, gast.Constant) and type(e.value) in (int, float):
        return e.value
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):
        v = _constant(e.operand)
        return None if v is None else -v
    return None


def pure(fn):
    """Does a call of ``fn`` only compute (so the code can run again)?"""
    if fn in _PURE_BUILTINS or fn in _PURE_NUMPY or scalar_function(fn):
        return True
    name = getattr(fn, "__name__", None)
    return name in _PURE_HELPERS and HELPERS.get(name) is fn


_PURE_NUMPY = (np.float64, np.where, np.real, np.imag, np.clip)
_PURE_HELPERS = {"unbroadcast", "unreduce", "real_cot", "real_if", "xlogy"}


def scalar_function(fn):
    """An elementwise NumPy ufunc with one output, or a function of :mod:`math`."""
    if isinstance(fn, np.ufunc):
        return fn.signature is None and fn.nout == 1
    return getattr(fn, "__module__", None) == "math" and callable(fn)


@functools.lru_cache(maxsize=1024)
def _result_type(fn, types):
    """The type ``fn`` returns for arguments of ``types`` (tried on samples: a ufunc's
    output type depends on its inputs' types only), None if not one known type."""
    out = UNSET
    for args in itertools.product(*[_SAMPLES[t] for t in types]):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value = fn(*args)
        except Exception:  # noqa: BLE001 -- unknown is always safe
            return None
        out = join(out, _TYPES.get(type(value)))
    return None if out in (UNSET, FLT) else out



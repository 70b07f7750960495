"""Facts: what the passes may assume about a call, besides its derivative.

A primitive is declared once, with all its facts: the keywords of ``defrule`` and
``defnondiff`` (:mod:`sourcediff.prims.registry`), or ``deffacts`` for a function without a rule
and for a family (the float ufuncs); the runtime helpers generated code calls by name are
declared with ``defhelper``. A pass, or the runtime tape, asks :func:`of` (a function),
:func:`of_helper` (a helper's name), :func:`named` (a call read by its name only) or
:func:`changes_object` (a method); none keeps its own list (tests/test_rule_table.py).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, fields, replace

from .. import runtime

_KEEPALIVE: list = []       # keep keyed objects alive so ids stay unique


def key(fn):
    """A function's key; a bound method's (``scipy.stats.norm.pdf``, a new object at each
    attribute read) is its object's and function's."""
    if isinstance(fn, types.MethodType):
        return (id(fn.__self__), id(fn.__func__))
    return id(fn)


def same(a, b):
    return a is b or (isinstance(a, types.MethodType) and a == b)


@dataclass(frozen=True)
class Facts:
    """What a call of one function or runtime helper does, besides its derivative."""

    shaped: bool = False      # its output's shape follows from its inputs' shapes (never data)
    shape_like: int | None = None  # (a helper) its output has the shape of this argument
    same_kind: bool = False   # its output has the dtype kind of its first argument
    float_ufunc: bool = False  # a unary ufunc: float64 in, a new float64 out (it takes out=)
    fresh: bool = False       # it returns a new array, sharing no data with its arguments
    view: bool = False        # it may return a view of its first argument (shared data)
    writes: bool = False      # it changes an argument in place (np.copyto)
    pure: bool | None = None  # True: it only computes its result; False: it has effects
    expensive: bool = False   # worth saving rather than computing again (remat)
    boolean: bool = False     # its output is boolean (a comparison, a mask)
    like: bool = False        # a new array like its first argument (np.zeros_like): the tape
    #                           keeps it traced, as a constant, so y[i] = v records into it
    shape_arg: bool = False   # its first argument is its output's shape (np.zeros(shape))
    reduce_as: object = None  # (a ufunc) the function its .reduce is (np.add.reduce: np.sum)
    common_kind: int | None = None  # its output's dtype kind is that of its arguments from
    #                           this one on, joined (np.dot: 0; np.einsum's operands: 1)
    shape_rule: object = None  # its output's shape from its arguments' shapes (or
    #                           NotImplemented: evaluated on zeros), without computing it
    tape: str | None = None   # (a helper) how the tape runs it in generated code: "as written"
    #                           (it only moves Python containers) or "refused" (forward-mode
    #                           and run-once plumbing)


NO_FACTS = Facts()


# shape rules (Facts.shape_rule) that several declarations share
def same_shape(a):
    """The output has the shape of the (one) argument: np.linalg.inv, cholesky."""
    return a


def one_per_matrix(a):
    """One number per matrix of a stack: np.linalg.det."""
    return a[:-2]
FACT_NAMES = tuple(f.name for f in fields(Facts))
_FACTS: dict = {}          # key(function) -> (function, Facts)
_HELPER_FACTS: dict = {}   # helper name in generated code -> Facts
_NAMED: dict = {}          # fact -> short names of the functions and helpers that have it
_CHANGING_METHODS: set = set()  # method names that change their object (x.sort(), lst.append)


def _note_names(name, facts):
    if name is None:
        return
    for fact in FACT_NAMES:
        if getattr(facts, fact) is not False and getattr(facts, fact) is not None:
            _NAMED.setdefault(fact, set()).add(name)


def deffacts(*fns, **facts):
    """Declare facts of functions (added to what their declaration says)."""
    for fn in fns:
        old = _FACTS.get(key(fn))
        new = replace(old[1] if old is not None and same(old[0], fn) else NO_FACTS, **facts)
        _FACTS[key(fn)] = (fn, new)
        _KEEPALIVE.append(fn)
        _note_names(getattr(fn, "__name__", None), new)


def defhelper(*names, **facts):
    """Declare facts of runtime helpers, by the name generated code calls them with."""
    for name in names:
        _HELPER_FACTS[name] = replace(_HELPER_FACTS.get(name, NO_FACTS), **facts)
        _note_names(name, _HELPER_FACTS[name])


def defchanging(*methods):
    """Methods that change their object in place (``x.sort()``, ``lst.append(v)``)."""
    _CHANGING_METHODS.update(methods)


def of(fn):
    """The :class:`Facts` of a function (a runtime helper's by its name)."""
    hit = _FACTS.get(key(fn))
    if hit is not None and same(hit[0], fn):
        return hit[1]
    name = getattr(fn, "__name__", None)
    if name in _HELPER_FACTS and runtime.HELPERS.get(name) is fn:
        return _HELPER_FACTS[name]
    return NO_FACTS


def of_helper(name):
    """The :class:`Facts` of the runtime helper generated code calls as ``name`` (declared
    by its name, or with its rule)."""
    if name in _HELPER_FACTS:
        return _HELPER_FACTS[name]
    fn = runtime.HELPERS.get(name)
    return NO_FACTS if fn is None else of(fn)


def named(name, fact):
    """Whether a function or helper called ``name`` (``np.linalg.solve``: ``solve``) is
    declared with ``fact``: for a pass that reads a call by its name only."""
    return name in _NAMED.get(fact, ())


def changes_object(method):
    """Whether ``x.method(...)`` may change ``x`` in place."""
    return method in _CHANGING_METHODS

"""Arguments: which ones ``wrt`` selects, and nested containers (pytrees).

Shared by the compiler and the tape so both read ``wrt`` and shape their
gradients the same way.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import duck
from .duck import is_duck
from .._typing import T
from ..errors import ArgumentError


def resolve_wrt(fn, wrt, nargs=None, names_ok=False):
    """``wrt`` (index, name, or tuple of them) -> (tuple of indices, single?).

    An index counts the call's positional arguments (those landing in ``*args`` too,
    when ``nargs`` is not known). With ``names_ok``, a name of a parameter that takes
    no position (``*args``, keyword-only, ``**kwargs``) stays a name in the result:
    its gradient keeps the parameter's structure (see :mod:`signature`)."""
    single = not isinstance(wrt, (tuple, list))
    items = (wrt,) if single else tuple(wrt)
    if not items:
        raise ArgumentError("wrt=() selects no argument", **_where(fn),
                            hint="name at least one argument: wrt=0, wrt='x' or wrt=(0, 1)")
    variadic = False
    others = []  # parameters that take no position
    try:
        all_params = list(inspect.signature(fn).parameters.values())
        params = [p for p in all_params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = [p.name for p in params]
        variadic = any(p.kind == p.VAR_POSITIONAL for p in all_params)
        others = [p.name for p in all_params if p not in params]
    except (TypeError, ValueError):
        names = None
    count = len(names) if names is not None and not variadic else nargs
    out = []
    for w in items:
        if isinstance(w, bool) or not isinstance(w, (int, str, np.integer)):
            raise ArgumentError(f"wrt must be an argument index or name, not {w!r}",
                                **_where(fn), hint="pass an int index, a parameter name, or a "
                                "tuple of them, e.g. wrt=(0, 'b')")
        if isinstance(w, str):
            if names_ok and w in others:
                out.append(w)
                continue
            if names is None or w not in names:
                allowed = (names or []) + (others if names_ok else [])
                raise ArgumentError(
                    f"wrt={w!r} names no argument of '{_name(fn)}'"
                    + (" that can be selected here" if w in others else ""),
                    **_where(fn),
                    hint=f"its arguments are {', '.join(allowed)}" if w not in others else
                    "the compiled grad / value_and_grad take *args, keyword-only and "
                    "**kwargs parameters by name; here select arguments by position")
            out.append(names.index(w))
        else:
            i = int(w)
            if count is not None and not -count <= i < count:
                raise ArgumentError(
                    f"wrt={i} is out of range: '{_name(fn)}' takes {count} argument(s)",
                    **_where(fn), hint=f"use an index from 0 to {count - 1}, or a name")
            if i < 0 and count is not None:
                i += count
            out.append(i)
    if len(set(out)) != len(out):
        raise ArgumentError(f"wrt={wrt!r} names an argument twice", **_where(fn),
                            hint="list each argument once")
    return tuple(out), single


def _where(fn):
    """The function's name and definition site, for error messages."""
    code = getattr(fn, "__code__", None)
    return {"function": _name(fn),
            "filename": getattr(code, "co_filename", None),
            "lineno": getattr(code, "co_firstlineno", None)}


def _name(fn):
    return getattr(fn, "__name__", repr(fn))


def check_differentiable(fn, value, index, path="", fixed="leave this argument out of wrt"):
    """A ``wrt`` argument must hold floats or complex numbers: ints and objects are errors
    (``fixed``: how to hold the argument fixed instead, for the hint)."""
    for sub_path, leaf in leaves(value, path):
        if isinstance(leaf, (bool, np.bool_)) or isinstance(leaf, (int, np.integer)):
            kind = "an int"
        elif leaf is None or isinstance(leaf, str):
            kind = "None" if leaf is None else "a string"
        elif isinstance(leaf, (float, np.floating, complex, np.complexfloating)):
            continue
        elif isinstance(leaf, np.ndarray):
            if np.issubdtype(leaf.dtype, np.inexact):
                continue
            kind = f"an array of dtype {leaf.dtype}"
        elif is_duck(leaf):  # a Dask array...: its dtype is known without computing it
            if leaf.dtype.kind in "fc":
                continue
            kind = f"a {duck.name(leaf)} of dtype {leaf.dtype}"
        else:
            kind = f"a {type(leaf).__name__}"
        where = f"argument {index}{sub_path}"
        hint = f"pass floats (e.g. 2.0 or x.astype(float)), or {fixed}"
        if kind in ("None", "a string"):
            hint = f"{fixed}: it holds no number to differentiate"
        elif kind == f"a {type(leaf).__name__}":
            hint += ("; a class holding arrays can be a dataclass or a NamedTuple, or be "
                     "registered with sourcediff.register_container")
        if not sub_path and _param_name(fn, index) == "self":
            after = _param_name(fn, index + 1)
            hint = (f"argument {index} is `self`, the object the method belongs to: "
                    f"differentiate with respect to the next argument, wrt={index + 1}"
                    + (f" (or by name, wrt={after!r})" if after else ""))
        raise ArgumentError(f"cannot differentiate with respect to {where}: it is {kind}",
                            **_where(fn), hint=hint)


def _param_name(fn, index):
    code = getattr(fn, "__code__", None)
    names = code.co_varnames[:code.co_argcount] if code is not None else ()
    return names[index] if 0 <= index < len(names) else None


def leaves(value, path=""):
    """(path, leaf) pairs of a nested dict/list/tuple/container kind, in a fixed order."""
    if isinstance(value, dict):
        for k in value:
            yield from leaves(value[k], f"{path}[{k!r}]")
        return
    kind = kind_of(value)
    if kind is not None:
        for name, v in zip(kind.names(value), kind.flatten(value)):
            yield from leaves(v, f"{path}.{name}" if isinstance(name, str) else f"{path}[{name}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def flatten(value):
    """Leaves of a nested container, and a function putting new leaves back."""
    flat = [leaf for _, leaf in leaves(value)]

    def rebuild(new_leaves):
        it = iter(new_leaves)

        def build(v):
            if isinstance(v, dict):
                return {k: build(x) for k, x in v.items()}
            kind = kind_of(v)
            if kind is not None:
                return kind.unflatten(v, [build(x) for x in kind.flatten(v)])
            if isinstance(v, (list, tuple)):
                return type(v)(build(x) for x in v)
            return next(it)
        return build(value)
    return flat, rebuild


def cotangent_leaves(out, ct, function=None, path=""):
    """The leaves of ``ct``, a cotangent for the output ``out``: one per leaf of ``out``,
    None under a None (no cotangent there). A tuple and a list stand for each other, and
    a container kind's cotangent may be the list of its children's. Raises
    :class:`ArgumentError` (for ``function``, a name) naming the first place where the
    two differ."""
    if ct is None:
        return [None for _ in leaves(out)]
    parts = _parts(out)
    if parts is None:
        if _parts(ct) is not None:
            raise ArgumentError(f"the cotangent{path} is a {type(ct).__name__} but the "
                                f"output{path} is {_what(out)}", function=function)
        want, got = np.shape(out), np.shape(ct)
        if want != got:
            raise ArgumentError(f"the cotangent{path} has shape {got} but the output{path} "
                                f"has shape {want}", function=function,
                                hint="pass a cotangent shaped exactly like the output, "
                                     "e.g. np.ones_like(out); None for no cotangent")
        return [ct]
    given = _parts(ct)
    if isinstance(out, dict):
        same = isinstance(ct, dict) and set(ct) == set(out)
        given = [(k, ct[k]) for k in out] if same else None
    elif given is not None and [k for k, _ in given] != [k for k, _ in parts]:
        same_length = isinstance(ct, (list, tuple)) and len(ct) == len(parts)
        given = list(zip([k for k, _ in parts], ct)) if same_length else None
    if given is None:
        raise ArgumentError(
            f"the cotangent{path} is {_what(ct)} but the output{path} is {_what(out)}",
            function=function, hint="pass a cotangent with the output's structure (None for a part that "
                 "gets no cotangent)")
    found = []
    for (key, part), (_, c) in zip(parts, given):
        found += cotangent_leaves(part, c, function, f"{path}[{key!r}]")
    return found


def _parts(value):
    """(key, child) pairs of a container, in a fixed order; None for a leaf."""
    if isinstance(value, dict):
        return list(value.items())
    kind = kind_of(value)
    if kind is not None:
        return list(zip(kind.names(value), kind.flatten(value)))
    if isinstance(value, (list, tuple)):
        return list(enumerate(value))
    return None


def _what(value):
    """A short description of a value's structure, for error messages."""
    if isinstance(value, dict):
        return f"a dict with keys {list(value)}"
    if isinstance(value, (list, tuple)) or kind_of(value) is not None:
        return f"a {type(value).__name__} of {len(_parts(value))} part(s)"
    return f"an array of shape {np.shape(value)}"


# --- container kinds ------------------------------------------------------------------
# Besides dict, list and tuple, a value may be a *container kind*: a dataclass instance,
# a NamedTuple (both recognised by themselves) or a type given to register_container. A
# gradient with respect to one has the same type, with each child's gradient in its place.
# Inside generated code its cotangent is the list of its children's (None for zero), as
# for a tuple; runtime.like gives it its type at the end.

class Kind:
    """How to see into one container type: its children, and a new one from children."""

    __slots__ = ("cls", "flatten", "unflatten", "fields")

    def __init__(self, cls, flatten, unflatten, fields=None):
        self.cls, self.flatten, self.unflatten, self.fields = cls, flatten, unflatten, fields

    def names(self, x):
        """The children's names for paths in messages: fields, else positions."""
        return self.fields if self.fields is not None else range(len(self.flatten(x)))

    def index(self, name):
        """The position of the child read as attribute ``name`` (None: not a child)."""
        fields = self.fields or ()
        return fields.index(name) if name in fields else None


_KINDS = {}   # type -> Kind (registered, or recognised the first time it is seen)
_PLAIN = frozenset({float, int, bool, complex, str, type(None), np.ndarray, np.float64,
                    list, tuple, dict})


def register_container(cls: type[T], flatten: Callable[[T], Sequence[Any]],
                       unflatten: Callable[[T, Sequence[Any]], T],
                       fields: Iterable[str] | None = None) -> None:
    """Let ``grad``, ``jvp`` and the tape see into values of a container class.

    Besides floats, arrays, dicts, lists and tuples, an argument may be a
    container of them: dataclasses and NamedTuples are recognised by
    themselves; other classes are registered here (as ``jax.tree_util``'s
    ``register_pytree_node``). A gradient with respect to a container is a
    container of the same class, each child's gradient in its place.

    Parameters
    ----------
    cls : type
        The class.
    flatten : callable
        ``flatten(x)`` gives ``x``'s children: a sequence of floats, arrays or
        containers.
    unflatten : callable
        ``unflatten(x, children)`` makes a new ``cls`` like ``x`` holding
        ``children``.
    fields : sequence of str, optional
        The attribute names the children are read as (``x.w``), in
        ``flatten``'s order, so that compiled code reading ``x.w`` knows which
        child it reads.

    Raises
    ------
    ArgumentError
        ``cls`` is not a class, or ``flatten``/``unflatten`` are not callable.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import grad, register_container
    >>> class Linear:
    ...     def __init__(self, w, b):
    ...         self.w, self.b = w, b
    >>> register_container(Linear, lambda p: (p.w, p.b),
    ...                    lambda p, children: Linear(*children), fields=("w", "b"))
    >>> def loss(p, x):
    ...     return np.sum((x * p.w + p.b) ** 2)
    >>> g = grad(loss)(Linear(np.array([1.0, 2.0]), 0.5), np.array([1.0, 1.0]))
    >>> type(g).__name__, g.w, g.b
    ('Linear', array([3., 5.]), 8.0)
    """
    if not isinstance(cls, type):
        raise ArgumentError(f"register_container needs a class, not {cls!r}",
                            hint="pass the class itself, e.g. register_container(Params, ...)")
    if not callable(flatten) or not callable(unflatten):
        raise ArgumentError(f"register_container({cls.__name__}, ...) needs two functions",
                            hint="flatten(x) -> children and unflatten(x, children) -> new x")
    _KINDS[cls] = Kind(cls, flatten, unflatten, None if fields is None else tuple(fields))


def kind_of(x):
    """The :class:`Kind` of ``x`` if it is a container kind, else None."""
    t = type(x)
    if t in _PLAIN:
        return None
    kind = _KINDS.get(t)
    if kind is None and t not in _KINDS:
        kind = _KINDS[t] = _recognise(t)
    return kind


def _recognise(t):
    """The Kind of a NamedTuple or dataclass type (None for any other type)."""
    if issubclass(t, tuple) and isinstance(getattr(t, "_fields", None), tuple) \
            and hasattr(t, "_make"):
        return Kind(t, tuple, lambda x, children: type(x)._make(children), t._fields)
    if dataclasses.is_dataclass(t):
        names = tuple(f.name for f in dataclasses.fields(t))
        return Kind(t, lambda x: [getattr(x, n) for n in names], _new_dataclass, names)
    return None


def _new_dataclass(x, children):
    """A new instance of ``x``'s dataclass with these field values. Like Equinox, it
    sets the fields without running ``__init__`` or ``__post_init__`` (a gradient need
    not pass the checks a parameter does), frozen or not."""
    out = object.__new__(type(x))
    for f, v in zip(dataclasses.fields(x), children):
        object.__setattr__(out, f.name, v)
    return out


def structure_mismatch(p, t):
    """How ``t`` (a tangent) differs from ``p`` in container structure or leaf shapes, ""
    where it does not; None where ``p`` is no container (its shape is the caller's to check)."""
    if not isinstance(p, (dict, list, tuple)) and kind_of(p) is None:
        return None
    if type(t) is not type(p):
        return f"the primal is a {type(p).__name__}, the tangent a {type(t).__name__}"
    ps, ts = list(leaves(p)), list(leaves(t))
    if [path for path, _ in ps] != [path for path, _ in ts]:
        return f"the primal has parts {[k for k, _ in ps]}, the tangent {[k for k, _ in ts]}"
    for (path, a), (_, b) in zip(ps, ts):
        if np.shape(a) != np.shape(b):
            return f"{path} has shape {np.shape(a)}, its tangent {np.shape(b)}"
    return ""


def children(x):
    """The children of a container kind ``x`` as a list."""
    kind = kind_of(x)
    return list(kind.flatten(x))

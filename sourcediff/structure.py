"""Arguments: which ones ``wrt`` selects, and nested containers (pytrees).

Shared by the compiler and the tape so both read ``wrt`` and shape their
gradients the same way.
"""

from __future__ import annotations

import inspect

import numpy as np

from .errors import ArgumentError


def resolve_wrt(fn, wrt, nargs=None):
    """``wrt`` (index, name, or tuple of them) -> (tuple of indices, single?)."""
    single = not isinstance(wrt, (tuple, list))
    items = (wrt,) if single else tuple(wrt)
    if not items:
        raise ArgumentError("wrt=() selects no argument", **_where(fn),
                            hint="name at least one argument: wrt=0, wrt='x' or wrt=(0, 1)")
    variadic = False
    try:
        all_params = list(inspect.signature(fn).parameters.values())
        params = [p for p in all_params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = [p.name for p in params]
        variadic = any(p.kind == p.VAR_POSITIONAL for p in all_params)
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
            if names is None or w not in names:
                raise ArgumentError(
                    f"wrt={w!r} names no argument of '{_name(fn)}'",
                    **_where(fn),
                    hint=f"its arguments are {', '.join(names or [])}")
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


def check_differentiable(fn, value, index, path=""):
    """A ``wrt`` argument must hold floats: ints, complex and objects are errors."""
    for sub_path, leaf in leaves(value, path):
        if isinstance(leaf, (bool, np.bool_)) or isinstance(leaf, (int, np.integer)):
            kind = "an int"
        elif isinstance(leaf, (float, np.floating)):
            continue
        elif isinstance(leaf, np.ndarray):
            if np.issubdtype(leaf.dtype, np.floating):
                continue
            kind = f"an array of dtype {leaf.dtype}"
        elif isinstance(leaf, (complex, np.complexfloating)):
            kind = "a complex number"
        else:
            kind = f"a {type(leaf).__name__}"
        where = f"argument {index}{sub_path}"
        raise ArgumentError(
            f"cannot differentiate with respect to {where}: it is {kind}",
            **_where(fn),
            hint="pass floats (e.g. 2.0 or x.astype(float)), or leave this argument "
                 "out of wrt")


def leaves(value, path=""):
    """(path, leaf) pairs of a nested dict/list/tuple, in a fixed order."""
    if isinstance(value, dict):
        for k in value:
            yield from leaves(value[k], f"{path}[{k!r}]")
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
            if isinstance(v, (list, tuple)):
                return type(v)(build(x) for x in v)
            return next(it)
        return build(value)
    return flat, rebuild

"""A function generated code calls through a value (a parameter, a name bound at run
time: ``runtime.vjp_call``, ``split_call``, ``jvp_call``), as the compiler reads it:
every parameter passed, and a library function (``r=np.sum``, then ``r(x)``) read
through a Python function calling it, so the call goes through its rule."""

from __future__ import annotations

import types

import numpy as np

from ..ir import codegen, signature
from ..front import own, resolve
from ..prims import registry
from ..errors import ArgumentError


def called_function(fn, spec):
    """What the compiler reads for ``fn`` called with arguments of shapes ``spec``."""
    if own.is_own(fn):  # (np.sum(jacobian(f)(x)) differentiated: a clear refusal)
        own.refuse_made(fn, called=True)
    return _readable(fn, _all_passed(fn, spec))


def _all_passed(fn, spec):
    """``spec``, after checking that a call generated code makes through a value (a
    parameter: its callee unknown when the caller was compiled, its arguments as
    written) passes every parameter of ``fn``: a clear error where it leaves a default
    out."""
    sig = signature.signature(fn) if isinstance(fn, types.FunctionType) and not \
        resolve.never_read(fn) else None  # (a library's: its rule binds the call)
    if spec is None or sig is None or signature.vararg_index(sig) is not None:
        return spec
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY,
                                                                p.POSITIONAL_OR_KEYWORD)]
    if len(spec) < len(params):
        name = getattr(fn, "__name__", "f")
        raise ArgumentError(
            f"'{name}' is called through a value (a parameter or a name bound at run time) "
            f"leaving out its parameter '{params[len(spec)].name}', which has a default",
            function=name, hint="pass every argument in that call, or call the function "
                                "by its own name")
    return spec


def _readable(fn, spec):
    """``fn``, or for a library function the code passed as a value (``def f(a, r=np.sum):
    return r(a)``), whose source the compiler never reads, a Python function calling it:
    the compiler reads that, and the call goes through ``fn``'s rule."""
    if spec is None or resolve.library_of(fn) is None and not isinstance(
            fn, (np.ufunc, types.BuiltinFunctionType)):
        return fn

    def known(f):
        return registry.lookup(f) is not None or registry.is_nondiff(f)
    if not known(fn):
        if not known(getattr(fn, "__wrapped__", None)):
            return fn  # (reading it says which rule is missing)
        fn = fn.__wrapped__  # (the tape's np.sum, in the code it runs: np.sum)

    def make():
        params = ", ".join(f"a{i}" for i in range(len(spec)))
        name = f"{getattr(fn, '__name__', 'library')}_call"
        src = f"def {name}({params}):\n    return _sd_library({params})\n"
        return codegen.compile_function(src, name, {"_sd_library": fn}, name)
    return codegen.cached(("library call", fn, len(spec)), make)

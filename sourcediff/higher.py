"""Forward mode and higher order: ``jvp``, ``jacobian``, ``hessian``, ``grad(grad(f))``.

Everything here differentiates *generated* code: the adjoint or tangent
function sourcediff wrote is itself plain Python (registered in linecache),
so it is read back, trimmed to the one output wanted (a *selector*), and
transformed again in forward mode. ``hessian`` is forward-over-reverse.
"""

from __future__ import annotations

import threading
import weakref
import zlib

import gast
import numpy as np

from . import codegen, driver
from . import nodes as N
from .errors import ArgumentError, NonScalarOutputError
from .freevars import cache_key
from .shapes import spec_of
from .structure import resolve_wrt, structure_mismatch

_lock = threading.RLock()
_jvp_cache = {}
_selectors = weakref.WeakKeyDictionary()  # adjoint function -> {selection: function}


def jvp_adjoint(fn, wrt, spec):
    key = cache_key(fn, wrt, spec)
    adj = _jvp_cache.get(key)
    if adj is None:
        with _lock:
            adj = _jvp_cache.get(key)
            if adj is None:
                adj = _jvp_cache[key] = driver.build_jvp(fn, wrt, specialize=spec)
    return adj.for_function(fn)


def check_jvp_inputs(fn, primals, tangents):
    """What ``grad`` refuses, ``jvp`` refuses too: complex or non-numeric primals and
    tangents, int primals moved along a nonzero tangent (held fixed, with a zero
    tangent, they are fine), and functions made by the runtime tape."""
    from . import structure
    from .errors import SourceDiffError
    from .tape.api import TapeFunction
    name = getattr(fn, "__name__", None)
    if isinstance(getattr(fn, "__func__", fn), TapeFunction):
        raise SourceDiffError(
            f"jvp cannot differentiate '{name}': it was made by sourcediff.tape."
            f"{getattr(fn, 'made_by', 'grad')}, which records at run time and has no source "
            "for forward mode", function=name,
            hint="for higher order use the compiler: jvp(sourcediff.grad(f), ...), "
                 "sourcediff.hessian(f) or sourcediff.hvp(f); or nest the tape: "
                 "tape.grad(tape.grad(f))")
    for i, (p, t) in enumerate(zip(primals, tangents)):
        for path, leaf in structure.leaves(t, ""):
            if not _real_number(leaf):
                kind = (f"an array of dtype {leaf.dtype}" if isinstance(leaf, np.ndarray) else
                        "a complex number" if np.iscomplexobj(leaf) else
                        f"a {type(leaf).__name__}")
                raise ArgumentError(
                    f"tangent {i}{path} is {kind}: jvp needs real tangents", function=name,
                    hint="pass floats; for a complex function, pass the real and imaginary "
                         "parts as separate real arguments")
        if _held_fixed(p, t):
            continue
        try:
            structure.check_differentiable(fn, p, i)
        except ArgumentError as e:
            hint = e.hint
            if "int" in e.bare_message.rsplit(": it is ", 1)[-1]:
                hint = ("pass floats (e.g. 2.0 or x.astype(float)), or give this argument a "
                        "zero tangent to hold it fixed")
            elif "complex" in e.bare_message:
                hint = ("jvp works on real numbers: pass the real and imaginary parts as "
                        "separate real arguments")
            else:
                hint = hint.replace("leave this argument out of wrt",
                                    "give it a zero tangent to hold it fixed")
            raise ArgumentError(e.bare_message, function=e.function, filename=e.filename,
                                lineno=e.lineno, hint=hint) from None


def _real_number(x):
    if isinstance(x, np.ndarray):
        return np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer) \
            or x.dtype == bool
    return isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating))


def _held_fixed(p, t):
    """A primal with a zero tangent that is no float (an int, a flag, a string): not
    moved, so not differentiated. Complex primals are never fine (no rule is checked
    for complex values)."""
    from . import structure
    leaves = [v for _, v in structure.leaves(p, "")]
    return all(not np.any(v) for _, v in structure.leaves(t, "")) and not any(
        np.iscomplexobj(v) for v in leaves if isinstance(v, (complex, np.generic, np.ndarray)))


def jvp(fn, primals, tangents):
    """``(fn(*primals), tangent of the output along tangents)`` by forward mode."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ArgumentError(f"jvp got {len(primals)} primal(s) but {len(tangents)} tangent(s)",
                            function=getattr(fn, "__name__", None),
                            hint="pass one tangent per primal (zeros for the ones held fixed)")
    for p, t in zip(primals, tangents):
        mismatch = structure_mismatch(p, t)
        if mismatch:
            raise ArgumentError(f"a tangent does not match its primal: {mismatch}",
                                function=getattr(fn, "__name__", None),
                                hint="give each tangent its primal's type and structure, e.g. "
                                     "the same dataclass holding np.ones_like(...) fields")
        if mismatch is None and np.shape(p) != np.shape(t):
            raise ArgumentError(
                f"a tangent has shape {np.shape(t)} but its primal has shape {np.shape(p)}",
                function=getattr(fn, "__name__", None),
                hint="give each tangent its primal's shape, e.g. np.ones_like(x)")
    check_jvp_inputs(fn, primals, tangents)
    from .custom import Primitive
    if isinstance(fn, Primitive):
        ans = fn(*primals)
        return ans, fn.jvp_or_raise()(tangents, ans, *primals)
    held = ()
    if _is_method(fn):  # model.loss: its function, with the object first and held fixed
        held, fn = (fn.__self__,), fn.__func__
    flat, wrt, packed = flat_primals(fn, held + primals)
    wrt = wrt[len(held):]
    fn = plain(fn, flat)
    if packed:  # the primals past the named ones fill *args: their tangents a tuple too
        k = len(wrt) - 1
        tangents = tangents[:k] + (tuple(tangents[k:]),)
    adj = jvp_adjoint(fn, wrt, spec_of(flat))
    return adj.fn(*flat, *tangents)


def _is_method(fn):
    import types
    return isinstance(fn, types.MethodType) and isinstance(fn.__func__, types.FunctionType)


def flat_primals(fn, primals):
    """``fn``'s flat arguments for a call with ``primals`` by position (defaults filled
    in), the flat indices the primals fill, and whether the last is ``*args``."""
    from . import signature
    fn = _signature_fn(fn)  # grad(f): f's own signature
    sig = signature.signature(fn) if hasattr(fn, "__code__") else None
    if sig is None or signature.is_plain(sig):
        return primals, tuple(range(len(primals))), False
    wrt, packed = signature.primal_layout(sig, len(primals))
    return signature.bind(fn, sig, primals, {}), wrt, packed


def plain(fn, args):
    """A plain Python function computing what ``fn`` computes at these args."""
    maker = getattr(fn, "plain_function", None)
    return maker(args) if maker is not None else fn


def selector(adj, keep, drop_args=(), set_args=None):
    """A new function from generated code ``adj``: same arguments minus ``drop_args``
    (each set to ``set_args[name]`` instead), returning element ``keep`` of the result."""
    if getattr(adj, "source", None) is None:   # the tape's fallback: nothing to read back
        from .errors import SourceDiffError
        name = getattr(getattr(adj, "_vg", None), "__name__", None)
        raise SourceDiffError(
            f"cannot differentiate the gradient of '{name}' again: it was computed by the "
            "runtime tape (the function's source could not be read), which has no source "
            "for forward mode", function=name,
            hint="define the function with def in a file so sourcediff can compile it (a "
                 "function made by sourcediff.tape cannot be: use sourcediff.grad(f) for higher "
                 "order), or nest the tape: tape.grad(tape.grad(f))")
    key = (keep, tuple(drop_args), tuple(sorted((set_args or {}).items())))
    made = _selectors.setdefault(adj.fn, {})  # (its globals: the closure it reads)
    if key in made:
        return made[key]
    fdef = gast.parse(adj.source).body[0]
    ret = fdef.body[-1]
    value = ret.value
    for k in keep:
        value = value.elts[k]
    ret.value = value
    fdef.args.args = [a for a in fdef.args.args if a.id not in drop_args]
    sets = [N.assign(name, N.const(v)) for name, v in (set_args or {}).items()]
    fdef.body = fdef.body[:1] + sets + fdef.body[1:]
    fdef.name = f"{fdef.name}_d"
    src = codegen.to_source(fdef)
    filename = f"<sourcediff {fdef.name}:{zlib.crc32(src.encode()):08x}>"
    fn = codegen.compile_function(src, fdef.name, adj.fn.__globals__, filename)
    made[key] = fn
    return fn


class ForwardGrad:
    """``grad`` of a sourcediff-made function: forward mode over its generated code."""

    def __init__(self, inner, wrt, with_value):
        self.inner = inner
        self.fn = inner
        self.wrt, self.single = resolve_wrt(_signature_fn(inner), wrt)
        self.with_value = with_value
        self.__name__ = f"grad_{getattr(inner, '__name__', 'f')}"
        self._last = None

    def _flat(self, args):
        """``args`` with defaults filled in (the form generated code takes)."""
        flat, wrt, packed = flat_primals(self.inner, args)
        if packed and any(i >= wrt[-1] for i in self.wrt):
            raise ArgumentError(
                "a second derivative with respect to an argument in *args is not supported",
                function=self.__name__, hint="give the function a named parameter for it")
        return flat

    def plain_function(self, args):
        """Scalar wrt only: the derivative as a plain function of the same arguments."""
        args = self._flat(args)
        if len(self.wrt) != 1 or np.ndim(args[self.wrt[0]]) != 0:
            raise ArgumentError(
                "a third or higher derivative needs a scalar argument",
                function=self.__name__, hint="use hessian(f) for arrays")
        f = plain(self.inner, args)
        adj = jvp_adjoint(f, self.wrt, spec_of(args))
        tname = adj.fn.__code__.co_varnames[len(args)]
        return selector(adj, (1,), drop_args=(tname,), set_args={tname: 1.0})

    def __call__(self, *args):
        args = self._flat(args)
        f = plain(self.inner, args)
        value = None
        grads = []
        for i in self.wrt:
            adj = self._last = jvp_adjoint(f, (i,), spec_of(args))
            x = np.asarray(args[i], dtype=float)
            if x.ndim == 0:
                value, d = adj.fn(*args, 1.0)
                grads.append(_like(d, args[i]))
                continue
            out = np.zeros(x.shape)
            for j in np.ndindex(x.shape):
                e = np.zeros(x.shape)
                e[j] = 1.0
                value, d = adj.fn(*args, e)
                out[j] = d
            grads.append(_like(out, args[i]))
        if np.ndim(value) != 0:
            raise NonScalarOutputError(
                f"grad needs a scalar output, but the derivative has shape {np.shape(value)}",
                function=self.__name__, hint="use jacobian or hessian for array outputs")
        g = grads[0] if self.single else tuple(grads)
        return (value, g) if self.with_value else g


def _like(d, x):
    from .runtime import like
    return like(d, x)


def _signature_fn(f):
    while not hasattr(f, "__code__") and hasattr(f, "fn"):
        f = f.fn
    return f


def jacobian(fn, wrt=0):
    """``J[out_index + arg_index]``: reverse mode row by row, or forward column by column."""
    def jac(*args):
        idx, single = resolve_wrt(_signature_fn(fn), wrt)
        out = fn(*args)
        results = []
        for i in idx:
            x = np.asarray(args[i], dtype=float)
            n_out, n_in = int(np.size(out)), int(x.size)
            if n_in <= n_out:   # forward: one pass per input element
                cols = []
                for j in range(n_in):
                    e = np.zeros(x.size)
                    e[j] = 1.0
                    tangents = [np.zeros_like(np.asarray(a, dtype=float)) if k != i else
                                e.reshape(x.shape) for k, a in enumerate(args)]
                    tangents = [t if np.ndim(a) else float(t) for t, a in zip(tangents, args)]
                    cols.append(np.ravel(jvp(fn, args, tangents)[1]))
                J = np.stack(cols, axis=-1) if cols else np.zeros((n_out, 0))
            else:               # reverse: one pass per output element
                from .api import vjp
                _, pull = vjp(plain(fn, args), *args)
                rows = []
                for j in range(n_out):
                    e = np.zeros(n_out)
                    e[j] = 1.0
                    ct = e.reshape(np.shape(out)) if np.ndim(out) else 1.0
                    rows.append(np.ravel(pull(ct)[i]))
                J = np.stack(rows, axis=0)
            results.append(J.reshape(np.shape(out) + x.shape))
        return results[0] if single else tuple(results)
    jac.__name__ = f"jacobian_{getattr(fn, '__name__', 'f')}"
    return jac


def hessian(fn, wrt=0):
    """The Hessian of scalar ``fn``: forward mode over the generated gradient."""
    from .api import grad
    return jacobian(grad(fn, wrt), wrt)


def hvp(fn, wrt=0):
    """``hvp(f)(*args, v)``: Hessian-vector product without forming the Hessian."""
    from .api import grad

    def product(*args_and_v):
        *args, v = args_and_v
        g = grad(fn, wrt)
        tangents = [np.zeros_like(np.asarray(a, dtype=float)) if k != wrt else v
                    for k, a in enumerate(args)]
        tangents = [t if np.ndim(a) else float(t) for t, a in zip(tangents, args)]
        return jvp(g, args, tangents)[1]
    return product

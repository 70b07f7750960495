"""The methods compared: how each one turns a workload into a callable gradient.

``prepare(workload, args)`` builds the method's callable, makes the first call
(timed: that is the "first call" column, which includes any compilation) and
returns a :class:`Prepared`. A method that cannot run here raises :class:`Skip`
with the reason; any other exception is reported as FAILED by the harness.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import linecache
import statistics
import textwrap
import time
import types
from dataclasses import dataclass
from typing import Callable

import numpy as np


class Skip(Exception):
    """The method is unavailable here (not installed / not importable)."""


@dataclass
class Prepared:
    call: Callable                  # the timed callable
    args: tuple                     # what it is called with (converted for peers)
    first_result: object            # output of the first call
    first_call: float               # seconds: build + first call
    compile: float | None = None    # seconds: that, minus a second call made right after
    convert: Callable = None        # first_result -> tuple of ndarrays (None: not a gradient)
    tracks_memory: bool = True      # tracemalloc sees its allocations (NumPy-based)
    version: str = ""


_counter = itertools.count()


def fresh_copy(fn, namespace):
    """A new function object compiled from ``fn``'s source in ``namespace``.

    The source is registered in ``linecache`` under a unique file name, so tools
    that read source (sourcediff, tangent) can read the copy; a new function
    object means no per-function cache can serve it.
    """
    src = textwrap.dedent(inspect.getsource(fn))
    filename = f"<benchmarks:{fn.__name__}:{next(_counter)}>"
    lines = src.splitlines(keepends=True)
    linecache.cache[filename] = (len(src), None, lines, filename)
    ns = dict(namespace)
    ns.setdefault("__name__", f"benchmarks_fresh_{fn.__name__}")
    exec(compile(src, filename, "exec"), ns)  # noqa: S102 - our own module's source
    return ns[fn.__name__]


def _import(name):
    try:
        return importlib.import_module(name)
    except Exception as exc:  # ImportError, or a broken install raising anything
        raise Skip(f"not importable ({type(exc).__name__}: {exc})".strip()) from None


def _version(mod):
    return str(getattr(mod, "__version__", ""))


def _as_tuple(out, n):
    """A gradient result as a tuple of ``n`` arrays."""
    if n == 1 and not (isinstance(out, (tuple, list)) and len(out) == 1):
        out = (out,)
    if not isinstance(out, (tuple, list)) or len(out) != n:
        raise TypeError(f"expected {n} gradient(s), got {type(out).__name__}")
    return tuple(np.asarray(o) for o in out)


FIRST_CALL_COPIES = 5  # fresh copies of the function whose first calls are timed


def _first(build, args, fn=None, namespace=None):
    """``(callable, first result, first call, compile)``: the time of ``build()`` plus one
    call of what it returns, and that minus a second call made right after it (the one-off
    cost, measured in the same moment as the call it is compared with). Given ``fn``,
    ``build`` takes a fresh copy of it (compiled in ``namespace``), and the times are
    medians over ``FIRST_CALL_COPIES`` copies: one first call alone is too noisy on a
    shared machine."""
    copies = [fresh_copy(fn, namespace) for _ in range(FIRST_CALL_COPIES)] if fn else [None]
    firsts, compiles = [], []
    for f in copies:
        t0 = time.perf_counter()
        g = build() if f is None else build(f)
        out = g(*args)
        t1 = time.perf_counter()
        g(*args)
        t2 = time.perf_counter()
        firsts.append(t1 - t0)
        compiles.append(max(0.0, (t1 - t0) - (t2 - t1)))
    return g, out, statistics.median(firsts), statistics.median(compiles)


def _numpy_namespace():
    import math
    return {"np": np, "math": math}


# -- the methods -------------------------------------------------------------

def prep_forward(wl, args):
    g, out, t, c = _first(lambda: wl.fn, args)
    return Prepared(g, args, out, t, c)


def prep_hand(wl, args):
    g, out, t, c = _first(lambda: wl.grad, args)
    return Prepared(g, args, out, t, c, convert=lambda o: _as_tuple(o, len(wl.wrt)))


def prep_sourcediff(wl, args):
    sd = _import("sourcediff")
    if not hasattr(sd, "grad"):
        raise Skip("sourcediff has no grad() yet")
    g, out, t, c = _first(lambda f: sd.grad(f, wrt=wl.wrt_arg), args, wl.fn, _numpy_namespace())
    return Prepared(g, args, out, t, c, convert=lambda o: _as_tuple(o, len(wl.wrt)),
                    version=_version(sd))


def prep_tape(wl, args):
    tape = _import("sourcediff.tape")
    if not hasattr(tape, "grad"):
        raise Skip("sourcediff.tape has no grad() yet")
    g, out, t, c = _first(lambda f: tape.grad(f, wrt=wl.wrt_arg), args, wl.fn, _numpy_namespace())
    return Prepared(g, args, out, t, c, convert=lambda o: _as_tuple(o, len(wl.wrt)))


def _shim(npmod):
    """A stand-in for ``math`` built from a NumPy work-alike (autograd, jax)."""
    return types.SimpleNamespace(**{k: getattr(npmod, k)
                                    for k in ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh")})


def prep_autograd(wl, args):
    ag = _import("autograd")
    anp = _import("autograd.numpy")
    g, out, t, c = _first(lambda f: ag.grad(f, argnum=wl.wrt_arg), args, wl.fn,
                       {"np": anp, "math": _shim(anp)})
    return Prepared(g, args, out, t, c, convert=lambda o: _as_tuple(o, len(wl.wrt)),
                    version=_version(ag))


def prep_torch(wl, args):
    torch = _import("torch")
    torch.set_num_threads(1)
    tv = _import("benchmarks.torch_versions")
    fn = getattr(tv, wl.group)
    targs = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            a = torch.from_numpy(a)
            if i in wl.wrt:
                a.requires_grad_(True)
        elif i in wl.wrt:
            a = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        targs.append(a)
    wrt = wl.wrt

    def grad_fn(*a):
        return torch.autograd.grad(fn(*a), [a[i] for i in wrt])

    g, out, t, c = _first(lambda: grad_fn, tuple(targs))
    return Prepared(g, tuple(targs), out, t, c,
                    convert=lambda o: tuple(x.detach().numpy() for x in o),
                    tracks_memory=False, version=_version(torch))


def _jax_setup():
    jax = _import("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = _import("jax.numpy")
    return jax, jnp


def _prep_jax(wl, args, jit):
    jax, jnp = _jax_setup()
    jargs = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)

    def build(f):
        g = jax.grad(f, argnums=wl.wrt_arg)
        if jit:
            g = jax.jit(g)
        return lambda *a: jax.block_until_ready(g(*a))

    g, out, t, c = _first(build, jargs, wl.fn, {"np": jnp, "math": _shim(jnp)})
    return Prepared(g, jargs, out, t, c, convert=lambda o: _as_tuple(o, len(wl.wrt)),
                    tracks_memory=False, version=_version(jax))


def prep_jax(wl, args):
    return _prep_jax(wl, args, jit=False)


def prep_jax_jit(wl, args):
    return _prep_jax(wl, args, jit=True)


def prep_tangent(wl, args):
    tangent = _import("tangent")
    g, out, t, c = _first(lambda f: tangent.grad(f, wrt=wl.wrt, verbose=0), args, wl.fn,
                       _numpy_namespace())
    return Prepared(g, args, out, t, c, convert=lambda o: _as_tuple(o, len(wl.wrt)),
                    version=_version(tangent))


@dataclass
class Method:
    name: str
    label: str
    kind: str          # "forward" | "hand" | "core" | "peer"
    prepare: Callable


METHODS = [
    Method("forward", "forward pass only", "forward", prep_forward),
    Method("hand", "hand-written NumPy gradient", "hand", prep_hand),
    Method("sourcediff", "sourcediff.grad (generated)", "core", prep_sourcediff),
    Method("tape", "sourcediff.tape.grad", "core", prep_tape),
    Method("autograd", "HIPS autograd", "peer", prep_autograd),
    Method("torch", "PyTorch (CPU, eager)", "peer", prep_torch),
    Method("jax", "JAX (no jit)", "peer", prep_jax),
    Method("jax-jit", "JAX (jax.jit)", "peer", prep_jax_jit),
    Method("tangent", "tangent", "peer", prep_tangent),
]


def select(names):
    """Methods named in ``names`` (all if empty); forward and hand are always kept."""
    if not names:
        return list(METHODS)
    keys = {n.strip().lower() for n in names if n.strip()}
    known = {m.name for m in METHODS}
    if "peers" in keys:
        keys |= {m.name for m in METHODS if m.kind == "peer"}
        keys.discard("peers")
    unknown = keys - known
    if unknown:
        raise SystemExit(f"unknown method(s): {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(m.name for m in METHODS)}, peers)")
    return [m for m in METHODS if m.kind in ("forward", "hand") or m.name in keys]

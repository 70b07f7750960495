"""Helpers shared by the rule tests: a one-line loss compiled from source, and central
finite differences (real, and along the real and imaginary directions of complex input)."""

from __future__ import annotations

import itertools

import numpy as np

import sourcediff as sd
from sourcediff.ir import codegen

_count = itertools.count()


def loss_of(expr, namespace, tag="rule", reduce="np.sum(out * np.sin(out))", name="loss"):
    """``def loss(x): out = <expr>; return <reduce>`` compiled with its source registered
    (sourcediff reads it like a file), its globals a copy of ``namespace``."""
    src = f"def {name}(x):\n    out = {expr}\n    return {reduce}\n"
    filename = f"<{tag} {next(_count)}>"
    codegen.register(filename, src)
    ns = dict(namespace)
    exec(compile(src, filename, "exec"), ns)
    return ns[name]


def fd(f, x, h=1e-6):
    """Central differences of ``f`` (any output shape) in a float or real array ``x``:
    the Jacobian, output axes first, then the axes of ``x``."""
    x = np.asarray(x, dtype=float)
    cols = []
    for j in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[j] = h
        xp, xm = (x + e, x - e) if x.ndim else (float(x + h), float(x - h))
        cols.append((np.asarray(f(xp), dtype=float) - np.asarray(f(xm), dtype=float)) / (2 * h))
    out = np.stack(cols, axis=-1)
    return out.reshape(out.shape[:-1] + x.shape) if x.ndim else out[..., 0]


def fd_complex(f, z, h=1e-6):
    """The gradient of real-valued ``f`` in autograd's convention (docs/complex.md):
    ``d Re f/dx - i d Re f/dy`` for each entry of complex ``z``; for real ``z`` only the
    real direction."""
    z = np.asarray(z)
    out = np.zeros(z.shape, complex if np.iscomplexobj(z) else float)
    for j in np.ndindex(z.shape):
        e = np.zeros(z.shape, z.dtype)
        e[j] = h
        out[j] = (np.real(f(z + e)) - np.real(f(z - e))) / (2 * h)
        if np.iscomplexobj(z):
            out[j] -= 1j * (np.real(f(z + 1j * e)) - np.real(f(z - 1j * e))) / (2 * h)
    return out


def check_orders(f, x, tape=True):
    """The gradient of scalar ``f`` at a real vector ``x`` against central differences
    (compiler, and the tape unless ``tape`` is false), a directional derivative by
    forward mode, and the Hessian against differences of the gradient."""
    want = fd(f, x)
    np.testing.assert_allclose(sd.grad(f)(x), want, rtol=1e-6, atol=1e-8)
    if tape:
        np.testing.assert_allclose(sd.tape.grad(f)(x), want, rtol=1e-6, atol=1e-8)
    v = np.linspace(1.0, -2.0, x.size).reshape(x.shape)
    np.testing.assert_allclose(sd.jvp(f, (x,), (v,))[1], np.sum(want * v), rtol=1e-6)
    np.testing.assert_allclose(sd.hessian(f)(x), fd(sd.grad(f), x, 1e-5), rtol=1e-5, atol=1e-6)

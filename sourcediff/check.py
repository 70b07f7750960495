"""``check_grad``: compare sourcediff's derivatives with central differences.

A random direction ``v`` per argument; the directional derivative from
reverse mode (``grad . v``) and forward mode (``jvp`` along ``v``) must match
``(f(x + eps v) - f(x - eps v)) / (2 eps)``; ``order=2`` checks the gradient's
own derivative the same way (forward over reverse).
"""

from __future__ import annotations

import numpy as np

from .errors import SourceDiffError
from .structure import resolve_wrt


class GradientCheckError(SourceDiffError):
    """A derivative disagrees with central finite differences."""


def _direction(x, rng):
    if isinstance(x, float) or np.ndim(x) == 0:
        return float(rng.standard_normal())
    return rng.standard_normal(np.shape(x))


def _shift(args, i, v, eps):
    out = list(args)
    out[i] = args[i] + eps * v
    return out


def _fd(f, args, i, v, eps):
    return (np.asarray(f(*_shift(args, i, v, eps))) - np.asarray(f(*_shift(args, i, v, -eps)))) \
        / (2 * eps)


def check_grad(f, *args, wrt=0, modes=("rev", "fwd"), order=1, eps=1e-6, rtol=1e-5,
               atol=1e-7, seed=0):
    """Raise :class:`GradientCheckError` with a readable report if a derivative is off."""
    from .api import grad
    from .higher import jvp
    rng = np.random.default_rng(seed)
    idx, _ = resolve_wrt(f, wrt)
    report = []
    for i in idx:
        v = _direction(args[i], rng)
        expected = _fd(f, args, i, v, eps)
        if "rev" in modes:
            g = grad(f, wrt=i)(*args)
            got = np.sum(np.asarray(g) * v)
            _compare(report, f"reverse mode, argument {i}", got, expected, rtol, atol)
        if "fwd" in modes:
            tangents = [v if k == i else (0.0 if np.ndim(a) == 0 else np.zeros(np.shape(a)))
                        for k, a in enumerate(args)]
            got = jvp(f, args, tangents)[1]
            _compare(report, f"forward mode, argument {i}", got, expected, rtol, atol)
        if order >= 2:
            g = grad(f, wrt=i)
            u = _direction(args[i], rng)
            expected2 = np.sum(_fd(g, args, i, u, 1e-5) * v)
            tangents = [u if k == i else (0.0 if np.ndim(a) == 0 else np.zeros(np.shape(a)))
                        for k, a in enumerate(args)]
            got2 = np.sum(np.asarray(jvp(g, args, tangents)[1]) * v)
            _compare(report, f"second order, argument {i}", got2, expected2, 1e-4, 1e-6)
    if report:
        name = getattr(f, "__name__", repr(f))
        raise GradientCheckError("derivatives disagree with central differences:\n  "
                                 + "\n  ".join(report), function=name)
    return True


def _compare(report, what, got, expected, rtol, atol):
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        report.append(f"{what}: sourcediff gives {np.round(got, 8)}, "
                      f"finite differences give {np.round(expected, 8)}")

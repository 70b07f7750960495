"""``check_grad``: compare sourcediff's derivatives with central differences.

A random direction ``v`` per argument; the directional derivative from
reverse mode (``grad . v``) and forward mode (``jvp`` along ``v``) must match
``(f(x + eps v) - f(x - eps v)) / (2 eps)``; ``order=2`` checks the gradient's
own derivative the same way (forward over reverse).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .._typing import Wrt
from .api import grad
from ..errors import SourceDiffError
from .higher import jvp
from ..values.structure import resolve_wrt


class GradientCheckError(SourceDiffError):
    """A derivative disagrees with central finite differences (from :func:`check_grad`).

    Examples
    --------
    >>> from sourcediff import GradientCheckError, check_grad, primitive
    >>> @primitive
    ... def double(x):
    ...     return 2.0 * x
    >>> _ = double.defvjp(lambda g, ans, x: (3.0 * g,))   # wrong on purpose
    >>> def f(x):
    ...     return double(x)
    >>> try:
    ...     check_grad(f, 1.0, modes=("rev",))
    ... except GradientCheckError as err:
    ...     print(err.bare_message)
    derivatives disagree with central differences:
      reverse mode, argument 0: sourcediff gives ..., finite differences give ...
    """


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


def check_grad(f: Callable[..., Any], *args: Any, wrt: Wrt = 0,
               modes: Sequence[str] = ("rev", "fwd"), order: int = 1, eps: float = 1e-6,
               rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0) -> bool:
    """Check sourcediff's derivatives of ``f`` against central finite differences.

    For each argument in ``wrt`` a random direction ``v`` is drawn; the
    directional derivative from reverse mode (``grad(f)(*args) . v``) and
    from forward mode (:func:`jvp` along ``v``) must match
    ``(f(x + eps v) - f(x - eps v)) / (2 eps)``. With ``order=2`` the
    gradient's own derivative is checked the same way (forward over reverse).
    Use it on functions you give a :func:`primitive` rule, or whenever a
    gradient surprises you.

    Parameters
    ----------
    f : callable
        A Python function returning a scalar.
    *args
        The point to check at (float arguments are best: the step ``eps`` is
        absolute).
    wrt : int, str or tuple of them, default 0
        The argument(s) to check.
    modes : sequence of {"rev", "fwd"}, default ("rev", "fwd")
        Which modes to check.
    order : {1, 2}, default 1
        2 also checks second derivatives.
    eps : float, default 1e-6
        The finite-difference step.
    rtol, atol : float
        Tolerances of the comparison (``numpy.allclose``).
    seed : int, default 0
        Seed of the random directions.

    Returns
    -------
    bool
        ``True`` when every derivative agrees.

    Raises
    ------
    GradientCheckError
        With a report naming each mode and argument that disagrees, and both
        numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import check_grad
    >>> def f(x, y):
    ...     return np.sum(np.tanh(x) * y)
    >>> check_grad(f, np.array([0.1, 0.2]), 1.5, wrt=(0, 1), order=2)
    True
    """
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

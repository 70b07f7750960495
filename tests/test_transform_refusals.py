"""Compositions of the public transforms that are not supported are refused clearly.

``jacobian``, ``hessian``, ``hvp``, ``jvp`` and ``vjp`` are plain Python in
``sourcediff/transforms/``, and so are the functions they return. The compiler never
reads them as user code (:mod:`sourcediff.front.own`): a function made by one passed to a
transform, one called inside a differentiated function, and a call of a transform itself
on a differentiated value are each a ``SourceDiffError`` naming the composition, pointing
at the user's line (this file, never sourcediff's) and saying what composes instead. No
hint to mark sourcediff's own functions with ``sourcediff.primitive``, and no fallback to
the runtime tape. What composes (through a gradient) still gives the right numbers.
"""

import os
import warnings

import numpy as np
import pytest

import sourcediff as sd
from sourcediff.errors import MissingRuleError, SourceDiffError, UnsupportedSyntaxError


def f(x):  # R^2 -> R^2
    return np.sin(np.outer(x, x)).sum(axis=0) + np.cos(np.dot(x, x))


def s(x):  # R^2 -> R
    return np.sum(np.sin(x) * x) ** 2


X = np.array([0.3, -0.4])
V = np.array([0.7, 0.2])
JF = sd.jacobian(f)


def two_outputs(x, y):
    return x * y, np.sin(x)


def g(x, a):  # R^2 x R -> R^3
    return np.array([np.sin(x[0] * x[1]) * a, x[0] ** 3 + np.exp(x[1]) * a, x[1] ** 2])


def h(t):  # R -> R^2
    return np.array([np.sin(t) * t, t ** 3])


def sum_of_jacobian(x):
    return np.sum(JF(x))


def constant_tangent_times(x):
    c = sd.jvp(f, (V,), (V,))[1]  # no differentiated value reaches it: a constant
    return np.sum(c * x)


# (the probe, the class, what the message says, text of the line it points at)
CASES = [
    (lambda: sd.jacobian(sd.jacobian(sd.jacobian(f)))(X), UnsupportedSyntaxError,
     "jacobian of a function made by sourcediff.jacobian ('jacobian_jacobian_f') is not "
     "composed", "sd.jacobian(sd.jacobian(sd.jacobian(f)))(X)"),
    (lambda: sd.jacobian(sd.jacobian(two_outputs))(X, X), UnsupportedSyntaxError,
     "jacobian of a function made by sourcediff.jacobian ('jacobian_two_outputs') is not "
     "composed", "sd.jacobian(sd.jacobian(two_outputs))(X, X)"),
    (lambda: sd.grad(lambda x: np.sum(sd.jacobian(f)(x) ** 2))(X), UnsupportedSyntaxError,
     "a function made by sourcediff.jacobian ('jacobian_f') called inside a "
     "differentiated function (by sourcediff.grad)", "sd.jacobian(f)(x) ** 2"),
    (lambda: sd.jvp(lambda x: sd.jvp(f, (x,), (V,))[1], (X,), (V,)), MissingRuleError,
     "a call of sourcediff.jvp inside a differentiated function", "sd.jvp(f, (x,), (V,))"),
    (lambda: sd.jvp(lambda x: sd.vjp(f, x)[1](V)[0], (X,), (V,)), MissingRuleError,
     "a call of sourcediff.vjp inside a differentiated function", "sd.vjp(f, x)[1](V)"),
    (lambda: sd.jacobian(sd.hessian(s))(X), UnsupportedSyntaxError,
     "jacobian of a function made by sourcediff.hessian", "sd.jacobian(sd.hessian(s))(X)"),
    (lambda: sd.hessian(lambda x: np.sum(sd.hvp(s)(x, V)))(X), UnsupportedSyntaxError,
     "a function made by sourcediff.hvp ('product') called inside a differentiated "
     "function (by sourcediff.hessian)", "sd.hvp(s)(x, V)"),
    (lambda: sd.grad(lambda x: np.sum(sd.hessian(s)(x)))(X), UnsupportedSyntaxError,
     "a function made by sourcediff.hessian ('jacobian_s') called inside a differentiated "
     "function (by sourcediff.grad)", "sd.hessian(s)(x)"),
    (lambda: sd.vjp(sd.jacobian(f), X), UnsupportedSyntaxError,
     "vjp of a function made by sourcediff.jacobian", "sd.vjp(sd.jacobian(f), X)"),
    (lambda: sd.grad(sum_of_jacobian)(X), MissingRuleError,
     "a call of a function made by sourcediff.jacobian inside a differentiated function",
     "return np.sum(JF(x))"),
    (lambda: sd.jvp(sum_of_jacobian, (X,), (V,)), MissingRuleError,
     "a call of a function made by sourcediff.jacobian inside a differentiated function",
     "return np.sum(JF(x))"),
    (lambda: sd.grad(lambda x: sd.vjp(f, x)[0][0])(X), MissingRuleError,
     "a call of sourcediff.vjp inside a differentiated function", "sd.vjp(f, x)[0][0]"),
]


@pytest.mark.parametrize("probe, kind, says, line", CASES,
                         ids=[f"case{i}" for i in range(len(CASES))])
def test_refused_at_the_users_line_with_what_works(probe, kind, says, line):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no silent fallback to the runtime tape)
        with pytest.raises(kind) as info:
            probe()
    err = info.value
    assert isinstance(err, SourceDiffError)
    assert says in err.bare_message
    assert os.path.samefile(err.filename, __file__), err.filename   # the user's file
    assert line in err.source_line
    assert err.lineno is not None
    text = str(err)
    assert "sourcediff" + os.sep not in text.replace("sourcediff.", "")  # none of its files
    assert "primitive" not in text and "defrule" not in text
    assert "jacobian(grad(f))" in err.hint and "hessian(f)" in err.hint
    assert "Not composed" in err.hint


def test_a_transform_on_constants_inside_is_a_constant():
    """``sd.jvp(f, (V,), (V,))`` reached by no differentiated value runs as written: the
    gradient of ``sum(c * x)`` is ``c``, hand-computed as J_f(V) @ V with
    J[j, k] = cos(x_k x_j) x_j + [j == k] sum_i cos(x_i x_j) x_i - 2 sin(x.x) x_k."""
    C = np.cos(np.outer(V, V))
    J = C * V[:, None] + np.diag(C @ V) - 2 * np.sin(V @ V) * V[None, :]
    assert np.allclose(sd.grad(constant_tangent_times)(X), J @ V)


def test_compositions_through_a_gradient_still_work():
    """``jacobian(grad(s))`` and ``hessian(s)`` against central differences of the
    gradient (order 2), and ``jvp(grad(s))`` against the Hessian."""
    H = sd.hessian(s)(X)
    eps = 1e-6
    fd = np.stack([(sd.grad(s)(X + eps * e) - sd.grad(s)(X - eps * e)) / (2 * eps)
                   for e in np.eye(2)], axis=-1)
    assert np.allclose(H, fd, atol=1e-6)
    assert np.allclose(sd.jacobian(sd.grad(s))(X), H)
    assert np.allclose(sd.jvp(sd.grad(s), (X,), (V,))[1], H @ V)
    assert np.allclose(sd.hvp(s)(X, V), H @ V)


def second_differences(fn, x, rest=(), eps=1e-4):
    """d2 fn_i / dx_k dx_j by central differences (order 2), shape out + x + x."""
    n = x.size
    cols = {}
    for k in range(n):
        for j in range(n):
            ek, ej = np.eye(n)[k] * eps, np.eye(n)[j] * eps
            at = [fn(x + d, *rest) for d in (ek + ej, ek - ej, -ek + ej, -ek - ej)]
            cols[k, j] = (at[0] - at[1] - at[2] + at[3]) / (4 * eps * eps)
    return np.stack([np.stack([cols[k, j] for j in range(n)], -1) for k in range(n)], -2)


@pytest.mark.parametrize("fn, rest", [(f, ()), (g, (1.7,))], ids=["f", "g-with-a-fixed"])
def test_jacobian_of_jacobian_is_forward_over_forward(fn, rest):
    """``jacobian(jacobian(fn))[i, k, j] = d2 fn_i / dx_k dx_j``, against central
    differences; symmetric in k, j; ``jvp`` of the Jacobian is its contraction with v."""
    H = sd.jacobian(sd.jacobian(fn))(X, *rest)
    assert H.shape == np.shape(fn(X, *rest)) + (2, 2)
    assert np.allclose(H, second_differences(fn, X, rest), atol=1e-6)
    assert np.allclose(H, np.swapaxes(H, -1, -2))
    J, dJ = sd.jvp(sd.jacobian(fn), (X, *rest), (V,) + tuple(0.0 for _ in rest))
    assert np.allclose(J, sd.jacobian(fn)(X, *rest))
    assert np.allclose(dJ, H @ V)


def test_jacobian_of_jacobian_by_hand():
    """Scalar argument: (sin t * t, t^3)'' = (2 cos t - t sin t, 6 t); a scalar output:
    the Hessian of sum(x^3) is diag(6 x)."""
    assert np.allclose(sd.jacobian(sd.jacobian(h))(0.5),
                       [2 * np.cos(0.5) - 0.5 * np.sin(0.5), 3.0])
    assert np.allclose(sd.jacobian(sd.jacobian(lambda x: np.sum(x ** 3)))(X), np.diag(6 * X))

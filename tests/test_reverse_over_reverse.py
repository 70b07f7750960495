"""Issue #16: reverse over reverse (the tape run over the generated gradient), the tape
over itself, and what mixing the engines refuses.

Every value is checked against hand-computed derivatives and central differences of the
order below (itself checked against differences of the function)."""

from __future__ import annotations

import numpy as np
import pytest

import sourcediff
from sourcediff import SourceDiffError, grad, hessian, hvp, jacobian, jvp, tape, value_and_grad, vjp
from sourcediff.ir.compiler_hook import compiler
from sourcediff.errors import MissingRuleError


def fd(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    cols = []
    for j in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[j] = h
        xp, xm = (x + e, x - e) if x.ndim else (float(x + e), float(x - e))
        cols.append((np.asarray(f(xp), dtype=float) - np.asarray(f(xm), dtype=float)) / (2 * h))
    out = np.stack(cols, axis=-1)
    return out.reshape(out.shape[:-1] + x.shape)


X = np.array([0.3, -0.5, 0.9])
V = np.array([1.0, 2.0, -1.0])


def looped(x):
    s = 0.0
    for i in range(3):
        s = s + np.sum(np.tanh(x * s + i))
    return s


def branchy(x):
    total = 0.0
    k = 0
    while k < 2:
        if np.sum(x) > 0:
            total = total + np.sum(np.exp(x * k) * x)
        else:
            total = total - np.sum(x ** 3)
        k += 1
    return total


def helper(x):
    return np.exp(x) * x


def calls(x):
    return np.sum(helper(x) ** 2) + np.max(x) * np.prod(x[:2])


def indexed(x):
    y = np.zeros_like(x)
    y[0] = x[1] * x[2]
    y[1:] = x[:2] ** 2
    return np.sum(y * x[[0, 2, 0]]) + x[0] * x[2]


class Spring:
    def __init__(self, k):
        self.k = k

    def energy(self, x):
        return 0.5 * self.k * np.sum(np.sin(x) ** 2)


SPRING = Spring(3.0)


def method(x):
    return SPRING.energy(x) + np.linalg.norm(x) ** 3


@pytest.mark.parametrize("f", [looped, branchy, calls, indexed, method])
def test_vjp_of_a_gradient_is_the_hessian_product(f):
    H_fd = fd(grad(f), X)
    assert np.allclose(grad(f)(X), fd(f, X), atol=1e-7)
    out, pull = vjp(grad(f), X)
    assert np.allclose(out, grad(f)(X))
    (ct,) = pull(V)
    assert np.allclose(ct, H_fd.T @ V, rtol=1e-6, atol=1e-6)
    assert np.allclose(ct, hvp(f)(X, V), rtol=1e-10, atol=1e-10)


def test_the_symmetric_form_agrees():
    """higher.symmetric_gradient_vjp (forward over the gradient with respect to every
    argument, the form a call of grad(h) inside compiled code is differentiated through
    at second order) gives the same numbers by another path."""
    from sourcediff.transforms.higher import symmetric_gradient_vjp
    for f in (looped, calls, method):
        made = grad(f).__sourcediff_state__
        got = symmetric_gradient_vjp(made, (X,))[1](V)[0]
        assert np.allclose(got, vjp(grad(f), X)[1](V)[0], rtol=1e-10, atol=1e-10)


def test_hand_computed_hessian_product():
    def f(x):
        return np.sum(np.sin(x) * x ** 2)
    H = np.diag(2 * np.sin(X) + 4 * X * np.cos(X) - X ** 2 * np.sin(X))
    assert np.allclose(vjp(grad(f), X)[1](V)[0], H @ V, atol=1e-12)


def test_it_is_reverse_mode(monkeypatch):
    """No forward-mode code is built or run: the vjp of a gradient still works with
    forward mode and the symmetric path switched off (so this test can fail)."""
    def off(*args, **kwargs):
        raise AssertionError("forward mode was used")
    import sourcediff.transforms.higher as higher
    import sourcediff.pipeline.driver as driver
    x = np.array([0.2, 0.7, -0.4])
    want = fd(grad(calls), x).T @ V
    monkeypatch.setattr(driver, "build_jvp", off)
    monkeypatch.setattr(compiler, "jvp_adjoint", off)
    monkeypatch.setattr(higher, "symmetric_gradient_vjp", off)
    assert np.allclose(vjp(grad(calls), x)[1](V)[0], want, atol=1e-6)
    with pytest.raises(AssertionError, match="forward mode"):
        hvp(calls)(x, V)


def test_grad_of_a_scalar_function_of_a_gradient():
    """grad(lambda x: sum(grad(f)(x) ** 2)) = 2 H grad f, the grad(f) call inside
    differentiated by reverse over reverse."""
    def f(x):
        return np.sum(np.cos(x) * x ** 3)

    def norm2(x):
        return np.sum(grad(f)(x) ** 2)
    g = 3 * X ** 2 * np.cos(X) - X ** 3 * np.sin(X)
    h = 6 * X * np.cos(X) - 6 * X ** 2 * np.sin(X) - X ** 3 * np.cos(X)
    assert np.allclose(grad(norm2)(X), 2 * h * g, atol=1e-12)
    assert np.allclose(grad(norm2)(X), fd(norm2, X), atol=1e-6)
    # and its Hessian (forward over the generated gradient, the call inside as generated
    # code): against differences of the gradient
    assert np.allclose(hessian(norm2)(X), fd(grad(norm2), X), atol=1e-5)


def test_tuple_wrt_and_third_order_through_vjp():
    def f(x, y):
        return np.sum(np.sin(x) * y ** 2)
    x, y = np.array([0.3, 1.1]), np.array([0.7, -0.2])
    dx, dy = np.array([1.0, -1.0]), np.array([0.5, 2.0])
    cx, cy = vjp(grad(f, wrt=(0, 1)), x, y)[1]((dx, dy))
    # H = [[diag(-sin x y^2), diag(2 y cos x)], [diag(2 y cos x), diag(2 sin x)]]
    assert np.allclose(cx, -np.sin(x) * y ** 2 * dx + 2 * y * np.cos(x) * dy, atol=1e-12)
    assert np.allclose(cy, 2 * y * np.cos(x) * dx + 2 * np.sin(x) * dy, atol=1e-12)

    def cube(t):
        return np.sin(t) * t ** 3
    t = 0.7
    s, c = np.sin(t), np.cos(t)
    third = 6 * s + 18 * t * c - 9 * t ** 2 * s - t ** 3 * c
    assert vjp(grad(grad(cube)), t)[1](1.0)[0] == pytest.approx(third, rel=1e-12)


def test_containers_and_defaults():
    """A dict argument (its gradient's key order is not the argument's), a list
    argument, a keyword-only default: each against differences of the gradient."""
    def f(p, x):
        return np.sum(np.tanh(p["w"] * x + p["b"]) ** 2)
    p, x = {"w": np.array([0.3, -0.2]), "b": 0.4}, np.array([1.0, 2.0])
    ct = vjp(grad(f), p, x)[1]({"w": np.array([1.0, 0.0]), "b": 0.0})
    g_w0 = lambda w: grad(f)({"w": w, "b": 0.4}, x)["w"][0]  # noqa: E731
    assert np.allclose(ct[0]["w"], fd(g_w0, p["w"]), atol=1e-7)
    assert ct[0]["b"] == pytest.approx(float(fd(lambda b: grad(f)({"w": p["w"], "b": b}, x)[
        "w"][0], 0.4)), abs=1e-7)
    assert np.allclose(ct[1], fd(lambda x: grad(f)(p, x)["w"][0], x), atol=1e-7)

    def lst(xs):
        acc = []
        for v in xs:
            acc.append(np.sin(v) * v)
        return np.sum(acc[0] * acc[1])
    xs = [np.array([0.2, 0.5]), np.array([1.0, -0.3])]
    (c0, c1), = vjp(grad(lst), xs)[1]([np.ones(2), np.zeros(2)])
    assert np.allclose(c1, fd(lambda b: np.sum(grad(lst)([xs[0], b])[0]), xs[1]), atol=1e-7)
    assert np.allclose(c0, fd(lambda a: np.sum(grad(lst)([a, xs[1]])[0]), xs[0]), atol=1e-7)

    def kw(x, *, scale=2.0):
        return np.sum(np.exp(scale * x))
    assert np.allclose(vjp(grad(kw), X)[1](V)[0], 4 * np.exp(2 * X) * V, atol=1e-12)


def test_through_a_user_primitive():
    """The generated gradient calls the primitive and its defvjp rule (plain Python): the
    tape records both."""
    @sourcediff.primitive
    def cube(x):
        return x ** 3
    cube.defvjp(lambda g, ans, x: (3 * g * x ** 2,))
    cube.defjvp(lambda t, ans, x: 3 * t[0] * x ** 2)

    def f(x):
        return np.sum(np.sin(cube(x)))
    want = (6 * X * np.cos(X ** 3) - 9 * X ** 4 * np.sin(X ** 3)) * V
    assert np.allclose(vjp(grad(f), X)[1](V)[0], want, atol=1e-12)
    assert np.allclose(vjp(grad(f), X)[1](V)[0], fd(grad(f), X) @ V, atol=1e-6)


def quartic_helper(x):
    return x ** 4 + np.sin(x)


def quartic(x):
    cube = lambda u: u * u * u  # noqa: E731
    return quartic_helper(x) + cube(x)


@pytest.mark.parametrize("x", [0.7, -1.3])
def test_reverse_over_forward_code_through_calls(x):
    """vjp of grad(grad(f)) runs the tape over forward-mode code (its jvp_call of the
    callees' tangent code traced too): third and fourth derivatives."""
    third, fourth = 24 * x - np.cos(x) + 6, 24 + np.sin(x)
    assert vjp(grad(grad(quartic)), x)[1](1.0)[0] == pytest.approx(third, rel=1e-12)
    assert vjp(grad(grad(grad(quartic))), x)[1](1.0)[0] == pytest.approx(fourth, rel=1e-12)

    def k(x):
        def inner(y):
            return np.sin(x * y)
        return x * grad(inner)(0.5)
    d3 = (grad(grad(k))(x + 1e-5) - grad(grad(k))(x - 1e-5)) / 2e-5
    assert vjp(grad(grad(k)), x)[1](1.0)[0] == pytest.approx(d3, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("ord", [3, -1, 1.5, 2, None, 1, np.inf])
def test_vector_norms_at_order_two(ord):
    """p-norms: d2/dx2 (sum |x|^p)^(1/p) by both modes (forward over reverse gave zeros
    for p-norms before issue #16); ord 1 and inf are piecewise linear (zero)."""
    def f(x):
        return np.linalg.norm(x, ord) * np.sum(x)
    x = np.array([0.3, -0.5, 0.9])
    H_fd = fd(grad(f), x, 1e-6)
    assert np.allclose(hessian(f)(x), H_fd, atol=1e-6)
    assert np.allclose(vjp(grad(f), x)[1](V)[0], H_fd.T @ V, atol=1e-6)


def test_refused_not_wrong():
    def f(x):
        return np.sum(x ** 3)
    with pytest.raises(SourceDiffError, match="value_and_grad"):
        vjp(value_and_grad(f), X)
    with pytest.raises(SourceDiffError, match="cotangent"):
        vjp(grad(f), X)[1](np.ones(2))


# --- the tape over itself, and the engines mixed ------------------------------------------------
def cube_sin(x):
    return np.sin(x) * x ** 3


@pytest.mark.parametrize("x", [0.7, -1.2])
def test_tape_over_tape_to_order_three(x):
    d = [cube_sin, tape.grad(cube_sin)]
    d.append(tape.grad(d[-1]))
    d.append(tape.grad(d[-1]))
    s, c = np.sin(x), np.cos(x)
    hand = [3 * x ** 2 * s + x ** 3 * c, 6 * x * s + 6 * x ** 2 * c - x ** 3 * s,
            6 * s + 18 * x * c - 9 * x ** 2 * s - x ** 3 * c]
    for k in (1, 2, 3):
        assert d[k](x) == pytest.approx(hand[k - 1], rel=1e-12)
        assert d[k](x) == pytest.approx(float(fd(d[k - 1], x)), rel=1e-6)


def test_tape_over_tape_arrays():
    def f(x):
        return np.sum(np.tanh(x) ** 2 * x[::-1])
    g = tape.grad(f)
    H = np.stack([tape.grad(lambda x, i=i: g(x)[i])(X) for i in range(3)])
    assert np.allclose(H, hessian(f)(X), atol=1e-12)
    assert np.allclose(H, fd(g, X), atol=1e-6)


@pytest.mark.filterwarnings("ignore:sourcediff")
def test_mixing_the_engines():
    """What is right works (the compiler falls back to the tape for a tape function, the
    tape runs a compiled gradient given traced values); forward mode over a tape function,
    and the tape over a compiled gradient directly, are refused with the other engine named."""
    def f(x):
        return np.sum(np.tanh(x) ** 2 * x[::-1])
    H = hessian(f)(X)
    assert np.allclose(vjp(tape.grad(f), X)[1](V)[0], H @ V, atol=1e-12)  # (warns: the tape)
    assert np.allclose(tape.grad(lambda x: np.sum(grad(f)(x)))(X), H.sum(0), atol=1e-12)
    for run in (lambda: jvp(tape.grad(f), (X,), (V,)), lambda: jacobian(tape.grad(f))(X),
                lambda: hvp(tape.grad(f))(X, V), lambda: tape.vjp(grad(f), X)):
        with pytest.raises(SourceDiffError, match="tape"):
            run()
    with pytest.raises(SourceDiffError, match="tape"):
        grad(grad(tape.grad(cube_sin)))(0.7)


def test_reverse_over_reverse_refuses_what_the_tape_cannot_run():
    """A rule whose second derivative is refused stays refused in reverse over reverse."""
    def f(x):
        return np.sum(np.linalg.norm(x, ord="nuc") * x)
    A = np.array([[1.0, 0.3], [0.2, 2.0]])
    assert np.isfinite(grad(f)(A)).all()
    with pytest.raises(MissingRuleError):
        vjp(grad(f), A)[1](np.ones((2, 2)))
    assert sourcediff  # (the table is registered)

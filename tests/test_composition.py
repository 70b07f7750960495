"""Issue #16: every transformation composes with every other, through calls, to any order.

Second derivatives are checked against central differences of an independently checked
first-order result (the gradient, itself checked against differences of the loss) and
against hand-computed values; nothing here is checked only against another sourcediff
code path."""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest

from checks import fd, loss_of
from sourcediff import SourceDiffError, grad, hessian, hvp, jacobian, jvp, vjp
from sourcediff.prims import registry, rules
from sourcediff import tape
from sourcediff.errors import MissingRuleError

assert rules  # the table is registered on import



# --- a loss with helpers, a lambda and a method in it --------------------------------------
def predict(w, X):
    return np.tanh(X @ w)


def penalty(w):
    return 0.5 * np.sum(w ** 2)


class Model:
    def __init__(self, X, y):
        self.X, self.y = X, y

    def predict(self, w):
        return predict(w, self.X)

    def loss(self, w):
        r = self.predict(w) - self.y
        return np.sum(r * r) + 0.1 * penalty(w)


RNG = np.random.default_rng(16)
X = RNG.normal(size=(5, 3))
Y = RNG.normal(size=5)
W = np.array([0.3, -0.2, 0.5])
MODEL = Model(X, Y)


def loss(w):
    sq = lambda r: r * r  # noqa: E731
    r = predict(w, X) - Y
    return np.sum(sq(r)) + 0.1 * penalty(w)


def method_loss(w):
    return MODEL.loss(w)


def hand_hessian(w):
    """d2/dw2 of sum((tanh(Xw) - y)^2) + 0.05 |w|^2, by hand."""
    t = np.tanh(X @ w)
    d1 = 1 - t ** 2                  # tanh'
    d2 = -2 * t * d1                 # tanh''
    r = t - Y
    coef = 2 * (d1 ** 2 + r * d2)
    return X.T @ (coef[:, None] * X) + 0.1 * np.eye(3)


@pytest.mark.parametrize("f", [loss, method_loss])
def test_hessian_and_hvp_through_helpers(f):
    g = grad(f)(W)
    assert np.allclose(g, fd(f, W), atol=1e-7)
    H = hessian(f)(W)
    assert np.allclose(H, fd(grad(f), W, 1e-5), atol=1e-7)
    assert np.allclose(H, hand_hessian(W), atol=1e-10)
    v = np.array([1.0, -2.0, 0.5])
    assert np.allclose(hvp(f)(W, v), hand_hessian(W) @ v, atol=1e-10)


def quartic_helper(x):
    return x ** 4 + np.sin(x)


def quartic(x):
    cube = lambda u: u * u * u  # noqa: E731
    return quartic_helper(x) + cube(x)


@pytest.mark.parametrize("x", [0.7, -1.3])
def test_third_and_fourth_order_through_calls(x):
    d = [quartic, grad(quartic)]
    for _ in range(3):
        d.append(grad(d[-1]))
    hand = [4 * x ** 3 + np.cos(x) + 3 * x ** 2, 12 * x ** 2 - np.sin(x) + 6 * x,
            24 * x - np.cos(x) + 6, 24 + np.sin(x)]
    for k in range(1, 5):
        assert d[k](x) == pytest.approx(hand[k - 1], rel=1e-12, abs=1e-12)
        assert d[k](x) == pytest.approx(float(fd(d[k - 1], x, 1e-5)), rel=1e-6, abs=1e-6)


def test_higher_order_through_a_method_bound_to_a_global():
    model = Model(np.array([[1.3]]), np.array([0.2]))

    def f(x):
        return model.loss(np.array([x]))
    d = [f, grad(f), grad(grad(f)), grad(grad(grad(f)))]
    for k in range(1, 4):
        assert d[k](0.4) == pytest.approx(float(fd(d[k - 1], 0.4, 1e-5)), rel=1e-6)


# --- reverse over reverse, tuple wrt ------------------------------------------------------------
def mixed(x, y):
    return np.sum(predict(x, X) * y[0] ** 2) + np.sum(np.sin(x) * y[1])


XV, YV = np.array([0.2, -0.4, 0.7]), np.array([1.1, 0.6])


def hand_mixed():
    t = np.tanh(X @ XV)
    Hxx = X.T @ ((YV[0] ** 2 * -2 * t * (1 - t ** 2))[:, None] * X) - np.diag(np.sin(XV) * YV[1])
    Hxy = np.stack([X.T @ (1 - t ** 2) * 2 * YV[0], np.cos(XV)], axis=-1)    # (3, 2)
    Hyy = np.array([[2 * np.sum(t), 0.0], [0.0, 0.0]])
    return Hxx, Hxy, Hyy


def test_hessian_with_tuple_wrt_gives_nested_blocks():
    H = hessian(mixed, wrt=(0, 1))(XV, YV)
    Hxx, Hxy, Hyy = hand_mixed()
    assert [[b.shape for b in row] for row in H] == [[(3, 3), (3, 2)], [(2, 3), (2, 2)]]
    assert np.allclose(H[0][0], Hxx, atol=1e-12) and np.allclose(H[1][1], Hyy, atol=1e-12)
    assert np.allclose(H[0][1], Hxy, atol=1e-12) and np.allclose(H[1][0], Hxy.T, atol=1e-12)
    gy = grad(mixed, wrt=1)
    assert np.allclose(H[1][0], fd(lambda x: gy(x, YV), XV, 1e-5), atol=1e-7)


def test_jacobian_jvp_vjp_of_a_tuple_gradient():
    g = grad(mixed, wrt=(0, 1))
    Hxx, Hxy, Hyy = hand_mixed()
    J = jacobian(g, 1)(XV, YV)           # (d gx/dy, d gy/dy)
    assert np.allclose(J[0], Hxy, atol=1e-12) and np.allclose(J[1], Hyy, atol=1e-12)
    dx, dy = np.array([1.0, 0.5, -1.0]), np.array([0.3, -0.2])
    _, (tx, ty) = jvp(g, (XV, YV), (dx, dy))
    assert np.allclose(tx, Hxx @ dx + Hxy @ dy, atol=1e-12)
    assert np.allclose(ty, Hxy.T @ dx + Hyy @ dy, atol=1e-12)
    out, pull = vjp(g, XV, YV)
    cx, cy = pull((dx, dy))                        # H is symmetric: the same numbers
    assert np.allclose(cx, Hxx @ dx + Hxy @ dy, atol=1e-12)
    assert np.allclose(cy, Hxy.T @ dx + Hyy @ dy, atol=1e-12)
    # d/dx of <g(x, y), (dx, dy)> by differences of the first-order gradient
    assert np.allclose(cx, fd(lambda x: np.dot(g(x, YV)[0], dx) + np.dot(g(x, YV)[1], dy),
                              XV, 1e-5), atol=1e-7)


def test_vjp_and_jacobian_of_a_single_gradient():
    g = grad(loss)
    v = np.array([0.5, 1.0, -1.5])
    out, pull = vjp(g, W)
    assert np.allclose(out, g(W))
    (ct,) = pull(v)
    assert np.allclose(ct, hand_hessian(W) @ v, atol=1e-10)
    gy = grad(mixed, wrt=1)   # 2 outputs, 3 inputs: jacobian runs reverse mode
    assert np.allclose(jacobian(gy, 0)(XV, YV), hand_mixed()[1].T, atol=1e-12)
    with pytest.raises(SourceDiffError, match="cotangent"):
        pull(np.ones(2))


def test_hvp_with_tuple_wrt_takes_one_vector_per_argument():
    Hxx, Hxy, Hyy = hand_mixed()
    dx, dy = np.array([1.0, 0.5, -1.0]), np.array([0.3, -0.2])
    hx, hy = hvp(mixed, wrt=(0, 1))(XV, YV, (dx, dy))
    assert np.allclose(hx, Hxx @ dx + Hxy @ dy) and np.allclose(hy, Hxy.T @ dx + Hyy @ dy)
    with pytest.raises(SourceDiffError, match="2 vector"):
        hvp(mixed, wrt=(0, 1))(XV, YV, dx)


# --- nested differentiation ---------------------------------------------------------------------
def times(y, x):
    return x * y


def plus(y, x):
    return x + y


def outer_times(x):
    return x * grad(times)(2.0, x)       # x * d/dy (x y) = x^2: derivative 2x


def confusion(x):
    return x * grad(plus)(0.3, x)        # x * d/dy (x + y) = x: derivative 1 everywhere


@pytest.mark.parametrize("x", [1.5, -0.4])
def test_nested_grad_of_a_module_function_in_forward_mode(x):
    assert jvp(outer_times, (x,), (1.0,))[1] == pytest.approx(2 * x, abs=1e-12)
    assert jvp(confusion, (x,), (1.0,))[1] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("f, first, second", [(outer_times, lambda x: 2 * x, lambda x: 2.0),
                                               (confusion, lambda x: 1.0, lambda x: 0.0)])
@pytest.mark.parametrize("x", [1.5, -0.4])
def test_nested_grad_to_second_order(f, first, second, x):
    """grad of a function calling grad(h) of a module function: order 1 (reverse over
    reverse inside), order 2 by grad(grad(g)), hessian and vjp of the gradient, each
    against the hand-computed value and differences of the order below."""
    assert grad(f)(x) == pytest.approx(first(x), abs=1e-12)
    assert grad(f)(x) == pytest.approx(float(fd(f, x)), abs=1e-7)
    for value in (grad(grad(f))(x), hessian(f)(x), vjp(grad(f), x)[1](1.0)[0]):
        assert value == pytest.approx(second(x), abs=1e-12)
        assert value == pytest.approx(float(fd(grad(f), x, 1e-5)), abs=1e-6)


def test_grad_of_a_closure_over_the_differentiated_value():
    """grad(h) inside a differentiated function, h reading its argument: h is lifted
    (the local it reads becomes a trailing parameter), so no perturbation confusion."""
    def g(x):
        return x * grad(lambda y: x * y)(2.0)  # d/dx x * x = 2x

    def h(x):
        inner = lambda y: x + y  # noqa: E731
        return x * grad(inner)(0.5)  # the classic case: d/dx [x * d/dy (x + y)] = 1

    def k(x):
        def inner(y):
            return np.sin(x * y)
        return x * grad(inner)(0.5)  # x * x cos(x / 2)
    for f, want, want2 in (
            (g, lambda x: 2 * x, lambda x: 2.0), (h, lambda x: 1.0, lambda x: 0.0),
            (k, lambda x: 2 * x * np.cos(x / 2) - x * x * np.sin(x / 2) / 2,
             lambda x: 2 * np.cos(x / 2) - 2 * x * np.sin(x / 2) - x * x * np.cos(x / 2) / 4)):
        for x in (-0.7, 1.5):
            fd = (f(x + 1e-6) - f(x - 1e-6)) / 2e-6
            assert grad(f)(x) == pytest.approx(want(x), rel=1e-9)
            assert grad(f)(x) == pytest.approx(fd, rel=1e-6)
            assert jvp(f, (x,), (1.0,))[1] == pytest.approx(want(x), rel=1e-9)
            second = (grad(f)(x + 1e-5) - grad(f)(x - 1e-5)) / 2e-5
            for value in (grad(grad(f))(x), hessian(f)(x), vjp(grad(f), x)[1](1.0)[0]):
                assert value == pytest.approx(want2(x), rel=1e-9, abs=1e-12)
                assert value == pytest.approx(second, rel=1e-6, abs=1e-6)
        # third order: forward over forward over the generated gradient inside
        d3 = (grad(grad(f))(1.2 + 1e-5) - grad(grad(f))(1.2 - 1e-5)) / 2e-5
        assert grad(grad(grad(f)))(1.2) == pytest.approx(d3, rel=1e-6, abs=1e-6)


# --- tuple-returning functions and primitives ---------------------------------------------------
def two(x):
    return np.sin(x), x ** 2


def uses_two(x):
    a, b = two(x)
    return np.sum(a * b)


def as_list(x):
    return [np.sin(x), x * 2.0]


def test_tuple_returning_helper_and_outputs():
    x = np.array([0.3, 0.8])
    assert np.allclose(grad(uses_two)(x), np.cos(x) * x ** 2 + 2 * x * np.sin(x))
    H = hessian(uses_two)(x)
    assert np.allclose(H, np.diag(2 * np.sin(x) + 4 * x * np.cos(x) - x ** 2 * np.sin(x)))
    assert np.allclose(H, fd(grad(uses_two), x, 1e-5), atol=1e-7)
    _, (ct,) = vjp(two, x)[0], vjp(two, x)[1]((np.ones(2), np.ones(2)))
    assert np.allclose(ct, np.cos(x) + 2 * x)
    out, t = jvp(as_list, (x,), (np.array([1.0, -1.0]),))
    assert isinstance(t, list) and np.allclose(t[0], np.cos(x) * [1, -1]) and np.allclose(
        t[1], [2.0, -2.0])
    out, t = jvp(two, (x,), (np.ones(2),))
    assert isinstance(t, tuple) and np.allclose(t[1], 2 * x)


@pytest.mark.parametrize("name, f", [
    ("eigh", lambda a: np.sum(np.linalg.eigh(a)[0] ** 2)),
    ("svd", lambda a: np.sum(np.linalg.svd(a)[1])),
    ("qr", lambda a: np.sum(np.linalg.qr(a)[1])),
    ("slogdet", lambda a: np.linalg.slogdet(a)[1]),
])
def test_tuple_returning_primitives_are_right_or_refused(name, f):
    A = np.array([[2.0, 0.3], [0.3, 1.0]])
    D = np.array([[0.1, -0.2], [-0.2, 0.3]])
    for run, check in [
            (lambda: grad(f)(A), lambda g: np.allclose(g, fd(f, A), atol=1e-6)),
            (lambda: jvp(f, (A,), (D,))[1],
             lambda t: np.isclose(t, (f(A + 1e-6 * D) - f(A - 1e-6 * D)) / 2e-6, atol=1e-6))]:
        try:
            value = run()
        except MissingRuleError as exc:
            assert "np.linalg." + name in str(exc)
            continue
        assert check(value)


# --- the rule table at order 2 -----------------------------------------------------------------
A0 = np.array([[0.9, -0.3, 0.4], [0.2, 0.7, -0.5]])
X0 = np.array([[0.31, 0.42, 0.53], [0.64, 0.37, 0.48]])
S0 = 0.42
IDX = np.array([2, 0, 2])

# rule name -> (input: "a" a (2, 3) array or "s" a float, the expression with P the rule)
UNARY_NP = ["np.negative", "np.positive", "np.reciprocal", "np.square", "np.sqrt", "np.cbrt",
            "np.exp", "np.exp2", "np.expm1", "np.log", "np.log2", "np.log10", "np.log1p",
            "np.sin", "np.cos", "np.tan", "np.arcsin", "np.arccos", "np.arctan", "np.sinh",
            "np.cosh", "np.tanh", "np.arcsinh", "np.arctanh", "np.copy", "np.ascontiguousarray",
            "np.real", "np.ravel", "np.atleast_1d", "np.atleast_2d", "np.atleast_3d",
            "np.linalg.norm", "sourcediff.runtime.cot.copy_of", "operator.neg", "operator.pos",
            "np.asarray", "np.array"]
UNARY_MATH = ["math.sqrt", "math.exp", "math.expm1", "math.log2", "math.log10", "math.log1p",
              "math.sin", "math.cos", "math.tan", "math.asin", "math.acos", "math.atan",
              "math.sinh", "math.cosh", "math.tanh", "math.erf", "builtins.float"]
CASES = {name: ("a", "P(x)") for name in UNARY_NP}
CASES.update({name: ("s", "P(x)") for name in UNARY_MATH})
CASES.update({name: ("a", "P(x - 0.45)") for name in
              ["np.absolute", "np.fabs", "builtins.abs", "operator.abs"]})
CASES.update({name: ("a", "P(x, x[0] * 0.8 + 0.2)") for name in
              ["operator.add", "np.add", "operator.sub", "np.subtract", "operator.mul",
               "np.multiply", "operator.truediv", "np.divide", "np.hypot", "np.logaddexp",
               "np.arctan2"]})
CASES.update({name: ("a", "P(x, x[::-1, ::-1] * 0.9 + 0.01)") for name in
              ["np.maximum", "np.minimum", "np.fmax", "np.fmin"]})
CASES.update({name: ("a", "P(x, x[0] + 1.2)") for name in ["operator.pow", "np.power"]})
CASES.update({name: ("a", "P(x * 2.0, x[0] * 0.1 + 0.7)") for name in
              ["operator.mod", "np.remainder", "np.fmod"]})
CASES.update({name: ("a", "P(x, x.T)") for name in ["operator.matmul", "np.matmul", "np.dot"]})
CASES.update({name: ("a", "P(x, 1)") for name in
              ["np.sum", "np.mean", "np.prod", "np.max", "np.amax", "np.min", "np.amin",
               "np.cumsum", "np.flip", "np.expand_dims"]})
CASES.update({
    "math.fabs": ("s", "P(x - 0.3)"), "math.pow": ("s", "P(x, x + 1.2)"),
    "math.fmod": ("s", "P(x * 2.0, 0.3 * x + 0.5)"), "math.log": ("s", "P(x, 3.0 + x)"),
    "math.atan2": ("s", "P(x, 0.5 * x + 0.2)"), "math.hypot": ("s", "P(x, 0.3 * x + 0.2)"),
    "builtins.max": ("s", "P(x, 0.3)"), "builtins.min": ("s", "P(x, 0.3)"),
    "np.arccosh": ("a", "P(x + 1.5)"), "sourcediff.runtime.numeric.xlogy": ("a", "P(x, x + 0.5)"),
    "np.where": ("a", "P(x > 0.45, x, x * x)"), "np.clip": ("a", "P(x, x[0, 0] * 0.9, 0.6)"),
    "sourcediff.runtime.numeric.item_of": ("a", "P(x[0, 1])"),
    "builtins.sum": ("a", "P([x[0], x[1]], x[0])"),
    "sourcediff.runtime.numeric.builtin_sum": ("a", "P([x[0], x[1]], x[0])"),
    "sourcediff.runtime.numeric.builtin_sum_vjp": ("a", "P(x[0], A0)"),
    "np.outer": ("a", "P(x[0], x[1])"), "np.inner": ("a", "P(x, x[:, ::-1])"),
    "sourcediff.runtime.linalg.inner_vjp_a": ("a", "P(x[:, :2] * x[:, 1:], A0, x)"),
    "sourcediff.runtime.linalg.inner_vjp_b": ("a", "P(x[:, :2] * x[:, 1:], A0, x)"),
    "np.trace": ("a", "P(x @ x.T)"), "np.transpose": ("a", "P(x, (1, 0))"),
    "np.swapaxes": ("a", "P(x, 0, 1)"), "np.moveaxis": ("a", "P(x, 0, 1)"),
    "np.reshape": ("a", "P(x, (3, 2))"), "np.squeeze": ("a", "P(x[None])"),
    "np.linalg.det": ("a", "P(x @ x.T + np.eye(2))"),
    "np.linalg.inv": ("a", "P(x @ x.T + np.eye(2))"),
    "np.broadcast_to": ("a", "P(x[0], (2, 3))"), "np.concatenate": ("a", "P((x, x * x), 0)"),
    "np.stack": ("a", "P((x, x * x), 0)"), "np.einsum": ("a", "P('ij,kj->ik', x, x)"),
    "sourcediff.runtime.numeric.r_concat": ("a", "P((x[0], x[1]))"),
    "sourcediff.runtime.numeric.c_concat": ("a", "P((x[0], x[1]))"),
    "np.take": ("a", "P(x, IDX, 1)"), "operator.getitem": ("a", "P(x, (1, slice(0, 2)))"),
    "sourcediff.runtime.broadcast.unbroadcast": ("a", "P(x, x[0])"),
    "sourcediff.runtime.broadcast.unbroadcast_to": ("a", "P(x, (3,))"),
    "sourcediff.runtime.broadcast.broadcast_like": ("a", "P(x[0], x)"),
    "sourcediff.runtime.broadcast.unreduce": ("a", "P(np.sum(x, axis=0), x, 0, False)"),
    "sourcediff.runtime.cot.reshape_like": ("a", "P(np.ravel(x), x)"),
    "sourcediff.runtime.cot.cast_cot": ("a", "P(x, np.float64)"),
    "sourcediff.runtime.numeric.cast": ("a", "P(x * x, 'float64', True)"),
    "sourcediff.runtime.cot.real_cot": ("a", "P(x, x)"),
    "sourcediff.runtime.cot.untranspose": ("a", "P(x, (1, 0))"),
    "sourcediff.runtime.cot.unindex": ("a", "P(x[0], x, 0)"),
    "sourcediff.runtime.linalg.matmul_vjp_a": ("a", "P(x[:, :2] * x[:, 1:], A0, x.T)"),
    "sourcediff.runtime.linalg.matmul_vjp_b": ("a", "P(x[:, :2] * x[:, 1:], A0, x.T)"),
    "sourcediff.runtime.linalg.dot_vjp_a": ("a", "P(x[:, :2] * x[:, 1:], A0, x.T)"),
    "sourcediff.runtime.linalg.dot_vjp_b": ("a", "P(x[:, :2] * x[:, 1:], A0, x.T)"),
    "sourcediff.runtime.cot.cut_index": ("a", "P(x, 0)"),
    "sourcediff.runtime.broadcast.unreduce_select": ("a", "P(np.sum(x, axis=0), np.max(A0, axis=0), A0, 0, False)"),
    "sourcediff.runtime.calls.filled_tangent": ("a", "P(x, x)"),
})
# issue #18 (breadth): rules_shape, rules_reduce, rules_linalg, rules_scipy and their helpers
CASES.update({name: ("a", "P(x)") for name in
              ["np.deg2rad", "np.degrees", "np.rad2deg", "np.radians", "np.nan_to_num", "np.sinc",
               "np.fliplr", "np.flipud", "np.rot90", "np.diagonal", "scipy.special.erf",
               "scipy.special.erfc", "scipy.special.expit", "scipy.special.gamma",
               "scipy.special.gammaln", "scipy.special.psi", "scipy.special.logit"]})
CASES.update({name: ("a", "P(x, 1)") for name in
              ["np.cumprod", "np.median", "np.nanmean", "np.nansum", "np.ptp", "np.std", "np.tril",
               "np.triu", "scipy.special.softmax", "scipy.special.log_softmax",
               "scipy.special.logsumexp"]})
CASES.update({name: ("a", "P((x, x * x))") for name in
              ["np.vstack", "np.hstack", "np.dstack", "np.column_stack"]})
CASES.update({name: ("a", "P(x, x[0] + 0.5)") for name in
              ["scipy.special.xlogy", "scipy.special.xlog1py", "scipy.special.betaln"]})
CASES.update({name: ("a", "P(x[:, :2])") for name in
              ["sourcediff.runtime.numeric_linalg.chol_phi", "sourcediff.runtime.numeric_linalg.lower_sym",
               "sourcediff.runtime.numeric_linalg.lower_sym_adj"]})
CASES.update({
    "np.append": ("a", "P(x, x[:1] * 2.0, 0)"), "np.array_split": ("a", "P(x, 2, 1)[0]"),
    "np.split": ("a", "P(x, 3, 1)[2]"), "np.average": ("a", "P(x, 1, x[0] + 0.5)"),
    "np.cross": ("a", "P(x, x[::-1])"), "np.diag": ("a", "P(x[0])"), "np.diff": ("a", "P(x, 1, 1)"),
    "np.float_power": ("a", "P(x, x[0] + 1.2)"), "np.kron": ("a", "P(x, x[:, :2])"),
    "np.logaddexp2": ("a", "P(x, x[0] * 0.8 + 0.2)"),
    "np.linalg.cholesky": ("a", "P(x @ x.T + np.eye(2))"),
    "np.linalg.eigh": ("a", "P(x @ x.T + np.diag([1.0, 2.0]))[1] ** 2"),
    "np.linalg.eigvalsh": ("a", "P(x @ x.T)"), "np.linalg.qr": ("a", "P(x.T)[1]"),
    "np.linalg.slogdet": ("a", "P(x @ x.T + np.eye(2))[1]"),
    "np.linalg.solve": ("a", "P(x @ x.T + np.eye(2), x)"),
    "np.pad": ("a", "P(x, ((1, 0), (0, 2)), mode='reflect')"),
    "np.percentile": ("a", "P(x, [20.0, 70.0], 1)"), "np.quantile": ("a", "P(x, 0.3, 0)"),
    "np.repeat": ("a", "P(x, 2, 0)"), "np.roll": ("a", "P(x, 1, 1)"),
    "np.sort": ("a", "P(x * x[::-1], 1)"), "np.var": ("a", "P(x, 0, None, None, 1)"),
    "np.take_along_axis": ("a", "P(x, np.array([[2, 0, 0]]), 1)"),
    "np.tensordot": ("a", "P(x, x, ([1], [1]))"), "np.tile": ("a", "P(x, (2, 1))"),
    "np.vdot": ("a", "P(x, x[::-1])"),
    "scipy.linalg.solve_triangular": ("a", "P(x @ x.T + np.eye(2), x, lower=True)"),
    "scipy.special.polygamma": ("a", "P(1, x)"),
    "scipy.special.erfinv": ("a", "P(x)"), "scipy.special.erfcinv": ("a", "P(x + 0.5)"),
    "scipy.stats.norm.logpdf": ("a", "P(x, x[0] * 0.5, x[1] + 0.5)"),
    "scipy.stats.norm.pdf": ("a", "P(x, x[0] * 0.5, x[1] + 0.5)"),
    "scipy.stats.norm.cdf": ("a", "P(x, x[0] * 0.5, x[1] + 0.5)"),
    "scipy.stats.norm.logcdf": ("a", "P(x, x[0] * 0.5, x[1] + 0.5)"),
    "np.select": ("a", "P([x > 0.5, x < 0.4], [x * x, x[0]], np.sin(x))"),
    "np.partition": ("a", "P(x * x[::-1], 1, 1)"), "np.linalg.pinv": ("a", "P(x)"),
    "np.linalg.multi_dot": ("a", "P([x[0], x.T, x, A0.T])"),
    "sourcediff.runtime.numeric_linalg.eigh_gapinv": ("a", "P(x[0])"),
    "sourcediff.runtime.numeric_reduce.quantile_gather": ("a", "P(x, A0, 0.3, 1)"),
    "sourcediff.runtime.numeric_reduce.quantile_spread": ("a", "P(np.sum(x, axis=1), A0, 0.3, 1)"),
    "sourcediff.runtime.numeric_reduce.weights_along": ("a", "P(x[0], A0, 1)"),
    "sourcediff.runtime.numeric_shape.kron_vjp_a": ("a", "P(np.ravel(x), A0[0, :2], x[1])"),
    "sourcediff.runtime.numeric_shape.kron_vjp_b": ("a", "P(np.ravel(x), x[0, :2], A0[1])"),
    "sourcediff.runtime.numeric_shape.tensordot_vjp_a": ("a", "P(x[:, :2] * x[:, 1:], A0, x, ([1], [1]))"),
    "sourcediff.runtime.numeric_shape.tensordot_vjp_b": ("a", "P(x[:, :2] * x[:, 1:], x, A0, ([1], [1]))"),
    "sourcediff.runtime.numeric_shape.unappend": ("a", "P(np.ravel(x), A0[0], A0[1], None, 1)"),
    "sourcediff.runtime.numeric_shape.undiag": ("a", "P(x[0, :2], A0, 0)"),
    "sourcediff.runtime.numeric_shape.undiagonal": ("a", "P(x[0, :2], A0)"),
    "sourcediff.runtime.numeric_shape.undiff": ("a", "P(x[:, :2], A0, 1, 1)"),
    "sourcediff.runtime.numeric_shape.unpad": ("a", "P(np.pad(x, 1) * 2.0, A0, 1)"),
    "sourcediff.runtime.numeric_shape.unrepeat": ("a", "P(np.repeat(x, 2, 0), A0, 2, 0)"),
    "sourcediff.runtime.numeric_shape.untake_along": ("a", "P(x[:1], A0, np.array([[1, 0, 1]]), 0)"),
    "sourcediff.runtime.numeric_shape.untile": ("a", "P(np.tile(x, (2, 1)), A0, (2, 1))"),
    "sourcediff.prims.rules_scipy.tri_part": ("a", "P(x[:, :2], True)"),
})
CASES.update({  # arrays built from values (rules_fill.py)
    "np.full": ("a", "P((3, 2, 3), x)"), "np.full_like": ("a", "P(A0, x * x)"),
    "np.linspace": ("a", "P(x, x[0] * 2.0 + 1.0, 4)"),
    "sourcediff.runtime.numeric_fill.linspace_cot": ("a", "P(np.tile(x, (4, 1, 1)), x, x[0], 4)"),
    "sourcediff.runtime.numeric_fill.linspace_dot": ("a", "P(x, np.zeros((2, 4, 3)), 4, False, 1)"),
    "np.arange": ("s", "P(x, 4.0, x * 0.5 + 0.3)"),
    "sourcediff.runtime.numeric_fill.arange_cot": ("a", "P(x, 9.0, 2)"),
    "sourcediff.runtime.numeric_fill.arange_dot": ("s", "P(x, np.zeros(4), 9.0, 2)"),
    "np.heaviside": ("a", "P(A0 * (A0 > 0), x)"), "np.row_stack": ("a", "P([x, x * 2.0])"),
    "np.fft.fftfreq": ("s", "P(5, x)"), "np.fft.rfftfreq": ("s", "P(6, x * x)"),
    "np.hsplit": ("a", "P(x, 3)[1] * P(x, [1])[1][:, :1]"), "np.vsplit": ("a", "P(x, 2)[0]"),
    "np.dsplit": ("a", "P(np.stack([x, x * x], 2), 2)[1]"),
    "np.rollaxis": ("a", "P(np.stack([x, x * x], 2), 2, 1)"),
})
# issue #18: complex numbers and np.fft, each on a complex value moved by the real x, to a
# real output (rules of complex arguments at order 2: tests/test_complex.py, test_fft.py)
_C = "(x + 1j * x[::-1, ::-1])"
_R = "* (0.7 - 0.4j))"
_M = "(x @ A0.T + np.array([[0.0, -1.0], [1.0, 0.0]]))"   # complex eigenvalues
CASES.update({
    "builtins.tuple": ("a", "P(x)[1] * P((x[0], x * x))[1] + P([x[1]])[0]"),
    "builtins.list": ("a", "P(x)[1] * P((x[0], x * x))[1] + P([x[1]])[0]"),
    "np.real_if_close": ("a", f"np.real(P({_C})) + P(x * (1 + 1e-16j))"),
    "np.gradient": ("a", "P(x * x, 0.5, np.array([0.0, 0.3, 1.0]))[1] + P(x * x, axis=1, edge_order=2)"),
    "sourcediff.runtime.numeric_reduce.gradient_vjp": ("a", "P((x * x, x), (x, x), x, (0.5, 2.0), None, 1)"),
    "sourcediff.runtime.numeric_reduce.gradient_of": ("a", "P(x * x, (np.array([0.0, 0.3, 1.0]),), 1, 2)"),
    "np.angle": ("a", f"P({_C})"), "np.sign": ("a", f"np.real(P({_C}) {_R}"),
    "np.imag": ("a", f"P({_C} * {_C})"),
    "np.conjugate": ("a", f"np.real(P({_C}) * {_C} {_R}"),
    "builtins.complex": ("s", "np.real(P(x, x * x) ** 2)"),
    "sourcediff.runtime.broadcast.real_if": ("a", f"P({_C} * 0.5, x)"),
    "np.fft.fft": ("a", f"np.real(P({_C}, 4, 1, 'ortho') {_R}"),
    "np.fft.ifft": ("a", f"np.real(P({_C}, 1, 0) {_R}"),
    "np.fft.fft2": ("a", f"np.real(P({_C}, (3, 2)) {_R}"),
    "np.fft.ifft2": ("a", f"np.imag(P({_C}, None, (-2, -1), 'forward'))"),
    "np.fft.fftn": ("a", f"np.real(P({_C}, (4,), (1,)) {_R}"),
    "np.fft.ifftn": ("a", f"np.real(P({_C}, None, None, 'ortho') {_R}"),
    "np.fft.rfft": ("a", f"np.real(P(x, 5, 1) {_R}"),
    "np.fft.rfft2": ("a", "np.imag(P(x, (3, 4)))"),
    "np.fft.rfftn": ("a", f"np.real(P(x, None, (0, 1), 'forward') {_R}"),
    "np.fft.irfft": ("a", f"P({_C}, 5, 1)"), "np.fft.irfft2": ("a", f"P({_C})"),
    "np.fft.irfftn": ("a", f"P({_C}, (3, 4), (0, 1), 'ortho')"),
    "np.fft.hfft": ("a", f"P({_C}, 4, 1)"),
    "np.fft.ihfft": ("a", f"np.real(P(x, 4, 1) {_R}"),
    "np.fft.fftshift": ("a", "P(x, 1)"), "np.fft.ifftshift": ("a", "P(x)"),
    "np.linalg.eig": ("a", f"np.abs(P({_M})[1] * P({_M})[0])"),
    "np.linalg.eigvals": ("a", f"np.real(P({_M}) {_R}"),
    "sourcediff.runtime.numeric_fft.fit": ("a", "P(x, A0[:1, :2]) + P(x[:1, :2], A0)[0, 1]"),
    "sourcediff.runtime.numeric_fft.rfftn_vjp": ("a", f"P({_C}[:, :2], A0, None, (1,))"),
    "sourcediff.runtime.numeric_fft.irfftn_vjp": (
        "a", f"np.real(P(np.concatenate((x, x[:, :1] * 0.5), 1), A0, None, (1,)) {_R}"),
})
# the cotangent helpers generated adjoints call (issue #16: each has both rules)
CASES.update({
    "sourcediff.runtime.cot.get_cot": ("a", "P(x * x, 1)"),
    "sourcediff.runtime.numeric_cot.put_cot": ("a", "P(x[0] * x[1], A0, 1)"),
    "sourcediff.runtime.cot.take_cot": ("a", "P(x * x, (1, slice(0, 2)), A0[0, :2])"),
    "sourcediff.runtime.cot.pop_cot": ("a", "P(x * x, [1.0, 2.0])"),
    "sourcediff.runtime.numeric.plus_cot": ("a", "P(x * x, A0[0], A0, 0)"),
    "sourcediff.runtime.numeric_shape.tuple_cots": ("a", "P([x[:1] * x[1:], None], (A0[:1], A0))[0]"),
    "sourcediff.runtime.numeric_shape.tuple_cot": ("a", "P([x[:1] * x[1:], None], (A0[:1], A0), 0)"),
    "sourcediff.runtime.cot.unconcatenate": ("a", "P(x * x, (A0[:, :1], A0[:, 1:]), 1)[1]"),
    "sourcediff.runtime.cot.unstack": ("a", "P(x * x, (A0[0], A0[1]), 0)[1]"),
    "sourcediff.runtime.numeric_shape.unjoin": ("a", "P(x * x, (A0[0], A0[1]), 'v')[1]"),
    "sourcediff.runtime.numeric_shape.unsplit": ("a", "P([x[:1] * x[1:], None], A0, 2, 0)"),
    "sourcediff.runtime.numeric_shape.unselect": ("a", "P(x * x, [A0 > 0.3, A0 < 0.0], [A0, A0[0]])[1]"),
    "sourcediff.runtime.numeric.r_unconcat": ("a", "P(x[0] * x[1], (A0[0, :1], A0[0, 1:]))[1]"),
    "sourcediff.runtime.numeric.c_unconcat": ("a", "P(x * x, (A0[:, :1], A0[:, 1:]))[1]"),
    "sourcediff.runtime.linalg.trace_vjp": ("a", "P(x[0, 0] * x[1, 1], A0[:, :2])"),
    "sourcediff.runtime.broadcast.prod_vjp": ("a", "P(np.sum(x, 0), np.prod(x + 1.0, axis=0), x + 1.0, 0)"),
    "sourcediff.runtime.linalg.norm_vjp": ("a", "P(x[0, 0] * 2.0, np.linalg.norm(x), x)"),
    "sourcediff.runtime.linalg.einsum_vjp": ("a", "P(x @ x.T, 'ij,kj->ik', [x, x * 2.0], 0)"),
    "sourcediff.runtime.numeric_linalg.multi_dot_vjp": ("a", "P(x * x, [x, x.T, A0], 0)"),
    "sourcediff.runtime.numeric_reduce.sinc_d1": ("a", "P(x)"),
    "sourcediff.runtime.numeric_reduce.sinc_d2": ("a", "P(x)"),
    "sourcediff.runtime.numeric_cot.sinc_dn": ("a", "P(x * 3.0 - 1.0, 3)"),
    "sourcediff.runtime.numeric_cot.norm_x_cot": ("a", "P(x[0, 0] * 2.0, np.linalg.norm(x), x, x * x)"),
    "sourcediff.runtime.numeric_cot.einsum_at": ("a", "P(x * x, 'ij,kj->ik', [x, A0], 1)"),
})
# scipy.stats (rules_stats.py): x in (0.31, 0.64), so every support holds
_SHAPES = {"norm": "", "t": "x[0] + 2.0, ", "beta": "x[0] + 1.5, x[1] + 2.0, ",
           "gamma": "x[0] + 1.5, ", "chi2": "x[1] * 2.0 + 2.0, "}
for _d, _s in _SHAPES.items():
    _c = ", ".join(f"{2.0 + k}" for k in range(_s.count(","))) + (", " if _s else "")
    for _how in ("pdf", "logpdf"):
        CASES[f"scipy.stats.{_d}.{_how}"] = ("a", f"P(x, {_s}x[1] * 0.05, x[0] + 0.5)")
    for _how in ("cdf", "logcdf", "sf", "logsf"):
        CASES[f"scipy.stats.{_d}.{_how}"] = ("a", f"P(x, {_c}x[1] * 0.05, x[0] + 0.5)")
for _how in ("ppf", "isf"):
    CASES[f"scipy.stats.norm.{_how}"] = ("a", "P(x, x[0] * 0.5, x[1] + 0.5)")
for _how in ("pmf", "logpmf", "cdf", "logcdf", "sf", "logsf"):
    CASES[f"scipy.stats.poisson.{_how}"] = ("a", "P(np.array([[0, 1, 2], [3, 1, 0]]), x + 0.5)")
CASES.update({
    "scipy.stats.multivariate_normal.logpdf": ("a", "P(x, x[0] * 0.5, x.T @ x + np.eye(3))"),
    "scipy.stats.multivariate_normal.pdf": ("a", "P(x, x[0] * 0.5, x.T @ x + np.eye(3))"),
    "scipy.stats.dirichlet.logpdf": ("a", "P(x.T / np.sum(x, axis=1), x[0] + 1.0)"),
    "scipy.stats.dirichlet.pdf": ("a", "P(x.T / np.sum(x, axis=1), x[0] + 1.0)"),
    "sourcediff.runtime.numeric_stats.mvn_cov": ("a", "P(x[0], 3)"),
    "sourcediff.runtime.numeric_stats.mvn_cov_adj": ("a", "P(x[:, :2], A0[0, :2])"),
})
CASES.update({  # matrix functions and SciPy's factor-and-solve pairs (rules_matfun.py)
    "np.linalg.matrix_power": ("a", "P(x @ x.T + np.eye(2), 3)"),
    "np.linalg.lstsq": ("a", "P(x.T, x[0] * 2.0 + 0.1)[0]"),
    "np.linalg.svd": ("a", "svd_parts(x)"),
    "scipy.linalg.expm": ("a", "P(x @ x.T * 0.5)"),
    "scipy.linalg.sqrtm": ("a", "P(x @ x.T + np.eye(2))"),
    "sourcediff.runtime.numeric_matfun.sqrtm_checked": ("a", "P(x @ x.T + np.eye(2))"),
    "scipy.linalg.logm": ("a", "P(x @ x.T + np.eye(2))"),
    "scipy.linalg.solve_sylvester": ("a", "P(x @ x.T + np.eye(2), x[:, :2] + 2.0 * np.eye(2), "
                                          "x[:, 1:])"),
    "scipy.linalg.cho_factor": ("a", "P(x @ x.T + np.eye(2))[0]"),
    "scipy.linalg.cho_solve": ("a", "P((np.linalg.cholesky(x @ x.T + np.eye(2)), True), x)"),
    "sourcediff.runtime.numeric_matfun.up_blocks": ("a", "P(x[:, :2], x[:, 1:])"),
    "sourcediff.runtime.numeric_matfun.upper_right": ("a", "P(x[:, :2])"),
    "sourcediff.runtime.numeric_matfun.diag_blocks": ("a", "P(x[:, :2])"),
    "scipy.signal.convolve": ("a", "P(x, x[:, 1:] * 2.0, 'same') + P(x, A0[:1, :2])[:, 1:]"),
    "sourcediff.runtime.numeric_matfun.conv_uncut": ("a", "P(x[:, :2], (2, 3), (1, 2), 'valid')"),
    "sourcediff.runtime.numeric_matfun.conv_cut": ("a", "P(x, (2, 2), (1, 2), 'same')"),
})
CASES.update({name: ("a", "P(x)") for name in  # more of scipy.special (rules_special.py)
              ["scipy.special.rgamma", "scipy.special.j0", "scipy.special.j1",
               "scipy.special.y0", "scipy.special.y1", "scipy.special.i0", "scipy.special.i1"]})
CASES.update({name: ("a", "P(1.5, x)") for name in
              ["scipy.special.jv", "scipy.special.yv", "scipy.special.iv", "scipy.special.ive",
               "sourcediff.runtime.numeric_special.gammainc_da"]})
CASES.update({
    "scipy.special.yn": ("a", "P(2, x)"), "scipy.special.beta": ("a", "P(x, x[0] + 0.5)"),
    "scipy.special.betainc": ("a", "P(2.0, 3.0, x)"),
    "scipy.special.multigammaln": ("a", "P(x + 2.0, 3)"),
    "scipy.special.gammainc": ("a", "P(x + 1.0, x[0] * 3.0)"),
    "scipy.special.gammaincc": ("a", "P(x[1] + 1.0, x)"),
})
CASES.update({
    "scipy.integrate.odeint": ("a", "P(ode_rhs, x[0], np.linspace(0.0, 1.0, 4), (x[1, :2],), "
                                    "rtol=1e-11, atol=1e-11)"),
    "sourcediff.runtime.numeric_ode.unflat_cot": ("a", "P(np.ravel(x), (A0[0], (x[1, :2], 1.0)))[1][0] "
                                          "* P(np.ravel(x) ** 2, (A0[0], (A0[1, :2], 1.0)))[1][1]"),
    "sourcediff.runtime.numeric.r_range": ("a", "P(x[0, 0], 3.0, x[0, 1] + 0.5) * "
                                        "P(x[1, 0], x[1, 1] + 2.0, 3j)"),
    "sourcediff.runtime.numeric_ode.flat_cot": ("a", "P([x[0], [x[1], None]], (A0[0], (x[1], 1.0)))"),
})
SKIPS = {  # rule -> why it is not checked here (each is reached only in generated code)
    "sourcediff.runtime.numeric_ode.odeint_vjp": "odeint's adjoint solve: its second derivative is "
    "odeint's third, refused (MissingRuleError for odeint_hvp, tests/test_breadth_scipy.py); "
    "its first derivative runs in every second derivative of odeint (the case above)",
    "sourcediff.runtime.numeric_ode.odeint_vjp_args": "as odeint_vjp",
    "scipy.stats.multivariate_normal.cdf": "first order only: its cotangent helper "
    "mvn_cdf_dx refuses (tests/test_breadth_scipy.py)",
    "scipy.stats.multivariate_normal.logcdf": "as multivariate_normal.cdf",
}


def ode_rhs(y, t, k):
    """A nonlinear right-hand side for odeint, forced in time."""
    return np.array([y[1] * k[0], -y[0] * y[2] - k[1] * y[1] + np.sin(t), y[0] * y[1]])


def svd_parts(x):
    """Losses of np.linalg.svd that do not depend on the signs its vectors may take."""
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    u2, s2, vh2 = np.linalg.svd(x @ x.T + x[:, :2])   # square: full_matrices holds
    return np.concatenate([np.ravel(u * u), s, np.ravel(vh * vh), np.ravel(u @ vh), s2 * s,
                           np.ravel(u2 @ vh2), np.linalg.svd(x, compute_uv=False)])


def _rules():
    """Rules with a reverse template (the forward-only ones, tangents of cotangent helpers
    such as unconcatenate or prod_vjp, run inside every Hessian of their parent rule)."""
    out = {}
    for rule in registry._RULES.values():
        if rule.user_vjp is None and rule.user_jvp is None and (rule.vjps or rule.seq_vjps):
            out.setdefault(rule.name, rule.fn)
    return out


def test_every_rule_in_the_table_has_a_second_order_case():
    missing = sorted(set(_rules()) - set(CASES) - set(SKIPS))
    assert not missing, f"add a case (or a listed skip) for: {missing}"


def _loss_of(name, fn, expr, **more):
    ns = {"np": np, "math": math, "operator": operator, "P": fn, "A0": A0, "IDX": IDX,
          "svd_parts": svd_parts, "ode_rhs": ode_rhs, **more}
    return loss_of(expr, ns, f"test_composition {name}", "np.sum(out * out + np.sin(out))",
                   "rule_loss")


def _check_order_two(name, f, x):
    """Order 1 against differences of f; order 2 by forward over reverse (hessian), by
    reverse over reverse (vjp of the gradient, one pullback per basis vector: the tape run
    over the generated gradient) and by hvp, each against differences of the gradient."""
    g = grad(f)(x)
    assert np.allclose(g, fd(f, x), rtol=1e-6, atol=1e-6), name
    if not name.startswith(("sourcediff.", "builtins.")):  # (helpers: generated code only;
        # builtins called through the alias P: the tape replaces float only by its name)
        assert np.allclose(tape.grad(f)(x), g, rtol=1e-9, atol=1e-9), ("tape", name)
    H_fd = fd(grad(f), x, 1e-5)
    H = hessian(f)(x)
    assert np.shape(H) == np.shape(H_fd)
    assert np.allclose(H, H_fd, rtol=1e-5, atol=1e-5), ("forward over reverse", name)
    out, pull = vjp(grad(f), x)
    assert np.allclose(out, g)
    if np.ndim(x) == 0:
        H_rr = pull(1.0)[0]
    else:
        H_rr = np.stack([pull(e.reshape(x.shape))[0] for e in np.eye(x.size)]).reshape(H.shape)
    assert np.allclose(H_rr, H_fd, rtol=1e-5, atol=1e-5), ("reverse over reverse", name)
    if np.ndim(x):
        v = np.cos(np.arange(x.size)).reshape(x.shape)
        Hv = np.tensordot(H_fd, v, axes=np.ndim(x))
        assert np.allclose(hvp(f)(x, v), Hv, rtol=1e-5, atol=1e-5), name


@pytest.mark.parametrize("name", sorted(set(_rules()) & set(CASES) - set(SKIPS)))
def test_rule_at_order_two(name):
    kind, expr = CASES[name]
    f = _loss_of(name, _rules()[name], expr)
    _check_order_two(name, f, S0 if kind == "s" else X0.copy())


# the second shape family: a batch of matrices (2, 2, 3), operands broadcast against it
XB = np.array([[[0.31, 0.42, 0.53], [0.64, 0.37, 0.48]], [[0.47, 0.33, 0.61], [0.52, 0.58, 0.36]]])
BATCHED = {name: "P(x)" for name in UNARY_NP if name not in ("np.linalg.norm",)}
BATCHED.update({name: "P(x, x[0, 0] * 0.8 + 0.2)" for name in
                ["np.add", "np.subtract", "np.multiply", "np.divide", "np.hypot",
                 "np.logaddexp", "np.arctan2", "np.maximum", "np.minimum", "np.power",
                 "sourcediff.runtime.numeric.xlogy"]})
BATCHED.update({name: "P(x, np.swapaxes(x, -1, -2))" for name in ["operator.matmul", "np.matmul"]})
BATCHED.update({name: "P(x, (0, 2))" for name in ["np.sum", "np.mean", "np.prod", "np.max", "np.min"]})
BATCHED.update({
    "np.dot": "P(x, x[0].T)", "np.einsum": "P('bij,bkj->bik', x, x)",
    "np.linalg.norm": "P(x, None, 2)", "np.linalg.det": "P(x @ np.swapaxes(x, -1, -2) + np.eye(2))",
    "np.linalg.inv": "P(x @ np.swapaxes(x, -1, -2) + np.eye(2))",
    "np.trace": "P(x[..., :2], 0, 1, 2)", "np.cumsum": "P(x, 2)",
    "np.concatenate": "P((x, x * x), 1)", "np.stack": "P((x, x * x), 2)",
    "np.transpose": "P(x, (2, 0, 1))", "np.where": "P(x > 0.45, x, x[0] * x[0])",
    "np.clip": "P(x, x[0, 0] * 0.9, 0.6)", "operator.getitem": "P(x, (Ellipsis, 1))",
    "np.broadcast_to": "P(x[0, 0], (2, 2, 3))", "np.reshape": "P(x, (4, 3))",
    "np.expand_dims": "P(x, 1)", "np.squeeze": "P(x[:, None])", "np.swapaxes": "P(x, 0, 2)",
    "np.moveaxis": "P(x, 0, 2)", "np.inner": "P(x, x[0])", "np.tensordot": "P(x, x, ([1, 2], [1, 2]))",
    "sourcediff.runtime.broadcast.unbroadcast": "P(x, x[0, 0])",
    "sourcediff.runtime.broadcast.unreduce": "P(np.sum(x, axis=(0, 2)), x, (0, 2), False)",
    "sourcediff.runtime.linalg.matmul_vjp_a": "P(x[..., :2] * x[..., 1:], x, np.swapaxes(x, -1, -2))",
    "sourcediff.runtime.linalg.matmul_vjp_b": "P(x[..., :2] * x[..., 1:], x, np.swapaxes(x, -1, -2))",
    "sourcediff.runtime.broadcast.prod_vjp": "P(np.sum(x, (0, 2)), np.prod(x + 1.0, axis=(0, 2)), x + 1.0, (0, 2))",
    "sourcediff.runtime.linalg.norm_vjp": "P(x[0, 0, :2], np.linalg.norm(x[0], axis=0)[:2], x[0][:, :2], None, 0)",
    "sourcediff.runtime.linalg.trace_vjp": "P(x[0, 0, :2], np.zeros((2, 2, 2)), 0, 1, 2)",
    "sourcediff.runtime.linalg.einsum_vjp": "P(x @ np.swapaxes(x, -1, -2), 'bij,bkj->bik', [x, x * 2.0], 1)",
    "sourcediff.runtime.cot.unstack": "P(x * x, (x[0], x[1]), 0)[1]",
    "sourcediff.runtime.cot.get_cot": "P(x * x, (1, 0))",
    "sourcediff.runtime.numeric.plus_cot": "P([x[0], x[1] * x[0]], [A0], [A0], 1)[0]",
    "sourcediff.runtime.cot.unconcatenate": "P(x * x, (x[:, :1], x[:, 1:]), 1)[1]",
})


@pytest.mark.parametrize("name", sorted(set(_rules()) & set(BATCHED) - set(SKIPS)))
def test_rule_at_order_two_batched(name):
    f = _loss_of(name + " batched", _rules()[name], BATCHED[name])
    _check_order_two(name, f, XB.copy())

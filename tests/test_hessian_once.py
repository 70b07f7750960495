"""A helper, a method and a local closure run once per second derivative: per ``hessian``
(the gradient recorded once, then one reverse pass over the record per row: higher.py),
per ``jacobian`` of a gradient, per ``hvp`` and per ``grad(grad(f))`` (methods and local
``def``s through the residual form too: split.py), checked against central differences
of the gradient and against Hessians worked out by hand, at several shapes."""

import numpy as np
import pytest

from sourcediff import grad, hessian, hvp, jacobian
from sourcediff.transforms.api import adjoint_of
from sourcediff.errors import MissingRuleError
from sourcediff.opt.shapes import spec_of

CALLS = []


def cube(z):
    CALLS.append("cube")
    return z ** 3


class Poly:
    def __init__(self, a):
        self.a = a

    def predict(self, z):
        CALLS.append("predict")
        return self.a * z ** 3

    def loss(self, x, w):
        return np.sum(w * self.predict(x))   # self.predict: a method of a parameter


P = Poly(1.0)


def with_helper(x, w):
    return np.sum(w * cube(x))


def with_global_method(x, w):
    return np.sum(w * P.predict(x))          # a bound method read from a global


def with_self_method(x, w):
    return P.loss(x, w)                       # a method calling self.predict


def with_object_argument(x, w, model):
    return np.sum(w * model.predict(x))      # a method of an argument


def with_local_closure(x, w):
    def local_cube(z):
        CALLS.append("local")
        return z ** 3
    return np.sum(w * local_cube(x))


def with_loop(x, w):
    s = 0.0
    for k in range(1, 4):
        s = s + np.sum(w * cube(x * k))      # sum_k (k x)^3 w: 6 * 36 * w * x on the diagonal
    return s


CASES = [  # (function, extra arguments after w, calls per run, diagonal factor)
    (with_helper, (), ["cube"], 6.0),
    (with_global_method, (), ["predict"], 6.0),
    (with_self_method, (), ["predict"], 6.0),
    (with_object_argument, (Poly(1.0),), ["predict"], 6.0),
    (with_local_closure, (), ["local"], 6.0),
    (with_loop, (), ["cube"] * 3, 216.0),
]
IDS = ["helper", "global_method", "self_method", "object_argument", "local_closure", "loop"]
SHAPES = [(), (3,), (2, 3)]


def point(shape):
    rng = np.random.default_rng(len(shape))
    if shape == ():
        return 0.7, 1.3
    return rng.standard_normal(shape), rng.uniform(0.5, 1.5, shape)


def by_hand(x, w, factor):
    """d2/dx2 of sum(w * c * x ** 3): diagonal, factor * w * x."""
    d = np.ravel(factor * np.asarray(w) * np.asarray(x))
    return np.diag(d).reshape(np.shape(x) + np.shape(x))


def fd_hessian(f, x, rest, eps=1e-6):
    g = grad(f)
    cols = []
    for j in range(int(np.size(x))):
        e = np.zeros(np.size(x))
        e[j] = eps
        e = e.reshape(np.shape(x)) if np.ndim(x) else float(e[0])
        cols.append(np.ravel((g(x + e, *rest) - g(x - e, *rest)) / (2 * eps)))
    return np.stack(cols, axis=-1).reshape(np.shape(x) + np.shape(x))


def count(run):
    CALLS.clear()
    result = run()
    return result, list(CALLS)


@pytest.mark.parametrize("shape", SHAPES, ids=["scalar", "vector", "matrix"])
@pytest.mark.parametrize("f, extra, per_run, factor", CASES, ids=IDS)
def test_hessian_runs_each_call_once(f, extra, per_run, factor, shape):
    x, w = point(shape)
    rest = (w, *extra)
    h = hessian(f)
    h(x, *rest)  # compiled first: the count is of one Hessian
    H, calls = count(lambda: h(x, *rest))
    assert calls == per_run
    np.testing.assert_allclose(H, by_hand(x, w, factor), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H, fd_hessian(f, x, rest), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("f, extra, per_run, factor", CASES, ids=IDS)
def test_hvp_and_grad_of_grad_run_each_call_once(f, extra, per_run, factor):
    x, w = point((3,))
    v = np.array([1.0, -2.0, 0.5])
    p = hvp(f)
    p(x, w, *extra, v)
    Hv, calls = count(lambda: p(x, w, *extra, v))
    assert calls == per_run
    np.testing.assert_allclose(Hv, by_hand(x, w, factor) @ v, rtol=1e-12)

    if extra:  # a scalar function of a scalar: its second derivative
        model = extra[0]

        def along(t):
            return f(x + t * v, w, model)
    else:
        def along(t):
            return f(x + t * v, w)
    g2 = grad(grad(along))
    g2(0.1)
    second, calls = count(lambda: g2(0.1))
    assert calls == per_run
    assert second == pytest.approx(v @ by_hand(x + 0.1 * v, w, factor) @ v, rel=1e-12)
    g1 = grad(along)
    assert second == pytest.approx((g1(0.1 + 1e-6) - g1(0.1 - 1e-6)) / 2e-6, rel=1e-6)


def test_jacobian_of_a_gradient_with_a_tuple_wrt_runs_each_call_once():
    """The blocks of d2f/dx dw for f = sum(w * cube(x)): 6 w x on the x-x diagonal,
    3 x**2 on the x-w one, 0 for w-w."""
    x, w = point((3,))
    j = jacobian(grad(with_helper, wrt=(0, 1)), wrt=(0, 1))
    j(x, w)
    blocks, calls = count(lambda: j(x, w))
    assert calls == ["cube"]
    (hxx, hxw), (hwx, hww) = blocks
    np.testing.assert_allclose(hxx, np.diag(6 * w * x), rtol=1e-12)
    np.testing.assert_allclose(hxw, np.diag(3 * x ** 2), rtol=1e-12)
    np.testing.assert_allclose(hwx, np.diag(3 * x ** 2), rtol=1e-12)
    np.testing.assert_allclose(hww, np.zeros((3, 3)), atol=0)
    H = hessian(with_helper, wrt=(0, 1))(x, w)
    np.testing.assert_allclose(H[0][1], hxw, rtol=1e-12)


def test_methods_and_local_closures_use_the_residual_form_at_second_order():
    x, w = point((3,))
    for f in (with_global_method, with_self_method, with_local_closure):
        src = adjoint_of(f, (0,), "grad", spec=spec_of((x, w)), again=True).source
        assert "split_res(" in src and "pullback_res(" in src and "vjp_call" not in src
    src = adjoint_of(Poly.loss, (1,), "residual", spec=spec_of((P, x, w))).source
    assert "split_res(self.predict, x" in src and "vjp_method" not in src


def test_a_loop_in_the_gradient_is_not_recorded_when_no_helper_runs():
    """Without a call into user code, forward mode takes the columns (compiled code, no
    tape over the loop); the same Hessian."""
    def recurrence(p):
        h = 0.1
        for _ in range(50):
            h = np.tanh(p[0] * h + p[1])
        return h
    p0 = np.array([0.5, 0.2])
    np.testing.assert_allclose(hessian(recurrence)(p0), fd_hessian(recurrence, p0, ()),
                               rtol=1e-6, atol=1e-8)


def sliced(x, y):
    return np.sum(cube(x)[:2] * y)


def test_hessian_blocks_of_arguments_of_different_shapes():
    """x of shape (3,), y of (2,): d2f/dx dy is (3, 2), d2f/dy dx its transpose."""
    x, y = np.array([0.4, -1.1, 2.0]), np.array([1.5, -0.5])
    h = hessian(sliced, wrt=(0, 1))
    h(x, y)
    ((hxx, hxy), (hyx, hyy)), calls = count(lambda: h(x, y))
    assert calls == ["cube"]
    np.testing.assert_allclose(hxx, np.diag([6 * x[0] * y[0], 6 * x[1] * y[1], 0.0]),
                               atol=1e-12)
    np.testing.assert_allclose(hxy, [[3 * x[0] ** 2, 0], [0, 3 * x[1] ** 2], [0, 0]],
                               atol=1e-12)
    np.testing.assert_allclose(hyx, hxy.T, atol=1e-12)
    np.testing.assert_allclose(hyy, np.zeros((2, 2)), atol=0)
    np.testing.assert_allclose(hxy, _fd_cross(x, y), rtol=1e-6, atol=1e-8)


def _fd_cross(x, y, eps=1e-6):
    """d/dy of grad_x sliced, column by column."""
    g = grad(sliced)
    cols = [(g(x, y + eps * e) - g(x, y - eps * e)) / (2 * eps) for e in np.eye(2)]
    return np.stack(cols, axis=-1)


class Holder:
    """An object argument holding the function the loss calls (``ns.fn(x)``)."""

    def __init__(self, fn):
        self.fn = fn


def through_attribute(x, holder):
    return np.sum(holder.fn(x) * 2.0)


def plain_in_attribute(x, holder):
    return np.sum(np.sin(x) * holder.fn)


def test_an_object_argument_held_fixed_and_a_function_kept_in_its_attribute():
    """hessian with an argument that is no array: held fixed (forward mode and the
    recorded gradient alike); a function kept in an attribute runs once; a callable object
    there is refused by name."""
    x = np.array([0.4, -0.3])
    h = hessian(through_attribute)
    h(x, Holder(cube))
    H, calls = count(lambda: h(x, Holder(cube)))
    assert calls == ["cube"]
    np.testing.assert_allclose(H, np.diag(12 * x), rtol=1e-12)
    H = hessian(plain_in_attribute)(x, Holder(3.0))   # no user call: forward mode
    np.testing.assert_allclose(H, np.diag(-3.0 * np.sin(x)), rtol=1e-12)

    class Cube:
        def __call__(self, z):
            return z ** 3
    with pytest.raises(MissingRuleError, match=r"\.fn"):
        hessian(through_attribute)(x, Holder(Cube()))

"""A user function called inside differentiated code runs once per gradient (split
adjoints, sourcediff/ad/split.py): its forward part runs in the caller's forward pass and
leaves a pullback that the reverse pass takes back, last in first out."""

import numpy as np
import pytest

from sourcediff import grad, hessian, source, tape, value_and_grad, vjp

from checks import check_orders

CALLS = []
RS = np.random.RandomState(0)
X = np.array([0.3, -1.2, 0.8])


def noisy(w):
    """Draws random numbers: a second run would see other ones."""
    CALLS.append("noisy")
    return RS.rand(3) * w


def stochastic_loss(w):
    return np.sum(noisy(w) ** 2)


def counted_softmax(z):
    CALLS.append("softmax")
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def helper_in_loop_and_branch(x):
    s = 0.0
    for i in range(4):
        if i % 2 == 0:
            s = s + np.sum(counted_softmax(x * (i + 1.0)) ** 2)
        else:
            s = s * np.sum(counted_softmax(x) * x)
    return s


def helper_calls_helper(x):
    return np.sum(np.log(counted_softmax(np.tanh(twice(x)))))


def twice(x):
    CALLS.append("twice")
    return 2.0 * counted_softmax(x) + x


class Model:
    def __init__(self, scale):
        self.scale = scale

    def predict(self, w, x):
        CALLS.append("predict")
        return np.tanh(x * w * self.scale)

    def loss(self, w, x):
        return np.sum((self.predict(w, x) - 0.5) ** 2)


def fd(f, x, eps=1e-6):
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        out[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return out


def count(run):
    CALLS.clear()
    result = run()
    return result, list(CALLS)


@pytest.mark.parametrize("make", [
    lambda: grad(stochastic_loss),
    lambda: value_and_grad(stochastic_loss),
], ids=["grad", "value_and_grad"])
def test_random_helper_runs_once_and_gets_the_gradient_of_its_draw(make):
    g = make()
    g(X)  # compile first: the counts below are of one gradient
    state = RS.get_state()
    got, calls = count(lambda: g(X))
    assert calls == ["noisy"]
    got = got[1] if isinstance(got, tuple) else got

    def same_draw(w):
        RS.set_state(state)
        return stochastic_loss(w)
    np.testing.assert_allclose(got, fd(same_draw, X), rtol=1e-6, atol=1e-8)
    RS.set_state(state)
    np.testing.assert_allclose(got, tape.grad(stochastic_loss)(X), rtol=1e-12)
    RS.set_state(state)
    draw = RS.rand(3)
    np.testing.assert_allclose(got, 2 * draw ** 2 * X, rtol=1e-12)  # by hand


@pytest.mark.parametrize("f, per_call", [
    (helper_in_loop_and_branch, ["softmax"] * 4),
    (helper_calls_helper, ["twice", "softmax", "softmax"]),
], ids=["loop_and_branch", "nested_helpers"])
def test_each_call_runs_once_in_loops_branches_and_callees(f, per_call):
    g = grad(f)
    g(X)
    got, calls = count(lambda: g(X))
    assert sorted(calls) == sorted(per_call)
    np.testing.assert_allclose(got, fd(f, X), rtol=1e-5, atol=1e-8)
    assert "split_call(" in source(g) and "vjp_call(" not in source(g)


def test_method_runs_once():
    m = Model(0.7)
    g = grad(m.loss)
    g(X, X)
    got, calls = count(lambda: g(X, X))
    assert calls == ["predict"]
    np.testing.assert_allclose(got, fd(lambda w: m.loss(w, X), X), rtol=1e-5, atol=1e-8)


def test_vjp_runs_the_function_once_and_its_pullback_can_be_called_again():
    out, calls = count(lambda: vjp(helper_calls_helper, X))
    value, pullback = out
    assert sorted(calls) == ["softmax", "softmax", "twice"]
    assert value == pytest.approx(helper_calls_helper(X))
    expected = fd(helper_calls_helper, X)
    (first,), calls = count(lambda: pullback(1.0))
    assert calls == []  # the forward pass ran already
    np.testing.assert_allclose(first, expected, rtol=1e-5, atol=1e-8)
    (again,) = pullback(2.0)  # once more: the forward pass runs again, same numbers
    np.testing.assert_allclose(again, 2 * expected, rtol=1e-5, atol=1e-8)


def test_split_callee_reads_like_hand_code():
    """The callee's split form: forward part, then a nested pullback over its values."""
    from sourcediff.transforms.api import adjoint_of
    from sourcediff.opt.shapes import spec_of
    src = adjoint_of(counted_softmax, (0,), "split", spec=spec_of((X,))).source
    assert "def counted_softmax_pullback(" in src
    code = [line for line in src.splitlines() if not line.strip().startswith("#")]
    assert sum("np.exp(" in line for line in code) == 1  # computed once, in the forward part
    assert src.rstrip().endswith("return _t3, counted_softmax_pullback")


def test_readme_shows_the_split_form_sourcediff_writes():
    import re
    from pathlib import Path

    from benchmarks.helpers import dense
    from sourcediff.transforms.api import adjoint_of
    from sourcediff.opt.inplace import kinds_of
    from sourcediff.opt.shapes import spec_of
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    shown = re.search(r"```python\n(def dense_split.*?)```", readme, flags=re.S).group(1)
    rng = np.random.default_rng(0)
    args = (rng.standard_normal((64, 784)), rng.standard_normal((784, 256)),
            rng.standard_normal(256))
    src = adjoint_of(dense, (1, 2), "split", spec=spec_of(args), dtypes=kinds_of(args)).source
    src = "".join(line for line in src.splitlines(keepends=True) if '"""' not in line)
    assert src == shown


def recurrent(x):
    h = x
    for _ in range(3):
        h = counted_softmax(h * 1.5)  # h = f(h): the call reads the old h
    return np.sum(h ** 2) + np.sum(twice(x))


def test_forward_mode_runs_each_call_once():
    from sourcediff import jvp
    v = np.array([1.0, -2.0, 0.5])
    jvp(recurrent, (X,), (v,))
    (value, tangent), calls = count(lambda: jvp(recurrent, (X,), (v,)))
    assert sorted(calls) == ["softmax"] * 4 + ["twice"]
    assert value == pytest.approx(recurrent(X))
    fd_dir = (recurrent(X + 1e-6 * v) - recurrent(X - 1e-6 * v)) / 2e-6
    assert tangent == pytest.approx(fd_dir, rel=1e-6)
    state = RS.get_state()
    (value, tangent), calls = count(lambda: jvp(stochastic_loss, (X,), (v,)))
    assert calls == ["noisy"]
    RS.set_state(state)
    draw = RS.rand(3)
    assert tangent == pytest.approx(np.sum(2 * draw ** 2 * X * v), rel=1e-12)


def test_higher_order_through_run_once_calls():
    """Third order through a helper: forward mode over code with jvp_pair."""
    def sc(x):
        return np.sin(counted_softmax(np.array([x, 2 * x]))[0])
    g2 = grad(grad(sc))
    g3 = grad(g2)(0.4)
    assert g3 == pytest.approx((g2(0.4 + 1e-5) - g2(0.4 - 1e-5)) / 2e-5, rel=1e-6)


def unpack_layers(W):
    CALLS.append("unpack")
    for i in range(0, len(W), 2):
        yield W[i], W[i + 1]


def predict(W, x):
    for w, b in unpack_layers(W):
        x = np.tanh(x * w + b)  # x: held fixed by the caller, varied by the loop
    return x


def layered_loss(W):
    return np.sum(predict(W, np.array([0.5, -1.0])) ** 2)


def test_generator_helper_and_a_parameter_the_loop_makes_varied_in_forward_mode():
    from sourcediff import jvp
    W = np.array([0.3, 0.1, -0.7, 0.2])
    v = np.array([1.0, 0.5, -0.3, 2.0])
    expected = (layered_loss(W + 1e-6 * v) - layered_loss(W - 1e-6 * v)) / 2e-6
    jvp(layered_loss, (W,), (v,))
    (_, tangent), calls = count(lambda: jvp(layered_loss, (W,), (v,)))
    assert tangent == pytest.approx(expected, rel=1e-7)
    assert calls == ["unpack"]
    g = grad(layered_loss)
    g(W)
    got, calls = count(lambda: g(W))
    assert got @ v == pytest.approx(expected, rel=1e-7)
    assert calls == ["unpack"]


def joined(a, b):
    t = (a, b * 2.0) + (a * b,)  # + joins tuples
    return np.sum(t[0] * t[2]) + np.sum(t[1])


def test_tuple_concatenation_is_joined_not_added():
    from sourcediff import jvp
    a, b = X, X[::-1] + 0.5
    v = np.array([1.0, -2.0, 0.5])
    expected = (joined(a + 1e-6 * v, b) - joined(a - 1e-6 * v, b)) / 2e-6
    assert grad(joined)(a, b) @ v == pytest.approx(expected, rel=1e-7)
    assert jvp(joined, (a, b), (v, np.zeros(3)))[1] == pytest.approx(expected, rel=1e-7)
    np.testing.assert_allclose(grad(joined)(a, b), 2 * a * b, rtol=1e-12)  # by hand


# --- second and higher order: the residual form (split.to_residual_form) ---------------
def scalar_loss(x):
    return np.sin(helper_calls_helper(np.array([x, 2.0 * x, -x])))


@pytest.mark.parametrize("f, per_pass", [
    (helper_in_loop_and_branch, ["softmax"] * 4),
    (helper_calls_helper, ["twice", "softmax", "softmax"]),
], ids=["loop_and_branch", "nested_helpers"])
def test_hessian_and_hvp_run_each_call_once_per_forward_pass(f, per_pass):
    """hessian: the gradient runs once, recorded (its linearisation), then one reverse
    pass over the record per row, which runs nothing again; hvp: one forward pass."""
    from sourcediff import hessian, hvp
    h, p = hessian(f), hvp(f)
    v = np.array([1.0, -2.0, 0.5])
    h(X), p(X, v)
    H, calls = count(lambda: h(X))
    assert sorted(calls) == sorted(per_pass)
    Hv, calls = count(lambda: p(X, v))
    assert sorted(calls) == sorted(per_pass)
    g = grad(f)
    fd_H = np.array([(g(X + 1e-6 * e) - g(X - 1e-6 * e)) / 2e-6 for e in np.eye(X.size)]).T
    np.testing.assert_allclose(H, fd_H, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(Hv, H @ v, rtol=1e-10, atol=1e-12)


def test_grad_of_grad_and_third_order_run_each_call_once():
    g2, g3 = grad(grad(scalar_loss)), grad(grad(grad(scalar_loss)))
    g2(0.4), g3(0.4)
    second, calls = count(lambda: g2(0.4))
    assert sorted(calls) == ["softmax", "softmax", "twice"]
    third, calls = count(lambda: g3(0.4))
    assert sorted(calls) == ["softmax", "softmax", "twice"]
    g1 = grad(scalar_loss)
    assert second == pytest.approx((g1(0.4 + 1e-5) - g1(0.4 - 1e-5)) / 2e-5, rel=1e-6)
    assert third == pytest.approx((g2(0.4 + 1e-5) - g2(0.4 - 1e-5)) / 2e-5, rel=1e-6)


def test_jacobian_of_grad_runs_each_call_once():
    from sourcediff import jacobian
    j = jacobian(grad(helper_calls_helper))
    j(X)
    J, calls = count(lambda: j(X))
    assert sorted(calls) == ["softmax", "softmax", "twice"]
    from sourcediff import hessian
    np.testing.assert_allclose(J, hessian(helper_calls_helper)(X), rtol=1e-12)


def test_random_helper_at_second_order_gives_the_hessian_of_its_draw():
    """One draw per forward pass: each pass sees its own draw, so the hvp (one pass) is
    the Hessian of that draw along v, checked against differences of the gradient on the
    same fixed draw."""
    from sourcediff import hvp

    def cubic(w):
        return np.sum(noisy(w) ** 3)
    p = hvp(cubic)
    v = np.array([1.0, -2.0, 0.5])
    p(X, v)
    state = RS.get_state()
    got, calls = count(lambda: p(X, v))
    assert calls == ["noisy"]
    g = grad(cubic)

    def same_draw_grad(w):
        RS.set_state(state)
        return g(w)
    fd_hv = (same_draw_grad(X + 1e-6 * v) - same_draw_grad(X - 1e-6 * v)) / 2e-6
    np.testing.assert_allclose(got, fd_hv, rtol=1e-6, atol=1e-8)
    RS.set_state(state)
    draw = RS.rand(3)
    np.testing.assert_allclose(got, 6 * draw ** 3 * X * v, rtol=1e-12)  # by hand


def test_code_differentiated_again_has_no_closures():
    """grad's code for forward mode: split_res / pullback_res, plain generated functions."""
    from sourcediff.transforms.api import adjoint_of
    from sourcediff.opt.shapes import spec_of
    src = adjoint_of(helper_calls_helper, (0,), "grad", spec=spec_of((X,)), again=True).source
    assert "split_res(twice" in src and "pullback_res(" in src and "vjp_call" not in src
    res = adjoint_of(twice, (0,), "residual", spec=spec_of((X,))).source
    assert "def " not in res.split("\n", 1)[1] and "split_res(counted_softmax" in res


A = np.array([[1.0, 0.5, 0.0], [0.2, -1.0, 0.3], [0.0, 0.4, 2.0]])


def reads_global(z, k=2.0):
    return np.tanh(A @ z) * k


def loops(z):
    h = z
    for i in range(3):  # its range and the loop's pushes are residuals too
        h = np.sin(h) * z + A[i]
    return h


def two_outputs(z):
    return z * 2.0, np.cos(z)


def _make(scale):
    def inner(z):
        return np.exp(z * scale) * A[0]
    return inner


closure_helper = _make(0.3)


def many_helpers(x):
    a = reads_global(x)
    b = loops(x * a)
    p, q = two_outputs(b)
    return np.sum(p * q) + np.sum(closure_helper(x) ** 2) + np.sum(reads_global(x, 3.0) * b)


def test_hessian_through_helpers_with_loops_globals_defaults_closures_and_tuples():
    from sourcediff import hessian
    g = grad(many_helpers)
    fd_H = np.array([(g(X + 1e-6 * e) - g(X - 1e-6 * e)) / 2e-6 for e in np.eye(3)]).T
    np.testing.assert_allclose(hessian(many_helpers)(X), fd_H, rtol=1e-6, atol=1e-6)


def layer(x, W):
    return np.tanh(x @ W)


def net(W, x):
    return np.sum(layer(x, W) ** 2)


def test_a_callee_computes_only_the_cotangents_its_caller_uses():
    """x is data here: layer's adjoint leaves out x's cotangent (a whole matmul)."""
    from sourcediff import hessian
    from sourcediff.transforms.api import latest_adjoint
    W, x = np.array([[0.3, -0.2], [0.1, 0.5]]), np.array([[1.0, 2.0], [-0.5, 0.3]])
    g = grad(net)
    np.testing.assert_allclose(g(W, x), fd(lambda w: net(w.reshape(2, 2), x), W.ravel())
                               .reshape(2, 2), rtol=1e-6)
    assert "split_call(_pullbacks1, layer, x, W, wrt=(1,))" in source(g)
    assert latest_adjoint(layer, (1,), "split", False) is not None
    assert latest_adjoint(layer, (0, 1), "split", False) is None
    H = hessian(net)(W, x)  # second order: split_res(layer, x, W, wrt=(1,))
    assert latest_adjoint(layer, (1,), "residual", False) is not None
    assert latest_adjoint(layer, (0, 1), "residual", False) is None
    fd_H = np.array([(g(W + 1e-6 * e.reshape(2, 2), x) - g(W - 1e-6 * e.reshape(2, 2), x))
                     .ravel() / 2e-6 for e in np.eye(4)]).T.reshape(2, 2, 2, 2)
    np.testing.assert_allclose(H, fd_H, rtol=1e-6, atol=1e-8)


def _power(y, p=2.0):
    return y ** p


def _power_of_a_constant(x):
    return np.sum(_power(x, 3.0))


def test_a_constant_argument_of_a_call_gets_no_cotangent():
    """h(x, 3.0): the callee's adjoint is taken with respect to x only (wrt=(0,)), so no
    cotangent of 3.0 is computed (it read log(x): NaN warnings for a negative x)."""
    import warnings

    x = np.array([-0.5, 0.3])
    g = grad(_power_of_a_constant)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(g(x), 3.0 * x ** 2)
        np.testing.assert_allclose(hessian(_power_of_a_constant)(x), np.diag(6.0 * x))
    assert "split_call(_pullbacks1, _power, x, 3.0, wrt=(0,))" in source(g)


def _early_return(y, x=None, dx=1.0):
    if x is None:
        return np.sum(np.sin(y)) * dx
    d = np.diff(x)
    return np.sum(d * y[1:])


def test_a_helper_returning_early_differentiated_again():
    """The residuals of a helper that returns from a branch: those the branch taken did
    not store start as None (building the tuple of residuals raised UnboundLocalError)."""
    check_orders(lambda v: _early_return(v ** 2) + _early_return(v, v * 2.0),
                 np.array([0.4, 1.3, 0.9]))

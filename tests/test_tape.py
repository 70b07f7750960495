"""The runtime tape: API, structure of gradients, control flow, markers, errors."""

import math

import numpy as np
import pytest

import sourcediff as sd
from conftest import fd
from sourcediff import primitive, stop_gradient, tape
from sourcediff.errors import ArgumentError, MissingRuleError, NonScalarOutputError, SourceDiffError
from sourcediff.values.markers import no_grad
from sourcediff.tape import TracerConversionError


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --- values: hand-derived and finite differences --------------------------------------------

def test_sum_of_squares_is_2x():
    x = np.array([1.0, -2.0, 3.5])
    np.testing.assert_allclose(tape.grad(lambda x: np.sum(x ** 2))(x), 2 * x)


def test_seed_model_hand_derived():
    def energy(w, b, x, t, lam):
        y = sigmoid(w * x + b)
        return 0.5 * (y - t) ** 2 + lam / 2 * w ** 2

    w, b, x, t, lam = 0.7, -0.3, 1.5, 1.0, 0.1
    gw, gb = tape.grad(energy, wrt=(0, 1))(w, b, x, t, lam)
    s = sigmoid(w * x + b)
    np.testing.assert_allclose(gw, (s - t) * s * (1 - s) * x + lam * w, rtol=1e-12)
    np.testing.assert_allclose(gb, (s - t) * s * (1 - s), rtol=1e-12)
    assert type(gw) is float and type(gb) is float


def test_matches_finite_differences():
    def f(x):
        return np.sum(np.sin(x) * np.exp(-x ** 2) / (1.0 + x ** 2)) + np.prod(x[:2])

    x = np.array([0.3, -1.2, 0.8, 2.0])
    np.testing.assert_allclose(tape.grad(f)(x), fd(f, (x,), 0), rtol=1e-6, atol=1e-9)


def test_mlp_matches_hand_backprop_and_fd():
    rng = np.random.default_rng(0)
    W1, W2 = rng.normal(size=(3, 5)), rng.normal(size=(5, 2))
    X, Y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))

    def loss(W1, W2):
        h = np.tanh(X @ W1)
        return np.mean((h @ W2 - Y) ** 2)

    g1, g2 = tape.grad(loss, wrt=(0, 1))(W1, W2)
    h = np.tanh(X @ W1)
    d_out = 2 * (h @ W2 - Y) / Y.size
    np.testing.assert_allclose(g2, h.T @ d_out, rtol=1e-10)
    np.testing.assert_allclose(g1, X.T @ ((d_out @ W2.T) * (1 - h ** 2)), rtol=1e-10)
    np.testing.assert_allclose(g1, fd(lambda w: loss(w, W2), (W1,), 0), rtol=1e-5, atol=1e-8)


# --- API --------------------------------------------------------------------------------------

def test_decorator_forms_and_wrt_names():
    @tape.grad
    def f(x):
        return x * x

    @tape.grad(wrt=(0, 1))
    def g(x, y):
        return x * y

    assert f(3.0) == 6.0
    assert g(2.0, 5.0) == (5.0, 2.0)
    h = tape.grad(lambda x, y: x * y ** 2, wrt="y")
    assert h(2.0, 3.0) == 12.0
    assert tape.grad(lambda x, y: x * y ** 2, wrt=("y", 0))(2.0, 3.0) == (12.0, 9.0)
    assert tape.grad(lambda x, y: x * y ** 2, wrt=-1)(2.0, 3.0) == 12.0


def test_wrt_argument_passed_by_keyword():
    def f(x, scale):
        return scale * x ** 2
    assert tape.grad(f, wrt="scale")(3.0, scale=2.0) == 9.0


def test_value_and_grad():
    value, g = tape.value_and_grad(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))
    assert value == 9.0
    np.testing.assert_allclose(g, [3.0, 12.0])


def test_has_aux():
    def f(x):
        y = x ** 2
        return np.sum(y), {"squares": y, "n": 2}

    x = np.array([1.0, 3.0])
    g, aux = tape.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g, 2 * x)
    assert type(aux["squares"]) is np.ndarray and aux["n"] == 2
    (value, aux2), g2 = tape.value_and_grad(f, has_aux=True)(x)
    assert value == 10.0
    np.testing.assert_allclose(aux2["squares"], [1.0, 9.0])
    np.testing.assert_allclose(g2, 2 * x)


def test_vjp():
    A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    x, s = np.array([0.5, -1.0]), 2.0
    out, pullback = tape.vjp(lambda x, s: s * np.tanh(A @ x), x, s)
    np.testing.assert_allclose(out, s * np.tanh(A @ x))
    ct = np.array([1.0, -1.0, 0.5])
    gx, gs = pullback(ct)
    np.testing.assert_allclose(gx, A.T @ (ct * s * (1 - np.tanh(A @ x) ** 2)))
    np.testing.assert_allclose(gs, np.sum(ct * np.tanh(A @ x)))
    assert type(gs) is float
    gx2, _ = pullback(ct)                       # a pullback can be called again
    np.testing.assert_allclose(gx2, gx)


def test_vjp_structured_output_and_bad_cotangent():
    out, pullback = tape.vjp(lambda x: {"a": x * 2, "b": np.sum(x)}, np.ones(3))
    assert set(out) == {"a", "b"}
    (g,) = pullback({"a": np.array([1.0, 2.0, 3.0]), "b": 1.0})
    np.testing.assert_allclose(g, [3.0, 5.0, 7.0])
    _, pullback = tape.vjp(lambda x: x * 2, np.ones(3))
    with pytest.raises(ArgumentError, match="shape"):
        pullback(np.ones(4))


# --- structure, dtype, no mutation ---------------------------------------------------------------

def test_dict_and_nested_list_arguments():
    def f(params, xs):
        return params["w"] * np.sum(xs[0] ** 2) + params["b"] * xs[1][0]

    params = {"w": 2.0, "b": np.array(3.0)}
    xs = [np.array([1.0, 2.0]), (4.0, 5.0)]
    gp, gx = tape.grad(f, wrt=(0, 1))(params, xs)
    assert set(gp) == {"w", "b"} and gp["w"] == 5.0 and gp["b"] == 4.0
    assert isinstance(gx, list) and isinstance(gx[1], tuple)
    np.testing.assert_allclose(gx[0], [4.0, 8.0])
    assert gx[1] == (3.0, 0.0) and type(gx[1][1]) is float


def test_dtypes_preserved():
    x32 = np.array([1.0, 2.0], dtype=np.float32)
    g = tape.grad(lambda x: np.sum(x * 3.0 + np.sin(x)))(x32)
    assert g.dtype == np.float32
    assert type(tape.grad(lambda x: x * 2)(1.0)) is float
    assert tape.grad(lambda x: x * 2)(np.float32(1.0)).dtype == np.float32
    assert tape.grad(lambda x: 3.0)(np.ones(2)).shape == (2,)     # constant: zero gradient


def test_arguments_never_mutated_and_gradients_do_not_alias():
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])

    def f(x, y):
        x[0] = 10.0
        x += 1.0
        return np.sum(x + y)

    x0 = x.copy()
    gx, gy = tape.grad(f, wrt=(0, 1))(x, y)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_allclose(gx, [0.0, 1.0])
    assert gx is not gy and not np.shares_memory(gx, gy)
    ct = np.ones(2)
    (g,) = tape.vjp(lambda x: x, np.ones(2))[1](ct)
    assert g is not ct


# --- control flow ---------------------------------------------------------------------------------

def test_loops_branches_and_data_dependent_while():
    def f(x):
        steps = 0
        while x > 1.0:                   # halve until small: d/dx = 0.5 ** steps
            x = x / 2.0
            steps += 1
        if x > 0.7:
            x = x * 3.0
        else:
            x = x * 5.0
        for _ in range(steps):
            x = x + 0.0
        return x

    assert tape.grad(f)(6.0) == pytest.approx(3.0 / 8.0)      # 6 -> 0.75, branch *3
    assert tape.grad(f)(5.0) == pytest.approx(5.0 / 8.0)      # 5 -> 0.625, branch *5
    assert tape.grad(f)(0.5) == 5.0


def test_iterate_until_converged():
    def sqrt_2x(x):                      # Newton's method for y * y = 2x
        y = x
        for _ in range(100):
            y_new = 0.5 * (y + 2.0 * x / y)
            if np.allclose(y_new, y):
                break
            y = y_new
        return y
    assert tape.grad(sqrt_2x)(3.0) == pytest.approx(1 / math.sqrt(6.0), rel=1e-5)


def test_lists_and_recursion():
    def f(xs):
        acc = []
        for x in xs:
            acc.append(x * x)
        return sum(acc) + max(acc)

    assert tape.grad(f)([1.0, 3.0, 2.0]) == [2.0, 12.0, 4.0]

    def power(x, n):
        return 1.0 if n == 0 else x * power(x, n - 1)
    assert tape.grad(power)(2.0, 5) == 80.0


def test_long_chain_has_no_recursion_limit():
    def f(x):
        for _ in range(100_000):
            x = x * 1.0001
        return x
    assert tape.grad(f)(1.0) == pytest.approx(1.0001 ** 100_000, rel=1e-9)


# --- primitives and markers -------------------------------------------------------------------------

def test_custom_primitive_rule_is_used():
    @primitive
    def softplus(x):
        return np.log1p(np.exp(x))
    softplus.defvjp(lambda g, ans, x: (g * 100.0,))       # deliberately not the derivative

    assert tape.grad(lambda x: 2.0 * softplus(x))(0.3) == 200.0

    @primitive
    def scaled(x, k):
        return x * k
    scaled.defvjp(lambda g, ans, x, k: (g * k, None))
    assert tape.grad(lambda x, k: scaled(x, k), wrt=(0, 1))(2.0, 3.0) == (3.0, 0.0)


def test_primitive_without_rule():
    @primitive
    def opaque(x):
        return x * 2
    with pytest.raises(MissingRuleError, match="defvjp"):
        tape.grad(opaque)(1.0)


def test_stop_gradient_and_no_grad():
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(tape.grad(lambda x: np.sum(stop_gradient(x) * x))(x), x)

    def f(x):
        with no_grad():
            c = x * 3.0
            plain = float(x)             # conversions are fine when not recording
        return c * x + plain
    assert tape.grad(f)(2.0) == 6.0


def test_assignment_inside_no_grad_cuts_only_the_assigned_value():
    def f(x):
        y = x * 1.0
        with no_grad():
            y[0] = x[1] * 5.0            # a constant; y[1:] still depend on x
        return np.sum(y * x)
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(tape.grad(f)(x), [10.0, 4.0, 6.0])


def test_numpy_callables_and_scalar_types():
    assert tape.grad(np.sin)(0.0) == 1.0
    g = tape.grad(lambda x: x * x)(np.float64(3.0))
    assert g == 6.0 and isinstance(g, float)        # np.float64 is a float subclass
    ints = tape.grad(lambda x: np.sum(np.zeros_like(x, dtype=int) + x))(np.ones(2))
    np.testing.assert_allclose(ints, [1.0, 1.0])


# --- errors ------------------------------------------------------------------------------------------

def test_non_scalar_output():
    with pytest.raises(NonScalarOutputError, match="scalar"):
        tape.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(NonScalarOutputError, match="scalar"):
        tape.grad(lambda x: (x, x))(1.0)


@pytest.mark.parametrize("bad", [3, np.arange(3), "s", {"a": 1}])
def test_non_float_arguments(bad):
    with pytest.raises(ArgumentError, match="cannot differentiate"):
        tape.grad(lambda x: 1.0)(bad)


def test_has_aux_needs_a_pair():
    with pytest.raises(ArgumentError, match="has_aux"):
        tape.grad(lambda x: x, has_aux=True)(1.0)


def test_vjp_rejects_int_primals():
    with pytest.raises(ArgumentError, match="int"):
        tape.vjp(lambda x: x, 3)


def test_bad_wrt():
    with pytest.raises(ArgumentError):
        tape.grad(lambda x: x, wrt=3)(1.0)
    with pytest.raises(ArgumentError):
        tape.grad(lambda x: x, wrt="nope")(1.0)


def test_missing_rule_names_function_and_fix():
    with pytest.raises(MissingRuleError) as err:
        tape.grad(lambda x: np.sum(np.unique(x)))(np.ones(3))  # (np.sort has a rule)
    assert "np.unique" in str(err.value)
    assert "primitive" in str(err.value) and "defrule" in str(err.value)


def _sin_imported_inside(x):
    import math as m   # a module imported in the body is not replaced
    return m.sin(x)


_OUTSIDE = np.zeros(2)


def _store_into_outside_array(x):
    out = _OUTSIDE.copy()   # made outside the traced copy's creators: a plain array
    out[0] = x
    return np.sum(out)


@pytest.mark.parametrize("f", [
    _sin_imported_inside,
    lambda x: x.__float__() * 2,    # (x.item() keeps the gradient: test_tape_conversions.py)
    lambda x: np.sum(_OUTSIDE.dot(np.stack([x, x]))),
])
def test_conversions_raise_clear_error(f):
    with pytest.raises(TracerConversionError, match="np") as err:
        tape.grad(f)(1.0)
    assert isinstance(err.value, SourceDiffError)


def test_assigning_traced_value_into_plain_array():
    # NumPy re-raises it as "setting an array element with a sequence" from our error
    with pytest.raises((TracerConversionError, ValueError)) as err:
        tape.grad(_store_into_outside_array)(1.0)
    cause = err.value if isinstance(err.value, TracerConversionError) else err.value.__cause__
    assert isinstance(cause, TracerConversionError) and "zeros_like" in str(cause)

    def g(x):
        out = _OUTSIDE.copy()
        out += x
        return np.sum(out)
    with pytest.raises(ArgumentError, match="in place"):
        tape.grad(g)(1.0)


def _uses_then_changes(x, w):
    h = w * 2.0            # a plain array, not traced
    y = np.sum(x @ h)      # the backward of @ keeps h
    h += 1.0               # NumPy changes h in place: the kept value would be stale
    return y


def test_in_place_change_of_a_kept_array_is_an_error_not_a_wrong_gradient():
    x, w = np.array([[0.9], [0.92]]), np.ones((1, 3))
    with pytest.raises(SourceDiffError, match="in place"):
        tape.grad(_uses_then_changes)(x, w)
    assert w.flags.writeable
    # the compiler has value semantics: the gradient uses h as it was when read
    np.testing.assert_allclose(sd.grad(_uses_then_changes)(x, w), [[6.0], [6.0]])


def test_arrays_are_writable_again_after_the_trace():
    data = np.array([[1.0, 2.0], [3.0, 4.0]])

    def loss(w):
        return np.sum((data @ w) ** 2)
    tape.grad(loss)(np.ones(2))
    assert data.flags.writeable
    data[0, 0] = 5.0

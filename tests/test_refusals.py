"""No silent wrong gradient: each construct that used to give one now gives the right
value (checked against central differences, at order 1 and 2, in compiled reverse
mode, forward mode and the tape) or a ``MissingRuleError`` naming the construct.

The rule: a differentiated value may reach only an operation with a derivative rule,
user code the compiler reads, or an operation the primitive table declares
non-differentiable (activity.flow decides, for both modes).
"""

import math

import numpy as np
import pytest

import sourcediff
from sourcediff import check_grad, grad, jvp, tape
from sourcediff.prims import registry
from sourcediff.errors import MissingRuleError, SourceDiffError

X = np.array([1.3, 2.7, 0.4])
B = np.arange(6.0).reshape(3, 2)


def fd_grad(f, x, eps=1e-6):
    """Central differences, one coordinate at a time."""
    if np.ndim(x) == 0:
        return (f(x + eps) - f(x - eps)) / (2 * eps)
    x = np.asarray(x, float)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        out[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return out


def jvp_grad(f, x):
    """The gradient assembled from forward-mode tangents along each coordinate."""
    if np.ndim(x) == 0:
        return jvp(f, (x,), (1.0,))[1]
    return np.array([jvp(f, (x.copy(),), (e,))[1] for e in np.eye(x.size)]).reshape(x.shape)


def all_modes(f, x):
    expected = fd_grad(f, x)
    for name, got in (("compiled", grad(f)(x)), ("forward", jvp_grad(f, x)),
                      ("tape", tape.grad(f)(x))):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=name)


# --- values that used to come out as constants, zeros or NaN ----------------------

def mod_op(x):
    return np.sum(x % 0.7)


def mod_np(x):
    return np.sum(np.mod(x, 0.7) * x)


def remainder_divisor(y):
    return np.sum(np.remainder(2.9, y))


def fmod_math(y):
    return math.fmod(-2.9, y) * y


def fmod_np(x):
    return np.sum(np.fmod(x * 3.1, 0.9) ** 2)


def power_of_zero(y):
    return np.sum(np.power(0.0, y))


def zero_pow_operator(y):
    return 0.0 ** y + y * 0.0 ** (y + 1.0)


def item_scalar(x):
    return np.sum(x ** 2).item() * 2


def item_element(x):
    return x[0].item() ** 2 + np.sum(x)


def r_concat(x):
    return np.sum(np.r_[x, 2.0 * x, 1.5] ** 2)


def c_concat(x):
    return np.sum(np.c_[x, x ** 2] @ np.array([1.0, -0.5]) ** 2)


def einsum_sublists(a):
    return np.sum(np.einsum(a.reshape(1, 3), [0, 1], B, [1, 2], [0, 2]) ** 2)


def det_of_stack(x):
    return np.sum(np.linalg.det(x.reshape(1, 3, 1) * np.ones((2, 3, 3)) + np.eye(3)))


def builtin_sum_of_arrays(x):
    return np.sum(sum([x, x * x]) ** 2)


def builtin_sum_with_start(x):
    return sum([x[0], x[1]], x[2]) ** 2


def clip_bounds(x):
    return np.sum(np.clip(np.array([0.1, 0.5, 2.0]), x[0], x[1] + 1.0) * x[2])


@pytest.mark.parametrize("f", [mod_op, mod_np, remainder_divisor, fmod_np, item_scalar,
                               item_element, r_concat, c_concat, einsum_sublists,
                               det_of_stack, builtin_sum_of_arrays, builtin_sum_with_start,
                               clip_bounds, power_of_zero],
                         ids=lambda f: f.__name__)
def test_value_in_every_mode(f):
    if f is clip_bounds:
        expected = fd_grad(f, X)
        np.testing.assert_allclose(grad(f)(X), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(jvp_grad(f, X), expected, rtol=1e-5, atol=1e-6)
        return  # the tape refuses this one clearly
    all_modes(f, X)   # (np.r_, np.c_ and einsum's sublists: the tape too, since #18)


def test_hand_values():
    # d/dx (x % y) = 1, d/dy (x % y) = -floor(x / y)
    assert grad(lambda x: x % 0.7)(1.3) == 1.0
    assert grad(lambda y: 2.9 % y)(0.7) == -4.0
    assert grad(lambda y: math.fmod(-2.9, y))(0.7) == 4.0  # -trunc(x / y)
    # d/dy 0 ** y = 0 for y > 0 (not NaN from log(0))
    assert grad(lambda y: 0.0 ** y)(1.3) == 0.0
    np.testing.assert_array_equal(grad(power_of_zero)(X), np.zeros(3))
    assert grad(fmod_math)(0.7) == pytest.approx(fd_grad(fmod_math, 0.7), rel=1e-6)
    # x.item() keeps the gradient as float(x) does
    np.testing.assert_allclose(grad(item_scalar)(X), 4 * X)


@pytest.mark.parametrize("f", [mod_np, item_scalar, r_concat, c_concat,
                               det_of_stack, builtin_sum_of_arrays, zero_pow_operator],
                         ids=lambda f: f.__name__)
def test_second_order(f):
    x = X if f is not zero_pow_operator else 1.3
    check_grad(f, x, order=2)


def test_curried_lambda_is_the_inner_one():
    make = lambda a: lambda x: x * a  # noqa: E731
    f = make(3.0)
    assert grad(f)(1.3) == 3.0
    assert jvp(f, (1.3,), (1.0,))[1] == 3.0
    g = (lambda a: a ** 2, lambda b: b ** 3)[1]
    assert grad(g)(2.0) == pytest.approx(12.0)


# --- what is refused, by name -----------------------------------------------------

def tolist_sum(x):
    return sum(x.tolist())


def unknown_method_of_result(x):
    return np.sum(np.sum(x * 2).tolist())


def closure_to_map(x):
    def scale(v):
        return v * x
    return sum(map(scale, [1.0, 2.0]))


@pytest.mark.parametrize("f, construct", [
    (tolist_sum, ".tolist"),
    (unknown_method_of_result, ".tolist"),
    (closure_to_map, "'scale'"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_refused_with_the_construct_named(f, construct):
    x = 1.3 if f is closure_to_map else X
    for run in (lambda: grad(f)(x), lambda: jvp(f, (x,), (np.ones_like(x),))):
        with pytest.raises(MissingRuleError) as info:
            run()
        assert construct in str(info.value)


def test_unruled_argument_is_refused_not_dropped():
    """A differentiated value bound to a parameter with no rule is an error: einsum's
    first argument where nothing says it is not the subscripts (sublists passed in as
    arguments), an item of np.gradient's *varargs (its spacings)."""

    def through_subscripts(a, spec, out):
        return np.sum(np.einsum(a, spec, out))

    def through_spacing(h):
        return np.sum(np.gradient(X, h))
    for run in (lambda: grad(through_subscripts)(X, [0], [0]),
                lambda: jvp(through_subscripts, (X, [0], [0]), (X, None, None))):
        with pytest.raises(SourceDiffError, match="subscripts"):
            run()
    with pytest.raises(SourceDiffError, match="varargs"):
        grad(through_spacing)(0.5)


def test_every_rule_parameter_is_ruled_or_declared():
    """The table's own audit: a parameter with no template must be declared
    non-differentiable (None, or a default such as axis=None). Left to refusal: einsum's
    subscripts (a string, so a sublist operand is an error), the quantile q and the order a
    of the incomplete gamma functions. (The cotangent helpers have both rules since issue
    #16: tests/test_helper_rules.py.)"""
    loose = sorted({(rule.name, p.name) for rule in registry._RULES.values()
                    for p in rule.params if rule.refuses(p.name)})
    assert loose == sorted([("np.einsum", "subscripts"), ("np.gradient", "varargs"),
                            ("np.percentile", "q"),
                            ("np.quantile", "q"),
                            # a draw: its dependence on loc and scale is not in the rule
                            ("np.random.normal", "loc"), ("np.random.normal", "scale"),
                            # a real Bessel order, betainc's a and b, and the cdf of t
                            # and beta in their shape parameters have no closed form
                            ("scipy.special.jv", "v"), ("scipy.special.yv", "v"),
                            ("scipy.special.iv", "v"), ("scipy.special.ive", "v"),
                            ("scipy.special.betainc", "a"), ("scipy.special.betainc", "b"),
                            ("scipy.integrate.odeint", "t")] + [
        (f"scipy.stats.{d}.{how}", p) for d, ps in (("t", ["df"]), ("beta", ["a", "b"]))
        for how in ("cdf", "logcdf", "sf", "logsf") for p in ps])


def test_nondiff_operators_stay_quiet():
    """Operations declared non-differentiable pass without error: // and comparisons."""

    def f(x):
        k = x // 1.0
        return np.sum(x * k) + float(np.argmax(x))
    np.testing.assert_allclose(grad(f)(X), np.floor(X))


def test_readme_rule_is_documented():
    readme = (__import__("pathlib").Path(sourcediff.__file__).parent.parent / "README.md")
    assert "What is refused, and why" in readme.read_text()


def test_an_argument_held_fixed_brings_no_nan():
    """jvp, jacobian and hessian leave out arguments whose tangent is zero: the derivative
    of x ** n in n is not finite at x < 0, and 0 * nan would poison the result."""
    from sourcediff import hessian, jacobian
    x = np.array([-0.5, -1.5])
    np.testing.assert_allclose(jacobian(lambda x, n: x ** n)(x, 3), np.diag(3 * x ** 2))
    np.testing.assert_allclose(hessian(lambda x, n: np.sum(x ** n))(x, 3.0), np.diag(6 * x))
    assert jvp(lambda x, n: np.sum(x ** n), (x, 3), (np.ones(2), 0))[1] == pytest.approx(
        np.sum(3 * x ** 2))

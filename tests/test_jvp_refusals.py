"""``jvp`` refuses what ``grad`` refuses, with an ArgumentError, never a wrong tangent.

Complex primals are differentiated (tests/test_complex.py); a complex tangent of a real
primal is refused (it would leave the real line); int primals moved along a
nonzero tangent are refused like ``grad`` refuses int inputs, while an int (or
any non-float) argument *held fixed* by a zero tangent stays allowed. Functions
made by the runtime tape have no source for forward mode: a clear error.
"""

import numpy as np
import pytest

import sourcediff
from sourcediff import jvp, primitive, tape
from sourcediff.errors import ArgumentError, SourceDiffError


def sq_sum(x):
    return np.sum(x ** 2)


def power(x, n):
    return x ** n


def by_mode(x, mode):
    return np.sum(x) if mode == "sum" else np.prod(x)


@pytest.mark.parametrize("primal, tangent", [
    (np.array([1 + 1j, 2.0]), np.array([1.0, 1.0])),
    (1.0 + 2j, 1.0),
    (np.complex64(1.0), 1.0),
], ids=["complex-array", "complex-scalar", "complex64"])
def test_complex_primal_is_differentiated(primal, tangent):
    """d/dt sum((z + t v)^2) = sum(2 z v), by hand."""
    y, t = jvp(sq_sum, (primal,), (tangent,))
    assert np.allclose(t, np.sum(2 * primal * tangent))
    assert np.allclose(jvp(sq_sum, (primal,), (1j * np.ones(np.shape(primal)),))[1],
                       np.sum(2j * primal))


@pytest.mark.parametrize("primal, tangent", [
    (np.array([1.0, 2.0]), np.array([1j, 1.0])),
    (1.0, 1j),
], ids=["array", "scalar"])
def test_complex_tangent_of_a_real_primal_is_refused(primal, tangent):
    with pytest.raises(ArgumentError, match="tangent 0 is .*complex.*real tangents") as e:
        jvp(sq_sum, (primal,), (tangent,))
    assert "complex primal" in e.value.hint


def test_complex_primal_held_fixed_is_fine():
    y, t = jvp(power, (2.0, 1j), (1.0, 0.0))
    assert np.isclose(y, 2.0 ** 1j) and np.isclose(t, 1j * 2.0 ** (1j - 1))


@pytest.mark.parametrize("primal", [3, np.array([1, 2]), True, np.int64(4)],
                         ids=["int", "int-array", "bool", "np.int64"])
def test_int_primal_moved_is_refused(primal):
    with pytest.raises(ArgumentError, match="argument 0: it is an") as e:
        jvp(sq_sum, (primal,), (np.ones(np.shape(primal)),))
    assert "zero tangent" in e.value.hint


def test_non_numeric_tangent_or_primal_is_refused():
    with pytest.raises(ArgumentError, match="tangent 0 is a str"):
        jvp(sq_sum, (2.0,), ("a",))
    with pytest.raises(ArgumentError, match="argument 0: it is a str"):
        jvp(sq_sum, ("a",), (1.0,))


def test_arguments_held_fixed_by_a_zero_tangent_are_fine():
    x = np.array([1.0, 2.0])
    y, t = jvp(power, (x, 3), (np.ones(2), 0))
    np.testing.assert_allclose(y, x ** 3)
    np.testing.assert_allclose(t, 3 * x ** 2)                 # by hand
    y, t = jvp(by_mode, (x, "sum"), (np.array([1.0, -2.0]), 0.0))
    assert (y, t) == (3.0, -1.0)
    # int tangents are real numbers: accepted
    assert jvp(power, (2.0, 3.0), (1, 0))[1] == pytest.approx(12.0)


def test_jacobian_with_an_int_argument_still_works():
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(sourcediff.jacobian(power)(x, 3), np.diag(3 * x ** 2))


def test_primitive_inputs_are_checked_too():
    @primitive
    def double(x):
        return 2.0 * x
    double.defjvp(lambda tangents, ans, x: 2.0 * tangents[0])
    assert jvp(double, (1.5,), (1.0,)) == (3.0, 2.0)
    with pytest.raises(ArgumentError):
        jvp(double, (1.5,), (1.0j,))
    with pytest.raises(ArgumentError):
        jvp(double, (3,), (1.0,))


def poly_sin(x):
    return np.sin(x) * x ** 3


def test_jvp_of_a_tape_function_is_refused():
    for made in (tape.grad(poly_sin), tape.value_and_grad(poly_sin)):
        with pytest.raises(SourceDiffError, match="made by sourcediff.tape") as e:
            jvp(made, (1.3,), (1.0,))
        assert "sourcediff.grad" in e.value.hint


def test_jvp_of_a_compiled_gradient_is_the_second_derivative():
    x = 1.3
    d1 = np.cos(x) * x ** 3 + 3 * x ** 2 * np.sin(x)
    d2 = -np.sin(x) * x ** 3 + 6 * x ** 2 * np.cos(x) + 6 * x * np.sin(x)
    value, tangent = jvp(sourcediff.grad(poly_sin), (x,), (1.0,))
    assert value == pytest.approx(d1) and tangent == pytest.approx(d2)

"""Arrays built from differentiated values (found by running autograd's own test suite
against sourcediff, scripts/peer_suite/): ``np.linspace(x, y)``, ``np.full(shape, x)``,
``np.full_like(a, x)``, ``np.arange(x, stop, step)`` and ``np.heaviside(x1, h)`` used to be
declared non-differentiable as a whole, so their gradients were a silent zero. Each is
checked against central differences, in reverse and forward mode; ``np.random.normal``
with a differentiated ``loc`` is refused."""

from __future__ import annotations

import numpy as np
import pytest

from checks import fd
from sourcediff import MissingRuleError, grad, hessian, jvp, runtime, vjp
from sourcediff.front import resolve


def linspace_loss(x):
    return np.sum(np.linspace(x, 2.0 * x + 1.0, 5) ** 2)


def linspace_open(x):
    return np.sum(np.sin(np.linspace(x * x, 3.0, 4, endpoint=False)))


def linspace_arrays(x):
    return np.sum(np.linspace(np.array([x, 2.0]), x ** 2, 3, axis=1) ** 3)


def full_loss(x):
    return np.sum(np.full((2, 3), x) ** 3)


def full_like_loss(x):
    return np.sum(np.full_like(np.zeros(4), np.sin(x)) * np.arange(4.0))


def arange_loss(x):
    return np.sum(np.arange(x, 10.0, 2.0) ** 2)


def arange_step(x):
    return np.sum(np.arange(1.0, 5.0, x) ** 2)


def heaviside_loss(x):
    return np.sum(np.heaviside(np.array([0.0, 1.0, -1.0, 0.0]), x) * np.array([1.0, 2.0, 3.0, 4.0]))



CASES = [linspace_loss, linspace_open, linspace_arrays, full_loss, full_like_loss,
         arange_loss, arange_step, heaviside_loss]


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_gradient_and_tangent_match_differences(f):
    x = 0.7
    expected = fd(f, x)
    assert abs(expected) > 1e-3  # the dependence is real
    assert np.isclose(grad(f)(x), expected, rtol=1e-6, atol=1e-8)
    assert np.isclose(jvp(f, (x,), (1.0,))[1], expected, rtol=1e-6, atol=1e-8)
    assert np.isclose(hessian(f)(x), fd(grad(f), x, 1e-5), rtol=1e-5, atol=1e-6)


def test_hand_computed_linspace_gradient():
    # linspace(x, 2x + 1, 5)_k = x + (x + 1) k / 4, so d/dx sum_k p_k^2 = sum_k 2 p_k (1 + k/4)
    x = 0.7
    k = np.arange(5)
    p = x + (x + 1.0) * k / 4
    assert np.isclose(grad(linspace_loss)(x), np.sum(2 * p * (1 + k / 4)))


def test_random_normal_with_a_differentiated_loc_is_refused():
    def f(x):
        return np.sum(np.random.normal(x, 1.0, 3))

    with pytest.raises(MissingRuleError, match="np.random.normal"):
        grad(f)(0.5)


def test_linspace_retstep_is_refused():
    def f(x):
        return np.sum(np.linspace(x, 2.0, 4, retstep=True)[0])

    with pytest.raises(Exception, match="retstep"):
        grad(f)(0.5)


# --- vector p-norms: the second derivative was zero (the rule's tangent treated every
# order other than 2 as piecewise linear) ---------------------------------------------------
def _fd_jac(f, x, h=1e-5):
    cols = []
    for j in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[j] = h
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


@pytest.mark.parametrize("ord, axis, keepdims", [(3, None, False), (4, None, False),
                                                 (1.5, None, False), (3, 1, False),
                                                 (3, 0, True), (-2.5, 1, False)])
def test_p_norm_second_derivative(ord, axis, keepdims):
    X = np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.7]])

    def f(x):
        return np.sum(np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims) ** 2)

    if axis is None:
        X = X.ravel()
    g = grad(f)
    assert np.allclose(g(X), _fd_jac(f, X), rtol=1e-6, atol=1e-7)
    H = hessian(f)(X)
    assert np.allclose(H, _fd_jac(g, X), rtol=1e-5, atol=1e-6)
    assert np.abs(H).max() > 0.1  # not the zero it used to be


# --- calls that crashed inside or read NumPy's own source ------------------------------------
def _fd_grad(f, x, h=1e-6):
    return _fd_jac(f, x, h)


A34 = np.array([[0.3, -1.2, 0.8, 0.5], [1.1, 0.4, -0.7, 0.9], [-0.2, 0.6, 1.3, -1.0]])
B43 = A34.T[::-1] * 0.7 + 0.1


def cross_axes(a):
    return np.sum(np.cross(a, B43, axisa=0, axisb=1, axisc=0) * A34[::-1])


def cross_axis(a):
    return np.sum(np.cross(a, A34[::-1], axis=0) ** 2)


def row_stack_loss(a):
    return np.sum(np.row_stack([a, a * 2.0], dtype=float) ** 2)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("f", [cross_axes, cross_axis, row_stack_loss], ids=lambda f: f.__name__)
def test_keyword_forms_match_differences(f):
    if f is row_stack_loss and not hasattr(np, "row_stack"):
        pytest.skip("np.row_stack is gone from this NumPy (2.5)")
    assert np.allclose(grad(f)(A34), _fd_grad(f, A34), rtol=1e-6, atol=1e-7)
    v = np.cos(np.arange(12.0)).reshape(3, 4)
    assert np.isclose(jvp(f, (A34,), (v,))[1], np.sum(_fd_grad(f, A34) * v), rtol=1e-6)


def test_power_with_a_zero_exponent_at_zero():
    # d/dx x**0 = 0 everywhere, also at x = 0 (Python floats raised ZeroDivisionError)
    def f(x):
        return np.power(x, 0.0)

    assert grad(f)(0.0) == 0.0
    assert grad(grad(f))(0.0) == 0.0
    assert grad(f)(2.0) == 0.0
    assert np.all(grad(lambda x: np.sum(x ** np.array([0.0, 2.0])))(np.array([0.0, 3.0]))
                  == np.array([0.0, 6.0]))


def test_library_functions_are_never_read():
    scipy_stats = pytest.importorskip("scipy.stats")

    def f(x):
        return np.sum(scipy_stats.chi2.cdf(x, 3.0))  # a rule may come; then pick another

    def g(x):
        return np.sum(np.polynomial.polynomial.polyval(x, [1.0, 2.0]))

    for fn in (g,):
        with pytest.raises(MissingRuleError, match="no derivative rule for .*polyval"):
            grad(fn)(np.array([0.5, 1.5]))
    try:
        grad(f)(np.array([0.5, 1.5]))
    except MissingRuleError as err:
        assert "scipy.stats" in str(err) and "cdf" in str(err)


def test_one_predicate_says_whose_source_is_never_read():
    """resolve.library_of / never_read decide for parse (reading a source) and for both
    sweeps (a user call or a rule call): a NumPy function written in Python is never read,
    in forward mode either."""
    polyval = np.polynomial.polynomial.polyval
    assert resolve.library_of(polyval) == "numpy.polynomial.polynomial.polyval"
    assert resolve.never_read(polyval) and resolve.never_read(runtime.like)
    assert not resolve.never_read(rebinds_its_argument)
    assert resolve.library_of(rebinds_its_argument) is None

    def g(x):
        return np.sum(polyval(x, [1.0, 2.0]))

    with pytest.raises(MissingRuleError, match="no tangent rule for .*polyval"):
        jvp(g, (np.array([0.5, 1.5]),), (np.ones(2),))


def test_reverse_over_reverse_of_a_complex_argument():
    """vjp of a gradient with respect to a complex argument: the tape run over the
    generated gradient traced only float leaves, so the pullback was a silent zero."""
    z = np.array([0.3 + 0.2j, -0.5 + 0.1j])
    u = np.array([1.0 + 0.5j, -0.3 + 0.2j])
    w = np.array([0.7 - 0.2j, 0.1 + 0.9j])

    def h(x):
        return np.real(np.sum(np.sin(x) * np.conj(u)))

    G = grad(h)
    ct = vjp(G, z)[1](np.conj(w))[0]
    for v in (np.array([0.2 + 0.4j, -0.6 + 0.3j]), np.array([1.0, 0.0]), np.array([0.0, 1j])):
        e = 1e-6
        numeric = np.real(np.sum(np.conj(w) * (G(z + e * v / 2) - G(z - e * v / 2)) / e))
        assert np.real(np.sum(np.conj(v) * np.conj(ct))) == pytest.approx(numeric, abs=1e-8)


def rebinds_its_argument(a):
    r, i = np.real(a), np.imag(a)
    a = np.abs(r) ** 1.4 + np.abs(i) ** 1.3      # the parameter now holds a real array
    return np.sum(np.sin(a))


def test_a_complex_parameter_rebound_in_the_body():
    """The gradient took the type of the value rebound to the parameter (real) instead of
    the argument's (complex): from the second call on (the installed fast entry) and in
    every second derivative, the imaginary part was dropped, silently."""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(3, 2)) + 0.3j * rng.normal(size=(3, 2))
    V = rng.normal(size=(3, 2)) + 1j * rng.normal(size=(3, 2))
    W = rng.normal(size=(3, 2)) + 1j * rng.normal(size=(3, 2))
    e = 1e-6
    numeric = np.zeros(A.shape, complex)
    for idx in np.ndindex(A.shape):
        E = np.zeros(A.shape)
        E[idx] = e
        dx = (rebinds_its_argument(A + E) - rebinds_its_argument(A - E)) / (2 * e)
        dy = (rebinds_its_argument(A + 1j * E) - rebinds_its_argument(A - 1j * E)) / (2 * e)
        numeric[idx] = dx - 1j * dy          # autograd's convention
    G = grad(rebinds_its_argument)
    for _ in range(3):                        # the first call and the fast entry after it
        assert np.allclose(G(A), numeric, atol=1e-7)
    tn = (G(A + e * V / 2) - G(A - e * V / 2)) / e
    assert np.allclose(jvp(G, (A,), (V,))[1], tn, atol=1e-6)
    ct = vjp(G, A)[1](np.conj(W))[0]
    assert np.real(np.sum(np.conj(V) * np.conj(ct))) == pytest.approx(
        np.real(np.sum(np.conj(W) * tn)), abs=1e-6)


def test_second_derivative_of_zero_to_the_y():
    """0 ** y is 0 for y > 0, so every derivative in y is 0; reverse over reverse
    multiplied log(0) by 0 and gave NaN."""
    def f(y):
        return np.power(0.0, y)

    G = grad(f)
    assert G(0.49) == 0.0
    assert jvp(G, (0.49,), (1.0,))[1] == 0.0
    assert vjp(G, 0.49)[1](1.0)[0] == 0.0
    assert hessian(f)(0.49) == 0.0

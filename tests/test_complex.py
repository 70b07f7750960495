"""Issue #18: complex numbers, in reverse mode (compiled and tape), forward mode and at
order 2, under autograd's convention (docs/complex.md).

The gradient of a real function ``f`` of ``z = x + iy`` is ``df/dx - i df/dy``; of a
complex output, the gradient of its real part (so a holomorphic ``f`` gets ``f'(z)``).
Every case is checked against central differences along the real AND the imaginary
direction of each entry, and a few against hand-computed values.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from checks import fd_complex
from sourcediff import grad, hessian, jvp, tape, value_and_grad
from sourcediff.errors import ArgumentError, MissingRuleError

pytestmark = pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning")

Z = np.array([0.3 + 0.7j, -1.1 + 0.4j, 0.8 - 0.5j])
W = np.array([0.5 - 0.2j, 0.9 + 0.3j, -0.4 + 1.2j])



CASES = {
    "abs": lambda z: np.sum(np.abs(z) ** 3),
    "absolute": lambda z: np.sum(np.absolute(z * W)),
    "builtin abs": lambda z: abs(z[0] * z[1]),
    "angle": lambda z: np.sum(np.angle(z) * np.arange(3)),
    "angle deg": lambda z: np.angle(z[1], deg=True),
    "real": lambda z: np.sum(np.real(z * z)),
    "imag": lambda z: np.sum(np.imag(z * W) ** 2),
    ".real .imag": lambda z: np.sum(z.real * z.imag),
    "conj": lambda z: np.sum(np.real(np.conj(z) * W * z)),
    ".conj()": lambda z: np.sum(np.real(z.conj() * W)),
    "conjugate": lambda z: np.sum(np.imag(np.conjugate(z) * z * W)),
    "sqrt": lambda z: np.sum(np.sqrt(z) * W),
    "square": lambda z: np.sum(np.square(z)),
    "exp": lambda z: np.sum(np.exp(z) * W),
    "log": lambda z: np.sum(np.log(z) * W),
    "sin cos tanh arctan": lambda z: np.sum(np.real(np.tanh(z) * np.cos(z) * np.arctan(z))),
    "power": lambda z: np.sum(np.abs(z ** 2.5)),
    "power complex exponent": lambda z: np.sum(np.real(W ** z)),
    "divide": lambda z: np.sum(np.real(W / z)),
    "dot": lambda z: np.real(np.dot(z, W) * np.dot(W, z)),
    "matmul": lambda z: np.real(np.sum(np.outer(z, W) @ np.outer(W, z))),
    "vdot": lambda z: np.real(np.vdot(z, W * z)),
    "einsum": lambda z: np.abs(np.einsum("i,i->", z, W * z)),
    "sum": lambda z: np.sum(z) * (1 - 2j),
    "mean": lambda z: np.abs(np.mean(z * z)),
    "prod": lambda z: np.abs(np.prod(z)),
    "cumsum": lambda z: np.sum(np.abs(np.cumsum(z))),
    "var": lambda z: np.var(z * W),
    "std": lambda z: np.std(z * W),
    "norm": lambda z: np.linalg.norm(z),
    "max (lexicographic)": lambda z: np.real(np.max(z) * W[0]),
    "getitem": lambda z: np.abs(z[0] * z[2] - z[1]),
    "sign": lambda z: np.sum(np.real(np.sign(z * z) * W)),
    "det": lambda z: np.abs(np.linalg.det(np.outer(z, W) + np.eye(3))),
    "inv": lambda z: np.sum(np.abs(np.linalg.inv(np.outer(z, W) + np.eye(3)))),
    "solve": lambda z: np.sum(np.abs(np.linalg.solve(np.outer(z, W) + np.eye(3), z))),
    "complex()": lambda z: np.real(complex(np.real(z[0]), np.imag(z[2])) ** 2 * z[1]),
}
FIRST_ORDER_ONLY = {"norm 1": lambda z: np.linalg.norm(z, 1),
                    "norm inf": lambda z: np.linalg.norm(z, np.inf),
                    "norm 3": lambda z: np.linalg.norm(z, 3)}
DIRECTIONS = (np.array([0.3, -0.2, 0.5]) + 0j, 1j * np.array([0.1, 0.7, -0.4]))


@pytest.mark.parametrize("name", sorted(CASES) + sorted(FIRST_ORDER_ONLY))
def test_first_order(name):
    f = CASES.get(name) or FIRST_ORDER_ONLY[name]
    want = fd_complex(f, Z)
    g = grad(f)(Z)
    assert g.dtype == np.complex128 and np.allclose(g, want, atol=1e-6), name
    if name != "complex()":  # (complex(a, b) of traced values: the tape refuses, below)
        assert np.allclose(tape.grad(f)(Z), want, atol=1e-6), name
    for v in DIRECTIONS:  # forward mode, along a real and an imaginary direction
        t = jvp(f, (Z,), (v,))[1]
        assert np.allclose(t, (f(Z + 1e-6 * v) - f(Z - 1e-6 * v)) / 2e-6, atol=1e-6), name


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_order(name):
    """Forward over reverse, along a real and an imaginary direction, against central
    differences of the (checked) gradient."""
    f = CASES[name]
    df = grad(f)
    for v in DIRECTIONS:
        t = jvp(df, (Z,), (v,))[1]
        assert np.allclose(t, (df(Z + 1e-5 * v) - df(Z - 1e-5 * v)) / 2e-5, atol=1e-5), name


def test_hand_computed():
    z = 1.0 + 2.0j
    assert grad(lambda z: np.abs(z) ** 2)(z) == pytest.approx(2 - 4j)     # 2 conj(z)
    assert grad(lambda z: np.sin(z))(z) == pytest.approx(np.cos(z))     # holomorphic: f'(z)
    assert grad(lambda z: z * z * z)(z) == pytest.approx(3 * z * z)
    assert grad(lambda z: np.real(z))(z) == 1.0
    assert grad(lambda z: np.imag(z))(z) == pytest.approx(-1j)
    assert grad(lambda z: np.abs(z))(3 + 4j) == pytest.approx((3 - 4j) / 5)
    assert grad(lambda z: np.angle(z))(z) == pytest.approx(-1j / z)
    # sign(z) = z / |z|: a real part x / |z| has the gradient (y^2 + i x y) / |z|^3; a real
    # sign is constant, and sign(0) too
    assert grad(lambda z: np.real(np.sign(z)))(z) == pytest.approx((4 + 2j) / 5 ** 1.5)
    assert grad(lambda x: np.sign(x) * 3.0)(-2.0) == 0.0
    assert grad(lambda z: np.real(np.sign(z)))(0j) == 0.0
    assert grad(lambda z: np.real(np.conj(z) * 1j))(z) == pytest.approx(-1j)
    # the steepest ascent direction is the conjugate: a step along it raises |z|^2
    f = lambda z: np.abs(z) ** 2  # noqa: E731
    assert f(z + 1e-3 * np.conj(grad(f)(z))) > f(z)
    # forward mode: tangents dx + i dy
    assert jvp(lambda z: np.exp(z), (z,), (1j,))[1] == pytest.approx(1j * np.exp(z))
    assert jvp(lambda z: np.abs(z), (3 + 4j,), (1j,))[1] == pytest.approx(0.8)


def test_a_real_argument_through_complex_values_gets_a_real_gradient():
    x = np.array([0.3, 0.5, -0.2])

    def f(x):
        return np.real(np.sum(np.exp(1j * x) * W))
    g = grad(f)(x)
    assert g.dtype == np.float64 and np.allclose(g, np.real(1j * np.exp(1j * x) * W))
    assert tape.grad(f)(x).dtype == np.float64
    assert type(grad(lambda t: np.abs(np.exp(1j * t) + 0.5))(0.3)) is float
    for _ in range(2):   # the installed fast entry (second call) too
        d = grad(lambda t: np.real(complex(t, t * t) ** 2))(0.42)
        assert type(d) is float and d == pytest.approx(2 * 0.42 - 4 * 0.42 ** 3)
    H = hessian(lambda x: np.sum(np.abs(np.exp(1j * x) * W + x) ** 2))(x)
    assert H.dtype == np.float64
    v, g = value_and_grad(lambda x: np.abs(np.sum(x * W)))(x)
    assert isinstance(v, float) and g.dtype == np.float64


def test_dtypes_are_kept():
    z64 = Z.astype(np.complex64)
    g = grad(lambda z: np.sum(np.abs(z) ** 2))(z64)
    assert g.dtype == np.complex64 and np.allclose(g, 2 * np.conj(z64), atol=1e-6)
    assert isinstance(grad(lambda z: np.abs(z))(1 + 1j), complex)
    assert isinstance(grad(lambda z: np.abs(z))(np.complex128(1 + 1j)), complex)  # as float64


def test_arrays_of_complex_and_real_arguments_together():
    def f(z, x):
        return np.sum(np.abs(z * x) ** 2)
    x = np.array([0.5, -1.0, 2.0])
    gz, gx = grad(f, (0, 1))(Z, x)
    assert np.allclose(gz, 2 * np.conj(Z) * x ** 2)
    assert gx.dtype == np.float64 and np.allclose(gx, 2 * x * np.abs(Z) ** 2)


def test_a_complex_argument_with_a_large_array():
    """Arrays past the in-place threshold: no buffer of the wrong dtype is written."""
    rng = np.random.default_rng(1)
    z = rng.normal(size=5000) + 1j * rng.normal(size=5000)
    x = rng.normal(size=5000)

    def f(z, x):
        y = np.tanh(x) + x * x
        return np.sum(np.abs(y * z + y) ** 2)
    gz, gx = grad(f, (0, 1))(z, x)
    y = np.tanh(x) + x * x
    assert np.allclose(gz, 2 * np.conj(y * z + y) * y)
    dy = 1 - np.tanh(x) ** 2 + 2 * x
    assert gx.dtype == np.float64 and np.allclose(gx, 2 * np.real(np.conj(y * z + y) * (z + 1)) * dy)


def test_refused_clearly():
    with pytest.raises(ArgumentError, match="real tangents for real primals"):
        jvp(np.sin, (1.0,), (1j,))
    for ord_ in (1, np.inf, 3):  # (a norm's second derivative on complex input: since
        # test_complex_table.py::test_norms_at_order_two_on_complex_input; its third)
        with pytest.raises(MissingRuleError, match="np.linalg.norm|norm_vjp"):
            jvp(grad(grad(lambda s, o=ord_: np.linalg.norm(Z * s, o))), (0.5,), (1.0,))
    with pytest.raises(Exception, match="float"):  # the tape cannot trace complex(a, b)
        tape.grad(lambda z: np.real(complex(np.real(z), 1.0)))(1 + 1j)


def test_no_complex_warning_anywhere():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grad(lambda x: np.real(np.sum(np.fft.fft(x) * W)))(np.ones(3))
        jvp(grad(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2)), (np.ones(3),), (np.ones(3),))


EIG_CASES = {
    "eigvals": lambda a: np.sum(np.abs(np.linalg.eigvals(a)) ** 3),
    "eigvals parts": lambda a: np.sum(np.real(np.linalg.eigvals(a)) ** 3
                                      + np.imag(np.linalg.eigvals(a)) ** 2),
    "eig values": lambda a: np.sum(np.abs(np.linalg.eig(a)[0]) ** 3),
    # eigenvectors: losses that do not depend on each column's phase (NumPy picks it)
    "eig |vectors|": lambda a: np.sum(np.abs(np.linalg.eig(a)[1]) ** 4),
    "eig both": lambda a: np.sum(np.abs(np.linalg.eig(a)[1] * np.linalg.eig(a)[0]) ** 2),
}
_g = np.random.default_rng(3)
EIG_MATRICES = {
    "real, real eigenvalues": np.array([[2.0, 0.3, -0.5], [0.1, -1.0, 0.4], [0.2, 0.7, 0.5]]),
    "real, complex eigenvalues": np.array([[0.0, -2.0, 0.3], [1.5, 0.1, 0.0], [0.2, 0.4, 1.0]]),
    "complex": _g.normal(size=(3, 3)) + 1j * _g.normal(size=(3, 3)),
}


@pytest.mark.parametrize("matrix", sorted(EIG_MATRICES))
@pytest.mark.parametrize("name", sorted(EIG_CASES))
def test_eig_and_eigvals(name, matrix):
    """np.linalg.eig / eigvals (distinct eigenvalues): reverse, tape, forward, order 2."""
    f, A = EIG_CASES[name], EIG_MATRICES[matrix]
    want = np.zeros(A.shape, A.dtype)
    for j in np.ndindex(A.shape):
        e = np.zeros(A.shape, A.dtype)
        e[j] = 1e-6
        want[j] = (f(A + e) - f(A - e)) / 2e-6
        if np.iscomplexobj(A):
            want[j] -= 1j * (f(A + 1j * e) - f(A - 1j * e)) / 2e-6
    g = grad(f)(A)
    assert g.dtype == A.dtype and np.allclose(g, want, atol=1e-5)
    assert np.allclose(tape.grad(f)(A), want, atol=1e-5)
    v = np.cos(np.arange(9.0)).reshape(3, 3).astype(A.dtype)
    assert np.isclose(jvp(f, (A,), (v,))[1], (f(A + 1e-6 * v) - f(A - 1e-6 * v)) / 2e-6,
                      atol=1e-5)
    df = grad(f)
    assert np.allclose(jvp(df, (A,), (v,))[1], (df(A + 1e-5 * v) - df(A - 1e-5 * v)) / 2e-5,
                       atol=1e-4)



@pytest.mark.parametrize("p", [3, 1.5, -1, 4])
def test_vector_p_norm_second_derivative(p):
    """(Found while giving np.linalg.norm complex arguments: the Hessian of a real vector
    p-norm was taken as zero.)"""
    x = np.array([0.3, -0.5, 0.8])

    def f(x):
        return np.linalg.norm(x, p) ** 2 + np.linalg.norm(np.outer(x, x), axis=0, ord=p)[0]
    df = grad(f)
    H_fd = np.stack([(df(x + 1e-5 * e) - df(x - 1e-5 * e)) / 2e-5 for e in np.eye(3)])
    assert np.allclose(hessian(f)(x), H_fd, atol=1e-5)
    assert np.allclose(df(x), np.array([(f(x + 1e-6 * e) - f(x - 1e-6 * e)) / 2e-6
                                        for e in np.eye(3)]), atol=1e-6)

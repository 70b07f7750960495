"""Issue #18: np.linalg.cholesky, eigh, eigvalsh, qr, svd, pinv, slogdet of complex matrices,
under autograd's convention (docs/complex.md), in reverse mode (compiled and tape),
forward mode and at order 2, against central differences along the real and the
imaginary direction of each entry. Functions reading one triangle read a complex matrix
as LAPACK does: the Hermitian matrix of that triangle and the real part of the diagonal
(the test matrices are not Hermitian, so a rule reading the other triangle fails).
Eigen- and singular vectors: losses that do not depend on the phase NumPy picks.
"""

from __future__ import annotations

import numpy as np
import pytest

from checks import fd_complex
from sourcediff import grad, jvp, tape, vjp
from sourcediff.errors import MissingRuleError

_r = np.random.default_rng(1)


def cplx(*shape):
    return _r.normal(size=shape) + 1j * _r.normal(size=shape)


_A = cplx(3, 3)
HERM = _A @ _A.conj().T + 2 * np.eye(3)
ONE_TRIANGLE = HERM.copy()
ONE_TRIANGLE[0, 2], ONE_TRIANGLE[1, 1] = 9 + 1j, HERM[1, 1] + 0.5j   # read: HERM's lower
TALL, WIDE, W = cplx(4, 3), cplx(2, 3), cplx(3, 4)
STACK = np.stack([HERM, HERM.T + np.eye(3)])
K9 = np.arange(1.0, 10.0).reshape(3, 3)


def svd_(a):
    return np.linalg.svd(a, full_matrices=False)


CASES = {
    "cholesky": (lambda a: np.sum(np.abs(np.linalg.cholesky(a) * K9) ** 2), ONE_TRIANGLE),
    "cholesky complex out": (lambda a: np.sum(np.linalg.cholesky(a) * W[:, :3]), ONE_TRIANGLE),
    "cholesky stack": (lambda a: np.sum(np.abs(np.linalg.cholesky(a)) ** 3), STACK),
    "eigh w": (lambda a: np.sum(np.linalg.eigh(a)[0] ** 3), ONE_TRIANGLE),
    "eigh upper": (lambda a: np.sum(np.linalg.eigh(a, "U")[0] ** 3 * np.arange(3)), ONE_TRIANGLE),
    "eigvalsh": (lambda a: np.sum(np.sin(np.linalg.eigvalsh(a))), ONE_TRIANGLE),
    "eigvalsh upper stack": (lambda a: np.sum(np.linalg.eigvalsh(a, "U") ** 2), STACK),
    "eigh |v|": (lambda a: np.sum(np.abs(np.linalg.eigh(a)[1]) ** 4 * K9), ONE_TRIANGLE),
    "eigh v w v^H": (lambda a: np.sum(np.linalg.eigh(a)[1] * np.linalg.eigh(a)[0] ** 2
                                      @ np.conj(np.linalg.eigh(a)[1]).T * W[:, :3]),
                     ONE_TRIANGLE),
    "qr": (lambda a: np.sum(np.abs(np.linalg.qr(a)[0] * np.arange(1.0, 4.0)) ** 4)
           + np.sum(np.abs(np.linalg.qr(a)[1]) ** 3), TALL),
    "qr r": (lambda a: np.sum(np.linalg.qr(a)[1] * W[:3, :3]), TALL),
    "qr square": (lambda a: np.sum(np.abs(np.linalg.qr(a)[0] @ W[:, :3]) ** 2), _A),
    "svd s": (lambda a: np.sum(svd_(a)[1] ** 3), TALL),
    "svd s only": (lambda a: np.sum(np.linalg.svd(a, compute_uv=False) ** 3), TALL),
    "svd |u|": (lambda a: np.sum(np.abs(svd_(a)[0]) ** 4 * np.arange(12.0).reshape(4, 3)), TALL),
    "svd |vh|": (lambda a: np.sum(np.abs(svd_(a)[2]) ** 4 * K9), TALL),
    "svd wide": (lambda a: np.sum(np.abs(svd_(a)[0] * svd_(a)[2][:, :2]) ** 2 * K9[:2, :2])
                 + np.sum(np.abs(svd_(a)[2]) ** 4 * K9[:2]), WIDE),
    "svd u s^2 vh": (lambda a: np.sum((svd_(a)[0] * svd_(a)[1] ** 2) @ svd_(a)[2] * W.T), TALL),
    # slogdet's sign det/|det| moves for a complex matrix (it was taken as constant)
    "slogdet sign": (lambda a: np.linalg.slogdet(a)[0] * W[0, 0] + np.linalg.slogdet(a)[1] ** 2,
                     _A),
    "pinv": (lambda a: np.sum(np.linalg.pinv(a) * W) + np.sum(np.abs(np.linalg.pinv(a)) ** 2),
             TALL),
    "pinv wide": (lambda a: np.sum(np.linalg.pinv(a) * W[:, :2]), WIDE),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_complex_matrix_against_differences(name):
    f, A = CASES[name]
    want = fd_complex(f, A)
    g = grad(f)(A)
    assert g.dtype == A.dtype and np.allclose(g, want, atol=1e-5), "reverse"
    assert np.allclose(tape.grad(f)(A), want, atol=1e-5), "tape"
    for v in (np.cos(np.arange(A.size)).reshape(A.shape),        # real direction
              1j * np.sin(np.arange(A.size) + 1.0).reshape(A.shape)):  # imaginary one
        fd1 = (f(A + 1e-6 * v) - f(A - 1e-6 * v)) / 2e-6
        assert np.isclose(jvp(f, (A,), (v,))[1], fd1, atol=1e-5), "forward"
        # order 2: forward over reverse and reverse over reverse, against differences of
        # the gradient (the Hessian's pairing <u, H v> = Re sum(u * d grad))
        fd2 = (grad(f)(A + 1e-5 * v) - grad(f)(A - 1e-5 * v)) / 2e-5
        assert np.allclose(jvp(grad(f), (A,), (v,))[1], fd2, atol=1e-4), "forward over reverse"
        u = np.cos(np.arange(A.size) * 0.7).reshape(A.shape) + 0.3j
        assert np.isclose(np.real(np.sum(vjp(grad(f), A)[1](u)[0] * v)),
                          np.real(np.sum(u * fd2)), atol=1e-4), "reverse over reverse"


def test_hand_computed():
    """sum(eigvalsh(a)) is the trace of the Hermitian matrix read from a: the sum of the
    real parts of a's diagonal, so its gradient is the identity; log det of that matrix
    is 2 sum(log(diag(cholesky(a)))), its gradient (lower triangle read) the lower
    triangle of 2 inv(H)^T off the diagonal, inv(H)'s real diagonal on it."""
    assert np.allclose(grad(lambda a: np.sum(np.linalg.eigvalsh(a)))(ONE_TRIANGLE), np.eye(3))
    g = grad(lambda a: 2 * np.sum(np.log(np.real(np.diagonal(np.linalg.cholesky(a))))))
    inv_t = np.linalg.inv(HERM).T
    want = np.tril(2 * inv_t, -1) + np.diag(np.real(np.diag(inv_t)))
    assert np.allclose(g(ONE_TRIANGLE), want)
    s_grad = grad(lambda a: np.sum(np.linalg.svd(a, compute_uv=False)))(TALL)
    u, _, vh = svd_(TALL)
    assert np.allclose(s_grad, np.conj(u @ vh))   # d sum(s) = Re tr(u^H da v)


def test_real_matrices_keep_real_gradients():
    f = lambda a: np.sum(np.linalg.svd(a, compute_uv=False) ** 2)  # noqa: E731
    x = np.real(TALL)
    assert grad(f)(x).dtype == np.float64 and np.allclose(grad(f)(x), 2 * x)


def test_factor_and_solve_pairs_refuse_complex_matrices():
    """Their formulas are for real matrices: a complex one is an error, not a wrong gradient."""
    sl = pytest.importorskip("scipy.linalg")
    for f in (lambda a: np.sum(np.abs(np.linalg.lstsq(a, HERM[:, 0], rcond=None)[0])),
              lambda a: np.sum(np.abs(sl.cho_factor(a)[0])),
              lambda a: np.sum(np.abs(sl.cho_solve(sl.cho_factor(a), HERM[0])))):
        for run in (lambda f=f: grad(f)(HERM), lambda f=f: jvp(f, (HERM,), (HERM,))):
            with pytest.raises(MissingRuleError, match="of a complex argument"):
                run()

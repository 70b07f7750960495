"""Issue #18: ``np.fft``, every transform with ``n``/``s``, ``axis``/``axes`` and ``norm``,
in reverse mode (compiled and tape), forward mode and at order 2.

Each case is a real loss of one transform's output (a fixed complex weighting plus a
quadratic term, so the second derivative is not zero), checked against central
differences along the real and (for a complex input) the imaginary direction of every
entry; a few transposes are checked against hand-computed values.
"""

from __future__ import annotations

import numpy as np
import pytest

from checks import fd_complex
from sourcediff import grad, hessian, jvp, tape

pytestmark = pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning")

rng = np.random.default_rng(0)
R = rng.normal(size=(4, 5))
C = rng.normal(size=(4, 5)) + 1j * rng.normal(size=(4, 5))
W = rng.normal(size=(16, 16)) + 1j * rng.normal(size=(16, 16))
F = np.fft


def loss(y):
    w = W[tuple(slice(0, n) for n in np.shape(y))]
    return np.real(np.sum(w * y)) + 0.1 * np.sum(np.abs(y) ** 2)



def _cases():
    out = {}
    for norm in (None, "backward", "ortho", "forward"):
        def c(name, a, t, norm=norm):
            out[f"{name} norm={norm}"] = (a, lambda x: loss(t(x, norm)))
        c("fft", C, lambda a, nm: F.fft(a, norm=nm))
        c("fft n pads", C, lambda a, nm: F.fft(a, 6, 0, nm))
        c("fft n cuts", R, lambda a, nm: F.fft(a, 3, norm=nm))
        c("ifft n pads", C, lambda a, nm: F.ifft(a, 7, axis=0, norm=nm))
        c("fft2 s", C, lambda a, nm: F.fft2(a, (3, 6), norm=nm))
        c("ifft2", R, lambda a, nm: F.ifft2(a, norm=nm))
        c("fftn s axes", C, lambda a, nm: F.fftn(a, (5,), (1,), nm))
        c("fftn axes", C, lambda a, nm: F.fftn(a, axes=(0,), norm=nm))
        c("fftn", C, lambda a, nm: F.fftn(a, norm=nm))
        c("ifftn s", C, lambda a, nm: F.ifftn(a, (3, 7), (0, 1), nm))
        c("rfft", R, lambda a, nm: F.rfft(a, norm=nm))
        c("rfft n odd pads", R, lambda a, nm: F.rfft(a, 7, 0, nm))
        c("rfft n even cuts", R, lambda a, nm: F.rfft(a, 4, norm=nm))
        c("irfft", C, lambda a, nm: F.irfft(a, norm=nm))
        c("irfft n odd", C, lambda a, nm: F.irfft(a, 7, norm=nm))
        c("irfft n cuts", C, lambda a, nm: F.irfft(a, 3, 0, nm))
        c("irfft n pads", C, lambda a, nm: F.irfft(a, 12, norm=nm))
        c("rfft2", R, lambda a, nm: F.rfft2(a, norm=nm))
        c("rfftn s", R, lambda a, nm: F.rfftn(a, (3, 7), (0, 1), nm))
        c("irfft2", C, lambda a, nm: F.irfft2(a, norm=nm))
        c("irfftn s", C, lambda a, nm: F.irfftn(a, (5, 5), (1, 0), nm))
        c("hfft", C, lambda a, nm: F.hfft(a, norm=nm))
        c("hfft n", C, lambda a, nm: F.hfft(a, 5, 0, nm))
        c("ihfft", R, lambda a, nm: F.ihfft(a, norm=nm))
        c("ihfft n", R, lambda a, nm: F.ihfft(a, 7, norm=nm))
    out["fftshift"] = (C, lambda a: loss(F.fftshift(a) * np.arange(5)))
    out["ifftshift axes"] = (R, lambda a: loss(F.ifftshift(a, axes=0) * np.arange(5)))
    out["round trip of a real signal"] = (
        R, lambda a: np.sum(np.abs(F.ifft(F.fft(a) * W[:4, :5])) ** 2))
    out["rfft then irfft"] = (R, lambda a: np.sum(F.irfft(F.rfft(a) * W[:4, :3], 5) ** 3))
    return out


CASES = _cases()


def _directions(a):
    dirs = [rng.normal(size=a.shape).astype(a.dtype)]
    if np.iscomplexobj(a):
        dirs.append(1j * rng.normal(size=a.shape))
    return dirs


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_order(name):
    a, f = CASES[name]
    want = fd_complex(f, a)
    g = grad(f)(a)
    assert g.dtype == a.dtype and np.allclose(g, want, atol=1e-5), name
    assert np.allclose(tape.grad(f)(a), want, atol=1e-5), name
    for v in _directions(a):
        t = jvp(f, (a,), (v,))[1]
        assert np.isclose(t, (f(a + 1e-6 * v) - f(a - 1e-6 * v)) / 2e-6, atol=1e-5), name


@pytest.mark.parametrize("name", sorted(n for n in CASES if "norm=None" in n or "norm" not in n))
def test_second_order(name):
    a, f = CASES[name]
    df = grad(f)
    for v in _directions(a):
        t = jvp(df, (a,), (v,))[1]
        assert np.allclose(t, (df(a + 1e-5 * v) - df(a - 1e-5 * v)) / 2e-5, atol=1e-5), name


def test_hessian_of_a_real_function_through_fft():
    x = R[0]

    def f(x):
        return np.sum(np.abs(np.fft.rfft(x)) ** 2)   # Parseval-like: a quadratic form
    H = hessian(f)(x)
    # by hand: |rfft(x)_k|^2 summed is x^T M x with M = sum_k c_k Re(e_k e_k^H)
    n = x.size
    k = np.arange(n // 2 + 1)
    E = np.exp(-2j * np.pi * np.outer(k, np.arange(n)) / n)
    M = np.real(E.conj().T @ E)
    assert H.dtype == np.float64 and np.allclose(H, 2 * M)
    assert np.allclose(grad(f)(x), 2 * M @ x)


def test_hand_computed_transposes():
    """fft is symmetric (its cotangent is fft(g)); irfft counts the bins between the zero
    and the Nyquist bin twice."""
    y = rng.normal(size=8) + 1j * rng.normal(size=8)
    x = rng.normal(size=8) + 1j * rng.normal(size=8)
    assert np.allclose(grad(lambda x: np.real(np.sum(np.fft.fft(x) * y)))(x), np.fft.fft(y))
    assert np.allclose(grad(lambda x: np.real(np.sum(np.fft.fft(x, norm="ortho") * y)))(x),
                       np.fft.fft(y, norm="ortho"))
    a = rng.normal(size=5) + 1j * rng.normal(size=5)     # irfft(a) has n = 8
    r = rng.normal(size=8)
    want = np.fft.ifft(r)[:5] * np.array([1, 2, 2, 2, 1])
    assert np.allclose(grad(lambda a: np.sum(np.fft.irfft(a) * r))(a), want)
    # rfft of a real x: the real part of fft(g padded with zeros to n)
    g = rng.normal(size=5) + 1j * rng.normal(size=5)
    xr = rng.normal(size=8)
    assert np.allclose(grad(lambda x: np.real(np.sum(np.fft.rfft(x) * g)))(xr),
                       np.real(np.fft.fft(g, 8)))


def test_fftfreq_is_constant():
    def f(x):
        k = np.fft.fftfreq(x.size, 0.1)
        return np.sum(np.real(np.fft.ifft(np.fft.fft(x) * np.exp(-k * k))))
    x = R[0]
    assert np.allclose(grad(f)(x), fd_complex(f, x), atol=1e-6)

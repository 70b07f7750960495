"""Helpers of the linear-algebra rules (:mod:`sourcediff.prims.rules_linalg`).

``lower_sym`` is what a function reading one triangle of its argument (``cholesky``,
``eigh``) sees of a perturbation, ``lower_sym_adj`` its transpose: with them the
gradients are those of the functions as NumPy computes them (a symmetric ``A`` built
from other values gets the same gradient either way). A complex matrix is read as
LAPACK reads it: the Hermitian matrix of one triangle and the real part of the diagonal.
Complex matrices follow docs/complex.md: a tangent map's transpose under
``Re sum(g * dy)``, so a map that conjugates has a conjugating transpose. Helpers used in reverse
templates have rules, so the adjoints differentiate again (``svd``'s reverse rule is
written out of them in :mod:`sourcediff.prims.rules_linalg`).
"""

from __future__ import annotations

import numpy as np

from ..errors import MissingRuleError
from .numeric_shape import tuple_cots


def _t(x):
    return np.swapaxes(x, -1, -2)


def _h(x):
    """The conjugate transpose."""
    return np.conj(np.swapaxes(x, -1, -2))


def _imag_diag(x):
    """``i Im`` of ``x``'s diagonal (a phase's derivative; zeros for a real ``x``)."""
    return (x - np.real(x)) * np.eye(np.shape(x)[-1])


def _real_diag(x):
    return np.real(x) * np.eye(np.shape(x)[-1])


def lower_sym(x, upper=False):
    """The symmetric (complex: Hermitian) matrix made of ``x``'s lower (``upper``: upper)
    triangle and the real part of its diagonal."""
    tri = np.triu(x, 1) if upper else np.tril(x, -1)
    return tri + np.conj(_t(tri)) + _real_diag(x)


def lower_sym_adj(g, upper=False):
    """The transpose of :func:`lower_sym`: ``g + conj(g.T)`` on one triangle, the real
    part of ``g``'s diagonal."""
    h = g + np.conj(_t(g))
    return (np.triu(h, 1) if upper else np.tril(h, -1)) + _real_diag(g)


def chol_phi(x):
    """The lower triangle of ``x`` with its diagonal halved (Cholesky's derivative)."""
    return np.tril(x) - 0.5 * x * np.eye(np.shape(x)[-1])


def eigh_gapinv(w):
    """``F[..., i, j] = 1 / (w_j - w_i)`` off the diagonal, 0 on it."""
    eye = np.eye(np.shape(w)[-1])
    return (1.0 - eye) / (w[..., None, :] - w[..., :, None] + eye)


def eigh_jvp(da, ans, uplo="L"):
    """The tangent ``(dw, dv)`` of ``np.linalg.eigh(a, uplo)`` along ``da``."""
    w, v = ans
    m = _h(v) @ lower_sym(da, uplo == "U") @ v
    return np.real(np.diagonal(m, 0, -2, -1)), v @ (eigh_gapinv(w) * m)


def qr_guard(a, mode="reduced"):
    """1.0 where ``np.linalg.qr(a, mode)`` has a rule (reduced, rows >= columns)."""
    if mode != "reduced" or np.shape(a)[-2] < np.shape(a)[-1]:
        raise MissingRuleError(
            "no derivative rule for np.linalg.qr of a wide matrix or with mode="
            f"{mode!r}", construct="np.linalg.qr",
            hint="use mode='reduced' on a matrix with at least as many rows as columns")
    return 1.0


def qr_jvp(da, ans, a, mode="reduced"):
    """The tangent ``(dq, dr)`` of ``np.linalg.qr(a)`` along ``da``."""
    qr_guard(a, mode)
    q, r = ans
    dx_rinv = _t(np.linalg.solve(_t(r), _t(da)))       # da @ inv(r)
    qt = _h(q) @ dx_rinv
    low = np.tril(qt, -1)
    do = low - _h(low) + _imag_diag(qt)                # q^H dq (r's diagonal stays real)
    return q @ (do - qt) + dx_rinv, (qt - do) @ r


def _svd_parts(ans, a, full_matrices):
    u, s, vh = ans
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    return u[..., :, :k], s, vh[..., :k, :], m, n, k


def _refuse_full(what):
    raise MissingRuleError(
        f"no derivative rule for the {what} of np.linalg.svd(a, full_matrices=True) of a "
        "non-square matrix: its extra singular vectors are not unique",
        construct="np.linalg.svd", hint="pass full_matrices=False")


def svd_guard(g, ans, a):
    """1.0 where the cotangent of ``np.linalg.svd(a)`` reads no extra singular vector
    (those of ``full_matrices=True`` past ``min(m, n)``, which are not unique)."""
    gu, _, gvh = tuple_cots(g, ans)
    k = min(np.shape(a)[-2:])
    if np.any(gu[..., :, k:]) or np.any(gvh[..., k:, :]):
        _refuse_full("extra vectors")
    return 1.0


def svd_jvp(da, ans, a, full_matrices=True, compute_uv=True):
    """The tangent of ``np.linalg.svd(a, full_matrices, compute_uv)`` along ``da``."""
    if not compute_uv:
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        return np.real(np.diagonal(_h(u) @ da @ _h(vh), 0, -2, -1))
    u, s, vh, m, n, k = _svd_parts(ans, a, full_matrices)
    if full_matrices and m != n:
        _refuse_full("tangent")
    v = _h(vh)
    p = _h(u) @ da @ v                                  # k x k
    ds = np.real(np.diagonal(p, 0, -2, -1))
    f = eigh_gapinv(s * s)
    sp, ps = s[..., :, None] * p, p * s[..., None, :]
    # a complex pair (u_i, v_i) has a common phase NumPy picks: u_i takes the change
    du = u @ (f * (ps + _h(ps)) + _imag_diag(p) / s[..., None, :])
    dv = v @ (f * (sp + _h(sp)))
    if m > k:
        du = du + (np.eye(m) - u @ _h(u)) @ da @ v / s[..., None, :]
    if n > k:
        dv = dv + (np.eye(n) - v @ vh) @ _h(da) @ u / s[..., None, :]
    return du, ds, _h(dv)


def _chain(mats, n):
    """The product of ``mats`` (2-D), or the identity of size ``n`` for none."""
    out = mats[0] if mats else np.eye(n)
    for m in mats[1:]:
        out = out @ m
    return out


def multi_dot_vjp(g, arrays, i):
    """The cotangent of ``arrays[i]`` in ``np.linalg.multi_dot(arrays)`` (a 1-D first
    operand a row, a 1-D last one a column, as NumPy reads them)."""
    mats = [np.asarray(a) for a in arrays]
    first_1d, last_1d = mats[0].ndim == 1, mats[-1].ndim == 1
    if first_1d:
        mats[0] = mats[0][None, :]
    if last_1d:
        mats[-1] = mats[-1][:, None]
    g2 = np.reshape(g, (np.shape(mats[0])[0], np.shape(mats[-1])[1]))
    left = _chain(mats[:i], np.shape(mats[i])[0])
    right = _chain(mats[i + 1:], np.shape(mats[i])[1])
    return np.reshape(_t(left) @ g2 @ _t(right), np.shape(arrays[i]))


def multi_dot_jvp(arrays, darrays):
    """The tangent of ``np.linalg.multi_dot(arrays)``: one operand's tangent at a time."""
    out = 0.0
    for i, d in enumerate(darrays):
        out = out + np.linalg.multi_dot([d if j == i else a for j, a in enumerate(arrays)])
    return out


def multi_dot_vjp_dops(g, arrays, darrays, i):
    """The tangent of ``multi_dot_vjp(g, arrays, i)`` along the operands."""
    out = 0.0
    for j, d in enumerate(darrays):
        if j != i:
            out = out + multi_dot_vjp(g, [d if k == j else a for k, a in enumerate(arrays)], i)
    return out


HELPERS = {name: obj for name, obj in globals().items()
           if callable(obj) and not name.startswith("_") and getattr(obj, "__module__", None)
           == __name__ and name != "tuple_cots"}

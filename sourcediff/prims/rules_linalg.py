"""Rules of ``np.linalg`` (issue #18), on stacks of matrices as NumPy broadcasts them.

Read a line as in :mod:`sourcediff.prims.rules`. A function returning a tuple (``slogdet``,
``eigh``, ``svd``, ``qr``) gets its output's cotangent as a list (None for entries
nothing read: ``tuple_cot`` makes them zeros) and gives its tangent as a tuple.
Functions reading one triangle (``cholesky``, ``eigh``) differentiate as they compute:
see :mod:`sourcediff.runtime.numeric_linalg`. Complex matrices (docs/complex.md): a rule is the
transpose of its tangent map under ``Re sum(g * dy)``: plain transposes where the tangent
is complex-linear, conjugates where it conjugates (``a^H``, a real part, a phase); for a
real matrix each ``np.conj`` is the identity and the formula the real one.
"""

from __future__ import annotations

import numpy as np

from ..runtime import numeric_linalg as nl
from . import facts
from .registry import defnondiff, defrule


def _t(x):
    return f"np.swapaxes({x}, -1, -2)"


def _h(x):
    return f"np.conj({_t(x)})"


def _cot(k):
    return f"tuple_cot(g, ans, {k})"


def _solved_shape(a, b):
    """The shape of solve(a, b): b's, where no stack of matrices broadcasts."""
    if len(b) == 1 and len(a) == 2 or len(b) > 1 and a[:-2] == b[:-2]:
        return b
    return NotImplemented  # (evaluated on zeros)


# x = solve(a, b): b is one vector only when it is 1-D (NumPy 2), else a stack of matrices
_GB = (f"(np.linalg.solve({_t('a')}, g) if np.ndim(b) > 1 else "
       f"np.linalg.solve({_t('a')}, g[..., None])[..., 0])")
defrule(np.linalg.solve, "a, b",
        (f"unbroadcast(-({_GB} @ {_t('ans')} if np.ndim(b) > 1 else "
         f"{_GB}[..., :, None] * ans[..., None, :]), a)", f"unbroadcast({_GB}, b)"),
        ("np.linalg.solve(a, -np.matmul(da, ans)) if np.ndim(b) > 1 else "
         "np.linalg.solve(a, -np.matmul(da, ans[..., None]))[..., 0]",
         "np.linalg.solve(a, db)"), expensive=True, shaped=True, shape_rule=_solved_shape)

# l = cholesky(a): dl = l phi(inv(l) da inv(l)^H)
defrule(np.linalg.cholesky, "a",
        (f"lower_sym_adj({_t('np.linalg.inv(ans)')} @ chol_phi({_t('ans')} @ g) @ "
         "np.conj(np.linalg.inv(ans)))",),
        ("ans @ chol_phi(np.linalg.solve(ans, " + _h("np.linalg.solve(ans, lower_sym(da))")
         + "))",), expensive=True, shaped=True, shape_rule=facts.same_shape)
# (sign, logabsdet) = slogdet(a): with t = tr(inv(a) da), d logabsdet = Re t and, for a
# complex a, d sign = sign i Im t (a real sign is constant: i Im t is 0)
_TR = "np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)"
_SG = f"{_cot(0)} * ans[0]"
defrule(np.linalg.slogdet, "a",
        (f"np.expand_dims(np.real({_cot(1)}) + {_SG} - np.real({_SG}), (-2, -1)) * "
         f"{_t('np.linalg.inv(a)')}",),
        (f"(ans[0] * ({_TR} - np.real({_TR})), np.real({_TR}))",), expensive=True)

_EIG_S = (f"np.conj(ans[1]) @ (np.real({_cot(0)})[..., None] * np.eye(np.shape(a)[-1]) + "
          f"eigh_gapinv(ans[0]) * ({_t('ans[1]')} @ {_cot(1)})) @ {_t('ans[1]')}")
defrule(np.linalg.eigh, "a, UPLO='L'", (f"lower_sym_adj({_EIG_S}, UPLO == 'U')",),
        ("eigh_jvp(da, ans, UPLO)",), expensive=True)
_EIGV = "np.linalg.eigh(a, UPLO)[1]"
defrule(np.linalg.eigvalsh, "a, UPLO='L'",
        (f"lower_sym_adj(np.conj({_EIGV}) @ (np.real(g)[..., None] * {_t(_EIGV)}), UPLO == 'U')",),
        (f"np.real(np.diagonal({_h(_EIGV)} @ lower_sym(da, UPLO == 'U') @ {_EIGV}, 0, -2, -1))",))
defrule(np.linalg.qr, "a, mode='reduced'",
        (f"qr_guard(a, mode) * ({_cot(0)} + np.conj(ans[0] @ lower_sym(ans[1] @ {_t(_cot(1))} - "
         f"{_t(_cot(0))} @ ans[0]))) @ {_t('np.linalg.inv(ans[1])')}",),
        ("qr_jvp(da, ans, a, mode)",))
# u, s, vh = svd(a): the reverse rule is written out of primitives with rules (so a second
# derivative goes through them); u and vh cut to the k = min(m, n) vectors that are unique
_K = "min(np.shape(a)[-2:])"
_U, _S, _VH = f"ans[0][..., :, :{_K}]", "ans[1]", f"ans[2][..., :{_K}, :]"
_GU, _GS, _GVH = f"{_cot(0)}[..., :, :{_K}]", _cot(1), f"{_cot(2)}[..., :{_K}, :]"
_F = f"eigh_gapinv({_S} * {_S})"                          # 1 / (s_j^2 - s_i^2)
# (complex: each pair u_i, v_i has a common phase NumPy picks; u_i takes its change, the
# last term of _CORE, zeros for a real matrix; the rule is the conjugate of the real one
# around that core, with the core's transposes conjugate ones)
_UG, _VG = f"({_t(_U)} @ {_GU})", f"np.conj({_VH} @ {_t(_GVH)})"
_CORE = (f"({_F} * ({_UG} - {_h(_UG)})) * {_S}[..., None, :] + np.eye({_K}) * "
         f"np.real({_GS})[..., :, None] + {_S}[..., :, None] * ({_F} * ({_VG} - {_h(_VG)})) + "
         f"np.eye({_K}) * ({_UG} - np.real({_UG})) / {_S}[..., None, :]")
_EXTRA_U = (f"((np.eye(np.shape(a)[-2]) - {_U} @ {_h(_U)}) @ np.conj({_GU}) / {_S}[..., None, :] "
            f"@ {_VH} if np.shape(a)[-2] > {_K} else 0.0)")
_EXTRA_V = (f"(({_U} / {_S}[..., None, :]) @ np.conj({_GVH}) @ (np.eye(np.shape(a)[-1]) - "
            f"{_h(_VH)} @ {_VH}) if np.shape(a)[-1] > {_K} else 0.0)")
_S_ONLY = "np.linalg.svd(a, full_matrices=False)"
defrule(np.linalg.svd, "a, full_matrices=True, compute_uv=True, hermitian=False",
        (f"(svd_guard(g, ans, a) * np.conj({_U} @ np.conj({_CORE}) @ {_VH} + {_EXTRA_U} + "
         f"{_EXTRA_V}) if compute_uv else "
         f"np.conj({_S_ONLY}[0] @ (np.real(g)[..., :, None] * {_S_ONLY}[2])))",),
        ("svd_jvp(da, ans, a, full_matrices, compute_uv)",), expensive=True)

# p = pinv(a), of constant rank near a (the derivative of the Moore-Penrose inverse)
_P, _PT, _PH = "ans", _t("ans"), _h("ans")
_I_M, _I_N = "np.eye(np.shape(a)[-2])", "np.eye(np.shape(a)[-1])"
defrule(np.linalg.pinv, "a, rcond=None, hermitian=False",
        (f"-{_PT} @ g @ {_PT} + np.conj(({_I_M} - a @ {_P}) @ {_t('g')} @ {_P} @ {_PH} + "
         f"{_PH} @ {_P} @ {_t('g')} @ ({_I_N} - {_P} @ a))",),
        (f"-{_P} @ da @ {_P} + {_P} @ {_PH} @ {_h('da')} @ ({_I_M} - a @ {_P}) + "
         f"({_I_N} - {_P} @ a) @ {_h('da')} @ {_PH} @ {_P}",), expensive=True)

# multi_dot is multilinear: its tangent takes one operand's tangent at a time
defrule(np.linalg.multi_dot, "arrays", (None,), {"arrays": "multi_dot_jvp(arrays, darrays)"},
        seq_vjp={"arrays": "[multi_dot_vjp(g, arrays, i) for i in range(len(arrays))]"})

# --- the helpers' rules (each linear map's transpose is its partner) --------------------------
defrule(nl.lower_sym, "x, upper=False", ("lower_sym_adj(g, upper)",), ("lower_sym(dx, upper)",))
defrule(nl.lower_sym_adj, "g_, upper=False", ("lower_sym(g, upper)",),
        ("lower_sym_adj(dg_, upper)",))
defrule(nl.chol_phi, "x", ("chol_phi(g)",), ("chol_phi(dx)",))
_F2 = "eigh_gapinv(w) ** 2 * g"
defrule(nl.eigh_gapinv, "w", (f"np.sum({_F2}, axis=-1) - np.sum({_F2}, axis=-2)",),
        ("-eigh_gapinv(w) ** 2 * (dw[..., None, :] - dw[..., :, None])",))

defnondiff(nl.qr_guard, nl.svd_guard)  # (1.0, or the refusal)

# w, v = eig(a) with distinct eigenvalues (complex in general). The columns of v have unit
# norm and a phase (a sign, if real) NumPy picks: their derivative is right for a loss
# that does not depend on that phase (|v|, v diag(w) inv(v), ...); tangents keep the norm
_W, _V, _VT = "ans[0]", "ans[1]", _t("ans[1]")
_P = f"np.linalg.solve({_V}, da @ {_V})"
_DV = f"({_V} @ (eigh_gapinv({_W}) * {_P}))"
_GV = f"({_cot(1)} - np.conj({_V}) * np.real(np.sum({_cot(1)} * {_V}, axis=-2, keepdims=True)))"
defrule(np.linalg.eig, "a",
        (f"{_t(f'np.linalg.inv({_V})')} @ ({_cot(0)}[..., None] * np.eye(np.shape(a)[-1]) + "
         f"eigh_gapinv({_W}) * ({_VT} @ {_GV})) @ {_VT}",),
        (f"(np.diagonal({_P}, 0, -2, -1), {_DV} - {_V} * np.real(np.sum(np.conj({_V}) * {_DV}, "
         "axis=-2, keepdims=True)))",))
_EV = "np.linalg.eig(a)[1]"
defrule(np.linalg.eigvals, "a",
        (f"{_t(f'np.linalg.inv({_EV})')} @ (g[..., None] * {_t(_EV)})",),
        (f"np.diagonal(np.linalg.solve({_EV}, da @ {_EV}), 0, -2, -1)",))

from . import rules_matfun  # noqa: E402,F401  (matrix functions; SciPy's when installed)

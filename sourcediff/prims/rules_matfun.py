"""Rules of matrix functions and of SciPy's factor-and-solve pairs (issue #18).

``np.linalg.matrix_power``, ``np.linalg.lstsq`` always; ``scipy.linalg.expm``, ``sqrtm``,
``logm``, ``solve_sylvester``, ``cho_factor`` and ``cho_solve`` when SciPy is importable.
A matrix function differentiates through itself on a block matrix
(:mod:`sourcediff.runtime.numeric_matfun`).
"""

from __future__ import annotations

import numpy as np

from ..runtime import numeric_matfun as mf
from .. import runtime as rt
from .registry import defnondiff, defrule
from .rules_complex import refuse_complex

rt.HELPERS.update(mf.HELPERS)


def _t(x):
    return f"np.swapaxes({x}, -1, -2)"


def matrix_function(fn, call, params="a", name=None):
    """Rules of an analytic matrix function; ``call`` spells ``fn`` on ``{}`` in a template
    (its other parameters, such as matrix_power's integer n, carry no gradient)."""
    others = {p.split("=")[0].strip(): None for p in params.split(",")[1:]}
    defrule(fn, params, {"a": f"upper_right({call.format('up_blocks(' + _t('a') + ', g)')})",
                         **others},
            {"a": f"upper_right({call.format('up_blocks(a, da)')})"}, name=name)


matrix_function(np.linalg.matrix_power, "np.linalg.matrix_power({}, n)", "a, n")

# (x, residuals, rank, s) = lstsq(a, b): x = pinv(a) b, of constant rank near a (pinv's
# derivative); residuals |b - a x|^2 per column where NumPy gives them; s is refused
_P, _PT = "np.linalg.pinv(a)", _t("np.linalg.pinv(a)")
_COLS = "np.reshape({}, (np.shape(a)[{}], -1))".format
_B2, _X2, _GX = _COLS("b", -2), _COLS("ans[0]", -1), _COLS("tuple_cot(g, ans, 0)", -1)
_R = f"({_B2} - a @ {_X2})"
_GR = "(2.0 * tuple_cot(g, ans, 1) if np.size(ans[1]) else 0.0)"
_DB2 = _COLS("db", -2)
defrule(np.linalg.lstsq, "a, b, rcond=None",
        (f"lstsq_guard(g, ans) * (-{_PT} @ {_GX} @ {_t(_X2)} + {_R} @ {_t(_GX)} @ {_P} @ {_PT}"
         f" + {_PT} @ {_X2} @ {_t(_GX)} @ (np.eye(np.shape(a)[-1]) - {_P} @ a) - "
         f"({_R} * {_GR}) @ {_t(_X2)})",
         f"lstsq_guard(g, ans) * np.reshape({_PT} @ {_GX} + {_R} * {_GR}, np.shape(b))"),
        (f"(np.reshape(-{_P} @ da @ {_X2} + {_P} @ {_PT} @ {_t('da')} @ {_R} + (np.eye(np.shape("
         f"a)[-1]) - {_P} @ a) @ {_t('da')} @ {_PT} @ {_X2}, np.shape(ans[0])), (-2.0 * np.sum("
         f"{_R} * (da @ {_X2}), axis=0) if np.size(ans[1]) else 0.0 * ans[1]), 0.0, "
         "svd_jvp(da, None, a, False, False))",
         f"(np.reshape({_P} @ {_DB2}, np.shape(ans[0])), (2.0 * np.sum({_R} * {_DB2}, axis=0) "
         "if np.size(ans[1]) else 0.0 * ans[1]), 0.0, 0.0 * ans[3])"), expensive=True)
refuse_complex(np.linalg.lstsq, "a")

defrule(mf.up_blocks, "a, e", ("diag_blocks(g)", "upper_right(g)"),
        ("up_blocks(da, np.zeros(np.shape(da)))", "up_blocks(np.zeros(np.shape(de)), de)"))
defrule(mf.upper_right, "m", ("up_blocks(np.zeros(np.shape(g)), g)",), ("upper_right(dm)",))
defrule(mf.diag_blocks, "m", ("up_blocks(g, np.zeros(np.shape(g)))",), ("diag_blocks(dm)",))
defnondiff(mf.lstsq_guard, mf.cho_rest)

try:
    import scipy.linalg as sl
except ImportError:        # SciPy stays optional
    sl = None

if sl is not None:
    rt.HELPERS.update(sl_expm=sl.expm, sl_sqrtm=mf.sqrtm_checked, sl_logm=sl.logm,
                      solve_sylvester=sl.solve_sylvester)
    for _fn in ("expm", "sqrtm", "logm"):
        matrix_function(getattr(sl, _fn), f"sl_{_fn}({{}})", name=f"scipy.linalg.{_fn}")
    matrix_function(mf.sqrtm_checked, "sl_sqrtm({})")  # (its derivative, checked the same)

    # x = solve_sylvester(a, b, q): a x + x b = q
    _Y = f"solve_sylvester({_t('a')}, {_t('b')}, g)"
    defrule(sl.solve_sylvester, "a, b, q", (f"-{_Y} @ {_t('ans')}", f"-{_t('ans')} @ {_Y}", _Y),
            ("solve_sylvester(a, b, -da @ ans)", "solve_sylvester(a, b, -ans @ db)",
             "solve_sylvester(a, b, dq)"), name="scipy.linalg.solve_sylvester")

    # (c, lower) = cho_factor(a, lower): the factor in one triangle of c, a's own entries in
    # the other (SciPy < 1.18 leaves them; 1.18 zeroes them); the factor reads the triangle
    # it is written to
    _L = f"(np.tril(ans[0]) if lower else {_t('np.triu(ans[0])')})"     # the lower factor
    _GC = "tuple_cot(g, ans, 0)"
    _GL = f"(np.tril({_GC}) if lower else {_t('np.triu(' + _GC + ')')})"
    _SA = (f"lower_sym_adj({_t(f'np.linalg.inv({_L})')} @ chol_phi({_t(_L)} @ {_GL}) @ "
           f"np.linalg.inv({_L}))")                # cholesky's rule (rules_linalg)
    _DA = f"(da if lower else {_t('da')})"
    _INNER = f"np.linalg.solve({_L}, {_t('lower_sym(' + _DA + ')')})"
    _DL = f"{_L} @ chol_phi(np.linalg.solve({_L}, {_t(_INNER)}))"   # cholesky's tangent
    _REST = "cho_rest(ans, a, lower)"   # a's entries left in the unused triangle, or zeros
    defrule(sl.cho_factor, "a, lower=False, overwrite_a=False, check_finite=True",
            (f"({_SA} + np.triu({_GC}, 1) * {_REST}) if lower else "
             f"({_t(_SA)} + np.tril({_GC}, -1) * {_REST})",),
            (f"(({_DL} + np.triu(da, 1) * {_REST}) if lower else "
             f"({_t(_DL)} + np.tril(da, -1) * {_REST}), 0.0)",),
            name="scipy.linalg.cho_factor")

    # x = cho_solve((c, lower), b): a x = b with a = L L^T (lower) or U^T U, from c's triangle
    _C, _LOW = "c_and_lower[0]", "c_and_lower[1]"
    _T = f"(np.tril({_C}) if {_LOW} else np.triu({_C}))"
    _ROWS = f"np.reshape({{}}, (np.shape({_C})[0], -1))".format
    _B2, _X2 = _ROWS("cho_solve(c_and_lower, g)"), _ROWS("ans")
    _AS = f"-({_B2} @ {_t(_X2)} + {_X2} @ {_t(_B2)})"             # abar + abar^T
    _DT = f"(np.tril(dc_and_lower[0]) if {_LOW} else np.triu(dc_and_lower[0]))"
    _DAX = (f"((({_DT} @ {_t(_T)} + {_T} @ {_t(_DT)}) if {_LOW} else "
            f"({_t(_DT)} @ {_T} + {_t(_T)} @ {_DT})) @ {_X2})")
    defrule(sl.cho_solve, "c_and_lower, b, overwrite_b=False, check_finite=True",
            {"b": "cho_solve(c_and_lower, g)"},
            {"c_and_lower": f"-cho_solve(c_and_lower, np.reshape({_DAX}, np.shape(ans)))",
             "b": "cho_solve(c_and_lower, db)"},
            seq_vjp={"c_and_lower": f"[np.tril({_AS} @ {_T}) if {_LOW} else "
                                    f"np.triu({_T} @ {_AS}), None]"},
            name="scipy.linalg.cho_solve")
    refuse_complex(sl.cho_factor, "a")
    refuse_complex(sl.cho_solve, "c_and_lower[0]")

    defrule(mf.conv_uncut, "g_, s1, s2, mode", ("conv_cut(g, s1, s2, mode)", None, None, None),
            ("conv_uncut(dg_, s1, s2, mode)", None, None, None))
    defrule(mf.conv_cut, "full, s1, s2, mode", ("conv_uncut(g, s1, s2, mode)", None, None, None),
            ("conv_cut(dfull, s1, s2, mode)", None, None, None))
try:
    import scipy.signal as ss
except ImportError:
    ss = None
if ss is not None:
    # out = convolve(in1, in2, mode): a cut of the full convolution; its transpose in one
    # operand is the valid correlation of the full cotangent with the other
    rt.HELPERS.update(ss_convolve=ss.convolve)
    _GF = "conv_uncut(g, np.shape(in1), np.shape(in2), mode)"
    defrule(ss.convolve, "in1, in2, mode='full', method='auto'",
            (f"ss_convolve({_GF}, np.flip(in2), 'valid')",
             f"ss_convolve({_GF}, np.flip(in1), 'valid')"),
            ("ss_convolve(din1, in2, mode)", "ss_convolve(in1, din2, mode)"),
            name="scipy.signal.convolve")

"""Rules of NumPy's statistics, scans and the remaining elementwise functions (issue #18).

Read a line as in :mod:`sourcediff.prims.rules`. Most templates are written with functions
that have rules themselves (so they differentiate again as they are); the helpers
they call are in :mod:`sourcediff.runtime.numeric_reduce`.
"""

from __future__ import annotations

import numpy as np

from ..runtime import numeric_reduce as nr
from .registry import defrule

_DEV = "(a - np.mean(a, axis=axis, keepdims=True))"
_N = "(reduced_count(a, ans) - ddof)"

# --- moments ----------------------------------------------------------------------------
defrule(np.var, "a, axis=None, dtype=None, out=None, ddof=0, keepdims=False",
        (f"unreduce(np.real(g), a, axis, keepdims) * 2.0 * np.conj{_DEV} / {_N}",),
        (f"np.real(np.sum(da * 2.0 * np.conj{_DEV}, axis=axis, keepdims=keepdims)) / {_N}",), shaped=True)
# std over one value (ddof 0) is 0 whatever the value: its derivative is 0, not 0 / 0;
# elsewhere a zero std (equal values) is not differentiable: NaN, as np.linalg.norm at 0
_SD = "np.where((ans == 0) & (reduced_count(a, ans) == 1), np.inf, ans)"
defrule(np.std, "a, axis=None, dtype=None, out=None, ddof=0, keepdims=False",
        (f"unreduce(np.real(g) / {_SD}, a, axis, keepdims) * np.conj{_DEV} / {_N}",),
        (f"np.real(np.sum(da * np.conj{_DEV}, axis=axis, keepdims=keepdims)) / ({_N} * {_SD})",), shaped=True)
_W = "weights_along(weights, a, axis)"
_WSUM = f"np.sum(np.broadcast_to({_W}, np.shape(a)), axis=axis, keepdims=True)"
defrule(np.average, "a, axis=None, weights=None, returned=False, keepdims=False",
        (f"unreduce(g, a, axis, keepdims) / reduced_count(a, ans) if weights is None else "
         f"unreduce(g, a, axis, keepdims) * {_W} / {_WSUM}", None,
         f"reshape_like(unbroadcast(unreduce(g, a, axis, keepdims) * (a - unreduce(ans, a, "
         f"axis, keepdims)) / {_WSUM}, {_W}), weights)"),
        ("np.average(da, axis, weights, keepdims=keepdims)", None,
         "np.sum(np.broadcast_to(weights_along(dweights, a, axis), np.shape(a)) * (a - "
         f"unreduce(ans, a, axis, keepdims)) / {_WSUM}, axis=axis, keepdims=keepdims)"), shaped=True)
defrule(nr.weights_along, "weights, a, axis=None", ("reshape_like(g, weights)", None),
        ("weights_along(dweights, a, axis)", None))
defrule(np.ptp, "a, axis=None, keepdims=False",
        ("unreduce_select(g, np.max(a, axis=axis, keepdims=keepdims), a, axis, keepdims) - "
         "unreduce_select(g, np.min(a, axis=axis, keepdims=keepdims), a, axis, keepdims)",),
        ("np.sum((unreduce_select(np.ones_like(ans), np.max(a, axis=axis, keepdims=keepdims), "
         "a, axis, keepdims) - unreduce_select(np.ones_like(ans), np.min(a, axis=axis, "
         "keepdims=keepdims), a, axis, keepdims)) * da, axis=axis, keepdims=keepdims)",), shaped=True)

# --- order statistics: piecewise linear in a (q is refused: no rule for it) ---------------
defrule(np.quantile, "a, q, axis=None, out=None, overwrite_input=False, method='linear', "
        "keepdims=False", ("quantile_spread(g, a, q, axis, keepdims, method)",),
        ("quantile_gather(da, a, q, axis, keepdims, method)",), shaped=True)
defrule(np.percentile, "a, q, axis=None, out=None, overwrite_input=False, method='linear', "
        "keepdims=False", ("quantile_spread(g, a, np.true_divide(q, 100), axis, keepdims, method)",),
        ("quantile_gather(da, a, np.true_divide(q, 100), axis, keepdims, method)",), shaped=True)
defrule(np.median, "a, axis=None, out=None, overwrite_input=False, keepdims=False",
        ("quantile_spread(g, a, 0.5, axis, keepdims)",),
        ("quantile_gather(da, a, 0.5, axis, keepdims)",), shaped=True)
defrule(nr.quantile_spread, "v, a, q, axis=None, keepdims=False, method='linear'",
        ("quantile_gather(g, a, q, axis, keepdims, method)", None, None),
        ("quantile_spread(dv, a, q, axis, keepdims, method)", None, None))
defrule(nr.quantile_gather, "d, a, q, axis=None, keepdims=False, method='linear'",
        ("quantile_spread(g, a, q, axis, keepdims, method)", None, None),
        ("quantile_gather(dd, a, q, axis, keepdims, method)", None, None))

# --- NaN-skipping reductions ------------------------------------------------------------------
_KEEP = "np.logical_not(np.isnan(a))"
defrule(np.nansum, "a, axis=None, dtype=None, out=None, keepdims=False",
        (f"unreduce(g, a, axis, keepdims) * {_KEEP}",),
        ("np.sum(np.where(np.isnan(a), 0.0, da), axis=axis, keepdims=keepdims)",), shaped=True)
defrule(np.nanmean, "a, axis=None, dtype=None, out=None, keepdims=False",
        (f"unreduce(g, a, axis, keepdims) * {_KEEP} / np.sum({_KEEP}, axis=axis, keepdims=True)",),
        ("np.sum(np.where(np.isnan(a), 0.0, da), axis=axis, keepdims=keepdims) / "
         f"np.sum({_KEEP}, axis=axis, keepdims=keepdims)",), shaped=True)

# --- scans --------------------------------------------------------------------------------------
defrule(np.cumprod, "a, axis=None",
        ("reshape_like(np.flip(np.cumsum(np.flip(np.ravel(g * ans) if axis is None else g * ans, "
         "axis), axis), axis) / (np.ravel(a) if axis is None else a), a)",),
        ("ans * np.cumsum(da / a, axis)",), expensive=True, shaped=True)

# --- elementwise ----------------------------------------------------------------------------------
defrule(np.sinc, "x", deriv="sinc_d1(x)", shaped=True)
defrule(nr.sinc_d1, "x", deriv="sinc_d2(x)")
defrule(np.logaddexp2, "x, y", deriv=("np.exp2(x - ans)", "np.exp2(y - ans)"), broadcast=True)
defrule(np.float_power, "x, y",
        deriv=("y * np.float_power(x, y - 1)", "xlogy(ans, np.where(x == 0, 1.0, x))"),
        broadcast=True)
defrule((np.deg2rad, np.radians), "x", deriv="0.017453292519943295")
defrule((np.rad2deg, np.degrees), "x", deriv="57.29577951308232")
defrule(np.nan_to_num, "x, copy=True, nan=0.0, posinf=None, neginf=None", deriv="np.isfinite(x)", shaped=True)

# np.gradient is linear in f (its transpose: numeric_reduce.gradient_vjp); the spacing's
# derivative is not written (refused)
_GV = "gradient_vjp(g, ans, f, varargs, axis, edge_order)"
defrule(np.gradient, "f, *varargs, axis=None, edge_order=1", {"f": _GV},
        {"f": "gradient_of(df, varargs, axis, edge_order)"}, refuse=("varargs",))
defrule(nr.gradient_of, "f, varargs=(), axis=None, edge_order=1", (_GV, None),
        ("gradient_of(df, varargs, axis, edge_order)", None))
defrule(nr.gradient_vjp, "g_, out, f, varargs=(), axis=None, edge_order=1",
        ("gradient_of(g, varargs, axis, edge_order)", None, None),
        ("gradient_vjp(dg_, out, f, varargs, axis, edge_order)", None, None))

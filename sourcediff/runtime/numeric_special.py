"""Helpers of SciPy's special-function rules (:mod:`sourcediff.prims.rules_special`).

``gammainc_da(a, x, n)``: the n-th derivative (n = 1, 2) of the regularised lower
incomplete gamma function ``P(a, x) = gammainc(a, x)`` in its order ``a``, from the series

    P(a, x) = sum_k t_k,   t_k = x^(a+k) e^(-x) / Gamma(a + k + 1),

differentiated term by term: ``dP/da = sum_k t_k (log x - psi(a+k+1))`` and
``d2P/da2 = sum_k t_k ((log x - psi(a+k+1))^2 - psi'(a+k+1))``. Every term is computed
in log space (no underflow of ``t_0`` at large x) and the sum runs to
``k = x + 12 sqrt(x) + 40``, past which the terms (a Poisson tail) are below 1e-30 of
the largest; the sum of positive terms times bounded factors has an absolute error of a
few ulps times ``log x`` (about 1e-14; a relative one only where the derivative is not
tiny). Arguments with ``x > 1e5`` are refused rather than summed slowly.
"""

from __future__ import annotations

import numpy as np
import scipy.special as sp

from ..errors import MissingRuleError

_X_MAX = 1e5


def gammainc_da(a, x, n=1):
    """``d^n/da^n gammainc(a, x)`` for ``n`` in (1, 2); broadcasts ``a`` and ``x``."""
    if n not in (1, 2):
        raise MissingRuleError(
            "no derivative rule for a third derivative of scipy.special.gammainc in a",
            construct="scipy.special.gammainc", hint="differentiate at most twice in a")
    a, x = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(x, dtype=float))
    if np.any(x > _X_MAX):
        raise MissingRuleError(
            f"the derivative of scipy.special.gammainc in a is summed for x <= {_X_MAX:g}",
            construct="scipy.special.gammainc", hint="rescale the problem")
    pos = x > 0
    xs = np.where(pos, x, 1.0)
    logx = np.log(xs)
    total = np.zeros(np.shape(x))
    stop = int(np.max(xs + 12.0 * np.sqrt(xs), initial=0.0)) + 40
    for k in range(stop):
        ak = a + k + 1.0
        term = np.exp((ak - 1.0) * logx - xs - sp.gammaln(ak))
        d = logx - sp.digamma(ak)
        total += term * (d if n == 1 else d * d - sp.polygamma(1, ak))
    return np.where(pos, total, 0.0)


HELPERS = {"gammainc_da": gammainc_da}

"""Helpers of the matrix-function rules (``expm``, ``sqrtm``, ``logm``, ``matrix_power``).

For an analytic matrix function ``f`` (a power series, so ``f(A.T) = f(A).T``),

    f([[A, E], [0, A]]) = [[f(A), Df(A)[E]], [0, f(A)]]

so the derivative along ``E`` is the upper-right block of ``f`` of a block matrix
(``upper_right(f(up_blocks(a, e)))``) and the cotangent of ``A`` is the same with ``A.T``
and the output's cotangent. The three block maps are linear, each the others' transpose:
a matrix function's rules use only itself and them, so every order differentiates.
"""

from __future__ import annotations

import numpy as np

from ..errors import MissingRuleError


def up_blocks(a, e):
    """``[[a, e], [0, a]]`` (on the last two axes; stacks broadcast)."""
    a, e = np.broadcast_arrays(a, e)
    zero = np.zeros(np.shape(a))
    return np.concatenate((np.concatenate((a, e), axis=-1),
                           np.concatenate((zero, a), axis=-1)), axis=-2)


def upper_right(m):
    """The upper-right quarter of ``m``."""
    n = np.shape(m)[-1] // 2
    return m[..., :n, n:]


def diag_blocks(m):
    """The sum of the two diagonal quarters of ``m`` (the transpose of ``a -> [[a, 0], [0, a]]``)."""
    n = np.shape(m)[-1] // 2
    return m[..., :n, :n] + m[..., n:, n:]


def lstsq_guard(g, ans):
    """1.0 where ``np.linalg.lstsq``'s cotangent reads no singular value (they are refused)."""
    if isinstance(g, (list, tuple)) and len(g) == 4 and g[3] is not None and np.any(g[3]):
        raise MissingRuleError(
            "no derivative rule for the singular values np.linalg.lstsq returns",
            construct="np.linalg.lstsq",
            hint="differentiate np.linalg.svd(a, compute_uv=False) for them")
    return 1.0


HELPERS = {"up_blocks": up_blocks, "upper_right": upper_right, "diag_blocks": diag_blocks,
           "lstsq_guard": lstsq_guard}


# --- scipy.signal.convolve: its modes are cuts of the full convolution ------------------------

def _cut(s1, s2, mode):
    """The slices of the full convolution (shape s1 + s2 - 1) that ``mode`` keeps."""
    full = [a + b - 1 for a, b in zip(s1, s2)]
    if mode == "full":
        new = full
    elif mode == "same":
        new = list(s1)
    elif mode == "valid":
        new = [abs(a - b) + 1 for a, b in zip(s1, s2)]
    else:
        raise ValueError(f"unknown convolution mode {mode!r}")
    return tuple(slice((f - n) // 2, (f - n) // 2 + n) for f, n in zip(full, new))


def conv_uncut(g, s1, s2, mode):
    """The cotangent of the full convolution from that of its ``mode`` cut (zeros outside)."""
    out = np.zeros(tuple(a + b - 1 for a, b in zip(s1, s2)), np.result_type(g, float))
    out[_cut(s1, s2, mode)] = g
    return out


def conv_cut(full, s1, s2, mode):
    """The ``mode`` cut of a full convolution (the transpose of :func:`conv_uncut`)."""
    return full[_cut(s1, s2, mode)]


def cho_rest(ans, a, lower=False):
    """1.0 where ``scipy.linalg.cho_factor`` left ``a``'s own entries in the triangle of
    ``c`` it does not use (SciPy before 1.18), 0.0 where it zeroed them (1.18 on)."""
    c = ans[0]
    rest = np.triu(c, 1) if lower else np.tril(c, -1)
    if not np.any(rest):
        return 0.0
    if np.array_equal(rest, np.triu(a, 1) if lower else np.tril(a, -1)):
        return 1.0
    raise MissingRuleError("no derivative rule for what scipy.linalg.cho_factor left in "
                           "the triangle it does not use", construct="scipy.linalg.cho_factor",
                           hint="read only the factor's own triangle of c")


HELPERS.update(conv_uncut=conv_uncut, conv_cut=conv_cut, cho_rest=cho_rest)


def sqrtm_checked(m):
    """``scipy.linalg.sqrtm`` of the block matrix a derivative is read from, checked
    (``s @ s == m``): SciPy's answer can be far off for such non-normal matrices (a second
    derivative in reverse mode at a matrix with negative eigenvalues: its residual was
    0.66 on a 12 x 12 block), and a wrong root is a wrong derivative. Refused instead."""
    import scipy.linalg  # (SciPy is optional: only its rules call this)
    s = scipy.linalg.sqrtm(m)
    if not np.allclose(s @ s, m, rtol=1e-6, atol=1e-9 * max(1.0, float(np.max(np.abs(m))))):
        raise MissingRuleError(
            "scipy.linalg.sqrtm is inaccurate on the block matrix its derivative is read "
            "from at this point (a matrix with eigenvalues on or near the negative real "
            "axis): no derivative is given rather than a wrong one",
            construct="scipy.linalg.sqrtm",
            hint="take this derivative in forward mode (hessian, jvp of grad), which does "
                 "not nest the blocks, or move away from the negative real axis")
    return s

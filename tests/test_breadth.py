"""Issue #18: the breadth rules (rules_shape, rules_reduce, rules_linalg, rules_scipy),
each checked against central differences at order 1 in reverse mode, forward mode and
on the tape, on broadcast, stacked and every-axis shapes (order 2: tests/test_composition
.py's table). Tuple-valued functions (eigh, svd, qr, slogdet) are read through losses
that do not depend on the signs their vectors are free to take."""

from __future__ import annotations

import math

import numpy as np
import pytest

from checks import fd, loss_of
from sourcediff import MissingRuleError, SourceDiffError, grad, hessian, jvp, tape

scipy = pytest.importorskip("scipy")
import scipy.linalg as sl  # noqa: E402
import scipy.special as sp  # noqa: E402
import scipy.stats as st  # noqa: E402

RNG = np.random.default_rng(18)
M3 = RNG.normal(size=(3, 3))
SPD = M3 @ M3.T + 3 * np.eye(3)
STACK = RNG.normal(size=(2, 3, 3))
CONST = {"np": np, "sp": sp, "sl": sl, "st": st, "math": math, "B": RNG.normal(size=(3, 2)),
         "V": RNG.normal(size=3), "C4": RNG.normal(size=(4, 3)), "IDX": np.array([[2, 0, 1]]),
         "SPD": SPD, "STACK": STACK, "K": RNG.normal(size=(2, 2))}

# name -> (input, expression of x); the loss is sum(out * sin(out)) of the expression
CASES = [
    # shapes
    ("repeat", RNG.normal(size=(2, 3)), "np.repeat(x, 2, axis=1)"),
    ("repeat flat", RNG.normal(size=(2, 3)), "np.repeat(x, [1, 0, 2, 1, 1, 3])"),
    ("tile", RNG.normal(size=(2, 3)), "np.tile(x, (2, 1, 2))"),
    ("pad", RNG.normal(size=(2, 3)), "np.pad(x, ((1, 0), (2, 1)), constant_values=0.5)"),
    ("pad reflect", RNG.normal(size=(2, 3)), "np.pad(x, 2, mode='reflect')"),
    ("pad value", 0.7, "np.pad(V, 1, constant_values=x)"),
    ("roll", RNG.normal(size=(2, 3)), "np.roll(x, (1, -1), axis=(0, 1))"),
    ("roll flat", RNG.normal(size=(2, 3)), "np.roll(x, 2)"),
    ("fliplr flipud", RNG.normal(size=(2, 3)), "np.fliplr(x) * np.flipud(x)"),
    ("rot90", RNG.normal(size=(2, 3, 2)), "np.rot90(x, 3, (1, 2))"),
    ("vstack", RNG.normal(size=3), "np.vstack((x, x * x, np.ones(3)))"),
    ("hstack", RNG.normal(size=(2, 3)), "np.hstack((x, x[:, :1] * 2.0))"),
    ("hstack 1-d", RNG.normal(size=3), "np.hstack((x, V))"),
    ("dstack", RNG.normal(size=(2, 3)), "np.dstack((x, x * x))"),
    ("column_stack", RNG.normal(size=3), "np.column_stack((x, x * V, B))"),
    ("append", RNG.normal(size=(2, 3)), "np.append(x, x[:1] * 3.0, axis=0)"),
    ("append flat", RNG.normal(size=(2, 3)), "np.append(V, x)"),
    ("split", RNG.normal(size=(4, 3)), "np.split(x, 2)[1] * np.split(x, [1], axis=1)[0][2:]"),
    ("array_split", RNG.normal(size=(5, 3)), "np.array_split(x, 3)[0][:1] + np.array_split(x, 3)[2][:1]"),
    ("diag", RNG.normal(size=3), "np.diag(x, 1)[1:, 1:] @ np.diag(np.diag(np.outer(x, V)))"),
    ("diag of wide", RNG.normal(size=(2, 3)), "np.diag(x, 1)"),
    ("diagonal", RNG.normal(size=(2, 3, 4)), "np.diagonal(x, 1, 2, 0)"),
    ("triu tril", M3, "np.triu(x, 1) + np.tril(x * x, -1)"),
    ("take_along_axis", RNG.normal(size=(2, 3)), "np.take_along_axis(x, np.array([[2, 2, 0]]), 1)"),
    ("sort", RNG.normal(size=(2, 3)), "np.sort(x, axis=0) * np.sort(x)"),
    ("sort flat", RNG.normal(size=(2, 3)), "np.sort(x, axis=None)"),
    ("select", RNG.normal(size=(2, 3)), "np.select([x > 0.3, x < -0.5], [x * x, V], x[0] * 2.0)"),
    ("select default", RNG.normal(size=3), "np.select([V > 0.0], [B[:, :1] * x], default=np.sin(x))"),
    ("partition", RNG.normal(size=(2, 4)), "np.partition(x, 1, axis=1) + np.partition(x, (0, 1), axis=0)[0]"),
    ("partition flat", RNG.normal(size=(2, 3)), "np.partition(x, [1, 4], axis=None)"),
    ("diff", RNG.normal(size=(3, 4)), "np.diff(x, 2)[:2] + np.diff(x, axis=0)[:2, :2]"),
    ("kron", RNG.normal(size=(2, 3)), "np.kron(x, K) + np.kron(K[0], x)[0]"),
    ("cross", RNG.normal(size=(2, 3)), "np.cross(x, V) + np.cross(x[0], x)"),
    ("vdot", RNG.normal(size=(2, 3)), "np.vdot(x, x * C4[:2])"),
    ("tensordot", RNG.normal(size=(2, 3, 4)), "np.tensordot(x, x, axes=([0, 2], [0, 2]))"),
    ("tensordot int", RNG.normal(size=(4, 3)), "np.tensordot(x, B, 1) + np.tensordot(C4, x, 2)"),
    # reductions
    ("var", RNG.normal(size=(3, 4)), "np.var(x, axis=1, ddof=1, keepdims=True) + np.var(x)"),
    ("std", RNG.normal(size=(3, 4)), "np.std(x, axis=0) + np.std(x, ddof=1)"),
    ("average", RNG.normal(size=(3, 4)), "np.average(x, axis=1, weights=np.arange(1.0, 5.0))"),
    ("average weights", RNG.uniform(1, 2, size=3), "np.average(C4, axis=1, weights=x)"),
    ("ptp", RNG.normal(size=(3, 4)), "np.ptp(x, axis=0) + np.ptp(x)"),
    ("median", RNG.normal(size=(3, 4)), "np.median(x, axis=1) + np.median(x)"),
    ("percentile", RNG.normal(size=(3, 4)), "np.percentile(x, [10.0, 55.0], axis=0, keepdims=True)"),
    ("quantile", RNG.normal(size=(3, 4)), "np.quantile(x, 0.3)"),
    ("nansum nanmean", RNG.normal(size=(3, 4)),
     "np.nansum(x * np.where(IDX[0, 0] > 1, 1.0, np.nan) , axis=0) + np.nanmean(x, axis=1)[0]"),
    ("cumprod", RNG.uniform(0.5, 1.5, size=(3, 4)), "np.cumprod(x, axis=1) + np.cumprod(x)[:4]"),
    # elementwise
    ("sinc", np.array([0.0, 0.3, -1.2, 2.5]), "np.sinc(x)"),
    ("logaddexp2", RNG.normal(size=(2, 3)), "np.logaddexp2(x, V)"),
    ("float_power", RNG.uniform(0.5, 2, size=(2, 3)), "np.float_power(x, V) + np.float_power(1.5, x)"),
    ("degrees radians", RNG.normal(size=3), "np.deg2rad(x) + np.rad2deg(x) + np.degrees(x) + np.radians(x)"),
    ("nan_to_num", RNG.normal(size=3), "np.nan_to_num(x)"),
    # linear algebra
    ("solve", RNG.normal(size=(3, 3)) + 3 * np.eye(3), "np.linalg.solve(x, V) + np.linalg.solve(x, B)[:, 0]"),
    ("solve stack", STACK + 3 * np.eye(3), "np.linalg.solve(x, B) + np.linalg.solve(x[0], V)[:, None]"),
    ("solve rhs", RNG.normal(size=(2, 3, 2)), "np.linalg.solve(SPD, x)"),
    ("cholesky", M3, "np.linalg.cholesky(x @ x.T + np.eye(3))"),
    ("cholesky raw", SPD, "np.linalg.cholesky(x)"),
    ("cholesky stack", STACK, "np.linalg.cholesky(x @ np.swapaxes(x, -1, -2) + np.eye(3))"),
    ("slogdet", STACK, "np.linalg.slogdet(x)[1]"),
    ("inv det stack", STACK, "np.linalg.inv(x) * np.linalg.det(x)[:, None, None]"),
    ("eigh values", SPD, "np.linalg.eigh(x)[0]"),
    ("eigh vectors", M3, "np.linalg.eigh(x + x.T)[1] ** 2"),
    ("eigh upper", SPD, "np.linalg.eigh(x, 'U')[1][:, 0] ** 2 + np.linalg.eigvalsh(x, UPLO='U')"),
    ("eigvalsh stack", STACK, "np.linalg.eigvalsh(x)"),
    ("pinv", RNG.normal(size=(4, 3)), "np.linalg.pinv(x)"),
    ("pinv wide stack", RNG.normal(size=(2, 2, 3)), "np.linalg.pinv(x)"),
    ("multi_dot", RNG.normal(size=(3, 3)), "np.linalg.multi_dot([C4, x, B]) + np.linalg.multi_dot([x, x, x, B])[:1]"),
    ("multi_dot vectors", RNG.normal(size=(3, 3)), "np.linalg.multi_dot([x[0], x, SPD, V]) * np.linalg.multi_dot([V, x])"),
    ("norm inf", RNG.normal(size=(2, 4)), "np.linalg.norm(x, np.inf, axis=1) + np.linalg.norm(x[0], -np.inf)"),
    ("norm matrix 1 inf", RNG.normal(size=(2, 3, 4)),
     "np.linalg.norm(x, 1, axis=(1, 2)) + np.linalg.norm(x, np.inf, axis=(2, 1), keepdims=True)[:, 0, 0] + np.linalg.norm(x[0], -1)"),
    ("norm spectral nuc", RNG.normal(size=(2, 3, 4)),
     "np.linalg.norm(x, 2, axis=(1, 2))[0] + np.linalg.norm(x, 'nuc', axis=(2, 0)) + np.linalg.norm(x[0], -2)"),
    ("norm fro axes", RNG.normal(size=(2, 3, 4)), "np.linalg.norm(x, 'fro', axis=(0, 2)) + np.linalg.norm(x, axis=(0, 1))[:3]"),
    ("svd values", RNG.normal(size=(4, 3)), "np.linalg.svd(x, compute_uv=False)"),
    ("svd", RNG.normal(size=(4, 3)), "svd_parts(x)"),
    ("svd wide", RNG.normal(size=(2, 3)), "svd_parts(x)"),
    ("svd square", M3, "svd_full(x)"),
    ("qr", RNG.normal(size=(4, 3)), "qr_parts(x)"),
    ("qr stack", STACK, "qr_parts(x)"),
    ("gradient", RNG.normal(size=(3, 4)), "np.gradient(x)[0] * np.gradient(x)[1]"),
    ("gradient spacing axis", RNG.normal(size=(3, 4)),
     "np.gradient(x, np.array([0.0, 0.4, 1.5, 1.9]), axis=1, edge_order=2) + np.gradient(x, 0.3, axis=-2)"),
    ("gradient two points", RNG.normal(size=(2, 3)), "np.gradient(x, 0.5, 2.0)[0] * np.gradient(x[0])"),
    ("real_if_close", RNG.normal(size=3), "np.real_if_close(x * (1 + 1e-16j)) + np.real(np.real_if_close(x * 1j))"),
    ("einsum ellipsis", RNG.normal(size=(1, 2, 3)), "np.einsum('...nd,...do->...no', x, STACK)"),
    ("einsum broadcast", RNG.normal(size=(2, 3)), "np.einsum('mnd,mdo->mno', x[None], STACK)"),
    # scipy
    ("gammaln digamma", RNG.uniform(0.5, 3, size=3),
     "sp.gammaln(x) + sp.digamma(x) + sp.psi(x) + sp.polygamma(1, x) + sp.gamma(x)"),
    ("erf erfc", RNG.normal(size=3), "sp.erf(x) * sp.erfc(x)"),
    ("erfinv erfcinv", RNG.uniform(-0.8, 0.8, size=3), "sp.erfinv(x) + sp.erfcinv(x + 1.0)"),
    ("gammainc", RNG.uniform(0.5, 3, size=3), "sp.gammainc(1.5, x) + sp.gammaincc(V * V + 0.5, x)"),
    ("expit logit", RNG.uniform(0.1, 0.9, size=3), "sp.expit(x) + sp.logit(x)"),
    ("logsumexp", RNG.normal(size=(2, 3)), "sp.logsumexp(x, axis=1, keepdims=True) + sp.logsumexp(x)"),
    ("logsumexp b", RNG.uniform(0.5, 2, size=3), "sp.logsumexp(B.T, axis=1, b=x)"),
    ("softmax", RNG.normal(size=(2, 3)), "sp.softmax(x, axis=1) + sp.log_softmax(x, axis=0)"),
    ("xlogy", RNG.uniform(0.5, 2, size=3), "sp.xlogy(x, x + 1.0) + sp.xlog1py(V, x)"),
    ("betaln", RNG.uniform(0.5, 2, size=3), "sp.betaln(x, 1.5)"),
    ("norm logpdf pdf", RNG.normal(size=3),
     "st.norm.logpdf(x, 0.3, 1.7) + st.norm.pdf(1.2, x, 0.5 + x * x) + st.norm.logpdf(V, loc=x)"),
    ("norm cdf logcdf", RNG.normal(size=3),
     "st.norm.cdf(x) * st.norm.logcdf(x, x * 0.5, 2.0) + st.norm.logcdf(-30.0, scale=1.0 + x * x) * 1e-2"),
    ("solve_triangular", np.tril(SPD), "sl.solve_triangular(x, B, lower=True) + sl.solve_triangular(x, V, trans='T', lower=True)[:, None]"),
    ("solve_triangular upper", np.triu(SPD), "sl.solve_triangular(x, V, unit_diagonal=True)"),
]


def svd_parts(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([np.ravel(u * u), s, np.ravel(vh * vh), np.ravel(u @ vh)])


def svd_full(a):
    u, s, vh = np.linalg.svd(a)
    return np.concatenate([np.ravel(u * u), s, np.ravel(vh ** 2)])


def qr_parts(a):
    q, r = np.linalg.qr(a)
    return np.concatenate([np.ravel(q @ r * q), np.ravel(r * r)])


CONST.update(svd_parts=svd_parts, svd_full=svd_full, qr_parts=qr_parts)
# the tape sees NumPy calls through their array arguments: a traced pad value alone is
# converted to a plain array by np.pad, which the tape refuses (SciPy's functions written
# in Python are seen through views of SciPy's modules: sourcediff/tape/scipy_view.py)
TAPE_REFUSES = {"pad value"}


@pytest.mark.parametrize("name, x, expr", CASES, ids=[c[0] for c in CASES])
def test_rule_at_order_one(name, x, expr):
    f = loss_of(expr, CONST, "test_breadth")
    ref = fd(f, x)
    assert np.allclose(grad(f)(x), ref, rtol=1e-5, atol=1e-6), "reverse"
    if name in TAPE_REFUSES:
        with pytest.raises(SourceDiffError):
            tape.grad(f)(x)
    else:
        assert np.allclose(tape.grad(f)(x), ref, rtol=1e-5, atol=1e-6), "tape"
    v = np.cos(np.arange(np.size(x)) + 1.0).reshape(np.shape(x))
    v = float(v) if np.ndim(x) == 0 else v
    assert np.isclose(jvp(f, (x,), (v,))[1], np.sum(ref * v), rtol=1e-5, atol=1e-6), "forward"


NORMS_AT_ORDER_TWO = ["np.linalg.norm(x, np.inf, axis=1) * np.linalg.norm(x, axis=(0, 1))",
                      "np.linalg.norm(x, 1, axis=(1, 0)) * np.linalg.norm(x, 'fro')",
                      "np.linalg.norm(x, -np.inf) * np.linalg.norm(x, 2, axis=0)"]


@pytest.mark.parametrize("expr", NORMS_AT_ORDER_TWO)
def test_norms_at_order_two(expr):
    """The np.linalg.norm orders beyond the composition table's case, against differences
    of the (order-1 checked) gradient (the spectral and nuclear norms': below)."""
    f = loss_of(expr, CONST, "test_breadth")
    x = RNG.normal(size=(3, 4))
    H = hessian(f)(x)
    for j in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[j] = 1e-5
        column = (grad(f)(x + e) - grad(f)(x - e)) / 2e-5
        assert np.allclose(H[(...,) + j], column, rtol=1e-5, atol=1e-5), j


@pytest.mark.parametrize("ord_", [2, -2, "nuc"])
def test_matrix_norm_second_derivative(ord_):
    """The spectral and nuclear norms at order 2 (through svd's tangents), against
    differences of the order-1 gradient, on a matrix and a stack with keepdims."""
    for x, expr in ((M3, f"np.linalg.norm(x, {ord_!r})"),
                    (STACK, f"np.linalg.norm(x, {ord_!r}, axis=(2, 1), keepdims=True)")):
        f = loss_of(expr, CONST, "test_breadth")
        H = hessian(f)(x)
        for j in np.ndindex(x.shape):
            e = np.zeros(x.shape)
            e[j] = 1e-5
            column = (grad(f)(x + e) - grad(f)(x - e)) / 2e-5
            assert np.allclose(H[(...,) + j], column, rtol=1e-5, atol=1e-5), j


def test_supported_list_is_current():
    """docs/supported.md is generated from the table (python -m sourcediff.prims.supported)
    and the README gives its count."""
    from pathlib import Path

    from sourcediff.prims import supported
    assert supported.PATH.read_text() == supported.render(), "run python -m sourcediff.prims.supported"
    readme = (Path(supported.__file__).parent.parent / "README.md").read_text()
    assert f"{len(supported.names())} functions" in readme and "docs/supported.md" in readme


def test_refused_clearly():
    """What has no rule is an error naming it, never a silent zero."""
    x = np.array([[0.3, 0.5], [0.2, 0.9]])
    for f in (lambda a: np.sum(np.pad(a, 1, mode="mean")),
              lambda a: np.sum(np.linalg.qr(a[:1])[1]),
              lambda a: np.sum(np.quantile(a, 0.3, method="nearest")),
              lambda a: np.sum(np.linalg.svd(np.vstack((a, a)))[0])):
        with pytest.raises(SourceDiffError):
            grad(f)(x)
    with pytest.raises(MissingRuleError):        # q of a quantile has no rule
        grad(lambda q: np.quantile(x, q))(0.3)
    with pytest.raises(MissingRuleError):        # a tangent of full_matrices' extra vectors
        hessian(lambda a: np.sum(np.linalg.svd(np.vstack((a, a)))[1]))(x)


@pytest.mark.parametrize("order", [3, 0.5, 1.5, -2])
def test_vector_p_norms(order):
    """np.linalg.norm of a vector for any numeric ord (a p-norm), in every mode."""
    import sourcediff
    x = np.array([0.3, -1.2, 0.8])

    def f(x):
        return np.linalg.norm(x, ord=order) * 2.0
    want = np.array([(f(x + e) - f(x - e)) / 2e-6 for e in np.eye(3) * 1e-6])
    np.testing.assert_allclose(sourcediff.grad(f)(x), want, rtol=1e-6)
    np.testing.assert_allclose(sourcediff.tape.grad(f)(x), want, rtol=1e-6)
    assert sourcediff.jvp(f, (x,), (np.ones(3),))[1] == pytest.approx(want.sum(), rel=1e-6)


def std_loss(x):
    return np.std(x)


def norm_loss(x):
    return np.linalg.norm(x - 1.0)


def var_loss(x):
    return np.var(x, ddof=1)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_std_of_a_constant_is_nan_as_a_norm_at_zero():
    """np.std of a constant vector is sqrt of a zero variance: like np.linalg.norm at 0
    (the norm of the deviation), it has no derivative there, and both give NaN (a
    decision: autograd gives 0 for std; a NaN is not mistaken for a gradient). np.var is
    differentiable there: 0; so is std over a single value (0 whatever the value)."""
    x = np.ones(3)
    for f in (std_loss, norm_loss):
        assert np.all(np.isnan(grad(f)(x))) and np.all(np.isnan(tape.grad(f)(x)))
        assert np.isnan(jvp(f, (x,), (np.arange(3.0),))[1])
    assert np.array_equal(grad(var_loss)(x), np.zeros(3))
    assert jvp(var_loss, (x,), (np.arange(3.0),))[1] == 0.0
    # over one value std is 0 whatever the value: its derivative is 0 (autograd's
    # test_systematic::test_std, a scalar and a (1, 3) array along axis 0)
    for f, x in ((std_loss, 3.5), (lambda a: np.sum(np.std(a, axis=0) ** 2), np.ones((1, 3)))):
        assert np.all(grad(f)(x) == 0) and np.all(tape.grad(f)(x) == 0)
        assert jvp(f, (x,), (np.ones_like(x),))[1] == 0
        assert np.all(hessian(f)(x) == 0)


def gradient_in_spacing(h):
    return np.sum(np.gradient(np.array([0.0, 1.0, 4.0]), h))


def test_gradient_spacing_is_refused_and_values_hand_computed():
    """np.gradient's spacing has no rule (a MissingRuleError, not a zero); in f the
    transpose is hand-checked: sum(gradient(f)) of 3 points with unit spacing is
    (f1 - f0) + (f2 - f0) / 2 + (f2 - f1) = -1.5 f0 + 0 f1 + 1.5 f2."""
    for run in (grad(gradient_in_spacing), tape.grad(gradient_in_spacing),
                lambda h: jvp(gradient_in_spacing, (h,), (1.0,))):
        with pytest.raises(MissingRuleError, match="np.gradient.*varargs"):
            run(0.5)   # (a *param's items were not checked by the compiler: a silent 0)
    assert np.allclose(grad(lambda f: np.sum(np.gradient(f)))(np.array([0.0, 1.0, 4.0])),
                       [-1.5, 0.0, 1.5])


SUB_B = np.arange(6.0).reshape(3, 2) / 5
SUB_IB = [1, 2]


def einsum_literal(a):
    return np.sum(np.einsum(a.reshape(1, 3), [0, 1], SUB_B, [1, 2], [0, 2]) ** 2)


def einsum_ellipsis(a):
    return np.sum(np.einsum(a, [Ellipsis, 0], SUB_B, [0, 1]) ** 2)


def einsum_in_variables(a):
    ia = [0, 1]
    out = [0, 2]
    return np.sum(np.einsum(a.reshape(1, 3), ia, SUB_B, SUB_IB, out) ** 2)


def einsum_built_at_run_time(a, k):
    ia = [0, k]
    return np.sum(np.einsum(a.reshape(1, 3), ia, SUB_B, [k, 2]) ** 2)


def einsum_spec_in_a_variable(a):
    spec = "ij,jk->ik"
    return np.sum(np.einsum(spec, a.reshape(1, 3), SUB_B) ** 2)


def concatenators(x):
    return np.sum(np.r_[x[:2], 3.0, x] * np.r_[1.0, x[1:], x]) + np.sum(np.c_[x, x ** 2] ** 2)


@pytest.mark.parametrize("f", [einsum_literal, einsum_ellipsis, einsum_in_variables,
                               lambda a: einsum_built_at_run_time(a, 1),
                               einsum_spec_in_a_variable, concatenators],
                         ids=lambda f: f.__name__)
def test_einsum_sublists_and_concatenators(f):
    """einsum's sublist form with the sublists literal, module-level, in local variables
    or built at run time (the subscripts then are too); np.r_ / np.c_; in reverse
    (compiled and tape), forward and at order 2."""
    x = np.array([0.3, -0.8, 1.2])
    want = fd(f, x)
    assert np.allclose(grad(f)(x), want, atol=1e-6)
    assert np.allclose(tape.grad(f)(x), want, atol=1e-6)
    assert np.isclose(jvp(f, (x,), (np.cos(x),))[1], np.sum(want * np.cos(x)))
    assert np.allclose(hessian(f)(x), fd(grad(f), x, 1e-5), atol=1e-5)


def tuple_of_parts(x):
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    t = tuple((u, s, vh))
    rows = tuple(x)
    return np.sum(t[1] ** 2) + np.sum(np.abs(t[0] * t[2][:, :1].T) ** 2) + np.sum(rows[0] * rows[1])


def test_tuple_of_values_and_of_an_array():
    """builtins.tuple: of a tuple, the same values; of an array, its rows (found by
    autograd's test_linalg, which writes tuple((u, s, v)))."""
    x = RNG.normal(size=(3, 3))
    want = fd(tuple_of_parts, x)
    assert np.allclose(grad(tuple_of_parts)(x), want, atol=1e-6)
    assert np.allclose(tape.grad(tuple_of_parts)(x), want, atol=1e-6)
    assert np.isclose(jvp(tuple_of_parts, (x,), (x,))[1], np.sum(want * x))
    assert np.allclose(hessian(tuple_of_parts)(x), fd(grad(tuple_of_parts), x, 1e-5), atol=1e-4)

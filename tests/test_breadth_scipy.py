"""Issue #18: matrix functions, SciPy's factor-and-solve pairs, lstsq and SciPy's special
functions, each checked against central differences at order 1 in reverse mode, forward
mode and on the tape (order 2: tests/test_composition.py's table, and below where a rule
has several branches)."""

from __future__ import annotations


import numpy as np
import pytest

from checks import fd, loss_of
from sourcediff import MissingRuleError, SourceDiffError, grad, hessian, hvp, jvp, tape, vjp

scipy = pytest.importorskip("scipy")
import scipy.linalg as sl  # noqa: E402
import scipy.signal as ss  # noqa: E402
import scipy.special as sp  # noqa: E402
import scipy.stats as st  # noqa: E402
from scipy.integrate import odeint  # noqa: E402

RNG = np.random.default_rng(1819)
M3 = RNG.normal(size=(3, 3)) * 0.6
SPD = M3 @ M3.T + np.eye(3)
CONST = {"np": np, "sl": sl, "sp": sp, "st": st, "ss": ss, "odeint": odeint,
         "T": np.linspace(0.0, 1.0, 5), "SPD": SPD, "W": RNG.normal(size=(3, 3)),
         "B": RNG.normal(size=(3, 2)), "V": RNG.normal(size=3), "A43": RNG.normal(size=(4, 3)),
         "B42": RNG.normal(size=(4, 2)), "V4": RNG.normal(size=4)}

CASES = [
    # matrix functions
    ("matrix_power", M3, "np.linalg.matrix_power(x, 3) + np.linalg.matrix_power(x, 1)"),
    ("matrix_power 0 and negative", SPD, "np.linalg.matrix_power(x, 0) * x + "
                                         "np.linalg.matrix_power(x, -2)"),
    ("matrix_power stack", RNG.normal(size=(2, 3, 3)) * 0.5, "np.linalg.matrix_power(x, 2)"),
    ("expm", M3, "sl.expm(x)"),
    ("expm stack", RNG.normal(size=(2, 3, 3)) * 0.5, "sl.expm(x) @ W"),
    ("sqrtm", SPD, "sl.sqrtm(x)"),
    ("sqrtm nonsymmetric", SPD + 0.3 * M3, "sl.sqrtm(x) @ W"),
    ("logm", SPD, "sl.logm(x + 0.2 * W)"),
    ("solve_sylvester", M3, "sl.solve_sylvester(x + 2.0 * np.eye(3), SPD, x.T @ W)"),
    ("solve_sylvester rhs", RNG.normal(size=(3, 2)),
     "sl.solve_sylvester(SPD, SPD[:2, :2] + np.eye(2), x)"),
    # factor and solve
    ("cho_factor upper", SPD, "sl.cho_factor(x)[0]"),
    ("cho_factor lower", SPD, "sl.cho_factor(x, lower=True)[0] * W"),
    ("cho_factor built", M3, "sl.cho_factor(x @ x.T + np.eye(3), True)[0]"),
    ("cho_solve", M3, "sl.cho_solve(sl.cho_factor(x @ x.T + np.eye(3)), B)"),
    ("cho_solve lower vector", M3,
     "sl.cho_solve(sl.cho_factor(x @ x.T + np.eye(3), lower=True), x[0])"),
    ("cho_solve rhs", RNG.normal(size=(3, 2)), "sl.cho_solve(sl.cho_factor(SPD), x)"),
    ("cho_solve raw", np.triu(SPD), "sl.cho_solve((x, False), V)"),
    ("lstsq", RNG.normal(size=(4, 3)), "np.linalg.lstsq(x, B42)[0]"),
    ("lstsq residuals", RNG.normal(size=(4, 3)),
     "np.linalg.lstsq(x, V4, rcond=None)[1] + np.linalg.lstsq(x, V4)[0]"),
    ("lstsq rhs", RNG.normal(size=(4, 2)),
     "np.linalg.lstsq(A43, x)[0] * np.linalg.lstsq(A43, x)[1]"),
    ("lstsq wide", RNG.normal(size=(2, 3)), "np.linalg.lstsq(x, V[:2])[0]"),
    # special functions
    ("bessel j", RNG.uniform(0.5, 4.0, size=(2, 3)),
     "sp.j0(x) * sp.j1(x) + sp.jv(1.5, x) + sp.jn(2, x) + sp.jv(V[:, None] ** 2, x[0])[0]"),
    ("bessel y", RNG.uniform(0.5, 4.0, size=(2, 3)),
     "sp.y0(x) + sp.y1(x) * sp.yn(2, x) + sp.yv(0.5, x)"),
    ("bessel i", RNG.uniform(-2.0, 2.0, size=(2, 3)),
     "sp.i0(x) + sp.i1(x) * sp.iv(2.0, x) + sp.ive(3.0, x) + sp.ive(0.5, np.abs(x) + 0.1)"),
    ("gamma beta", RNG.uniform(0.5, 3.0, size=(2, 3)),
     "sp.rgamma(x) + sp.beta(x, x[0]) + sp.beta(2.5, x) + sp.multigammaln(x + 2.0, 3)"),
    ("betainc", RNG.uniform(0.1, 0.9, size=3), "sp.betainc(2.0, V * V + 0.5, x)"),
    ("gammainc a", RNG.uniform(0.2, 5.0, size=(2, 3)),
     "sp.gammainc(x, 2.0) + sp.gammaincc(x, x[0] * 3.0) + sp.gammainc(x + 1.0, V * V)"),
    ("gammainc large", np.array([20.0, 150.0, 900.0]), "sp.gammainc(x, x * 1.05) * 10.0"),
    # signal and integrate
    ("convolve", RNG.normal(size=5), "ss.convolve(x, V) + ss.convolve(x, V, 'same')[1]"),
    ("convolve valid", RNG.normal(size=5),
     "ss.convolve(x, V, mode='valid') * ss.convolve(V, x, 'valid')"),
    ("convolve both 2-d", RNG.normal(size=(4, 5)),
     "ss.convolve(x, x[:2, 1:4] * 2.0, 'same') + ss.convolve(x, B.T, 'valid')[0, 0]"),
    ("convolve even same", RNG.normal(size=(3, 4)), "ss.convolve(B, x, mode='same')"),
    ("odeint y0", np.array([1.0, -0.5]),
     "odeint(oscillator, x, T, args=(np.array([2.0, 0.3]),), rtol=1e-11, atol=1e-11)"),
    ("odeint args", np.array([2.0, 0.3]),
     "odeint(oscillator, np.array([1.0, 0.0]), T, (x,), rtol=1e-11, atol=1e-11)"),
    ("odeint both tfirst", np.array([0.5, 1.0, 2.0]),
     "odeint(decay, x * 2.0, T, args=(x, 0.5), tfirst=True, rtol=1e-11, atol=1e-11)[-1]"),
    ("gamma chi2 cdf in shape", RNG.uniform(0.5, 4.0, size=3),
     "st.gamma.cdf(1.5, x, scale=2.0) + st.gamma.logsf(V * V, x) + st.chi2.sf(2.0, x) + "
     "st.chi2.logcdf(x, x + 1.0, loc=-0.1)"),
]


def oscillator(y, t, k):
    """A damped nonlinear oscillator, forced."""
    return np.array([y[1], -k[0] * y[0] - k[1] * y[1] * y[0] ** 2 + np.sin(t)])


def decay(t, y, k, c):
    return -k * y + c * t


CONST.update(oscillator=oscillator, decay=decay)


@pytest.mark.parametrize("name, x, expr", CASES, ids=[c[0] for c in CASES])
def test_rule_at_order_one(name, x, expr):
    f = loss_of(expr, CONST, "test_breadth_scipy")
    ref = fd(f, x)
    assert np.max(np.abs(ref)) > 1e-3, "the case must exercise the rule"
    assert np.allclose(grad(f)(x), ref, rtol=1e-5, atol=1e-6), "reverse"
    assert np.allclose(tape.grad(f)(x), ref, rtol=1e-5, atol=1e-6), "tape"
    v = np.cos(np.arange(np.size(x)) + 1.0).reshape(np.shape(x))
    v = float(v) if np.ndim(x) == 0 else v
    assert np.isclose(jvp(f, (x,), (v,))[1], np.sum(ref * v), rtol=1e-5, atol=1e-6), "forward"


ORDER_TWO = [("cho_factor upper", SPD, "sl.cho_factor(x)[0]"),
             ("cho_solve upper", M3, "sl.cho_solve(sl.cho_factor(x @ x.T + np.eye(3)), V)"),
             ("matrix_power negative", SPD, "np.linalg.matrix_power(x, -2)"),
             ("expm nonsymmetric", M3, "sl.expm(x)"),
             ("lstsq residuals", RNG.normal(size=(4, 3)), "np.linalg.lstsq(x, V4)[1]"),
             ("gammainc in a and x", np.array([0.7, 2.5, 4.0]),
              "sp.gammainc(x, x[::-1]) + sp.gammaincc(x * 2.0, 1.5)"),
             ("gamma cdf in a", np.array([0.7, 2.5, 4.0]), "st.gamma.logcdf(2.0, x, scale=x)"),
             ("svd tall", RNG.normal(size=(4, 3)), "svd_parts(x)"),
             ("svd wide stack", RNG.normal(size=(2, 2, 3)), "svd_parts(x)"),
             ("svd square full", M3, "np.linalg.svd(x)[0] ** 2 + np.linalg.svd(x)[2] ** 2"),
             ("svd values", RNG.normal(size=(3, 4)), "np.linalg.svd(x, compute_uv=False)")]


def svd_parts(a):
    """Losses of np.linalg.svd that do not depend on the signs its vectors may take."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([np.ravel(u * u), np.ravel(s), np.ravel(vh * vh), np.ravel(u @ vh)])


CONST["svd_parts"] = svd_parts


@pytest.mark.parametrize("name, x, expr", ORDER_TWO, ids=[c[0] for c in ORDER_TWO])
def test_branches_at_order_two(name, x, expr):
    f = loss_of(expr, CONST, "test_breadth_scipy")
    H = hessian(f)(x)
    assert np.allclose(H, fd(grad(f), x, 1e-5), rtol=1e-5, atol=1e-5)


def test_matrix_functions_against_closed_forms():
    """Independent of the difference oracle: on a diagonal matrix, d/dA_ii f(A) = f'(a_ii)
    (Daleckii-Krein), and d expm(A)[E] of a commuting E is expm(A) E."""
    d = np.array([0.5, 1.5, 2.5])
    for f, deriv in ((lambda a: np.trace(sl.expm(a)), np.exp),
                     (lambda a: np.trace(sl.sqrtm(a)), lambda t: 0.5 / np.sqrt(t)),
                     (lambda a: np.trace(sl.logm(a)), lambda t: 1.0 / t),
                     (lambda a: np.trace(np.linalg.matrix_power(a, 3)), lambda t: 3 * t * t)):
        assert np.allclose(grad(f)(np.diag(d)), np.diag(deriv(d)), atol=1e-8)
    a = SPD * 0.3
    assert np.allclose(jvp(lambda m: sl.expm(m), (a,), (a,))[1], sl.expm(a) @ a, atol=1e-10)


def test_lstsq_singular_values_refused():
    f = loss_of("np.linalg.lstsq(x, V4)[3]", CONST, "test_breadth_scipy")
    with pytest.raises(MissingRuleError, match="lstsq"):
        grad(f)(CONST["A43"])


def test_cho_factor_is_read_as_scipy_reads_it():
    """The factor reads one triangle; the other holds a's own entries (SciPy < 1.18 leaves
    them) or zeros (1.18 on): the gradient says so, entry by entry."""
    g = grad(lambda a: np.sum(sl.cho_factor(a)[0]))(SPD)
    below = np.tril(np.ones((3, 3)), -1).astype(bool)
    kept = np.any(np.tril(sl.cho_factor(SPD)[0], -1))
    assert np.allclose(g[below], 1.0 if kept else 0.0)   # a's entries passed through, or none
    g = grad(lambda a: np.sum(np.triu(sl.cho_factor(a)[0])))(SPD)
    assert np.allclose(g[below], 0.0)                # the factor never reads them
    assert isinstance(grad(lambda a: sl.cho_factor(a)[0][0, 0])(SPD), np.ndarray)


def test_refused_is_an_error():
    with pytest.raises(SourceDiffError):
        grad(lambda a: np.sum(sl.funm(a, np.sin)))(SPD)


@pytest.mark.parametrize("a, x", [(0.3, 0.2), (1.0, 1.0), (2.5, 4.0), (7.0, 3.0), (30.0, 35.0)])
def test_gammainc_order_derivative_against_its_integral(a, x):
    """d/da P(a, x) = (int_0^x t^(a-1) e^-t log t dt) / Gamma(a) - P(a, x) psi(a), by
    quadrature (independent of the series and of differences)."""
    from scipy.integrate import quad
    integral = quad(lambda t: t ** (a - 1) * np.exp(-t) * np.log(t), 0, x, limit=200,
                    epsabs=1e-14, epsrel=1e-12)[0]
    want = integral / sp.gamma(a) - sp.gammainc(a, x) * sp.digamma(a)
    assert grad(lambda a: sp.gammainc(a, x))(a) == pytest.approx(want, rel=1e-9, abs=1e-13)
    assert grad(lambda a: sp.gammaincc(a, x))(a) == pytest.approx(-want, rel=1e-9, abs=1e-13)


@pytest.mark.parametrize("expr, x", [
    ("sp.jv(x, 1.5)", 0.5), ("sp.yv(x, 1.5)", 0.5), ("sp.iv(x, 1.5)", 0.5),
    ("sp.ive(x, 1.5)", 0.5), ("sp.betainc(x, 2.0, 0.3)", 1.5), ("sp.betainc(2.0, x, 0.3)", 1.5)])
def test_real_orders_and_betainc_shapes_are_refused(expr, x):
    f = loss_of(expr, CONST, "test_breadth_scipy")
    for run in (lambda: grad(f)(x), lambda: jvp(f, (x,), (1.0,)), lambda: tape.grad(f)(x)):
        with pytest.raises(MissingRuleError, match="scipy.special"):
            run()


def test_third_derivative_in_the_order_is_refused():
    d2 = grad(grad(lambda a: sp.gammainc(a, 2.0)))
    assert d2(1.5) == pytest.approx(fd(grad(lambda a: sp.gammainc(a, 2.0)), 1.5, 1e-5),
                                    rel=1e-6)
    with pytest.raises(MissingRuleError, match="third derivative"):
        grad(d2)(1.5)


def test_odeint_refusals():
    """t, full_output and a third derivative are refused, with the rule's name."""
    k = np.array([2.0, 0.3])
    y0 = np.array([1.0, 0.0])
    T = CONST["T"]
    with pytest.raises(MissingRuleError, match="odeint"):
        grad(lambda s: np.sum(odeint(oscillator, y0, T * s, args=(k,))))(1.0)
    with pytest.raises(MissingRuleError, match="full_output"):
        grad(lambda y: np.sum(odeint(oscillator, y, T, args=(k,), full_output=1)[0]))(y0)
    with pytest.raises(MissingRuleError, match="full_output"):
        hessian(lambda y: np.sum(odeint(oscillator, y, T, args=(k,), full_output=1)[0]))(y0)

    def f(s):
        return np.sum(odeint(decay, np.ones(2) * s, T, args=(s, 0.5), tfirst=True))
    with pytest.raises(MissingRuleError, match="odeint_hvp"):
        grad(grad(grad(f)))(0.7)
    with pytest.raises(MissingRuleError, match="odeint_hvp"):
        vjp(grad(grad(f)), 0.7)[1](1.0)


def test_odeint_against_a_closed_form():
    """y' = -k y: y(t) = y0 exp(-k t), so d sum(y)/dk = -sum(t y0 exp(-k t)) and
    d2 sum(y)/dk2 = sum(t^2 y0 exp(-k t)); d2/dk dy0 = -sum(t exp(-k t))."""
    T = CONST["T"]

    def f(k):
        return np.sum(odeint(decay, 2.0 * np.ones(1), T, args=(k, 0.0), tfirst=True,
                             rtol=1e-12, atol=1e-12))
    k = 0.7
    assert grad(f)(k) == pytest.approx(-np.sum(T * 2.0 * np.exp(-k * T)), rel=1e-8)
    assert grad(grad(f))(k) == pytest.approx(np.sum(T * T * 2.0 * np.exp(-k * T)), rel=1e-7)

    def both(p):  # p = (y0, k)
        return np.sum(odeint(decay, p[:1], T, args=(p[1], 0.0), tfirst=True, rtol=1e-12,
                             atol=1e-12))
    p = np.array([2.0, 0.7])
    want = np.array([[0.0, -np.sum(T * np.exp(-k * T))],
                     [-np.sum(T * np.exp(-k * T)), np.sum(T * T * 2.0 * np.exp(-k * T))]])
    assert np.allclose(hessian(both)(p), want, rtol=1e-7, atol=1e-9)
    assert np.allclose(tape.grad(both)(p), [np.sum(np.exp(-k * T)),
                                            -np.sum(T * 2.0 * np.exp(-k * T))], rtol=1e-8)


ODE_ORDER_TWO = [
    ("y0", np.array([1.0, -0.5]),
     "odeint(oscillator, x, T, args=(np.array([2.0, 0.3]),), rtol=1e-11, atol=1e-11)"),
    ("args", np.array([2.0, 0.3]),
     "odeint(oscillator, np.array([1.0, 0.0]), T, (x,), rtol=1e-11, atol=1e-11)"),
    ("y0 and args tfirst", np.array([0.5, 1.0, 2.0]),
     "odeint(decay_sq, x * 2.0, T, args=(x, 0.5), tfirst=True, rtol=1e-11, atol=1e-11)"),
    ("nested args", np.array([0.4, -0.3, 0.8]),
     "odeint(layers, np.array([0.5, -0.2]), T, ([(np.outer(x[:2], x[1:]), x[:2])],), "
     "rtol=1e-11, atol=1e-11)[-1]"),
]


def decay_sq(t, y, k, c):
    return -k * y + c * t * y * y


def layers(y, t, params):
    w, b = params[0]
    return np.tanh(y @ w + b)


CONST.update(decay_sq=decay_sq, layers=layers)


@pytest.mark.parametrize("name, x, expr", ODE_ORDER_TWO, ids=[c[0] for c in ODE_ORDER_TWO])
def test_odeint_at_order_two(name, x, expr):
    """A second derivative through odeint, against differences of the gradient: forward
    over reverse (hessian), reverse over reverse (vjp of the gradient: the tape over the
    generated code, through odeint_vjp's own rules) and hvp."""
    f = loss_of(expr, CONST, "test_breadth_scipy")
    assert np.allclose(tape.grad(f)(x), fd(f, x), rtol=1e-6, atol=1e-7), "tape"
    H_fd = fd(grad(f), x, 1e-5)
    assert np.max(np.abs(H_fd)) > 1e-2, "the case must exercise the second derivative"
    assert np.allclose(hessian(f)(x), H_fd, rtol=1e-5, atol=1e-6), "forward over reverse"
    pull = vjp(grad(f), x)[1]
    H_rr = np.stack([pull(e)[0] for e in np.eye(x.size)])
    assert np.allclose(H_rr, H_fd, rtol=1e-5, atol=1e-6), "reverse over reverse"
    v = np.cos(np.arange(x.size) + 1.0)
    assert np.allclose(hvp(f)(x, v), H_fd @ v, rtol=1e-5, atol=1e-6), "hvp"


def test_a_scipy_primitive_itself_is_differentiated_through_its_rule():
    """grad of SciPy's own function (not of a function calling it): its source is never
    read; reverse mode falls back to the tape, which records through the rule, and
    forward mode (which needs source) says so."""
    with pytest.warns(UserWarning, match="scipy's own"):
        g = grad(st.t.logpdf)(0.3, 2.0)
    assert g == pytest.approx(-3.0 * 0.3 / (2.0 + 0.09), rel=1e-12)
    with pytest.warns(UserWarning, match="scipy's own"):
        g = grad(sp.polygamma, 1)(1, 1.5)
    assert g == pytest.approx(sp.polygamma(2, 1.5), rel=1e-12)
    with pytest.raises(SourceDiffError, match="scipy's own"):
        jvp(sl.expm, (SPD,), (SPD,))


@pytest.mark.parametrize("expr, x, param, why", [
    ("st.t.cdf(0.3, x, loc=0.1)", 2.5, "df", "incomplete beta"),
    ("st.t.logsf(0.3, df=x)", 2.5, "df", "incomplete beta"),
    ("st.beta.cdf(0.3, x, 2.0)", 1.5, "a", "incomplete beta"),
    ("st.beta.sf(0.3, 2.0, b=x)", 1.5, "b", "incomplete beta"),
    ("sp.betainc(2.0, x, 0.3)", 1.5, "b", "incomplete beta"),
    ("sp.jv(x, 1.5)", 0.5, "v", "real order"),
    ("st.multivariate_normal.cdf(V[:2], np.zeros(2), np.eye(2) * x[0])", np.array([1.5]), "cov",
     "pair of coordinates"),
    ("st.multivariate_normal.logcdf(V[:2], np.zeros(2), np.eye(2), lower_limit=x)",
     np.array([-2.0, -1.5]), "lower_limit", "pair of coordinates")])
def test_refusals_name_the_argument_and_why(expr, x, param, why):
    """t.cdf in df, beta.cdf in a and b, multivariate_normal.cdf in cov: autograd 1.9 has
    no rule for them either (t.cdf: x and loc only, beta.cdf: x only, no mvn cdf). The
    error names the argument and the reason, in every mode."""
    f = loss_of(expr, CONST, "test_breadth_scipy")
    for run in (lambda: grad(f)(x), lambda: jvp(f, (x,), (x,)), lambda: tape.grad(f)(x)):
        with pytest.raises(MissingRuleError, match=f"argument '{param}' \\(.*{why}"):
            run()


def test_what_the_cdfs_differentiate():
    """t.cdf and beta.cdf in x, loc and scale (more than autograd's x and loc), against
    differences: the arguments docs/supported.md lists for them."""
    f = loss_of("st.t.cdf(x[0], 3.0, x[1], x[2]) + st.beta.logcdf(x[0], 2.0, 1.5, x[1] - 0.5, "
                "x[2] + 1.0) + st.t.logsf(x[0], 2.5, scale=x[2])", CONST, "test_breadth_scipy")
    x = np.array([0.4, 0.1, 1.3])
    assert np.allclose(grad(f)(x), fd(f, x), rtol=1e-6, atol=1e-8)
    assert np.allclose(hessian(f)(x), fd(grad(f), x, 1e-5), rtol=1e-5, atol=1e-6)
    from sourcediff.prims import supported
    page = supported.PATH.read_text()
    assert "`scipy.stats.t.cdf`: not in `df`" in page
    assert "`scipy.stats.beta.cdf`: not in `a`, `b`" in page


MVN_COV = np.array([[1.0, 0.5, 0.2], [0.5, 2.0, -0.3], [0.2, -0.3, 1.5]])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_multivariate_normal_cdf_in_x_and_mean(d):
    """d cdf / dx_i = density of x_i times the cdf of the others given x_i: against a
    closed form in two dimensions (phi(x1) Phi((x2 - rho x1) / sqrt(1 - rho^2)) for unit
    variances), against differences where SciPy's cdf is exact (up to two dimensions;
    from three on it is quasi-Monte Carlo: differences of step 1e-2), and in mean, for a
    batch of points, by logcdf. A second derivative is refused."""
    cov = MVN_COV[:d, :d]
    x = np.array([0.3, -0.2, 0.5])[:d]
    f = loss_of("st.multivariate_normal.cdf(x, V[:3][:len(x)] * 0.2, c)",
                dict(CONST, c=cov), "test_breadth_scipy", reduce="out")
    h, tol = (1e-5, 1e-8) if d < 3 else (1e-2, 2e-3)
    want = fd(f, x, h)
    for got in (grad(f)(x), tape.grad(f)(x)):
        assert np.allclose(got, want, atol=tol)
    assert np.isclose(jvp(f, (x,), (np.ones(d),))[1], np.sum(want), atol=tol * d)
    points = np.array([[0.3, -0.2, 0.5], [0.1, 0.2, -0.4]])[:, :d]
    g = loss_of("st.multivariate_normal.logcdf(P, x, c)", dict(CONST, c=cov, P=points),
                "test_breadth_scipy")
    assert np.allclose(grad(g)(x), fd(g, x, h), atol=tol * 10)
    with pytest.raises(MissingRuleError, match="mvn_cdf_dx"):
        hessian(f)(x)


def test_bivariate_normal_cdf_against_its_closed_form():
    rho, x = 0.6, np.array([0.4, -0.3])

    def f(x):
        return st.multivariate_normal.cdf(x, None, np.array([[1.0, rho], [rho, 1.0]]))
    want = [st.norm.pdf(x[i]) * st.norm.cdf((x[1 - i] - rho * x[i]) / np.sqrt(1 - rho ** 2))
            for i in (0, 1)]
    assert np.allclose(grad(f)(x), want, rtol=1e-12)


def _layers_rhs(y, t, params):
    for w, b in params:   # a loop over a list of pairs: its adjoint fills a list on first use
        y = np.tanh(y * w + b)
    return -y


def test_odeint_hessian_through_a_loop_over_parameters():
    """Forward mode over the adjoint of such a func (scatter_into into a list's cotangent)
    was a MissingRuleError; checked against differences of the gradient."""
    def loss(y0):
        params = [(0.5, 0.1), (1.2, -0.2)]
        return np.sum(odeint(_layers_rhs, y0, np.linspace(0.0, 1.0, 5), args=(params,)) ** 2)
    y0 = np.array([0.3, -0.4])
    g = grad(loss)
    cols = [(g(y0 + e) - g(y0 - e)) / 2e-5 for e in np.eye(2) * 1e-5]
    np.testing.assert_allclose(hessian(loss)(y0), np.array(cols).T, rtol=1e-4, atol=1e-6)


def test_gammasgn_is_piecewise_constant():
    """sign(Gamma(x)) is declared non-differentiable: |Gamma|'s log times its sign has
    the sign times digamma as derivative (was a MissingRuleError, autograd's test_gammasgn)."""
    x = np.array([-1.5, 0.5, 2.5])
    g = grad(lambda v: np.sum(sp.gammasgn(v) * sp.gammaln(v)))(x)
    np.testing.assert_allclose(g, sp.gammasgn(x) * sp.digamma(x), rtol=1e-12)


def test_sqrtm_reverse_over_reverse_is_right_or_refused():
    """vjp(grad(f)) through sqrtm nests its block matrices; SciPy's sqrtm of the nested
    block can be far off (a matrix with negative eigenvalues: it gave -9e7 for 0.82). The
    root is checked: a right second derivative, or an error, never a wrong number."""
    rng = np.random.default_rng(5)
    M, U, V = (rng.standard_normal((3, 3)) for _ in range(3))

    def f(A):
        return np.real(np.sum(U * sl.sqrtm(A)))
    gf = grad(f)
    refused = []
    for k, R in enumerate([M @ M.T + np.eye(3), M + M.T]):  # (the second: eigenvalues < 0)
        want = (np.sum(gf(R + 1e-5 * V) * V) - np.sum(gf(R - 1e-5 * V) * V)) / 2e-5
        _, t = jvp(gf, (R,), (V,))  # forward over reverse: right at both points
        assert np.isclose(np.sum(t * V), want, rtol=1e-5, atol=1e-7)
        _, pull = vjp(gf, R)
        try:
            got = pull(V)
        except SourceDiffError as exc:  # (where this SciPy's root of the block is off)
            assert "sqrtm is inaccurate" in str(exc)
            refused.append(k)
            continue
        assert np.isclose(np.sum((got[0] if isinstance(got, tuple) else got) * V), want,
                          rtol=1e-5, atol=1e-7)
    assert 0 not in refused  # (at a positive definite matrix SciPy's root is right)

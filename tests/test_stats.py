"""Issue #18: scipy.stats distributions (sourcediff/prims/rules_stats.py), each method checked
against central differences at order 1 in reverse mode, forward mode and on the tape,
in x and in every parameter at once (the input is threaded through all of them), with
broadcast and batched shapes and keyword arguments; order 2 is in
tests/test_composition.py's table. What has no closed form is refused."""

from __future__ import annotations


import numpy as np
import pytest

from checks import fd, loss_of
from sourcediff import MissingRuleError, grad, hessian, jvp, tape

scipy = pytest.importorskip("scipy")
import scipy.stats as st  # noqa: E402

RNG = np.random.default_rng(1818)
U = RNG.uniform(0.2, 0.8, size=(2, 3))
SPD = np.array([[2.0, 0.3, -0.2], [0.3, 1.5, 0.4], [-0.2, 0.4, 1.2]])
CONST = {"np": np, "st": st, "K": np.array([[0, 1, 4], [2, 3, 1]]), "SPD": SPD,
         "M": RNG.normal(size=(4, 3)), "U": U}
LOC_SCALE = [  # (distribution, shape parameters as expressions of x)
    ("norm", ""), ("t", "x[0] + 2.5, "), ("beta", "x[0] + 1.5, x[1] * 2.0 + 0.7, "),
    ("gamma", "x[1] + 1.2, "), ("chi2", "x[0] * 3.0 + 2.0, "),
]
CASES = []
for _d, _shapes in LOC_SCALE:
    CASES += [
        (f"{_d} logpdf pdf", U, f"st.{_d}.logpdf(x, {_shapes}x[1] * 0.1, x[0] + 0.5) + "
                                 f"st.{_d}.pdf(x * 0.5, {_shapes}loc=-0.01, scale=x + 0.3)"),
        (f"{_d} cdf sf", U, f"st.{_d}.cdf(x, {_shapes.replace('x', 'U')}x[1] * 0.1, "
                            "x[0] + 0.5) * st.{0}.sf(0.4, {1}scale=x + 0.5)".format(
                                _d, _shapes.replace("x", "U"))),
        (f"{_d} logcdf logsf", U, f"st.{_d}.logcdf(x, {_shapes.replace('x', 'U')}"
                                  f"scale=x[0] + 0.5) + st.{_d}.logsf(x * 0.7, "
                                  f"{_shapes.replace('x', 'U')}loc=x * 0.1)"),
    ]
CASES += [
    ("norm ppf isf", U, "st.norm.ppf(x, x[0], x[1] + 0.5) + st.norm.isf(x * 0.5, scale=x + 1.0)"),
    ("t df", RNG.uniform(0.5, 6.0, size=3), "st.t.logpdf(M, x) + st.t.pdf(M, df=x, scale=2.0)"),
    ("beta shapes 1-d", RNG.uniform(0.5, 3.0, size=3),
     "st.beta.logpdf(U, x, x[::-1]) + st.beta.pdf(U, a=1.5, b=x)"),
    ("poisson", RNG.uniform(0.5, 4.0, size=3),
     "st.poisson.logpmf(K, x) + st.poisson.pmf(K, mu=x) + st.poisson.cdf(K, x, loc=1) + "
     "st.poisson.sf(K, x) + st.poisson.logcdf(K, x) + st.poisson.logsf(K[0], mu=x)"),
    ("poisson scalar", 1.7, "st.poisson.logpmf(3, x) * st.poisson.cdf(2.5, x)"),
    ("mvn", RNG.normal(size=(4, 3)),
     "st.multivariate_normal.logpdf(x, x[0] * 0.3, SPD + 0.1 * x.T @ x)"),
    ("mvn one point", RNG.normal(size=3),
     "st.multivariate_normal.logpdf(x, mean=x * x, cov=SPD) + "
     "st.multivariate_normal.pdf(M, x, SPD)"),
    ("mvn batch", RNG.normal(size=(2, 4, 3)), "st.multivariate_normal.logpdf(x, cov=SPD)"),
    ("mvn cov diag", RNG.uniform(0.5, 2.0, size=3),
     "st.multivariate_normal.logpdf(M, np.zeros(3), x) + "
     "np.sum(st.multivariate_normal.pdf(M[0], cov=x[0]))"),
    ("mvn dimension 1", RNG.uniform(0.5, 2.0, size=2),
     "st.multivariate_normal.logpdf(x, 0.3, x[1]) + st.multivariate_normal.pdf(0.4, x[0], x[1])"),
    ("dirichlet", RNG.uniform(0.2, 1.0, size=(3, 2)),
     "st.dirichlet.logpdf(x / np.sum(x, axis=0), x[:, 0] + 1.0) + "
     "st.dirichlet.pdf(x[:, 1] / np.sum(x[:, 1]), alpha=x[:, 0] * 2.0)"),
    ("dirichlet k-1", RNG.uniform(0.1, 0.4, size=2),
     "st.dirichlet.logpdf(x, np.array([1.5, 2.0, 3.0])) + "
     "st.dirichlet.pdf(x, np.append(x + 0.5, 1.5))"),
]



@pytest.mark.parametrize("name, x, expr", CASES, ids=[c[0] for c in CASES])
def test_distribution_at_order_one(name, x, expr):
    f = loss_of(expr, CONST, "test_stats")
    ref = fd(f, x)
    assert np.all(np.abs(ref) > 0) or np.any(np.abs(ref) > 1e-3), "a case must exercise"
    assert np.allclose(grad(f)(x), ref, rtol=1e-5, atol=1e-6), "reverse"
    assert np.allclose(tape.grad(f)(x), ref, rtol=1e-5, atol=1e-6), "tape"
    v = np.cos(np.arange(np.size(x)) + 1.0).reshape(np.shape(x))
    v = float(v) if np.ndim(x) == 0 else v
    assert np.isclose(jvp(f, (x,), (v,))[1], np.sum(ref * v), rtol=1e-5, atol=1e-6), "forward"


def test_hand_computed_values():
    """Against the textbook formulas (independent of the finite-difference oracle)."""
    x, df, s = 0.7, 3.5, 1.3
    z = x / s
    want_x = -(df + 1) * z / (df + z * z) / s
    assert grad(lambda x: st.t.logpdf(x, df, scale=s))(x) == pytest.approx(want_x, rel=1e-12)
    assert grad(lambda m: st.poisson.logpmf(4, m))(2.5) == pytest.approx(4 / 2.5 - 1, rel=1e-12)
    assert grad(lambda m: st.poisson.cdf(4, m))(2.5) == pytest.approx(
        -st.poisson.pmf(4, 2.5), rel=1e-12)
    assert grad(lambda a: st.gamma.logpdf(2.0, a))(1.5) == pytest.approx(
        np.log(2.0) - scipy.special.digamma(1.5), rel=1e-12)
    mean, xv = np.array([0.2, -0.1, 0.4]), np.array([1.0, 0.5, -0.3])
    gc = grad(lambda c: st.multivariate_normal.logpdf(xv, mean, c))(SPD)
    inv, r = np.linalg.inv(SPD), xv - mean
    sym = 0.5 * (inv @ np.outer(r, r) @ inv - inv)   # the symmetric gradient...
    want = np.tril(sym) + np.tril(sym.T, -1)         # ...as SciPy reads cov: one triangle
    assert np.allclose(gc, want, atol=1e-12)


def test_second_order_in_the_parameters():
    f = loss_of("st.t.logpdf(x[0], x[1] + 2.0, x[0] * 0.1, x[1] + 0.5) + "
                "st.multivariate_normal.logpdf(M, x, SPD)[0]", CONST, "test_stats")
    x = np.array([0.3, 0.6, -0.2])
    H = hessian(f)(x)
    H_fd = np.stack([(grad(f)(x + e) - grad(f)(x - e)) / 2e-5 for e in np.eye(3) * 1e-5], -1)
    assert np.allclose(H, H_fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("expr", [
    "st.t.cdf(0.3, x)", "st.beta.cdf(0.3, x, 2.0)", "st.beta.logsf(0.3, 2.0, b=x)",
    "st.beta.logcdf(0.3, a=x, b=2.0)", "st.t.sf(0.5, x, loc=0.1)", "st.t.logsf(0.5, df=x)"])
def test_cdf_in_a_shape_parameter_is_refused(expr):
    """t's df and beta's a, b in the cdf (incomplete beta in its parameters): no closed
    form (gamma's and chi2's go through the incomplete gamma function's order)."""
    f = loss_of(expr, CONST, "test_stats")
    for run in (lambda: grad(f)(2.5), lambda: jvp(f, (2.5,), (1.0,)), lambda: tape.grad(f)(2.5)):
        with pytest.raises(MissingRuleError, match="scipy.stats"):
            run()


def test_no_rule_is_an_error_not_a_zero():
    f = loss_of("st.multivariate_normal.cdf(x, np.zeros(2), np.eye(2))", CONST, "test_stats")
    with pytest.raises(MissingRuleError):
        grad(f)(np.array([0.1, 0.2]))

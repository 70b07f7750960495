"""``scipy.optimize.minimize`` with gradients from sourcediff.

``jac=grad(f)`` is all SciPy needs: the generated adjoint returns a float64 array
shaped like ``x``. Two problems: the Rosenbrock function (minimum at all ones) and
L2-regularised logistic regression on generated data, checked against SciPy's
own finite-difference gradient.
"""

import numpy as np
from scipy.optimize import approx_fprime, minimize

from sourcediff import grad


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def make_data(seed=0, n=500, d=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    true_w = rng.standard_normal(d)
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-(X @ true_w)))).astype(float)
    return X, y, true_w


def logistic_nll(w, X, y, lam):
    z = X @ w
    nll = np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))
    return nll + 0.5 * lam * np.sum(w ** 2)


def main():
    x0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.5])
    res = minimize(rosenbrock, x0, jac=grad(rosenbrock), method="BFGS")
    print(f"rosenbrock: success={res.success}, f={res.fun:.3e}, nit={res.nit}, "
          f"x={np.array2string(res.x, precision=6)}")

    X, y, true_w = make_data()
    lam = 1e-3
    w0 = np.zeros(X.shape[1])
    dnll = grad(logistic_nll)
    fd = approx_fprime(w0 + 0.1, logistic_nll, 1e-7, X, y, lam)
    print(f"logistic: |grad - finite differences| = "
          f"{np.max(np.abs(dnll(w0 + 0.1, X, y, lam) - fd)):.1e}")
    res = minimize(logistic_nll, w0, args=(X, y, lam), jac=dnll, method="L-BFGS-B")
    acc = np.mean(((X @ res.x) > 0) == (y > 0.5))
    print(f"logistic: success={res.success}, nll={res.fun:.6f}, nit={res.nit}, "
          f"train accuracy={acc:.3f}")
    print(f"  fitted w = {np.array2string(res.x, precision=3)}")
    print(f"  true   w = {np.array2string(true_w, precision=3)}")


if __name__ == "__main__":
    main()

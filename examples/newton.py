"""Newton's method with exact second derivatives: a softmax regression whose loss calls
helper functions, fitted by ``scipy.optimize.minimize(method="trust-exact")`` with
``jac=grad(loss)`` and ``hess=hessian(loss)``, then again by "Newton-CG" with
``hessp=hvp(loss)`` (Hessian-vector products, never the matrix).

The Hessian is forward mode over the generated gradient; the calls to ``predict`` and
``log_softmax`` inside the loss are differentiated twice through their own generated
adjoints. It is checked against central differences of the gradient.
"""

import numpy as np
from scipy.optimize import minimize

from sourcediff import grad, hessian, hvp

N_FEATURES, N_CLASSES = 3, 3


def make_data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_FEATURES))
    true_W = rng.standard_normal((N_FEATURES, N_CLASSES))
    logits = X @ true_W + 0.5 * rng.standard_normal((n, N_CLASSES))
    labels = np.argmax(logits, axis=1)
    return X, np.eye(N_CLASSES)[labels]


def log_softmax(z):
    m = np.max(z, axis=1, keepdims=True)
    s = z - m
    return s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))


def predict(w, X):
    W = np.reshape(w, (N_FEATURES, N_CLASSES))
    return log_softmax(X @ W)


def loss(w, X, Y, lam):
    return -np.mean(np.sum(Y * predict(w, X), axis=1)) + 0.5 * lam * np.sum(w * w)


def main():
    X, Y = make_data()
    lam = 1e-2
    w0 = np.zeros(N_FEATURES * N_CLASSES)
    dloss, d2loss, hv = grad(loss), hessian(loss), hvp(loss)

    w1 = np.linspace(-0.5, 0.5, w0.size)
    H = d2loss(w1, X, Y, lam)
    eps = 1e-5
    H_fd = np.stack([(dloss(w1 + eps * e, X, Y, lam) - dloss(w1 - eps * e, X, Y, lam))
                     / (2 * eps) for e in np.eye(w0.size)], axis=1)
    print(f"Hessian {H.shape}: |H - differences of grad| = {np.max(np.abs(H - H_fd)):.1e}, "
          f"symmetric: {np.allclose(H, H.T, atol=1e-12)}")

    res = minimize(loss, w0, args=(X, Y, lam), jac=dloss, hess=d2loss, method="trust-exact",
                   options={"gtol": 1e-10})
    acc = np.mean(np.argmax(predict(res.x, X), axis=1) == np.argmax(Y, axis=1))
    print(f"trust-exact: success={res.success}, loss={res.fun:.6f}, nit={res.nit}, "
          f"|grad|={np.max(np.abs(dloss(res.x, X, Y, lam))):.1e}, accuracy={acc:.3f}")

    res2 = minimize(loss, w0, args=(X, Y, lam), jac=dloss,
                    hessp=lambda w, v, *a: hv(w, *a, v), method="Newton-CG",
                    options={"xtol": 1e-12})
    print(f"Newton-CG (hvp): success={res2.success}, loss={res2.fun:.6f}, nit={res2.nit}, "
          f"same minimum: {np.allclose(res.x, res2.x, atol=1e-6)}")


if __name__ == "__main__":
    main()

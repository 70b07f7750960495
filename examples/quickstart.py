"""Quickstart: differentiate the seed-002 loss and print the generated adjoint.

The model is E = 1/2 (sigmoid(w x + b) - t)^2 + lam/2 w^2 (seed article 002).
sourcediff reads `loss`, writes its reverse sweep as Python, and compiles it.
Then seed article 000: x = randn(5), loss = (x ** 2).sum(), whose gradient is 2x.
"""

import numpy as np

from sourcediff import grad, source


def loss(w, b, x, t, lam):
    z = w * x + b
    y = 1.0 / (1.0 + np.exp(-z))
    return 0.5 * (y - t) ** 2 + 0.5 * lam * w ** 2


def sum_of_squares(x):
    return (x ** 2).sum()


def main():
    dloss = grad(loss, wrt=("w", "b"))
    dw, db = dloss(0.3, -0.2, 1.5, 1.0, 0.1)
    print("generated adjoint:\n")
    print(source(dloss))
    print(f"dE/dw = {dw:.6f}")
    print(f"dE/db = {db:.6f}")

    # seed 000: x = randn(5); loss = (x ** 2).sum(); loss.backward(); x.grad == 2 * x
    x = np.random.default_rng(0).standard_normal(5)
    dsq = grad(sum_of_squares)
    gx = dsq(x)
    print()
    print(source(dsq))
    print("x      =", np.array2string(x, precision=4))
    print("x.grad =", np.array2string(gx, precision=4))
    print("grad of sum(x**2) equals 2x:", np.allclose(gx, 2 * x))


if __name__ == "__main__":
    main()

"""Scalar and higher-order derivatives (seed article 001).

PyTorch:  x = torch.tensor(2.0, requires_grad=True); y = x ** 2; y.backward(); x.grad -> 4.0
sourcediff: grad(square)(2.0) -> 4.0, with a plain Python float in and out.

The article then takes z = sin(x ** 2) and differentiates again. Here a derivative
is just another function, so grad(grad(f)) (any order) and hessian work directly.
"""

import math

import numpy as np

from sourcediff import grad, hessian, source


def square(x):
    return x ** 2


def z(x):
    return np.sin(x ** 2)


def bowl(v):
    # f(a, b) = a^2 b + sin(a) b^3: a small function with a non-diagonal Hessian
    return v[0] ** 2 * v[1] + np.sin(v[0]) * v[1] ** 3


def main():
    dy = grad(square)(2.0)
    print(f"d/dx x**2 at 2.0 = {dy!r} ({type(dy).__name__})")

    x = 2.0
    dz, d2z, d3z = grad(z), grad(grad(z)), grad(grad(grad(z)))
    print(f"z = sin(x**2) at x = {x}:")
    print(f"  z'   = {dz(x):.6f}   (hand: 2x cos(x^2) = {2 * x * math.cos(x * x):.6f})")
    hand2 = 2 * math.cos(x * x) - 4 * x * x * math.sin(x * x)
    print(f"  z''  = {d2z(x):.6f}   (hand: 2cos(x^2) - 4x^2 sin(x^2) = {hand2:.6f})")
    hand3 = -12 * x * math.sin(x * x) - 8 * x ** 3 * math.cos(x * x)
    print(f"  z''' = {d3z(x):.6f}   (hand: -12x sin(x^2) - 8x^3 cos(x^2) = {hand3:.6f})")
    print("generated first derivative:")
    print(source(dz))

    v = np.array([0.5, 2.0])
    a, b = v
    H = hessian(bowl)(v)
    hand = np.array([[2 * b - np.sin(a) * b ** 3, 2 * a + 3 * np.cos(a) * b ** 2],
                     [2 * a + 3 * np.cos(a) * b ** 2, 6 * np.sin(a) * b]])
    print("hessian of a^2 b + sin(a) b^3 at (0.5, 2.0):")
    print(np.array2string(H, precision=6))
    print("matches hand Hessian:", np.allclose(H, hand))


if __name__ == "__main__":
    main()

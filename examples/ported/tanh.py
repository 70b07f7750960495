# Ported from HIPS/autograd, examples/tanh.py (MIT License,
# Copyright (c) 2014 by the Harvard Intelligent Probabilistic Systems Group).
# Changes: imports (autograd.numpy -> numpy); autograd's elementwise_grad is written
# below with sourcediff.grad (the gradient of the sum: the same vector-Jacobian product
# with a vector of ones); the plot is replaced by a printed table.
import numpy as np

from sourcediff import grad


def egrad(fun):
    """autograd.elementwise_grad for a function applied elementwise."""
    def gradfun(x):
        return grad(lambda y: np.sum(fun(y)))(x)
    return gradfun


"""
Mathematically we can only take gradients of scalar-valued functions, but
autograd's elementwise_grad function also handles numpy's familiar vectorization
of scalar functions, which is used in this example.

To be precise, elementwise_grad(fun)(x) always returns the value of a
vector-Jacobian product, where the Jacobian of fun is evaluated at x and the
vector is an all-ones vector with the same size as the output of fun. When
vectorizing a scalar-valued function over many arguments, the Jacobian of the
overall vector-to-vector mapping is diagonal, and so this vector-Jacobian
product simply returns the diagonal elements of the Jacobian, which is the
(elementwise) gradient of the function at each input value over which the
function is vectorized.
"""


def tanh(x):
    return (1.0 - np.exp(-2 * x)) / (1.0 + np.exp(-(2 * x)))


if __name__ == "__main__":
    x = np.linspace(-7, 7, 15)
    print("x        tanh(x)  1st      2nd      3rd      4th derivative")
    columns = [tanh(x), egrad(tanh)(x), egrad(egrad(tanh))(x), egrad(egrad(egrad(tanh)))(x),
               egrad(egrad(egrad(egrad(tanh))))(x)]
    for row in zip(x, *columns):
        print(" ".join(f"{v:8.4f}" for v in row))

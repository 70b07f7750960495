"""A user-written derivative rule: the article's MyReLU (seed article 001).

PyTorch subclasses torch.autograd.Function and writes forward/backward.
In sourcediff, `primitive` marks a function as opaque and `defvjp` gives it an
adjoint rule ``rule(g, ans, *args) -> tuple`` (one cotangent per argument).
The compiler calls the rule instead of differentiating the body.
"""

import numpy as np

from sourcediff import grad, primitive, source, vjp


@primitive
def my_relu(x):
    return np.maximum(x, 0.0)


def my_relu_backward(g, ans, x):
    grad_input = np.array(g, dtype=float)   # grad_output.clone()
    grad_input[x < 0] = 0.0                  # grad_input[input < 0] = 0
    return (grad_input,)


my_relu.defvjp(my_relu_backward)


def layer(x):
    # vjp(my_relu, x) on the primitive itself fails today (reported as a compiler bug:
    # vjp reads the source of the Primitive object instead of using its rule), so the
    # example pulls back through a one-line function that calls it.
    return my_relu(x)


def total(x):
    return np.sum(my_relu(x))


def main():
    x = np.array([-1.0, 2.0, -3.0])
    # y = MyReLU.apply(x); y.backward(torch.ones_like(x)); x.grad
    y, pullback = vjp(layer, x)
    (x_grad,) = pullback(np.ones_like(x))
    print("y      =", y)
    print("x.grad =", x_grad)                  # [0. 1. 0.]
    print("grad of sum(my_relu(x)) =", grad(total)(x))
    print("the generated adjoint calls the rule instead of the body:")
    print(source(grad(total)))


if __name__ == "__main__":
    main()

"""Cutting the gradient: no_grad blocks and stop_gradient (seed article 001).

PyTorch: ``with torch.no_grad(): y = x * 2`` gives a y with requires_grad False,
and ``y.detach()`` returns a tensor cut from the graph. In sourcediff the same
markers are written inside the function being differentiated, and the compiler
drops the cut paths from the generated adjoint.
"""

from sourcediff import grad, no_grad, source, stop_gradient


def full(x):
    y = x * 2
    return x * y          # 2 x^2: derivative 4x


def with_no_grad(x):
    with no_grad():
        y = x * 2         # treated as a constant
    return x * y          # derivative: y = 2x


def with_detach(x):
    y = stop_gradient(x * 2)   # y.detach()
    return x * y


def main():
    x = 2.0
    print(f"d/dx x*(2x) at {x}:                  {grad(full)(x)}")
    print(f"same, y computed under no_grad():    {grad(with_no_grad)(x)}")
    print(f"same, y = stop_gradient(2x):         {grad(with_detach)(x)}")
    print("generated adjoint of with_no_grad (y gets no adjoint):")
    print(source(grad(with_no_grad)))


if __name__ == "__main__":
    main()

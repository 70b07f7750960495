# Ported from HIPS/autograd, examples/rosenbrock.py (MIT License,
# Copyright (c) 2014 by the Harvard Intelligent Probabilistic Systems Group).
# Changes: imports only (autograd.numpy -> numpy, autograd.value_and_grad ->
# sourcediff.value_and_grad).
from scipy.optimize import minimize

import numpy as np

from sourcediff import value_and_grad


def rosenbrock(x):
    return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2


# Build a function that also returns gradients using autograd.
rosenbrock_with_grad = value_and_grad(rosenbrock)

if __name__ == "__main__":
    # Optimize using conjugate gradients.
    result = minimize(rosenbrock_with_grad, x0=np.array([0.0, 0.0]), jac=True, method="CG")
    print(f"Found minimum at {result.x}")

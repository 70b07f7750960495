"""The seed-002 loss and its generated adjoint, explained.

    E = 1/2 (sigmoid(w x + b) - t)^2 + lam/2 w^2

Seed article 002 observes that differentiating E symbolically, by hand, computes
``w x + b`` four times and ``(sigmoid(w x + b) - t) sigmoid'(w x + b)`` twice. The
reverse sweep computes every intermediate once and reuses it. sourcediff writes
that sweep as Python; this script prints it and checks it against the formulas.
"""

import math

import numpy as np

from sourcediff import grad, source


def loss(w, b, x, t, lam):
    z = w * x + b
    y = 1.0 / (1.0 + np.exp(-z))
    return 0.5 * (y - t) ** 2 + 0.5 * lam * w ** 2


EXPLANATION = """\
How to read it:
  forward pass   z = w*x + b is computed once; exp(-z) is computed once (saved as a
                 temporary) and y = 1/(1 + exp(-z)) reuses it.
  reverse pass   E_bar = 1 is folded away. y_bar = (y - t) and
                 z_bar = y_bar * sigma'(z), where sigma'(z) = exp(-z)/(1+exp(-z))^2
                 = y * exp(-z) / (1 + exp(-z)): the saved y, the saved exp and the saved
                 denominator, no new exp. w_bar = lam*w + z_bar*x and b_bar = z_bar
                 (returned as z_bar itself: the adjoint of b is the adjoint of z).
  return         the loss value and (w_bar, b_bar), from the same forward pass.
"""


def by_hand(w, b, x, t, lam):
    """The article's symbolic derivatives (w x + b appears four times)."""
    s = 1.0 / (1.0 + math.exp(-(w * x + b)))
    ds = math.exp(-(w * x + b)) / (1.0 + math.exp(-(w * x + b))) ** 2
    return (s - t) * ds * x + lam * w, (s - t) * ds


def main():
    dloss = grad(loss, wrt=("w", "b"))
    args = (0.3, -0.2, 1.5, 1.0, 0.1)   # w, b, x, t, lam
    dw, db = dloss(*args)
    src = source(dloss)
    print(src)
    code = [ln for ln in src.splitlines() if not ln.strip().startswith(("#", '"""'))]
    print(EXPLANATION)
    n_affine = sum(ln.count("w * x + b") for ln in code)
    n_exp = sum(ln.count("np.exp(") for ln in code)
    print(f"in the generated code (comments aside): 'w * x + b' computed {n_affine} time(s), "
          f"np.exp called {n_exp} time(s)")
    hw, hb = by_hand(*args)
    print(f"dE/dw = {dw:.10f}   by hand {hw:.10f}")
    print(f"dE/db = {db:.10f}   by hand {hb:.10f}")


if __name__ == "__main__":
    main()

"""One linear layer with binary cross-entropy on logits, and a vector-Jacobian
product (seed article 003).

PyTorch: ``z = torch.matmul(x, w) + b``,
``loss = binary_cross_entropy_with_logits(z, y)``, ``loss.backward()``, then
``w.grad`` and ``b.grad``. Here ``grad(bce, wrt=("w", "b"))`` returns both at once.

The loss is written in the numerically stable form
``max(z, 0) - z*y + log(1 + exp(-|z|))``, which never overflows ``exp``.

The article's second part pulls ``out = (inp + 1) ** 2`` back with
``ones_like(inp)`` and shows PyTorch *accumulating* ``inp.grad`` across calls.
sourcediff returns gradients; it never accumulates them, so calling the pullback
twice gives the same answer twice.
"""

import numpy as np

from sourcediff import grad, source, vjp


def bce_with_logits(w, b, x, y):
    z = x @ w + b
    losses = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return np.mean(losses)


def bce_grads_by_hand(w, b, x, y):
    z = x @ w + b
    dz = (1.0 / (1.0 + np.exp(-z)) - y) / z.size    # sigmoid(z) - y, averaged
    return np.outer(x, dz), dz


def square_plus_one(inp):
    return (inp + 1) ** 2


def main():
    rng = np.random.default_rng(0)
    x = np.ones(5)                   # input tensor
    y = np.zeros(3)                  # expected output
    w = rng.standard_normal((5, 3))
    b = rng.standard_normal(3)

    dloss = grad(bce_with_logits, wrt=("w", "b"))
    w_grad, b_grad = dloss(w, b, x, y)
    hand_w, hand_b = bce_grads_by_hand(w, b, x, y)
    print("loss   =", f"{bce_with_logits(w, b, x, y):.6f}")
    print("w.grad =\n", np.array2string(w_grad, precision=4))
    print("b.grad =", np.array2string(b_grad, precision=4))
    print("matches sigmoid(z) - y by hand:", np.allclose(w_grad, hand_w)
          and np.allclose(b_grad, hand_b))
    w_big = np.full((5, 3), 200.0) * np.array([1.0, -1.0, 1.0])   # logits near +-1000
    y_big = np.array([0.0, 1.0, 1.0])          # two of them confidently wrong
    big = bce_with_logits(w_big, b, x, y_big)
    g_big = dloss(w_big, b, x, y_big)
    finite = np.isfinite(big) and all(np.all(np.isfinite(g)) for g in g_big)
    print(f"logits near +-1000: loss = {big:.1f}, loss and grads finite: {finite}")
    print("generated adjoint (the program PyTorch would record as grad_fn nodes):")
    print(source(dloss))

    inp = np.eye(5)
    out, pullback = vjp(square_plus_one, inp)
    (first,) = pullback(np.ones_like(inp))
    (second,) = pullback(np.ones_like(inp))
    print("First call\n", first)
    print("Second call\n", second)
    print("second call equals first (no accumulation):", np.array_equal(first, second))
    print("equals 2 * (inp + 1):", np.allclose(first, 2 * (inp + 1)))


if __name__ == "__main__":
    main()

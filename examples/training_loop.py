"""A training loop for the seed-002 model, mirroring PyTorch's idiom.

PyTorch (seed article 002)::

    outputs = model(data_x)
    optimizer.zero_grad()
    loss = loss_function(data_y, outputs)
    loss.backward()
    optimizer.step()

With sourcediff there is nothing to zero (gradients are returned, not stored on
the parameters) and ``loss.backward()`` is one call of the generated adjoint,
which also returns the loss. ``optimizer.step()`` is the SGD update.
"""

import numpy as np

from sourcediff import value_and_grad

LAM = 0.01


def loss(w, b, x, t, lam):
    z = w * x + b
    y = 1.0 / (1.0 + np.exp(-z))
    return np.mean(0.5 * (y - t) ** 2) + 0.5 * lam * w ** 2


def make_data(seed=0, n=200):
    """Labels t in {0, 1} drawn from a logistic model with w = 2, b = -1."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, n)
    p = 1.0 / (1.0 + np.exp(-(2.0 * x - 1.0)))
    t = (rng.uniform(size=n) < p).astype(float)
    return x, t


def sgd_step(params, grads, lr):
    return tuple(p - lr * g for p, g in zip(params, grads))


def train(epochs=500, lr=2.0):
    x, t = make_data()
    w, b = 0.0, 0.0
    backward = value_and_grad(loss, wrt=("w", "b"))   # built once, reused every step
    history = []
    for _ in range(epochs):
        # zero_grad: nothing to do; backward: one call gives the loss and both gradients
        value, grads = backward(w, b, x, t, LAM)
        w, b = sgd_step((w, b), grads, lr)             # optimizer.step()
        history.append(float(value))
    accuracy = np.mean(((w * x + b) > 0) == (t > 0.5))
    return w, b, history, accuracy


def main():
    w, b, history, accuracy = train()
    print(f"loss: first {history[0]:.6f} -> last {history[-1]:.6f}")
    print(f"learned w = {w:.4f}, b = {b:.4f} (data drawn with w = 2, b = -1; lam = {LAM})")
    print(f"training accuracy: {accuracy:.3f}")


if __name__ == "__main__":
    main()

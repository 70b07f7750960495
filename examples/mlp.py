"""A two-layer MLP trained with plain SGD (seed article 004).

PyTorch: ``fc1 = nn.Linear(10, 20)``, ``relu``, ``fc2 = nn.Linear(20, 1)``,
``MSELoss``, ``SGD(lr=0.01)``, 1000 epochs on ``x = randn(100, 10)``,
``y = randn(100, 1)``. Here the parameters are a tuple of arrays, the loss is a
plain NumPy function, ``grad`` gives the four parameter gradients in one call,
and the SGD step is one line. The targets are a fixed random two-layer network
of the inputs plus noise, so there is something to learn.
"""

import numpy as np

from sourcediff import value_and_grad

EPOCHS = 1000
LR = 0.01


def mse_loss(w1, b1, w2, b2, x, y):
    h = np.maximum(x @ w1 + b1, 0.0)      # fc1, relu
    pred = h @ w2 + b2                    # fc2
    return np.mean((pred - y) ** 2)       # MSELoss


def linear_init(rng, n_in, n_out):
    """nn.Linear's default: uniform in +-1/sqrt(n_in)."""
    bound = 1.0 / np.sqrt(n_in)
    return rng.uniform(-bound, bound, (n_in, n_out)), rng.uniform(-bound, bound, n_out)


def make_data(rng, n=100):
    x = rng.standard_normal((n, 10))
    teacher = rng.standard_normal((10, 1)) / np.sqrt(10)
    y = np.tanh(x @ teacher) + 0.1 * rng.standard_normal((n, 1))
    return x, y


def train(epochs=EPOCHS, lr=LR, seed=0):
    rng = np.random.default_rng(seed)
    x, y = make_data(rng)
    w1, b1 = linear_init(rng, 10, 20)
    w2, b2 = linear_init(rng, 20, 1)
    step = value_and_grad(mse_loss, wrt=(0, 1, 2, 3))
    losses = []
    for _ in range(epochs):
        loss, (g1, gb1, g2, gb2) = step(w1, b1, w2, b2, x, y)
        w1, b1, w2, b2 = w1 - lr * g1, b1 - lr * gb1, w2 - lr * g2, b2 - lr * gb2
        losses.append(float(loss))
    return losses


def main():
    losses = train()
    print(f"epochs: {len(losses)}, lr: {LR}")
    for epoch in (0, 99, 499, len(losses) - 1):
        print(f"epoch {epoch + 1:4d}: loss {losses[epoch]:.6f}")
    print(f"first loss {losses[0]:.6f} -> last loss {losses[-1]:.6f}")


if __name__ == "__main__":
    main()

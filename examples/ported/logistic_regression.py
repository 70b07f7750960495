# Ported from HIPS/autograd, examples/logistic_regression.py (MIT License,
# Copyright (c) 2014 by the Harvard Intelligent Probabilistic Systems Group).
# Changes: imports only (autograd.numpy -> numpy, autograd.grad -> sourcediff.grad);
# autograd.test_util.check_grads -> sourcediff.check_grad.
import numpy as np

from sourcediff import check_grad, grad


def sigmoid(x):
    return 0.5 * (np.tanh(x) + 1)


def logistic_predictions(weights, inputs):
    # Outputs probability of a label being true according to logistic model.
    return sigmoid(np.dot(inputs, weights))


def training_loss(weights):
    # Training loss is the negative log-likelihood of the training labels.
    preds = logistic_predictions(weights, inputs)
    label_probabilities = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probabilities))


# Build a toy dataset.
inputs = np.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]])
targets = np.array([True, True, False, True])

# Build a function that returns gradients of training loss using autograd.
training_gradient_fun = grad(training_loss)

# Check the gradients numerically, just to be safe.
weights = np.array([0.0, 0.0, 0.0])
check_grad(training_loss, weights, modes=("rev",))

if __name__ == "__main__":
    # Optimize weights using gradient descent.
    print("Initial loss:", training_loss(weights))
    for i in range(100):  # noqa: B007
        weights -= training_gradient_fun(weights) * 0.01

    print("Trained loss:", training_loss(weights))

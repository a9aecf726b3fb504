"""Correct layers written the way a learner writes them from chapter 5 of the book (our own code):
plain classes, no base class, ``forward`` and ``backward`` with the book's names. The doctor must
pass every one of them, and ``layerprop doctor`` on this file exits 0."""

import numpy as np


class Identity:
    """out = x;  dx = dout (as a new array)."""

    def forward(self, x):
        return x.copy()

    def backward(self, dout):
        return dout.copy()


class MulLayer:
    """out = x·y;  dx = dout·y, dy = dout·x (the forward values, swapped)."""

    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * self.x


class AddLayer:
    """out = x + y;  dx = dy = dout (passed on unchanged)."""

    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout * 1, dout * 1


class Relu:
    """out = x where x > 0, else 0;  dx = dout where x > 0, else 0."""

    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        return dx


class Sigmoid:
    """out = 1 / (1 + exp(−x));  dx = dout·out·(1 − out)."""

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)


class Affine:
    """out = x·W + b;  dx = dout·Wᵀ, dW = xᵀ·dout, db = Σₙ dout."""

    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return np.dot(dout, self.W.T)


class SoftmaxWithLoss:
    """y = softmax(x) row by row, loss = cross-entropy against one-hot t;  dx = (y − t) / N."""

    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        self.t = t
        shifted = x - np.max(x, axis=1, keepdims=True)  # each row its own max: exp never overflows
        e = np.exp(shifted)
        self.y = e / np.sum(e, axis=1, keepdims=True)
        self.loss = -np.sum(t * np.log(self.y + 1e-7)) / x.shape[0]
        return self.loss

    def backward(self, dout=1):
        return dout * (self.y - self.t) / self.t.shape[0]


class ParamsDictAffine:
    """Affine with the parameters in ``params`` and the gradients in ``grads`` (the other book style)."""

    def __init__(self, W, b):
        self.params = {"W": W, "b": b}
        self.grads = {}
        self.x = None

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T


def not_a_layer(x):
    """A function: the doctor only looks at classes."""
    return x

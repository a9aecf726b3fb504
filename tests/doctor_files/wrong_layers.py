"""Layers with one deliberate mistake each, written as a learner might (see tests/test_doctor.py,
which pairs each with its right twin in right_layers.py and names the problem code it must get; the
notes' own Relu that zeroes dout, in notes_cells.py, is the case of mutates-dout)."""

import numpy as np


class NoBackward:  # not-a-layer
    def forward(self, x):
        return x


class NeedsFactor:  # cannot-build: the doctor cannot choose `factor` (an instance passes)
    def __init__(self, factor):
        self.factor = factor

    def forward(self, x):
        return x * self.factor

    def backward(self, dout):
        return dout * self.factor


class BrokenInit:  # init-error
    def __init__(self):
        self.x = None
        self.y = undefined_name  # noqa: F821

    def forward(self, x, y):
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * self.x


class TypoRelu:  # forward-error: self.maks
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.maks] = 0
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        return dx


class TypoSigmoid:  # backward-error: self.outt
    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * self.outt * (1.0 - self.out)


class NoReturnSigmoid:  # no-output: forward forgets `return`
    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)


class HalfMulLayer:  # missing-gradient: only dx comes back
    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x * y

    def backward(self, dout):
        return dout * self.y


class ClampingRelu:  # mutates-input: zeroes the caller's x
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        x[self.mask] = 0
        return x

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        return dx


class ScalarBiasAffine:  # wrong-shape: db summed over everything
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
        self.db = np.sum(dout)
        return np.dot(dout, self.W.T)


class AffineWithoutDb:  # missing-gradient: db is never stored
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
        return np.dot(dout, self.W.T)


class SameSideMulLayer:  # wrong-gradient: dx = dout·x (the values are not swapped)
    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x * y

    def backward(self, dout):
        return dout * self.x, dout * self.y


class FirstCallMulLayer:  # stale-state: keeps the first x and y for ever
    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        if self.x is None:
            self.x = x
            self.y = y
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * self.x


class AccumulatingAffine:  # stale-state: dW and db add up over backward calls
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.dW = np.zeros_like(W)
        self.db = np.zeros_like(b)

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        self.dW += np.dot(self.x.T, dout)
        self.db += np.sum(dout, axis=0)
        return np.dot(dout, self.W.T)


class NaiveSoftmaxWithLoss:  # unstable: exp of the raw scores
    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        self.t = t
        e = np.exp(x)
        self.y = e / np.sum(e, axis=1, keepdims=True)
        self.loss = -np.sum(t * np.log(self.y + 1e-7)) / x.shape[0]
        return self.loss

    def backward(self, dout=1):
        return dout * (self.y - self.t) / self.t.shape[0]

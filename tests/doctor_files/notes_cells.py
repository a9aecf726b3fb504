"""The three buggy cells of the study notes, as the notes write them (/work/shared/notes: note 000's
Relu with the `maks` typo, note 001's Relu that zeroes the caller's dout, note 001's
SoftmaxWithLoss whose helper methods have no `self`). tests/test_doctor.py diagnoses each by name."""

import numpy as np


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.maks] = 0

        return out

    def backward(self, dout):
        dout[self.mask] = 0
        dx = dout

        return dx


class InPlaceRelu:
    def __init__(self):
        self.mask = None

    def forward(self, x: np.array):
        # 0보다 작거나 같은 값은 출력값 0처리,
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, d_out):
        d_out[self.mask] = 0
        dx = d_out

        return dx


class SoftmaxWithLoss:
    def __init__(self):
        self.loss = None
        self.y = None  # Prediction
        self.t = None  # label

    def softmax(x):
        max_x = np.max(x)
        exp_x = np.exp(x - max_x)
        exp_X_sum = np.sum(exp_x)  # noqa: F841

        return exp_x / exp_x_sum  # noqa: F821

    def cross_entropy_error(y, t):
        if y.ndim == 1:
            t = t.reshape(1, t.size)
            y = y.reshape(1, y.size)

        # 훈련 데이터가 원-핫 벡터라면 정답 레이블의 인덱스로 반환
        if t.size == y.size:
            t = t.argmax(axis=1)

        batch_size = y.shape[0]
        return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size

    def forward(self, x, t):
        self.t = t
        self.y = self.softmax(x)
        self.loss = self.cross_entropy_error(self.y, self.t)

        return self.loss

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        dx = (self.y - self.t) / batch_size

        return dx

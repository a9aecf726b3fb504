"""The Softmax-with-Loss layer (Softmax-with-Loss 계층) — note 001.

forward: y = softmax(x) row by row, loss = mean cross-entropy; backward: dx = (y − t) / N.

Note 001's version is written without ``self`` (``def softmax(x)`` called as ``self.softmax(x)``),
mixes ``exp_X_sum`` and ``exp_x_sum``, and takes ONE max (and one sum) over the whole batch. Each row
must use its own max: with one max for the batch, a row of small logits next to a row of large ones
underflows to all zeros.
"""

import numpy as np

from layerprop import SoftmaxWithLoss
from layerprop.display import format_number


def show(a, digits=8):
    a = np.asarray(a)
    if a.ndim == 0:
        return format_number(a, digits)
    return "[" + ", ".join(show(row, digits) for row in a) + "]"


x = np.array([[0.3, 2.9, 4.0], [1000.0, 1001.0, 1002.0]])  # one row of small logits, one of huge
t = np.array([2, 0])  # labels (정답 레이블); one-hot [[0, 0, 1], [1, 0, 0]] gives the same

layer = SoftmaxWithLoss()
loss = layer.forward(x, t)
print("x:", show(x))
print("max of each row (행마다 최댓값):", show(x.max(axis=1)))
print("y = softmax(x):", show(layer.y))
print("row sums:", show(layer.y.sum(axis=1)))
print("loss (손실):", format_number(loss, 8))

dx = layer.backward(dout=1)
print("dx = (y - t) / N:", show(dx))

# the same gradient with one-hot targets
onehot = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
layer_onehot = SoftmaxWithLoss()
print("loss with one-hot t:", format_number(layer_onehot.forward(x, onehot), 8))

# note 001's one max for the whole batch (with its other mistakes fixed), for comparison
with np.errstate(under="ignore"):
    exp_x = np.exp(x - np.max(x))
notes_y = exp_x / np.sum(exp_x)
print("note 001's softmax (one max, one sum for the batch), row 0:", show(notes_y[0]))

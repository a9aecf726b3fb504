"""Shapes through the Affine layer (Affine 계층) — note 001.

forward  y = X · W + b;  backward dX = dout · Wᵀ,  dW = Xᵀ · dout,  db = Σ dout.
Note 001 feeds one sample X of shape (2,) with W (2, 3) and b (3,) and gets an output of shape (3,).
Each gradient has the shape of what it is the gradient of.
"""

import numpy as np

from layerprop import Affine
from layerprop.display import format_number


def show(a):
    a = np.asarray(a)
    if a.ndim == 0:
        return format_number(a)
    return "[" + ", ".join(show(row) for row in a) + "]"


W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
b = np.array([0.1, 0.2, 0.3])
affine_layer = Affine(W, b)

# one sample, as in note 001
X = np.array([1.0, 2.0])
out = affine_layer.forward(X)
print("one sample: X", X.shape, "· W", W.shape, "+ b", b.shape, "→ out", out.shape)
print("out:", show(out))
dX = affine_layer.backward(np.ones(3))
print("backward: dX", dX.shape, "dW", affine_layer.dW.shape, "db", affine_layer.db.shape)

# a batch of N = 4 samples (배치)
X_batch = np.array([[1.0, 2.0], [0.0, 1.0], [-1.0, 0.5], [2.0, 0.0]])
out = affine_layer.forward(X_batch)
print("batch: X", X_batch.shape, "· W", W.shape, "+ b", b.shape, "→ out", out.shape)
dX = affine_layer.backward(np.ones_like(out))
print("backward: dX", dX.shape, "dW", affine_layer.dW.shape, "db", affine_layer.db.shape)
print("db = sum of dout over the batch:", show(affine_layer.db))

# an image batch (N, C, H, W) is flattened to (N, C·H·W); dX comes back in the image shape
images = np.arange(4.0).reshape(2, 1, 1, 2)
out = affine_layer.forward(images)
dX = affine_layer.backward(np.ones_like(out))
print("images: X", images.shape, "→ out", out.shape, "; dX", dX.shape)

# a shape mismatch is a clear error
try:
    affine_layer.forward(np.ones((4, 3)))
except ValueError as error:
    print("error:", error)

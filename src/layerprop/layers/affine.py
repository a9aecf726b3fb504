"""The Affine layer: a fully connected layer, y = x·W + b."""

from __future__ import annotations

import numpy

from ..backend import fused_kernels, get_array_module
from ..errors import ShapeError
from .base import WeightBiasLayer, input_dtype, typed_dout


class Affine(WeightBiasLayer):
    """Fully connected layer.

    Shapes: x (N, D), W (D, M), b (M,) → y (N, M).

    ``x`` may also be a single sample of shape (D,) (as in note 001), giving y of shape (M,), or an
    image batch (N, C, H, W) that is flattened to (N, C·H·W); ``backward`` returns dx in x's
    original shape.

    The layer keeps references to the very ``W`` and ``b`` arrays it was given: updating them in
    place (``params['W1'] -= lr * grad``, or a numerical-gradient probe) is seen by the layer.
    Set ``input_grad = False`` on a network's first layer to skip computing dx, which nothing uses.
    """

    symbol = "Affine"
    forward_rule = "y = x · W + b"
    backward_rule = "dx = dout·Wᵀ, dW = xᵀ·dout, db = Σ dout"

    def __init__(self, W, b):
        if getattr(W, "ndim", None) != 2:
            raise ShapeError(f"Affine: W must be a 2-D array (D, M), got shape {getattr(W, 'shape', type(W).__name__)}")
        if getattr(b, "shape", None) != (W.shape[1],):
            raise ShapeError(
                f"Affine: b must have shape ({W.shape[1]},) to match W of shape {W.shape}, "
                f"got {getattr(b, 'shape', type(b).__name__)}"
            )
        self.W = W
        self.b = b
        self.x = None
        self.original_x_shape = None
        self.dW = None
        self.db = None
        self.input_grad = True

    def forward(self, x):
        if type(x) is not numpy.ndarray:  # NumPy arrays (the hot path) need no conversion
            x = get_array_module(x, self.W).asarray(x)
        self.original_x_shape = x.shape
        rows = self.W.shape[0]
        if x.ndim == 1:
            features = x.shape[0]
        elif x.ndim >= 2:
            if x.ndim > 2:
                x = x.reshape(x.shape[0], -1)
            features = x.shape[1]
        else:
            features = None
        if features != rows:
            raise ShapeError(
                f"Affine: input x of shape {self.original_x_shape} has {features} features per sample, "
                f"but W of shape {self.W.shape} expects {rows}"
            )
        self.x = x
        out = x @ self.W
        out += self.b
        return out

    def backward(self, dout):
        x = self._forward_value("x")
        expected = x.shape[:-1] + (self.W.shape[1],)
        if not hasattr(dout, "dtype"):  # a Python number: an array of the output's shape and dtype
            dout = typed_dout(dout, expected, input_dtype(x, self.W), get_array_module(x, self.W))
        self._check_dout_shape(dout, expected)
        if x.ndim == 1:
            xp = get_array_module(x)
            self.dW = xp.outer(x, dout)
            self.db = dout.copy()
        else:
            self.dW = x.T @ dout
            kernels = fused_kernels(dout)
            self.db = kernels.bias_gradient(dout) if kernels else dout.sum(axis=0)
        if not self.input_grad:
            return None
        dx = dout @ self.W.T
        return dx.reshape(self.original_x_shape)

    def __repr__(self):
        return f"Affine(W{tuple(self.W.shape)}, b{tuple(self.b.shape)})"

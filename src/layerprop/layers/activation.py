"""Activation layers: Relu, Sigmoid, Tanh (elementwise).

Each keeps the book's attributes (``Relu.mask``, ``Sigmoid.out``, ``Tanh.out``) and never writes to
the arrays it is given: the notes' Relu zeroes the caller's ``dout`` in place, which corrupts a
gradient that two branches share; here ``backward`` always returns a new array.
"""

from __future__ import annotations

import numpy

from ..backend import fused_kernels, get_array_module
from .base import Layer, input_dtype, typed_dout


class Relu(Layer):
    """Rectified linear unit.

    (``mask`` marks x ≤ 0, as in the book; on the CPU the layer keeps its complement ``x > 0``,
    which backward multiplies by directly, and forms ``mask`` only when it is read)
    """

    symbol = "relu"
    forward_rule = "y = x if x > 0 else 0"
    backward_rule = "dx = dout where x > 0, else 0"
    forward_rule_ko = "y = x (x > 0인 곳), 그 밖은 0"
    backward_rule_ko = "dx = dout (x > 0인 곳), 그 밖은 0"

    def __init__(self):
        self._mask = None  # x ≤ 0 (on a GPU, where the fused kernel takes it)
        self._keep = None  # x > 0 (on the CPU)
        self.x_dtype = None

    @property
    def mask(self):
        """The book's mask: True where x ≤ 0 (None before forward)."""
        if self._mask is None and self._keep is not None:
            self._mask = ~self._keep
        return self._mask

    @mask.setter
    def mask(self, value):
        self._mask, self._keep = value, None

    def forward(self, x):
        xp = get_array_module(x)
        if xp is numpy:
            self._mask, self._keep = None, numpy.greater(x, 0)
        else:
            self._mask, self._keep = x <= 0, None
        self.x_dtype = input_dtype(x)
        return xp.maximum(x, 0)  # ~10x faster than where(mask, 0, x) on a random mask

    def backward(self, dout):
        if self._keep is None:
            self._forward_value("mask")
        shape = numpy.shape(self._keep if self._keep is not None else self._mask)
        self._check_dout_shape(dout, shape)
        xp = get_array_module(dout)
        kernels = fused_kernels(dout)
        if kernels is not None and self._mask is not None and getattr(dout, "shape", None) == shape:
            return kernels.relu_grad(dout, self._mask)  # the same product in one GPU kernel
        keep = self._keep if self._keep is not None else ~self._mask
        return typed_dout(dout, (), self.x_dtype, xp) * keep  # a new array: dout is left untouched


class Sigmoid(Layer):
    """Logistic sigmoid.

    (only the output ``out`` is needed)

    Computed as exp(−|x|) so that x = ±1000 gives exactly 1 and 0 with no overflow warning.
    """

    symbol = "sigmoid"
    forward_rule = "y = 1 / (1 + exp(−x))"
    backward_rule = "dx = dout·y·(1 − y)"

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        out = self._forward_value("out")
        self._check_dout_shape(dout, out.shape)
        return dout * (1.0 - out) * out


def sigmoid(x):
    """Numerically stable logistic function 1 / (1 + exp(−x)); keeps float32 as float32."""
    xp = get_array_module(x)
    x = xp.asarray(x)
    with numpy.errstate(under="ignore"):  # exp(−1000) → 0 is the intended result, not an error
        e = xp.exp(-xp.abs(x))  # in (0, 1]: never overflows
        positive = 1 / (1 + e)
        return xp.where(x >= 0, positive, e * positive)


class Tanh(Layer):
    """Hyperbolic tangent."""

    symbol = "tanh"
    forward_rule = "y = tanh(x)"
    backward_rule = "dx = dout·(1 − y²)"

    def __init__(self):
        self.out = None

    def forward(self, x):
        xp = get_array_module(x)
        self.out = xp.tanh(x)
        return self.out

    def backward(self, dout):
        out = self._forward_value("out")
        self._check_dout_shape(dout, numpy.shape(out))
        return dout * (1.0 - out * out)

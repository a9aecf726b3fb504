"""Node layers of the computational graph: arithmetic on scalars and arrays.

These are the notes' MulLayer and AddLayer (the apple/orange shopping example) and the other
elementary nodes that :mod:`layerprop.graph` records: subtraction, division, negation, power,
exp, log, matrix product, sum, mean, reshape and transpose.

Two-input layers take ``forward(x, y)`` and return ``(dx, dy)`` from ``backward(dout)``.
They accept Python scalars and arrays; when NumPy broadcasting was used, each gradient is summed
back to the shape of its own input.
"""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module, sum_to
from ..errors import ShapeError
from ..validation import real
from .base import Layer, input_dtype, typed_dout


def _shape(value):
    return np.shape(value)


class _BinaryLayer(Layer):
    """A layer with two inputs; keeps both so ``backward`` can use them."""

    def __init__(self):
        self.x = None
        self.y = None

    def _inputs(self):
        x = self._forward_value("x")
        y = self._forward_value("y")
        return x, y

    def _out_shape(self):
        return np.broadcast_shapes(_shape(self.x), _shape(self.y))

    def _dout(self, dout):
        """``dout`` checked against the output's shape; a Python number becomes an array of that
        shape and of the inputs' dtype."""
        self._check_dout_shape(dout, self._out_shape())
        if hasattr(dout, "dtype"):
            return dout
        x, y = self.x, self.y
        return typed_dout(dout, self._out_shape(), input_dtype(x, y), get_array_module(x, y))

    def _reduce(self, dx, dy):
        return sum_to(dx, _shape(self.x)), sum_to(dy, _shape(self.y))


class MulLayer(_BinaryLayer):
    """Multiplication node.

    In backward the inputs swap places.
    """

    symbol = "×"
    forward_rule = "out = x · y"
    backward_rule = "dx = dout·y, dy = dout·x"

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x * y

    def backward(self, dout):
        x, y = self._inputs()
        dout = self._dout(dout)
        return self._reduce(dout * y, dout * x)


class AddLayer(_BinaryLayer):
    """Addition node.

    The gradient is passed on unchanged.
    """

    symbol = "+"
    forward_rule = "out = x + y"
    backward_rule = "dx = dout, dy = dout"

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x + y

    def backward(self, dout):
        self._inputs()
        dout = self._dout(dout)
        return self._reduce(dout * 1, dout * 1)


class SubLayer(_BinaryLayer):
    """Subtraction node."""

    symbol = "−"
    forward_rule = "out = x − y"
    backward_rule = "dx = dout, dy = −dout"

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x - y

    def backward(self, dout):
        self._inputs()
        dout = self._dout(dout)
        return self._reduce(dout * 1, -dout)


class DivLayer(_BinaryLayer):
    """Division node (the notes' '/' node is the case x = 1).

    (for 1/y: −dout · out²)
    """

    symbol = "/"
    forward_rule = "out = x / y"
    backward_rule = "dx = dout/y, dy = −dout·x/y²"

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x / y

    def backward(self, dout):
        x, y = self._inputs()
        dx = self._dout(dout) / y
        return self._reduce(dx, -dx * x / y)


class MatMulLayer(_BinaryLayer):
    """Matrix-product node.

    (x: (N, D), y: (D, M))
    """

    symbol = "@"
    forward_rule = "out = x @ y"
    backward_rule = "dx = dout·yᵀ, dy = xᵀ·dout"

    def forward(self, x, y):
        xp = get_array_module(x, y)
        if np.ndim(x) != 2 or np.ndim(y) != 2 or _shape(x)[1] != _shape(y)[0]:
            raise ShapeError(
                f"MatMulLayer: expected x of shape (N, D) and y of shape (D, M), got x {_shape(x)} and y {_shape(y)}"
            )
        self.x = x
        self.y = y
        return xp.matmul(x, y)

    def _out_shape(self):
        return (_shape(self.x)[0], _shape(self.y)[1])

    def backward(self, dout):
        x, y = self._inputs()
        dout = self._dout(dout)
        return dout @ y.T, x.T @ dout


class NegLayer(Layer):
    """Negation node."""

    symbol = "−x"
    forward_rule = "out = −x"
    backward_rule = "dx = −dout"

    def __init__(self):
        self.x = None

    def forward(self, x):
        self.x = x
        return -x

    def backward(self, dout):
        x = self._forward_value("x")
        self._check_dout_shape(dout, _shape(x))
        return -typed_dout(dout, _shape(x), input_dtype(x), get_array_module(x))


class PowLayer(Layer):
    """Power node with a constant exponent c."""

    symbol = "**"
    forward_rule = "out = x ** c"
    backward_rule = "dx = dout·c·x^(c−1)"

    def __init__(self, exponent):
        real("exponent", exponent, owner="PowLayer")  # a finite number (kept as given: 2 draws as **2)
        self.exponent = exponent
        self.symbol = f"**{exponent}"
        self.x = None

    def forward(self, x):
        self.x = x
        return x**self.exponent

    def backward(self, dout):
        x = self._forward_value("x")
        self._check_dout_shape(dout, _shape(x))
        c = self.exponent
        return dout * c * x ** (c - 1)

    def __repr__(self):
        return f"PowLayer({self.exponent!r})"


class ExpLayer(Layer):
    """Exponential node."""

    symbol = "exp"
    forward_rule = "out = exp(x)"
    backward_rule = "dx = dout·exp(x)"

    def __init__(self):
        self.out = None

    def forward(self, x):
        xp = get_array_module(x)
        self.out = xp.exp(x)
        return self.out

    def backward(self, dout):
        out = self._forward_value("out")
        self._check_dout_shape(dout, _shape(out))
        return dout * out


class LogLayer(Layer):
    """Natural-logarithm node."""

    symbol = "log"
    forward_rule = "out = log(x)"
    backward_rule = "dx = dout/x"

    def __init__(self):
        self.x = None

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        return xp.log(x)

    def backward(self, dout):
        x = self._forward_value("x")
        self._check_dout_shape(dout, _shape(x))
        return dout / x


class SumLayer(Layer):
    """Sum node (over all elements, or over ``axis``)."""

    symbol = "sum"
    forward_rule = "out = Σ x"
    backward_rule = "dx = dout copied to every summed element"
    forward_rule_ko = "out = Σ x"
    backward_rule_ko = "dx = dout을 더한 모든 원소에 복사"

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = keepdims
        self.x_shape = None
        self.x_dtype = None
        self.out_shape = None

    def forward(self, x):
        xp = get_array_module(x)
        self.x_shape = _shape(x)
        self.x_dtype = input_dtype(x)
        out = xp.sum(x, axis=self.axis, keepdims=self.keepdims)
        self.out_shape = _shape(out)
        return out

    def backward(self, dout):
        shape = self._forward_value("x_shape")
        self._check_dout_shape(dout, self.out_shape)
        xp = get_array_module(dout)
        if not hasattr(dout, "dtype"):  # a number: that value at every element of the output, so of x
            return typed_dout(dout, shape, self.x_dtype, xp)
        if self.axis is not None and not self.keepdims:
            axes = (self.axis,) if np.isscalar(self.axis) else tuple(self.axis)
            axes = sorted(a % len(shape) for a in axes)
            dout = xp.expand_dims(dout, tuple(axes))
        return xp.broadcast_to(dout, shape).copy()


class MeanLayer(SumLayer):
    """Mean node."""

    symbol = "mean"
    forward_rule = "out = (1/n) Σ x"
    backward_rule = "dx = dout/n at every averaged element"
    backward_rule_ko = "dx = 평균 낸 모든 원소에 dout/n"

    def forward(self, x):
        xp = get_array_module(x)
        self.x_shape = _shape(x)
        self.x_dtype = input_dtype(x)
        out = xp.mean(x, axis=self.axis, keepdims=self.keepdims)
        self.out_shape = _shape(out)
        self.count = max(np.size(x), 1) // max(np.size(out), 1)
        return out

    def backward(self, dout):
        return super().backward(dout) / self.count


class ReshapeLayer(Layer):
    """Reshape node."""

    symbol = "reshape"
    forward_rule = "out = x reshaped to ``shape``"
    backward_rule = "dx = dout reshaped to x's shape"
    forward_rule_ko = "out = x를 shape 모양으로 바꿈"
    backward_rule_ko = "dx = dout을 x의 모양으로 되돌림"

    def __init__(self, shape):
        self.shape = tuple(shape) if not np.isscalar(shape) else (shape,)
        self.x_shape = None
        self.x_dtype = None
        self.out_shape = None

    def forward(self, x):
        xp = get_array_module(x)
        self.x_shape = _shape(x)
        self.x_dtype = input_dtype(x)
        try:
            out = xp.reshape(x, self.shape)
        except ValueError:
            raise ShapeError(
                f"ReshapeLayer: cannot reshape an array of shape {self.x_shape} "
                f"({int(np.prod(self.x_shape))} elements) into shape {self.shape}"
            ) from None
        self.out_shape = _shape(out)
        return out

    def backward(self, dout):
        shape = self._forward_value("x_shape")
        self._check_dout_shape(dout, self.out_shape)
        xp = get_array_module(dout)
        return xp.reshape(typed_dout(dout, shape, self.x_dtype, xp), shape)


class TransposeLayer(Layer):
    """Transpose node."""

    symbol = "T"
    forward_rule = "out = xᵀ (or the axes permuted by ``axes``)"
    backward_rule = "dx = doutᵀ"
    forward_rule_ko = "out = xᵀ (또는 axes 순서로 축을 바꿈)"

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)
        self.ndim = None
        self.x_shape = None
        self.x_dtype = None
        self.out_shape = None

    def forward(self, x):
        xp = get_array_module(x)
        self.ndim = np.ndim(x)
        self.x_shape = _shape(x)
        self.x_dtype = input_dtype(x)
        out = xp.transpose(x, self.axes)
        self.out_shape = _shape(out)
        return out

    def backward(self, dout):
        self._forward_value("ndim")
        self._check_dout_shape(dout, self.out_shape)
        xp = get_array_module(dout)
        if not hasattr(dout, "dtype"):  # a number: the same value at every element, in x's shape
            return typed_dout(dout, self.x_shape, self.x_dtype, xp)
        if self.axes is None:
            return xp.transpose(dout)
        return xp.transpose(dout, np.argsort(self.axes))


class MaxLayer(Layer):
    """Maximum node (over all elements, or over ``axis``).

    k elements tied for the maximum share the gradient, dout/k each (so the gradients still add up
    to dout).
    """

    symbol = "max"
    forward_rule = "out = max x"
    backward_rule = "dx = dout at the maximum (shared among ties), 0 elsewhere"
    backward_rule_ko = "dx = 최댓값 원소에 dout (같은 값이 여럿이면 나눠 가짐), 나머지는 0"
    _reduce = "max"

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = keepdims
        self.x = None
        self.x_dtype = None
        self.out_shape = None

    def forward(self, x):
        xp = get_array_module(x)
        self.x = xp.asarray(x)
        self.x_dtype = input_dtype(x)
        out = getattr(xp, self._reduce)(x, axis=self.axis, keepdims=self.keepdims)
        self.out_shape = _shape(out)
        return out

    def backward(self, dout):
        x = self._forward_value("x")
        self._check_dout_shape(dout, self.out_shape)
        xp = get_array_module(x)
        dtype = self.x_dtype or np.float64
        y = getattr(xp, self._reduce)(x, axis=self.axis, keepdims=True)
        dout = xp.asarray(dout, dtype=dtype)
        if self.axis is not None and not self.keepdims:
            axes = (self.axis,) if np.isscalar(self.axis) else tuple(self.axis)
            dout = xp.expand_dims(dout, tuple(sorted(a % x.ndim for a in axes)))
        elif self.axis is None and not self.keepdims:
            dout = dout.reshape((1,) * x.ndim)
        winners = x == y
        ties = winners.sum(axis=self.axis, keepdims=True)
        return (dout * winners / ties).astype(dtype, copy=False)


class MinLayer(MaxLayer):
    """Minimum node: :class:`MaxLayer` with min (ties share the gradient)."""

    symbol = "min"
    forward_rule = "out = min x"
    backward_rule = "dx = dout at the minimum (shared among ties), 0 elsewhere"
    backward_rule_ko = "dx = 최솟값 원소에 dout (같은 값이 여럿이면 나눠 가짐), 나머지는 0"
    _reduce = "min"

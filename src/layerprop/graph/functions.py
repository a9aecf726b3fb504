"""The operations of the define-by-run graph, each one a layer of :mod:`layerprop.layers`.

=====================  =========================  ===============================
operation              layer it runs              backward (the layer's own)
=====================  =========================  ===============================
``x + y``, ``add``     AddLayer                   dx = dout, dy = dout
``x - y``, ``sub``     SubLayer                   dx = dout, dy = −dout
``x * y``, ``mul``     MulLayer                   dx = dout·y, dy = dout·x
``x / y``, ``div``     DivLayer                   dx = dout/y, dy = −dout·x/y²
``-x``, ``neg``        NegLayer                   dx = −dout
``x ** c``, ``power``  PowLayer (c a number)      dx = dout·c·x^(c−1)
``x @ y``, ``matmul``  MatMulLayer                dx = dout·yᵀ, dy = xᵀ·dout
``exp``                ExpLayer                   dx = dout·exp(x)
``log``                LogLayer                   dx = dout/x
``sum``, ``mean``      SumLayer, MeanLayer        dout spread back over x
``max``, ``min``       MaxLayer, MinLayer         dout to the extreme element(s)
``reshape``            ReshapeLayer               dout reshaped back
``transpose``          TransposeLayer             dout transposed back
``relu``               Relu                       dout where x > 0
``sigmoid``            Sigmoid                    dout·y·(1 − y)
``tanh``               Tanh                       dout·(1 − y²)
``affine``             Affine                     dx = dout·Wᵀ, dW = xᵀ·dout, db = Σ dout
``softmax_cross_entropy``  SoftmaxWithLoss        dx = dout·(y − t)/N
=====================  =========================  ===============================

Python numbers may stand on either side of an operator (``1 + x``, ``1 / x``) and become constants.
"""

from __future__ import annotations

from .. import layers as L
from .variable import Variable, apply, as_variable


def add(x, y) -> Variable:
    """x + y (AddLayer)."""
    return apply(L.AddLayer(), x, y)


def sub(x, y) -> Variable:
    """x − y (SubLayer)."""
    return apply(L.SubLayer(), x, y)


def mul(x, y) -> Variable:
    """x · y (MulLayer)."""
    return apply(L.MulLayer(), x, y)


def div(x, y) -> Variable:
    """x / y (DivLayer)."""
    return apply(L.DivLayer(), x, y)


def neg(x) -> Variable:
    """−x (NegLayer)."""
    return apply(L.NegLayer(), x)


def power(x, exponent) -> Variable:
    """x ** c for a constant number c (PowLayer)."""
    if isinstance(exponent, Variable):
        raise TypeError("x ** y: the exponent must be a number, not a Variable (use exp(y * log(x)))")
    return apply(L.PowLayer(exponent), x)


def matmul(x, y) -> Variable:
    """Matrix product x @ y (MatMulLayer)."""
    return apply(L.MatMulLayer(), x, y)


def exp(x) -> Variable:
    """exp(x) (ExpLayer)."""
    return apply(L.ExpLayer(), x)


def log(x) -> Variable:
    """Natural logarithm (LogLayer)."""
    return apply(L.LogLayer(), x)


def sum(x, axis=None, keepdims=False) -> Variable:  # noqa: A001 - mirrors numpy.sum
    """Sum over all elements or over ``axis`` (SumLayer)."""
    return apply(L.SumLayer(axis, keepdims), x)


def mean(x, axis=None, keepdims=False) -> Variable:
    """Mean over all elements or over ``axis`` (MeanLayer)."""
    return apply(L.MeanLayer(axis, keepdims), x)


def max(x, axis=None, keepdims=False) -> Variable:  # noqa: A001 - mirrors numpy.max
    """Maximum over all elements or over ``axis`` (MaxLayer)."""
    return apply(L.MaxLayer(axis, keepdims), x)


def min(x, axis=None, keepdims=False) -> Variable:  # noqa: A001 - mirrors numpy.min
    """Minimum over all elements or over ``axis`` (MinLayer)."""
    return apply(L.MinLayer(axis, keepdims), x)


def reshape(x, shape) -> Variable:
    """Reshape (ReshapeLayer)."""
    return apply(L.ReshapeLayer(shape), x)


def transpose(x, axes=None) -> Variable:
    """Transpose, or permute axes (TransposeLayer)."""
    return apply(L.TransposeLayer(axes), x)


def relu(x) -> Variable:
    """max(x, 0) (Relu)."""
    return apply(L.Relu(), x)


def sigmoid(x) -> Variable:
    """1 / (1 + exp(−x)) as one fused node (Sigmoid)."""
    return apply(L.Sigmoid(), x)


def tanh(x) -> Variable:
    """tanh(x) (Tanh)."""
    return apply(L.Tanh(), x)


def affine(x, W: Variable, b: Variable) -> Variable:
    """x · W + b (Affine); W and b are Variables and receive dW and db."""
    W, b = as_variable(W), as_variable(b)
    return apply(L.Affine(W.data, b.data), x, params={"W": W, "b": b})


def softmax_cross_entropy(x, t) -> Variable:
    """Mean cross-entropy of softmax(x) against labels or one-hot ``t`` (SoftmaxWithLoss).

    ``t`` is a constant (no gradient): an array of integer labels (N,) or one-hot targets (N, C).
    """
    if isinstance(t, Variable):
        t = t.data
    return apply(L.SoftmaxWithLoss(), x, constants=(t,))

"""Layers: the one primitive of layerprop.

Every layer has ``forward`` and ``backward`` with the book's signatures, ``params`` and ``grads``
dicts, and a docstring giving its forward and backward formula.

- node layers of the computational graph: :class:`MulLayer`, :class:`AddLayer`, and the other
  arithmetic nodes in :mod:`layerprop.layers.arithmetic`;
- activations: :class:`Relu`, :class:`Sigmoid`, :class:`Tanh`;
- the fully connected :class:`Affine`;
- convolution and pooling: :class:`Convolution`, :class:`Pooling` (max), :class:`AvgPooling`,
  :class:`Flatten`, with :func:`im2col` / :func:`col2im`;
- training-mode layers: :class:`Dropout`, :class:`BatchNormalization`;
- loss layers: :class:`SoftmaxWithLoss`, :class:`MeanSquaredError`, :class:`SigmoidWithLoss`.
"""

from .activation import Relu, Sigmoid, Tanh, sigmoid
from .affine import Affine
from .arithmetic import (
    AddLayer,
    DivLayer,
    ExpLayer,
    LogLayer,
    MatMulLayer,
    MaxLayer,
    MeanLayer,
    MinLayer,
    MulLayer,
    NegLayer,
    PowLayer,
    ReshapeLayer,
    SubLayer,
    SumLayer,
    TransposeLayer,
)
from .base import Layer
from .conv import AvgPooling, Convolution, Flatten, Pooling, col2im, im2col
from .loss import MeanSquaredError, SigmoidWithLoss, SoftmaxWithLoss, cross_entropy_error, softmax
from .regularization import BatchNormalization, Dropout

__all__ = [
    "Layer",
    "MulLayer",
    "AddLayer",
    "SubLayer",
    "DivLayer",
    "NegLayer",
    "PowLayer",
    "ExpLayer",
    "LogLayer",
    "MatMulLayer",
    "MaxLayer",
    "MinLayer",
    "SumLayer",
    "MeanLayer",
    "ReshapeLayer",
    "TransposeLayer",
    "Relu",
    "Sigmoid",
    "Tanh",
    "sigmoid",
    "Affine",
    "Convolution",
    "Pooling",
    "AvgPooling",
    "Flatten",
    "im2col",
    "col2im",
    "Dropout",
    "BatchNormalization",
    "SoftmaxWithLoss",
    "MeanSquaredError",
    "SigmoidWithLoss",
    "softmax",
    "cross_entropy_error",
]

"""What a forward pass through a network costs in memory, worked out from its layers' shapes
before any input goes through.

A network read from a file can be small on disk and still ask a forward pass for gigabytes: a
layer of 84,000 units, 6000 layers in a row, a convolution of a million filters. The layers keep
what their backward pass needs (the book's ``self.x``, ``self.mask``, ``self.col``), so each one
holds its input, its output and, for a convolution, the unfolded windows of its input — for every
sample of the batch. :func:`forward_bytes` adds these up per sample from the shapes alone
(``output_shape`` of convolutions and poolings, the weight matrix of an Affine layer; every other
layer keeps its input's shape), and :func:`batch_size_within` picks the largest batch whose
forward pass fits a budget — or refuses a network of which even one sample does not fit,
before anything is allocated.
"""

from __future__ import annotations

import math

from ..errors import MemoryBudgetError

__all__ = ["FORWARD_BUDGET", "forward_shapes", "forward_bytes", "batch_size_within"]

#: The memory a forward pass over one batch may take (the activations the layers keep; the
#: weights are counted when a model file is read): evaluate and predict size their batches by it.
FORWARD_BUDGET = 64 << 20
#: Copies of its output a layer may hold during forward (the output, what it keeps for
#: backward, a temporary such as ``x > 0``); its input is the output of the layer before.
COPIES = 2


def _output_shape(layer, shape: tuple) -> tuple:
    """The shape of ``layer``'s output for an input of ``shape`` (a batch of one)."""
    if hasattr(layer, "output_shape"):  # convolution, pooling: they know (and check the fit)
        return tuple(int(n) for n in layer.output_shape(shape))
    weights = getattr(layer, "W", None)
    if getattr(weights, "ndim", None) == 2:  # Affine: the rows are flattened, then multiplied by W
        return (shape[0], int(weights.shape[1]))
    if type(layer).__name__ == "Flatten":
        return (shape[0], math.prod(shape[1:]))
    return shape  # activations, dropout, batch normalisation: elementwise


def forward_shapes(network, sample_shape) -> list:
    """``[(layer name, output shape), …]`` of a forward pass of one sample of ``sample_shape``."""
    shape = (1, *(int(n) for n in sample_shape))
    shapes = []
    for name, layer in network.layers.items():
        shape = _output_shape(layer, shape)
        shapes.append((name, shape))
    return shapes


def forward_bytes(network, sample_shape) -> int:
    """Bytes that a forward pass keeps per sample of ``sample_shape`` (an upper estimate)."""
    itemsize = getattr(getattr(network, "dtype", None), "itemsize", 8)
    shape = (1, *(int(n) for n in sample_shape))
    total = math.prod(shape) * itemsize  # the batch itself
    for layer in network.layers.values():
        out = _output_shape(layer, shape)
        total += COPIES * math.prod(out) * itemsize
        weights = getattr(layer, "W", None)
        if getattr(weights, "ndim", None) == 4:  # a convolution unfolds its input: C·FH·FW values per output pixel
            total += math.prod(out[2:]) * math.prod(weights.shape[1:]) * itemsize
        shape = out
    return total


def batch_size_within(network, sample_shape, budget: int = FORWARD_BUDGET, largest: int = 1000) -> int:
    """The largest batch (at most ``largest``) whose forward pass fits ``budget`` bytes.

    :raises MemoryBudgetError: one sample alone needs more than ``budget``.
    """
    per_sample = forward_bytes(network, sample_shape)
    if per_sample > budget:
        raise MemoryBudgetError(
            f"a forward pass of one sample of shape {tuple(sample_shape)} through this network would take "
            f"{_megabytes(per_sample)}, more than the {_megabytes(budget)} allowed"
        )
    return max(1, min(int(largest), budget // max(per_sample, 1)))


def _megabytes(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):.0f} MB" if nbytes >= 1 << 20 else f"{nbytes / 1024:.0f} KB"

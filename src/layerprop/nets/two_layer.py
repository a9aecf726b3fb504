"""The book's two-layer network: Affine → Relu → Affine → SoftmaxWithLoss (note 003)."""

from __future__ import annotations

import numpy as np

from ..layers import Affine, Relu
from ..validation import integer
from .base import Network
from .init import random_source, standard_normal
from .registry import register_network


@register_network
class TwoLayerNet(Network):
    """input → Affine1 → Relu1 → Affine2 → SoftmaxWithLoss, with params W1, b1, W2, b2.

    ``weight_init_std`` scales standard-normal weights (biases start at 0). ``dtype`` defaults to
    float64 like the book, so its gradient check prints differences around 1e-10; train in float32.
    ``seed`` makes the initial weights repeatable (``None``: the global ``np.random``).
    """

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, dtype="float64", seed=None):
        super().__init__(dtype)
        input_size, hidden_size, output_size = (
            integer(name, value, minimum=1, owner="TwoLayerNet")
            for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("output_size", output_size))
        )
        self._config = dict(
            input_size=int(input_size),
            hidden_size=int(hidden_size),
            output_size=int(output_size),
            weight_init_std=float(weight_init_std),
        )
        rng = random_source(seed)
        dt = self.dtype
        std = dt.type(weight_init_std)
        W1 = standard_normal(rng, (input_size, hidden_size), dt) * std
        W2 = standard_normal(rng, (hidden_size, output_size), dt) * std
        self.add_layer("Affine1", Affine(W1, np.zeros(hidden_size, dt)), {"W": "W1", "b": "b1"})
        self.add_layer("Relu1", Relu())
        self.add_layer("Affine2", Affine(W2, np.zeros(output_size, dt)), {"W": "W2", "b": "b2"})
        self.set_input_gradient(False)

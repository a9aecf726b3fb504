"""The book's chapter-3 network (``neuralnet_mnist.py``): 784 → 50 → 100 → 10 with sigmoid hidden layers.

In the book this network is only ever run forward, with the trained weights of ``sample_weight.pkl``:

    a1 = x·W1 + b1,  z1 = σ(a1)
    a2 = z1·W2 + b2, z2 = σ(a2)
    a3 = z2·W3 + b3, y = softmax(a3)

on MNIST images flattened to 784 values and normalised to [0, 1]. Here it is a network with the book's
interface like the others: ``predict`` returns the scores a3 (softmax is monotonic, so the predicted
class is the same), ``loss`` applies SoftmaxWithLoss, and ``gradient`` trains it by backpropagation.
"""

from __future__ import annotations

import numpy as np

from ..errors import ArgumentError
from ..layers import Affine, Sigmoid
from ..validation import integer
from .base import Network
from .init import init_scale, random_source, standard_normal
from .registry import register_network


@register_network
class ThreeLayerNet(Network):
    """input → Affine1 → Sigmoid1 → Affine2 → Sigmoid2 → Affine3 → SoftmaxWithLoss (the book's chapter 3).

    Params W1 (784, 50), b1, W2 (50, 100), b2, W3 (100, 10), b3 by default — the names and shapes of
    the book's ``sample_weight.pkl``. ``weight_init_std`` is a number or 'sigmoid'/'xavier'
    (√(1/fan_in), the default); biases start at 0; ``seed`` makes the initial weights repeatable.
    """

    def __init__(
        self,
        input_size=784,
        hidden_size_list=(50, 100),
        output_size=10,
        weight_init_std="xavier",
        dtype="float64",
        seed=None,
    ):
        super().__init__(dtype)
        owner = type(self).__name__
        if not isinstance(hidden_size_list, (list, tuple)) or len(hidden_size_list) != 2:
            raise ArgumentError(f"{owner}: hidden_size_list must hold two hidden sizes, got {hidden_size_list!r}")
        hidden = [integer(f"hidden_size_list[{i}]", h, minimum=1, owner=owner) for i, h in enumerate(hidden_size_list)]
        input_size = integer("input_size", input_size, minimum=1, owner=owner)
        output_size = integer("output_size", output_size, minimum=1, owner=owner)
        self._config = dict(
            input_size=int(input_size),
            hidden_size_list=hidden,
            output_size=int(output_size),
            weight_init_std=weight_init_std,
        )
        rng = random_source(seed)
        dt = self.dtype
        sizes = [int(input_size), *hidden, int(output_size)]
        for i in range(1, 4):
            fan_in, fan_out = sizes[i - 1], sizes[i]
            W = standard_normal(rng, (fan_in, fan_out), dt) * dt.type(init_scale(weight_init_std, fan_in))
            self.add_layer(f"Affine{i}", Affine(W, np.zeros(fan_out, dt)), {"W": f"W{i}", "b": f"b{i}"})
            if i < 3:
                self.add_layer(f"Sigmoid{i}", Sigmoid())
        self.set_input_gradient(False)

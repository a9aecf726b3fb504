"""The book's fully connected networks of any depth: MultiLayerNet and MultiLayerNetExtend."""

from __future__ import annotations

import numpy as np

from ..errors import ArgumentTypeError
from ..layers import Affine, BatchNormalization, Dropout, Relu, Sigmoid, Tanh
from ..validation import integer
from .base import Network
from .init import init_scale, random_source, standard_normal
from .registry import register_network

ACTIVATIONS = {"relu": Relu, "sigmoid": Sigmoid, "tanh": Tanh}


def _activation(name: str):
    try:
        return ACTIVATIONS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}") from None


@register_network
class MultiLayerNetExtend(Network):
    """Affine → [BatchNorm] → activation → [Dropout], repeated per hidden layer, then Affine → SoftmaxWithLoss.

    Arguments follow the book: ``hidden_size_list`` (e.g. [100, 100]), ``activation`` 'relu' or
    'sigmoid' (also 'tanh'), ``weight_init_std`` a number or 'relu'/'he' (√(2/n)) or
    'sigmoid'/'xavier' (√(1/n)), ``weight_decay_lambda`` for L2 weight decay ½·λ·Σ‖W‖²,
    ``use_dropout`` with the book's spelling ``dropout_ration``, ``use_batchnorm``. Params are
    W1, b1, …, W(L), b(L) and gamma1, beta1, … with batch normalisation.
    """

    def __init__(
        self,
        input_size,
        hidden_size_list,
        output_size,
        activation="relu",
        weight_init_std="relu",
        weight_decay_lambda=0,
        use_dropout=False,
        dropout_ration=0.5,
        use_batchnorm=False,
        dtype="float64",
        seed=None,
    ):
        super().__init__(dtype, weight_decay_lambda)
        owner = type(self).__name__
        if not isinstance(hidden_size_list, (list, tuple)):
            raise ArgumentTypeError(f"{owner}: hidden_size_list must be a list of sizes, got {hidden_size_list!r}")
        hidden = [integer(f"hidden_size_list[{i}]", h, minimum=1, owner=owner) for i, h in enumerate(hidden_size_list)]
        input_size = integer("input_size", input_size, minimum=1, owner=owner)
        output_size = integer("output_size", output_size, minimum=1, owner=owner)
        self._config = dict(
            input_size=int(input_size),
            hidden_size_list=hidden,
            output_size=int(output_size),
            activation=activation,
            weight_init_std=weight_init_std,
            weight_decay_lambda=float(weight_decay_lambda),
        )
        if type(self) is MultiLayerNetExtend:
            self._config.update(
                use_dropout=bool(use_dropout), dropout_ration=float(dropout_ration), use_batchnorm=bool(use_batchnorm)
            )
        self.input_size, self.hidden_size_list, self.output_size = int(input_size), hidden, int(output_size)
        self.hidden_layer_num = len(hidden)
        self.use_dropout, self.use_batchnorm = bool(use_dropout), bool(use_batchnorm)
        activation_layer = _activation(activation)
        rng = random_source(seed)
        dt = self.dtype
        sizes = [self.input_size, *hidden, self.output_size]
        for i in range(1, len(sizes)):
            fan_in, fan_out = sizes[i - 1], sizes[i]
            W = standard_normal(rng, (fan_in, fan_out), dt) * dt.type(init_scale(weight_init_std, fan_in))
            self.add_layer(f"Affine{i}", Affine(W, np.zeros(fan_out, dt)), {"W": f"W{i}", "b": f"b{i}"})
            if i == len(sizes) - 1:
                break
            if self.use_batchnorm:
                bn = BatchNormalization(np.ones(fan_out, dt), np.zeros(fan_out, dt))
                self.add_layer(f"BatchNorm{i}", bn, {"gamma": f"gamma{i}", "beta": f"beta{i}"}, decay=())
            self.add_layer(f"Activation_function{i}", activation_layer())
            if self.use_dropout:
                self.add_layer(f"Dropout{i}", Dropout(dropout_ration))
        self.set_input_gradient(False)


@register_network
class MultiLayerNet(MultiLayerNetExtend):
    """The book's MultiLayerNet: Affine → activation per hidden layer, then Affine → SoftmaxWithLoss.

    Same arguments as :class:`MultiLayerNetExtend` without dropout and batch normalisation.
    """

    def __init__(
        self,
        input_size,
        hidden_size_list,
        output_size,
        activation="relu",
        weight_init_std="relu",
        weight_decay_lambda=0,
        dtype="float64",
        seed=None,
    ):
        super().__init__(
            input_size,
            hidden_size_list,
            output_size,
            activation,
            weight_init_std,
            weight_decay_lambda,
            dtype=dtype,
            seed=seed,
        )

"""Sequential: any stack of layers plus a loss layer, with the book's network interface."""

from __future__ import annotations

import numpy as np

from .. import layers as L
from ..errors import ModelFileError
from .base import Network
from .init import parameter_array
from .registry import register_network

LOSS_LAYERS = {cls.__name__: cls for cls in (L.SoftmaxWithLoss, L.MeanSquaredError, L.SigmoidWithLoss)}

# How each layer type is described in a saved configuration, and rebuilt from it (with zero
# parameters; the saved arrays are loaded afterwards). Layer modules may add their own entries.
LAYER_SPECS: dict = {
    "Affine": (
        lambda layer: {"shape": list(layer.W.shape)},
        lambda spec, dt: L.Affine(parameter_array(spec["shape"], dt), parameter_array(spec["shape"][1], dt)),
    ),
    "Relu": (lambda layer: {}, lambda spec, dt: L.Relu()),
    "Sigmoid": (lambda layer: {}, lambda spec, dt: L.Sigmoid()),
    "Tanh": (lambda layer: {}, lambda spec, dt: L.Tanh()),
    "Dropout": (
        lambda layer: {"dropout_ratio": layer.dropout_ratio},
        lambda spec, dt: L.Dropout(spec["dropout_ratio"]),
    ),
    "BatchNormalization": (
        lambda layer: {"size": int(layer.gamma.shape[0]), "momentum": layer.momentum},
        lambda spec, dt: L.BatchNormalization(
            parameter_array(spec["size"], dt, 1.0), parameter_array(spec["size"], dt), spec["momentum"]
        ),
    ),
}


def layer_spec(layer) -> dict:
    """The JSON-able description of one layer (its type and shape arguments)."""
    name = type(layer).__name__
    if name not in LAYER_SPECS:
        raise TypeError(f"Sequential cannot save a layer of type {name}; known: {', '.join(LAYER_SPECS)}")
    return {"type": name, **LAYER_SPECS[name][0](layer)}


def layer_from_spec(spec: dict, dtype):
    """Rebuild a layer from :func:`layer_spec`'s description (parameters zero until loaded)."""
    if not isinstance(spec, dict):
        raise ModelFileError(f'a saved Sequential layer must be an object such as {{"type": "Relu"}}, got {spec!r}')
    kind = spec.get("type")
    if kind not in LAYER_SPECS:
        raise ModelFileError(f"unknown layer type {kind!r} in a saved Sequential; known: {', '.join(LAYER_SPECS)}")
    return LAYER_SPECS[kind][1](spec, np.dtype(dtype))


@register_network
class Sequential(Network):
    """A network made of ``layers`` in order, ending in ``loss`` (default SoftmaxWithLoss).

    Layer names are the class name and a count ('Affine1', 'Relu1', 'Affine2', …); parameters are
    named '<layer>.<key>' ('Affine1.W', 'Affine1.b', …). The layers keep their own arrays; ``dtype``
    defaults to that of the first parameter (float64 when there is none).

    >>> net = Sequential([Affine(W1, b1), Relu(), Affine(W2, b2)])
    >>> grads = net.gradient(x, t)
    """

    def __init__(self, layers, loss=None, dtype=None, weight_decay_lambda=0.0):
        layers = list(layers)
        if dtype is None:
            first = next((p for layer in layers for p in layer.params.values()), None)
            dtype = first.dtype if first is not None else np.float64
        super().__init__(dtype, weight_decay_lambda)
        counts: dict = {}
        for layer in layers:
            kind = type(layer).__name__
            counts[kind] = counts.get(kind, 0) + 1
            name = f"{kind}{counts[kind]}"
            self.add_layer(name, layer, {key: f"{name}.{key}" for key in layer.params})
        if loss is not None:
            self.last_layer = loss
        self.set_input_gradient(False)

    def to_config(self):
        return {
            "class": "Sequential",
            "layers": [layer_spec(layer) for layer in self.layers.values()],
            "loss": type(self.last_layer).__name__,
            "weight_decay_lambda": self.weight_decay_lambda,
            "dtype": self.dtype.name,
        }

    @classmethod
    def from_config(cls, config):
        loss_name = config.get("loss", "SoftmaxWithLoss")
        if loss_name not in LOSS_LAYERS:
            raise ModelFileError(f"unknown loss layer {loss_name!r}; known: {', '.join(LOSS_LAYERS)}")
        dtype = config.get("dtype", "float64")
        layers = [layer_from_spec(spec, dtype) for spec in config.get("layers", [])]
        return cls(layers, LOSS_LAYERS[loss_name](), dtype, config.get("weight_decay_lambda", 0.0))

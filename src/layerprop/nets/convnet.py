"""The book's convolutional networks: SimpleConvNet (chapter 7) and DeepConvNet (chapter 8)."""

from __future__ import annotations

import numpy as np

from ..layers import Affine, AvgPooling, Convolution, Dropout, Flatten, Pooling, Relu
from ..validation import integer
from .base import Network
from .init import init_scale, parameter_array, random_source, standard_normal
from .registry import register_network
from .sequential import LAYER_SPECS

CONV_PARAM_KEYS = ("filter_num", "filter_size", "pad", "stride")


def _conv_spec(layer) -> dict:
    return {"shape": list(layer.W.shape), "stride": layer.stride, "pad": layer.pad}


def _conv_from_spec(spec, dt):
    return Convolution(
        parameter_array(spec["shape"], dt), parameter_array(spec["shape"][0], dt), spec["stride"], spec["pad"]
    )


def _pool_spec(layer) -> dict:
    return {"pool_h": layer.pool_h, "pool_w": layer.pool_w, "stride": layer.stride, "pad": layer.pad}


def _pool_from_spec(cls):
    return lambda spec, dt: cls(spec["pool_h"], spec["pool_w"], spec["stride"], spec["pad"])


# How Sequential saves and rebuilds the convolutional layers (parameters zero until loaded).
LAYER_SPECS.setdefault("Convolution", (_conv_spec, _conv_from_spec))
LAYER_SPECS.setdefault("Pooling", (_pool_spec, _pool_from_spec(Pooling)))
LAYER_SPECS.setdefault("AvgPooling", (_pool_spec, _pool_from_spec(AvgPooling)))
LAYER_SPECS.setdefault("Flatten", (lambda layer: {}, lambda spec, dt: Flatten()))


def _conv_param(value, owner, name) -> dict:
    """Validate a conv_param dict and return it with plain ints (the form saved in configs)."""
    if not isinstance(value, dict) or set(value) != set(CONV_PARAM_KEYS):
        raise ValueError(f"{owner}: {name} must be a dict with the keys {', '.join(CONV_PARAM_KEYS)}, got {value!r}")
    return {
        key: integer(f"{name}[{key!r}]", value[key], minimum=0 if key == "pad" else 1, owner=owner)
        for key in CONV_PARAM_KEYS
    }


def _input_dim(value, owner) -> tuple:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ValueError(f"{owner}: input_dim must be (C, H, W) with positive sizes, got {value!r}")
    dims = tuple(integer(f"input_dim[{i}]", d, minimum=1, owner=owner) for i, d in enumerate(value))
    if len(dims) != 3 or min(dims) < 1:
        raise ValueError(f"{owner}: input_dim must be (C, H, W) with positive sizes, got {value!r}")
    return dims


@register_network
class SimpleConvNet(Network):
    """input → Conv1 → Relu1 → Pool1 → Affine1 → Relu2 → Affine2 → SoftmaxWithLoss (the book's chapter 7).

    ``input_dim`` is (C, H, W) (non-square images are fine); ``conv_param`` gives the filters
    (``filter_num``, ``filter_size``, ``pad``, ``stride``); Pool1 is 2×2 max pooling with stride 2.
    Params: W1 (FN, C, FS, FS), b1 (FN,) for the convolution, W2, b2 and W3, b3 for the affine
    layers. ``weight_init_std`` scales standard-normal weights (a number, or 'relu'/'he' for
    √(2/fan_in)); biases start at 0. ``seed`` makes the initial weights repeatable (``None``: the
    global ``np.random``, as in the book). Train in float32; check gradients in float64 (default).
    """

    def __init__(
        self,
        input_dim=(1, 28, 28),
        conv_param={"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1},  # noqa: B006 - the book's signature; never mutated
        hidden_size=100,
        output_size=10,
        weight_init_std=0.01,
        dtype="float64",
        seed=None,
    ):
        super().__init__(dtype)
        owner = type(self).__name__
        input_dim = _input_dim(input_dim, owner)
        conv_param = _conv_param(conv_param, owner, "conv_param")
        hidden_size = integer("hidden_size", hidden_size, minimum=1, owner=owner)
        output_size = integer("output_size", output_size, minimum=1, owner=owner)
        self._config = {
            "input_dim": list(input_dim),
            "conv_param": dict(conv_param),
            "hidden_size": int(hidden_size),
            "output_size": int(output_size),
            "weight_init_std": weight_init_std,
        }
        rng = random_source(seed)
        dt = self.dtype
        C = input_dim[0]
        FN, FS = conv_param["filter_num"], conv_param["filter_size"]

        def scaled(shape, fan_in):
            return standard_normal(rng, shape, dt) * dt.type(init_scale(weight_init_std, fan_in))

        conv = Convolution(
            scaled((FN, C, FS, FS), C * FS * FS), np.zeros(FN, dt), conv_param["stride"], conv_param["pad"]
        )
        self.add_layer("Conv1", conv, {"W": "W1", "b": "b1"})
        self.add_layer("Relu1", Relu())
        pool = Pooling(2, 2, stride=2)
        self.add_layer("Pool1", pool)
        pool_output_size = int(np.prod(pool.output_shape(conv.output_shape((1, *input_dim)))))
        self.add_layer(
            "Affine1",
            Affine(scaled((pool_output_size, hidden_size), pool_output_size), np.zeros(hidden_size, dt)),
            {"W": "W2", "b": "b2"},
        )
        self.add_layer("Relu2", Relu())
        self.add_layer(
            "Affine2",
            Affine(scaled((hidden_size, output_size), hidden_size), np.zeros(output_size, dt)),
            {"W": "W3", "b": "b3"},
        )
        self.set_input_gradient(False)


DEEP_CONV_PARAMS = (
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 2, "stride": 1},
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
)


@register_network
class DeepConvNet(Network):
    """The book's chapter 8 network: (conv → relu → conv → relu → pool) × 3, then
    Affine → Relu → Dropout → Affine → Dropout → SoftmaxWithLoss.

    Layers are named Conv1…Conv6, Relu1…Relu7, Pool1…Pool3, Affine1, Affine2, Dropout1, Dropout2;
    params are W1, b1 … W6, b6 (convolutions) and W7, b7, W8, b8 (affine), so the book's trained
    weights fit. The defaults are the book's: 16, 16, 32, 32, 64, 64 filters of 3×3, stride 1,
    pad 1 — except conv_param_4, which pads by 2 as in the book (on 28×28 inputs the last pooling
    then gives 64·4·4 features). Pooling is 2×2 max pooling with stride 2. Weights use He
    initialisation, std = √(2 / fan_in) with fan_in = C·FH·FW for a convolution; biases start at 0.
    ``dropout_ratio`` (default 0.5) is that of both Dropout layers; ``seed`` makes the initial
    weights and the dropout masks repeatable (:meth:`reseed` restarts the masks).
    """

    def __init__(
        self,
        input_dim=(1, 28, 28),
        conv_param_1=DEEP_CONV_PARAMS[0],
        conv_param_2=DEEP_CONV_PARAMS[1],
        conv_param_3=DEEP_CONV_PARAMS[2],
        conv_param_4=DEEP_CONV_PARAMS[3],
        conv_param_5=DEEP_CONV_PARAMS[4],
        conv_param_6=DEEP_CONV_PARAMS[5],
        hidden_size=50,
        output_size=10,
        dropout_ratio=0.5,
        dtype="float64",
        seed=None,
    ):
        super().__init__(dtype)
        owner = type(self).__name__
        input_dim = _input_dim(input_dim, owner)
        conv_params = [
            _conv_param(p, owner, f"conv_param_{i}")
            for i, p in enumerate(
                (conv_param_1, conv_param_2, conv_param_3, conv_param_4, conv_param_5, conv_param_6), 1
            )
        ]
        hidden_size = integer("hidden_size", hidden_size, minimum=1, owner=owner)
        output_size = integer("output_size", output_size, minimum=1, owner=owner)
        self._config = dict(
            input_dim=list(input_dim),
            **{f"conv_param_{i}": dict(p) for i, p in enumerate(conv_params, 1)},
            hidden_size=int(hidden_size),
            output_size=int(output_size),
            dropout_ratio=float(dropout_ratio),
        )
        rng = random_source(seed)
        dt = self.dtype

        def he(shape, fan_in):
            return standard_normal(rng, shape, dt) * dt.type(init_scale("he", fan_in))

        shape = (1, *input_dim)
        relu = 0
        for i, p in enumerate(conv_params, 1):
            C, FN, FS = shape[1], p["filter_num"], p["filter_size"]
            conv = Convolution(he((FN, C, FS, FS), C * FS * FS), np.zeros(FN, dt), p["stride"], p["pad"])
            self.add_layer(f"Conv{i}", conv, {"W": f"W{i}", "b": f"b{i}"})
            shape = conv.output_shape(shape)
            relu += 1
            self.add_layer(f"Relu{relu}", Relu())
            if i % 2 == 0:
                pool = Pooling(2, 2, stride=2)
                self.add_layer(f"Pool{i // 2}", pool)
                shape = pool.output_shape(shape)
        features = int(np.prod(shape[1:]))
        self.add_layer(
            "Affine1", Affine(he((features, hidden_size), features), np.zeros(hidden_size, dt)), {"W": "W7", "b": "b7"}
        )
        self.add_layer(f"Relu{relu + 1}", Relu())
        self.add_layer("Dropout1", Dropout(dropout_ratio))
        self.add_layer(
            "Affine2",
            Affine(he((hidden_size, output_size), hidden_size), np.zeros(output_size, dt)),
            {"W": "W8", "b": "b8"},
        )
        self.add_layer("Dropout2", Dropout(dropout_ratio))
        self.set_input_gradient(False)
        if seed is not None:
            self.reseed(seed)

"""What every network shares: the book's interface on top of an ordered stack of layers.

A network holds ``params`` (a dict of arrays, e.g. 'W1', 'b1', …), ``layers`` (an ordered dict of
layers that use those very arrays) and ``last_layer`` (a loss layer). It offers the book's methods

- ``predict(x, train_flg=False)`` — forward through ``layers`` (the scores, before the loss);
- ``loss(x, t, train_flg=False)`` — the loss of ``last_layer`` plus the weight-decay term;
- ``accuracy(x, t)`` — fraction of rows whose largest score is the label;
- ``numerical_gradient(x, t)`` — central differences, one parameter element at a time (slow);
- ``gradient(x, t)`` — backpropagation: forward with train_flg=True, then each layer's backward
  in reverse order; returns a dict with the keys of ``params``;

and, for saving, ``to_config()`` / ``state_dict()`` / ``load_state_dict()``.

Devices: ``network.to("cuda")`` (or ``to_gpu()``/``to_cpu()``) moves every parameter and buffer;
``network.device`` says where they are. Inputs and targets must already be on that device (a
NumPy array given to a network on a GPU raises :class:`~layerprop.errors.DeviceMismatchError`
naming both); ``state_dict()`` returns the arrays where they live and ``load_state_dict()`` takes
arrays from any device.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..backend import CPU, array_module_of_device, check_same_device, device_of, parse_device, to_device, use_device
from ..errors import DeviceUnavailableError, LabelError, ModelFileError, ShapeError
from ..gradcheck import numerical_gradient as _numerical_gradient
from ..layers import SoftmaxWithLoss
from ..layers.base import Layer
from ..notebook import show
from ..validation import non_negative


def resolve_dtype(dtype) -> np.dtype:
    """Accept 'float32', np.float32, … and return a floating NumPy dtype."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating type such as 'float32' or 'float64', got {dt}")
    return dt


class Network:
    """Base class of layerprop's networks (see the module docstring for the interface).

    Subclasses build their layers with :meth:`add_layer`, which also records which entry of
    ``params`` each layer parameter is, so :meth:`gradient` can collect the gradients.
    """

    def __init__(self, dtype="float64", weight_decay_lambda: float = 0.0):
        self.dtype = resolve_dtype(dtype)
        self.weight_decay_lambda = non_negative("weight_decay_lambda", weight_decay_lambda, owner=type(self).__name__)
        self.params: dict = {}
        self.layers: OrderedDict = OrderedDict()
        self.last_layer = SoftmaxWithLoss()
        self._param_sources: dict = {}  # params key → (layer, the layer's key)
        self._plan = None  # _grad_plan's cache, rebuilt after add_layer
        self._decayed: list = []  # params keys that weight decay applies to
        self.last_loss = None  # the loss of the last gradient() call
        self._device = CPU  # where a network without parameters computes

    # -- building --------------------------------------------------------------------------
    def add_layer(self, name: str, layer, param_names: dict | None = None, decay: tuple = ("W",)):
        """Append ``layer`` under ``name``; ``param_names`` maps its keys to ``params`` keys.

        The layer must compute with the very arrays stored in ``params`` (they are updated in place).
        """
        if name in self.layers:
            raise ValueError(f"a layer named {name!r} already exists")
        if not isinstance(layer, Layer):
            raise TypeError(
                f"layer {name!r} must be a layerprop layer (a subclass of layerprop.layers.base.Layer, "
                f"which declares the interface networks use), got {type(layer).__name__}"
            )
        self.layers[name] = layer
        self._plan = None
        for layer_key, key in (param_names or {}).items():
            array = layer.params[layer_key]
            if key in self.params and self.params[key] is not array:
                raise ValueError(f"parameter {key!r} is already taken by another array")
            self.params[key] = array
            self._param_sources[key] = (layer, layer_key)
            if layer_key in decay:
                self._decayed.append(key)
        return layer

    def _grad_plan(self):
        """[(layer, [(layer's key, params key), …]), …]: where gradient() finds each parameter's gradient."""
        if self._plan is None:
            plan = {}
            for key, (layer, layer_key) in self._param_sources.items():
                plan.setdefault(id(layer), (layer, []))[1].append((layer_key, key))
            self._plan = list(plan.values())
        return self._plan

    # -- devices ------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        """Where the parameters live: ``"cpu"`` or ``"cuda:N"``."""
        for array in self.params.values():
            return device_of(array)
        return self._device

    @property
    def xp(self):
        """The array module of the network's device (``numpy`` or ``cupy``)."""
        return array_module_of_device(self.device)

    def to(self, device):
        """Move every parameter, buffer and random generator to ``device`` ('cpu', 'cuda', 'cuda:N',
        'auto'); returns the network. ``params`` then holds the moved arrays (the layers use the same
        ones), so an optimizer's state follows on its next update."""
        device = parse_device(device)
        with use_device(device):
            for layer in (*self.layers.values(), self.last_layer):
                layer.to(device)
        for key, (layer, layer_key) in self._param_sources.items():
            self.params[key] = layer.params[layer_key]
        self._device = device
        return self

    def to_gpu(self, index: int = 0):
        """``to(f"cuda:{index}")``."""
        return self.to(f"cuda:{int(index)}")

    def to_cpu(self):
        """``to("cpu")``: parameters and buffers back to NumPy arrays."""
        return self.to(CPU)

    def _on_device(self, value, what):
        """``value`` checked to be on the network's device; lists and numbers become arrays there."""
        device = self.device
        if type(value) is np.ndarray and device == CPU:  # the common case, checked first
            return value
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            check_same_device(value, device, what, type(self).__name__)
            return value
        return array_module_of_device(device).asarray(value)

    @property
    def lastLayer(self):
        return self.last_layer

    # -- the book's interface ----------------------------------------------------------------
    def _as_input(self, x):
        x = self._on_device(x, "the input x")
        return x if x.dtype == self.dtype else x.astype(self.dtype)

    def predict(self, x, train_flg: bool = False):
        """Scores for ``x``: the forward pass through every layer except the loss."""
        x = self._as_input(x)
        for layer in self.layers.values():
            if layer.has_train_mode:
                x = layer.forward(x, train_flg)
            else:
                x = layer.forward(x)
        return x

    def weight_decay_loss(self) -> float:
        """½·λ·Σ‖W‖² over the weight matrices (0 when λ = 0)."""
        if not self.weight_decay_lambda:
            return 0.0
        xp = self.xp
        total = sum(xp.sum(xp.square(self.params[k], dtype=xp.float64)) for k in self._decayed)
        total = 0.5 * self.weight_decay_lambda * total
        return float(total) if xp is np else total  # on a GPU a 0-d array: no wait for the device

    def loss(self, x, t, train_flg: bool = False):
        """Loss of the scores for ``x`` against targets ``t`` (plus weight decay)."""
        y = self.predict(x, train_flg)
        loss = self.last_layer.forward(y, self._on_device(t, "the targets t"))
        if self.weight_decay_lambda:
            loss = loss + self.weight_decay_loss()
        return loss

    def accuracy(self, x, t, batch_size: int = 1000) -> float:
        """Fraction of samples whose highest score is the true class (labels or one-hot ``t``)."""
        t = self._on_device(t, "the labels t")
        n = len(x)
        if t.ndim == 2 and t.shape[1] > 1:
            t = t.argmax(axis=1)
        t = t.reshape(-1)
        if t.shape[0] != n:
            raise LabelError(f"accuracy: got {n} samples but {t.shape[0]} labels")
        correct = 0  # summed where the data is; one transfer to the host at the end
        for start in range(0, n, batch_size):
            y = self.predict(x[start : start + batch_size])
            correct = correct + (y.argmax(axis=1) == t[start : start + batch_size]).sum()
        return int(correct) / n if n else 0.0

    def numerical_gradient(self, x, t) -> dict:
        """Gradients by central differences (h = 1e-4) on every parameter: slow, for checking (on the CPU)."""
        if self.device != CPU:
            raise DeviceUnavailableError(
                f"numerical_gradient perturbs one element at a time and runs on the CPU only; the network is on "
                f"{self.device}: call network.to_cpu() first (gradient() on the GPU is checked against the CPU's)"
            )

        def loss_of(_):
            return self.loss(x, t, train_flg=True)

        return {key: _numerical_gradient(loss_of, self.params[key]) for key in self.params}

    def gradient(self, x, t, layer_done=None) -> dict:
        """Gradients by backpropagation: a dict with the keys of ``params``.

        The loss computed on the way (before any update) is kept in ``last_loss``. ``layer_done``,
        if given, is called with each layer as soon as its backward has run (data-parallel
        training starts reducing that layer's gradients then).
        """
        self.last_loss = self.loss(x, t, train_flg=True)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
            if layer_done is not None:
                layer_done(layer)
        grads = {}
        for layer, pairs in self._grad_plan():
            layer_grads = layer.grads  # one dict per layer, not one per parameter
            for layer_key, key in pairs:
                grads[key] = layer_grads[layer_key]
        if self.weight_decay_lambda:
            for key in self._decayed:
                grads[key] = self.with_weight_decay(key, grads[key])
        return grads

    def with_weight_decay(self, key: str, grad):
        """``grad + λ·W`` for the parameters weight decay applies to (the gradient of ½·λ·‖W‖²), else ``grad``."""
        if self.weight_decay_lambda and key in self._decayed:
            return grad + self.weight_decay_lambda * self.params[key]
        return grad

    # -- saving and loading -----------------------------------------------------------------
    def to_config(self) -> dict:
        """JSON-able description from which :func:`layerprop.nets.build_network` rebuilds the network.

        Subclasses store their constructor arguments in ``self._config``.
        """
        if not hasattr(self, "_config"):
            raise NotImplementedError(f"{type(self).__name__} does not describe itself for saving")
        return {"class": type(self).__name__, **self._config, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config: dict):
        """Build a network (with fresh weights) from the dict :meth:`to_config` returned."""
        return cls(**{key: value for key, value in config.items() if key != "class"})

    def reseed(self, seed):
        """Seed every random layer (Dropout) from ``seed``: layer i gets the stream (seed, i)."""
        seed = list(seed) if isinstance(seed, (list, tuple)) else [seed]
        for i, layer in enumerate(self.layers.values()):
            layer.reseed([*seed, i])

    def state_dict(self) -> dict:
        """Every array needed to restore the network: ``params`` and layer buffers (e.g. BatchNorm's running mean)."""
        state = dict(self.params)
        for name, layer in self.layers.items():
            for key, value in layer.buffers.items():
                if value is not None:
                    state[f"{name}.{key}"] = value
        return state

    def load_state_dict(self, state: dict):
        """Copy arrays from ``state`` into the network, in place; missing or misshapen entries raise."""
        device, xp = self.device, self.xp
        for key, array in self.params.items():
            if key not in state:
                raise ModelFileError(f"{type(self).__name__}: parameter {key!r} is missing from the saved state")
            value = state[key]
            shape = value.shape if hasattr(value, "shape") else np.shape(value)
            if shape != array.shape:
                raise ShapeError(
                    f"{type(self).__name__}: parameter {key!r} has shape {shape} in the saved state, "
                    f"but the network expects {array.shape}"
                )
            xp.copyto(array, to_device(value, device), casting="same_kind")
        for name, layer in self.layers.items():
            for key in layer.buffers:
                full = f"{name}.{key}"
                if full in state:
                    layer.set_buffer(key, to_device(state[full], device).astype(self.dtype, copy=True))

    def set_input_gradient(self, needed: bool):
        """Whether the first layer computes dx (nothing consumes it in training, so networks skip it)."""
        first = next(iter(self.layers.values()), None)
        if first is not None and hasattr(first, "input_grad"):
            first.input_grad = needed

    def parameters_by_layer(self) -> list:
        """``[(layer name, layer, {layer's key: params key}), …]`` for every layer, in forward order.

        E.g. ``('Affine1', <Affine>, {'W': 'W1', 'b': 'b1'})``; a layer without parameters maps ``{}``.
        ``self.params[params key]`` is the very array ``layer.params[layer's key]``.
        """
        keys: dict = {}
        for key, (layer, layer_key) in self._param_sources.items():
            keys.setdefault(id(layer), {})[layer_key] = key
        return [(name, layer, dict(keys.get(id(layer), {}))) for name, layer in self.layers.items()]

    def __repr__(self):
        inner = " → ".join(self.layers) + f" → {type(self.last_layer).__name__}"
        return f"{type(self).__name__}({inner}, dtype={self.dtype.name})"

    def _repr_svg_(self):
        """In a notebook: the network's layers as a graph, with values and gradients (see layerprop.notebook)."""
        return show(self, "svg")

    def _repr_html_(self):
        return show(self, "html")

"""Export a network to ONNX (inference form), to run it in ONNX Runtime or look at it in Netron.

Each layer becomes one ONNX node named like the layer (``Affine1``, ``Conv1``, …), its parameters
initializers named ``<layer>.<key>`` (``Affine1.W``, ``Conv1.b``), in float32:

=====================  ===============================================================
layer                  ONNX
=====================  ===============================================================
Affine                 Gemm(x, W, b)  (y = x·W + b; a Flatten node first when x has more than 2 axes)
Relu, Sigmoid, Tanh    Relu, Sigmoid, Tanh
Convolution            Conv(x, W, b), strides and pads of the layer
Pooling, AvgPooling    MaxPool, AveragePool (count_include_pad = 1, as layerprop counts padding)
Flatten                Flatten(axis = 1)
Dropout                Mul by (1 − ratio): the book's Dropout scales at inference (ONNX's would not)
BatchNormalization     BatchNormalization with the running mean and variance, ε = 1e-7
                       (inputs with more than 2 axes: Flatten → BatchNormalization → Reshape, since
                       layerprop normalises each feature, not each channel)
=====================  ===============================================================

The graph has one input ``x`` — (N, D) for fully connected networks, (N, C, H, W) for convolutional
ones, N left symbolic — and the outputs ``scores`` (what ``network.predict`` returns) and, for a
SoftmaxWithLoss (SigmoidWithLoss) network, ``probabilities`` = Softmax(scores) (Sigmoid(scores)).
A layer that has no ONNX form raises :class:`~layerprop.errors.ExportError` naming it.
Needs the ``[onnx]`` extra (``pip install 'layerprop[onnx]'``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ExportError, missing_extra

__all__ = ["EXPORTABLE_LAYERS", "OPSET", "export_onnx", "to_onnx"]

OPSET = 17
EXPORTABLE_LAYERS = (
    "Affine",
    "Relu",
    "Sigmoid",
    "Tanh",
    "Convolution",
    "Pooling",
    "AvgPooling",
    "Flatten",
    "Dropout",
    "BatchNormalization",
)


def _onnx():
    try:
        import onnx
    except ImportError:
        raise missing_extra("onnx", "onnx", "Exporting to ONNX") from None
    return onnx


def input_shape_of(network) -> tuple:
    """(None, D) or (None, C, H, W): the input of ``network``, batch size left open."""
    config = getattr(network, "_config", {})  # the constructor arguments of the book's networks
    if "input_dim" in config:
        return (None, *(int(d) for d in config["input_dim"]))
    first = next(iter(network.layers.values()), None)
    if type(first).__name__ == "Affine":
        return (None, int(first.W.shape[0]))
    if "input_size" in config:
        return (None, int(config["input_size"]))
    raise ExportError(f"cannot tell the input shape of {type(network).__name__}: pass input_shape=(C, H, W) or (D,)")


class _Builder:
    """Collects nodes and float32 initializers while walking the layers."""

    def __init__(self, onnx):
        self.onnx = onnx
        self.helper = onnx.helper
        self.nodes = []
        self.initializers = []

    def constant(self, name, value, dtype=np.float32):
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(value, dtype=dtype), name))
        return name

    def node(self, op, inputs, output, name, **attributes):
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=name, **attributes))
        return output


def _layer_nodes(b: _Builder, name: str, layer, x: str, in_shape: tuple, out_shape: tuple) -> str:
    """Add the nodes for one layer reading tensor ``x``; return the name of its output tensor."""
    kind = type(layer).__name__
    if kind == "Affine":
        if len(in_shape) > 2:
            x = b.node("Flatten", [x], f"{name}/flat", f"{name}/Flatten", axis=1)
        return b.node("Gemm", [x, b.constant(f"{name}.W", layer.W), b.constant(f"{name}.b", layer.b)], name, name)
    if kind in ("Relu", "Sigmoid", "Tanh"):
        return b.node(kind, [x], name, name)
    if kind == "Convolution":
        FH, FW = layer.W.shape[2:]
        return b.node(
            "Conv",
            [x, b.constant(f"{name}.W", layer.W), b.constant(f"{name}.b", layer.b)],
            name,
            name,
            kernel_shape=[FH, FW],
            strides=[layer.stride] * 2,
            pads=[layer.pad] * 4,
        )
    if kind in ("Pooling", "AvgPooling"):
        attributes = dict(kernel_shape=[layer.pool_h, layer.pool_w], strides=[layer.stride] * 2, pads=[layer.pad] * 4)
        if kind == "AvgPooling":
            return b.node("AveragePool", [x], name, name, count_include_pad=1, **attributes)
        return b.node("MaxPool", [x], name, name, **attributes)
    if kind == "Flatten":
        return b.node("Flatten", [x], name, name, axis=1)
    if kind == "Dropout":
        return b.node("Mul", [x, b.constant(f"{name}.scale", 1.0 - layer.dropout_ratio)], name, name)
    if kind == "BatchNormalization":
        params = [
            b.constant(f"{name}.{key}", value)
            for key, value in (
                ("gamma", layer.gamma),
                ("beta", layer.beta),
                ("running_mean", layer.running_mean),
                ("running_var", layer.running_var),
            )
        ]
        if len(in_shape) == 2:
            return b.node("BatchNormalization", [x, *params], name, name, epsilon=float(layer.eps))
        flat = b.node("Flatten", [x], f"{name}/flat", f"{name}/Flatten", axis=1)
        normed = b.node("BatchNormalization", [flat, *params], f"{name}/normalized", name, epsilon=float(layer.eps))
        shape = b.constant(f"{name}.shape", [-1, *out_shape[1:]], dtype=np.int64)
        return b.node("Reshape", [normed, shape], name, f"{name}/Reshape")
    raise ExportError(f"cannot export layer {name!r} of type {kind} to ONNX")


def to_onnx(network, input_shape=None, opset: int = OPSET):
    """The ONNX ``ModelProto`` of ``network`` in inference form (see the module docstring).

    ``input_shape`` is one sample's shape, (D,) or (C, H, W); by default it comes from the network.
    """
    onnx = _onnx()
    helper = onnx.helper
    for name, layer in network.layers.items():  # refuse before computing anything
        kind = type(layer).__name__
        if kind not in EXPORTABLE_LAYERS:
            raise ExportError(
                f"cannot export layer {name!r} of type {kind} to ONNX; "
                f"exportable layers: {', '.join(EXPORTABLE_LAYERS)}"
            )
        if kind == "BatchNormalization" and layer.running_mean is None:
            raise ExportError(f"layer {name!r} (BatchNormalization) has no running mean yet: train or load it first")
    shape = input_shape_of(network) if input_shape is None else (None, *(int(d) for d in input_shape))
    b = _Builder(onnx)
    probe = np.zeros((1, *shape[1:]), dtype=network.dtype)
    tensor = "x"
    for name, layer in network.layers.items():
        out = layer.forward(probe, False) if getattr(layer, "has_train_mode", False) else layer.forward(probe)
        tensor = _layer_nodes(b, name, layer, tensor, probe.shape, out.shape)
        probe = out
    b.nodes.append(helper.make_node("Identity", [tensor], ["scores"], name="scores"))
    output_names = ["scores"]
    loss = type(getattr(network, "last_layer", None)).__name__
    if loss == "SoftmaxWithLoss":
        output_names.append(b.node("Softmax", ["scores"], "probabilities", "Softmax", axis=-1))
    elif loss == "SigmoidWithLoss":
        output_names.append(b.node("Sigmoid", ["scores"], "probabilities", "SigmoidOutput"))
    outputs = [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, ["N", *probe.shape[1:]]) for n in output_names]
    inputs = [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", *shape[1:]])]
    graph = helper.make_graph(b.nodes, type(network).__name__, inputs, outputs, b.initializers)
    opset_imports = [helper.make_opsetid("", int(opset))]
    model = helper.make_model(
        graph, opset_imports=opset_imports, producer_name="layerprop", producer_version=_version()
    )
    # the oldest IR version that knows the opset (8 for opset 17), so older runtimes read the file too
    model.ir_version = helper.find_min_ir_version_for(opset_imports)
    model.doc_string = repr(network)
    onnx.checker.check_model(model)
    return model


def _version() -> str:
    from .. import __version__

    return __version__


def export_onnx(network, path, input_shape=None, opset: int = OPSET) -> Path:
    """Write ``network`` as an ONNX file at ``path`` (atomically); returns the path."""
    from ..storage.atomic import write_bytes

    model = to_onnx(network, input_shape, opset)
    return write_bytes(Path(os.fspath(path)), model.SerializeToString())

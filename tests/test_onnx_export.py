"""ONNX export: every network the library builds runs in ONNX Runtime with layerprop's results."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from layerprop import layers as L
from layerprop.cli import main
from layerprop.errors import ExportError
from layerprop.interop.onnx_export import export_onnx, to_onnx
from layerprop.io import save_model
from layerprop.layers import softmax
from layerprop.nets import (
    DeepConvNet,
    MultiLayerNet,
    MultiLayerNetExtend,
    Sequential,
    SimpleConvNet,
    ThreeLayerNet,
    TwoLayerNet,
)

F32 = "float32"


def _trained_batchnorm(net, x, t):
    """Give BatchNormalization layers running statistics (a few gradient steps in training mode)."""
    for _ in range(3):
        grads = net.gradient(x, t)
        for key in net.params:
            net.params[key] -= 0.1 * grads[key]
    return net


def _rng_sequential():
    rng = np.random.default_rng(3)
    dt = np.float32
    conv = L.Convolution(rng.standard_normal((4, 2, 3, 3)).astype(dt), rng.standard_normal(4).astype(dt), 1, 1)
    conv2 = L.Convolution(rng.standard_normal((3, 4, 2, 2)).astype(dt), rng.standard_normal(3).astype(dt), 2, 0)
    features = 3 * 3 * 3  # conv2's output (3, 3, 3): BatchNormalization normalises each of these features
    bn = L.BatchNormalization(
        rng.random(features).astype(dt) + 0.5,
        rng.standard_normal(features).astype(dt),
        running_mean=rng.standard_normal(features).astype(dt),
        running_var=rng.random(features).astype(dt) + 0.1,
    )
    return Sequential(
        [
            conv,
            L.Tanh(),
            L.AvgPooling(2, 2, stride=1, pad=1),
            conv2,
            bn,
            L.Sigmoid(),
            L.Pooling(2, 2, stride=1),
            L.Flatten(),
            L.Dropout(0.3),
            L.Affine(rng.standard_normal((12, 5)).astype(dt), np.zeros(5, dt)),
        ]
    )


def _networks():
    rng = np.random.default_rng(0)
    x20, t20 = rng.random((16, 20)).astype(np.float32), rng.integers(0, 5, 16)
    return {
        "TwoLayerNet": (TwoLayerNet(784, 50, 10, dtype=F32, seed=0), None),
        "ThreeLayerNet": (ThreeLayerNet(dtype=F32, seed=0), None),
        "MultiLayerNet tanh": (MultiLayerNet(20, [16, 8], 5, activation="tanh", dtype=F32, seed=0), None),
        "MultiLayerNetExtend bn+dropout": (
            _trained_batchnorm(
                MultiLayerNetExtend(
                    20,
                    [16, 8],
                    5,
                    activation="sigmoid",
                    use_dropout=True,
                    dropout_ration=0.2,
                    use_batchnorm=True,
                    dtype=F32,
                    seed=0,
                ),
                x20,
                t20,
            ),
            None,
        ),
        "SimpleConvNet": (SimpleConvNet(dtype=F32, seed=0, weight_init_std="he"), None),
        "DeepConvNet": (DeepConvNet(dtype=F32, seed=0), None),
        "Sequential conv/avgpool/bn4d/maxpool/dropout": (_rng_sequential(), (2, 6, 6)),
    }


NETWORKS = _networks()


def _run(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})


@pytest.mark.parametrize("name", list(NETWORKS))
def test_onnx_runtime_agrees_with_layerprop(name):
    net, input_shape = NETWORKS[name]
    model = to_onnx(net, input_shape)
    onnx.checker.check_model(model, full_check=True)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N"
    shape = tuple(d.dim_value for d in dims[1:])
    x = np.random.default_rng(1).random((5, *shape)).astype(np.float32)
    expected = net.predict(x)
    scores, probabilities = _run(model, x)
    assert scores.dtype == np.float32 and expected.dtype == np.float32
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(probabilities, softmax(expected), rtol=1e-5, atol=1e-5)
    # node and initializer names are the layer names
    node_names = {node.name for node in model.graph.node}
    assert set(net.layers) <= node_names
    initializers = {init.name for init in model.graph.initializer}
    for layer_name, layer in net.layers.items():
        for key in layer.params:
            assert f"{layer_name}.{key}" in initializers


def test_book_layers_map_to_the_expected_onnx_ops():
    ops = [node.op_type for node in to_onnx(NETWORKS["DeepConvNet"][0]).graph.node]
    assert ops.count("Conv") == 6 and ops.count("MaxPool") == 3 and ops.count("Gemm") == 2
    assert ops.count("Mul") == 2  # the two Dropout layers at inference: × (1 − ratio)
    assert ops[-1] == "Softmax" and "Flatten" in ops
    seq_ops = [node.op_type for node in to_onnx(*NETWORKS["Sequential conv/avgpool/bn4d/maxpool/dropout"]).graph.node]
    assert {"AveragePool", "BatchNormalization", "Reshape", "Tanh", "Sigmoid"} <= set(seq_ops)


def test_not_exportable_layers_are_named(tmp_path):
    net = Sequential([L.Affine(np.ones((3, 2)), np.zeros(2)), L.ExpLayer()])
    with pytest.raises(ExportError, match="layer 'ExpLayer1' of type ExpLayer"):
        export_onnx(net, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
    conv_only = Sequential([L.Convolution(np.ones((1, 1, 2, 2)), np.zeros(1))])
    with pytest.raises(ExportError, match="input shape"):
        to_onnx(conv_only)
    fresh_bn = Sequential([L.Affine(np.ones((3, 2)), np.zeros(2)), L.BatchNormalization(np.ones(2), np.zeros(2))])
    with pytest.raises(ExportError, match="no running mean"):
        to_onnx(fresh_bn)


def test_cli_export_from_a_model_file(tmp_path, capsys):
    net = NETWORKS["SimpleConvNet"][0]
    model_path = save_model(tmp_path / "model.npz", net)
    out = tmp_path / "model.onnx"
    assert main(["export", str(model_path), "-o", str(out)]) == 0
    assert "SimpleConvNet" in capsys.readouterr().out
    loaded = onnx.load(str(out))
    onnx.checker.check_model(loaded)
    x = np.random.default_rng(2).random((3, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(_run(loaded, x)[0], net.predict(x), rtol=1e-5, atol=1e-5)


def test_cli_export_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["export", str(tmp_path / "missing.npz"), "-o", str(tmp_path / "m.onnx")])
    assert info.value.code == 2 and "no such model file" in capsys.readouterr().err
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    assert main(["export", str(tmp_path / "bad.npz"), "-o", str(tmp_path / "m.onnx")]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "m.onnx").exists()


def test_float64_networks_export_as_float32():
    net = TwoLayerNet(6, 4, 3, seed=0)  # float64 like the book
    model = to_onnx(net)
    assert all(init.data_type == onnx.TensorProto.FLOAT for init in model.graph.initializer)
    x = np.random.default_rng(0).random((2, 6))
    np.testing.assert_allclose(_run(model, x.astype(np.float32))[0], net.predict(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "loss, outputs", [(L.SigmoidWithLoss, ["scores", "probabilities"]), (L.MeanSquaredError, ["scores"])]
)
def test_outputs_follow_the_loss_layer(loss, outputs):
    rng = np.random.default_rng(4)
    net = Sequential([L.Affine(rng.standard_normal((6, 3)).astype(np.float32), np.zeros(3, np.float32))], loss())
    model = to_onnx(net)
    assert [o.name for o in model.graph.output] == outputs
    x = rng.random((4, 6)).astype(np.float32)
    results = _run(model, x)
    np.testing.assert_allclose(results[0], net.predict(x), rtol=1e-5, atol=1e-5)
    if len(results) == 2:
        np.testing.assert_allclose(results[1], 1 / (1 + np.exp(-net.predict(x))), rtol=1e-5, atol=1e-6)

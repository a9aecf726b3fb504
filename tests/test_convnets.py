"""SimpleConvNet and DeepConvNet: gradients, saving and loading, float32 training (issue 4)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from layerprop.gradcheck import check_network
from layerprop.layers import Convolution, Dropout, Pooling
from layerprop.nets import NETWORKS, DeepConvNet, SimpleConvNet, build_network

TOL = 1e-6


def cp(filters, size=3, pad=1, stride=1):
    return {"filter_num": filters, "filter_size": size, "pad": pad, "stride": stride}


def tiny_simple(dtype="float64", seed=0):
    return SimpleConvNet(
        input_dim=(2, 7, 9),
        conv_param=cp(3, 3, 1, 1),
        hidden_size=5,
        output_size=4,
        weight_init_std=0.3,
        dtype=dtype,
        seed=seed,
    )


def tiny_deep(dropout_ratio=0.0, dtype="float64", seed=0):
    return DeepConvNet(
        input_dim=(1, 8, 8),
        conv_param_1=cp(3),
        conv_param_2=cp(3),
        conv_param_3=cp(4),
        conv_param_4=cp(4, pad=2),
        conv_param_5=cp(3),
        conv_param_6=cp(3),
        hidden_size=5,
        output_size=3,
        dropout_ratio=dropout_ratio,
        dtype=dtype,
        seed=seed,
    )


def randomise_biases(net, seed):
    """Non-zero biases keep pre-activations away from ReLU's kink, where central differences fail."""
    rng = np.random.default_rng(seed)
    for key, value in net.params.items():
        if key.startswith("b"):
            value[...] = rng.uniform(0.05, 0.3, value.shape)


def test_simple_convnet_structure_is_the_books():
    net = SimpleConvNet(seed=0)
    assert list(net.layers) == ["Conv1", "Relu1", "Pool1", "Affine1", "Relu2", "Affine2"]
    shapes = {key: value.shape for key, value in net.params.items()}
    assert shapes == {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (4320, 100), "b2": (100,), "W3": (100, 10), "b3": (10,)}
    assert net.layers["Conv1"].input_grad is False
    pool = net.layers["Pool1"]
    assert isinstance(pool, Pooling) and (pool.pool_h, pool.pool_w, pool.stride) == (2, 2, 2)
    assert type(net.last_layer).__name__ == "SoftmaxWithLoss"
    assert NETWORKS["SimpleConvNet"] is SimpleConvNet and NETWORKS["DeepConvNet"] is DeepConvNet


def test_simple_convnet_gradient_matches_numerical():
    net = tiny_simple()
    randomise_biases(net, 1)
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((3, 2, 7, 9)), np.array([0, 3, 1])
    report = check_network(net, x, t)
    assert [r.name for r in report.rows] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert report.max_rel_error < TOL, str(report)


def test_deep_convnet_structure_is_the_books():
    net = DeepConvNet(seed=0)
    expected = [
        "Conv1",
        "Relu1",
        "Conv2",
        "Relu2",
        "Pool1",
        "Conv3",
        "Relu3",
        "Conv4",
        "Relu4",
        "Pool2",
        "Conv5",
        "Relu5",
        "Conv6",
        "Relu6",
        "Pool3",
        "Affine1",
        "Relu7",
        "Dropout1",
        "Affine2",
        "Dropout2",
    ]
    assert list(net.layers) == expected
    assert net.params["W6"].shape == (64, 64, 3, 3) and net.params["W7"].shape == (64 * 4 * 4, 50)
    assert net.params["W8"].shape == (50, 10)
    assert net.layers["Conv1"].input_grad is False and net.layers["Conv2"].input_grad is True
    assert all(isinstance(net.layers[f"Dropout{i}"], Dropout) for i in (1, 2))
    assert net.layers["Dropout1"].dropout_ratio == 0.5
    # He initialisation: std ≈ √(2 / fan_in)
    for key, fan_in in (("W2", 16 * 9), ("W6", 64 * 9), ("W7", 1024)):
        assert net.params[key].std() == pytest.approx(np.sqrt(2.0 / fan_in), rel=0.1)


def test_deep_convnet_gradient_matches_numerical():
    net = tiny_deep(dropout_ratio=0.0)
    randomise_biases(net, 0)
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((2, 1, 8, 8)), np.array([0, 2])
    report = check_network(net, x, t)
    assert len(report.rows) == 16
    assert report.max_rel_error < TOL, str(report)


def test_deep_convnet_gradient_with_dropout_masks_fixed_by_reseeding():
    net = tiny_deep(dropout_ratio=0.5)
    randomise_biases(net, 0)
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((2, 1, 8, 8)), np.array([0, 2])
    loss = net.loss

    def same_masks_loss(x, t, train_flg=False):
        net.reseed(7)  # every evaluation draws the same dropout masks
        return loss(x, t, train_flg)

    net.loss = same_masks_loss
    report = check_network(net, x, t, keys=["W1", "b4", "W6", "W7", "b7", "W8", "b8"])
    assert report.max_rel_error < TOL, str(report)


@pytest.mark.parametrize("make", [tiny_simple, tiny_deep], ids=["simple", "deep"])
def test_config_and_state_dict_round_trip(make):
    net = make(dtype="float32", seed=3)
    config = json.loads(json.dumps(net.to_config()))
    assert config["class"] == type(net).__name__ and config["dtype"] == "float32"
    clone = build_network(config)
    assert type(clone) is type(net) and clone.dtype == np.float32
    clone.load_state_dict({k: np.array(v) for k, v in net.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, *config["input_dim"])).astype(np.float32)
    np.testing.assert_array_equal(clone.predict(x), net.predict(x))
    assert type(net).from_config(net.to_config()).to_config() == net.to_config()


def test_seed_makes_weights_repeatable():
    a, b, c = tiny_simple(seed=5), tiny_simple(seed=5), tiny_simple(seed=6)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


@pytest.mark.parametrize("make", [tiny_simple, tiny_deep], ids=["simple", "deep"])
def test_float32_network_trains(make):
    net = make(dtype="float32", seed=0)
    rng = np.random.default_rng(1)
    config = net.to_config()
    x = rng.standard_normal((8, *config["input_dim"])).astype(np.float32)
    t = rng.integers(0, config["output_size"], 8)
    first = float(net.loss(x, t))
    for _ in range(30):
        grads = net.gradient(x, t)
        for key, param in net.params.items():
            assert grads[key].dtype == np.float32, key
            param -= 0.1 * grads[key]
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert net.predict(x).dtype == np.float32
    assert float(net.loss(x, t)) < 0.9 * first


def test_networks_reject_inputs_that_do_not_fit():
    from layerprop.errors import ShapeError

    with pytest.raises(ShapeError, match="Convolution"):
        tiny_simple().predict(np.zeros((2, 3, 7, 9)))  # 3 channels, the filters expect 2
    with pytest.raises(ShapeError, match="larger than"):
        SimpleConvNet(input_dim=(1, 4, 4), conv_param=cp(2, 5, 0, 1))
    with pytest.raises(ValueError, match="conv_param"):
        SimpleConvNet(conv_param={"filter_num": 3})
    assert isinstance(tiny_simple().layers["Conv1"], Convolution)


def test_sequential_saves_and_rebuilds_conv_layers():
    from layerprop.layers import Affine, AvgPooling, Flatten, Relu
    from layerprop.nets import Sequential

    rng = np.random.default_rng(0)
    f32 = np.float32
    net = Sequential(
        [
            Convolution(rng.standard_normal((3, 2, 3, 3)).astype(f32), rng.standard_normal(3).astype(f32), 1, 1),
            Relu(),
            Pooling(2, 2),
            AvgPooling(2, 1, stride=1),
            Flatten(),
            Affine(rng.standard_normal((3 * 2 * 3, 4)).astype(f32), np.zeros(4, f32)),
        ]
    )
    assert net.layers["Convolution1"].input_grad is False
    config = json.loads(json.dumps(net.to_config()))
    clone = build_network(config)
    clone.load_state_dict(net.state_dict())
    x = rng.standard_normal((2, 2, 6, 7)).astype(f32)
    np.testing.assert_array_equal(clone.predict(x), net.predict(x))
    assert [type(layer).__name__ for layer in clone.layers.values()] == [
        "Convolution",
        "Relu",
        "Pooling",
        "AvgPooling",
        "Flatten",
        "Affine",
    ]

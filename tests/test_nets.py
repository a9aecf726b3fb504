"""Networks (issue 3): backprop against numerical gradients for every network class, the book's
usage (``params`` updated in place, ``numerical_gradient`` vs ``gradient``), float32, training-mode
layers in networks, saving/rebuilding, ``build_network`` and ``accuracy``."""

from __future__ import annotations

import numpy as np
import pytest

from layerprop import layers as L
from layerprop.errors import ModelFileError
from layerprop.gradcheck import check_network
from layerprop.nets import (
    NETWORKS,
    DeepConvNet,
    MultiLayerNet,
    MultiLayerNetExtend,
    Sequential,
    SimpleConvNet,
    TwoLayerNet,
    build_network,
)

IN, HIDDEN, OUT, BATCH = 6, [5, 4], 3, 4
TOL = 1e-6


def tiny_data(seed=0, n=BATCH, one_hot=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, IN))
    t = rng.integers(0, OUT, n)
    if one_hot:
        t = np.eye(OUT)[t]
    return x, t


def affine(rng, n_in, n_out, dtype=np.float64):
    return L.Affine(
        rng.standard_normal((n_in, n_out)).astype(dtype) * 0.5, rng.standard_normal(n_out).astype(dtype) * 0.1
    )


def batchnorm(rng, size, dtype=np.float64):
    # gamma/beta away from their initial 1/0, so their gradients are checked in general position
    return L.BatchNormalization(
        (1.0 + 0.2 * rng.standard_normal(size)).astype(dtype), (0.1 * rng.standard_normal(size)).astype(dtype)
    )


def freeze_dropout_masks(net, seed=123):
    """Make every Dropout layer of ``net`` draw the same mask on every forward pass.

    Dropout draws a fresh random mask on each training-mode forward, so the loss that numerical
    differentiation evaluates (two forwards per parameter element) would be a different random
    function every time and could never match backprop. Re-seeding the layer's generator right
    before each forward keeps the real Dropout code path (a real random mask with zeros, the same
    forward/backward) but makes the loss a fixed, deterministic function of the parameters — which
    is exactly the function whose gradient ``gradient()`` computes for that mask.
    """
    frozen = []
    for i, layer in enumerate(net.layers.values()):
        if isinstance(layer, L.Dropout):
            original = layer.forward

            def forward(x, train_flg=True, _layer=layer, _original=original, _seed=(seed, i)):
                _layer.reseed(list(_seed))
                return _original(x, train_flg)

            layer.forward = forward
            frozen.append(layer)
    return frozen


# --------------------------------------------------------------------------- gradient checks
def _two_layer():
    return TwoLayerNet(IN, 5, OUT, weight_init_std=0.5, seed=1), tiny_data()


def _multi_relu_decay():
    return MultiLayerNet(
        IN, HIDDEN, OUT, activation="relu", weight_init_std="he", weight_decay_lambda=0.1, seed=2
    ), tiny_data()


def _multi_sigmoid_decay():
    return MultiLayerNet(
        IN, HIDDEN, OUT, activation="sigmoid", weight_init_std="xavier", weight_decay_lambda=0.1, seed=3
    ), tiny_data(one_hot=True)


def _extend_batchnorm():
    net = MultiLayerNetExtend(IN, HIDDEN, OUT, use_batchnorm=True, weight_decay_lambda=0.05, seed=4)
    rng = np.random.default_rng(40)
    for key in net.params:  # move gamma/beta (and the zero biases) away from their initial values
        if key.startswith(("gamma", "beta", "b")):
            net.params[key] += 0.1 * rng.standard_normal(net.params[key].shape)
    return net, tiny_data(seed=1, n=6)


def _extend_dropout():
    net = MultiLayerNetExtend(IN, HIDDEN, OUT, use_dropout=True, dropout_ration=0.3, seed=5)
    frozen = freeze_dropout_masks(net)
    assert len(frozen) == len(HIDDEN)
    return net, tiny_data(seed=2)


def _extend_dropout_batchnorm_tanh():
    net = MultiLayerNetExtend(
        IN,
        HIDDEN,
        OUT,
        activation="tanh",
        weight_init_std="xavier",
        use_dropout=True,
        dropout_ration=0.25,
        use_batchnorm=True,
        seed=6,
    )
    freeze_dropout_masks(net)
    return net, tiny_data(seed=3, n=6)


def _sequential_softmax():
    rng = np.random.default_rng(7)
    net = Sequential(
        [affine(rng, IN, 5), batchnorm(rng, 5), L.Relu(), affine(rng, 5, 4), L.Sigmoid(), affine(rng, 4, OUT)],
        L.SoftmaxWithLoss(),
    )
    return net, tiny_data(seed=4, n=6)


def _sequential_mse():
    rng = np.random.default_rng(8)
    net = Sequential(
        [affine(rng, IN, 5), L.Tanh(), affine(rng, 5, 4), L.Sigmoid(), affine(rng, 4, OUT)],
        L.MeanSquaredError(),
        weight_decay_lambda=0.01,
    )
    x, _ = tiny_data(seed=5)
    return net, (x, rng.standard_normal((BATCH, OUT)))


def _sequential_sigmoid_loss():
    rng = np.random.default_rng(9)
    net = Sequential(
        [affine(rng, IN, 5), L.Relu(), affine(rng, 5, 4), batchnorm(rng, 4), L.Tanh(), affine(rng, 4, OUT)],
        L.SigmoidWithLoss(),
    )
    x, _ = tiny_data(seed=6, n=6)
    return net, (x, rng.integers(0, 2, (6, OUT)).astype(np.float64))


GRADCHECK_CASES = {
    "TwoLayerNet": _two_layer,
    "MultiLayerNet-relu-decay": _multi_relu_decay,
    "MultiLayerNet-sigmoid-decay": _multi_sigmoid_decay,
    "MultiLayerNetExtend-batchnorm": _extend_batchnorm,
    "MultiLayerNetExtend-dropout": _extend_dropout,
    "MultiLayerNetExtend-dropout-batchnorm-tanh": _extend_dropout_batchnorm_tanh,
    "Sequential-SoftmaxWithLoss": _sequential_softmax,
    "Sequential-MeanSquaredError": _sequential_mse,
    "Sequential-SigmoidWithLoss": _sequential_sigmoid_loss,
}


def biases_before_batchnorm(net) -> set:
    """Keys of the biases of Affine layers followed by BatchNormalization.

    Their exact gradient is 0 (BatchNorm subtracts the batch mean, so a constant shift of its input
    changes nothing): backprop gives 0 up to ~1e-17 and numerical differentiation gives only the
    round-off of its difference quotient, about eps·|loss|/h ≈ 1e-12. gradcheck's relative error
    divides that by its floor of 1e-7 (GRADIENT_FLOOR), which gives ~1e-5 — noise, not a wrong
    gradient. So these rows are checked by their absolute error (and by backprop returning 0)
    instead of the relative one.
    """
    names = list(net.layers)
    keys = set()
    for key, (layer, layer_key) in net._param_sources.items():
        i = names.index(next(n for n, lay in net.layers.items() if lay is layer))
        if layer_key == "b" and i + 1 < len(names) and isinstance(net.layers[names[i + 1]], L.BatchNormalization):
            keys.add(key)
    return keys


def assert_gradients_match(net, report, case=""):
    zero_grad = biases_before_batchnorm(net)
    for row in report.rows:
        if row.name in zero_grad:
            assert np.abs(row.analytic).max() < 1e-14, f"{case} {row.name}:\n{report}"
            assert row.max_abs_error < 1e-10, f"{case} {row.name}:\n{report}"
        else:
            assert row.rel_error < TOL, f"{case} {row.name}:\n{report}"


@pytest.mark.parametrize("case", list(GRADCHECK_CASES))
def test_backprop_matches_numerical_gradient(case):
    net, (x, t) = GRADCHECK_CASES[case]()
    assert net.dtype == np.float64
    report = check_network(net, x, t)
    assert [row.name for row in report.rows] == list(net.params)
    assert_gradients_match(net, report, case)
    if not biases_before_batchnorm(net):
        assert report.max_rel_error < TOL, f"{case}:\n{report}"
    # the check compared real gradients, not zeros against zeros
    assert max(float(np.abs(row.analytic).max()) for row in report.rows) > 1e-3


def test_dropout_gradient_check_really_drops_units():
    net, (x, t) = _extend_dropout()
    net.gradient(x, t)
    masks = [layer.mask for layer in net.layers.values() if isinstance(layer, L.Dropout)]
    assert all(m.dtype == bool for m in masks)
    assert any((~m).any() for m in masks)  # some units are dropped …
    assert all(m.any() for m in masks)  # … but not all


def test_book_numerical_gradient_vs_gradient():
    """The book's gradient check (ch. 5): same keys, mean |difference| tiny."""
    net = TwoLayerNet(input_size=IN, hidden_size=5, output_size=OUT, weight_init_std=0.5, seed=10)
    x, t = tiny_data(seed=7, one_hot=True)
    grad_numerical = net.numerical_gradient(x, t)
    grad_backprop = net.gradient(x, t)
    assert set(grad_numerical) == set(grad_backprop) == {"W1", "b1", "W2", "b2"}
    for key in grad_numerical:
        assert grad_backprop[key].shape == net.params[key].shape
        diff = np.average(np.abs(grad_backprop[key] - grad_numerical[key]))
        assert diff < 1e-8, key
        np.testing.assert_allclose(grad_backprop[key], grad_numerical[key], rtol=1e-5, atol=1e-8)


def test_numerical_gradient_leaves_params_unchanged():
    net = MultiLayerNet(IN, HIDDEN, OUT, seed=11)
    before = {k: v.copy() for k, v in net.params.items()}
    net.numerical_gradient(*tiny_data())
    assert all(np.array_equal(before[k], net.params[k]) for k in before)


def test_book_style_in_place_update_changes_predictions():
    net = TwoLayerNet(IN, 5, OUT, weight_init_std=0.5, seed=12)
    x, t = tiny_data(seed=8)
    ids = {key: id(net.params[key]) for key in net.params}
    before_pred, before_loss = net.predict(x).copy(), net.loss(x, t)
    lr = 0.5
    for _ in range(5):
        grad = net.gradient(x, t)
        for key in ("W1", "b1", "W2", "b2"):
            net.params[key] -= lr * grad[key]
    assert {key: id(net.params[key]) for key in net.params} == ids  # same arrays, updated in place
    assert not np.allclose(net.predict(x), before_pred)
    assert net.loss(x, t) < before_loss
    # the layers compute with the very arrays of params
    assert net.layers["Affine1"].W is net.params["W1"]
    assert net.layers["Affine2"].b is net.params["b2"]


def test_book_attribute_names():
    net = TwoLayerNet(IN, 5, OUT, seed=0)
    assert list(net.layers) == ["Affine1", "Relu1", "Affine2"]
    assert net.lastLayer is net.last_layer
    assert isinstance(net.last_layer, L.SoftmaxWithLoss)
    net = MultiLayerNetExtend(IN, HIDDEN, OUT, use_batchnorm=True, use_dropout=True)
    assert set(net.params) == {"W1", "b1", "W2", "b2", "W3", "b3", "gamma1", "beta1", "gamma2", "beta2"}
    assert net.hidden_layer_num == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda: TwoLayerNet(IN, 5, OUT, dtype="float32", seed=0),
        lambda: MultiLayerNet(IN, HIDDEN, OUT, weight_decay_lambda=0.1, dtype=np.float32, seed=0),
        lambda: MultiLayerNetExtend(
            IN, HIDDEN, OUT, use_batchnorm=True, use_dropout=True, weight_decay_lambda=0.1, dtype="float32", seed=0
        ),
        lambda: Sequential(
            [
                affine(np.random.default_rng(0), IN, 5, np.float32),
                L.BatchNormalization(np.ones(5, np.float32), np.zeros(5, np.float32)),
                L.Tanh(),
                affine(np.random.default_rng(1), 5, OUT, np.float32),
            ]
        ),
    ],
    ids=["TwoLayerNet", "MultiLayerNet", "MultiLayerNetExtend", "Sequential"],
)
def test_float32_network_stays_float32(make):
    net = make()
    assert net.dtype == np.float32
    x, t = tiny_data(seed=9)  # float64 input: converted to the network's dtype
    assert all(p.dtype == np.float32 for p in net.params.values())
    grads = net.gradient(x, t)
    assert all(grads[k].dtype == np.float32 for k in net.params), {k: g.dtype for k, g in grads.items()}
    for key in net.params:
        net.params[key] -= 0.1 * grads[key]
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert net.predict(x).dtype == np.float32
    assert net.predict(x, train_flg=True).dtype == np.float32
    assert np.isfinite(float(net.loss(x, t)))
    assert all(v.dtype == np.float32 for v in net.state_dict().values())


def test_dropout_in_network_train_vs_eval():
    net = MultiLayerNetExtend(IN, [50], OUT, use_dropout=True, dropout_ration=0.5, seed=13)
    x, _ = tiny_data(seed=10, n=20)
    # inference is deterministic and scales by (1 − ratio)
    assert np.array_equal(net.predict(x), net.predict(x, train_flg=False))
    net.reseed(0)
    a = net.predict(x, train_flg=True)
    b = net.predict(x, train_flg=True)
    assert not np.allclose(a, b)  # a fresh mask each training forward
    net.reseed(0)
    assert np.array_equal(net.predict(x, train_flg=True), a)  # reseed repeats the masks
    # eval equals the average over masks (in expectation): compare the hidden layer directly
    drop = net.layers["Dropout1"]
    h = np.abs(np.random.default_rng(1).standard_normal((2000, 50))) + 1.0
    assert np.allclose(drop.forward(h, False), h * 0.5)
    mean_train = np.mean([drop.forward(h, True).mean() for _ in range(5)])
    assert abs(mean_train - (h * 0.5).mean()) < 0.01 * h.mean()
    # without dropout, train and eval forward agree
    plain = MultiLayerNetExtend(IN, [50], OUT, seed=13)
    assert np.allclose(plain.predict(x, train_flg=True), plain.predict(x))


def test_batchnorm_running_stats_used_at_eval_and_saved():
    net = MultiLayerNetExtend(IN, HIDDEN, OUT, use_batchnorm=True, seed=14)
    bn = net.layers["BatchNorm1"]
    rng = np.random.default_rng(11)
    x = 3.0 + 2.0 * rng.standard_normal((64, IN))
    t = rng.integers(0, OUT, 64)
    for _ in range(30):
        net.gradient(x, t)
    assert bn.running_mean is not None and np.abs(bn.running_mean).max() > 0
    # after many steps on the same batch the running averages approach the batch statistics
    pre = x @ net.params["W1"] + net.params["b1"]
    np.testing.assert_allclose(bn.running_mean, pre.mean(axis=0), rtol=0.1, atol=0.1)
    # eval uses the running statistics: a single sample is normalised like the batch, and
    # predictions of a sample do not depend on the rest of the batch
    single = net.predict(x[:1])
    batch = net.predict(x)
    np.testing.assert_allclose(single, batch[:1], rtol=1e-12, atol=1e-12)
    # evaluation leaves the running statistics alone (a training-mode forward would update them)
    before = bn.running_mean.copy()
    net.predict(x)
    net.accuracy(x, t)
    assert np.array_equal(bn.running_mean, before)
    # a training-mode forward normalises by the batch's own statistics instead
    train_single = net.predict(x[:2], train_flg=True)[:1]
    assert not np.allclose(train_single, single)
    assert not np.array_equal(bn.running_mean, before)
    batch = net.predict(x)
    # they are part of the state
    state = net.state_dict()
    for i in (1, 2):
        assert f"BatchNorm{i}.running_mean" in state and f"BatchNorm{i}.running_var" in state
    np.testing.assert_array_equal(state["BatchNorm1.running_mean"], bn.running_mean)
    # and a rebuilt network predicts the same only once they are loaded
    clone = build_network(net.to_config())
    clone.load_state_dict({k: v for k, v in state.items() if "running" not in k})
    assert not np.allclose(clone.predict(x), batch)
    clone.load_state_dict(state)
    np.testing.assert_array_equal(clone.predict(x), batch)


def _extend_full():
    net = MultiLayerNetExtend(
        IN,
        HIDDEN,
        OUT,
        activation="sigmoid",
        weight_init_std=0.3,
        use_batchnorm=True,
        use_dropout=True,
        dropout_ration=0.2,
        weight_decay_lambda=0.01,
        dtype="float32",
        seed=15,
    )
    x, t = tiny_data(seed=12, n=16)
    for _ in range(3):  # move weights and running statistics away from their initial values
        grads = net.gradient(x, t)
        for key in net.params:
            net.params[key] -= 0.1 * grads[key]
    return net


def _sequential_full():
    rng = np.random.default_rng(16)
    net = Sequential(
        [
            affine(rng, IN, 5),
            batchnorm(rng, 5),
            L.Relu(),
            L.Dropout(0.3),
            affine(rng, 5, 4),
            L.Sigmoid(),
            affine(rng, 4, 4),
            L.Tanh(),
            affine(rng, 4, OUT),
        ],
        L.MeanSquaredError(),
        weight_decay_lambda=0.1,
    )
    x, _ = tiny_data(seed=13, n=16)
    net.gradient(x, np.zeros((16, OUT)))  # fill BatchNorm's running statistics
    return net


ROUND_TRIP = {
    "TwoLayerNet": lambda: TwoLayerNet(IN, 5, OUT, weight_init_std=0.3, seed=17),
    "MultiLayerNet": lambda: MultiLayerNet(
        IN, HIDDEN, OUT, activation="sigmoid", weight_init_std="xavier", weight_decay_lambda=0.2, seed=18
    ),
    "MultiLayerNetExtend": _extend_full,
    "Sequential": _sequential_full,
}


@pytest.mark.parametrize("name", list(ROUND_TRIP))
def test_config_and_state_round_trip(name):
    import json

    net = ROUND_TRIP[name]()
    config = json.loads(json.dumps(net.to_config()))  # JSON-able
    assert config["class"] == name == type(net).__name__
    assert name in NETWORKS
    x, t = tiny_data(seed=14, n=8)
    for rebuilt in (type(net).from_config(config), build_network(config)):
        assert type(rebuilt) is type(net)
        assert rebuilt.dtype == net.dtype
        assert list(rebuilt.layers) == list(net.layers)
        assert rebuilt.weight_decay_lambda == net.weight_decay_lambda
        rebuilt.load_state_dict({k: np.array(v) for k, v in net.state_dict().items()})
        assert np.array_equal(rebuilt.predict(x), net.predict(x))
        assert rebuilt.loss(x, net_targets(net, t)) == net.loss(x, net_targets(net, t))
        assert rebuilt.to_config() == net.to_config()
        # loading copies: the rebuilt network does not share arrays with the original
        assert not any(np.shares_memory(rebuilt.params[k], net.params[k]) for k in net.params)


def net_targets(net, t):
    return np.zeros((len(t), OUT)) if isinstance(net.last_layer, L.MeanSquaredError) else t


def test_round_trip_through_model_file(tmp_path):
    from layerprop.io import load_model, save_model

    net = _extend_full()
    save_model(tmp_path / "m.npz", net)
    loaded = load_model(tmp_path / "m.npz").model
    x, _ = tiny_data(seed=15, n=8)
    assert type(loaded) is MultiLayerNetExtend
    assert np.array_equal(loaded.predict(x), net.predict(x))


def test_load_state_dict_errors():
    from layerprop.errors import ShapeError

    net = TwoLayerNet(IN, 5, OUT, seed=0)
    state = {k: v.copy() for k, v in net.state_dict().items()}
    del state["b2"]
    with pytest.raises(ModelFileError, match="b2"):
        net.load_state_dict(state)
    state = {k: v.copy() for k, v in net.state_dict().items()}
    state["W1"] = np.zeros((IN + 1, 5))
    with pytest.raises(ShapeError, match="W1"):
        net.load_state_dict(state)


@pytest.mark.parametrize(
    "config",
    [
        {"class": "NoSuchNet", "input_size": 3},
        {"input_size": 3},
        ["TwoLayerNet"],
        {"class": "Sequential", "layers": [{"type": "Warp"}]},
        {"class": "Sequential", "layers": [], "loss": "HingeLoss"},
    ],
)
def test_build_network_rejects_unknown(config):
    with pytest.raises(ModelFileError):
        build_network(config)


def test_seed_makes_initial_weights_repeatable():
    a = MultiLayerNetExtend(IN, HIDDEN, OUT, use_batchnorm=True, seed=3)
    b = MultiLayerNetExtend(IN, HIDDEN, OUT, use_batchnorm=True, seed=3)
    c = MultiLayerNetExtend(IN, HIDDEN, OUT, use_batchnorm=True, seed=4)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    # the book's habit: np.random.seed before building without a seed
    np.random.seed(0)
    d = TwoLayerNet(IN, 5, OUT)
    np.random.seed(0)
    e = TwoLayerNet(IN, 5, OUT)
    assert np.array_equal(d.params["W1"], e.params["W1"])


def test_weight_init_scales():
    big = 400
    he = MultiLayerNet(big, [big], OUT, weight_init_std="he", seed=0).params["W1"]
    xavier = MultiLayerNet(big, [big], OUT, activation="sigmoid", weight_init_std="xavier", seed=0).params["W1"]
    fixed = MultiLayerNet(big, [big], OUT, weight_init_std=0.01, seed=0).params["W1"]
    assert abs(he.std() - np.sqrt(2 / big)) < 0.05 * np.sqrt(2 / big)
    assert abs(xavier.std() - np.sqrt(1 / big)) < 0.05 * np.sqrt(1 / big)
    assert abs(fixed.std() - 0.01) < 0.0005
    with pytest.raises(ValueError):
        MultiLayerNet(IN, HIDDEN, OUT, weight_init_std="glorious")
    with pytest.raises(ValueError):
        MultiLayerNet(IN, HIDDEN, OUT, activation="swish")


def test_weight_decay_adds_to_loss_and_gradient():
    x, t = tiny_data(seed=16)
    plain = MultiLayerNet(IN, HIDDEN, OUT, seed=19)
    decayed = MultiLayerNet(IN, HIDDEN, OUT, weight_decay_lambda=0.5, seed=19)
    squares = sum(float(np.sum(plain.params[f"W{i}"] ** 2)) for i in (1, 2, 3))
    assert decayed.loss(x, t) == pytest.approx(plain.loss(x, t) + 0.25 * squares, rel=1e-12)
    g_plain, g_decay = plain.gradient(x, t), decayed.gradient(x, t)
    np.testing.assert_allclose(g_decay["W2"], g_plain["W2"] + 0.5 * plain.params["W2"], rtol=1e-12)
    np.testing.assert_array_equal(g_decay["b2"], g_plain["b2"])  # biases are not decayed
    assert decayed.last_loss == pytest.approx(decayed.loss(x, t, train_flg=True))


@pytest.mark.parametrize("one_hot", [False, True])
def test_accuracy_with_labels_and_one_hot(one_hot):
    net = TwoLayerNet(IN, 5, OUT, weight_init_std=0.5, seed=20)
    rng = np.random.default_rng(17)
    x = rng.standard_normal((25, IN))
    predicted = net.predict(x).argmax(axis=1)
    labels = predicted.copy()
    labels[:10] = (labels[:10] + 1) % OUT  # 10 of 25 wrong
    t = np.eye(OUT)[labels] if one_hot else labels
    assert net.accuracy(x, t) == pytest.approx(15 / 25)
    assert net.accuracy(x, t, batch_size=4) == pytest.approx(15 / 25)  # batched evaluation
    assert net.accuracy(x, labels.reshape(-1, 1)) == pytest.approx(15 / 25)
    from layerprop.errors import LabelError

    with pytest.raises(LabelError):
        net.accuracy(x, t[:-1])


def test_gradient_does_not_modify_inputs():
    net = MultiLayerNetExtend(IN, HIDDEN, OUT, use_batchnorm=True, use_dropout=True, seed=21)
    x, t = tiny_data(seed=18, n=8)
    x.setflags(write=False)
    t.setflags(write=False)
    x0, t0 = x.copy(), t.copy()
    net.gradient(x, t)
    net.predict(x)
    assert np.array_equal(x, x0) and np.array_equal(t, t0)


# -- constructor numbers are checked by layerprop.validation (issue 8, item 10) -------------------
# (network sizes are checked with validation.integer on the trust-input branch; ratios go through
# the Dropout layer, weight_init_std and weight_decay_lambda through the network base and init)
@pytest.mark.parametrize(
    "build, pattern",
    [
        (lambda: MultiLayerNet(784, [50], 10, weight_init_std=float("nan")), r"weight_init_std must be a finite"),
        (lambda: MultiLayerNet(784, [50], 10, weight_init_std=-0.1), r"weight_init_std must be >= 0"),
        (
            lambda: MultiLayerNet(784, [50], 10, weight_decay_lambda=-1),
            r"MultiLayerNet: weight_decay_lambda must be >= 0",
        ),
        (
            lambda: MultiLayerNetExtend(784, [50], 10, use_dropout=True, dropout_ration=1.0),
            r"Dropout: dropout_ratio must be in \[0, 1\)",
        ),
        (lambda: DeepConvNet(dropout_ratio=float("nan")), r"Dropout: dropout_ratio must be a finite"),
        (lambda: SimpleConvNet(weight_init_std=float("inf")), r"weight_init_std must be a finite"),
    ],
)
def test_network_numbers_are_validated_in_one_place(build, pattern):
    from layerprop.errors import ArgumentError

    with pytest.raises(ArgumentError, match=pattern):
        build()

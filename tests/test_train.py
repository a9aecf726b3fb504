"""The Trainer and its callbacks: history, shuffling, determinism, resuming, early stopping, divergence, output.

Everything runs on a small synthetic 20-feature, 3-class problem, so each training takes well
under a second.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from layerprop.errors import LabelError, TrainingDiverged
from layerprop.io import read_model_file, save_model
from layerprop.nets import MultiLayerNet, MultiLayerNetExtend, TwoLayerNet
from layerprop.optim import SGD, Adam, Momentum
from layerprop.training import (
    Callback,
    Checkpoint,
    DivergenceGuard,
    EarlyStopping,
    LearningRateSchedule,
    ProgressBar,
    Trainer,
    split_validation,
)

N_FEATURES, N_CLASSES = 20, 3


def make_data(n=300, seed=0, noise=0.0):
    """3 Gaussian blobs in 20 dimensions; ``noise`` = fraction of labels replaced at random."""
    centres = np.random.default_rng(1234).standard_normal((N_CLASSES, N_FEATURES)) * 0.6
    rng = np.random.default_rng(seed)
    t = rng.integers(0, N_CLASSES, n)
    x = centres[t] + rng.standard_normal((n, N_FEATURES))
    if noise:
        flip = rng.random(n) < noise
        t = np.where(flip, rng.integers(0, N_CLASSES, n), t)
    return x, t


X, T = make_data()
X_TEST, T_TEST = make_data(n=100, seed=1)


def small_net(kind="plain", seed=0, dtype="float64"):
    if kind == "plain":
        return MultiLayerNet(N_FEATURES, [16], N_CLASSES, dtype=dtype, seed=seed)
    if kind == "dropout":
        return MultiLayerNetExtend(
            N_FEATURES, [16, 8], N_CLASSES, use_dropout=True, dropout_ration=0.3, dtype=dtype, seed=seed
        )
    if kind == "dropout+batchnorm":
        return MultiLayerNetExtend(
            N_FEATURES,
            [16, 8],
            N_CLASSES,
            use_dropout=True,
            dropout_ration=0.3,
            use_batchnorm=True,
            dtype=dtype,
            seed=seed,
        )
    raise ValueError(kind)


def trainer(net, epochs=3, **kwargs):
    options = {"mini_batch_size": 32, "optimizer": "sgd", "optimizer_param": {"lr": 0.1}, "verbose": False, "seed": 0}
    options.update(kwargs)
    return Trainer(net, X, T, X_TEST, T_TEST, epochs=epochs, **options)


def state_equal(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


def record_batches(net, x):
    """Wrap ``net.gradient`` to record, for every call, the row numbers (in ``x``) of its batch."""
    rows = {row.tobytes(): i for i, row in enumerate(np.asarray(x, dtype=net.dtype))}
    assert len(rows) == len(x)
    batches = []
    original = net.gradient

    def gradient(x_batch, t_batch):
        batches.append(np.array([rows[row.tobytes()] for row in x_batch]))
        return original(x_batch, t_batch)

    net.gradient = gradient
    return batches


# --------------------------------------------------------------------------- history
@pytest.mark.parametrize("n, batch", [(300, 32), (300, 100), (300, 300), (300, 1000)])
def test_history_lengths(n, batch):
    net = small_net()
    tr = Trainer(net, X[:n], T[:n], X_TEST, T_TEST, epochs=3, mini_batch_size=batch, verbose=False, seed=0)
    history = tr.train()
    iters = math.ceil(n / batch)
    assert tr.iter_per_epoch == iters
    assert len(history["train_loss_list"]) == 3 * iters == tr.current_iter
    assert len(history["train_acc_list"]) == len(history["test_acc_list"]) == 3
    assert len(history["epoch_seconds"]) == 3
    assert history["val_acc_list"] == []
    assert tr.epoch == 3
    # the book's attribute names
    assert tr.train_loss_list is history["train_loss_list"]
    assert tr.train_acc_list == history["train_acc_list"] and tr.test_acc_list == history["test_acc_list"]
    assert all(np.isfinite(history["train_loss_list"]))


def test_training_learns():
    tr = trainer(small_net(), epochs=5)
    history = tr.train()
    assert history["train_acc_list"][-1] > 0.9
    assert history["test_acc_list"][-1] > 0.85
    first, last = np.mean(history["train_loss_list"][:5]), np.mean(history["train_loss_list"][-5:])
    assert last < 0.5 * first


def test_without_test_data():
    tr = Trainer(small_net(), X, T, epochs=2, verbose=False, seed=0)
    history = tr.train()
    assert history["test_acc_list"] == [] and len(history["train_acc_list"]) == 2


def test_every_epoch_is_a_fresh_permutation():
    net = small_net()
    batches = record_batches(net, X)
    tr = trainer(net, epochs=4, mini_batch_size=32)
    tr.train()
    per_epoch = tr.iter_per_epoch
    assert len(batches) == 4 * per_epoch
    orders = []
    for e in range(4):
        epoch_batches = batches[e * per_epoch : (e + 1) * per_epoch]
        assert [len(b) for b in epoch_batches] == [32] * 9 + [300 - 9 * 32]
        order = np.concatenate(epoch_batches)
        # without replacement: every sample exactly once per epoch
        assert np.array_equal(np.sort(order), np.arange(300))
        orders.append(order)
    assert not np.array_equal(orders[0], np.arange(300))  # shuffled …
    for i in range(4):
        for j in range(i):
            assert not np.array_equal(orders[i], orders[j])  # … and differently every epoch


def test_sample_order_follows_seed():
    orders = []
    for seed in (3, 3, 4):
        net = small_net()
        batches = record_batches(net, X)
        trainer(net, epochs=1, seed=seed).train()
        orders.append(np.concatenate(batches))
    assert np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[0], orders[2])


# --------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("kind", ["plain", "dropout", "dropout+batchnorm"])
def test_same_seed_same_weights(kind):
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        net = small_net(kind, seed=0)
        trainer(net, epochs=2, seed=seed, optimizer="adam", optimizer_param={"lr": 0.01}).train()
        runs[name] = net
    assert state_equal(runs["a"], runs["b"])  # bit for bit
    assert not np.array_equal(runs["a"].params["W1"], runs["c"].params["W1"])


def test_dropout_masks_differ_between_epochs_but_follow_the_seed():
    net = small_net("dropout")
    trainer(net, epochs=1, seed=1).train()
    mask_epoch1 = net.layers["Dropout1"].mask.copy()
    net2 = small_net("dropout")
    trainer(net2, epochs=1, seed=2).train()
    assert mask_epoch1.shape == net2.layers["Dropout1"].mask.shape
    assert not np.array_equal(mask_epoch1, net2.layers["Dropout1"].mask)


def test_random_seed_when_none_given():
    a, b = small_net(), small_net()
    ta, tb = trainer(a, epochs=1, seed=None), trainer(b, epochs=1, seed=None)
    assert isinstance(ta.seed, int) and ta.seed != tb.seed
    assert ta.history["seed"] == ta.seed
    ta.train()
    tb.train()
    assert not np.array_equal(a.params["W1"], b.params["W1"])


# --------------------------------------------------------------------------- resuming
RESUME_CASES = [
    ("plain", "adam", {"lr": 0.01}),
    ("dropout+batchnorm", "adam", {"lr": 0.01}),
    ("dropout+batchnorm", "momentum", {"lr": 0.05}),
    ("dropout", "sgd", {"lr": 0.1}),
]


@pytest.mark.parametrize("kind, optimizer, param", RESUME_CASES, ids=[f"{k}-{o}" for k, o, _ in RESUME_CASES])
def test_resume_equals_uninterrupted(tmp_path, kind, optimizer, param):
    options = {"optimizer": optimizer, "optimizer_param": param, "seed": 11}
    straight = small_net(kind)
    straight_history = trainer(straight, epochs=3, **options).train()

    path = str(tmp_path / "checkpoint.npz")
    first = small_net(kind)
    trainer(first, epochs=2, callbacks=[Checkpoint(path)], **options).train()
    # the checkpoint holds the state after epoch 2 …
    header, arrays, optim_arrays = read_model_file(path)
    assert header["metadata"]["trainer"]["epoch"] == 2
    assert all(np.array_equal(arrays[k], v) for k, v in first.state_dict().items())
    if optimizer != "sgd":
        assert optim_arrays  # the optimizer's state travels with it

    # … and a NEW trainer on a NEW network (other initial weights) continues from it
    resumed = small_net(kind, seed=99)
    tr = trainer(resumed, epochs=3, callbacks=[Checkpoint(path)], **options)
    tr.callback(Checkpoint).restore()
    assert tr.epoch == 2 and tr.current_iter == 2 * tr.iter_per_epoch
    history = tr.train()
    assert tr.epoch == 3
    assert state_equal(resumed, straight)
    assert history["train_loss_list"] == straight_history["train_loss_list"]
    assert history["test_acc_list"] == straight_history["test_acc_list"]
    assert read_model_file(path)[0]["metadata"]["trainer"]["epoch"] == 3


def test_load_checkpoint_refuses_mismatch(tmp_path):
    path = str(tmp_path / "ck.npz")
    trainer(small_net(), epochs=1, callbacks=[Checkpoint(path)], seed=1).train()

    def restore(file, **options):
        return trainer(small_net(), epochs=2, callbacks=[Checkpoint(file)], **options).callback(Checkpoint).restore()

    with pytest.raises(ValueError, match="seed"):
        restore(path, seed=2)
    with pytest.raises(ValueError, match="batch size"):
        restore(path, seed=1, mini_batch_size=50)
    plain = str(tmp_path / "plain.npz")
    save_model(plain, small_net())
    with pytest.raises(ValueError, match="checkpoint"):
        restore(plain, seed=1)
    # a checkpoint made without early stopping does not continue with it, nor the other way round
    x_val, t_val = make_data(n=30, seed=9)
    with pytest.raises(ValueError, match="made without early stopping"):
        trainer(small_net(), epochs=2, seed=1, callbacks=[c := Checkpoint(path), EarlyStopping(x_val, t_val)])
        c.restore()


# --------------------------------------------------------------------------- early stopping
class RecordStates(Callback):
    """Keeps a copy of the network's state after every epoch (a callback of the default order, 50)."""

    def __init__(self):
        self.states = []

    def on_epoch_end(self, trainer, logs):
        self.states.append({k: v.copy() for k, v in trainer.network.state_dict().items()})


def test_validation_split_and_early_stopping_restore_best_weights(tmp_path):
    x, t = make_data(n=400, seed=5, noise=0.35)  # noisy labels: validation accuracy goes up and down
    net = MultiLayerNet(N_FEATURES, [32], N_CLASSES, seed=0)
    (x_train, t_train), (x_val, t_val) = split_validation(x, t, 0.25, seed=3)
    early, record = EarlyStopping(x_val, t_val, patience=2), RecordStates()
    tr = Trainer(
        net,
        x_train,
        t_train,
        X_TEST,
        T_TEST,
        epochs=40,
        mini_batch_size=20,
        optimizer="sgd",
        optimizer_param={"lr": 0.5},
        verbose=False,
        callbacks=[record, Checkpoint(str(tmp_path / "ck.npz")), early],
        seed=3,
    )
    # the split: 100 validation samples held out, 300 to train on
    assert len(early.x_val) == 100 and tr.train_size == 300
    assert tr.iter_per_epoch == 15
    history = tr.train()
    val = history["val_acc_list"]
    assert early.stopped and tr.stop_training
    assert tr.epoch < 40 and len(val) == tr.epoch == len(history["train_acc_list"])
    best = int(np.argmax(val))  # the first epoch with the best validation accuracy
    assert early.best_val_acc == val[best] == max(val) and early.best_epoch == best + 1
    # stopped after `patience` epochs without improvement
    assert tr.epoch - 1 - best == 2
    assert all(v <= val[best] for v in val[best + 1 :])
    # the network holds the best epoch's weights, not the last epoch's
    assert all(np.array_equal(record.states[best][k], v) for k, v in net.state_dict().items())
    assert not np.array_equal(record.states[-1]["W1"], net.params["W1"])
    assert net.accuracy(early.x_val, early.t_val) == pytest.approx(val[best])
    assert net.accuracy(X_TEST, T_TEST) == history["test_acc_list"][early.best_epoch - 1]
    # the best weights are saved next to the checkpoint, in the one file that the checkpoint names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.npz", f"ck.npz.best-{best + 1}.npz"]
    _, best_arrays, _ = read_model_file(str(tmp_path / "ck.npz") + f".best-{best + 1}.npz")
    assert all(np.array_equal(best_arrays[k], v) for k, v in net.state_dict().items())


def test_validation_split_is_disjoint_and_seeded():
    x = np.arange(200, dtype=float).reshape(100, 2)
    t = np.arange(100) % 3
    (a_train, _), (a_val, a_t_val) = split_validation(x, t, 0.2, seed=1)
    (_, _), (b_val, _) = split_validation(x, t, 0.2, seed=1)
    (_, _), (c_val, _) = split_validation(x, t, 0.2, seed=2)
    assert len(a_val) == 20 and len(a_train) == 80
    ids = np.concatenate([a_val[:, 0], a_train[:, 0]]) / 2
    assert np.array_equal(np.sort(ids), np.arange(100))
    assert np.array_equal(a_val, b_val) and not np.array_equal(a_val, c_val)
    assert np.array_equal(a_t_val, (a_val[:, 0] / 2).astype(int) % 3)  # labels stay with their samples
    with pytest.raises(ValueError, match="leaves 0 for training"):
        split_validation(x, t, 0.999, seed=0)
    with pytest.raises(ValueError, match="validation_split"):
        split_validation(x, t, 1.0, seed=0)


def test_validation_accuracy_without_patience_does_not_stop():
    (x, t), (x_val, t_val) = split_validation(X, T, 0.2, seed=0)
    early = EarlyStopping(x_val, t_val)
    tr = Trainer(small_net(), x, t, epochs=4, mini_batch_size=32, verbose=False, callbacks=[early], seed=0)
    history = tr.train()
    assert len(history["val_acc_list"]) == 4 and not early.stopped and not tr.stop_training


# --------------------------------------------------------------------------- divergence
def test_divergence_raises_and_restores_the_last_good_weights():
    net = small_net()
    weights_before_step = []
    original = net.gradient

    def gradient(x_batch, t_batch):
        weights_before_step.append({k: v.copy() for k, v in net.params.items()})
        return original(x_batch, t_batch)

    net.gradient = gradient
    # a learning rate of 1e6 really blows the weights up
    tr = trainer(net, epochs=5, optimizer_param={"lr": 1e6}, callbacks=[DivergenceGuard(check_every=1)])
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged) as info:
        tr.train()
    message = str(info.value)
    # lr 1e6 makes the second loss explode far above 10 × the first loss (or overflow to NaN/inf)
    assert "loss became" in message and f"iteration {len(tr.history['train_loss_list']) + 1}" in message
    assert "learning rate" in message
    assert isinstance(info.value, FloatingPointError)  # subclass of a built-in
    assert all(np.isfinite(p).all() for p in net.params.values())
    losses = tr.history["train_loss_list"]
    assert losses and all(np.isfinite(losses))  # only finite losses are recorded
    # with a snapshot every iteration, the weights are those of the last finite loss
    last_good = weights_before_step[len(losses) - 1]
    assert all(np.array_equal(last_good[k], net.params[k]) for k in net.params)


def test_divergence_with_default_snapshots_leaves_finite_weights():
    net = small_net("dropout", dtype="float32")
    tr = trainer(net, epochs=5, optimizer_param={"lr": 1e6})
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged):
        tr.train()
    assert all(np.isfinite(v).all() for v in net.state_dict().values())


def test_non_finite_loss_at_the_first_iteration():
    x = X.copy()
    x[:] = np.inf  # every batch gives a NaN loss, so the very first step diverges
    net = small_net()
    before = {k: v.copy() for k, v in net.params.items()}
    tr = Trainer(net, x, T, epochs=1, verbose=False, seed=0)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged, match="loss became"):
        tr.train()
    assert all(np.array_equal(before[k], net.params[k]) for k in before)


def test_divergence_after_resume_restores_finite_weights(tmp_path):
    path = str(tmp_path / "ck.npz")
    trainer(small_net(), epochs=1, callbacks=[Checkpoint(path)], seed=4).train()
    net = small_net(seed=5)
    tr = trainer(net, epochs=5, seed=4, callbacks=[Checkpoint(path)])
    tr.callback(Checkpoint).restore()
    assert tr.current_iter % tr.callback(DivergenceGuard).check_every != 0
    saved = {k: v.copy() for k, v in net.params.items()}
    tr.optimizer.lr = 1e6
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged):
        tr.train()
    assert all(np.isfinite(p).all() for p in net.params.values())
    # diverged within 100 iterations of the restart: back to the weights it was resumed with
    assert all(np.array_equal(saved[k], net.params[k]) for k in saved)


# --------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize("name, cls", [("SGD", SGD), ("adam", Adam), ("Momentum", Momentum)])
def test_optimizer_by_name(name, cls):
    tr = trainer(small_net(), epochs=1, optimizer=name, optimizer_param={"lr": 0.02})
    assert isinstance(tr.optimizer, cls) and tr.optimizer.lr == 0.02
    tr.train()
    assert tr.optimizer.step_count == tr.iter_per_epoch


def test_optimizer_object_is_used():
    opt = Momentum(lr=0.05, momentum=0.8)
    net = small_net()
    tr = Trainer(net, X, T, epochs=2, mini_batch_size=50, optimizer=opt, verbose=False, seed=0)
    assert tr.optimizer is opt
    before = net.params["W1"].copy()
    tr.train()
    assert opt.step_count == 12 and set(opt.v) == set(net.params)
    assert not np.array_equal(before, net.params["W1"])
    with pytest.raises(ValueError):
        Trainer(net, X, T, optimizer=opt, optimizer_param={"lr": 1.0}, verbose=False)


def test_book_default_optimizer():
    tr = Trainer(small_net(), X, T, X_TEST, T_TEST, verbose=False)
    assert isinstance(tr.optimizer, SGD) and tr.optimizer.lr == 0.01
    assert tr.epochs == 20 and tr.batch_size == 100


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown optimizer"):
        trainer(small_net(), optimizer="adamw")


# --------------------------------------------------------------------------- the rest
def test_verbose_false_prints_nothing(capsys):
    (x, t), (x_val, t_val) = split_validation(X, T, 0.2, seed=0)
    Trainer(small_net(), x, t, epochs=2, verbose=False, callbacks=[EarlyStopping(x_val, t_val, patience=1)]).train()
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_verbose_prints_one_line_per_epoch(capsys):
    lines = []
    trainer(small_net(), epochs=2, verbose=True, callbacks=[ProgressBar(log=lines.append)]).train()
    assert len(lines) == 2
    assert lines[0].startswith("epoch   1/2") and "test acc" in lines[0] and "loss" in lines[0]
    tr = trainer(small_net(), epochs=1, verbose=True)
    tr.train()
    assert "epoch   1/1" in capsys.readouterr().out
    assert [type(c) for c in tr.callbacks].count(ProgressBar) == 1  # verbose adds one, unless given


def test_evaluate_sample_num_per_epoch():
    net = small_net()
    sizes = []
    original = net.accuracy

    def accuracy(x, t, batch_size=1000):
        sizes.append(len(x))
        return original(x, t, batch_size)

    net.accuracy = accuracy
    trainer(net, epochs=1, evaluate_sample_num_per_epoch=50).train()
    assert sizes == [50, 50]


def test_float32_training_keeps_float32():
    net = small_net("dropout+batchnorm", dtype="float32")
    tr = trainer(net, epochs=1, optimizer="adam", optimizer_param={"lr": 0.01})
    assert tr.x_train.dtype == np.float32
    tr.train()
    assert all(v.dtype == np.float32 for v in net.state_dict().values())


def test_bad_arguments():
    with pytest.raises(LabelError):
        Trainer(small_net(), X, T[:-1], verbose=False)
    with pytest.raises(LabelError):
        Trainer(small_net(), X, T, X_TEST, T_TEST[:10], verbose=False)
    with pytest.raises(LabelError, match="no labels"):
        Trainer(small_net(), X, T, X_TEST, None, verbose=False)
    with pytest.raises(ValueError):
        Trainer(small_net(), X, T, mini_batch_size=0, verbose=False)
    with pytest.raises(TypeError, match="callbacks"):
        Trainer(small_net(), X, T, callbacks=[print], verbose=False)


def test_book_two_layer_net_with_one_hot_labels():
    t_onehot = np.eye(N_CLASSES)[T]
    net = TwoLayerNet(N_FEATURES, 10, N_CLASSES, seed=0)
    tr = Trainer(
        net,
        X,
        t_onehot,
        X_TEST,
        np.eye(N_CLASSES)[T_TEST],
        epochs=3,
        mini_batch_size=30,
        optimizer="SGD",
        optimizer_param={"lr": 0.5},
        verbose=False,
        seed=0,
    )
    tr.train()
    assert tr.test_acc_list[-1] > 0.8


# --------------------------------------------------------------------------- learning-rate schedule
def test_cosine_schedule_decays_the_learning_rate_to_zero():
    net = small_net()
    tr = trainer(net, epochs=2, optimizer="adam", optimizer_param={"lr": 0.01}, callbacks=[LearningRateSchedule()])
    seen = []
    update = tr.optimizer.update

    def recording_update(params, grads):
        seen.append(tr.optimizer.lr)
        update(params, grads)

    tr.optimizer.update = recording_update
    tr.train()
    total = 2 * tr.iter_per_epoch
    expected = [0.01 * 0.5 * (1 + np.cos(np.pi * i / total)) for i in range(total)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
    assert seen[0] == 0.01 and seen[-1] < 0.01 * 1e-2


def test_constant_schedule_is_the_default():
    tr = trainer(small_net(), epochs=1)
    tr.train()
    assert tr.optimizer.lr == 0.1


def test_unknown_schedule():
    with pytest.raises(ValueError, match="lr_schedule"):
        LearningRateSchedule("linear")


def test_schedule_as_a_function():
    tr = trainer(small_net(), epochs=1, callbacks=[LearningRateSchedule(lambda i, total: 0.5 ** (i + 1))])
    tr.train()
    assert tr.optimizer.lr == 0.1 * 0.5**tr.iter_per_epoch


def test_resume_with_cosine_schedule_equals_uninterrupted(tmp_path):
    options = {"optimizer": "adam", "optimizer_param": {"lr": 0.01}, "seed": 5}
    straight = small_net("dropout")
    trainer(straight, epochs=3, callbacks=[LearningRateSchedule("cosine")], **options).train()

    path = str(tmp_path / "checkpoint.npz")
    interrupted = trainer(
        small_net("dropout"), epochs=3, callbacks=[Checkpoint(path), LearningRateSchedule("cosine")], **options
    )
    interrupted.train_epoch()
    interrupted.train_epoch()  # … and the run stops here, after its checkpoint of epoch 2

    resumed_net = small_net("dropout", seed=42)
    resumed = trainer(resumed_net, epochs=3, callbacks=[Checkpoint(path), LearningRateSchedule("cosine")], **options)
    resumed.callback(Checkpoint).restore()
    resumed.train()
    assert state_equal(resumed_net, straight)

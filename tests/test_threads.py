"""ThreadParallel: data-parallel training over threads of one process (layerprop.distributed)."""

from __future__ import annotations

import copy
import sys

import numpy as np
import pytest
from cli_helpers import run_cli

from layerprop.errors import ArgumentError, LabelError, MissingExtraError
from layerprop.nets import MultiLayerNetExtend, SimpleConvNet
from layerprop.training import Trainer
from layerprop.training.communicators import ThreadParallel, shard_bounds

pytest.importorskip("threadpoolctl")


@pytest.fixture
def threads2():
    comm = ThreadParallel(2)
    yield comm
    comm.close()


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28)), rng.integers(0, 10, n)


def _small_convnet(dtype="float64"):
    return SimpleConvNet(
        input_dim=(1, 28, 28),
        conv_param={"filter_num": 4, "filter_size": 5, "pad": 0, "stride": 1},
        hidden_size=12,
        output_size=10,
        dtype=dtype,
        seed=0,
    )


@pytest.mark.parametrize("threads, n", [(2, 8), (3, 7), (4, 5)])
def test_gradient_equals_one_thread(threads, n):
    """Σ_r (n_r/B)·g_r is the batch gradient (and loss) up to rounding, for even and uneven slices."""
    net = _small_convnet()
    x, t = _images(n)
    expected = {k: v.copy() for k, v in net.gradient(x, t).items()}
    expected_loss = float(net.last_loss)
    comm = ThreadParallel(threads)
    try:
        grads, loss = comm.gradient(net, x, t)
    finally:
        comm.close()
    assert set(grads) == set(expected)
    for key in expected:
        np.testing.assert_allclose(grads[key], expected[key], rtol=1e-12, atol=1e-15, err_msg=key)
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    assert net.last_loss == loss


def test_accuracy_is_exactly_the_one_thread_accuracy(threads2):
    net = _small_convnet("float32")
    x, t = _images(37, seed=5)
    x = x.astype(np.float32)
    assert threads2.accuracy(net, x, t) == net.accuracy(x, t)
    comm = ThreadParallel(3)
    try:
        assert comm.accuracy(net, x, t) == net.accuracy(x, t)
    finally:
        comm.close()


def test_weight_decay_added_once(threads2):
    net = MultiLayerNetExtend(20, [8, 6], 3, weight_decay_lambda=0.3, seed=0)
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((9, 20)), rng.integers(0, 3, 9)
    expected = {k: v.copy() for k, v in net.gradient(x, t).items()}
    grads, _ = threads2.gradient(net, x, t)
    for key in expected:
        np.testing.assert_allclose(grads[key], expected[key], rtol=1e-12, atol=1e-15, err_msg=key)


def test_fewer_samples_than_threads():
    net = _small_convnet()
    x, t = _images(2)
    expected = {k: v.copy() for k, v in net.gradient(x, t).items()}
    comm = ThreadParallel(4)
    try:
        grads, _ = comm.gradient(net, x, t)
    finally:
        comm.close()
    for key in expected:
        np.testing.assert_allclose(grads[key], expected[key], rtol=1e-12, atol=1e-15)


def test_batchnorm_running_statistics_are_the_weighted_average(threads2):
    """As on MPI ranks: each slice normalises with its own statistics; the running statistics
    are the share-weighted average of what each slice alone would give, on every copy."""
    net = MultiLayerNetExtend(20, [8], 3, use_batchnorm=True, seed=0)
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((7, 20)), rng.integers(0, 3, 7)
    alone = []
    for rank in range(2):
        lo, hi = shard_bounds(7, 2, rank)
        copy_net = copy.deepcopy(net)
        copy_net.gradient(x[lo:hi], t[lo:hi])
        alone.append((copy_net, (hi - lo) / 7))
    threads2.gradient(net, x, t)
    for name, layer in net.layers.items():
        for key, value in layer.buffers.items():
            if value is None:
                continue
            expected = sum(c.layers[name].buffers[key] * share for c, share in alone)
            np.testing.assert_allclose(value, expected, rtol=1e-12, err_msg=f"{name}.{key}")
            replica = threads2._replicas[0].layers[name].buffers[key]
            np.testing.assert_array_equal(replica, value)


def test_replicas_share_the_parameters_and_follow_replaced_arrays(threads2):
    net = _small_convnet()
    x, t = _images(6)
    threads2.gradient(net, x, t)
    replica = threads2._replicas[0]
    for key, array in net.params.items():
        assert replica.params[key] is array
    net.params["W1"] += 0.01  # an optimizer's in-place update reaches the replicas
    expected = {k: v.copy() for k, v in net.gradient(x, t).items()}
    grads, _ = threads2.gradient(net, x, t)
    np.testing.assert_allclose(grads["W1"], expected["W1"], rtol=1e-12, atol=1e-15)
    # new arrays (a loaded state) make new replicas
    state = {k: v * 0.5 for k, v in net.state_dict().items()}
    net.load_state_dict(state)
    expected = {k: v.copy() for k, v in net.gradient(x, t).items()}
    grads, _ = threads2.gradient(net, x, t)
    np.testing.assert_allclose(grads["W2"], expected["W2"], rtol=1e-12, atol=1e-15)
    for key, array in net.params.items():
        assert threads2._replicas[0].params[key] is array


def test_dropout_streams_per_slice_are_repeatable():
    def run():
        net = MultiLayerNetExtend(20, [16], 3, use_dropout=True, dropout_ration=0.5, seed=0)
        comm = ThreadParallel(2)
        try:
            comm.dropout_seed([0, 2, 1])
            net.reseed(comm.dropout_seed([0, 2, 1]))
            rng = np.random.default_rng(3)
            x, t = rng.standard_normal((10, 20)), rng.integers(0, 3, 10)
            grads, _ = comm.gradient(net, x, t)
            masks = [net.layers["Dropout1"].mask.copy(), comm._replicas[0].layers["Dropout1"].mask.copy()]
        finally:
            comm.close()
        return grads, masks

    (g1, m1), (g2, m2) = run(), run()
    for key in g1:
        np.testing.assert_array_equal(g1[key], g2[key])
    np.testing.assert_array_equal(m1[0], m2[0])
    assert not np.array_equal(m1[0], m1[1])  # the two slices draw different masks


def test_a_worker_error_reaches_the_caller(threads2):
    net = _small_convnet()
    x, t = _images(6)
    t[5] = 12  # only the second slice holds the bad label
    with pytest.raises(LabelError, match="12"):
        threads2.gradient(net, x, t)
    t[5] = 3
    threads2.gradient(net, x, t)  # and the pool still works


def test_when_slice_zero_fails_the_other_slices_have_finished(threads2):
    net = _small_convnet()
    x, t = _images(6)
    threads2.gradient(net, x, t)
    replica = threads2._replicas[0]
    replica.last_loss = None
    t[0] = 12  # only the first slice (this thread's) holds the bad label
    with pytest.raises(LabelError, match="12"):
        threads2.gradient(net, x, t)
    assert replica.last_loss is not None  # slice 1 ran to its end before the error was raised


def test_blas_threads_are_restored(threads2):
    from threadpoolctl import threadpool_info

    before = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    net = _small_convnet("float32")
    x, t = _images(4)
    threads2.gradient(net, x.astype(np.float32), t)
    after = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    assert before == after


def test_trainer_with_threads_matches_one_thread_and_repeats():
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal((60, 20)), rng.integers(0, 3, 60)

    def train(communicator):
        net = MultiLayerNetExtend(20, [10], 3, seed=0)
        trainer = Trainer(
            net,
            x,
            t,
            x[:20],
            t[:20],
            epochs=2,
            mini_batch_size=15,
            optimizer="Adam",
            optimizer_param={"lr": 0.01},
            verbose=False,
            seed=0,
            communicator=communicator,
        )
        trainer.train()
        return net.state_dict(), trainer.history["train_loss_list"]

    one, one_loss = train(None)
    comm = ThreadParallel(2)
    try:
        two, two_loss = train(comm)
        again, again_loss = train(comm)
    finally:
        comm.close()
    for key in one:
        np.testing.assert_allclose(two[key], one[key], rtol=1e-9, atol=1e-12, err_msg=key)
        np.testing.assert_array_equal(again[key], two[key])
    np.testing.assert_allclose(two_loss, one_loss, rtol=1e-9)
    assert again_loss == two_loss


def test_threads_must_be_a_positive_integer():
    with pytest.raises(ArgumentError, match="threads"):
        ThreadParallel(0)
    with pytest.raises(TypeError, match="threads"):
        ThreadParallel(1.5)


def test_without_threadpoolctl_the_install_line_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    with pytest.raises(MissingExtraError, match=r"layerprop\[threads\]"):
        ThreadParallel(2)
    ThreadParallel(1)  # one thread needs nothing


def test_gpu_networks_are_refused(threads2):
    cupy = pytest.importorskip("cupy")
    if not cupy.cuda.is_available():
        pytest.skip("no GPU")
    net = _small_convnet("float32").to("cuda")
    x, t = _images(4)
    with pytest.raises(ArgumentError, match="CPU"):
        threads2.gradient(net, cupy.asarray(x, dtype=np.float32), cupy.asarray(t))


# --------------------------------------------------------------------------- command line


def test_cli_threads_option(capsys, tmp_path):
    code, out, err = run_cli(
        capsys, "train", "--threads", "2", "--epochs", "1", "--hidden", "20", "--out", tmp_path / "run"
    )
    assert code == 0, err
    assert "2 threads" in out
    assert "test accuracy" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--threads", "0"], "--threads must be at least 1"),
        (["--threads", "2", "--distributed"], "do not combine"),
        (["--threads", "2", "--device", "cuda"], "does not combine with --device cuda"),
    ],
)
def test_cli_threads_usage_errors(capsys, argv, message):
    code, _, err = run_cli(capsys, "train", *argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_cli_threads_without_threadpoolctl(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    code, _, err = run_cli(capsys, "train", "--threads", "2", "--out", tmp_path / "run")
    assert code == 2
    assert "pip install 'layerprop[threads]'" in err
    assert len(err.strip().splitlines()) == 1

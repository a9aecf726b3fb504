"""The device backend (issue 10): device names, moving arrays and networks, optimizer state and the
trainer on a device, model files from any device, the CLI's --device, and the fused CUDA kernels.

Tests taking the ``device`` fixture run on the CPU everywhere and again on 'cuda' where CuPy sees a
GPU; tests marked ``gpu`` are skipped (never failed) elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from layerprop import backend
from layerprop.backend import device_of, parse_device, to_device, to_numpy
from layerprop.errors import DeviceMismatchError, DeviceUnavailableError, MissingExtraError, TrainingDiverged
from layerprop.io import load_model, read_model_file, save_model
from layerprop.layers import Affine, BatchNormalization, Dropout, Relu
from layerprop.layers.base import Layer
from layerprop.nets import DeepConvNet, MultiLayerNetExtend, SimpleConvNet, TwoLayerNet
from layerprop.optim import OPTIMIZERS, get_optimizer
from layerprop.training import Checkpoint, DivergenceGuard, EarlyStopping, Trainer, split_validation

gpu = pytest.mark.gpu


def blobs(n=200, features=20, classes=3, seed=0):
    centres = np.random.default_rng(99).standard_normal((classes, features))
    rng = np.random.default_rng(seed)
    t = rng.integers(0, classes, n)
    return centres[t] + rng.standard_normal((n, features)), t


def images(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28)), rng.integers(0, 10, n)


# --------------------------------------------------------------------------- device names
def test_device_names_on_any_machine():
    assert parse_device(None) == "cpu"
    assert parse_device(" CPU ") == "cpu"
    assert parse_device("auto") == ("cuda:0" if backend.cuda_available() else "cpu")
    for bad in ("tpu", "cuda:x", "gpu", "cuda:-1"):
        with pytest.raises(DeviceUnavailableError, match="expected 'cpu', 'cuda', 'cuda:N' or 'auto'"):
            parse_device(bad)
    with pytest.raises(DeviceUnavailableError, match="must be a string"):
        parse_device(0)


def test_cuda_without_cupy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'layerprop\[gpu\]'"):
        parse_device("cuda")
    assert parse_device("auto") == "cpu"
    assert not backend.cuda_available()


def test_arrays_on_the_cpu():
    x = np.arange(6.0).reshape(2, 3)
    assert device_of(x) == "cpu" and device_of(1.5) == "cpu"
    assert to_device(x, "cpu") is x
    assert to_numpy(x) is x
    assert backend.random_generator(3).random() == np.random.default_rng(3).random()


def test_moving_arrays(device):
    device = parse_device(device)
    x = np.arange(6.0).reshape(2, 3)
    moved = to_device(x, device)
    assert device_of(moved) == device
    assert to_device(moved, device) is moved
    back = to_numpy(moved)
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, x)


# --------------------------------------------------------------------------- the layer interface
def test_layer_interface_is_declared_on_the_base_class():
    layer = Layer()
    assert layer.has_train_mode is False
    assert layer.params == {} and layer.buffers == {}
    assert layer.reseed(1) is None
    assert layer.to("cpu") is layer
    assert Dropout().has_train_mode and BatchNormalization(np.ones(2), np.zeros(2)).has_train_mode
    with pytest.raises(KeyError):
        Relu().set_param("W", np.zeros(1))
    affine = Affine(np.zeros((2, 3)), np.zeros(3))
    new_w = np.ones((2, 3))
    affine.set_param("W", new_w)
    assert affine.W is new_w and affine.params["W"] is new_w


def test_networks_take_only_layers_that_declare_the_interface():
    from layerprop.nets import Sequential

    class BookStyleRelu:  # forward/backward only: nothing says whether it takes train_flg or has buffers
        def forward(self, x):
            return x

        def backward(self, dout):
            return dout

        params = {}

    with pytest.raises(TypeError, match="must be a layerprop layer"):
        Sequential([BookStyleRelu()])


# --------------------------------------------------------------------------- networks
NETWORKS = {
    "two_layer": lambda: TwoLayerNet(20, 8, 3, seed=0),
    "batchnorm": lambda: MultiLayerNetExtend(20, [8, 6], 3, use_batchnorm=True, weight_decay_lambda=0.1, seed=0),
    "simple_conv": lambda: SimpleConvNet(
        conv_param={"filter_num": 3, "filter_size": 5, "pad": 0, "stride": 1}, hidden_size=8, seed=0
    ),
    "deep_conv": lambda: DeepConvNet(hidden_size=8, seed=0),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_network_gradient_on_a_device_equals_the_cpu(device, name):
    """float64: backprop on the device gives the CPU's gradients (which the numerical checks verify)."""
    cpu_net, dev_net = NETWORKS[name](), NETWORKS[name]().to(device)
    x, t = images() if "conv" in name else blobs(n=5)
    if name == "deep_conv":  # dropout masks differ between devices: compare the deterministic parts only
        for net in (cpu_net, dev_net):
            for layer in net.layers.values():
                if isinstance(layer, Dropout):
                    layer.dropout_ratio = 0.0
    assert dev_net.device == parse_device(device)
    expected = cpu_net.gradient(x, t)
    got = dev_net.gradient(to_device(x, dev_net.device), to_device(t, dev_net.device))
    assert got.keys() == expected.keys()
    for key in expected:
        assert device_of(got[key]) == dev_net.device
        np.testing.assert_allclose(to_numpy(got[key]), expected[key], rtol=1e-9, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(float(dev_net.last_loss), float(cpu_net.last_loss), rtol=1e-12)
    assert dev_net.accuracy(to_device(x, dev_net.device), to_device(t, dev_net.device)) == cpu_net.accuracy(x, t)


def test_network_to_moves_every_array_and_keeps_layers_and_params_shared(device):
    net = MultiLayerNetExtend(20, [8], 3, use_batchnorm=True, use_dropout=True, seed=0)
    x, t = blobs(n=10)
    net.gradient(x, t)  # creates the running statistics
    net.to(device)
    device = parse_device(device)
    for key, (layer, layer_key) in net._param_sources.items():
        assert layer.params[layer_key] is net.params[key]
        assert device_of(net.params[key]) == device
    for value in net.state_dict().values():
        assert device_of(value) == device
    assert net.layers["Dropout1"].device == device
    net.to_cpu()
    assert net.device == "cpu"
    assert all(isinstance(v, np.ndarray) for v in net.state_dict().values())


def test_dropout_masks_follow_the_seed_on_a_device(device):
    device = parse_device(device)
    x = to_device(np.ones((50, 40)), device)
    masks = []
    for _ in range(2):
        layer = Dropout(0.5).to(device)
        layer.reseed([7, 1])
        masks.append(to_numpy(layer.forward(x)))
    np.testing.assert_array_equal(masks[0], masks[1])
    assert 0.3 < masks[0].mean() < 0.7


def test_save_and_load_from_a_device(device, tmp_path):
    net = MultiLayerNetExtend(20, [8], 3, use_batchnorm=True, seed=0)
    x, t = blobs(n=10)
    opt = get_optimizer("adam")
    net.to(device)
    xd, td = to_device(x, net.device), to_device(t, net.device)
    opt.update(net.params, net.gradient(xd, td))
    path = save_model(tmp_path / "m.npz", net, optimizer=opt)
    _, arrays, optim_arrays = read_model_file(path)
    assert all(isinstance(a, np.ndarray) for a in [*arrays.values(), *optim_arrays.values()])
    loaded = load_model(path)
    assert loaded.model.device == "cpu"
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(loaded.model.state_dict()[key], to_numpy(value))
    loaded.model.to(device)
    np.testing.assert_allclose(to_numpy(loaded.model.predict(xd)), to_numpy(net.predict(xd)))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_follows_the_parameters(device, name):
    """Two steps on the CPU, then the network moves: the third step continues the same run."""
    x, t = blobs(n=20)
    reference, moved = TwoLayerNet(20, 8, 3, seed=1), TwoLayerNet(20, 8, 3, seed=1)
    opt_ref, opt_moved = get_optimizer(name, lr=0.05), get_optimizer(name, lr=0.05)
    for _ in range(2):
        opt_ref.update(reference.params, reference.gradient(x, t))
        opt_moved.update(moved.params, moved.gradient(x, t))
    moved.to(device)
    opt_ref.update(reference.params, reference.gradient(x, t))
    opt_moved.update(moved.params, moved.gradient(to_device(x, moved.device), to_device(t, moved.device)))
    for slot in opt_moved._slots:
        for value in getattr(opt_moved, slot).values():
            assert device_of(value) == moved.device
    for key in reference.params:
        np.testing.assert_allclose(to_numpy(moved.params[key]), reference.params[key], rtol=1e-10, atol=1e-13)


# --------------------------------------------------------------------------- the trainer
def _trainer(net, epochs=2, **kwargs):
    x, t = blobs()
    xt, tt = blobs(n=60, seed=1)
    return Trainer(
        net,
        x,
        t,
        xt,
        tt,
        epochs=epochs,
        mini_batch_size=25,
        optimizer="adam",
        optimizer_param={"lr": 0.01},
        verbose=False,
        seed=5,
        **kwargs,
    )


def test_trainer_on_a_device_matches_the_cpu(device):
    cpu = _trainer(TwoLayerNet(20, 8, 3, seed=0))
    dev = _trainer(TwoLayerNet(20, 8, 3, seed=0).to(device))
    assert device_of(dev.x_train) == parse_device(device)
    cpu.train()
    history = dev.train()
    assert all(type(v) is float for v in history["train_loss_list"])
    np.testing.assert_allclose(history["train_loss_list"], cpu.history["train_loss_list"], rtol=1e-9)
    assert history["test_acc_list"] == cpu.history["test_acc_list"]
    assert history["test_acc_list"][-1] > 0.8


def test_gpu_checkpoint_resumes_on_the_cpu_and_back(device, tmp_path):
    """Epoch 1 on the device, epoch 2 on the CPU, epoch 3 on the device again = three epochs on the CPU."""
    whole = _trainer(TwoLayerNet(20, 8, 3, seed=0), epochs=3)
    whole.train()
    path = tmp_path / "checkpoint.npz"
    first = _trainer(TwoLayerNet(20, 8, 3, seed=0).to(device), epochs=3, callbacks=[Checkpoint(path)])
    first.train_epoch()
    second = _trainer(TwoLayerNet(20, 8, 3, seed=0), epochs=3, callbacks=[Checkpoint(path)])
    second.callback(Checkpoint).restore()
    second.train_epoch()
    third = _trainer(TwoLayerNet(20, 8, 3, seed=0).to(device), epochs=3, callbacks=[Checkpoint(path)])
    third.callback(Checkpoint).restore()
    third.train()
    assert third.network.device == parse_device(device)
    for key, value in whole.network.params.items():
        np.testing.assert_allclose(to_numpy(third.network.params[key]), value, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(third.history["train_loss_list"], whole.history["train_loss_list"], rtol=1e-9)


def test_validation_split_batchnorm_and_dropout_on_a_device(device, tmp_path):
    """Early stopping keeps its best weights on the device; data already on the device is taken as it is."""
    x, t = blobs(n=300)
    device = parse_device(device)
    net = MultiLayerNetExtend(20, [16], 3, use_batchnorm=True, use_dropout=True, dropout_ration=0.2, seed=0).to(device)
    (x, t), (x_val, t_val) = split_validation(to_device(x, device), to_device(t, device), 0.2, seed=3)
    early = EarlyStopping(x_val, t_val, patience=1)
    trainer = Trainer(
        net,
        x,
        t,
        epochs=4,
        mini_batch_size=30,
        optimizer="adam",
        optimizer_param={"lr": 0.01},
        verbose=False,
        callbacks=[early, Checkpoint(tmp_path / "c.npz")],
        seed=3,
    )
    history = trainer.train()
    assert device_of(early.x_val) == device and device_of(trainer.x_train) == device
    assert max(history["val_acc_list"]) == early.best_val_acc > 0.8
    assert all(device_of(v) == device for v in early.best_state.values())
    loaded = load_model(tmp_path / "c.npz")
    assert "BatchNorm1.running_mean" in loaded.model.state_dict()


def test_divergence_on_a_device_restores_finite_weights(device):
    trainer = Trainer(
        TwoLayerNet(20, 8, 3, seed=0).to(device),
        *blobs(),
        epochs=3,
        mini_batch_size=10,
        optimizer="sgd",
        optimizer_param={"lr": 1e6},
        verbose=False,
        callbacks=[DivergenceGuard(check_every=4)],
        seed=0,
    )
    with pytest.raises(TrainingDiverged, match="the training loss became"):
        trainer.train()
    for value in trainer.network.params.values():
        assert np.isfinite(to_numpy(value)).all()


def test_divergence_names_the_iteration_on_every_device(device):
    """The guard names the first bad iteration whether it checks every step (CPU) or in batches (GPU)."""
    x, t = blobs(n=40)
    x[25] = np.nan  # the batch of iteration 3 of the first epoch (batch 10, shuffled: find it)
    trainer = Trainer(
        TwoLayerNet(20, 8, 3, seed=0).to(device),
        x,
        t,
        epochs=1,
        mini_batch_size=10,
        optimizer="sgd",
        verbose=False,
        callbacks=[DivergenceGuard(check_every=100)],
        seed=0,
    )
    order = np.random.default_rng([trainer.seed, 1]).permutation(40)
    bad_iteration = int(np.flatnonzero(order == 25)[0]) // 10 + 1
    with pytest.raises(TrainingDiverged, match=rf"iteration {bad_iteration};"):
        trainer.train()


# --------------------------------------------------------------------------- mixing devices
@gpu
def test_mixing_devices_raises_naming_both():
    net = TwoLayerNet(20, 8, 3, seed=0).to("cuda")
    x, t = blobs(n=4)
    with pytest.raises(DeviceMismatchError, match=r"the input x is on cpu but the parameters are on cuda:0"):
        net.predict(x)
    with pytest.raises(DeviceMismatchError, match=r"the targets t is on cpu but the parameters are on cuda:0"):
        net.loss(to_device(x, "cuda:0"), t)
    grads = TwoLayerNet(20, 8, 3, seed=0).gradient(x, t)  # CPU gradients for GPU parameters
    with pytest.raises(DeviceMismatchError, match="is on cpu but params"):
        get_optimizer("sgd").update(net.params, grads)


@gpu
def test_numerical_gradient_asks_for_the_cpu():
    net = TwoLayerNet(4, 3, 2, seed=0).to("cuda")
    with pytest.raises(DeviceUnavailableError, match=r"network.to_cpu\(\)"):
        net.numerical_gradient(to_device(np.eye(4), "cuda:0"), to_device(np.array([0, 1, 0, 1]), "cuda:0"))


# --------------------------------------------------------------------------- the command line
def _cli(*argv):
    return subprocess.run(
        [sys.executable, "-m", "layerprop", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
        check=False,
    )


@pytest.mark.skipif(backend.cuda_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("command", [["train"], ["evaluate", "model.npz"], ["predict", "model.npz", "digit.png"]])
def test_cli_device_cuda_without_a_gpu_exits_2(command):
    proc = _cli(*command, "--device", "cuda")
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'layerprop[gpu]'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cpu_only_use_never_imports_cupy():
    code = (
        "import sys; import numpy as np; from layerprop.nets import TwoLayerNet;"
        "from layerprop.training import Trainer;"
        "import layerprop.cli, layerprop.io, layerprop.backend as b; net = TwoLayerNet(4, 3, 2, seed=0).to('cpu');"
        "Trainer(net, np.eye(4), np.array([0, 1, 0, 1]), epochs=1, mini_batch_size=2, verbose=False, seed=0).train();"
        "b.fused_kernels(np.zeros(1)); assert 'cupy' not in sys.modules, 'cupy was imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr


@gpu
def test_cli_trains_evaluates_and_predicts_on_the_gpu(tmp_path):
    out = tmp_path / "run"
    proc = _cli("train", "--device", "cuda", "--epochs", "1", "--seed", "0", "--quiet", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.split("test accuracy")[1].split()[0]) > 0.85
    _, arrays, _ = read_model_file(out / "model.npz")
    assert all(isinstance(a, np.ndarray) for a in arrays.values())
    proc = _cli("evaluate", str(out), "--device", "cuda:0")
    assert proc.returncode == 0 and "test accuracy" in proc.stdout, proc.stderr
    resumed = _cli("train", "--resume", str(out), "--epochs", "2", "--device", "cpu", "--quiet")
    assert resumed.returncode == 0, resumed.stderr


# --------------------------------------------------------------------------- fused kernels (GPU only)
@pytest.fixture
def cupy_module():
    import cupy

    return cupy


@pytest.fixture
def plain_formulas():
    """Turns the fused kernels off inside ``with plain_formulas():`` blocks."""
    import contextlib

    @contextlib.contextmanager
    def off():
        old = backend.set_fused_kernels(False)
        try:
            yield
        finally:
            backend.set_fused_kernels(old)

    return off


@gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_softmax_with_loss_agrees_with_the_formula(cupy_module, plain_formulas, dtype):
    from layerprop.layers import SoftmaxWithLoss

    cp = cupy_module
    rng = np.random.default_rng(0)
    x = cp.asarray(rng.standard_normal((100, 10)) * 5, dtype=dtype)
    t = cp.asarray(rng.integers(0, 10, 100))
    fused = SoftmaxWithLoss()
    loss = fused.forward(x, t)
    dx = fused.backward(1)
    with plain_formulas():
        plain = SoftmaxWithLoss()
        ref_loss = plain.forward(x, t)
        ref_dx = plain.backward(1)
    tol = 1e-5 if dtype == "float32" else 1e-12
    assert loss.dtype == dx.dtype == np.dtype(dtype)
    np.testing.assert_allclose(float(loss), float(ref_loss), rtol=tol)
    np.testing.assert_allclose(cp.asnumpy(fused.y), cp.asnumpy(plain.y), rtol=tol, atol=tol)
    np.testing.assert_allclose(cp.asnumpy(dx), cp.asnumpy(ref_dx), rtol=tol, atol=tol)
    bad = t.copy()
    bad[3] = 10
    assert np.isnan(float(SoftmaxWithLoss().forward(x, bad)))  # checked in the kernel: NaN, no host sync


@gpu
def test_fused_relu_backward_and_bias_gradient_agree_with_the_formula(cupy_module, plain_formulas):
    from layerprop.backend.kernels import bias_gradient, relu_grad

    cp = cupy_module
    rng = np.random.default_rng(1)
    x = cp.asarray(rng.standard_normal((64, 30)), dtype="float32")
    dout = cp.asarray(rng.standard_normal((64, 30)), dtype="float32")
    mask = x <= 0
    cp.testing.assert_array_equal(relu_grad(dout, mask), dout * ~mask)
    layer = Relu()
    layer.forward(x)
    with plain_formulas():
        reference = layer.backward(dout)
    cp.testing.assert_array_equal(layer.backward(dout), reference)
    for shape, axes in (((100, 50), (0,)), ((8, 16, 49), (0, 2)), ((3, 5, 7, 7), (0, 2, 3))):
        d = cp.asarray(rng.standard_normal(shape))
        cp.testing.assert_allclose(bias_gradient(d), d.sum(axis=axes), rtol=1e-12, atol=1e-12)
        d32 = d.astype("float32")
        cp.testing.assert_allclose(bias_gradient(d32), d32.sum(axis=axes), rtol=1e-5, atol=1e-5)


@gpu
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_optimizer_step_agrees_with_the_formula(cupy_module, plain_formulas, name, dtype):
    """One launch for all parameters gives what optim.py's per-parameter formulas give on CuPy."""
    cp = cupy_module
    rng = np.random.default_rng(2)
    shapes = [(784, 50), (50,), (50, 10), (10,), (3, 1, 5, 5)]
    start = {f"p{i}": rng.standard_normal(s).astype(dtype) for i, s in enumerate(shapes)}
    grads = [{k: cp.asarray(rng.standard_normal(v.shape).astype(dtype)) for k, v in start.items()} for _ in range(3)]
    results = []
    for fused in (True, False):
        params = {k: cp.asarray(v) for k, v in start.items()}
        opt = get_optimizer(name, lr=0.01)
        old = backend.set_fused_kernels(fused)
        try:
            for g in grads:
                opt.update(params, g)
        finally:
            backend.set_fused_kernels(old)
        results.append(params)
    tol = 1e-6 if dtype == "float32" else 1e-14
    for key in start:
        cp.testing.assert_allclose(results[0][key], results[1][key], rtol=tol, atol=tol)


@gpu
def test_fused_training_matches_plain_training(plain_formulas):
    """A float32 network trained with the kernels on and off reaches the same accuracy."""
    accs = []
    for fused in (True, False):
        old = backend.set_fused_kernels(fused)
        try:
            trainer = _trainer(TwoLayerNet(20, 8, 3, seed=0, dtype="float32").to("cuda"))
            accs.append(trainer.train()["test_acc_list"])
        finally:
            backend.set_fused_kernels(old)
    assert abs(accs[0][-1] - accs[1][-1]) <= 0.02  # the bias kernel sums in float64: last-bit differences only

"""CPU benchmark: layerprop against PyTorch's CPU build and a bare NumPy loop, measured fairly.

What it measures (batch 100, float32, real MNIST batches; one training step = gradient + SGD update):

- the median step time of the book's four networks — 784-50-10, 784-1000-10, SimpleConvNet
  (chapter 7) and DeepConvNet (chapter 8) — in layerprop (one thread, and with one thread per core:
  ``ThreadParallel``, i.e. ``layerprop train --threads N``), in PyTorch (when installed) and, for
  the two MLPs, in a bare NumPy loop written for the purpose; the ratios (layerprop's better
  setting for each network against PyTorch);
- layerprop's achieved GFLOP/s and its fraction of this machine's float32 matrix-product peak, and
  the machine's copy bandwidth, both measured in the same run;
- ``--profile``: layerprop's forward and backward time of every layer of the two convolutional
  networks, next to each layer's FLOPs and bytes moved, the floor these give
  (max(FLOPs / peak, bytes / bandwidth)), and for each convolution the rate NumPy's matmul reaches
  at the shape of its products (what bounds it in NumPy);
- ``--trainer``: the Trainer's own cost per step — an epoch of ``Trainer.train_epoch`` (its default
  callbacks: History, DivergenceGuard) against the same batches as a bare gradient + update loop,
  on a network small enough (784-4-10, batch 10) that the bookkeeping shows;
- ``--tta``: wall time until the MNIST test accuracy first reaches 99.0 % — SimpleConvNet, Adam
  (lr 0.003, ε = 1e-7) with a cosine decay over ``--tta-epochs`` epochs, batch 100, the same initial
  weights and the same shuffles in both frameworks; training time only (the test-set evaluation
  after each epoch is not counted).

Fairness: every framework runs in its *own* worker process, started with this process's
environment unchanged (no thread counts, no ``OMP_WAIT_POLICY``: each at its own defaults), and
PyTorch is never imported into a NumPy process. The workers take turns: each round times a block
of steps in every worker, the order rotating from round to round, with a pause between turns so
that no worker's idle threads compete with the next one. Medians over the rounds are reported.

Run:  python benchmarks/cpu.py [--rounds 9] [--steps 10] [--profile] [--trainer] [--tta] [--train-memory]
(``--rounds 0 --tta``: the time to accuracy alone)
(PyTorch as the reference: ``pip install torch==2.13.0``; layerprop from this checkout:
``PYTHONPATH=src``). This is a benchmark, not a test: it asserts nothing, it prints the table the
README shows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

BATCH = 100
NETS = ("mlp50", "mlp1000", "simple", "deep")
TITLES = {"mlp50": "784-50-10", "mlp1000": "784-1000-10", "simple": "SimpleConvNet", "deep": "DeepConvNet"}
SGD_LR = {"mlp50": 0.1, "mlp1000": 0.1, "simple": 0.01, "deep": 0.01}
TARGETS = {"mlp50": 0.6, "mlp1000": 0.9, "simple": 0.9, "deep": 1.0}  # issue 9: layerprop / PyTorch
TTA_ACCURACY = 0.99


# =========================================================================== worker side


def mnist_batches(count, seed=0):
    """``count`` batches of real MNIST training images (float32, NCHW) and int64 labels."""
    import numpy as np

    from layerprop.datasets import load_mnist

    (x_train, t_train), _ = load_mnist(flatten=False)
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        idx = rng.choice(len(x_train), BATCH, replace=False)
        batches.append((np.ascontiguousarray(x_train[idx], dtype=np.float32), t_train[idx].astype(np.int64)))
    return batches


def layerprop_net(name, seed=0):
    from layerprop.nets import DeepConvNet, SimpleConvNet, TwoLayerNet

    if name == "mlp50":
        return TwoLayerNet(784, 50, 10, weight_init_std=0.01, dtype="float32", seed=seed)
    if name == "mlp1000":
        return TwoLayerNet(784, 1000, 10, weight_init_std=0.01, dtype="float32", seed=seed)
    if name == "simple":
        return SimpleConvNet(dtype="float32", seed=seed)
    return DeepConvNet(dtype="float32", seed=seed)


class LayerpropWorker:
    """layerprop's networks and optimizer, as a user would call them (with ``communicator``:
    the gradient as ``Trainer`` asks that communicator for it)."""

    def __init__(self, communicator=None):
        import numpy as np

        from layerprop.optim import SGD

        self.np = np
        self.comm = communicator
        self.steps = {}
        for name in NETS:
            net = layerprop_net(name)
            optimizer = SGD(lr=SGD_LR[name])

            if communicator is None:

                def step(x, t, net=net, optimizer=optimizer):
                    optimizer.update(net.params, net.gradient(x, t))
            else:

                def step(x, t, net=net, optimizer=optimizer):
                    optimizer.update(net.params, communicator.gradient(net, x, t)[0])

            self.steps[name] = step
        self.nets = {}

    def convert(self, name, x, t):
        return (x.reshape(len(x), -1) if name.startswith("mlp") else x), t

    def info(self):
        import numpy as np

        info = {"numpy": np.__version__, "python": platform.python_version()}
        try:
            from threadpoolctl import threadpool_info

            info["blas"] = [
                {k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer")}
                for pool in threadpool_info()
            ]
        except ImportError:
            info["blas"] = "threadpoolctl not installed (pip install threadpoolctl to see the BLAS kernel)"
        from layerprop.layers import conv

        info["conv_chunk_bytes"] = conv.CHUNK_BYTES
        return info

    def machine(self):
        """The machine's float32 matrix-product peak (GFLOP/s) and copy bandwidth (GB/s, read + write)."""
        np = self.np
        rng = np.random.default_rng(0)
        a = rng.random((2048, 2048), dtype=np.float32)
        b = rng.random((2048, 2048), dtype=np.float32)
        c = np.empty_like(a)
        np.matmul(a, b, out=c)
        gemm = []
        for _ in range(7):
            start = time.perf_counter()
            np.matmul(a, b, out=c)
            gemm.append(time.perf_counter() - start)
        src = np.ones(32 * 2**20 // 4 * 2, np.float32)  # 64 MB: far beyond the caches
        dst = np.empty_like(src)
        np.copyto(dst, src)
        copies = []
        for _ in range(7):
            start = time.perf_counter()
            np.copyto(dst, src)
            copies.append(time.perf_counter() - start)
        return {"peak_gflops": 2 * 2048**3 / min(gemm) / 1e9, "copy_gbs": 2 * src.nbytes / min(copies) / 1e9}


def cores():
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class LayerpropThreadsWorker(LayerpropWorker):
    """layerprop with ``ThreadParallel(cores)``: each batch split over one thread per core
    (``layerprop train --threads N``); BLAS held to one thread per slice while they run."""

    def __init__(self):
        from layerprop.training.communicators import ThreadParallel

        super().__init__(ThreadParallel(cores()))

    def info(self):
        return {"threads": self.comm.threads}


class BareNumpyWorker:
    """The two MLPs written directly in NumPy: no layers, no dicts of gradients (the floor for overhead)."""

    def __init__(self):
        import numpy as np

        self.np = np
        self.steps = {}
        for name, hidden in (("mlp50", 50), ("mlp1000", 1000)):
            rng = np.random.default_rng(0)
            params = [
                (rng.standard_normal((784, hidden)) * 0.01).astype(np.float32),
                np.zeros(hidden, np.float32),
                (rng.standard_normal((hidden, 10)) * 0.01).astype(np.float32),
                np.zeros(10, np.float32),
            ]
            self.steps[name] = self._make_step(params, SGD_LR[name])

    def _make_step(self, params, lr):
        np = self.np
        W1, b1, W2, b2 = params

        def step(x, t):
            n = x.shape[0]
            a1 = x @ W1
            a1 += b1
            h = np.maximum(a1, 0)
            s = h @ W2
            s += b2
            s -= s.max(axis=1, keepdims=True)
            y = np.exp(s)
            y /= y.sum(axis=1, keepdims=True)
            rows = np.arange(n)
            loss = -np.log(y[rows, t]).mean()  # noqa: F841 - a real step computes its loss
            y[rows, t] -= 1
            y /= n
            dW2 = h.T @ y
            db2 = y.sum(axis=0)
            dh = y @ W2.T
            dh *= a1 > 0
            dW1 = x.T @ dh
            db1 = dh.sum(axis=0)
            W1[...] -= lr * dW1
            b1[...] -= lr * db1
            W2[...] -= lr * dW2
            b2[...] -= lr * db2

        return step

    def convert(self, name, x, t):
        return x.reshape(len(x), -1), t

    def info(self):
        return {}


class TorchWorker:
    """The same four networks in PyTorch, at PyTorch's defaults (its own thread count and settings)."""

    def __init__(self):
        import torch

        self.torch = torch
        torch.manual_seed(0)
        self.models = {name: self.model(name) for name in NETS}
        self.steps = {}
        for name, model in self.models.items():
            optimizer = torch.optim.SGD(model.parameters(), lr=SGD_LR[name])
            loss_fn = torch.nn.CrossEntropyLoss()

            def step(x, t, model=model, optimizer=optimizer, loss_fn=loss_fn):
                optimizer.zero_grad(set_to_none=True)
                loss_fn(model(x), t).backward()
                optimizer.step()

            self.steps[name] = step

    def model(self, name):
        nn = self.torch.nn
        if name in ("mlp50", "mlp1000"):
            hidden = 50 if name == "mlp50" else 1000
            return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
        if name == "simple":
            return nn.Sequential(
                nn.Conv2d(1, 30, 5),
                nn.ReLU(),
                nn.MaxPool2d(2, 2),
                nn.Flatten(),
                nn.Linear(4320, 100),
                nn.ReLU(),
                nn.Linear(100, 10),
            )
        layers, channels = [], 1
        for i, (filters, pad) in enumerate(((16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)), 1):
            layers += [nn.Conv2d(channels, filters, 3, padding=pad), nn.ReLU()]
            channels = filters
            if i % 2 == 0:
                layers.append(nn.MaxPool2d(2, 2))
        return nn.Sequential(
            *layers,
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 50),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(50, 10),
            nn.Dropout(0.5),
        )

    def convert(self, name, x, t):
        return self.torch.from_numpy(x), self.torch.from_numpy(t)

    def info(self):
        torch = self.torch
        return {
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "torch_config": torch.__config__.parallel_info().splitlines()[:6],
        }


WORKERS = {
    "layerprop": LayerpropWorker,
    "layerprop threads": LayerpropThreadsWorker,
    "bare NumPy": BareNumpyWorker,
    "PyTorch": TorchWorker,
}


def time_steps(worker, batches, name, steps):
    step = worker.steps[name]
    data = [worker.convert(name, x, t) for x, t in batches]
    start = time.perf_counter()
    for i in range(steps):
        step(*data[i % len(data)])
    return (time.perf_counter() - start) / steps


def profile(worker, batches, name, rounds):
    """Median forward / backward seconds of every layer of layerprop's network ``name``."""
    net = layerprop_net(name)
    fwd, bwd = {}, {}
    for r in range(rounds):
        x, t = batches[r % len(batches)]
        h = x
        for key, layer in net.layers.items():
            start = time.perf_counter()
            h = layer.forward(h, True) if getattr(layer, "has_train_mode", False) else layer.forward(h)
            fwd.setdefault(key, []).append(time.perf_counter() - start)
        start = time.perf_counter()
        net.last_layer.forward(h, t)
        d = net.last_layer.backward(1)
        fwd.setdefault("SoftmaxWithLoss", []).append(time.perf_counter() - start)
        bwd.setdefault("SoftmaxWithLoss", []).append(0.0)
        for key, layer in reversed(net.layers.items()):
            start = time.perf_counter()
            d = layer.backward(d)
            bwd.setdefault(key, []).append(time.perf_counter() - start)
    rows = []
    shape = (BATCH, *net.to_config()["input_dim"])
    for key, layer in net.layers.items():
        flops, moved, out = layer_cost(layer, shape)
        rows.append(
            {
                "layer": key,
                "fwd": statistics.median(fwd[key]),
                "bwd": statistics.median(bwd[key]),
                "flops": flops,
                "bytes": moved,
                "primitives": numpy_primitives(layer, shape) if type(layer).__name__ == "Convolution" else None,
            }
        )
        shape = out
    rows.append(
        {
            "layer": "SoftmaxWithLoss",
            "fwd": statistics.median(fwd["SoftmaxWithLoss"]),
            "bwd": 0.0,
            "flops": 0,
            "bytes": 0,
        }
    )
    return rows


def numpy_primitives(layer, in_shape, repeats=9):
    """Seconds that a convolution's NumPy primitives alone take for a whole batch of ``in_shape``:
    ``{"matmul": …, "copies": …}``.

    Measured on one chunk of the size the layer itself uses (operands in the cache, as in the
    layer), scaled to the batch: the matrix products — forward col·W, dW and (when the layer
    computes it) dx, at their real shapes — and the window copies that build their column
    matrices (x's windows forward; dout's windows backward, or x's again for dW). This is what
    im2col in NumPy cannot avoid; the layer's time above it is everything else (padding, bias,
    reshapes, Python)."""
    import numpy as np

    from layerprop.layers.conv import _window_view

    N, C, H, W = in_shape
    FN, _, FH, FW = layer.W.shape
    layer.forward(np.zeros(in_shape, np.float32))
    start, stop = layer._chunk_plan()[0]
    n, scale = stop - start, N / (stop - start)
    _, _, OH, OW = layer.output_shape(in_shape)
    p, s = layer.pad, layer.stride
    rng = np.random.default_rng(0)

    def best(fn):
        fn()
        times = []
        for _ in range(repeats):
            begin = time.perf_counter()
            fn()
            times.append(time.perf_counter() - begin)
        return min(times)

    K = FH * FW * C
    padded = rng.random((n, H + 2 * p, W + 2 * p, C), dtype=np.float32)
    col = np.empty((n, OH, OW, FH, FW, C), np.float32)
    windows = _window_view(np, padded, FH, FW, s)
    col_w = layer.W.transpose(2, 3, 1, 0).reshape(
        K, FN
    )  # as the layer holds it (NumPy picks its matmul loop by layout)
    out = np.empty((n * OH * OW, FN), np.float32)
    if C == 1:  # an image batch (NCHW): the layer copies runs along image rows into a transposed buffer
        col_t = np.empty((FH, FW, C, n, OH, OW), np.float32)
        col = col_t.transpose(3, 4, 5, 0, 1, 2)
        columns = col_t.reshape(K, -1).T
    else:
        columns = col.reshape(-1, K)
    copies = best(lambda: np.copyto(col, windows))  # first: the products below read its result
    matmul = best(lambda: np.matmul(columns, col_w, out=out))
    if layer.input_grad and s == 1:  # dx as a convolution of dout; dW from the same windows
        d_padded = rng.random((n, H + FH - 1, W + FW - 1, FN), dtype=np.float32)
        d_col = np.empty((n, H, W, FH, FW, FN), np.float32)
        d_windows = _window_view(np, d_padded, FH, FW, 1)
        x_rows = rng.random((n * H * W, C), dtype=np.float32)
        w_flipped = rng.random((FH * FW * FN, C), dtype=np.float32)
        dx = np.empty((n * H * W, C), np.float32)
        copies += best(lambda: np.copyto(d_col, d_windows))
        matmul += best(lambda: np.matmul(x_rows.T, d_col.reshape(-1, FH * FW * FN)))
        matmul += best(lambda: np.matmul(d_col.reshape(-1, FH * FW * FN), w_flipped, out=dx))
    else:  # dW = colᵀ·dout with the columns rebuilt; dx = dout·col_Wᵀ folded back (larger strides)
        d_rows = rng.random((n * OH * OW, FN), dtype=np.float32)
        matmul += best(lambda: np.matmul(columns.T, d_rows))
        copies += best(lambda: np.copyto(col, windows))
        if layer.input_grad:
            matmul += best(lambda: np.matmul(d_rows, col_w.T))
    return {"matmul": matmul * scale, "copies": copies * scale}


def layer_cost(layer, shape):
    """(FLOPs of forward + backward, bytes moved through memory, output shape), float32.

    FLOPs count the matrix products (2 per multiply-add): forward, dW and — except for a first layer
    that skips it — dx. Bytes count each pass over a whole array once. For a convolution the column
    matrices are built chunk by chunk in the cache and do not count; what does: reading x and
    writing its padded copy, reading that copy again for the windows (forward, and again for dW),
    writing the output and adding the bias; backward reading dout, padding it and reading the
    padded copy for dx's windows, writing dx. For elementwise layers and pooling: reading the input
    and writing the output, and the same backward.
    """
    import numpy as np

    kind = type(layer).__name__
    out = tuple(layer.output_shape(shape)) if hasattr(layer, "output_shape") else shape
    n_in, n_out = 4 * int(np.prod(shape)), 4 * int(np.prod(out))
    if kind == "Convolution":
        FN, C, FH, FW = layer.W.shape
        rows = out[0] * out[2] * out[3]
        k = C * FH * FW
        passes = 3 if layer.input_grad else 2
        padded = 4 * out[0] * C * (shape[2] + 2 * layer.pad) * (shape[3] + 2 * layer.pad)
        forward = n_in + padded + padded + 3 * n_out
        backward = n_out + padded + ((n_out + 3 * n_out + n_in) if layer.input_grad else 0)
        return passes * 2 * rows * k * FN, forward + backward, out
    if kind == "Affine":
        fan_in, fan_out = layer.W.shape
        out = (shape[0], fan_out)
        passes = 3 if getattr(layer, "input_grad", True) else 2
        return passes * 2 * shape[0] * fan_in * fan_out, 2 * (n_in + 4 * shape[0] * fan_out), out
    return 0, 2 * (n_in + n_out), out


def time_to_accuracy(framework, epochs, weights_path, seed=0):
    """Train SimpleConvNet (Adam 0.003, cosine over ``epochs``) until the test accuracy reaches 99.0 %."""
    import math

    import numpy as np

    from layerprop.datasets import load_mnist

    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=False)
    t_train, t_test = t_train.astype(np.int64), t_test.astype(np.int64)
    iters = len(x_train) // BATCH
    total = epochs * iters
    order_rng = np.random.default_rng(seed)
    lr0 = 0.003
    if framework.startswith("layerprop"):
        from layerprop.optim import Adam
        from layerprop.training.communicators import SingleProcess, ThreadParallel

        net = layerprop_net("simple")
        state = dict(np.load(weights_path))
        net.load_state_dict(state)
        optimizer = Adam(lr=lr0)
        comm = ThreadParallel(cores()) if framework == "layerprop threads" else SingleProcess()

        def train_step(x, t, it):
            optimizer.lr = lr0 * 0.5 * (1 + math.cos(math.pi * it / total))
            optimizer.update(net.params, comm.gradient(net, x, t)[0])

        def test_accuracy():
            return net.accuracy(x_test, t_test)
    else:
        import torch

        worker = TorchWorker.__new__(TorchWorker)
        worker.torch = torch
        model = worker.model("simple")
        state = dict(np.load(weights_path))
        with torch.no_grad():  # layerprop's initial weights (Linear stores W transposed)
            model[0].weight.copy_(torch.from_numpy(state["W1"]))
            model[0].bias.copy_(torch.from_numpy(state["b1"]))
            model[4].weight.copy_(torch.from_numpy(state["W2"].T.copy()))
            model[4].bias.copy_(torch.from_numpy(state["b2"]))
            model[6].weight.copy_(torch.from_numpy(state["W3"].T.copy()))
            model[6].bias.copy_(torch.from_numpy(state["b3"]))
        optimizer = torch.optim.Adam(model.parameters(), lr=lr0, eps=1e-7)
        loss_fn = torch.nn.CrossEntropyLoss()
        x_test_t, t_test_t = torch.from_numpy(x_test), torch.from_numpy(t_test)

        def train_step(x, t, it):
            for group in optimizer.param_groups:
                group["lr"] = lr0 * 0.5 * (1 + math.cos(math.pi * it / total))
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(torch.from_numpy(x)), torch.from_numpy(t)).backward()
            optimizer.step()

        def test_accuracy():
            correct = 0
            with torch.no_grad():
                for start in range(0, len(x_test), 1000):
                    scores = model(x_test_t[start : start + 1000])
                    correct += int((scores.argmax(1) == t_test_t[start : start + 1000]).sum())
            return correct / len(x_test)

    seconds, curve, it = 0.0, [], 0
    for _ in range(epochs):
        order = order_rng.permutation(len(x_train))
        start = time.perf_counter()
        for i in range(iters):
            idx = order[i * BATCH : (i + 1) * BATCH]
            train_step(np.ascontiguousarray(x_train[idx]), t_train[idx], it)
            it += 1
        seconds += time.perf_counter() - start
        accuracy = float(test_accuracy())
        curve.append((seconds, accuracy))
        if accuracy >= TTA_ACCURACY:
            break
    return curve


def trainer_overhead(rounds, steps=600):
    """Per-step seconds of Trainer.train_epoch and of the bare loop over the same batches (medians
    of ``rounds`` alternating rounds): the difference is what the Trainer adds to a step."""
    import numpy as np

    from layerprop.datasets import load_mnist
    from layerprop.nets import TwoLayerNet
    from layerprop.optim import SGD
    from layerprop.training import Trainer

    (x_all, t_all), _ = load_mnist(flatten=True)
    batch = 10
    x, t = np.ascontiguousarray(x_all[: steps * batch], dtype=np.float32), t_all[: steps * batch].astype(np.int64)

    def bare():
        net, optimizer = TwoLayerNet(784, 4, 10, dtype="float32", seed=0), SGD(lr=0.01)
        order = np.random.default_rng([0, 1]).permutation(len(x))
        start = time.perf_counter()
        for i in range(steps):
            index = order[i * batch : (i + 1) * batch]
            grads = net.gradient(x[index], t[index])
            float(net.last_loss)
            optimizer.update(net.params, grads)
        return (time.perf_counter() - start) / steps

    def trainer():
        net = TwoLayerNet(784, 4, 10, dtype="float32", seed=0)
        run = Trainer(net, x, t, epochs=1, mini_batch_size=batch, optimizer_param={"lr": 0.01}, verbose=False, seed=0)
        run.train_acc_samples = 1  # epoch_seconds is the loop's time; the evaluation is not counted
        run.train_epoch()
        return run.history["epoch_seconds"][-1] / run.iter_per_epoch

    times = {"bare": [], "trainer": []}
    for r in range(rounds):
        for name, timed in (
            (("bare", bare), ("trainer", trainer)) if r % 2 == 0 else (("trainer", trainer), ("bare", bare))
        ):
            times[name].append(timed())
    return {name: statistics.median(values) for name, values in times.items()}


def worker_main(kind):
    """Answer one JSON command per stdin line with one JSON line on stdout."""
    worker = WORKERS[kind]()
    batches = mnist_batches(20)
    for line in sys.stdin:
        request = json.loads(line)
        cmd = request["cmd"]
        if cmd == "info":
            reply = worker.info()
        elif cmd == "nets":
            reply = sorted(worker.steps)
        elif cmd == "warmup":
            for name in worker.steps:
                time_steps(worker, batches, name, request["steps"])
            reply = True
        elif cmd == "time":
            reply = time_steps(worker, batches, request["net"], request["steps"])
        elif cmd == "machine":
            reply = worker.machine()
        elif cmd == "profile":
            reply = profile(worker, batches, request["net"], request["rounds"])
        elif cmd == "save_initial":
            import numpy as np

            net = layerprop_net("simple", seed=request["seed"])
            np.savez(request["path"], **net.state_dict())
            reply = True
        elif cmd == "tta":
            reply = time_to_accuracy(kind, request["epochs"], request["path"])
        elif cmd == "trainer":
            reply = trainer_overhead(request["rounds"])
        else:
            reply = None
        print(json.dumps(reply), flush=True)


# =========================================================================== orchestrator

PEAK_RSS_CHILD = """
import sys
from layerprop.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:  # VmHWM: this process's own peak resident set size
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(f"peak_kb={peak_kb}")
sys.exit(code)
"""


def peak_rss_of_training():
    """Run a full default ``layerprop train`` in a child process: its peak RSS (MB) and wall time (s).

    The child reads its own high-water mark (VmHWM, Linux), so no other process's memory counts.
    """
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", PEAK_RSS_CHILD, "train", "--quiet", "--seed", "0", "--out", out],
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
    return int(result.stdout.rsplit("peak_kb=", 1)[1]) / 1024, seconds


class Worker:
    """A worker process; ``ask`` sends one command and waits for its answer."""

    def __init__(self, kind):
        self.kind = kind
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )  # the environment as the user has it

    def ask(self, **request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.kind} worker exited (code {self.proc.wait()})")
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def torch_installed():
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def machine_line():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {os.cpu_count()} CPUs, load average {load:.2f} at start"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument(
        "--rounds", type=int, default=9, help="alternating rounds per network (default 9; 0: no step-time table)"
    )
    parser.add_argument("--steps", type=int, default=10, help="training steps per worker and round (default 10)")
    parser.add_argument("--nets", default=",".join(NETS), help=f"comma-separated subset of {', '.join(NETS)}")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when installed")
    parser.add_argument("--no-threads", action="store_true", help="leave out layerprop with one thread per core")
    parser.add_argument("--profile", action="store_true", help="per-layer profile of the two conv nets")
    parser.add_argument("--trainer", action="store_true", help="the Trainer's per-step overhead over a bare loop")
    parser.add_argument("--tta", action="store_true", help="time to 99.0 %% test accuracy (minutes)")
    parser.add_argument("--tta-epochs", type=int, default=6, help="epochs of the cosine schedule (default 6)")
    parser.add_argument(
        "--train-memory", action="store_true", help="peak memory and wall time of a full default `layerprop train`"
    )
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between turns (default 0.2)")
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return
    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    unknown = set(nets) - set(NETS)
    if unknown:
        parser.error(f"unknown network(s) {sorted(unknown)}; choose from {', '.join(NETS)}")

    kinds = ["layerprop", "bare NumPy"] + (["PyTorch"] if torch_installed() and not args.no_torch else [])
    if cores() > 1 and not args.no_threads:
        try:
            import threadpoolctl  # noqa: F401 - ThreadParallel needs it to hold BLAS to one thread per slice
        except ImportError:
            print("layerprop --threads: not measured (pip install 'layerprop[threads]')")
        else:
            kinds.insert(1, "layerprop threads")
    workers = {kind: Worker(kind) for kind in kinds}
    try:
        run(args, nets, workers)
    finally:
        for worker in workers.values():
            worker.close()


def run(args, nets, workers):
    print(f"machine: {machine_line()}")
    print(
        f"Python {platform.python_version()}; environment variables OPENBLAS_*/OMP_*/MKL_*: "
        f"{ {k: v for k, v in os.environ.items() if k.startswith(('OPENBLAS', 'OMP_', 'MKL_', 'GOTO'))} or 'none set' }"
    )
    for kind, worker in workers.items():
        print(f"{kind} process: {worker.ask(cmd='info')}")
    if "PyTorch" not in workers:
        print("PyTorch: not measured (pip install torch==2.13.0 to compare)")
    has = {kind: set(worker.ask(cmd="nets")) for kind, worker in workers.items()}
    for worker in workers.values():
        worker.ask(cmd="warmup", steps=3)
    machine = workers["layerprop"].ask(cmd="machine")

    samples = {(kind, net): [] for kind in workers for net in nets}
    order = list(workers)
    for r in range(args.rounds):
        turn = order[r % len(order) :] + order[: r % len(order)]  # who goes first rotates
        for net in nets:
            for kind in turn:
                if net in has[kind]:
                    time.sleep(args.pause)
                    samples[(kind, net)].append(workers[kind].ask(cmd="time", net=net, steps=args.steps))
    machine_end = workers["layerprop"].ask(cmd="machine")
    peak = max(machine["peak_gflops"], machine_end["peak_gflops"])
    bandwidth = max(machine["copy_gbs"], machine_end["copy_gbs"])
    print(
        f"\nmachine peak measured in this run (layerprop's process): float32 matmul 2048² "
        f"{peak:.0f} GFLOP/s, copy bandwidth {bandwidth:.1f} GB/s (read + write)"
    )
    print(
        f"median training-step time, batch {BATCH}, float32, real MNIST batches, {args.rounds} alternating "
        f"rounds of {args.steps} steps\n"
    )

    flops = step_flops(nets)
    med = {key: statistics.median(v) for key, v in samples.items() if v}
    if not med:
        nets = []
    threads = f"layerprop --threads {cores()}"
    header = (
        f"| network | layerprop | {threads} | PyTorch CPU | bare NumPy | best layerprop / PyTorch (target) "
        "| layerprop / bare | best layerprop GFLOP/s (of peak) |"
    )
    if nets:
        print(header)
        print("|" + "---|" * header.count(" | ") + "---|")
    for net in nets:
        lp = med.get(("layerprop", net))
        lp_threads = med.get(("layerprop threads", net))
        best = min(lp, lp_threads) if lp_threads else lp  # the setting a user picks for this network
        torch_t = med.get(("PyTorch", net))
        bare = med.get(("bare NumPy", net))
        gflops = flops[net] / best / 1e9
        cells = [
            TITLES[net],
            f"{lp * 1e3:.3g} ms",
            f"{lp_threads * 1e3:.3g} ms" if lp_threads else "–",
            f"{torch_t * 1e3:.3g} ms" if torch_t else "–",
            f"{bare * 1e3:.3g} ms" if bare else "–",
            f"{best / torch_t:.2f} (≤ {TARGETS[net]})" if torch_t else "–",
            f"{lp / bare:.2f} (≤ 1.10)" if bare else "–",
            f"{gflops:.0f} ({gflops / peak:.0%})",
        ]
        print("| " + " | ".join(cells) + " |")

    if args.profile:
        for net in ("simple", "deep"):
            rows = workers["layerprop"].ask(cmd="profile", net=net, rounds=max(args.rounds, 5))
            print_profile(net, rows, peak, bandwidth)
    if args.trainer:
        cost = workers["layerprop"].ask(cmd="trainer", rounds=max(args.rounds, 5))
        print(
            f"\nTrainer per-step cost (784-4-10, batch 10, float32, default callbacks): "
            f"{cost['trainer'] * 1e6:.1f} µs a step in Trainer.train_epoch, {cost['bare'] * 1e6:.1f} µs bare: "
            f"{(cost['trainer'] - cost['bare']) * 1e6:+.1f} µs"
        )
    if args.tta:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "initial.npz")
            workers["layerprop"].ask(cmd="save_initial", path=path, seed=0)
            print(
                f"\ntime to {TTA_ACCURACY:.1%} MNIST test accuracy: SimpleConvNet, Adam lr 0.003 (ε 1e-7), cosine "
                f"over {args.tta_epochs} epochs, batch {BATCH}, float32, same initial weights and shuffles; "
                "training seconds (evaluation excluded)"
            )
            for kind in [k for k in ("layerprop", "layerprop threads", "PyTorch") if k in workers]:
                curve = workers[kind].ask(cmd="tta", epochs=args.tta_epochs, path=path)
                reached = next((s for s, a in curve if a >= TTA_ACCURACY), None)
                points = ", ".join(f"{a:.2%} at {s:.0f} s" for s, a in curve)
                verdict = f"{reached:.0f} s" if reached is not None else "not reached"
                label = f"layerprop --threads {cores()}" if kind == "layerprop threads" else kind
                print(f"  {label:<22} {verdict:>12}   (after each epoch: {points})")

    if args.train_memory:
        peak_mb, seconds = peak_rss_of_training()
        print(
            f"\nfull default `layerprop train --seed 0` (784-50-10, 17 epochs, evaluation, saving, plot): "
            f"peak RSS {peak_mb:.0f} MB, {seconds:.1f} s wall"
        )


def step_flops(nets):
    """Matrix-product FLOPs of one training step of each network (layerprop's structure, batch 100)."""
    from layerprop.nets import Network  # noqa: F401 - layerprop only, no PyTorch here

    total = {}
    for net in nets:
        model = layerprop_net(net)
        config = model.to_config()
        shape = (BATCH, *config["input_dim"]) if "input_dim" in config else (BATCH, 784)
        flops = 0
        for layer in model.layers.values():
            f, _, shape = layer_cost(layer, shape)
            flops += f
        total[net] = flops
    return total


def print_profile(net, rows, peak, bandwidth):
    print(
        f"\nlayerprop per layer, {TITLES[net]} (median ms, one thread). floor = max(FLOPs / {peak:.0f} GFLOP/s, "
        f"bytes / {bandwidth:.1f} GB/s); NumPy primitives = what the convolution's matrix products and window "
        "copies alone take at their real shapes and chunk sizes (cache-resident), the part im2col in NumPy "
        "cannot avoid"
    )
    print(
        "| layer | forward | backward | GFLOP | MB moved | floor | time / floor "
        "| NumPy primitives: matmuls + copies | time / primitives |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    total = floor_total = 0.0
    for row in rows:
        seconds = row["fwd"] + row["bwd"]
        floor = max(row["flops"] / (peak * 1e9), row["bytes"] / (bandwidth * 1e9))
        total += seconds
        floor_total += floor
        ratio = f"{seconds / floor:.1f}" if floor else "–"
        prim = row.get("primitives")
        if prim:
            work = prim["matmul"] + prim["copies"]
            rate = row["flops"] / prim["matmul"] / 1e9
            numpy_cells = (
                f"{prim['matmul'] * 1e3:.2f} ({rate:.0f} GFLOP/s) + {prim['copies'] * 1e3:.2f} = {work * 1e3:.2f}",
                f"{seconds / work:.2f}",
            )
        else:
            numpy_cells = ("–", "–")
        print(
            f"| {row['layer']} | {row['fwd'] * 1e3:.2f} | {row['bwd'] * 1e3:.2f} | {row['flops'] / 1e9:.3f} | "
            f"{row['bytes'] / 1e6:.1f} | {floor * 1e3:.2f} | {ratio} | {numpy_cells[0]} | {numpy_cells[1]} |"
        )
    print(f"| total | | {total * 1e3:.1f} (sum) | | | {floor_total * 1e3:.1f} | {total / floor_total:.1f} | | |")


if __name__ == "__main__":
    main()

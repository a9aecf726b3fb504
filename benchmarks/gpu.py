"""Benchmark: training on a CUDA GPU — layerprop (CuPy backend) against PyTorch CUDA eager and a
bare CuPy loop, on the same four networks, batch 100, float32.

Networks: 784-50-10 and 784-1000-10 MLPs (SGD, lr 0.1), SimpleConvNet and DeepConvNet (Adam,
lr 0.001) — the book's architectures, the same in all three implementations. A step is forward,
loss, backward and the optimizer update.

Reported, in one table (layerprop twice: with its fused kernels, and with them off —
``backend.set_fused_kernels(False)`` — so the plain array formulas run on CuPy):

- median time per training step: blocks of ``--block`` steps after a warm-up, each block timed with
  a device synchronisation at its end (so launches overlap the GPU as in real training), the
  median of ``--repeats`` blocks divided by the block length;
- the time of one training epoch (600 steps over MNIST's 60,000 images, shuffled on the device)
  of the default MLP and of DeepConvNet (layerprop's is the Trainer's, evaluation excluded);
- with ``--cli``, the wall time of ``layerprop train --model deepconvnet --device cuda`` (its
  defaults: Adam 0.001 with cosine decay, 12 epochs) and the test accuracy it reaches.

Each implementation runs in its own process at its own default settings (PyTorch: no
``cudnn.benchmark``, the default foreach optimizers); ratios are against PyTorch measured in the
same run on the same GPU.

Run:  python benchmarks/gpu.py [--repeats 7] [--block 30] [--cli] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

BATCH = 100
NETWORKS = ("mlp-50", "mlp-1000", "simpleconvnet", "deepconvnet")
IMPLEMENTATIONS = ("pytorch", "cupy", "layerprop", "layerprop-plain")  # plain: the fused kernels off
HERE = os.path.dirname(os.path.abspath(__file__))


def optimizer_of(net):
    return ("sgd", 0.1) if net.startswith("mlp") else ("adam", 0.001)


# --------------------------------------------------------------------------- data
def mnist_arrays(flatten):
    import numpy as np

    from layerprop.datasets import load_mnist

    (x, t), _ = load_mnist(normalize=True, flatten=flatten)
    return x.astype(np.float32), t.astype(np.int64)


def block_timer(step, synchronize, batches, warmup, block, repeats):
    """Median seconds per step over ``repeats`` blocks of ``block`` steps (after ``warmup`` steps)."""
    n = len(batches)
    for i in range(warmup):
        step(*batches[i % n])
    synchronize()
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        for i in range(block):
            step(*batches[(r * block + i) % n])
        synchronize()
        times.append((time.perf_counter() - start) / block)
    return statistics.median(times)


def epoch_timer(step, synchronize, x, t, permutation, xp):
    """Seconds for one pass over (x, t) in the order ``permutation`` (on the device), batch 100."""
    synchronize()
    start = time.perf_counter()
    order = permutation()
    for i in range(0, len(x), BATCH):
        idx = order[i : i + BATCH]
        step(x[idx], t[idx])
    synchronize()
    return time.perf_counter() - start


# --------------------------------------------------------------------------- PyTorch
def torch_worker(args):
    import torch
    from torch import nn

    device = torch.device("cuda")

    def model(net):
        if net.startswith("mlp"):
            hidden = int(net.split("-")[1])
            return nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
        if net == "simpleconvnet":
            return nn.Sequential(
                nn.Conv2d(1, 30, 5),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Linear(30 * 12 * 12, 100),
                nn.ReLU(),
                nn.Linear(100, 10),
            )
        layers, c = [], 1
        for i, (fn, pad) in enumerate(((16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)), 1):
            layers += [nn.Conv2d(c, fn, 3, padding=pad), nn.ReLU()]
            c = fn
            if i % 2 == 0:
                layers.append(nn.MaxPool2d(2))
        return nn.Sequential(
            *layers,
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 50),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(50, 10),
            nn.Dropout(0.5),
        )

    results = {}
    for net in args.networks:
        torch.manual_seed(0)
        m = model(net).to(device)
        name, lr = optimizer_of(net)
        opt = torch.optim.SGD(m.parameters(), lr=lr) if name == "sgd" else torch.optim.Adam(m.parameters(), lr=lr)
        loss_fn = nn.CrossEntropyLoss()
        x, t = mnist_arrays(flatten=net.startswith("mlp"))
        x = torch.from_numpy(x if net.startswith("mlp") else x.reshape(-1, 1, 28, 28)).to(device)
        t = torch.from_numpy(t).to(device)

        def step(xb, tb):
            opt.zero_grad()
            loss_fn(m(xb), tb).backward()
            opt.step()

        batches = [(x[i : i + BATCH], t[i : i + BATCH]) for i in range(0, 100 * BATCH, BATCH)]
        results[net] = {
            "step": block_timer(step, torch.cuda.synchronize, batches, args.warmup, args.block, args.repeats)
        }
        if net in ("mlp-50", "deepconvnet") and not args.no_epochs:
            gen = torch.Generator(device=device).manual_seed(0)
            results[net]["epoch"] = epoch_timer(
                step, torch.cuda.synchronize, x, t, lambda: torch.randperm(len(x), device=device, generator=gen), torch
            )
    results["_versions"] = {
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
    }
    return results


# --------------------------------------------------------------------------- bare CuPy
def cupy_worker(args):
    """The same networks written directly with CuPy arrays: no layer objects, no checks."""
    import cupy as cp

    def he(shape, fan_in, rng):
        return cp.asarray(rng.standard_normal(shape).astype("float32") * (2.0 / fan_in) ** 0.5)

    def conv_forward(x, W, b, pad):
        N, C, H, Wd = x.shape
        FN, _, FH, FW = W.shape
        xp_ = cp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
        OH, OW = xp_.shape[2] - FH + 1, xp_.shape[3] - FW + 1
        col = cp.empty((N, C, FH, FW, OH, OW), dtype=x.dtype)
        for i in range(FH):
            for j in range(FW):
                col[:, :, i, j] = xp_[:, :, i : i + OH, j : j + OW]
        col = col.transpose(0, 4, 5, 1, 2, 3).reshape(N * OH * OW, -1)
        out = col @ W.reshape(FN, -1).T + b
        return out.reshape(N, OH, OW, FN).transpose(0, 3, 1, 2), (col, x.shape, pad, OH, OW)

    def conv_backward(dout, W, cache):
        col, shape, pad, OH, OW = cache
        N, C, H, Wd = shape
        FN, _, FH, FW = W.shape
        d = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        dW = (col.T @ d).T.reshape(W.shape)
        db = d.sum(axis=0)
        dcol = (d @ W.reshape(FN, -1)).reshape(N, OH, OW, C, FH, FW).transpose(0, 3, 4, 5, 1, 2)
        img = cp.zeros((N, C, H + 2 * pad, Wd + 2 * pad), dtype=dout.dtype)
        for i in range(FH):
            for j in range(FW):
                img[:, :, i : i + OH, j : j + OW] += dcol[:, :, i, j]
        return img[:, :, pad : pad + H, pad : pad + Wd], dW, db

    def pool_forward(x):
        N, C, H, W = x.shape
        r = x.reshape(N, C, H // 2, 2, W // 2, 2)
        out = r.max(axis=(3, 5))
        return out, (r == out[:, :, :, None, :, None], x.shape)

    def pool_backward(dout, cache):
        mask, shape = cache
        return (mask * dout[:, :, :, None, :, None]).reshape(shape)

    def build(net, rng):
        """[(kind, params)] and the list of parameter arrays."""
        if net.startswith("mlp"):
            h = int(net.split("-")[1])
            spec = [("affine", 784, h), ("relu",), ("affine", h, 10)]
        elif net == "simpleconvnet":
            spec = [
                ("conv", 1, 30, 5, 0),
                ("relu",),
                ("pool",),
                ("flatten",),
                ("affine", 4320, 100),
                ("relu",),
                ("affine", 100, 10),
            ]
        else:
            spec, c = [], 1
            for i, (fn, pad) in enumerate(((16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)), 1):
                spec += [("conv", c, fn, 3, pad), ("relu",)]
                c = fn
                if i % 2 == 0:
                    spec.append(("pool",))
            spec += [("flatten",), ("affine", 1024, 50), ("relu",), ("dropout",), ("affine", 50, 10), ("dropout",)]
        layers, params = [], []
        for s in spec:
            if s[0] == "affine":
                p = [he((s[1], s[2]), s[1], rng), cp.zeros(s[2], "float32")]
            elif s[0] == "conv":
                p = [he((s[2], s[1], s[3], s[3]), s[1] * s[3] * s[3], rng), cp.zeros(s[2], "float32")]
            else:
                p = []
            layers.append((s, p))
            params += p
        return layers, params

    def make_step(net, rng):
        layers, params = build(net, rng)
        name, lr = optimizer_of(net)
        state = {"t": 0, "m": [cp.zeros_like(p) for p in params], "v": [cp.zeros_like(p) for p in params]}

        def step(x, t):
            caches = []
            for s, p in layers:
                kind = s[0]
                if kind == "affine":
                    caches.append(x)
                    x = x @ p[0] + p[1]
                elif kind == "conv":
                    x, cache = conv_forward(x, p[0], p[1], s[4])
                    caches.append(cache)
                elif kind == "relu":
                    caches.append(x > 0)
                    x = x * caches[-1]
                elif kind == "pool":
                    x, cache = pool_forward(x)
                    caches.append(cache)
                elif kind == "flatten":
                    caches.append(x.shape)
                    x = x.reshape(len(x), -1)
                else:  # dropout
                    caches.append(cp.random.random(x.shape, dtype=cp.float32) > 0.5)
                    x = x * caches[-1]
            y = cp.exp(x - x.max(axis=1, keepdims=True))
            y /= y.sum(axis=1, keepdims=True)
            d = y.copy()
            d[cp.arange(len(t)), t] -= 1
            d /= len(t)
            grads = []
            for (s, p), cache in zip(reversed(layers), reversed(caches)):
                kind = s[0]
                if kind == "affine":
                    grads[:0] = [cache.T @ d, d.sum(axis=0)]
                    d = d @ p[0].T
                elif kind == "conv":
                    d, dW, db = conv_backward(d, p[0], cache)
                    grads[:0] = [dW, db]
                elif kind in ("relu", "dropout"):
                    d = d * cache
                elif kind == "pool":
                    d = pool_backward(d, cache)
                else:
                    d = d.reshape(cache)
            state["t"] += 1
            if name == "sgd":
                for p, g in zip(params, grads):
                    p -= lr * g
            else:
                k = state["t"]
                lr_t = lr * (1 - 0.999**k) ** 0.5 / (1 - 0.9**k)
                for p, g, m, v in zip(params, grads, state["m"], state["v"]):
                    m += (1 - 0.9) * (g - m)
                    v += (1 - 0.999) * (g * g - v)
                    p -= lr_t * m / (cp.sqrt(v) + 1e-7)

        return step

    import numpy as np

    results = {}
    for net in args.networks:
        step = make_step(net, np.random.default_rng(0))
        x, t = mnist_arrays(flatten=net.startswith("mlp"))
        x = cp.asarray(x if net.startswith("mlp") else x.reshape(-1, 1, 28, 28))
        t = cp.asarray(t)
        batches = [(x[i : i + BATCH], t[i : i + BATCH]) for i in range(0, 100 * BATCH, BATCH)]
        sync = cp.cuda.Device().synchronize
        results[net] = {"step": block_timer(step, sync, batches, args.warmup, args.block, args.repeats)}
        if net in ("mlp-50", "deepconvnet") and not args.no_epochs:
            cp.random.seed(0)
            results[net]["epoch"] = epoch_timer(step, sync, x, t, lambda: cp.random.permutation(len(x)), cp)
    results["_versions"] = {"cupy": cp.__version__}
    return results


# --------------------------------------------------------------------------- layerprop
def layerprop_worker(args):
    import cupy as cp

    from layerprop.backend import set_fused_kernels, to_device
    from layerprop.nets import DeepConvNet, MultiLayerNet, SimpleConvNet
    from layerprop.optim import get_optimizer
    from layerprop.training import Trainer

    set_fused_kernels(not args.no_fused)

    def network(net):
        if net.startswith("mlp"):
            return MultiLayerNet(784, [int(net.split("-")[1])], 10, dtype="float32", seed=0)
        if net == "simpleconvnet":
            return SimpleConvNet(weight_init_std="he", dtype="float32", seed=0)
        return DeepConvNet(dtype="float32", seed=0)

    results = {}
    for net in args.networks:
        model = network(net).to("cuda")
        name, lr = optimizer_of(net)
        opt = get_optimizer(name, lr=lr)

        def step(xb, tb, model=model, opt=opt):
            opt.update(model.params, model.gradient(xb, tb))

        x_host, t_host = mnist_arrays(flatten=net.startswith("mlp"))
        if not net.startswith("mlp"):
            x_host = x_host.reshape(-1, 1, 28, 28)
        x, t = to_device(x_host, "cuda:0"), to_device(t_host, "cuda:0")
        batches = [(x[i : i + BATCH], t[i : i + BATCH]) for i in range(0, 100 * BATCH, BATCH)]
        sync = cp.cuda.Device().synchronize
        results[net] = {"step": block_timer(step, sync, batches, args.warmup, args.block, args.repeats)}
        if net in ("mlp-50", "deepconvnet") and not args.no_epochs:
            trainer = Trainer(
                network(net).to("cuda"),
                x_host,
                t_host,
                epochs=1,
                mini_batch_size=BATCH,
                optimizer=name,
                optimizer_param={"lr": lr},
                verbose=False,
                seed=0,
            )
            sync()
            start = time.perf_counter()
            trainer.train_acc_samples = 1  # the epoch time below is the training loop; evaluate one sample
            trainer.train_epoch()
            sync()
            results[net]["epoch"] = trainer.history["epoch_seconds"][-1]
            results[net]["epoch_wall"] = time.perf_counter() - start
    results["_versions"] = {"cupy": cp.__version__}
    return results


WORKERS = {
    "pytorch": torch_worker,
    "cupy": cupy_worker,
    "layerprop": layerprop_worker,
    "layerprop-plain": layerprop_worker,
}


# --------------------------------------------------------------------------- driver
def run_worker(name, args):
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        name,
        "--repeats",
        str(args.repeats),
        "--block",
        str(args.block),
        "--warmup",
        str(args.warmup),
        "--networks",
        *args.networks,
    ]
    if args.no_fused or name == "layerprop-plain":
        command.append("--no-fused")
    if args.no_epochs:
        command.append("--no-epochs")
    proc = subprocess.run(command, capture_output=True, text=True, timeout=args.worker_timeout, check=False)
    if proc.returncode != 0:
        print(f"[{name}] failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_cli(timeout):
    import tempfile

    out = tempfile.mkdtemp(prefix="gpu-bench-")
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "layerprop",
            "train",
            "--model",
            "deepconvnet",
            "--device",
            "cuda",
            "--seed",
            "0",
            "--out",
            out,
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - start
    match = re.search(r"test accuracy (\d\.\d+)", proc.stdout)
    if proc.returncode != 0 or not match:
        print(f"[cli] failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return {"wall": wall, "accuracy": float(match.group(1)), "output": proc.stdout.strip()}


def table(results, cli):
    torch_r = results.get("pytorch") or {}
    lines = [
        "| network (batch 100, float32) | PyTorch CUDA eager | bare CuPy | layerprop | layerprop, kernels off "
        "| layerprop / PyTorch |",
        "|---|---|---|---|---|---|",
    ]

    def cell(impl, net, key, unit):
        value = (results.get(impl) or {}).get(net, {}).get(key)
        if value is None:
            return "—"
        return f"{value * 1e3:.2f} ms" if unit == "ms" else f"{value:.2f} s"

    for key, unit, label in (("step", "ms", "median step"), ("epoch", "s", "epoch (600 steps)")):
        for net in NETWORKS:
            if key == "epoch" and net not in ("mlp-50", "deepconvnet"):
                continue
            ours = (results.get("layerprop") or {}).get(net, {}).get(key)
            ref = torch_r.get(net, {}).get(key)
            ratio = f"{ours / ref:.2f}×" if ours and ref else "—"
            lines.append(
                f"| {net}: {label} | {cell('pytorch', net, key, unit)} | {cell('cupy', net, key, unit)} | "
                f"{cell('layerprop', net, key, unit)} | {cell('layerprop-plain', net, key, unit)} | {ratio} |"
            )
    if cli:
        lines.append(
            f"| `layerprop train --model deepconvnet --device cuda` (12 epochs): wall time | — | — | "
            f"{cli['wall']:.1f} s, test accuracy {cli['accuracy'] * 100:.2f} % | — | — |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--block", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=NETWORKS)
    parser.add_argument("--implementations", nargs="+", default=list(IMPLEMENTATIONS), choices=IMPLEMENTATIONS)
    parser.add_argument("--no-fused", action="store_true", help="layerprop without its fused kernels")
    parser.add_argument("--no-epochs", action="store_true", help="skip the epoch timings")
    parser.add_argument(
        "--cli", action="store_true", help="also time layerprop train --model deepconvnet --device cuda"
    )
    parser.add_argument("--cli-timeout", type=int, default=400)
    parser.add_argument("--worker-timeout", type=int, default=300)
    parser.add_argument("--json", default=None, help="also write the results as JSON to this file")
    parser.add_argument("--worker", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return 0
    from layerprop.backend import cuda_available

    if not cuda_available():
        print("benchmarks/gpu.py needs CuPy and a CUDA GPU (pip install 'layerprop[gpu]'); nothing measured.")
        return 0
    import numpy

    results = {name: run_worker(name, args) for name in args.implementations}
    versions = {k: v for r in results.values() if r for k, v in r.get("_versions", {}).items()}
    versions.update(python=sys.version.split()[0], numpy=numpy.__version__)

    def report(cli):
        print(table(results, cli))
        print("\n" + ", ".join(f"{k} {v}" for k, v in versions.items()), flush=True)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"results": results, "cli": cli, "versions": versions}, f, indent=1)

    report(None)  # written before the long CLI run, so a timeout there keeps the step times
    if args.cli:
        cli = run_cli(args.cli_timeout)
        if cli:
            print()
            report(cli)
    return 0


if __name__ == "__main__":
    sys.exit(main())

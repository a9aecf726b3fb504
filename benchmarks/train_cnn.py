"""Benchmark: one SimpleConvNet training step (gradient + SGD update p -= lr·g, batch 100, float32)
in layerprop and in PyTorch on the CPU (when installed), on the same architecture and the same
initial weights: conv 30×5×5 → relu → 2×2 max pool → affine 4320→100 → relu → affine 100→10 →
softmax cross-entropy, on MNIST (28×28) batches.

Both use the same number of threads: NumPy's BLAS thread count (``--threads N`` sets it, through
the OpenBLAS/OMP/MKL environment variables, before NumPy is imported) and ``torch.set_num_threads``.
Measurements are interleaved (a block of steps of each implementation in turn, who goes first
rotating) after a warm-up, and the median per-step time of the blocks is reported, so the ratio
compares the two under the same machine load. ``--profile`` adds layerprop's time per layer.

Run:  nice python benchmarks/train_cnn.py [--repeats 15] [--block 10] [--threads N] [--profile]
Target (issue 4): layerprop ≤ 1.5× PyTorch. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

BATCH = 100
LR = 0.01


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved blocks per implementation")
    parser.add_argument("--block", type=int, default=10, help="training steps per block")
    parser.add_argument("--threads", type=int, default=None, help="BLAS and PyTorch threads (default: NumPy's)")
    parser.add_argument("--random-data", action="store_true", help="random MNIST-shaped data instead of MNIST")
    parser.add_argument("--profile", action="store_true", help="also time each layerprop layer")
    return parser.parse_args()


ARGS = parse_args()
# PyTorch's OpenMP threads would otherwise spin after each parallel region and slow NumPy's turn.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
if ARGS.threads is not None:  # must happen before NumPy loads its BLAS
    for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_name] = str(ARGS.threads)

import numpy as np

from layerprop.nets import SimpleConvNet
from timing import blas_threads, measure  # benchmarks/timing.py


def make_batches(count, random_data):
    rng = np.random.default_rng(0)
    if not random_data:
        try:
            from layerprop.datasets import load_mnist

            (x_train, t_train), _ = load_mnist(flatten=False)
            source = "MNIST"
        except Exception as error:  # noqa: BLE001 - fall back to random data, and say so
            print(f"(MNIST unavailable: {error}; using random data)")
            random_data = True
    if random_data:
        x_train = rng.random((BATCH * count, 1, 28, 28), dtype=np.float32)
        t_train = rng.integers(0, 10, BATCH * count)
        source = "random MNIST-shaped data"
    batches = []
    for _ in range(count):
        idx = rng.choice(len(x_train), BATCH, replace=False)
        batches.append((np.ascontiguousarray(x_train[idx], dtype=np.float32), t_train[idx].astype(np.int64)))
    return batches, source


class LayerpropStep:
    name = "layerprop"

    def __init__(self, seed=0):
        self.net = SimpleConvNet(dtype="float32", seed=seed)

    def __call__(self, x, t):
        grads = self.net.gradient(x, t)
        for key, param in self.net.params.items():
            param -= LR * grads[key]


class TorchStep:
    name = "PyTorch"

    def __init__(self, params, threads):
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        nn = torch.nn
        self.model = nn.Sequential(nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                                   nn.Linear(4320, 100), nn.ReLU(), nn.Linear(100, 10))
        with torch.no_grad():  # start from layerprop's weights (Linear stores W transposed)
            conv, fc1, fc2 = self.model[0], self.model[4], self.model[6]
            conv.weight.copy_(torch.from_numpy(params["W1"]))
            conv.bias.copy_(torch.from_numpy(params["b1"]))
            fc1.weight.copy_(torch.from_numpy(params["W2"].T.copy()))
            fc1.bias.copy_(torch.from_numpy(params["b2"]))
            fc2.weight.copy_(torch.from_numpy(params["W3"].T.copy()))
            fc2.bias.copy_(torch.from_numpy(params["b3"]))
        self.loss = nn.CrossEntropyLoss()
        self.params = list(self.model.parameters())

    def convert(self, x, t):
        return self.torch.from_numpy(x), self.torch.from_numpy(t)

    def __call__(self, x, t):
        for p in self.params:
            p.grad = None
        self.loss(self.model(x), t).backward()
        with self.torch.no_grad():
            for p in self.params:
                p -= LR * p.grad


def profile_layers(net, batches, rounds=20):
    """Median forward and backward milliseconds of each layerprop layer."""
    fwd, bwd = {}, {}
    for r in range(rounds):
        x, t = batches[r % len(batches)]
        h = x
        for name, layer in net.layers.items():
            start = time.perf_counter()
            h = layer.forward(h, True) if getattr(layer, "has_train_mode", False) else layer.forward(h)
            fwd.setdefault(name, []).append(time.perf_counter() - start)
        start = time.perf_counter()
        net.last_layer.forward(h, t)
        d = net.last_layer.backward(1)
        fwd.setdefault("loss", []).append(time.perf_counter() - start)
        bwd.setdefault("loss", []).append(0.0)
        for name, layer in reversed(net.layers.items()):
            start = time.perf_counter()
            d = layer.backward(d)
            bwd.setdefault(name, []).append(time.perf_counter() - start)
    print(f"\nlayerprop per layer (median ms)   {'forward':>8}{'backward':>10}")
    total = 0.0
    for name, times in fwd.items():
        f, b = statistics.median(times) * 1e3, statistics.median(bwd[name]) * 1e3
        total += f + b
        print(f"  {name:<31}{f:>8.2f}{b:>10.2f}")
    print(f"  {'sum':<31}{total:>18.2f}")


def main():
    threads = ARGS.threads if ARGS.threads is not None else blas_threads()
    batches, source = make_batches(40, ARGS.random_data)
    lp = LayerpropStep()
    steps = [lp]
    try:
        import torch

        steps.append(TorchStep(lp.net.params, threads))
        torch_note = f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)"
        x, t = batches[0]
        with torch.no_grad():
            ours = float(lp.net.loss(x, t))
            theirs = float(steps[1].loss(steps[1].model(torch.from_numpy(x)), torch.from_numpy(t)))
        if abs(ours - theirs) > 1e-4 * max(1.0, abs(ours)):
            print(f"warning: initial losses differ: layerprop {ours:.6f}, PyTorch {theirs:.6f}", file=sys.stderr)
    except ImportError:
        torch_note = "PyTorch not installed (pip install torch==2.13.0 to compare)"
    print(f"NumPy {np.__version__} ({threads} BLAS threads); {torch_note}")
    print(f"SimpleConvNet training step, batch {BATCH}, float32, {source}; "
          f"{ARGS.repeats} interleaved blocks of {ARGS.block} steps after a warm-up\n")

    medians = measure(steps, batches, ARGS.repeats, ARGS.block)
    ours = medians["layerprop"]
    line = f"layerprop {ours * 1e3:8.2f} ms/step"
    if "PyTorch" in medians:
        theirs = medians["PyTorch"]
        ratio = ours / theirs
        line += (f"   PyTorch {theirs * 1e3:8.2f} ms/step   ratio layerprop/PyTorch {ratio:.2f} "
                 f"(target ≤ 1.5: {'met' if ratio <= 1.5 else 'MISSED'})")
    print(line)
    if ARGS.profile:
        profile_layers(lp.net, batches)


if __name__ == "__main__":
    main()

"""Benchmark: one MLP training step (gradient + SGD update, batch 100, float32) in layerprop, in a bare
NumPy loop written for the purpose, and in PyTorch on the CPU (when installed), at 784-50-10 and
784-1000-10; plus the peak memory of a full ``layerprop train``.

Measurements are interleaved (a block of steps of each implementation in turn, repeated) and the
median per-step time of the blocks is reported, so the ratios compare the three under the same
machine load. Run:  python benchmarks/train_mlp.py [--repeats 41] [--block 20] [--no-train]
Targets (issue 3): layerprop ≤ 1.15× the bare loop; ≤ 0.7× PyTorch at 784-50-10 and ≤ 1.0× at
784-1000-10; peak RSS of `layerprop train` ≤ 300 MB. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from layerprop.datasets import load_mnist
from layerprop.nets import TwoLayerNet
from layerprop.optim import SGD
from timing import blas_threads, measure  # benchmarks/timing.py

BATCH = 100
LR = 0.1


class LayerpropStep:
    name = "layerprop"

    def __init__(self, hidden, seed=0):
        self.net = TwoLayerNet(784, hidden, 10, weight_init_std=0.01, dtype="float32", seed=seed)
        self.optimizer = SGD(lr=LR)

    def __call__(self, x, t):
        grads = self.net.gradient(x, t)
        self.optimizer.update(self.net.params, grads)


class BareNumpyStep:
    """The same network and update written directly in NumPy: no layers, no dicts of gradients."""

    name = "bare NumPy"

    def __init__(self, hidden, seed=0):
        rng = np.random.default_rng(seed)
        self.W1 = (rng.standard_normal((784, hidden)) * 0.01).astype(np.float32)
        self.b1 = np.zeros(hidden, np.float32)
        self.W2 = (rng.standard_normal((hidden, 10)) * 0.01).astype(np.float32)
        self.b2 = np.zeros(10, np.float32)

    def __call__(self, x, t):
        n = x.shape[0]
        a1 = x @ self.W1
        a1 += self.b1
        h = np.maximum(a1, 0)
        s = h @ self.W2
        s += self.b2
        s -= s.max(axis=1, keepdims=True)
        y = np.exp(s)
        y /= y.sum(axis=1, keepdims=True)
        loss = -np.log(y[np.arange(n), t]).mean()  # noqa: F841 - computed as a real step would
        dy = y
        dy[np.arange(n), t] -= 1
        dy /= n
        dW2 = h.T @ dy
        db2 = dy.sum(axis=0)
        dh = dy @ self.W2.T
        dh[a1 <= 0] = 0
        dW1 = x.T @ dh
        db1 = dh.sum(axis=0)
        self.W1 -= LR * dW1
        self.b1 -= LR * db1
        self.W2 -= LR * dW2
        self.b2 -= LR * db2


class TorchStep:
    name = "PyTorch CPU"

    def __init__(self, hidden, seed=0):
        import torch

        torch.manual_seed(seed)
        self.torch = torch
        self.model = torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
        self.loss = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)

    def convert(self, x, t):
        return self.torch.from_numpy(x), self.torch.from_numpy(t.astype(np.int64))

    def __call__(self, x, t):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(self.model(x), t)
        loss.backward()
        self.optimizer.step()


CHILD = """
import sys
from layerprop.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:  # VmHWM: this process's own peak resident set size
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(f"peak_kb={peak_kb}")
sys.exit(code)
"""


def peak_rss_of_training():
    """Run a full default ``layerprop train`` in a child process; its peak RSS (MB) and wall time (s).

    The child reads its own high-water mark (VmHWM, Linux) so the parent's memory is not counted.
    """
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", CHILD, "train", "--quiet", "--seed", "0", "--out", out],
                                check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    peak_kb = int(result.stdout.rsplit("peak_kb=", 1)[1])
    return peak_kb / 1024, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=41)
    parser.add_argument("--block", type=int, default=20)
    parser.add_argument("--no-train", action="store_true", help="skip the full-training memory measurement")
    args = parser.parse_args()

    threads = blas_threads()
    implementations = [LayerpropStep, BareNumpyStep]
    # PyTorch's OpenMP threads spin for a while after each parallel region by default, taking the
    # cores from whichever implementation is timed next; let them sleep instead (set before import).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch

        torch.set_num_threads(threads)
        implementations.append(TorchStep)
        torch_note = f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        torch_note = "PyTorch not installed (pip install torch==2.13.0 to compare)"
    print(f"NumPy {np.__version__} ({threads} BLAS threads); {torch_note}; batch {BATCH}, float32, "
          f"{args.repeats} interleaved blocks of {args.block} steps\n")

    (x_train, t_train), _ = load_mnist()
    rng = np.random.default_rng(0)
    batches = []
    for _ in range(50):
        idx = rng.choice(len(x_train), BATCH, replace=False)
        batches.append((np.ascontiguousarray(x_train[idx]), t_train[idx].astype(np.int64)))

    targets = {50: 0.7, 1000: 1.0}
    print(f"{'network':<13}{'layerprop':>12}{'bare NumPy':>12}{'PyTorch':>12}{'lp/bare':>10}{'lp/torch':>10}")
    for hidden in (50, 1000):
        steps = [cls(hidden) for cls in implementations]
        medians = measure(steps, batches, args.repeats, args.block)
        lp, bare = medians["layerprop"], medians["bare NumPy"]
        torch_time = medians.get("PyTorch CPU")
        ratio_bare = lp / bare
        line = f"784-{hidden}-10".ljust(13) + f"{lp * 1e3:>10.3f}ms{bare * 1e3:>10.3f}ms"
        if torch_time:
            ratio_torch = lp / torch_time
            line += f"{torch_time * 1e3:>10.3f}ms{ratio_bare:>10.2f}{ratio_torch:>10.2f}"
            verdict = (f"   targets: lp/bare ≤ 1.15 {'met' if ratio_bare <= 1.15 else 'MISSED'}, "
                       f"lp/torch ≤ {targets[hidden]} {'met' if ratio_torch <= targets[hidden] else 'MISSED'}")
        else:
            line += f"{'-':>12}{ratio_bare:>10.2f}{'-':>10}"
            verdict = f"   target: lp/bare ≤ 1.15 {'met' if ratio_bare <= 1.15 else 'MISSED'}"
        print(line + verdict)

    if not args.no_train:
        peak_mb, seconds = peak_rss_of_training()
        print(f"\nfull `layerprop train` (784-50-10, 17 epochs, with evaluation and saving): "
              f"peak RSS {peak_mb:.0f} MB (target ≤ 300 MB), {seconds:.1f} s wall")


if __name__ == "__main__":
    main()

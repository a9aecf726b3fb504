"""Benchmark: data-parallel training over MPI — what one step costs on 1, 2 and 4 ranks, what an
allreduce costs by message size, and what scaling out to 2–64 machines would give.

Measured here (each rank count in its own ``mpiexec`` run, started by this script):

- allreduce (MPI_Allreduce, sum, float32) time by message size, 1 KiB … 16 MiB, median of repeats,
  and the fit  t(M) = α + M/β  (latency α, bandwidth β) per rank count;
- one training step (gradient of the rank's slice of a global batch of 100, the allreduce, an SGD
  update) of the notes' MLP 784-50-10 and of the book's DeepConvNet, float32, with the blocking
  allreduce and with ``overlap`` (per-layer Iallreduce during backward): median step time, time
  spent in the allreduce, speed-up over 1 rank;
- compute time of one gradient by batch size (1 rank; the fastest of the repeats, since other
  programs on the machine only ever add time), used by the model below.

Modelled (not measured): P machines, one rank each, a ring allreduce over a link of 10 or 100 Gbit/s,
t_comm(P) = 2(P−1)·α_link + 2·(P−1)/P · M/β_link, with α_link = ``--latency-us`` (default 30 µs at
10 Gbit/s, 5 µs at 100 Gbit/s); step time = compute(slice) + t_comm (no overlap assumed), for a
global batch of 100 (strong scaling: the slice shrinks) and for 100 samples per machine (weak
scaling: the global batch grows with P).

Each rank count is measured ``--rounds`` times in rotating order and each number is the smallest
of the rounds (on a shared machine other programs only ever add time).

Run:  python benchmarks/distributed.py [--ranks 1,2,4] [--steps 20] [--rounds 2] [--json out.json]
(Open MPI as root needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1, and more ranks
than cores PRTE_MCA_rmaps_default_mapping_policy=:oversubscribe; this script sets them only for
the mpiexec it starts.) This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

GLOBAL_BATCH = 100
SIZES = [2**k for k in range(8, 23, 2)]  # float32 elements: 1 KiB … 16 MiB
MODELS = ("mlp", "deepconvnet")


def build(model):
    from layerprop.nets import DeepConvNet, MultiLayerNetExtend

    if model == "mlp":
        return MultiLayerNetExtend(784, [50], 10, weight_init_std="relu", dtype="float32", seed=0), (784,)
    return DeepConvNet(dtype="float32", seed=0), (1, 28, 28)


def batch(shape, n, rng):
    return rng.random((n, *shape), dtype=np.float32), rng.integers(0, 10, n)


# -- worker: runs on every rank under mpiexec ----------------------------------------------------
def worker(args):
    from mpi4py import MPI

    from layerprop.optim import SGD
    from layerprop.training.communicators import mpi_communicator

    comm = mpi_communicator()
    world = comm.comm
    result = {"ranks": comm.size, "blas_threads": comm.blas_threads, "allreduce": {}, "steps": {}, "compute": {}}
    rng = np.random.default_rng(comm.rank)

    for size in SIZES:  # warm-up: connections are set up on first use
        world.Allreduce(MPI.IN_PLACE, np.ones(size, dtype=np.float32), op=MPI.SUM)
    for size in SIZES:  # allreduce by message size
        buffer = np.ones(size, dtype=np.float32)
        times = []
        for _ in range(max(5, min(args.steps * 2, 4_000_000 // size))):
            world.Barrier()
            start = time.perf_counter()
            world.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            times.append(time.perf_counter() - start)
        result["allreduce"][size * 4] = {"median": statistics.median(times), "min": min(times)}

    for model in args.models:
        net, shape = build(model)
        optimizer = SGD(lr=0.01)
        steps = args.steps if model == "mlp" else max(3, args.steps // 4)
        for overlap in (False, True):
            comm.overlap = overlap
            comm._layout = None
            n = GLOBAL_BATCH // comm.size + (1 if comm.rank < GLOBAL_BATCH % comm.size else 0)
            share = n / GLOBAL_BATCH
            x, t = batch(shape, n, rng)
            step_times, comm_times = [], []
            for i in range(steps + 2):
                world.Barrier()
                waited = comm.allreduce_seconds
                start = time.perf_counter()
                grads, _ = comm.gradient(net, x, t, share)
                optimizer.update(net.params, grads)
                if i >= 2:  # two warm-up steps
                    step_times.append(time.perf_counter() - start)
                    comm_times.append(comm.allreduce_seconds - waited)
            slowest = world.allreduce(statistics.median(step_times), op=MPI.MAX)
            result["steps"][f"{model}/{'overlap' if overlap else 'blocking'}"] = {
                "step": slowest,
                "allreduce": statistics.median(comm_times),
                "bytes": int(sum(p.size for p in net.params.values()) * 4),
            }
        if comm.size == 1:  # compute time by batch size, for the model of more machines
            times = {}
            for n in (1, 2, 4, 8, 13, 25, 50, 100):
                x, t = batch(shape, n, rng)
                net.gradient(x, t)
                samples = []
                for _ in range(max(5, steps // 2)):
                    start = time.perf_counter()
                    net.gradient(x, t)
                    samples.append(time.perf_counter() - start)
                times[n] = min(samples)  # the least disturbed run: the machine may be shared
            result["compute"][model] = times
    if comm.is_root:
        with open(args.out, "w") as f:
            json.dump(result, f)


# -- driver --------------------------------------------------------------------------------------
def _fastest(results):
    """Merge the rounds of one rank count: each number the smallest any round measured."""
    first = results[0]
    if isinstance(first, dict):
        return {key: _fastest([r[key] for r in results]) for key in first}
    if isinstance(first, float):
        return min(results)
    return first


def fit_latency_bandwidth(allreduce):
    """Least-squares t = α + M/β over (M bytes, fastest t seconds); returns (α s, β bytes/s).

    The fastest repeat is used: on a shared machine other programs only ever add time.
    """
    m = np.array([float(k) for k in allreduce])
    t = np.array([v["min"] for v in allreduce.values()])
    slope, intercept = np.polyfit(m, t, 1)
    return max(intercept, 0.0), (1.0 / slope if slope > 0 else float("inf"))


def ring_allreduce_seconds(machines, size_bytes, latency, bits_per_second):
    if machines == 1:
        return 0.0
    return 2 * (machines - 1) * latency + 2 * (machines - 1) / machines * size_bytes * 8 / bits_per_second


def compute_model(compute):
    """Least-squares fit compute(n) = a + b·n (a ≥ 0) of the gradient time by batch size n."""
    n = np.array([float(k) for k in compute])
    t = np.array(list(compute.values()))
    b, a = np.polyfit(n, t, 1)
    if a < 0:  # no negative fixed cost: refit through the origin
        a, b = 0.0, float(np.dot(n, t) / np.dot(n, n))
    return lambda size: a + b * size


def report(results, args):
    by_ranks = {r["ranks"]: r for r in results}
    print(
        f"machine: {platform.node()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, {mpi_versions()}"
    )
    print("\nMEASURED — allreduce (sum, float32) by message size, median seconds")
    ranks = sorted(by_ranks)
    print("bytes      " + "".join(f"{f'{r} ranks: median / fastest':>30}" for r in ranks))
    for size in SIZES:
        key = str(size * 4)
        print(
            f"{size * 4:>9}  "
            + "".join(
                f"{by_ranks[r]['allreduce'][key]['median'] * 1e6:>15.1f} / "
                f"{by_ranks[r]['allreduce'][key]['min'] * 1e6:>8.1f} µs"
                for r in ranks
            )
        )
    for r in ranks:
        if r > 1:
            alpha, beta = fit_latency_bandwidth(by_ranks[r]["allreduce"])
            print(f"fit on {r} ranks: latency α = {alpha * 1e6:.1f} µs, bandwidth β = {beta / 1e9:.2f} GB/s")
    print(f"\nMEASURED — one training step, global batch {GLOBAL_BATCH}, float32 (median; slowest rank)")
    print("model        ranks  allreduce      step  in allreduce  speed-up vs 1 rank blocking")
    for model in args.models:
        base = by_ranks[ranks[0]]["steps"][f"{model}/blocking"]["step"]
        for r in ranks:
            for mode in ("blocking", "overlap"):
                s = by_ranks[r]["steps"][f"{model}/{mode}"]
                print(
                    f"{model:<12} {r:>5}  {mode:<9} {s['step'] * 1e3:>8.2f} ms {s['allreduce'] * 1e3:>8.2f} ms"
                    f"  {base / s['step']:>8.2f}×"
                )
    if 1 not in by_ranks:
        return
    print("\nMODELLED — P machines, one rank each, ring allreduce; compute measured above (1 rank)")
    for model in args.models:
        compute = compute_model(by_ranks[1]["compute"][model])
        size = by_ranks[1]["steps"][f"{model}/blocking"]["bytes"]
        full = compute(GLOBAL_BATCH)
        print(
            f"{model}: {size / 1e6:.2f} MB of gradients; gradient compute fitted {compute(0) * 1e3:.2f} ms + "
            f"{(compute(1) - compute(0)) * 1e3:.3f} ms/sample = {full * 1e3:.1f} ms per batch of {GLOBAL_BATCH}"
        )
        print(
            "machines  "
            + "".join(f"{'strong ' + str(g) + ' Gb/s':>16}{'weak ' + str(g) + ' Gb/s':>16}" for g in (10, 100))
        )
        for p in (2, 4, 8, 16, 32, 64):
            cells = []
            for gbit, latency_us in ((10, args.latency_us[0]), (100, args.latency_us[1])):
                comm = ring_allreduce_seconds(p, size, latency_us * 1e-6, gbit * 1e9)
                strong = full / (compute(max(1, GLOBAL_BATCH / p)) + comm)
                weak = p * full / (full + comm)
                cells.append(f"{strong:>15.2f}×{weak:>15.2f}×")
            print(f"{p:>8}  " + "".join(cells))


def mpi_versions():
    try:
        import mpi4py
        from mpi4py import MPI

        return f"mpi4py {mpi4py.__version__}, {MPI.Get_library_version().splitlines()[0].split(',')[0]}"
    except ImportError:
        return "mpi4py not installed"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", default="1,2,4", help="rank counts to measure (default 1,2,4)")
    parser.add_argument("--steps", type=int, default=20, help="measured MLP steps (DeepConvNet: a quarter)")
    parser.add_argument("--models", default="mlp,deepconvnet")
    parser.add_argument("--latency-us", default="30,5", help="modelled link latency at 10 and 100 Gbit/s, µs")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="measure every rank count this many times, in rotating order; report the fastest",
    )
    parser.add_argument("--json", default=None, help="also write the measurements here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.models = [m for m in args.models.split(",") if m]
    args.latency_us = [float(v) for v in args.latency_us.split(",")]
    if args.worker:
        return worker(args)
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("mpiexec not found: pip install 'layerprop[dist]'")
    env = dict(
        os.environ,
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe",
    )
    counts = [int(r) for r in args.ranks.split(",")]
    rounds = {ranks: [] for ranks in counts}
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.rounds):  # 1, 2, 4, 2, 4, 1, …: a burst of load elsewhere hits one round only
            for ranks in counts[i % len(counts) :] + counts[: i % len(counts)]:
                out = os.path.join(folder, f"{ranks}.json")
                cmd = [
                    mpiexec,
                    "-n",
                    str(ranks),
                    sys.executable,
                    os.path.abspath(__file__),
                    "--worker",
                    "--out",
                    out,
                    "--steps",
                    str(args.steps),
                    "--models",
                    ",".join(args.models),
                ]
                print(f"round {i + 1}: measuring on {ranks} rank(s)…", file=sys.stderr, flush=True)
                subprocess.run(cmd, env=env, check=True, timeout=1800)
                with open(out) as f:
                    rounds[ranks].append(json.load(f))
    results = [_fastest(rounds[ranks]) for ranks in counts]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    report(results, args)


if __name__ == "__main__":
    main()

"""Timing helpers shared by the benchmarks: BLAS thread count and interleaved median timing."""

from __future__ import annotations

import os
import statistics
import time


def blas_threads() -> int:
    """Threads NumPy's BLAS uses: asked of the loaded OpenBLAS library itself when possible."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # optional: ask OpenBLAS directly below
        threadpool_info = None
    if threadpool_info is not None:
        counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
        if counts:
            return max(counts)
    try:
        import ctypes

        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
        for path in paths:
            lib = ctypes.CDLL(path)
            for symbol in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                           "openblas_get_num_threads"):
                if hasattr(lib, symbol):
                    return int(getattr(lib, symbol)())
    except OSError:
        pass
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(name):
            return int(os.environ[name])
    return os.cpu_count() or 1


def measure(steps, batches, repeats, block):
    """Median seconds per step of each implementation, measured in interleaved blocks."""
    samples = {step.name: [] for step in steps}
    inputs = {step.name: [step.convert(x, t) if hasattr(step, "convert") else (x, t) for x, t in batches]
              for step in steps}
    for step in steps:  # warm-up
        for x, t in inputs[step.name][:max(block, 5)]:
            step(x, t)
    for r in range(repeats):
        for step in steps[r % len(steps):] + steps[:r % len(steps)]:  # rotate who goes first
            data = inputs[step.name]
            start = time.perf_counter()
            for i in range(block):
                step(*data[(r * block + i) % len(data)])
            samples[step.name].append((time.perf_counter() - start) / block)
    return {name: statistics.median(values) for name, values in samples.items()}

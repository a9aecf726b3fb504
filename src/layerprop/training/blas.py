"""How many threads BLAS (NumPy's matrix products) gets while training: chosen for the work.

OpenBLAS starts one thread per core and, between products, keeps them spinning. For the small
products of the notes' networks that buys no time and costs cores; on a machine that is busy with
other work it costs a great deal, since the spinning threads wait for cores that are taken.
Measured with threadpoolctl on this project's shared 2-core machine (AMD EPYC, OpenBLAS 0.3.31
with Haswell kernels, NumPy 2.4.6, float32, batch 100; SGD steps of the whole network, 1 and 2
threads taking turns, 15 rounds on a busy machine and 11 in a quieter moment), ms per step:

    network        largest   busy (load 8–12)         quieter (load ≈ 2.5)
                   product   median 1 / 2 threads     median 1 / 2 threads   fastest round 1 / 2
    784-50-10      3.9 M     1.16 / 12.7              0.35 / 0.42            0.31 / 0.25
    784-100-10     7.8 M     1.24 / 4.44              0.51 / 0.48            0.49 / 0.35
    784-200-10     15.7 M    2.43 / 8.28              0.89 / 0.90            0.81 / 0.58
    784-1000-10    78.4 M    9.46 / 37.4              4.42 / 3.00            3.92 / 2.30
    SimpleConvNet  (conv)    44.8 / 310               20.9 / 18.8            18.8 / 17.2

Below 784-1000-10 a second thread gained at most 7 % in the median even in the quieter moment
(its best rounds up to 1.4× for 1.35–1.45× the CPU time), and lost 3–11× when the machine was
busy — the audit of issue 17 saw the default 784-50-10 spend 17 s of CPU for what one thread does
in 5 s, and take 55–69 s of wall time instead of 9 s on a loaded machine. From 784-1000-10 on, a
free core gains about 1.5×.

So a network whose largest matrix product (batch × inputs × outputs of an Affine layer) is below
:data:`SMALL_PRODUCT` multiply-adds trains with ONE BLAS thread; larger ones, and convolutional
networks (whose products are shaped by their images), get the cores that other programs leave idle
(the cores this process may use, or an MPI rank's share of them, see :func:`share_for_ranks`,
less the 1-minute load average, at least one): on a busy machine, spinning threads lose
everywhere.

What the user says comes first: an explicit count (``layerprop train --blas-threads N``), then
the environment variable :data:`ENV` (``LAYERPROP_BLAS_THREADS``); and a user's own
``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` is left alone. Counts are set
through threadpoolctl (``pip install threadpoolctl``, part of the ``threads`` and ``dist`` extras);
without it nothing changes.
"""

from __future__ import annotations

import os

from .. import validation
from ..errors import missing_extra

__all__ = [
    "ENV",
    "SMALL_PRODUCT",
    "USER_VARIABLES",
    "available_cores",
    "largest_product",
    "blas_threads_for",
    "idle_cores",
    "choose_blas_threads",
    "share_for_ranks",
    "set_blas_threads",
    "blas_controllers",
]

#: the environment variable that sets the BLAS threads of ``layerprop train``
ENV = "LAYERPROP_BLAS_THREADS"
#: a user's own thread settings, which layerprop never overrides
USER_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: multiply-adds of a step's largest matrix product below which more BLAS threads only spin: the
#: products of 784-1000-10 at batch 100 (measured above)
SMALL_PRODUCT = 100 * 784 * 1000


def available_cores() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def largest_product(network, batch_size: int):
    """Multiply-adds of the largest matrix product of one training step of ``network`` on batches
    of ``batch_size`` (batch × inputs × outputs over its Affine layers), or None for a network
    with convolutions (their products are shaped by the images, and large)."""
    from ..layers import Affine, Convolution

    largest = 0
    for layer in network.layers.values():
        if isinstance(layer, Convolution):
            return None
        if isinstance(layer, Affine):
            inputs, outputs = layer.W.shape
            largest = max(largest, batch_size * inputs * outputs)
    return largest


def blas_threads_for(network, batch_size: int, ceiling: int | None = None) -> int:
    """The BLAS threads for training ``network``: 1 below :data:`SMALL_PRODUCT`, else ``ceiling``
    (default: all the cores this process may use)."""
    product = largest_product(network, batch_size)
    if product is not None and product < SMALL_PRODUCT:
        return 1
    return ceiling or available_cores()


def idle_cores(load=None) -> int:
    """The cores other programs leave idle: the cores this process may use less the 1-minute load
    average (``load``, default the system's), rounded, at least 1."""
    cores = available_cores()
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # no load average (Windows)
            return cores
    return max(1, min(cores, round(cores - load)))


def choose_blas_threads(network, batch_size: int, requested=None, ceiling=None, environ=None, load=None):
    """Set the BLAS threads for training ``network`` and say why: ``(threads, reason)``, or
    ``(None, reason)`` when they are left as they are (a user's OMP_NUM_THREADS & co., or no
    threadpoolctl). ``requested`` (e.g. ``--blas-threads``) and then :data:`ENV` win over the
    work-based choice (:func:`blas_threads_for`, then no more than :func:`idle_cores` at ``load``);
    a bad value in :data:`ENV` raises ArgumentError naming it."""
    environ = os.environ if environ is None else environ
    if requested is not None:
        threads, reason = validation.integer("blas threads", requested, minimum=1), "asked for"
    elif environ.get(ENV):
        text = environ[ENV]
        try:
            threads = validation.integer(ENV, int(text), minimum=1)
        except ValueError:
            raise validation.ArgumentError(f"{ENV} must be an integer >= 1, got {text!r}") from None
        reason = ENV
    else:
        user = [name for name in USER_VARIABLES if environ.get(name)]
        if user:
            return None, f"{user[0]}={environ[user[0]]} (the user's own setting)"
        product = largest_product(network, batch_size)
        if product is not None and product < SMALL_PRODUCT:
            threads, reason = 1, f"the largest matrix product has {product:,} multiply-adds (< {SMALL_PRODUCT:,})"
        else:
            wanted = blas_threads_for(network, batch_size, ceiling)
            threads = min(wanted, idle_cores(load))
            reason = "large products" + ("" if threads == wanted else ", on the cores other programs leave idle")
    if not set_blas_threads(threads):
        return None, "threadpoolctl is not installed"
    return threads, reason


def share_for_ranks(ranks_on_this_machine: int):
    """Give each rank of a machine its share of the CPU cores for BLAS (data-parallel training).

    Without this, P ranks each start one BLAS thread per core and P·cores threads fight for the
    cores: an MLP epoch on 2 ranks of a 2-core machine took 182 s instead of 11 s. The share is
    the cores this process may run on divided by the ranks on the machine (at least 1); a user's
    own OMP_NUM_THREADS/OPENBLAS_NUM_THREADS/MKL_NUM_THREADS is left alone, and without
    threadpoolctl nothing changes. Returns the limit set, or None.
    """
    if ranks_on_this_machine <= 1 or any(os.environ.get(name) for name in USER_VARIABLES):
        return None
    threads = max(1, available_cores() // ranks_on_this_machine)
    return threads if set_blas_threads(threads) else None


def set_blas_threads(threads: int) -> bool:
    """Limit every BLAS library NumPy loaded to ``threads`` threads (for the rest of the process,
    through threadpoolctl); False when threadpoolctl is not installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=threads, user_api="blas")
    return True


def blas_controllers(purpose: str = "training on several threads (--threads)"):
    """threadpoolctl's controls of the BLAS libraries NumPy loaded (MissingExtraError without it)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError as exc:
        raise missing_extra("threadpoolctl", "threads", purpose) from exc
    return list(ThreadpoolController().select(user_api="blas").lib_controllers)

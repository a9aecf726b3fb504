"""Data-parallel training: every rank holds the whole network and takes a slice of each batch.

The trainer asks a *communicator* for three things — which part of a batch this process computes,
the gradient of the whole batch, and accuracies over whole data sets — so the same training loop
runs in one process (:class:`SingleProcess`), in one process on several CPU cores
(:class:`ThreadParallel`: the slices are computed by threads; ``pip install 'layerprop[threads]'``)
or in many processes (:class:`MPICommunicator`, over MPI with mpi4py; ``pip install 'layerprop[dist]'``).

The math. ``mini_batch_size`` B stays the *global* batch: all ranks draw the same shuffled order
from the same seed and rank r takes the contiguous slice S_r of every batch, n_r = |S_r| samples
(the first B mod P ranks one more than the others). The loss is a batch mean plus weight decay,

    single process:  g   = (1/B)·Σ_{i∈batch} ∇ℓ_i + λ·W
    rank r:          g_r = (1/n_r)·Σ_{i∈S_r} ∇ℓ_i + λ·W

so with the share s_r = n_r/B (Σ_r s_r = 1)

    Σ_r s_r·g_r = (1/B)·Σ_i ∇ℓ_i + λ·W·Σ_r s_r = g.

Each rank scales its gradients (and its loss) by s_r into ONE buffer and one allreduce (a sum)
hands every rank g — the single-process gradient up to the order of the floating-point sums, for
uneven slices and with weight decay. A rank whose slice is empty (the last, short batch of an
epoch on many ranks) adds zeros. All ranks then apply the same update to the same weights, so
they stay identical without ever sending weights.

What is *not* the single-process result: BatchNormalization normalises with the statistics of the
rank's own slice (as every data-parallel trainer without synchronised batch norm does), and its
running mean and variance are averaged across ranks, weighted by s_r, in the same allreduce — so
every rank keeps the same running statistics, those of a single process fed the slices' averages.
Dropout draws its masks from a different stream on each rank (``[seed, …, rank]``), all derived
from the one seed, so a run is repeatable for a given number of ranks.

Accuracies are sharded too: rank r counts the correct predictions of its contiguous slice of the
data set and one allreduce adds the counts, which gives exactly the single-process accuracy.

With ``overlap=True`` the gradient of each layer is reduced by a non-blocking allreduce
(``Iallreduce``) started as soon as backward leaves that layer, while backward continues into the
earlier layers; the step waits for all of them at the end. Gradients on a GPU are packed on the
device and reduced through one host buffer (blocking; MPI need not be CUDA-aware).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import hashlib
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from ..backend import get_array_module
from ..errors import ArgumentError, DistributedError, missing_extra
from .blas import blas_controllers, share_for_ranks

__all__ = [
    "Communicator",
    "SingleProcess",
    "ThreadParallel",
    "MPICommunicator",
    "mpi_communicator",
    "shard_bounds",
    "training_fingerprint",
    "DistributedError",
]


def shard_bounds(n: int, size: int, rank: int) -> tuple[int, int]:
    """[lo, hi) of rank ``rank``'s contiguous slice of ``n`` items split over ``size`` ranks.

    The first ``n mod size`` ranks get ⌈n/size⌉ items, the others ⌊n/size⌋.
    """
    base, extra = divmod(n, size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


class Communicator:
    """What the trainer needs from the processes it trains with (see the module docstring)."""

    rank = 0
    size = 1

    @property
    def is_root(self) -> bool:
        """Whether this process writes files and prints progress (rank 0)."""
        return self.rank == 0

    # -- batches and gradients -------------------------------------------------------------
    def shard(self, batch):
        """This rank's part of the global ``batch`` (indices) and its share n_r/B of the batch mean."""
        lo, hi = shard_bounds(len(batch), self.size, self.rank)
        return batch[lo:hi], (hi - lo) / len(batch)

    def dropout_seed(self, seed: list) -> list:
        """The seed of this rank's dropout masks: ``seed`` itself in one process, ``seed + [rank]`` in many."""
        return list(seed) if self.size == 1 else [*seed, self.rank]

    def gradient(self, network, x, t, share: float = 1.0):
        """(gradients of the global batch, its loss) from this rank's slice ``x``, ``t``."""
        raise NotImplementedError

    # -- reductions --------------------------------------------------------------------------
    def allreduce_sum(self, values):
        """Element-wise sum over the ranks of a small float64 array (a copy is returned)."""
        raise NotImplementedError

    def accuracy(self, network, x, t) -> float:
        """``network.accuracy(x, t)`` over the whole of ``x``, each rank predicting its contiguous slice."""
        if self.size == 1:
            return float(network.accuracy(x, t))
        lo, hi = shard_bounds(len(x), self.size, self.rank)
        correct = round(network.accuracy(x[lo:hi], t[lo:hi]) * (hi - lo)) if hi > lo else 0
        total_correct, total = self.allreduce_sum(np.array([correct, hi - lo], dtype=np.float64))
        return float(total_correct / total) if total else 0.0

    def allgather_text(self, text: str) -> list[str]:
        """Every rank's ``text``, in rank order."""
        raise NotImplementedError

    def broadcast_text(self, text: str) -> str:
        """Rank 0's ``text`` on every rank."""
        raise NotImplementedError

    def check_agreement(self, what: str, facts: dict):
        """Raise :class:`DistributedError` on every rank when any rank's ``facts`` differ from rank 0's.

        ``facts`` maps names to JSON-able values; the message names the first rank and the first
        fact that differ, with both values.
        """
        if self.size == 1:
            return
        texts = self.allgather_text(json.dumps(facts, sort_keys=True, default=str))
        _compare(what, [json.loads(text) for text in texts])

    @contextlib.contextmanager
    def settled(self, what: str, collective: tuple = ()):
        """Run a block of local work (checks, file reads, building) on every rank, then settle its
        outcome in ONE collective, so that no rank ever waits in a collective for a rank that failed.

        Yields a :class:`Settlement`: the block puts into ``facts`` what every rank must agree on
        (compared with rank 0's, as :meth:`check_agreement` does) and into ``shared`` the values
        rank 0 decides for all (after the block, ``shared`` holds rank 0's). When the block raised
        an ``Exception`` on any rank, every rank raises: rank 0 its own error (one of ``collective``
        as it is, any other as a :class:`DistributedError` with its message) or, when rank 0 had
        none, the first failing rank's, named (``rank 1 of 4: …``; its class when it is one of
        ``collective``); the other ranks a :class:`DistributedError` (which
        :meth:`fail_together` ends silently). In one process the block simply runs.
        """
        settlement = Settlement()
        if self.size == 1:
            yield settlement
            return
        error = None
        try:
            yield settlement
        except Exception as exc:
            error = exc
        record = {
            "error": None if error is None else [type(error).__name__, _first_line(error)],
            "facts": settlement.facts,
            "shared": settlement.shared,
        }
        records = [json.loads(text) for text in self.allgather_text(json.dumps(record, sort_keys=True, default=str))]
        failed = [(rank, r["error"]) for rank, r in enumerate(records) if r["error"] is not None]
        if failed:
            raise self._settled_error(error, failed, collective) from None
        settlement.shared = records[0]["shared"]
        _compare(what, [r["facts"] for r in records])

    def _settled_error(self, error, failed, collective) -> Exception:
        """The error this rank raises when ``failed`` ranks (rank, [class name, message]) failed."""
        if self.is_root and error is not None:
            return error if isinstance(error, (DistributedError, *collective)) else DistributedError(_first_line(error))
        rank, (kind, message) = failed[0]
        message = f"rank {rank} of {self.size}: {message}"
        if self.is_root:
            cls = next((c for c in collective if c.__name__ == kind), DistributedError)
            return cls(message)
        return DistributedError(message)

    def stop_if_orphaned(self) -> None:
        """End this process at once when the launcher that started it is gone (see :class:`MPICommunicator`)."""

    @contextlib.contextmanager
    def fail_together(self, program: str = "layerprop", collective: tuple = ()):
        """Run a block so that an error on one rank stops every rank (see :class:`MPICommunicator`)."""
        yield


class Settlement:
    """What :meth:`Communicator.settled` yields: ``facts`` (compared across ranks) and ``shared``
    (rank 0's values, adopted by every rank)."""

    def __init__(self):
        self.facts: dict = {}
        self.shared: dict = {}


class SingleProcess(Communicator):
    """The communicator of an ordinary run: one process, rank 0 of 1; every operation is the identity.

    The loss of a network on a GPU stays there as a 0-d array (the divergence guard checks such
    losses in batches, so that the GPU never waits for the host between steps); on the CPU it is
    a float.
    """

    def gradient(self, network, x, t, share: float = 1.0):
        grads = network.gradient(x, t)
        loss = network.last_loss
        if isinstance(loss, (float, np.floating)) or get_array_module(loss) is np:
            return grads, float(loss)
        return grads, loss  # a 0-d array on a GPU: no wait for the device

    def allreduce_sum(self, values):
        return np.array(values, dtype=np.float64, copy=True)

    def allgather_text(self, text: str) -> list[str]:
        return [text]

    def broadcast_text(self, text: str) -> str:
        return text

    def __repr__(self):
        return "SingleProcess()"


class ThreadParallel(SingleProcess):
    """Data parallelism over ``threads`` threads of this process (one CPU core each).

    To the trainer this is one process (a :class:`SingleProcess`, rank 0 of 1: it prints and writes
    as usual); :meth:`gradient` splits each batch into ``threads`` contiguous slices (:func:`shard_bounds`),
    computes slice 0 on the network itself in the calling thread and slice r on *replica* r in
    worker thread r, and returns Σ_r s_r·g_r with s_r = n_r/B — the batch gradient, as with MPI
    (module docstring), up to the order of the floating-point sums. The replicas are copies of
    the network that share its parameter arrays, so an optimizer's in-place update reaches them
    all; they are rebuilt when the network's parameter arrays are replaced. NumPy releases the
    GIL inside its loops and matrix products, so the threads run on separate cores; BLAS is held
    to one thread each while they run (through threadpoolctl) — without that limit every thread
    would start one BLAS thread per core and they would fight for the cores.

    BatchNormalization and Dropout behave as on MPI ranks: each slice is normalised with its own
    statistics and the running statistics are averaged (weighted by s_r) after every step; each
    slice draws dropout masks from its own stream (``seed + [r]``). A run is therefore repeatable
    for a given number of threads, and differs from a one-thread run by rounding only when the
    network has neither BatchNorm nor Dropout.

    Worth it where the work per sample is large and runs on one core in NumPy (convolutions,
    pooling, elementwise layers: DeepConvNet and SimpleConvNet steps ≈ 1.3–1.5× faster with 2 threads
    on 2 cores);
    not for small MLPs, whose matrix products BLAS already spreads over the cores.
    """

    def __init__(self, threads: int):
        from ..validation import integer

        self.threads = integer("threads", threads, minimum=1, owner="ThreadParallel")
        self._blas = blas_controllers() if self.threads > 1 else []
        self._pool = (
            ThreadPoolExecutor(self.threads - 1, thread_name_prefix="layerprop-slice") if self.threads > 1 else None
        )
        self._replicas = []
        self._signature = None
        self._seed = None  # the last dropout seed the trainer asked for (replicas follow it)

    def dropout_seed(self, seed: list) -> list:
        self._seed = list(seed)
        for rank, replica in enumerate(self._replicas, start=1):
            replica.reseed([*seed, rank])
        return list(seed) if self.threads == 1 else [*seed, 0]

    def _replicas_for(self, network):
        """The replicas of ``network`` (built again when its parameter arrays changed)."""
        signature = (id(network), tuple(id(array) for array in network.params.values()))
        if signature != self._signature:
            shared = {id(array): array for array in network.params.values()}  # deepcopy keeps these
            self._replicas = [copy.deepcopy(network, dict(shared)) for _ in range(self.threads - 1)]
            for rank, replica in enumerate(self._replicas, start=1):
                replica.reseed([*self._seed, rank] if self._seed is not None else [rank])
            self._signature = signature
        return self._replicas

    def gradient(self, network, x, t, share: float = 1.0):
        if self.threads == 1 or len(x) < 2:
            grads = network.gradient(x, t)
            return grads, float(network.last_loss)
        if get_array_module(*network.params.values()) is not np:
            raise ArgumentError(
                "ThreadParallel runs on the CPU; for a GPU use one thread (the GPU is parallel already)"
            )
        results, shares, nets = self._on_slices(
            network, len(x), lambda net, lo, hi: (net.gradient(x[lo:hi], t[lo:hi]), float(net.last_loss))
        )
        grads = {key: _weighted_sum([slice_grads[key] for slice_grads, _ in results], shares) for key in results[0][0]}
        loss = sum(slice_loss * weight for (_, slice_loss), weight in zip(results, shares))
        self._average_buffers(network, nets, shares)
        network.last_loss = loss
        return grads, loss

    def accuracy(self, network, x, t) -> float:
        """``network.accuracy(x, t)``, each thread predicting a contiguous slice (the counts add up
        to exactly the one-thread accuracy; predictions do not depend on the slice)."""
        n = len(x)
        if self.threads == 1 or n < 2 or get_array_module(*network.params.values()) is not np:
            return float(network.accuracy(x, t))
        counts, _, _ = self._on_slices(
            network, n, lambda net, lo, hi: round(net.accuracy(x[lo:hi], t[lo:hi]) * (hi - lo))
        )
        return sum(counts) / n

    def _on_slices(self, network, n, work):
        """``work(net, lo, hi)`` for every non-empty slice [lo, hi) of n samples — slice 0 on
        ``network`` in this thread, slice r on replica r in worker thread r — with one BLAS thread
        and one core's cache each. Returns (results, shares n_r/n, networks), in slice order. Every
        slice has finished when this returns, also when one of them failed (its error is raised)."""
        from ..layers.conv import cache_shared_by  # each core's cache holds one slice's work

        def in_slice(net, lo, hi):
            with cache_shared_by(self.threads):
                return work(net, lo, hi)

        nets = [network, *self._replicas_for(network)]
        jobs = [
            (net, lo, hi)
            for net, (lo, hi) in zip(nets, (shard_bounds(n, self.threads, rank) for rank in range(self.threads)))
            if hi > lo
        ]
        with self._one_blas_thread_each():
            # each worker runs in a copy of this thread's context (NumPy's error state lives there)
            futures = [self._pool.submit(contextvars.copy_context().run, in_slice, *job) for job in jobs[1:]]
            try:
                first = in_slice(*jobs[0])
            finally:
                wait(futures)
            results = [first] + [future.result() for future in futures]  # re-raises a worker's error
        return results, [(hi - lo) / n for _, lo, hi in jobs], [net for net, _, _ in jobs]

    def _average_buffers(self, network, nets, shares):
        """BatchNorm running statistics: the s_r-weighted average over the slices that ran, set on
        the network and on every replica."""
        for name, layer in network.layers.items():
            for key, value in layer.buffers.items():
                if value is None:
                    continue
                average = _weighted_sum([net.layers[name].buffers[key] for net in nets], shares)
                layer.set_buffer(key, average)
                for replica in self._replicas:
                    replica.layers[name].set_buffer(key, average.copy())

    @contextlib.contextmanager
    def _one_blas_thread_each(self):
        before = [control.num_threads for control in self._blas]
        for control in self._blas:
            control.set_num_threads(1)
        try:
            yield
        finally:
            for control, threads in zip(self._blas, before):
                control.set_num_threads(threads)

    def close(self):
        """Stop the worker threads (also done when the interpreter exits)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __repr__(self):
        return f"ThreadParallel(threads={self.threads})"


def _weighted_sum(arrays, weights):
    """Σ_r weights[r]·arrays[r] as a new array (the slices' gradients or buffers, by their shares)."""
    total = arrays[0] * weights[0]
    for array, weight in zip(arrays[1:], weights[1:]):
        total += array * weight
    return total


class _Layout:
    """Where each gradient, buffer and the loss live in the one flat buffer that is reduced.

    Parameters come layer by layer in *backward* order (the last layer first), so that each layer's
    gradients are one contiguous segment that can be reduced as soon as backward leaves it; then the
    layers' buffers (BatchNorm running statistics); the loss is the last element.
    """

    def __init__(self, network):
        self.network = network
        plan = {id(layer): pairs for layer, pairs in network._grad_plan()}
        offset = 0
        self.layers = []  # (layer, [(layer key, params key, offset, shape)], start, stop)
        for layer in reversed(network.layers.values()):
            pairs = plan.get(id(layer))
            if not pairs:
                continue
            start, entries = offset, []
            for layer_key, key in pairs:
                shape = network.params[key].shape
                entries.append((layer_key, key, offset, shape))
                offset += int(np.prod(shape, dtype=np.int64))
            self.layers.append((layer, entries, start, offset))
        self.grad_size = offset
        self.buffers = []  # (layer, buffer key, offset, shape)
        for name, layer in network.layers.items():
            for key, value in sorted(getattr(layer, "buffers", {}).items()):
                if value is None:
                    raise DistributedError(
                        f"layer {name!r} has no {key} yet: run one forward pass in training mode on every rank "
                        f"before reducing (each rank needs at least one sample of the first batch)"
                    )
                self.buffers.append((layer, key, offset, value.shape))
                offset += int(value.size)
        self.loss_index = offset
        self.size = offset + 1
        xp = get_array_module(*network.params.values())
        self.array = xp.zeros(self.size, dtype=network.dtype)  # where the parameters live (CPU or GPU)
        # GPU gradients go through host memory: MPI without CUDA support cannot read device memory
        self.host = None if xp is np else np.empty(self.size, dtype=network.dtype)
        self.signature = self._signature(network)

    @staticmethod
    def _signature(network):
        buffers = tuple(
            (name, key, None if v is None else v.shape)
            for name, layer in network.layers.items()
            for key, v in sorted(getattr(layer, "buffers", {}).items())
        )
        return (id(network), network.dtype, tuple((k, v.shape) for k, v in network.params.items()), buffers)

    def pack_layer(self, layer, entries, share):
        """Write one layer's gradients (weight decay included), times ``share``, into the buffer."""
        network, out, layer_grads = self.network, self.array, layer.grads
        for layer_key, key, offset, shape in entries:
            grad = network.with_weight_decay(key, layer_grads[layer_key])
            size = int(np.prod(shape, dtype=np.int64))
            np.multiply(np.reshape(grad, -1), share, out=out[offset : offset + size], casting="unsafe")

    def pack_tail(self, loss, share):
        """The buffers (BatchNorm running statistics) and the loss, times ``share``."""
        out = self.array
        for layer, key, offset, _shape in self.buffers:
            value = layer.buffers[key]
            np.multiply(np.reshape(value, -1), share, out=out[offset : offset + value.size], casting="unsafe")
        out[self.loss_index] = loss * share

    def unpack(self):
        """(gradients as views into the reduced buffer, global loss); sets the reduced buffers on the layers."""
        out = self.array
        grads = {}
        for _, entries, _, _ in self.layers:
            for _, key, offset, shape in entries:
                grads[key] = out[offset : offset + int(np.prod(shape, dtype=np.int64))].reshape(shape)
        for layer, key, offset, shape in self.buffers:
            layer.set_buffer(key, out[offset : offset + int(np.prod(shape, dtype=np.int64))].reshape(shape).copy())
        return grads, float(out[self.loss_index])


class MPICommunicator(Communicator):
    """Data parallelism over an MPI communicator (``MPI.COMM_WORLD`` by default) with mpi4py.

    Launch with ``mpiexec -n P …``. Construction checks (:meth:`check_installation`; ``check=False``
    leaves it to the caller) that every rank runs the same layerprop version with the same
    ``overlap`` (one collective, before any other), so ranks of different installs or options stop
    at once. Each rank then watches its launcher (its parent process,
    every 0.2 s and before rank 0 writes a checkpoint) and ends itself when that is gone.
    ``overlap=True`` reduces each layer's gradients while backward continues (module docstring).
    ``allreduce_seconds`` adds up the time spent in the gradient allreduce (waiting included).
    """

    def __init__(self, comm=None, overlap: bool = False, check: bool = True):
        MPI = _import_mpi()
        self.MPI = MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.overlap = bool(overlap)
        self.allreduce_seconds = 0.0
        self._layout = None
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.local_size = node.Get_size()  # ranks on this machine
        node.Free()
        self.blas_threads = share_for_ranks(self.local_size)  # each rank its share of the cores
        # A rank whose launcher is killed (SIGKILL of mpiexec's process group leaves the ranks, which
        # have process groups of their own) is reparented: it then stops at once and writes nothing more.
        self._launcher = os.getppid() if self.size > 1 else None
        if self._launcher is not None:
            threading.Thread(
                target=_watch_launcher, args=(self._launcher, self.rank), name="layerprop-launcher-watch", daemon=True
            ).start()
        if check:
            self.check_installation()

    def check_installation(self) -> None:
        """Every rank runs the same layerprop (and NumPy major version) with the same ``overlap``
        (:class:`DistributedError` on every rank otherwise); one collective."""
        from .. import __version__

        self.check_agreement(
            "the installation and the gradient reduction",
            {
                "layerprop version": __version__,
                "NumPy major version": np.__version__.split(".")[0],
                "distributed protocol": 1,
                "overlap": self.overlap,
            },
        )

    def stop_if_orphaned(self) -> None:
        """End this process at once (exit status 1) when the launcher that started it is gone."""
        if self._launcher is not None and os.getppid() != self._launcher:
            _orphaned(self.rank)

    # -- gradients ----------------------------------------------------------------------------
    def _layout_for(self, network):
        layout = self._layout
        if layout is None or layout.signature != _Layout._signature(network):
            layout = self._layout = _Layout(network)
        return layout

    def gradient(self, network, x, t, share: float = 1.0):
        if self.size == 1:
            grads = network.gradient(x, t)
            return grads, float(network.last_loss)
        MPI = self.MPI
        if len(x) == 0:  # nothing to compute: add zeros (and weight 0 for the buffers), in the same calls
            layout = self._layout_for(network)
            layout.array[:] = 0
            waited = time.perf_counter()
            if self.overlap and layout.host is None:
                segments = [(start, stop) for _, _, start, stop in layout.layers] + [(layout.grad_size, layout.size)]
                MPI.Request.Waitall(
                    [
                        self.comm.Iallreduce(MPI.IN_PLACE, layout.array[start:stop], op=MPI.SUM)
                        for start, stop in segments
                    ]
                )
            else:
                self._allreduce(layout)
            self.allreduce_seconds += time.perf_counter() - waited
        elif not self.overlap or get_array_module(*network.params.values()) is not np:
            network.gradient(x, t)
            layout = self._layout_for(network)
            for layer, entries, _, _ in layout.layers:
                layout.pack_layer(layer, entries, share)
            layout.pack_tail(float(network.last_loss), share)
            waited = time.perf_counter()
            self._allreduce(layout)
            self.allreduce_seconds += time.perf_counter() - waited
        else:  # overlap (CPU arrays)
            layout = self._layout if self._layout is not None and self._layout.network is network else None
            requests, pending = [], {}
            if layout is not None:
                pending = {id(layer): (layer, entries, start, stop) for layer, entries, start, stop in layout.layers}

            def layer_done(layer):
                segment = pending.pop(id(layer), None)
                if segment is None:
                    return
                layer, entries, start, stop = segment
                layout.pack_layer(layer, entries, share)
                requests.append(self.comm.Iallreduce(MPI.IN_PLACE, layout.array[start:stop], op=MPI.SUM))
                MPI.Request.Testall(requests)  # lets the started reductions progress

            network.gradient(x, t, layer_done=layer_done if layout is not None else None)
            if layout is None or layout.signature != _Layout._signature(network):
                # first step (or the network changed): build the layout and reduce at once
                layout = self._layout = _Layout(network)
                MPI.Request.Waitall(requests)
                requests = []
                for layer, entries, _, _ in layout.layers:
                    layout.pack_layer(layer, entries, share)
                layout.pack_tail(float(network.last_loss), share)
                waited = time.perf_counter()
                self.comm.Allreduce(MPI.IN_PLACE, layout.array, op=MPI.SUM)
            else:
                layout.pack_tail(float(network.last_loss), share)
                waited = time.perf_counter()
                requests.append(self.comm.Iallreduce(MPI.IN_PLACE, layout.array[layout.grad_size :], op=MPI.SUM))
                MPI.Request.Waitall(requests)
            self.allreduce_seconds += time.perf_counter() - waited
        grads, loss = layout.unpack()
        network.last_loss = loss
        return grads, loss

    def _allreduce(self, layout):
        """Sum ``layout.array`` over the ranks in place (through host memory for GPU arrays)."""
        MPI = self.MPI
        if layout.host is None:
            self.comm.Allreduce(MPI.IN_PLACE, layout.array, op=MPI.SUM)
        else:
            layout.array.get(out=layout.host)
            self.comm.Allreduce(MPI.IN_PLACE, layout.host, op=MPI.SUM)
            layout.array.set(layout.host)

    # -- reductions --------------------------------------------------------------------------
    def allreduce_sum(self, values):
        result = np.array(values, dtype=np.float64, copy=True)
        self.comm.Allreduce(self.MPI.IN_PLACE, result, op=self.MPI.SUM)
        return result

    def allgather_text(self, text: str) -> list[str]:
        data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        lengths = np.zeros(self.size, dtype=np.int64)
        self.comm.Allgather(np.array([data.size], dtype=np.int64), lengths)
        gathered = np.empty(int(lengths.sum()), dtype=np.uint8)
        self.comm.Allgatherv(data, [gathered, lengths.tolist()])
        ends = np.cumsum(lengths)
        return [gathered[end - n : end].tobytes().decode("utf-8") for n, end in zip(lengths, ends)]

    def broadcast_text(self, text: str) -> str:
        data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8) if self.rank == 0 else None
        length = np.array([data.size if data is not None else 0], dtype=np.int64)
        self.comm.Bcast(length, root=0)
        buffer = data.copy() if data is not None else np.empty(int(length[0]), dtype=np.uint8)
        self.comm.Bcast(buffer, root=0)
        return buffer.tobytes().decode("utf-8")

    # -- failures -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def fail_together(self, program: str = "layerprop", collective: tuple = ()):
        """Run a block so that an error on one rank stops every rank within seconds.

        An exception of a type in ``collective`` (or a :class:`DistributedError`) is one that every
        rank raises at the same point (a bad option, diverged training, disagreeing ranks): rank 0
        re-raises it, the other ranks exit with status 1 silently. Any other exception is printed
        as one line naming the rank and the cause, and the whole job is aborted (``MPI_Abort``):
        the other ranks, blocked in a collective or not, are killed by the MPI launcher. Files are
        written only by rank 0 and atomically, so the last checkpoint stays intact.
        """
        try:
            yield
        except (DistributedError, *collective):
            if self.is_root:
                raise
            raise SystemExit(1) from None
        except SystemExit as exc:
            if exc.code in (0, None):
                raise
            self._abort(program, f"exited with status {exc.code}", exc.code if isinstance(exc.code, int) else 1)
        except BaseException as exc:
            cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._abort(program, cause, 130 if isinstance(exc, KeyboardInterrupt) else 1)

    def _abort(self, program: str, cause: str, code: int):
        first_line = cause.splitlines()[0] if cause else "failed"
        print(
            f"{program}: rank {self.rank} of {self.size} failed: {first_line} — stopping every rank",
            file=sys.stderr,
            flush=True,
        )
        sys.stdout.flush()
        self.comm.Abort(code)

    def __repr__(self):
        return f"MPICommunicator(rank={self.rank}, size={self.size}, overlap={self.overlap})"


def _flatten(facts: dict, prefix: str = "") -> dict:
    """{'a': {'b': 1}} → {'a.b': 1}, so that a disagreement names the innermost fact."""
    flat = {}
    for key, value in facts.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _compare(what: str, facts_by_rank: list) -> None:
    """DistributedError naming the first rank and fact where ``facts_by_rank[r]`` differs from rank 0's."""
    reference = _flatten(facts_by_rank[0])
    for rank, facts in enumerate(facts_by_rank[1:], start=1):
        theirs = _flatten(facts)
        for key in sorted(set(reference) | set(theirs)):
            if reference.get(key) != theirs.get(key):
                raise DistributedError(
                    f"the ranks disagree on {what}: rank {rank} has {key} = {_short(theirs.get(key))} "
                    f"but rank 0 has {_short(reference.get(key))}; start every rank with the same "
                    f"layerprop, data and options"
                )


def _first_line(error: BaseException, limit: int = 1000) -> str:
    """The first line of ``error``'s message (its class name when it has none), at most ``limit`` characters."""
    text = str(error)
    line = text.splitlines()[0] if text.strip() else type(error).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _short(value, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _watch_launcher(launcher: int, rank: int) -> None:
    """(A daemon thread of each rank) End the rank when its parent, the launcher, is gone."""
    while os.getppid() == launcher:
        time.sleep(0.2)
    _orphaned(rank)


def _orphaned(rank: int) -> None:
    with contextlib.suppress(Exception):  # the launcher held our stderr: it may be gone too
        print(f"layerprop: rank {rank}: the MPI launcher is gone; stopping", file=sys.stderr, flush=True)
    os._exit(1)


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise missing_extra("mpi4py", "dist", "distributed training (--distributed)") from exc
    return MPI


def mpi_communicator(overlap: bool = False, check: bool = True) -> MPICommunicator:
    """The communicator of every process started by ``mpiexec`` (``MPI.COMM_WORLD``).

    Raises :class:`~layerprop.errors.MissingExtraError` naming ``pip install 'layerprop[dist]'``
    when mpi4py is not installed.
    """
    return MPICommunicator(overlap=overlap, check=check)


def _digest(*arrays) -> str:
    h = hashlib.blake2b(digest_size=16)
    for array in arrays:
        if array is None:
            h.update(b"none")
            continue
        array = np.ascontiguousarray(array.get() if get_array_module(array) is not np else array)
        h.update(f"{array.dtype.str}{array.shape}".encode())
        h.update(memoryview(array).cast("B"))
    return h.hexdigest()


def training_fingerprint(trainer) -> dict:
    """What every rank of one run must agree on before the first step: the data (checksums), the
    network and its weights, the optimizer and its state, the trainer's options and callbacks
    (:meth:`Trainer.description <layerprop.training.trainer.Trainer.description>`) and its state —
    so that ranks started with different options, data or checkpoints stop before any averaging."""
    network, optimizer = trainer.network, trainer.optimizer
    try:
        described_network = network.to_config()
    except (AttributeError, NotImplementedError):
        described_network = repr(network)
    if hasattr(optimizer, "state_dict"):
        config, arrays = optimizer.state_dict()
        described_optimizer = {**config, "state checksum": _digest(*(arrays[key] for key in sorted(arrays)))}
    else:
        described_optimizer = {"class": type(optimizer).__name__}
    state = trainer.state_dict()
    for callback in trainer.callbacks:
        state.update(callback.state_dict())
    return {
        "training data checksum": _digest(trainer.x_train, trainer.t_train),
        "test data checksum": _digest(trainer.x_test, trainer.t_test),
        "network": described_network,
        "weights checksum": _digest(*network.state_dict().values()),
        "optimizer": described_optimizer,
        "trainer options": _checksums(trainer.description()),
        "trainer state": state,
    }


def _checksums(value):
    """``value`` with every array (or tuple of arrays) replaced by its checksum (JSON-able)."""
    if isinstance(value, dict):
        return {key: _checksums(item) for key, item in value.items()}
    if isinstance(value, tuple) or hasattr(value, "dtype"):
        return _digest(*(value if isinstance(value, tuple) else (value,)))
    return value


def check_batch_size(batch_size: int, size: int):
    """Every rank needs a sample of a full batch: the global batch must be at least the number of ranks."""
    if batch_size < size:
        raise ArgumentError(
            f"the global batch (mini_batch_size = {batch_size}) must hold at least one sample per rank, "
            f"but {size} ranks are running"
        )

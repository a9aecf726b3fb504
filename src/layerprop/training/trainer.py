"""Training: mini-batch gradient descent with evaluation, history, checkpoints and early stopping.

:class:`Trainer` keeps the book's constructor (``Trainer(network, x_train, t_train, x_test,
t_test, epochs=20, mini_batch_size=100, optimizer='SGD', optimizer_param={'lr': 0.01},
evaluate_sample_num_per_epoch=None, verbose=True)``) and adds what a real run needs:

- a fresh shuffle every epoch (sampling without replacement: every sample once per epoch);
- ``seed``: the same seed gives bit-for-bit the same weights (shuffles, validation split and dropout
  masks all derive from it);
- ``validation_split`` and ``early_stopping_patience``: hold out a fraction of the training data,
  stop when its accuracy has not improved for that many epochs, and keep the best weights;
- a divergence guard: a loss that is NaN or ±inf, or that exceeds ``divergence_factor`` (default
  10) times max(L₀, 1), where L₀ is the loss of the run's first iteration (kept in the history, so
  a resumed run uses the same reference), stops training with
  :class:`~layerprop.errors.TrainingDiverged` naming the iteration, and puts back the last weights
  whose loss was below that bound;
- ``checkpoint_path``: a model file written atomically after every epoch (with
  ``checkpoint_metadata`` in its header); :meth:`Trainer.load_checkpoint` continues from it and
  reaches the same final weights as an uninterrupted run. The checkpoint is the one commit point:
  the best weights of early stopping go to their own file ``<checkpoint>.best-<epoch>.npz``, written
  *before* the checkpoint that names it, and files that no checkpoint names are removed after each
  commit and on resume, so a SIGKILL at any instant leaves the previous or the next consistent state;
- ``lr_schedule``: 'constant' (the book's) or 'cosine' (the learning rate decays from its initial
  value to 0 over the run, which settles the weights and gains a few tenths of a percent);
- a progress bar (tqdm when installed) unless ``verbose=False``;
- the network's device (``network.to("cuda")`` before building the trainer): the data moves there
  once, batches are gathered there, and on a GPU the losses reach the host only every
  ``snapshot_every`` iterations and at the end of each epoch (the NaN/Inf guard then puts back the
  weights of the last check).
- ``communicator``: data-parallel training over several processes
  (:class:`~layerprop.training.communicators.MPICommunicator`); ``mini_batch_size`` stays the global batch,
  each rank computes its slice, and only rank 0 prints and writes checkpoints
  (:mod:`layerprop.training.communicators`).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time

import numpy as np

from .. import validation
from ..backend import CPU, copy_array, device_of, get_array_module, to_device, to_numpy
from ..errors import LabelError, ModelFileError, ShapeError, TrainingDiverged
from ..optim import get_optimizer
from ..progress import NoProgress, progress_bar
from .communicators import SingleProcess, check_batch_size, training_fingerprint


def _cosine(iteration: int, total: int) -> float:
    """Cosine decay from 1 at the first iteration to 0 after the last: ½·(1 + cos(π·i/total))."""
    return 0.5 * (1.0 + math.cos(math.pi * min(iteration, total) / max(total, 1)))


LR_SCHEDULES = {
    "constant": lambda iteration, total: 1.0,
    "cosine": _cosine,
}


class Trainer:
    """Train ``network`` on (``x_train``, ``t_train``) and evaluate on (``x_test``, ``t_test``) each epoch.

    ``optimizer`` is a name ('sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam') with
    ``optimizer_param`` for its constructor, or an optimizer object. ``history`` (a dict) holds
    ``train_loss_list`` (one loss per iteration), ``train_acc_list``, ``test_acc_list``,
    ``val_acc_list`` (one per epoch) and ``epoch_seconds``; ``train_acc_samples`` limits the training
    accuracy to the first samples (it costs a forward pass over them every epoch); the book's attribute names
    ``train_loss_list``, ``train_acc_list`` and ``test_acc_list`` are kept too.
    """

    def __init__(
        self,
        network,
        x_train,
        t_train,
        x_test=None,
        t_test=None,
        epochs: int = 20,
        mini_batch_size: int = 100,
        optimizer="SGD",
        optimizer_param=None,
        evaluate_sample_num_per_epoch=None,
        verbose: bool = True,
        seed=None,
        validation_split: float = 0.0,
        early_stopping_patience=None,
        checkpoint_path=None,
        checkpoint_metadata=None,
        snapshot_every: int = 100,
        train_acc_samples=None,
        lr_schedule: str = "constant",
        log=None,
        divergence_factor: float = 10.0,
        communicator=None,
    ):
        owner = "Trainer"
        self.network = network
        self.communicator = communicator if communicator is not None else SingleProcess()
        self.epochs = validation.integer("epochs", epochs, minimum=0, owner=owner)
        self.batch_size = validation.integer("mini_batch_size", mini_batch_size, minimum=1, owner=owner)
        validation_split = validation.in_range("validation_split", validation_split, 0.0, 1.0, owner=owner)
        for name, value in (
            ("evaluate_sample_num_per_epoch", evaluate_sample_num_per_epoch),
            ("train_acc_samples", train_acc_samples),
            ("early_stopping_patience", early_stopping_patience),
        ):
            if value is not None:
                validation.integer(name, value, minimum=1, owner=owner)
        if seed is not None:
            validation.integer("seed", seed, minimum=0, owner=owner)
        self.divergence_factor = validation.in_range("divergence_factor", divergence_factor, 1.0, math.inf, owner=owner)
        self.optimizer = get_optimizer(optimizer, **dict(optimizer_param or {}))
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {lr_schedule!r}")
        self.lr_schedule = lr_schedule
        self.base_lr = getattr(self.optimizer, "lr", None)
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self.train_acc_samples = train_acc_samples
        self.verbose = verbose and self.communicator.is_root
        self.seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2**63))
        self.early_stopping_patience = early_stopping_patience
        self.checkpoint_path = checkpoint_path
        self.checkpoint_metadata = dict(checkpoint_metadata or {})
        self.snapshot_every = validation.integer("snapshot_every", snapshot_every, minimum=1, owner=owner)
        self.log = log if log is not None else (lambda text: print(text, file=sys.stdout, flush=True))

        x_train, t_train = self._check_data("training", x_train, t_train)
        rng = np.random.default_rng([self.seed, 0])
        # The data moves to the network's device once; shuffled batches are gathered there.
        self.device = getattr(network, "device", CPU)
        x_train, t_train = to_device(x_train, self.device), to_device(t_train, self.device)
        if validation_split:
            order = rng.permutation(len(x_train))
            n_val = max(1, int(round(len(x_train) * validation_split)))
            if n_val >= len(x_train):
                raise validation.ArgumentError(
                    f"{owner}: validation_split {validation_split} of {len(x_train)} training samples leaves "
                    f"{len(x_train) - n_val} for training; at least one sample must remain"
                )
            val_idx = to_device(np.sort(order[:n_val]), self.device)
            train_idx = to_device(np.sort(order[n_val:]), self.device)
            self.x_val, self.t_val = x_train[val_idx], t_train[val_idx]
            x_train, t_train = x_train[train_idx], t_train[train_idx]
        else:
            self.x_val = self.t_val = None
        self.x_train, self.t_train = x_train, t_train
        if x_test is not None:
            x_test, t_test = self._check_data("test", x_test, t_test)
            self.x_test, self.t_test = to_device(x_test, self.device), to_device(t_test, self.device)
        else:
            self.x_test = self.t_test = None
        # On a GPU the losses stay there and are checked for NaN/Inf in one transfer every
        # snapshot_every iterations and at the end of each epoch, not after every step.
        self._unchecked_losses = []

        self.train_size = len(self.x_train)
        self.iter_per_epoch = max(-(-self.train_size // self.batch_size), 1)
        self.epoch = 0  # epochs completed
        self.current_iter = 0
        self._shuffle_rng = np.random.default_rng([self.seed, 1])
        self.history = {
            "train_loss_list": [],
            "train_acc_list": [],
            "test_acc_list": [],
            "val_acc_list": [],
            "epoch_seconds": [],
            "seed": self.seed,
        }
        self.best_val_acc = None
        self.best_state = None
        self.best_epoch = None  # the epoch whose weights best_state holds
        self._saved_best_epoch = None  # the epoch whose best weights are in a best file already
        self.epochs_without_improvement = 0
        self.stopped_early = False
        self._snapshot = None
        self.checkpointed_epoch = None  # the epoch the last checkpoint written or read holds
        if self.communicator.size > 1:
            check_batch_size(self.batch_size, self.communicator.size)
            self.communicator.check_agreement("the training run", training_fingerprint(self))

    # the book's attribute names
    @property
    def train_loss_list(self):
        return self.history["train_loss_list"]

    @property
    def train_acc_list(self):
        return self.history["train_acc_list"]

    @property
    def test_acc_list(self):
        return self.history["test_acc_list"]

    def _check_data(self, what, x, t):
        dtype = self.network.dtype
        x = get_array_module(x).asarray(x)
        x = x if x.dtype == dtype else x.astype(dtype)
        if t is None:
            raise LabelError(f"{what} data: {len(x)} samples but no labels")
        t = get_array_module(t).asarray(t)
        if t.ndim == 0 or len(t) != len(x):
            raise LabelError(f"{what} data: {len(x)} samples but {t.size if t.ndim == 0 else len(t)} labels")
        if len(x) == 0:
            raise ShapeError(f"{what} data is empty")
        return x, t

    # -- one step ----------------------------------------------------------------------------
    def train_step(self, x_batch, t_batch, share: float = 1.0) -> float:
        """One gradient computation and parameter update; returns the loss before the update.

        In data-parallel training the batch is this rank's slice and ``share`` its fraction of the
        global batch; the gradient and loss are those of the global batch. On a GPU in one process
        the loss is returned as a 0-d device array (checked in batches, see :meth:`_check_losses`).
        """
        if self.device != CPU and self.communicator.size == 1:  # the loss stays on the device
            grads = self.network.gradient(x_batch, t_batch)
            loss = self.network.last_loss
            self._unchecked_losses.append(loss)
            if self._snapshot is None or self.current_iter % self.snapshot_every == 0:
                self._check_losses(self.current_iter)
                self._take_snapshot()
        else:
            grads, loss = self.communicator.gradient(self.network, x_batch, t_batch, share)
            if not loss <= self._loss_bound(loss):  # also true for NaN
                self._diverged(loss, self.current_iter)
            if self._snapshot is None or self.current_iter % self.snapshot_every == 0:
                self._take_snapshot()
        if self.lr_schedule != "constant" and self.base_lr is not None:
            total = self.epochs * self.iter_per_epoch
            self.optimizer.lr = self.base_lr * LR_SCHEDULES[self.lr_schedule](self.current_iter, total)
        self.optimizer.update(self.network.params, grads)
        self.current_iter += 1
        return loss

    def _loss_bound(self, first_loss=None) -> float:
        """The largest loss that is not divergence: ``divergence_factor`` × max(L₀, 1), where L₀ is the
        first loss in the history (``first_loss`` while the history is still empty)."""
        losses = self.history["train_loss_list"]
        reference = losses[0] if losses else first_loss
        return self.divergence_factor * max(reference, 1.0)

    def _diverged(self, loss, iteration):
        """Restore the last good weights and raise TrainingDiverged for ``loss`` at ``iteration`` (0-based)."""
        if self._snapshot is not None:
            self._restore_snapshot()
            restored = f"the weights from before iteration {self._snapshot_iter + 1} (the last good ones) were restored"
        else:  # the first step of this run: nothing was updated yet
            restored = "the weights were left as they were before this step"
        losses = self.history["train_loss_list"]
        reference = losses[0] if losses else loss
        why = (
            ""
            if not np.isfinite(loss)
            else (
                f" (above {self._loss_bound(loss):.4g} = {self.divergence_factor:g} × "
                f"max(first loss {reference:.4g}, 1))"
            )
        )
        lr = f" than {self.base_lr:g}" if self.base_lr is not None else ""
        raise TrainingDiverged(
            f"the training loss became {loss:.6g}{why} at epoch {self.epoch + 1}, iteration {iteration + 1}; "
            f"{restored}. Try a smaller learning rate{lr}."
        )

    def _check_losses(self, last_iteration):
        """(GPU) Fetch the losses not checked yet (the last one is of iteration ``last_iteration``) in
        one transfer, and apply the divergence rule to each."""
        pending, self._unchecked_losses = self._unchecked_losses, []
        if not pending:
            return
        xp = get_array_module(pending[0])
        values = to_numpy(xp.stack(pending)).tolist()
        losses = self.history["train_loss_list"]
        if losses and not isinstance(losses[0], float):
            losses[0] = float(losses[0])  # the rule's reference, the run's first loss, on the host
        for i, value in enumerate(values):
            if not value <= self._loss_bound(value):  # also true for NaN
                self._diverged(value, last_iteration - len(values) + 1 + i)

    def release_data(self):
        """Drop the references to the training, validation and test arrays (e.g. before plotting)."""
        self.x_train = self.t_train = self.x_val = self.t_val = self.x_test = self.t_test = None

    def _take_snapshot(self):
        """Copy the current (good) weights and buffers into preallocated arrays."""
        state = self.network.state_dict()
        if (
            self._snapshot is None
            or self._snapshot.keys() != state.keys()
            or any(device_of(self._snapshot[key]) != device_of(value) for key, value in state.items())
        ):
            self._snapshot = {key: copy_array(value) for key, value in state.items()}
        else:
            for key, value in state.items():
                get_array_module(value).copyto(self._snapshot[key], value)
        self._snapshot_iter = self.current_iter

    def _restore_snapshot(self):
        if self._snapshot is not None:
            self.network.load_state_dict(self._snapshot)

    # -- evaluation --------------------------------------------------------------------------
    def _accuracy(self, x, t):
        limit = self.evaluate_sample_num_per_epoch
        if limit:
            x, t = x[:limit], t[:limit]
        return self.communicator.accuracy(self.network, x, t)

    # -- the loop ----------------------------------------------------------------------------
    def train(self) -> dict:
        """Run the remaining epochs; returns ``history``."""
        while self.epoch < self.epochs and not self.stopped_early:
            self.train_epoch()
        if self.best_state is not None and self.x_val is not None:
            self.network.load_state_dict(self.best_state)
        return self.history

    def train_epoch(self):
        """One pass over the training data in a fresh random order, then evaluation and checkpoint."""
        start = time.perf_counter()
        self.network.reseed(self.communicator.dropout_seed([self.seed, 2, self.epoch]))
        order = to_device(
            self._shuffle_rng.permutation(self.train_size), self.device
        )  # drawn on the host: the same order on every device
        bar = progress_bar(
            self.iter_per_epoch,
            f"epoch {self.epoch + 1}/{self.epochs}",
            enabled=None if self.verbose else False,
            unit="it",
        )
        losses = self.history["train_loss_list"]
        first_loss = len(losses)
        try:
            for i in range(self.iter_per_epoch):
                batch, share = self.communicator.shard(order[i * self.batch_size : (i + 1) * self.batch_size])
                loss = self.train_step(self.x_train[batch], self.t_train[batch], share)
                losses.append(loss)
                bar.update(1)
                if i % 50 == 0 and not isinstance(bar, NoProgress):  # float(): a GPU sync, only for the bar
                    bar.set_postfix(loss=f"{float(loss):.4f}", refresh=False)
        finally:
            bar.close()
            if self.device != CPU:  # the epoch's losses reach the host once, as floats
                on_device = [i for i in range(first_loss, len(losses)) if not isinstance(losses[i], float)]
                if on_device:
                    xp = get_array_module(losses[on_device[0]])
                    for i, value in zip(on_device, to_numpy(xp.stack([losses[i] for i in on_device])).tolist()):
                        losses[i] = value
        if self.device != CPU:
            self._check_losses(self.current_iter - 1)
        self.epoch += 1
        seconds = time.perf_counter() - start
        self.history["epoch_seconds"].append(seconds)
        limit = self.train_acc_samples
        train_acc = self._accuracy(self.x_train[:limit], self.t_train[:limit])
        self.history["train_acc_list"].append(train_acc)
        epoch_loss = np.mean(losses[-self.iter_per_epoch :])
        line = f"epoch {self.epoch:>3}/{self.epochs}  loss {epoch_loss:.4f}  train acc {train_acc:.4f}"
        if self.x_test is not None:
            test_acc = self._accuracy(self.x_test, self.t_test)
            self.history["test_acc_list"].append(test_acc)
            line += f"  test acc {test_acc:.4f}"
        if self.x_val is not None:
            val_acc = self.communicator.accuracy(self.network, self.x_val, self.t_val)
            self.history["val_acc_list"].append(val_acc)
            line += f"  val acc {val_acc:.4f}"
            self._early_stopping(val_acc)
        line += f"  ({seconds:.1f} s)"
        if self.verbose:
            self.log(line)
        if self.checkpoint_path is not None:
            self.save_checkpoint(self.checkpoint_path)

    def _early_stopping(self, val_acc):
        if self.best_val_acc is None or val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_state = {k: copy_array(v) for k, v in self.network.state_dict().items()}
            self.best_epoch = self.epoch
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
            patience = self.early_stopping_patience
            if patience is not None and self.epochs_without_improvement >= patience:
                self.stopped_early = True
                if self.verbose:
                    self.log(
                        f"early stopping: validation accuracy has not improved for {patience} epochs "
                        f"(best {self.best_val_acc:.4f}); keeping the best weights"
                    )

    # -- checkpoints -------------------------------------------------------------------------
    def trainer_state(self) -> dict:
        """What a checkpoint must hold, besides weights and optimizer, to continue identically."""
        return {
            "epoch": self.epoch,
            "epochs": self.epochs,
            "current_iter": self.current_iter,
            "seed": self.seed,
            "mini_batch_size": self.batch_size,
            "shuffle_rng": self._shuffle_rng.bit_generator.state,
            "best_val_acc": self.best_val_acc,
            "epochs_without_improvement": self.epochs_without_improvement,
            "stopped_early": self.stopped_early,
        }

    def save_checkpoint(self, path, metadata=None):
        """Write the network, optimizer state, history and trainer state to ``path`` (atomically).

        With a validation split, the best weights so far go to ``<path>.best-<epoch>.npz`` first
        (only when they changed); the checkpoint written after it names that file, and best files
        it does not name are removed afterwards.
        """
        from ..io import save_model

        if not self.communicator.is_root:  # rank 0 alone writes; every rank holds the same state
            self.checkpointed_epoch = self.epoch
            return
        path = os.fspath(path)
        best_name = None
        if self.best_state is not None:
            best_name = _best_file(path, self.best_epoch)
            best_path = os.path.join(os.path.dirname(path), best_name)
            if self._saved_best_epoch != self.best_epoch or not os.path.exists(best_path):
                save_model(best_path, _FixedState(self.network, self.best_state))
                self._saved_best_epoch = self.best_epoch
        state = {**self.trainer_state(), "best_file": best_name}
        meta = {**self.checkpoint_metadata, **(metadata or {}), "trainer": state}
        save_model(path, self.network, optimizer=self.optimizer, history=self.history, metadata=meta)
        self.checkpointed_epoch = self.epoch
        _remove_unreferenced_best_files(path, best_name)

    def load_checkpoint(self, path):
        """Restore weights, optimizer, history and trainer state from a checkpoint written by this class.

        Removes temporary files that killed writes left beside it and best-weights files that the
        checkpoint does not name. A checkpoint whose trainer state is missing, malformed or made
        for another seed or batch size raises :class:`~layerprop.errors.ModelFileError`.
        """
        from ..io import load_model, read_model_file
        from ..storage.atomic import remove_leftover_temporaries

        path = os.fspath(path)
        if self.communicator.is_root:  # in data-parallel training rank 0 alone changes files
            remove_leftover_temporaries(os.path.dirname(os.path.abspath(path)))
        loaded = load_model(path)
        state = _checked_trainer_state(path, loaded.metadata, loaded.history)
        if state["seed"] != self.seed or state["mini_batch_size"] != self.batch_size:
            raise ModelFileError(
                f"checkpoint {path} was made with seed {state['seed']} and batch size {state['mini_batch_size']}; "
                f"this trainer has seed {self.seed} and batch size {self.batch_size}"
            )
        best_state = None
        if state["best_val_acc"] is not None:
            best_name = state.get("best_file") or os.path.basename(_legacy_best_path(path))
            best_path = os.path.join(os.path.dirname(path), best_name)
            if not os.path.isfile(best_path):
                raise ModelFileError(f"{path}: the best-weights file {best_name} that the checkpoint names is missing")
            _, best_state, _ = read_model_file(best_path)
        try:
            self._shuffle_rng.bit_generator.state = state["shuffle_rng"]
        except (TypeError, ValueError, KeyError) as exc:
            raise ModelFileError(f"{path}: the checkpoint's shuffle_rng state is malformed ({exc})") from None
        self.network.load_state_dict(loaded.model.state_dict())
        if loaded.optimizer is not None:
            self.optimizer = loaded.optimizer
        self.history = loaded.history
        self.epoch = self.checkpointed_epoch = state["epoch"]
        self.current_iter = state["current_iter"]
        self.best_val_acc = state["best_val_acc"]
        self.epochs_without_improvement = state["epochs_without_improvement"]
        self.stopped_early = state["stopped_early"]
        self._snapshot = None  # weights from before the checkpoint must not be restored on divergence
        self.best_state = best_state
        self.best_epoch = self._saved_best_epoch = _best_epoch_of(state.get("best_file"))
        if best_state is not None and self.best_epoch is None:  # a checkpoint of layerprop <= 0.1.0
            self.best_epoch = state["epoch"]
        if state.get("best_file") is not None and self.communicator.is_root:
            _remove_unreferenced_best_files(path, state["best_file"])
        return self


#: What a checkpoint's trainer state holds: key -> accepted types.
_TRAINER_STATE_TYPES = {
    "epoch": (int,),
    "epochs": (int,),
    "current_iter": (int,),
    "seed": (int,),
    "mini_batch_size": (int,),
    "shuffle_rng": (dict,),
    "best_val_acc": (float, int, type(None)),
    "epochs_without_improvement": (int,),
    "stopped_early": (bool,),
}


def _checked_trainer_state(path, metadata, history) -> dict:
    """The trainer state of a checkpoint's metadata, or ModelFileError naming what is wrong."""
    state = metadata.get("trainer") if isinstance(metadata, dict) else None
    if state is None:
        raise ModelFileError(f"{path} is a model file but not a training checkpoint (it has no trainer state)")
    if not isinstance(state, dict):
        raise ModelFileError(
            f"{path}: the checkpoint's trainer state must be a JSON object, got {type(state).__name__}"
        )
    problems = [f"{key} missing" for key in _TRAINER_STATE_TYPES if key not in state]
    for key, types in _TRAINER_STATE_TYPES.items():
        value = state.get(key)
        if key in state and (not isinstance(value, types) or (bool not in types and isinstance(value, bool))):
            problems.append(f"{key} is {value!r}")
    for key in ("epoch", "current_iter", "mini_batch_size", "epochs_without_improvement", "seed"):
        if isinstance(state.get(key), int) and state[key] < (1 if key == "mini_batch_size" else 0):
            problems.append(f"{key} is {state[key]}")
    best = state.get("best_file")
    if best is not None and (not isinstance(best, str) or _best_epoch_of(best) is None):
        problems.append(f"best_file is {best!r}")
    if not isinstance(history, dict) or not all(
        isinstance(history.get(key), list)
        for key in ("train_loss_list", "train_acc_list", "test_acc_list", "val_acc_list", "epoch_seconds")
    ):
        problems.append("history is missing or malformed")
    if problems:
        raise ModelFileError(f"{path}: not a usable training checkpoint: {'; '.join(problems)}")
    return state


def _best_file(checkpoint_path, epoch) -> str:
    """Name of the file holding the best weights of early stopping, taken after ``epoch``."""
    return f"{os.path.basename(os.fspath(checkpoint_path))}.best-{epoch}.npz"


def _best_epoch_of(name):
    """The epoch in a best file's name (``checkpoint.npz.best-3.npz`` -> 3), or None."""
    if not isinstance(name, str) or os.sep in name or "/" in name:
        return None
    stem, _, tail = name.rpartition(".best-")
    number = tail[:-4] if tail.endswith(".npz") else ""
    return int(number) if stem and number.isdigit() else None


def _remove_unreferenced_best_files(checkpoint_path, keep) -> None:
    """Delete ``<checkpoint>.best-*.npz`` (and the old ``<checkpoint>.best.npz``) except ``keep``."""
    directory = os.path.dirname(os.path.abspath(checkpoint_path))
    prefix = os.path.basename(checkpoint_path) + ".best"
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if (
            name != keep
            and name.startswith(prefix)
            and name.endswith(".npz")
            and (name == prefix + ".npz" or _best_epoch_of(name) is not None)
        ):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


def _legacy_best_path(path):
    """Where checkpoints of layerprop ≤ 0.1.0 kept the best weights."""
    return f"{path}.best.npz"


class _FixedState:
    """A network's description with other weights (to save the best weights of early stopping)."""

    def __init__(self, network, state):
        self.network, self.state = network, state

    def to_config(self):
        return self.network.to_config()

    def state_dict(self):
        return self.state

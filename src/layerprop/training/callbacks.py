"""Callbacks: what a training run does around its steps, one concern each (Keras/Lightning style).

A :class:`Callback` overrides any of these hooks; the :class:`~layerprop.training.trainer.Trainer`
calls them, with itself as the first argument:

==========================================  =====================================================
``set_trainer(trainer)``                    once, when the trainer is built (check data, read options)
``on_train_begin(trainer)``                 before the first epoch of ``train()`` (or ``train_epoch()``)
``epoch_context(trainer)``                  a context manager the epoch runs inside (default: none)
``on_epoch_begin(trainer)``                 before an epoch's first step
``on_before_update(trainer, grads, loss)``  after the gradient, before ``optimizer.update``
``on_step_end(trainer, loss)``              after the update (``trainer.current_iter`` counted it)
``on_epoch_end(trainer, logs)``             after the epoch's evaluation; ``logs`` holds ``epoch``,
                                            ``seconds``, ``losses``, ``loss``, ``train_acc``,
                                            ``test_acc`` (with test data) and what callbacks add
``on_train_end(trainer)``                   when ``train()`` returns
``on_exception(trainer, error)``            when an error (or Ctrl-C) leaves a step or an epoch
==========================================  =====================================================

Setting ``trainer.stop_training = True`` (or calling ``trainer.stop()``, also from another thread)
ends the run after the current step; an epoch cut short is neither evaluated nor checkpointed.

Callbacks run in the order of their ``order`` attribute, then in the order given: those that
check the step and set the learning rate (:class:`DivergenceGuard`, :class:`LearningRateSchedule`,
0) first, then those that add to an epoch's logs (:class:`EarlyStopping`, 10), those that record
and report them (:class:`History`, 20; :class:`ProgressBar`, 30), your own (50 by default), and
:class:`~layerprop.training.checkpoint.Checkpoint` (90) last, which commits an epoch that every
other callback has seen.

A callback that holds state a resumed run needs gives it in ``state_dict()`` (JSON-able values,
stored in the checkpoint's trainer state) and takes it back in ``load_state_dict(state)``;
``description()`` says what every rank of a data-parallel run must agree on (``None``: nothing,
for callbacks that only report).
"""

from __future__ import annotations

import contextlib
import math
import sys

import numpy as np

from .. import validation
from ..backend import copy_array, device_of, get_array_module, to_numpy
from ..errors import LabelError, TrainingDiverged
from ..progress import NoProgress, progress_bar

__all__ = [
    "Callback",
    "History",
    "ProgressBar",
    "EarlyStopping",
    "DivergenceGuard",
    "LearningRateSchedule",
    "EveryNSteps",
    "split_validation",
    "host_floats",
]


class Callback:
    """Base class: every hook does nothing (see the module docstring for when each is called)."""

    #: where the callback runs among the others (lower first; equal orders keep the given order)
    order = 50

    def set_trainer(self, trainer) -> None:
        pass

    def on_train_begin(self, trainer) -> None:
        pass

    def epoch_context(self, trainer):
        return contextlib.nullcontext()

    def on_epoch_begin(self, trainer) -> None:
        pass

    def on_before_update(self, trainer, grads, loss) -> None:
        pass

    def on_step_end(self, trainer, loss) -> None:
        pass

    def on_epoch_end(self, trainer, logs: dict) -> None:
        pass

    def on_train_end(self, trainer) -> None:
        pass

    def on_exception(self, trainer, error: BaseException) -> None:
        pass

    def state_dict(self) -> dict:
        """What a checkpoint must hold for this callback to continue identically (JSON-able)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Take back what :meth:`state_dict` gave (``state`` is the checkpoint's whole trainer state)."""

    def description(self):
        """What every rank of a data-parallel run must agree on (JSON-able values or arrays, whose
        checksums are compared), or None when the callback does not change the result."""
        return {}

    def release_data(self) -> None:
        """Drop references to data arrays the callback holds (the run is over)."""


def host_floats(values) -> list:
    """``values`` (losses: Python floats, or 0-d arrays on a device) as Python floats, in one transfer."""
    if all(type(value) is float for value in values):
        return list(values)
    xp = get_array_module(*values)
    return [float(value) for value in to_numpy(xp.stack([xp.asarray(value) for value in values])).tolist()]


# --------------------------------------------------------------------------- history
class History(Callback):
    """The run's record, ``history`` (a dict): ``train_loss_list`` (one loss per step),
    ``train_acc_list``, ``test_acc_list``, ``val_acc_list`` and ``epoch_seconds`` (one entry per
    epoch) and the run's ``seed``. Every trainer has one (it adds it when ``callbacks`` has none);
    checkpoints store it, and ``trainer.history`` is it."""

    order = 20

    def __init__(self):
        self.history = {
            "train_loss_list": [],
            "train_acc_list": [],
            "test_acc_list": [],
            "val_acc_list": [],
            "epoch_seconds": [],
        }

    def set_trainer(self, trainer):
        self.history["seed"] = trainer.seed

    def on_step_end(self, trainer, loss):
        self.history["train_loss_list"].append(loss)

    def on_epoch_end(self, trainer, logs):
        losses = self.history["train_loss_list"]
        epoch_losses = logs["losses"]
        if epoch_losses:  # the epoch's losses, as host floats (on a GPU they were device scalars)
            losses[-len(epoch_losses) :] = epoch_losses
        self.history["epoch_seconds"].append(logs["seconds"])
        self.history["train_acc_list"].append(logs["train_acc"])
        for key, name in (("test_acc", "test_acc_list"), ("val_acc", "val_acc_list")):
            if key in logs:
                self.history[name].append(logs[key])

    def load(self, history: dict) -> None:
        """Continue from a checkpoint's ``history``."""
        self.history = history

    def description(self):
        return None


# --------------------------------------------------------------------------- progress
class ProgressBar(Callback):
    """A progress bar over each epoch's steps (tqdm when installed, on a terminal) and one line per
    epoch — ``epoch   3/17  loss 0.1234  train acc 0.9650  test acc 0.9601  (1.9 s)`` — given to
    ``log`` (default: printed). The trainer adds one when ``verbose``; only rank 0 of a
    data-parallel run reports."""

    order = 30

    def __init__(self, log=None):
        self.log = log if log is not None else (lambda text: print(text, file=sys.stdout, flush=True))
        self._bar = NoProgress()
        self._root = True
        self._steps = 0

    def set_trainer(self, trainer):
        self._root = trainer.communicator.is_root

    def on_epoch_begin(self, trainer):
        self._bar = progress_bar(
            trainer.iter_per_epoch,
            f"epoch {trainer.epoch + 1}/{trainer.epochs}",
            enabled=None if self._root else False,
            unit="it",
        )
        self._steps = 0

    def on_step_end(self, trainer, loss):
        bar = self._bar
        bar.update(1)
        if self._steps % 50 == 0 and not isinstance(bar, NoProgress):  # float(): a GPU sync, only for the bar
            bar.set_postfix(loss=f"{float(loss):.4f}", refresh=False)
        self._steps += 1

    def on_epoch_end(self, trainer, logs):
        self._close()
        line = f"epoch {logs['epoch']:>3}/{trainer.epochs}  loss {logs['loss']:.4f}  train acc {logs['train_acc']:.4f}"
        if "test_acc" in logs:
            line += f"  test acc {logs['test_acc']:.4f}"
        if "val_acc" in logs:
            line += f"  val acc {logs['val_acc']:.4f}"
        line += f"  ({logs['seconds']:.1f} s)"
        if self._root:
            self.log(line)

    def on_train_end(self, trainer):
        self._close()

    def on_exception(self, trainer, error):
        self._close()

    def _close(self):
        self._bar.close()
        self._bar = NoProgress()

    def description(self):
        return None


# --------------------------------------------------------------------------- validation and early stopping
def split_validation(x, t, fraction: float, seed: int):
    """``((x_train, t_train), (x_val, t_val))``: a random ``fraction`` of the samples held out for
    validation, drawn from the stream ``[seed, 0]`` (with the trainer's seed this is the split
    ``layerprop train --validation-split`` makes); both parts keep the samples' order.

    :class:`EarlyStopping` watches the accuracy on the held-out part.
    """
    fraction = validation.in_range("validation_split", fraction, 0.0, 1.0)
    seed = validation.integer("seed", seed, minimum=0)
    n = len(x)
    if len(t) != n:
        raise LabelError(f"validation split: {n} samples but {len(t)} labels")
    order = np.random.default_rng([seed, 0]).permutation(n)
    n_val = max(1, int(round(n * fraction)))
    if n_val >= n:
        raise validation.ArgumentError(
            f"validation_split {fraction:g} of {n} training samples leaves {n - n_val} for training; "
            "at least one sample must remain"
        )
    xp = get_array_module(x)
    val_idx, train_idx = xp.asarray(np.sort(order[:n_val])), xp.asarray(np.sort(order[n_val:]))
    return (x[train_idx], t[train_idx]), (x[val_idx], t[val_idx])


class EarlyStopping(Callback):
    """Watch the accuracy on held-out data (``x_val``, ``t_val``; see :func:`split_validation`)
    after every epoch (``logs["val_acc"]``), keep the weights of the best epoch, and put them back
    when training ends. With ``patience``, stop after that many epochs without improvement.

    ``best_val_acc``, ``best_epoch`` (1-based) and ``best_state`` (the weights) describe the best
    epoch so far; ``stopped`` says whether patience ran out. The test accuracy of the weights kept
    is ``trainer.history["test_acc_list"][best_epoch - 1]``. ``verbose`` (default: the trainer's)
    prints one line when patience runs out.
    """

    order = 10
    #: the state of a run without early stopping, as checkpoints record it
    NO_STATE = {"best_val_acc": None, "epochs_without_improvement": 0, "stopped_early": False}

    def __init__(self, x_val, t_val, patience=None, verbose=None):
        if patience is not None:
            validation.integer("early_stopping_patience", patience, minimum=1, owner="EarlyStopping")
        self.patience = patience
        self.verbose = verbose
        self.x_val, self.t_val = x_val, t_val
        self.best_val_acc = None
        self.best_epoch = None
        self.best_state = None
        self.epochs_without_improvement = 0
        self.stopped = False
        self._stopped_now = False

    def set_trainer(self, trainer):
        from ..backend import to_device

        self.x_val, self.t_val = trainer.checked_data("validation", self.x_val, self.t_val)
        self.x_val, self.t_val = to_device(self.x_val, trainer.device), to_device(self.t_val, trainer.device)
        if self.verbose is None:
            self.verbose = trainer.verbose

    def on_train_begin(self, trainer):
        if self.stopped:  # a resumed run that had stopped already
            trainer.stop_training = True

    def on_epoch_end(self, trainer, logs):
        val_acc = trainer.communicator.accuracy(trainer.network, self.x_val, self.t_val)
        logs["val_acc"] = val_acc
        if self.best_val_acc is None or val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_state = {k: copy_array(v) for k, v in trainer.network.state_dict().items()}
            self.best_epoch = trainer.epoch
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
            if self.patience is not None and self.epochs_without_improvement >= self.patience:
                self.stopped = self._stopped_now = True
                trainer.stop_training = True

    def on_train_end(self, trainer):
        if self.best_state is not None:
            trainer.network.load_state_dict(self.best_state)
        if self._stopped_now and self.verbose and trainer.communicator.is_root:
            print(
                f"early stopping: validation accuracy has not improved for {self.patience} epochs "
                f"(best {self.best_val_acc:.4f}, epoch {self.best_epoch}); keeping the best weights",
                flush=True,
            )
        self._stopped_now = False

    def state_dict(self):
        return {
            "best_val_acc": self.best_val_acc,
            "epochs_without_improvement": self.epochs_without_improvement,
            "stopped_early": self.stopped,
        }

    def load_state_dict(self, state):
        self.best_val_acc = state["best_val_acc"]
        self.epochs_without_improvement = state["epochs_without_improvement"]
        self.stopped = state["stopped_early"]

    def load_best(self, epoch: int, best_state: dict) -> None:
        """The best weights (of ``epoch``) that a checkpoint's best file holds."""
        self.best_epoch, self.best_state = epoch, best_state

    def description(self):
        return {"patience": self.patience, "validation data": (self.x_val, self.t_val)}

    def release_data(self):
        self.x_val = self.t_val = None


# --------------------------------------------------------------------------- divergence
class DivergenceGuard(Callback):
    """Stop a run whose loss diverges, and put back the last good weights.

    A loss that is NaN or ±inf, or above ``factor`` × max(L₀, 1) — L₀ the run's first loss (the
    history's first, so a resumed run keeps it) — raises :class:`~layerprop.errors.TrainingDiverged`
    naming the iteration and the likely cause (the learning rate, or a weight decay whose term
    ½·λ·Σ‖W‖² makes most of L₀), after restoring the weights of the last snapshot, taken every
    ``check_every`` iterations and at the first step of every epoch, from weights whose loss was
    checked (so a run that diverges after a good epoch keeps at least that epoch's weights).

    A loss already on the host (a Python float: the CPU, MPI) is checked at its step. Losses left
    on a GPU are checked together, in one transfer, every ``check_every`` iterations and at the end
    of each epoch, so the GPU never waits for the host in between. While it watches an epoch,
    NumPy's floating-point warnings (overflow, invalid value) are silenced: a blow-up is reported
    once, by this guard. Every trainer has one unless ``callbacks`` brings its own.
    """

    order = 0

    def __init__(self, factor: float = 10.0, check_every: int = 100):
        owner = "DivergenceGuard"
        self.factor = validation.in_range("divergence_factor", factor, 1.0, math.inf, owner=owner)
        self.check_every = validation.integer("check_every", check_every, minimum=1, owner=owner)
        self._reset()

    def _reset(self):
        self.reference = None  # L0, once known
        self._limit = None  # factor × max(L0, 1), once L0 is known
        self._pending = []  # (iteration, loss on a device) not checked yet
        self._snapshot = None
        self._snapshot_iter = None
        self._epoch_start = True

    def set_trainer(self, trainer):
        self.base_lr = getattr(trainer.optimizer, "lr", None)

    def load_state_dict(self, state):
        self._reset()  # weights from before a checkpoint must never be put back

    def epoch_context(self, trainer):
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")

    def on_epoch_begin(self, trainer):
        self._epoch_start = True

    def on_before_update(self, trainer, grads, loss):
        iteration = trainer.current_iter
        if type(loss) is float:
            limit = self._limit if self._limit is not None else self._bound(trainer, loss)
            if not loss <= limit:  # also true for NaN
                self._diverged(trainer, loss, iteration)
        else:
            self._pending.append((iteration, loss))
        if self._epoch_start or self._snapshot is None or iteration % self.check_every == 0:
            self._check_pending(trainer)
            self._take_snapshot(trainer, iteration)
            self._epoch_start = False

    def on_epoch_end(self, trainer, logs):
        losses = logs["losses"]
        if self._pending and self._pending[0][0] >= trainer.current_iter - len(losses):
            values = losses[-len(self._pending) :]  # their host values are the last of the epoch's losses
            self._check(trainer, [(i, v) for (i, _), v in zip(self._pending, values)])
        self._check_pending(trainer)  # any left from an epoch cut short

    def _check_pending(self, trainer):
        if self._pending:
            values = host_floats([loss for _, loss in self._pending])
            self._check(trainer, [(i, v) for (i, _), v in zip(self._pending, values)])

    def _check(self, trainer, checked):
        self._pending = []
        for iteration, value in checked:
            if not value <= self._bound(trainer, value):
                self._diverged(trainer, value, iteration)

    def _bound(self, trainer, loss) -> float:
        """``factor`` × max(L₀, 1); L₀ is the history's first loss (``loss`` itself at the run's first step)."""
        if self.reference is None:
            losses = trainer.history["train_loss_list"]
            first = losses[0] if losses else loss
            self.reference = first if type(first) is float else host_floats([first])[0]
            self._limit = self.factor * max(self.reference, 1.0)
        return self._limit

    def _take_snapshot(self, trainer, iteration):
        """Copy the current (checked) weights and buffers into preallocated arrays."""
        state = trainer.network.state_dict()
        snapshot = self._snapshot
        if (
            snapshot is None
            or snapshot.keys() != state.keys()
            or any(device_of(snapshot[key]) != device_of(value) for key, value in state.items())
        ):
            self._snapshot = {key: copy_array(value) for key, value in state.items()}
        else:
            for key, value in state.items():
                get_array_module(value).copyto(snapshot[key], value)
        self._snapshot_iter = iteration

    def _diverged(self, trainer, loss, iteration):
        """Restore the last good weights and raise TrainingDiverged for ``loss`` at ``iteration`` (0-based)."""
        network = trainer.network
        if self._snapshot is not None:
            network.load_state_dict(self._snapshot)
            restored = f"the weights from before iteration {self._snapshot_iter + 1} (the last good ones) were restored"
        else:  # the first step of this run: nothing was updated yet
            restored = "the weights were left as they were before this step"
        reference = self.reference if self.reference is not None else loss
        why = (
            ""
            if not np.isfinite(loss)
            else f" (above {self._bound(trainer, loss):.4g} = {self.factor:g} × max(first loss {reference:.4g}, 1))"
        )
        raise TrainingDiverged(
            f"the training loss became {loss:.6g}{why} at epoch {trainer.epoch + 1}, iteration {iteration + 1}; "
            f"{restored}. {self._advice(network, reference)}"
        )

    def _advice(self, network, first_loss) -> str:
        """What to change: the weight decay when its term made most of the first loss, else the learning rate."""
        lam = getattr(network, "weight_decay_lambda", 0.0)
        if lam and np.isfinite(first_loss):
            with np.errstate(over="ignore", invalid="ignore"):
                decay = float(network.weight_decay_loss())  # of the restored (last good) weights
            if not np.isfinite(decay) or decay >= 0.5 * first_loss:
                return (
                    f"The weight-decay term ½·λ·Σ‖W‖² is {decay:.3g} of a first loss of {first_loss:.3g}: "
                    f"try a smaller weight decay than λ = {lam:g}."
                )
        return f"Try a smaller learning rate{f' than {self.base_lr:g}' if self.base_lr is not None else ''}."

    def description(self):
        return {"factor": self.factor, "check_every": self.check_every}


# --------------------------------------------------------------------------- learning rate
def _cosine(iteration: int, total: int) -> float:
    """Cosine decay from 1 at the first iteration to 0 after the last: ½·(1 + cos(π·i/total))."""
    return 0.5 * (1.0 + math.cos(math.pi * min(iteration, total) / max(total, 1)))


def _constant(iteration: int, total: int) -> float:
    """The book's fixed learning rate: 1."""
    return 1.0


class LearningRateSchedule(Callback):
    """Set the optimizer's learning rate before every update to lr₀ · f(i, N): lr₀ its rate when the
    trainer was built, i the iteration (0-based), N = epochs × iterations per epoch.

    ``schedule`` is a name of :data:`SCHEDULES` — 'cosine' (½·(1 + cos(π·i/N)): from lr₀ down to 0
    over the run, which settles the weights and gains a few tenths of a percent) or 'constant' —
    or a function f(i, N).
    """

    order = 0
    SCHEDULES = {"constant": _constant, "cosine": _cosine}

    def __init__(self, schedule="cosine"):
        if isinstance(schedule, str):
            if schedule not in self.SCHEDULES:
                raise validation.ArgumentError(
                    f"lr_schedule must be one of {', '.join(self.SCHEDULES)}, got {schedule!r}"
                )
            self.name, self.factor = schedule, self.SCHEDULES[schedule]
        elif callable(schedule):
            self.name, self.factor = getattr(schedule, "__name__", "custom"), schedule
        else:
            raise validation.ArgumentTypeError(f"lr_schedule must be a name or a function f(i, N), got {schedule!r}")
        self.base_lr = None

    def set_trainer(self, trainer):
        self.base_lr = getattr(trainer.optimizer, "lr", None)
        if self.base_lr is None:
            raise validation.ArgumentError(
                f"LearningRateSchedule: the optimizer {trainer.optimizer!r} has no learning rate lr"
            )

    def on_before_update(self, trainer, grads, loss):
        total = trainer.epochs * trainer.iter_per_epoch
        trainer.optimizer.lr = self.base_lr * self.factor(trainer.current_iter, total)

    def description(self):
        return {"schedule": self.name, "base lr": self.base_lr}


# --------------------------------------------------------------------------- every n steps
class EveryNSteps(Callback):
    """Call ``fn(trainer)`` after every ``n``-th step (counted by ``trainer.current_iter``): to watch
    a run — a snapshot of the loss, the accuracy or a decision boundary for a page, a log line.
    ``fn`` runs in the training thread, between two steps, so it may use the network freely;
    it may set ``trainer.stop_training``."""

    def __init__(self, n: int, fn):
        self.n = validation.integer("n", n, minimum=1, owner="EveryNSteps")
        if not callable(fn):
            raise validation.ArgumentTypeError(f"EveryNSteps: fn must be callable, got {fn!r}")
        self.fn = fn

    def on_step_end(self, trainer, loss):
        if trainer.current_iter % self.n == 0:
            self.fn(trainer)

    def description(self):
        return None

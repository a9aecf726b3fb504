"""The Trainer: the book's mini-batch loop (``common/trainer.py``), with callbacks around it.

``Trainer(network, x_train, t_train, x_test, t_test, epochs=20, mini_batch_size=100,
optimizer='SGD', optimizer_param={'lr': 0.01}, evaluate_sample_num_per_epoch=None, verbose=True)``
is the book's constructor; three more parameters:

- ``callbacks``: what the run does around its steps (:mod:`layerprop.training.callbacks`) —
  :class:`~layerprop.training.callbacks.EarlyStopping` on a validation split,
  :class:`~layerprop.training.checkpoint.Checkpoint` (resumable, crash-safe),
  :class:`~layerprop.training.callbacks.LearningRateSchedule` ('cosine'),
  :class:`~layerprop.training.callbacks.EveryNSteps` (watch a run), your own. Every trainer also
  has a :class:`~layerprop.training.callbacks.History` (``trainer.history``), a
  :class:`~layerprop.training.callbacks.DivergenceGuard` and, when ``verbose``, a
  :class:`~layerprop.training.callbacks.ProgressBar`, unless ``callbacks`` brings its own;
- ``seed``: the same seed gives bit-for-bit the same weights (the shuffles and the dropout masks
  derive from it; a random one is drawn when it is None);
- ``communicator``: who computes each step's gradient — this process
  (:class:`~layerprop.training.communicators.SingleProcess`, the default), its threads
  (:class:`~layerprop.training.communicators.ThreadParallel`) or MPI ranks
  (:class:`~layerprop.training.communicators.MPICommunicator`); ``mini_batch_size`` stays the
  global batch.

Each epoch visits every training sample once, in a fresh random order (drawn on the host, so the
same on every device), in batches gathered on the network's device (``network.to("cuda")`` before
building the trainer moves the data there once). A step is one path: the communicator's gradient
(and loss: a float, or a 0-d device array that stays on the GPU), the callbacks'
``on_before_update``, the optimizer's update, the callbacks' ``on_step_end``.
``train_acc_samples`` (an attribute, default None: all) limits the per-epoch training accuracy
to the first samples.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from .. import validation
from ..backend import CPU, get_array_module, to_device
from ..errors import LabelError, ShapeError
from ..optim import get_optimizer
from .callbacks import Callback, DivergenceGuard, History, ProgressBar, host_floats
from .communicators import SingleProcess, check_batch_size, training_fingerprint

HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_before_update",
    "on_step_end",
    "on_epoch_end",
    "on_train_end",
    "on_exception",
)


class Trainer:
    """Train ``network`` on (``x_train``, ``t_train``) and evaluate on (``x_test``, ``t_test``) each epoch.

    ``optimizer`` is a name ('sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam') with
    ``optimizer_param`` for its constructor, or an optimizer object; ``evaluate_sample_num_per_epoch``
    limits each epoch's accuracies to the first samples. The book's attribute names
    ``train_loss_list``, ``train_acc_list`` and ``test_acc_list`` are the history's lists.

    Public state: ``epoch`` (epochs completed), ``current_iter`` (steps taken), ``iter_per_epoch``,
    ``train_size``, ``stop_training`` (set it, or call :meth:`stop`, to end the run after the
    current step), ``callbacks`` (in the order they run).
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
        callbacks=(),
        seed=None,
        communicator=None,
    ):
        owner = "Trainer"
        self.network = network
        self.communicator = communicator if communicator is not None else SingleProcess()
        self.epochs = validation.integer("epochs", epochs, minimum=0, owner=owner)
        self.batch_size = validation.integer("mini_batch_size", mini_batch_size, minimum=1, owner=owner)
        if evaluate_sample_num_per_epoch is not None:
            validation.integer("evaluate_sample_num_per_epoch", evaluate_sample_num_per_epoch, minimum=1, owner=owner)
        if seed is not None:
            validation.integer("seed", seed, minimum=0, owner=owner)
        self.optimizer = get_optimizer(optimizer, **dict(optimizer_param or {}))
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self.train_acc_samples = None
        self.verbose = bool(verbose)
        self.seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2**63))

        # The data moves to the network's device once; shuffled batches are gathered there.
        self.device = getattr(network, "device", CPU)
        x_train, t_train = self.checked_data("training", x_train, t_train)
        self.x_train, self.t_train = to_device(x_train, self.device), to_device(t_train, self.device)
        if x_test is not None:
            x_test, t_test = self.checked_data("test", x_test, t_test)
            self.x_test, self.t_test = to_device(x_test, self.device), to_device(t_test, self.device)
        else:
            self.x_test = self.t_test = None
        self.train_size = len(self.x_train)
        self.iter_per_epoch = max(-(-self.train_size // self.batch_size), 1)
        self.epoch = 0  # epochs completed
        self.current_iter = 0
        self.stop_training = False
        self._shuffle_rng = np.random.default_rng([self.seed, 1])
        if self.communicator.size > 1:
            check_batch_size(self.batch_size, self.communicator.size)

        self.callbacks = self._with_defaults(callbacks)
        self._history = self.callback(History)
        for callback in self.callbacks:
            callback.set_trainer(self)
        # each hook's overriding methods, looked up once (a step calls only those)
        self._hooks = {
            hook: [getattr(cb, hook) for cb in self.callbacks if getattr(type(cb), hook) is not getattr(Callback, hook)]
            for hook in HOOKS
        }
        self._begun = False

    def _with_defaults(self, callbacks) -> tuple:
        callbacks = list(callbacks)
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise validation.ArgumentTypeError(
                    f"Trainer: callbacks must be layerprop.training.callbacks.Callback objects, got {callback!r}"
                )
        defaults = [History(), DivergenceGuard()] + ([ProgressBar()] if self.verbose else [])
        callbacks += [d for d in defaults if not any(isinstance(c, type(d)) for c in callbacks)]
        return tuple(sorted(callbacks, key=lambda callback: callback.order))

    def callback(self, kind):
        """The first of ``callbacks`` that is a ``kind`` (a Callback class), or None."""
        return next((callback for callback in self.callbacks if isinstance(callback, kind)), None)

    # the book's attribute names
    @property
    def history(self) -> dict:
        return self._history.history

    @property
    def train_loss_list(self):
        return self.history["train_loss_list"]

    @property
    def train_acc_list(self):
        return self.history["train_acc_list"]

    @property
    def test_acc_list(self):
        return self.history["test_acc_list"]

    def checked_data(self, what, x, t):
        """(x, t) as arrays of the network's dtype, with one label per sample; LabelError/ShapeError otherwise."""
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
    def train_step(self, x_batch, t_batch, share: float = 1.0):
        """One gradient computation and parameter update; returns the loss before the update.

        In data-parallel training the batch is this rank's slice and ``share`` its fraction of the
        global batch; the gradient and loss are those of the global batch. The loss is a float, or
        a 0-d array where the communicator leaves it on a GPU.
        """
        grads, loss = self.communicator.gradient(self.network, x_batch, t_batch, share)
        for hook in self._hooks["on_before_update"]:
            hook(self, grads, loss)
        self.optimizer.update(self.network.params, grads)
        self.current_iter += 1
        return loss

    # -- evaluation --------------------------------------------------------------------------
    def accuracy(self, x, t) -> float:
        """The network's accuracy on (the first ``evaluate_sample_num_per_epoch`` samples of) x, t."""
        limit = self.evaluate_sample_num_per_epoch
        if limit:
            x, t = x[:limit], t[:limit]
        return self.communicator.accuracy(self.network, x, t)

    def evaluate(self) -> dict:
        """``{"train_acc": …, "test_acc": …}`` (test only with test data) of the network as it is now."""
        limit = self.train_acc_samples
        logs = {"train_acc": self.accuracy(self.x_train[:limit], self.t_train[:limit])}
        if self.x_test is not None:
            logs["test_acc"] = self.accuracy(self.x_test, self.t_test)
        return logs

    # -- the loop ----------------------------------------------------------------------------
    def train(self) -> dict:
        """Run the remaining epochs (until ``stop_training``); returns ``history``."""
        self._begin()
        while self.epoch < self.epochs and not self.stop_training:
            self.train_epoch()
        for hook in self._hooks["on_train_end"]:
            hook(self)
        return self.history

    def train_epoch(self):
        """One pass over the training data in a fresh random order, then evaluation and the epoch's
        callbacks. A stop asked for during the epoch ends it early; called after a stop, it runs whole."""
        self._begin()
        with self._reporting_errors():
            self._epoch()

    def stop(self):
        """End the run after the current step (safe to call from another thread)."""
        self.stop_training = True

    def _begin(self):
        if self._begun:
            return
        if self.communicator.size > 1:  # before any averaging: every rank must run the same training
            self.communicator.check_agreement("the training run", training_fingerprint(self))
        self._begun = True
        with self._reporting_errors():
            for hook in self._hooks["on_train_begin"]:
                hook(self)

    @contextlib.contextmanager
    def _reporting_errors(self):
        try:
            yield
        except BaseException as error:
            for hook in self._hooks["on_exception"]:
                hook(self, error)
            raise

    def _epoch(self):
        start = time.perf_counter()
        self.network.reseed(self.communicator.dropout_seed([self.seed, 2, self.epoch]))
        order = to_device(self._shuffle_rng.permutation(self.train_size), self.device)  # drawn on the host
        with contextlib.ExitStack() as scope:
            for callback in self.callbacks:
                scope.enter_context(callback.epoch_context(self))
            for hook in self._hooks["on_epoch_begin"]:
                hook(self)
            step, shard, step_end = self.train_step, self.communicator.shard, self._hooks["on_step_end"]
            x, t, size = self.x_train, self.t_train, self.batch_size
            stopped_before = self.stop_training  # an epoch asked for after a stop runs whole
            losses = []
            for i in range(self.iter_per_epoch):
                batch, share = shard(order[i * size : (i + 1) * size])
                loss = step(x[batch], t[batch], share)
                losses.append(loss)
                for hook in step_end:
                    hook(self, loss)
                if self.stop_training and not stopped_before:
                    return  # an epoch cut short is neither evaluated nor checkpointed
            losses = host_floats(losses)  # on a GPU: the epoch's losses reach the host once
            self.epoch += 1
            logs = {"epoch": self.epoch, "seconds": time.perf_counter() - start, "losses": losses}
            logs["loss"] = float(np.mean(losses))
            logs.update(self.evaluate())
            for hook in self._hooks["on_epoch_end"]:
                hook(self, logs)

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The trainer's own part of a checkpoint (JSON-able): counters, options and shuffle generator."""
        return {
            "epoch": self.epoch,
            "epochs": self.epochs,
            "current_iter": self.current_iter,
            "seed": self.seed,
            "mini_batch_size": self.batch_size,
            "shuffle_rng": self._shuffle_rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`'s ``epoch``, ``current_iter`` and ``shuffle_rng`` (``epochs``
        stays this trainer's); a malformed generator state raises before anything changes."""
        rng = np.random.default_rng()
        rng.bit_generator.state = state["shuffle_rng"]
        self._shuffle_rng = rng
        self.epoch = state["epoch"]
        self.current_iter = state["current_iter"]

    def description(self) -> dict:
        """What every rank of a data-parallel run must agree on: the options and the callbacks'
        descriptions (see :func:`~layerprop.training.communicators.training_fingerprint`)."""
        described = {}
        for callback in self.callbacks:
            text = callback.description()
            if text is not None:
                name = type(callback).__name__
                key, n = name, 1
                while key in described:
                    n += 1
                    key = f"{name} #{n}"
                described[key] = text
        return {
            "epochs": self.epochs,
            "mini_batch_size": self.batch_size,
            "seed": self.seed,
            "evaluate_sample_num_per_epoch": self.evaluate_sample_num_per_epoch,
            "train_acc_samples": self.train_acc_samples,
            "callbacks": described,
        }

    def release_data(self):
        """Drop the references to the training and test arrays, and those the callbacks hold (e.g.
        before plotting)."""
        self.x_train = self.t_train = self.x_test = self.t_test = None
        for callback in self.callbacks:
            callback.release_data()

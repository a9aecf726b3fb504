"""The Trainer's callbacks: when each hook runs, their order, stopping (also from another thread),
the lab's way of driving a run (a worker thread watched every k steps, paused, closed), and what
the Trainer publishes for data-parallel agreement."""

from __future__ import annotations

import ast
import inspect
import threading
import time

import numpy as np
import pytest

from layerprop.nets import MultiLayerNet
from layerprop.training import (
    Callback,
    Checkpoint,
    DivergenceGuard,
    EarlyStopping,
    EveryNSteps,
    History,
    LearningRateSchedule,
    ProgressBar,
    Trainer,
    communicators,
)

rng = np.random.default_rng(0)
X = rng.standard_normal((40, 2))
T = (X[:, 0] * X[:, 1] > 0).astype(int)  # XOR quadrants: a boundary worth drawing


def net():
    return MultiLayerNet(2, [8], 2, activation="tanh", weight_init_std="sigmoid", dtype="float64", seed=0)


def trainer(callbacks=(), **options):
    settings = {"epochs": 2, "mini_batch_size": 20, "optimizer": "adam", "optimizer_param": {"lr": 0.05}}
    settings.update({"verbose": False, "seed": 0, **options})
    return Trainer(net(), X, T, X[:10], T[:10], callbacks=callbacks, **settings)


class Recorder(Callback):
    """Writes down every hook call (name, and the epoch/iteration the trainer is at)."""

    def __init__(self, order=50, name="recorder", log=None):
        self.order, self.name = order, name
        self.log = log if log is not None else []

    def _note(self, hook, trainer):
        self.log.append((self.name, hook, trainer.epoch, trainer.current_iter))

    def set_trainer(self, trainer):
        self._note("set_trainer", trainer)

    def on_train_begin(self, trainer):
        self._note("on_train_begin", trainer)

    def on_epoch_begin(self, trainer):
        self._note("on_epoch_begin", trainer)

    def on_before_update(self, trainer, grads, loss):
        assert set(grads) == set(trainer.network.params) and type(loss) is float
        self._note("on_before_update", trainer)

    def on_step_end(self, trainer, loss):
        self._note("on_step_end", trainer)

    def on_epoch_end(self, trainer, logs):
        assert {"epoch", "seconds", "losses", "loss", "train_acc", "test_acc"} <= set(logs)
        self._note("on_epoch_end", trainer)

    def on_train_end(self, trainer):
        self._note("on_train_end", trainer)

    def on_exception(self, trainer, error):
        self._note(f"on_exception:{type(error).__name__}", trainer)


def test_hooks_run_in_order_with_the_trainer_counted():
    recorder = Recorder()
    tr = trainer([recorder], epochs=2)  # 40 samples in batches of 20: 2 steps per epoch
    tr.train()
    step = [("on_before_update", 0), ("on_step_end", 1)]
    expected = [("set_trainer", 0, 0), ("on_train_begin", 0, 0)]
    for epoch in range(2):
        expected.append(("on_epoch_begin", epoch, 2 * epoch))
        for i in range(2):
            expected += [(hook, epoch, 2 * epoch + i + after) for hook, after in step]
        expected.append(("on_epoch_end", epoch + 1, 2 * epoch + 2))
    expected.append(("on_train_end", 2, 4))
    assert [entry[1:] for entry in recorder.log] == expected


def test_callbacks_run_by_order_then_as_given_with_defaults_added():
    log = []
    late, early, middle = Recorder(90, "late", log), Recorder(-5, "early", log), Recorder(50, "middle", log)
    tr = trainer([late, early, middle], epochs=1)
    kinds = [type(c).__name__ for c in tr.callbacks]
    assert kinds == ["Recorder", "DivergenceGuard", "History", "Recorder", "Recorder"]
    assert [c.name for c in tr.callbacks if isinstance(c, Recorder)] == ["early", "middle", "late"]
    tr.train()
    assert [name for name, hook, *_ in log if hook == "on_epoch_end"] == ["early", "middle", "late"]
    # a callback of a default kind replaces the default
    history = History()
    tr = trainer([history, DivergenceGuard(factor=3.0)], verbose=True)
    assert tr.history is history.history and tr.callback(DivergenceGuard).factor == 3.0
    assert [type(c) for c in tr.callbacks].count(DivergenceGuard) == 1
    assert tr.callback(ProgressBar) is not None and tr.callback(Checkpoint) is None


def test_an_error_reaches_every_callback_and_closes_the_progress_bar():
    class Failing(Callback):
        def on_step_end(self, trainer, loss):
            if trainer.current_iter == 3:
                raise RuntimeError("boom")

    recorder, bar = Recorder(), ProgressBar(log=lambda text: None)
    tr = trainer([Failing(), recorder, bar], epochs=3)
    with pytest.raises(RuntimeError, match="boom"):
        tr.train()
    assert recorder.log[-1] == ("recorder", "on_exception:RuntimeError", 1, 3)
    assert "on_train_end" not in [hook for _, hook, *_ in recorder.log]
    assert type(bar._bar).__name__ == "NoProgress"  # closed


def test_stop_ends_the_run_after_the_current_step_without_evaluating_or_checkpointing(tmp_path):
    class StopAt(Callback):
        def on_step_end(self, trainer, loss):
            if trainer.current_iter == 3:  # the second step of epoch 2
                trainer.stop()

    path = tmp_path / "ck.npz"
    tr = trainer([StopAt(), Checkpoint(path)], epochs=5)
    history = tr.train()
    assert tr.current_iter == 3 and tr.epoch == 1 and tr.stop_training
    assert len(history["train_acc_list"]) == 1 and len(history["train_loss_list"]) == 3
    assert tr.callback(Checkpoint).saved_epoch == 1  # the checkpoint holds the last whole epoch
    tr.train()  # a stopped trainer stays stopped
    assert tr.current_iter == 3
    tr.train_epoch()  # … but an epoch asked for runs whole
    assert tr.epoch == 2 and tr.current_iter == 5 and tr.callback(Checkpoint).saved_epoch == 2
    tr.stop_training = False  # and train() goes on once told to
    tr.train()
    assert tr.epoch == 5


def test_a_checkpoint_makes_its_folder_and_reads_its_epoch_from_the_file(tmp_path):
    """Checkpoint("runs/x/checkpoint.npz") makes runs/x; epoch_on_disk() reads what the file holds —
    what an interrupt that came while the file was committed (before saved_epoch was set) resumes from."""
    checkpoint = Checkpoint(tmp_path / "new" / "folder" / "ck.npz")
    assert checkpoint.epoch_on_disk() is None  # no file yet
    trainer([checkpoint], epochs=2).train()
    assert checkpoint.saved_epoch == 2 and checkpoint.epoch_on_disk() == 2
    checkpoint.saved_epoch = None  # as if interrupted right after the rename
    assert checkpoint.epoch_on_disk() == 2


def test_a_stop_before_training_starts_runs_no_step():
    tr = trainer(epochs=3)
    tr.stop()
    tr.train()
    assert tr.current_iter == 0 and tr.history["train_loss_list"] == []


class LabPage:
    """What the lab does with a run: trains in a worker thread, takes a snapshot every k steps
    (step, loss, accuracy, the decision boundary on a grid) into one slot the page reads, can be
    paused (the worker then waits between two steps) and is stopped when the page closes."""

    GRID = np.stack(np.meshgrid(np.linspace(-2, 2, 12), np.linspace(-2, 2, 12)), axis=-1).reshape(-1, 2)

    def __init__(self, every=5):
        self.trainer = trainer([EveryNSteps(every, self.snapshot), self._Pause(self)], epochs=10**6)
        self.lock = threading.Lock()
        self.latest, self.snapshots = None, 0
        self.running = threading.Event()
        self.running.set()
        self.thread = threading.Thread(target=self.trainer.train, name="lab-training", daemon=True)

    def snapshot(self, trainer):  # in the training thread, between two steps
        network = trainer.network
        scores = network.predict(self.GRID)
        snap = {
            "step": trainer.current_iter,
            "loss": trainer.history["train_loss_list"][-1],
            "accuracy": network.accuracy(X, T),
            "boundary": scores.argmax(axis=1).reshape(12, 12),
        }
        with self.lock:
            self.latest, self.snapshots = snap, self.snapshots + 1

    class _Pause(Callback):
        def __init__(self, page):
            self.page = page

        def on_step_end(self, trainer, loss):
            while not self.page.running.wait(0.01) and not trainer.stop_training:
                pass

    def read(self):
        with self.lock:
            return self.snapshots, self.latest

    def close(self):  # the page went away
        self.trainer.stop()
        self.thread.join(10)


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_the_lab_drives_a_run_from_a_worker_thread():
    page = LabPage(every=5)
    page.thread.start()
    try:
        wait_for(lambda: page.read()[0] >= 3)
        count, snap = page.read()
        assert snap["step"] % 5 == 0 and snap["step"] >= 15
        assert np.isfinite(snap["loss"]) and 0.0 <= snap["accuracy"] <= 1.0
        assert snap["boundary"].shape == (12, 12) and set(np.unique(snap["boundary"])) <= {0, 1}
        # paused: the worker waits between two steps and takes none
        page.running.clear()
        time.sleep(0.05)
        paused_at = page.trainer.current_iter
        time.sleep(0.2)
        assert page.trainer.current_iter == paused_at
        page.running.set()
        wait_for(lambda: page.trainer.current_iter > paused_at + 10)
        # learning: the boundary separates the quadrants better than chance
        wait_for(lambda: page.read()[1]["accuracy"] >= 0.8)
        # closed while paused: the worker wakes and the run ends after its current step
        page.running.clear()
        time.sleep(0.05)
    finally:
        page.close()
    assert not page.thread.is_alive()
    assert page.trainer.stop_training and page.trainer.epoch < 10**6


def test_the_trainer_has_the_books_parameters_and_three_more():
    names = list(inspect.signature(Trainer).parameters)
    book = [
        "network",
        "x_train",
        "t_train",
        "x_test",
        "t_test",
        "epochs",
        "mini_batch_size",
        "optimizer",
        "optimizer_param",
        "evaluate_sample_num_per_epoch",
        "verbose",
    ]
    assert names == [*book, "callbacks", "seed", "communicator"]


def test_the_training_fingerprint_reads_only_public_fields():
    source = inspect.getsource(communicators.training_fingerprint)
    private = [
        node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
    ]
    assert private == []


def test_the_description_names_each_callback_that_changes_the_result():
    x_val, t_val = X[:8], T[:8]
    tr = trainer([LearningRateSchedule("cosine"), EarlyStopping(x_val, t_val, patience=2), EveryNSteps(3, print)])
    described = tr.description()
    assert described["mini_batch_size"] == 20 and described["epochs"] == 2 and described["seed"] == 0
    callbacks = described["callbacks"]
    assert set(callbacks) == {"LearningRateSchedule", "DivergenceGuard", "EarlyStopping"}
    assert callbacks["LearningRateSchedule"]["schedule"] == "cosine"
    assert callbacks["EarlyStopping"]["patience"] == 2
    fingerprint = communicators.training_fingerprint(tr)
    validation_checksum = fingerprint["trainer options"]["callbacks"]["EarlyStopping"]["validation data"]
    assert isinstance(validation_checksum, str) and len(validation_checksum) == 32
    assert fingerprint["trainer state"]["epoch"] == 0 and fingerprint["trainer state"]["best_val_acc"] is None

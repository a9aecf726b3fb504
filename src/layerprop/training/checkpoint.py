"""Checkpoints: a run's state written after every epoch, and read back to continue it bit for bit.

:class:`Checkpoint` writes, after each epoch, one model file (``path``) holding the network, the
optimizer state, the history and the *trainer state* — the trainer's counters and shuffle
generator (:meth:`Trainer.state_dict <layerprop.training.trainer.Trainer.state_dict>`) and the
callbacks' states (early stopping's best accuracy and patience count) — so that
:meth:`Checkpoint.restore` continues to the very weights an uninterrupted run reaches.

The commit order makes a kill at any instant leave the previous or the next consistent state:

1. the best weights of :class:`~layerprop.training.callbacks.EarlyStopping` go to their own file
   ``<checkpoint>.best-<epoch>.npz``, written (atomically) only when they changed, *before*
2. the checkpoint, written atomically, which names that file (``best_file``) — the one commit point;
3. then best files that the checkpoint does not name are removed.

:meth:`Checkpoint.restore` removes what killed writes left (temporary files, best files no
checkpoint names) and refuses a checkpoint that is malformed or was made for another seed, batch
size or early-stopping setting, with one :class:`~layerprop.errors.ModelFileError`. In data-parallel
training rank 0 alone writes and removes files; every rank holds the same state.
"""

from __future__ import annotations

import contextlib
import os

from ..errors import ModelFileError
from .callbacks import Callback, EarlyStopping, History

__all__ = ["Checkpoint", "best_file_name"]


class Checkpoint(Callback):
    """Write the run's state to ``path`` after every epoch (see the module docstring); ``metadata``
    (JSON-able) goes into every checkpoint's header. ``saved_epoch`` is the epoch that the last
    checkpoint written or read holds (None before the first)."""

    order = 90

    def __init__(self, path, metadata=None):
        self.path = os.fspath(path)
        self.metadata = dict(metadata or {})
        self.saved_epoch = None
        self.trainer = None
        self._saved_best_epoch = None  # the epoch whose best weights are in a best file already

    def set_trainer(self, trainer):
        self.trainer = trainer

    def on_epoch_end(self, trainer, logs):
        self.save()

    def description(self):
        return None  # rank 0 alone writes; the path may differ between ranks

    # -- writing -----------------------------------------------------------------------------
    def save(self, metadata=None) -> None:
        """Commit the trainer's state now (rank 0 writes; the other ranks only count the epoch)."""
        from ..io import save_model

        trainer = self.trainer
        communicator = trainer.communicator
        if not communicator.is_root:
            self.saved_epoch = trainer.epoch
            return
        communicator.stop_if_orphaned()  # a job whose launcher was killed writes nothing more
        path = self.path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        early = trainer.callback(EarlyStopping)
        best_name = None
        if early is not None and early.best_state is not None:
            best_name = best_file_name(path, early.best_epoch)
            best_path = os.path.join(os.path.dirname(path), best_name)
            if self._saved_best_epoch != early.best_epoch or not os.path.exists(best_path):
                save_model(best_path, _FixedState(trainer.network, early.best_state))
                self._saved_best_epoch = early.best_epoch
        state = {**trainer.state_dict(), **EarlyStopping.NO_STATE}
        for callback in trainer.callbacks:
            state.update(callback.state_dict())
        state["best_file"] = best_name
        meta = {**self.metadata, **(metadata or {}), "trainer": state}
        save_model(path, trainer.network, optimizer=trainer.optimizer, history=trainer.history, metadata=meta)
        self.saved_epoch = trainer.epoch
        _remove_unreferenced_best_files(path, best_name)

    def epoch_on_disk(self):
        """The epoch that the checkpoint file holds now — what an interrupted run resumes from, also
        when the interrupt came while the file was being committed (``saved_epoch`` is set only
        once the write has returned); ``saved_epoch`` when there is no readable file."""
        from ..io import read_model_file

        try:
            header, _, _ = read_model_file(self.path)
        except (OSError, ModelFileError):
            return self.saved_epoch
        epoch = ((header.get("metadata") or {}).get("trainer") or {}).get("epoch")
        return epoch if isinstance(epoch, int) and epoch > 0 else self.saved_epoch

    # -- reading -----------------------------------------------------------------------------
    def restore(self):
        """Continue from the checkpoint at ``path``: weights, optimizer, history, the trainer's and
        the callbacks' states. Returns the trainer."""
        from ..io import load_model, read_model_file
        from ..storage.atomic import remove_leftover_temporaries

        trainer = self.trainer
        path = self.path
        root = trainer.communicator.is_root
        if root:  # in data-parallel training rank 0 alone changes files
            remove_leftover_temporaries(os.path.dirname(os.path.abspath(path)))
        loaded = load_model(path)
        state = checked_trainer_state(path, loaded.metadata, loaded.history)
        if state["seed"] != trainer.seed or state["mini_batch_size"] != trainer.batch_size:
            raise ModelFileError(
                f"checkpoint {path} was made with seed {state['seed']} and batch size {state['mini_batch_size']}; "
                f"this trainer has seed {trainer.seed} and batch size {trainer.batch_size}"
            )
        early = trainer.callback(EarlyStopping)
        made_with_early_stopping = state["best_val_acc"] is not None
        if made_with_early_stopping != (early is not None):
            raise ModelFileError(
                f"checkpoint {path} was made {'with' if made_with_early_stopping else 'without'} early stopping "
                f"(a validation split) but this trainer has {'none' if early is None else 'an EarlyStopping callback'}"
            )
        best_state = best_epoch = None
        if made_with_early_stopping:
            best_name = state["best_file"]
            best_path = os.path.join(os.path.dirname(path), best_name)
            if not os.path.isfile(best_path):
                raise ModelFileError(f"{path}: the best-weights file {best_name} that the checkpoint names is missing")
            _, best_state, _ = read_model_file(best_path)
            best_epoch = best_epoch_of(best_name)
        try:
            trainer.load_state_dict(state)
        except (TypeError, ValueError, KeyError) as exc:
            raise ModelFileError(f"{path}: the checkpoint's shuffle_rng state is malformed ({exc})") from None
        trainer.network.load_state_dict(loaded.model.state_dict())
        if loaded.optimizer is not None:
            trainer.optimizer = loaded.optimizer
        trainer.callback(History).load(loaded.history)
        for callback in trainer.callbacks:
            callback.load_state_dict(state)
        if early is not None:
            early.load_best(best_epoch, best_state)
        self.saved_epoch = state["epoch"]
        self._saved_best_epoch = best_epoch
        if root and state["best_file"] is not None:
            _remove_unreferenced_best_files(path, state["best_file"])
        return trainer


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
    "best_file": (str, type(None)),
}


def checked_trainer_state(path, metadata, history) -> dict:
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
    if isinstance(best, str) and best_epoch_of(best) is None:
        problems.append(f"best_file is {best!r}")
    if (state.get("best_val_acc") is None) != (best is None) and not problems:
        problems.append(f"best_val_acc is {state.get('best_val_acc')!r} but best_file is {best!r}")
    if not isinstance(history, dict) or not all(
        isinstance(history.get(key), list)
        for key in ("train_loss_list", "train_acc_list", "test_acc_list", "val_acc_list", "epoch_seconds")
    ):
        problems.append("history is missing or malformed")
    if problems:
        raise ModelFileError(f"{path}: not a usable training checkpoint: {'; '.join(problems)}")
    return state


def best_file_name(checkpoint_path, epoch) -> str:
    """Name of the file holding the best weights of early stopping, taken after ``epoch``."""
    return f"{os.path.basename(os.fspath(checkpoint_path))}.best-{epoch}.npz"


def best_epoch_of(name):
    """The epoch in a best file's name (``checkpoint.npz.best-3.npz`` -> 3), or None."""
    if not isinstance(name, str) or os.sep in name or "/" in name:
        return None
    stem, _, tail = name.rpartition(".best-")
    number = tail[:-4] if tail.endswith(".npz") else ""
    return int(number) if stem and number.isdigit() else None


def _remove_unreferenced_best_files(checkpoint_path, keep) -> None:
    """Delete ``<checkpoint>.best-<epoch>.npz`` files except ``keep``."""
    directory = os.path.dirname(os.path.abspath(checkpoint_path))
    prefix = os.path.basename(checkpoint_path) + ".best-"
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name != keep and name.startswith(prefix) and best_epoch_of(name) is not None:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


class _FixedState:
    """A network's description with other weights (to save the best weights of early stopping)."""

    def __init__(self, network, state):
        self.network, self.state = network, state

    def to_config(self):
        return self.network.to_config()

    def state_dict(self):
        return self.state

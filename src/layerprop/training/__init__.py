"""Training: the :class:`Trainer` (the book's ``common/trainer.py``: a small mini-batch loop), the
callbacks around it (:mod:`.callbacks`: history, progress, early stopping, the divergence guard,
learning-rate schedules; :mod:`.checkpoint`: crash-safe, resumable checkpoints), the communicators
that let the same loop run in one process, over threads or over MPI (:mod:`.communicators`), and
the learning-curve plot (:mod:`.curves`)."""

from .callbacks import (
    Callback,
    DivergenceGuard,
    EarlyStopping,
    EveryNSteps,
    History,
    LearningRateSchedule,
    ProgressBar,
    split_validation,
)
from .checkpoint import Checkpoint
from .communicators import Communicator, MPICommunicator, SingleProcess, ThreadParallel, mpi_communicator
from .curves import plot_history
from .trainer import Trainer

__all__ = [
    "Trainer",
    "Callback",
    "History",
    "ProgressBar",
    "EarlyStopping",
    "split_validation",
    "DivergenceGuard",
    "LearningRateSchedule",
    "EveryNSteps",
    "Checkpoint",
    "Communicator",
    "SingleProcess",
    "ThreadParallel",
    "MPICommunicator",
    "mpi_communicator",
    "plot_history",
]

"""Training: the :class:`Trainer` (the book's ``common/trainer.py``, grown for real runs), the
communicators that let the same loop run in one process, over threads or over MPI
(:mod:`.communicators`), and the learning-curve plot (:mod:`.curves`)."""

from .communicators import Communicator, MPICommunicator, SingleProcess, ThreadParallel, mpi_communicator
from .curves import plot_history
from .trainer import Trainer

__all__ = [
    "Trainer",
    "Communicator",
    "SingleProcess",
    "ThreadParallel",
    "MPICommunicator",
    "mpi_communicator",
    "plot_history",
]

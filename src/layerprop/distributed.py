"""The old import path of the communicators (one process, threads, MPI).

It now lives in :mod:`layerprop.training.communicators`; everything is re-exported here, so that code written against
earlier versions keeps working.
"""

from .training.communicators import *  # noqa: F403

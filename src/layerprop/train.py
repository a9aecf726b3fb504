"""The old import path of the Trainer.

It now lives in :mod:`layerprop.training.trainer`; everything is re-exported here, so that code written against
earlier versions keeps working.
"""

from .training.trainer import *  # noqa: F403

"""The old import path of the learning-curve plot.

It now lives in :mod:`layerprop.training.curves`; everything is re-exported here, so that code written against
earlier versions keeps working.
"""

from .training.curves import *  # noqa: F403

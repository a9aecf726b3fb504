"""The old import path of the fused CUDA kernels.

It now lives in :mod:`layerprop.backend.kernels`; everything is re-exported here, so that code written against
earlier versions keeps working.
"""

from .backend.kernels import *  # noqa: F403

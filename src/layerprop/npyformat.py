"""The old import path of the .npy header reader.

It now lives in :mod:`layerprop.storage.npyformat`; everything is re-exported here, so that code written against
earlier versions keeps working.
"""

from .storage.npyformat import *  # noqa: F403

"""The old import path of the atomic writes.

It now lives in :mod:`layerprop.storage.atomic`; everything is re-exported here, so that code written against
earlier versions keeps working.
"""

from .storage.atomic import *  # noqa: F403

"""The old import path of the book's restricted pickle reader.

It now lives in :mod:`layerprop.io.book_pickle`; everything is re-exported here, so that code written against
earlier versions keeps working.
"""

from ..io.book_pickle import *  # noqa: F403

"""The old import path of the expression parser.

It now lives in :mod:`layerprop.graph.expression`; everything is re-exported here, so that code written against
earlier versions keeps working.
"""

from ..graph.expression import *  # noqa: F403

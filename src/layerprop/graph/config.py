"""Whether operations on Variables are recorded (switched off by :func:`no_grad`)."""

from __future__ import annotations

import contextlib


class _Recording:
    enabled = True


def is_recording() -> bool:
    """True while operations on Variables are recorded for backward."""
    return _Recording.enabled


@contextlib.contextmanager
def no_grad():
    """Context manager in which operations compute values but record no graph (no backward).

    >>> with no_grad():
    ...     y = x * 2      # y.creator is None: nothing to backpropagate through
    """
    previous = _Recording.enabled
    _Recording.enabled = False
    try:
        yield
    finally:
        _Recording.enabled = previous

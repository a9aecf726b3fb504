"""Atomic file writes (kept for imports of ``layerprop.datasets.atomic``; see :mod:`layerprop.atomic`)."""

from ..atomic import atomic_write

__all__ = ["atomic_write"]

"""Atomic file writes: write to a temporary file beside the target, then ``os.replace`` it.

A reader therefore sees either the old file, the complete new one, or none at all -- never a
half-written file -- and a failure (an exception, a failed checksum, Ctrl-C) removes the
temporary file instead of leaving it behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_write(destination: str | os.PathLike[str], *, suffix: str = ".tmp") -> Iterator[BinaryIO]:
    """Open a temporary binary file that replaces ``destination`` when the ``with`` block succeeds.

    The temporary file lives in the destination's directory (so ``os.replace`` is atomic) and is
    named ``<destination name>.<random><suffix>``. If the block raises anything, including
    ``KeyboardInterrupt``, the temporary file is deleted and ``destination`` is left untouched.
    Raising inside the block is also how a caller rejects the data (e.g. on a checksum mismatch).

    The destination's parent directory must already exist.
    """
    destination = Path(destination)
    fd, temp_name = tempfile.mkstemp(prefix=destination.name + ".", suffix=suffix, dir=destination.parent)
    temp_path = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_path, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            temp_path.unlink()
        raise

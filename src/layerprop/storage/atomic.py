"""Crash-safe file writes: the one way layerprop writes a file.

:func:`atomic_write` writes to a hidden temporary file beside the target, flushes and fsyncs it,
renames it over the target with ``os.replace`` and finally fsyncs the directory, so that after a
crash (SIGKILL, power loss, a full disk) the target is either the complete old file or the
complete new one -- never a half-written file. An exception inside the ``with`` block (including
``KeyboardInterrupt`` or ``OSError: No space left on device``) deletes the temporary file and
leaves the target untouched. A SIGKILL cannot run clean-up code, so a killed write may leave its
temporary file behind; :func:`remove_leftover_temporaries` deletes such files (training calls it
when it starts or resumes in a folder).

Temporary files are named ``.<target name>.<random><suffix>`` (suffix ``.tmp`` unless given).

For testing crash safety, every write passes through five *file-system events* (``open`` the
temporary file, ``written`` before fsync, ``synced`` before the rename, ``replaced`` before the
directory fsync, ``done``). When the environment variable ``LAYERPROP_CRASH_AT_WRITE_EVENT`` is
``k``, the process kills itself with SIGKILL at the k-th event (counted from 1 over the process's
life); when ``LAYERPROP_WRITE_EVENT_LOG`` names a file, each event is appended to it as one line
``<event> <target>``. Neither variable is set in normal use.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "write_bytes", "fsync_directory", "remove_leftover_temporaries", "TEMP_SUFFIXES"]

#: Environment variable: SIGKILL this process at the k-th file-system event (tests only).
CRASH_ENV = "LAYERPROP_CRASH_AT_WRITE_EVENT"
#: Environment variable: append every file-system event to this file (tests only).
EVENT_LOG_ENV = "LAYERPROP_WRITE_EVENT_LOG"
#: Suffixes of temporary files this module creates (``.part`` for downloads).
TEMP_SUFFIXES = (".tmp", ".part")

_events_seen = 0


def _event(name: str, destination: Path) -> None:
    """Count one file-system event; log it and/or crash here when the test variables ask for it."""
    global _events_seen
    crash_at, log_path = os.environ.get(CRASH_ENV), os.environ.get(EVENT_LOG_ENV)
    if not crash_at and not log_path:
        return
    _events_seen += 1
    if log_path:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"{name} {destination}\n")
    if crash_at and _events_seen == int(crash_at):
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """fsync ``directory`` so that a rename inside it survives a power loss (no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(destination: str | os.PathLike[str], *, suffix: str = ".tmp") -> Iterator[BinaryIO]:
    """Open a temporary binary file that replaces ``destination`` when the ``with`` block succeeds.

    The temporary file lives in the destination's directory (so ``os.replace`` is atomic). A new
    file gets the usual permissions (0o666 minus the umask); an existing file keeps its own. If the
    block raises anything, the temporary file is deleted and ``destination`` is left untouched;
    raising inside the block is also how a caller rejects the data (e.g. on a checksum mismatch).

    The destination's parent directory must already exist.
    """
    destination = Path(destination)
    directory = destination.parent
    fd, temp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=suffix, dir=directory)
    temp_path = Path(temp_name)
    try:
        _event("open", destination)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            _event("written", destination)
            os.fsync(handle.fileno())
        os.chmod(temp_path, _mode_for(destination))
        _event("synced", destination)
        os.replace(temp_path, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            temp_path.unlink()
        raise
    _event("replaced", destination)
    fsync_directory(directory if str(directory) else ".")
    _event("done", destination)


def _mode_for(destination: Path) -> int:
    try:
        return destination.stat().st_mode & 0o777  # keep an existing file's permissions
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask  # mkstemp creates 0o600; give a new file the usual mode


def write_bytes(destination: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``destination`` atomically; returns the path."""
    with atomic_write(destination) as handle:
        handle.write(data)
    return Path(destination)


def remove_leftover_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files that killed writes left in ``directory``; returns their paths.

    Only hidden files that this module (or an earlier layerprop, ``.<name>.<random>.tmp.npz``)
    names as temporaries are touched. Call it only where no other process is writing.
    """
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.count(".") >= 3 and entry.is_file(follow_symlinks=False)):
            continue
        if name.endswith(TEMP_SUFFIXES) or name.endswith(".tmp.npz"):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed

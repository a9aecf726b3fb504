"""Crash-safe file writes: the one way layerprop writes a file.

:func:`atomic_write` writes to a hidden temporary file beside the target, flushes and fsyncs it,
renames it over the target with ``os.replace`` and finally fsyncs the directory, so that after a
crash (SIGKILL, power loss, a full disk) the target is either the complete old file or the
complete new one -- never a half-written file. An exception inside the ``with`` block (including
``KeyboardInterrupt`` or ``OSError: No space left on device``) deletes the temporary file and
leaves the target untouched. A SIGKILL cannot run clean-up code, so a killed write may leave its
temporary file behind; :func:`remove_leftover_temporaries` deletes such files (training calls it
when it starts or resumes in a folder, the data-set cache when it builds an entry).

What is replaced: a destination that is a symbolic link is written *through* the link — the
link's target (resolved to the end of the chain) is replaced atomically and the link stays a link,
as a shell's ``>`` would leave it. A destination that exists and is not a regular file (a device
such as ``/dev/full``, a FIFO, a socket, a folder) is refused with
:class:`~layerprop.errors.NotRegularFileError` before anything is written: renaming over it would
replace a system's device node with a plain file.

Temporary files are named ``.<target name>.<random>.pid<writer's pid><suffix>`` (suffix ``.tmp``
unless given), so a clean-up can tell a live writer's file from a killed one's.

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
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import NotRegularFileError
from .inputs import file_kind

__all__ = [
    "atomic_write",
    "write_bytes",
    "fsync_directory",
    "remove_leftover_temporaries",
    "replaced_file",
    "TEMP_SUFFIXES",
]

#: Environment variable: SIGKILL this process at the k-th file-system event (tests only).
CRASH_ENV = "LAYERPROP_CRASH_AT_WRITE_EVENT"
#: Environment variable: append every file-system event to this file (tests only).
EVENT_LOG_ENV = "LAYERPROP_WRITE_EVENT_LOG"
#: Suffixes of temporary files this module creates (``.part`` for downloads).
TEMP_SUFFIXES = (".tmp", ".part")
#: A temporary file without its writer's pid (written by an older layerprop) counts as a killed
#: write's leftover once it is this old, where live writers are spared.
UNTAGGED_LEFTOVER_AGE = 3600.0

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

    The destination's parent directory must already exist. A symbolic link is written through
    (its target is replaced); an existing destination that is not a regular file is refused with
    :class:`~layerprop.errors.NotRegularFileError` (see the module docstring).
    """
    destination = Path(destination)
    target = replaced_file(destination)
    directory = target.parent
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".pid{os.getpid()}{suffix}", dir=directory)
    temp_path = Path(temp_name)
    try:
        _event("open", destination)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            _event("written", destination)
            os.fsync(handle.fileno())
        os.chmod(temp_path, _mode_for(target))
        _event("synced", destination)
        os.replace(temp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp_path.unlink()
        raise
    _event("replaced", destination)
    fsync_directory(directory if str(directory) else ".")
    _event("done", destination)


def replaced_file(destination: str | os.PathLike[str]) -> Path:
    """The file that writing ``destination`` replaces: ``destination`` itself, or the end of the
    chain of symbolic links it starts (a dangling link's target is created). Raises
    :class:`~layerprop.errors.NotRegularFileError` when that file exists and is not a regular file."""
    destination = Path(destination)
    target = Path(os.path.realpath(destination)) if destination.is_symlink() else destination
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target
    if not stat.S_ISREG(info.st_mode):
        through = f" (the link's target {target})" if target != destination else ""
        raise NotRegularFileError(
            f"{destination}: the file to write{through} is {file_kind(info.st_mode)}, not a regular file "
            "(refused: it is never replaced)"
        )
    return target


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


def remove_leftover_temporaries(directory: str | os.PathLike[str], *, spare_live_writers: bool = False) -> list[Path]:
    """Delete the temporary files that killed writes left in ``directory``; returns their paths.

    Only hidden files that this module (or an earlier layerprop, ``.<name>.<random>.tmp.npz``)
    names as temporaries are touched. By default every one is deleted: call it so only where no
    other process is writing. With ``spare_live_writers`` (a folder that several processes may
    write at once, such as the data-set cache) a temporary file is kept while the process named
    in it is alive on this machine, and one without a pid until it is
    :data:`UNTAGGED_LEFTOVER_AGE` seconds old.
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
        if not (name.endswith(TEMP_SUFFIXES) or name.endswith(".tmp.npz")):
            continue
        if spare_live_writers and _writer_may_be_alive(entry):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _writer_may_be_alive(entry: os.DirEntry) -> bool:
    """Whether the write that made the temporary file ``entry`` may still be going on."""
    tag = entry.name.rsplit(".", 2)[-2] if entry.name.count(".") >= 4 else ""
    if tag.startswith("pid") and tag[3:].isdigit():
        try:
            os.kill(int(tag[3:]), 0)  # signal 0: is there such a process (another thread of ours, too)?
        except ProcessLookupError:
            return False
        except OSError:  # PermissionError: alive, another user's
            return True
        return True
    try:
        return time.time() - entry.stat(follow_symlinks=False).st_mtime < UNTAGGED_LEFTOVER_AGE
    except OSError:
        return False

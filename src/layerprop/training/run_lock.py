"""One training run per run folder: an OS lock on the folder, held for the whole run.

:class:`RunFolderLock` takes an exclusive, non-blocking ``flock`` on the folder itself (no lock
file is left behind). The kernel releases it when the process ends in any way — exit, Ctrl-C,
SIGKILL — so a crashed run never leaves a stale lock, and a second run that asks for the same
folder while the first holds it is refused with :class:`~layerprop.errors.RunFolderBusyError`
(before it touches any file there: cleaning up temporary files is safe only in a folder nobody
else writes). The descriptor is not inherited by child processes. Where the platform has no
``flock`` (Windows) or the file system refuses it (some network file systems), the run goes on
without a lock.
"""

from __future__ import annotations

import errno
import os

from ..errors import RunFolderBusyError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["RunFolderLock"]


class RunFolderLock:
    """``with RunFolderLock(folder):`` — hold the folder's lock for the block (see the module docstring)."""

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunFolderLock:
        if fcntl is None or self._fd is not None:
            return self
        fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunFolderBusyError(
                    f"another training run is using {self.folder} (it holds the folder's lock): "
                    "wait for it to end, or train into another folder"
                ) from None
            return self  # no locks on this file system: go on without one
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

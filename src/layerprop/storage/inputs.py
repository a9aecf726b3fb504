"""Opening the files layerprop reads: regular files only, with their size known before any read.

A path given for reading may name a FIFO (opening it waits for a writer, forever), a device
(``/dev/zero`` never ends, a terminal blocks), a socket or a folder — directly or through a
symbolic link. Every reader of layerprop (model files, the book's pickles, pictures, IDX files,
cache entries, ``history.json``) opens its input with :func:`open_input`, which

1. opens the path with ``O_NONBLOCK`` (so opening a FIFO returns at once instead of waiting for a
   writer; a regular file is not affected),
2. checks with ``fstat`` on the opened descriptor — the very file that will be read, whatever a
   link or a rename did in between — that it is a regular file, refusing anything else with
   :class:`~layerprop.errors.NotRegularFileError` (one line naming the path and what it is),
3. refuses a file larger than ``max_bytes`` (when given) before reading a byte,

and returns the file, blocking again, with its size. :func:`read_input` reads a whole file that
way, never more than ``max_bytes`` (a file that grows while it is read is refused too).

JSON costs far more memory parsed than as text (``[],`` is 3 bytes of text and some 70 of Python
objects), so :func:`json_parse_cost` bounds what ``json.loads`` will take before it runs, and
:func:`parse_json` refuses a text whose bound exceeds a budget.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any, BinaryIO

from ..errors import NotRegularFileError

__all__ = ["open_input", "read_input", "file_kind", "json_parse_cost", "parse_json", "InputTooLarge"]

#: Bytes a parsed JSON value may take at most for each character that can open or separate one
#: (``[ { , :``): an empty list takes 56 bytes and a pointer, a float 24 and a pointer.
JSON_VALUE_COST = 80


class InputTooLarge(ValueError):
    """A file is larger than its reader accepts (callers turn it into their own error)."""

    def __init__(self, message: str, size: int):
        super().__init__(message)
        self.size = size


#: what a file is, in words, by the test of its ``st_mode``
_KINDS = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words: 'a regular file', 'a FIFO (named pipe)', …"""
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def open_input(path, *, max_bytes: int | None = None, what: str = "file") -> tuple[BinaryIO, int]:
    """Open ``path`` for reading in binary mode if it is a regular file; return ``(file, size)``.

    :raises NotRegularFileError: ``path`` (or what a link points to) is a FIFO, a device, a
        socket or a folder.
    :raises InputTooLarge: the file has more than ``max_bytes`` bytes (nothing was read).
    :raises FileNotFoundError, PermissionError: as :func:`open` does.
    """
    name = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(name, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(
                f"{name}: the {what} to read is {file_kind(info.st_mode)}, not a regular file (refused without reading)"
            )
        if max_bytes is not None and info.st_size > max_bytes:
            raise InputTooLarge(
                f"{name}: the {what} has {info.st_size} bytes, more than the limit of {max_bytes}", info.st_size
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return handle, info.st_size


def read_input(path, *, max_bytes: int, what: str = "file") -> bytes:
    """The whole of the regular file ``path``, at most ``max_bytes`` bytes (see :func:`open_input`)."""
    handle, size = open_input(path, max_bytes=max_bytes, what=what)
    with handle:
        data = handle.read(size + 1)  # (not max_bytes + 1: read() would allocate that much at once)
        if len(data) > size:  # it grew after fstat: read on, within the limit
            data += handle.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise InputTooLarge(f"{os.fspath(path)}: the {what} has more than the limit of {max_bytes} bytes", len(data))
    return data


def json_parse_cost(text: bytes) -> int:
    """An upper bound of the memory ``json.loads(text)`` takes: the text twice (as bytes and as
    str) plus :data:`JSON_VALUE_COST` for every character that can open or separate a value,
    counted in C without parsing."""
    starts = text.count(b"[") + text.count(b"{") + text.count(b",") + text.count(b":")
    return 2 * len(text) + JSON_VALUE_COST * (starts + 1)


def parse_json(text: bytes, *, max_memory: int, what: str = "JSON text") -> Any:
    """``json.loads(text)`` when :func:`json_parse_cost` is within ``max_memory`` bytes.

    :raises InputTooLarge: parsing could take more than ``max_memory``.
    :raises ValueError: the text is not UTF-8 JSON (nested too deep included).
    """
    cost = json_parse_cost(text)
    if cost > max_memory:
        raise InputTooLarge(
            f"parsing the {what} ({len(text)} bytes) could take {cost >> 20} MB; at most {max_memory >> 20} MB "
            "are accepted (a damaged file, or one padded to exhaust memory)",
            len(text),
        )
    try:
        return json.loads(text.decode("utf-8"))
    except RecursionError:
        raise ValueError(f"the {what} is nested too deep") from None

"""The user cache directory and the decoded-array cache kept in it.

Decoded data sets are stored as plain ``.npy`` files (loaded with ``allow_pickle=False``, so
loading never runs code) together with a small JSON sidecar describing them::

    <cache_dir>/<dataset>/<name>.npy
    <cache_dir>/<dataset>/<name>.json   {"source_md5": ..., "shape": ..., "dtype": ..., "crc32": ...}

``source_md5`` identifies the decoded source file the array came from, so an entry is only used
for the very data it was built from. On every load the ``.npy`` header is read first and its shape,
dtype and data size (shape × itemsize) are checked against the expected ones and against the
file's size *before* any array is allocated; then the data's CRC-32 is checked. An entry that is
truncated, corrupt or stale is deleted with a warning naming the file (logged at WARNING level)
and reported as a miss, and the caller rebuilds it. Writes are atomic. When the cache directory cannot be written,
storing is skipped silently (logged at DEBUG level) and loading works as before.

Entries are read as regular files only (:func:`~layerprop.storage.inputs.open_input`: a FIFO or a
device planted in the cache is discarded like a damaged entry, never waited on). A write killed
mid-way (SIGKILL while the first cache is built) leaves a hidden temporary file; every build of an
entry first deletes those its folder holds from writers that are no longer alive
(:func:`~layerprop.storage.atomic.remove_leftover_temporaries`), so leftovers never pile up.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

from ..storage.atomic import atomic_write, remove_leftover_temporaries
from ..storage.inputs import open_input, read_input
from ..storage.npyformat import read_npy_header

log = logging.getLogger(__name__)

#: Environment variable that, when set, is the cache directory itself.
CACHE_ENV = "LAYERPROP_CACHE"
_FORMAT = 1
#: a sidecar is a few hundred bytes; anything much larger is not one
_MAX_SIDECAR_BYTES = 1 << 16


def cache_dir() -> Path:
    """Return layerprop's cache directory (it may not exist yet).

    It is ``$LAYERPROP_CACHE`` if set, else ``$XDG_CACHE_HOME/layerprop`` if ``XDG_CACHE_HOME``
    is an absolute path, else ``~/.cache/layerprop``.
    """
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "layerprop"
    try:
        return Path.home() / ".cache" / "layerprop"
    except (RuntimeError, KeyError):  # no home directory can be determined
        return Path(tempfile.gettempdir()) / "layerprop-cache"


def _entry_paths(dataset: str, name: str) -> tuple[Path, Path]:
    folder = cache_dir() / dataset
    return folder / f"{name}.npy", folder / f"{name}.json"


def _crc32(array: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(array).view(np.uint8).reshape(-1))


def _discard(paths: tuple[Path, ...], reason: str, *, damaged: bool = True) -> None:
    """Delete a cache entry; a damaged one with a warning naming it, a stale one (other source) quietly."""
    if damaged:
        log.warning("layerprop: discarding the damaged cache entry %s (%s); it will be rebuilt", paths[0], reason)
    else:
        log.debug("discarding the stale cache entry %s: %s", paths[0], reason)
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def load_cached_array(
    dataset: str, name: str, *, source_md5: str, shape: tuple[int, ...], dtype: np.dtype | str
) -> np.ndarray | None:
    """Return the cached array ``dataset/name`` if it is valid for ``source_md5``, else ``None``.

    A present but invalid entry (unreadable, truncated, wrong shape or dtype, CRC mismatch, built
    from another source) is deleted so that the next store rebuilds it.
    """
    npy_path, meta_path = _entry_paths(dataset, name)
    if not os.path.lexists(npy_path):
        return None
    expected_dtype = np.dtype(dtype)
    try:
        meta = json.loads(read_input(meta_path, max_bytes=_MAX_SIDECAR_BYTES, what="cache sidecar"))
        handle, _ = open_input(npy_path, what="cache entry")
        with handle:
            problem = _header_problem(handle, tuple(shape), expected_dtype)
            if problem:
                _discard((npy_path, meta_path), problem)
                return None
            handle.seek(0)
            array = np.load(handle, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:  # NotRegularFileError and InputTooLarge included
        _discard((npy_path, meta_path), f"unreadable: {error}")
        return None
    if not isinstance(meta, dict):
        _discard((npy_path, meta_path), "sidecar is not a JSON object")
        return None
    checks = {
        "format": meta.get("format") == _FORMAT,
        "source": meta.get("source_md5") == source_md5,
        "shape": array.shape == tuple(shape) and meta.get("shape") == list(shape),
        "dtype": array.dtype == expected_dtype and meta.get("dtype") == expected_dtype.str,
    }
    failed = [check for check, passed in checks.items() if not passed]
    if not failed and meta.get("crc32") != _crc32(array):
        failed = ["crc32"]
    if failed:
        _discard(
            (npy_path, meta_path), f"{', '.join(failed)} check failed", damaged=not set(failed) <= {"format", "source"}
        )
        return None
    return array


def _header_problem(handle, shape: tuple[int, ...], dtype: np.dtype) -> str | None:
    """What is wrong with a cached ``.npy`` file's header, judged before its data is read; None if nothing."""
    try:
        found_shape, fortran, found_dtype = read_npy_header(handle)
    except ValueError as exc:
        return str(exc)
    data_start = handle.tell()
    file_size = os.fstat(handle.fileno()).st_size
    if found_shape != shape or found_dtype != dtype or fortran:
        return f"header says shape {found_shape} {found_dtype}, expected {shape} {dtype}"
    needed = math.prod(found_shape) * found_dtype.itemsize
    if file_size - data_start != needed:
        return f"header announces {needed} bytes of data but the file holds {file_size - data_start}"
    return None


def store_cached_array(dataset: str, name: str, array: np.ndarray, *, source_md5: str) -> Path | None:
    """Store ``array`` as the cache entry ``dataset/name``; return its path, or ``None`` if not writable."""
    npy_path, meta_path = _entry_paths(dataset, name)
    array = np.ascontiguousarray(array)
    meta = {
        "format": _FORMAT,
        "source_md5": source_md5,
        "shape": list(array.shape),
        "dtype": array.dtype.str,
        "crc32": _crc32(array),
    }
    try:
        npy_path.parent.mkdir(parents=True, exist_ok=True)
        remove_leftover_temporaries(npy_path.parent, spare_live_writers=True)  # killed builds' files
        # The array first, the sidecar last: a crash in between leaves an entry that fails its checks.
        with atomic_write(npy_path) as handle:
            np.save(handle, array, allow_pickle=False)
        with atomic_write(meta_path) as handle:
            handle.write(json.dumps(meta, indent=1).encode("utf-8"))
    except OSError as error:
        log.debug("not caching %s: %s", npy_path, error)
        return None
    return npy_path

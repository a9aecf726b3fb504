"""Loading a *known* MNIST-like data set: files identified by checksums, verified, then cached.

A known data set is described by a :class:`DatasetSpec`: for each of its four IDX files, the
shape and the MD5 of the decompressed content. Checking the decompressed content (rather than
the ``.gz`` bytes) accepts every faithful copy, however it was compressed. A file is decoded and
verified only when the decoded-array cache (see :mod:`layerprop.datasets.cache`) holds no valid
copy; the verified array is then cached for the next load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ChecksumError, DataFileError
from .cache import load_cached_array, store_cached_array
from .folder import ROLES, find_idx_files
from .idx import read_idx_with_md5

UINT8 = np.dtype(np.uint8)


@dataclass(frozen=True)
class IdxFileSpec:
    """One IDX file of a known data set."""

    role: str  #: one of ``train-images``, ``train-labels``, ``test-images``, ``test-labels``
    filename: str  #: the published, uncompressed file name, e.g. ``train-images-idx3-ubyte``
    shape: tuple[int, ...]  #: the array shape stored in the file
    md5: str  #: MD5 of the decompressed file content
    size: int  #: size in bytes of the decompressed file
    gz_md5: str | None = None  #: MD5 of the published ``.gz`` file, for downloads


@dataclass(frozen=True)
class DatasetSpec:
    """A known MNIST-like data set: its cache name and its four files."""

    name: str
    files: tuple[IdxFileSpec, ...]
    dtype: np.dtype = UINT8

    def file(self, role: str) -> IdxFileSpec:
        return next(spec for spec in self.files if spec.role == role)


def read_verified(path: Path, spec: IdxFileSpec, dtype: np.dtype = UINT8) -> np.ndarray:
    """Read ``path`` and check it is the file ``spec`` describes (shape, dtype, content MD5)."""
    # the header is checked against the expected shape before any data is decompressed
    try:
        array, digest = read_idx_with_md5(path, want_md5=True, expected_shape=spec.shape, expected_dtype=dtype)
    except DataFileError as error:
        if "wrong content" not in str(error):
            raise
        raise DataFileError(f"{error} (for {spec.filename})") from None
    if array.shape != spec.shape or array.dtype != dtype:
        raise DataFileError(
            f"{path}: wrong content for {spec.filename} -- expected shape {spec.shape} of {dtype}, "
            f"found shape {array.shape} of {array.dtype}"
        )
    if digest != spec.md5:
        raise ChecksumError(
            f"{path}: checksum mismatch for {spec.filename} -- expected the decompressed content to have "
            f"MD5 {spec.md5}, got {digest}"
        )
    return array


def load_known_dataset(
    dataset: DatasetSpec, locate: Callable[[IdxFileSpec], np.ndarray], *, use_cache: bool = True
) -> dict[str, np.ndarray]:
    """Return the four arrays of ``dataset`` by role, from the cache or via ``locate``.

    ``locate(spec)`` is called only for files the cache lacks; it must return the verified array
    (normally through :func:`read_verified`). Fresh arrays are stored in the cache. The shapes in
    the specification guarantee one label per image.
    """
    arrays: dict[str, np.ndarray] = {}
    for role in ROLES:
        spec = dataset.file(role)
        array = None
        if use_cache:
            array = load_cached_array(dataset.name, role, source_md5=spec.md5, shape=spec.shape, dtype=dataset.dtype)
        if array is None:
            array = locate(spec)
            if use_cache:
                store_cached_array(dataset.name, role, array, source_md5=spec.md5)
        arrays[role] = array
    return arrays


def locate_in_folder(folder: Path, spec: IdxFileSpec) -> Path | None:
    """Return the file for ``spec`` in ``folder`` (compressed or not, ``t10k``/``test`` names), if any."""
    for name in (spec.filename, spec.filename + ".gz"):
        if (folder / name).is_file():
            return folder / name
    try:  # variant names: ``train-images.idx3-ubyte``, ``test-`` for ``t10k-``, ...
        return find_idx_files(folder).get(spec.role)
    except DataFileError:  # several prefixed sets: none of them is the plain one we look for
        return None

"""Reading a ``.npy`` header without reading the array behind it.

A ``.npy`` file (alone, or as an entry of an ``.npz`` archive) starts with a magic string, a format
version and a header that declares the array's shape, memory order and dtype. Files that layerprop
did not write itself — model files, cache entries — are judged by this header *before* NumPy
allocates anything, so a forged shape can never make a small file allocate gigabytes.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np


def read_npy_header(handle: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from the header at ``handle``'s position; the handle is
    left at the first byte of the data. Raises ValueError for a format version NumPy cannot read."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(handle)
    reader = getattr(np.lib.format, "_read_array_header", None)  # version 3.0 (utf-8 field names)
    if reader is None:  # pragma: no cover - depends on the NumPy version
        raise ValueError(f"unsupported .npy format version {version}")
    return reader(handle, version)

"""Reading and writing IDX files, the format MNIST and Fashion-MNIST are published in.

An IDX file is a big-endian header followed by the raw array data:

* 2 zero bytes,
* 1 byte giving the element type (see :data:`IDX_TYPES`),
* 1 byte giving the number of dimensions ``ndim``,
* ``ndim`` unsigned 32-bit big-endian integers: the size of each dimension,
* the elements in C order, big-endian.

Files may be gzip-compressed; compression is recognised by the gzip magic bytes, not by the name.
Any problem with a file raises :class:`~layerprop.errors.DataFileError` (or its subclass
:class:`~layerprop.errors.ChecksumError`) with a message that names the file, what was expected
and what was found.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import ChecksumError, DataFileError
from ..storage.atomic import atomic_write
from ..storage.inputs import open_input

#: The IDX element type codes and the (big-endian) NumPy dtypes they stand for.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
# Deflate cannot compress better than about 1032:1, so a gzip file of n bytes cannot hold more
# than this many times n bytes. A header that declares more data than that is lying; refusing it
# early avoids allocating memory for a bogus (possibly huge) size.
_MAX_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20
#: The most dimensions an IDX file may declare (NumPy 1.x arrays have at most 32).
MAX_DIMS = 32
#: The most bytes of array data :func:`read_idx` accepts unless told otherwise: far above any
#: MNIST-like data set (EMNIST's largest file holds 0.55 GB), far below a forged header's 1e12.
MAX_DATA_BYTES = 1 << 30


def _describe_magic(magic: bytes) -> str:
    return " ".join(f"{byte:02X}" for byte in magic) if magic else "nothing (empty file)"


def _read_up_to(stream, size: int) -> bytes:
    """Read ``size`` bytes, or fewer only if the stream ends first."""
    parts = []
    remaining = size
    while remaining > 0:
        part = stream.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def read_idx_with_md5(
    path: str | os.PathLike[str],
    *,
    want_md5: bool,
    expected_shape: tuple[int, ...] | None = None,
    expected_dtype: np.dtype | None = None,
    max_bytes: int = MAX_DATA_BYTES,
) -> tuple[np.ndarray, str | None]:
    """Like :func:`read_idx`, also returning the MD5 of the decompressed content (``None`` unless
    ``want_md5``). With ``expected_shape``/``expected_dtype``, a header that declares anything
    else is refused before any data is read."""
    path = Path(path)
    try:
        with contextlib.ExitStack() as stack:
            handle, file_size = open_input(path, what="IDX file")  # a FIFO or a device: refused, never waited on
            raw = stack.enter_context(handle)
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            stream = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")) if compressed else raw
            expected = (expected_shape, None if expected_dtype is None else np.dtype(expected_dtype))
            return _decode(stream, path, compressed, file_size, want_md5, expected, max_bytes)
    except DataFileError:
        raise
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DataFileError(
            f"{path}: damaged gzip data -- expected a complete gzip-compressed IDX file, "
            f"but decompression failed: {error}"
        ) from error


def _decode(
    stream, path: Path, compressed: bool, file_size: int, want_md5: bool, expected: tuple, max_bytes: int
) -> tuple[np.ndarray, str | None]:
    magic = _read_up_to(stream, 4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_TYPES:
        codes = " ".join(f"{code:02X}" for code in IDX_TYPES)
        raise DataFileError(
            f"{path}: not an IDX file -- expected the magic bytes 00 00 <type> <ndim> with <type> one of "
            f"{codes}, found {_describe_magic(magic)}"
        )
    dtype = IDX_TYPES[magic[2]]
    ndim = magic[3]
    if not 1 <= ndim <= MAX_DIMS:
        raise DataFileError(f"{path}: unsupported IDX header -- expected 1 to {MAX_DIMS} dimensions, found {ndim}")
    dims_bytes = _read_up_to(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise DataFileError(
            f"{path}: truncated IDX header -- expected {ndim} dimension sizes ({4 * ndim} bytes) after the "
            f"magic number, found only {len(dims_bytes)} bytes"
        )
    shape = struct.unpack(f">{ndim}I", dims_bytes)
    header_size = 4 + 4 * ndim
    data_size = math.prod(shape) * dtype.itemsize
    what = f"shape {shape} of {dtype.name} = {data_size} bytes of data"
    if 0 in shape and math.prod(size for size in shape if size) * dtype.itemsize > max_bytes:
        # empty, but NumPy cannot even describe an array of these sizes
        raise DataFileError(
            f"{path}: unsupported IDX header -- its dimensions besides the zero ones must hold at most "
            f"{max_bytes} bytes, found shape {shape}"
        )
    expected_shape, expected_dtype = expected
    if (expected_shape is not None and tuple(expected_shape) != shape) or (
        expected_dtype is not None and expected_dtype.newbyteorder("=") != dtype.newbyteorder("=")
    ):
        want_dtype = dtype if expected_dtype is None else expected_dtype.newbyteorder("=")
        raise DataFileError(
            f"{path}: wrong content -- expected shape {tuple(expected_shape or shape)} of {want_dtype.name}, "
            f"its header declares shape {shape} of {dtype.newbyteorder('=').name}"
        )

    if compressed:
        limit = file_size * _MAX_DEFLATE_RATIO
        if header_size + data_size > limit:
            raise DataFileError(
                f"{path}: truncated or corrupt IDX file -- its header declares {what}, but a gzip file of "
                f"{file_size} bytes can hold at most about {limit} bytes"
            )
    else:
        found = file_size - header_size
        if found != data_size:
            problem = "truncated IDX file" if found < data_size else "IDX file has trailing data"
            raise DataFileError(f"{path}: {problem} -- its header declares {what}, found {found} bytes")
    if data_size > max_bytes:
        raise DataFileError(
            f"{path}: IDX file too large -- its header declares {what}, more than the {max_bytes} bytes accepted"
        )

    if compressed:
        # Grow the buffer with the data actually decompressed, so a header that overstates the
        # size costs no more memory than the file really holds.
        buffer = bytearray()
        while len(buffer) < data_size:
            chunk = stream.read(min(_CHUNK, data_size - len(buffer)))
            if not chunk:
                break
            buffer += chunk
        filled = len(buffer)
    else:  # the file size was checked above
        buffer = bytearray(data_size)
        view = memoryview(buffer)
        filled = 0
        while filled < data_size:
            count = stream.readinto(view[filled : filled + _CHUNK])
            if not count:
                break
            filled += count
    if filled < data_size:
        raise DataFileError(f"{path}: truncated IDX file -- its header declares {what}, found only {filled} bytes")
    if compressed:
        extra = stream.read(1)  # also makes gzip check the CRC in the trailer
        if extra:
            raise DataFileError(
                f"{path}: IDX file has trailing data -- its header declares {what}, found more after them"
            )

    digest = None
    if want_md5:
        hasher = hashlib.md5(magic)
        hasher.update(dims_bytes)
        hasher.update(buffer)
        digest = hasher.hexdigest()

    array = np.frombuffer(buffer, dtype=dtype).reshape(shape)
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array, digest


def read_idx(path: str | os.PathLike[str], *, md5: str | None = None) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not, into a writable NumPy array.

    All IDX element types are supported (unsigned/signed bytes, 16- and 32-bit integers, 32- and
    64-bit floats); the result is in the machine's native byte order and has the shape stored in
    the file.

    :param path: the file to read.
    :param md5: if given, the hex MD5 digest that the *decompressed* file content must have;
        a mismatch raises :class:`~layerprop.errors.ChecksumError`.
    :raises DataFileError: the file is not IDX (wrong magic number), is truncated, has trailing
        data, or its gzip data is damaged. The message names the file.
    :raises ChecksumError: ``md5`` was given and does not match.
    :raises FileNotFoundError: the file does not exist.
    """
    array, digest = read_idx_with_md5(path, want_md5=md5 is not None)
    if md5 is not None and digest != md5.lower():
        raise ChecksumError(f"{path}: checksum mismatch -- expected the content MD5 {md5.lower()}, got {digest}")
    return array


def idx_type_code(dtype: np.dtype | type | str) -> int:
    """Return the IDX type code for a NumPy dtype, or raise ``TypeError`` if IDX cannot store it."""
    wanted = np.dtype(dtype)
    for code, idx_dtype in IDX_TYPES.items():
        if wanted.kind == idx_dtype.kind and wanted.itemsize == idx_dtype.itemsize:
            return code
    supported = ", ".join(idx_dtype.newbyteorder("=").name for idx_dtype in IDX_TYPES.values())
    raise TypeError(f"IDX cannot store elements of type {wanted}; it supports {supported}")


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (atomically) and return its path.

    :param compress: gzip-compress the file; by default, if and only if the name ends in ``.gz``.
    :raises TypeError: the array's dtype is not one IDX can store (see :data:`IDX_TYPES`).
    :raises ValueError: the array has more than 255 dimensions or a dimension of 2**32 or more.
    """
    path = Path(path)
    array = np.asarray(array)
    code = idx_type_code(array.dtype)
    if array.ndim > 255 or any(size >= 2**32 for size in array.shape):
        raise ValueError(f"IDX cannot store an array of shape {array.shape}: at most 255 dimensions below 2**32")
    if compress is None:
        compress = path.suffix.lower() == ".gz"
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    with atomic_write(path) as handle:
        if compress:
            with gzip.GzipFile(filename="", mode="wb", fileobj=handle, compresslevel=6, mtime=0) as packed:
                packed.write(header)
                packed.write(data)
        else:
            handle.write(header)
            handle.write(data)
    return path

"""MNIST, shipped inside the package, with the book's ``load_mnist``.

The four IDX files live in ``layerprop/datasets/data/`` as ``.gz``. They are identified by the
MD5 of their *decompressed* content (the ``.gz`` files were recompressed, so their own bytes
differ from the originally published ones), verified on first load, and the decoded arrays are
cached as ``.npy`` (see :mod:`layerprop.datasets.cache`), so later loads skip decompression.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .known import (
    DatasetSpec,
    IdxFileSpec,
    load_known_dataset,
    locate_in_folder,
    read_verified,
)
from .preprocess import prepare_splits

#: The folder holding the copy of MNIST that ships with layerprop.
BUNDLED_DATA_DIR = Path(__file__).resolve().parent / "data"

MNIST = DatasetSpec(
    name="mnist",
    files=(
        IdxFileSpec(
            "train-images",
            "train-images-idx3-ubyte",
            (60000, 28, 28),
            "6bbc9ace898e44ae57da46a324031adb",
            47_040_016,
        ),
        IdxFileSpec("train-labels", "train-labels-idx1-ubyte", (60000,), "a25bea736e30d166cdddb491f175f624", 60_008),
        IdxFileSpec(
            "test-images",
            "t10k-images-idx3-ubyte",
            (10000, 28, 28),
            "2646ac647ad5339dbf082846283269ea",
            7_840_016,
        ),
        IdxFileSpec("test-labels", "t10k-labels-idx1-ubyte", (10000,), "27ae3e4e09519cfbb04c329615203637", 10_008),
    ),
)


def _folder_reader(folder: Path):
    def locate(spec: IdxFileSpec) -> np.ndarray:
        path = locate_in_folder(folder, spec)
        if path is None:
            raise FileNotFoundError(
                f"{folder}: expected the MNIST file {spec.filename} or {spec.filename}.gz, found neither"
            )
        return read_verified(path, spec)

    return locate


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    cache: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST as ``((x_train, t_train), (x_test, t_test))``, like the book's ``load_mnist``.

    :param normalize: images as ``float32`` in [0, 1]; otherwise the raw ``uint8`` values 0..255.
    :param flatten: images of shape ``(N, 784)``; otherwise ``(N, 1, 28, 28)``.
    :param one_hot_label: labels as ``float32`` one-hot rows ``(N, 10)``; otherwise ``uint8`` ``(N,)``.
    :param data_dir: a folder holding the four MNIST IDX files (``.gz`` or not) to use instead of
        the bundled copy. They must be genuine MNIST: the same content checksums apply. It is read
        only when the cache holds no valid decoded copy.
    :param cache: use and fill the decoded-array cache in :func:`~layerprop.datasets.cache_dir`.

    There are 60000 training and 10000 test examples. The arrays returned are fresh copies.

    :raises DataFileError: a file is damaged (``ChecksumError`` if its content is not MNIST).
    :raises FileNotFoundError: ``data_dir`` lacks a file.
    """
    folder = Path(data_dir) if data_dir is not None else BUNDLED_DATA_DIR
    arrays = load_known_dataset(MNIST, _folder_reader(folder), use_cache=cache)
    options = {"normalize": normalize, "flatten": flatten, "one_hot_label": one_hot_label}
    return prepare_splits(arrays, **options)

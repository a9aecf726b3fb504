"""Data sets for the examples: MNIST (bundled), Fashion-MNIST (found or downloaded), any IDX files.

* :func:`load_mnist` / :func:`load_fashion_mnist` -- the book's ``load_mnist`` signature and return
  value ``((x_train, t_train), (x_test, t_test))``; files are verified by checksum and the decoded
  arrays cached as ``.npy`` in :func:`cache_dir`.
* :func:`read_idx` / :func:`write_idx` -- any IDX file, gzip-compressed or not, every IDX type.
* :func:`load_idx_folder` / :func:`find_idx_files` -- the train/test image/label files of any
  MNIST-like folder (KMNIST, EMNIST, ...).
* :func:`download_file` -- mirrors, retries, progress bar, MD5 check, atomic write.
* :func:`cache_dir` -- ``$LAYERPROP_CACHE``, else ``$XDG_CACHE_HOME/layerprop``, else ``~/.cache/layerprop``.

Files are never unpickled: only IDX and ``.npy`` (``allow_pickle=False``) are read.
"""

from .cache import cache_dir
from .download import download_file, mirror_urls
from .fashion_mnist import CLASS_NAMES as FASHION_MNIST_CLASSES
from .fashion_mnist import (
    FASHION_MNIST_MIRRORS,
    download_fashion_mnist,
    load_fashion_mnist,
)
from .folder import find_idx_files, load_idx_folder
from .idx import IDX_TYPES, read_idx, write_idx
from .mnist import load_mnist
from .preprocess import to_one_hot

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_MIRRORS",
    "IDX_TYPES",
    "cache_dir",
    "download_fashion_mnist",
    "download_file",
    "find_idx_files",
    "load_fashion_mnist",
    "load_idx_folder",
    "load_mnist",
    "mirror_urls",
    "read_idx",
    "to_one_hot",
    "write_idx",
]

"""Fashion-MNIST (Zalando): found on disk or downloaded, verified, cached.

Fashion-MNIST has MNIST's layout -- 60000 training and 10000 test 28x28 grey images, labels 0..9
(see :data:`CLASS_NAMES`) -- but is not shipped with layerprop. :func:`load_fashion_mnist` looks
for the four IDX files (``.gz`` or not), in this order, and uses the first copy of each it finds:

1. ``data_dir``, if given;
2. ``$LAYERPROP_DATA/fashion-mnist``, then ``$LAYERPROP_DATA`` itself, if the variable is set;
3. ``<cache_dir>/fashion-mnist`` (where downloads go);
4. the system folders in :data:`SYSTEM_DATA_DIRS` (Debian's package ``dataset-fashion-mnist``
   installs the ``.gz`` files in ``/usr/share/datasets/fashion-mnist``);
5. otherwise it downloads them from :data:`FASHION_MNIST_MIRRORS` into ``<cache_dir>/fashion-mnist``.

Files found on disk are checked against the MD5 of the *decompressed* content, which every
faithful copy shares (Debian's ``.gz`` files, for instance, carry a rewritten gzip header, so their
own MD5 differs from Zalando's while their content is identical). Downloads are checked against
the MD5s Zalando publishes for the ``.gz`` files, then by content as well. As for MNIST, decoded
arrays are cached as ``.npy`` so later loads need none of the above.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataFileError, DownloadError
from .cache import cache_dir
from .download import download_file, mirror_urls
from .known import (
    DatasetSpec,
    IdxFileSpec,
    load_known_dataset,
    locate_in_folder,
    read_verified,
)
from .preprocess import prepare_splits

log = logging.getLogger(__name__)

#: Base URLs that serve the four ``.gz`` files, tried in order.
#: https first; the plain-http mirror comes last (every file is checked against its MD5 anyway).
FASHION_MNIST_MIRRORS: list[str] = [
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
]

#: How to get Fashion-MNIST without a network connection (ends every download error).
OFFLINE_HINT = (
    "to work offline, put the four files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in a folder and pass --data-dir FOLDER "
    "(data_dir= in Python) or set $LAYERPROP_DATA=FOLDER, or install Debian's copy: "
    "apt-get install dataset-fashion-mnist"
)

#: Folders where system packages install Fashion-MNIST (Debian: ``dataset-fashion-mnist``).
SYSTEM_DATA_DIRS: list[Path] = [Path("/usr/share/datasets/fashion-mnist")]

#: Environment variable naming a data folder (holding the files, or a ``fashion-mnist`` subfolder).
DATA_ENV = "LAYERPROP_DATA"

#: The names of the ten classes, indexed by label.
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# ``gz_md5``: as published by Zalando. ``md5``: of the decompressed files; these were computed
# from Debian's copies, whose deflate streams were checked to be byte-identical to Zalando's
# (restoring the original gzip header name and time reproduces the published .gz MD5s exactly).
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    files=(
        IdxFileSpec(
            "train-images",
            "train-images-idx3-ubyte",
            (60000, 28, 28),
            "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            47_040_016,
            gz_md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        ),
        IdxFileSpec(
            "train-labels",
            "train-labels-idx1-ubyte",
            (60000,),
            "9018921c3c673c538a1fc5bad174d6f9",
            60_008,
            gz_md5="25c81989df183df01b3e8a0aad5dffbe",
        ),
        IdxFileSpec(
            "test-images",
            "t10k-images-idx3-ubyte",
            (10000, 28, 28),
            "8181f5470baa50b63fa0f6fddb340f0a",
            7_840_016,
            gz_md5="bef4ecab320f06d8554ea6380940ec79",
        ),
        IdxFileSpec(
            "test-labels",
            "t10k-labels-idx1-ubyte",
            (10000,),
            "15d484375f8d13e6eb1aabb0c3f46965",
            10_008,
            gz_md5="bb300cfdad3c16e7a12a480ee83cd310",
        ),
    ),
)


def download_dir() -> Path:
    """The folder Fashion-MNIST is downloaded into: ``<cache_dir>/fashion-mnist``."""
    return cache_dir() / "fashion-mnist"


def search_folders(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders :func:`load_fashion_mnist` searches, in order (see the module docstring)."""
    folders = [Path(data_dir)] if data_dir is not None else []
    configured = os.environ.get(DATA_ENV)
    if configured:
        folders += [Path(configured).expanduser() / "fashion-mnist", Path(configured).expanduser()]
    folders.append(download_dir())
    folders += [Path(folder) for folder in SYSTEM_DATA_DIRS]
    return folders


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


@contextlib.contextmanager
def _writable_download_dir() -> Iterator[Path]:
    """Yield the download folder, or a temporary one (removed afterwards) if it is not writable."""
    folder = download_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        log.debug("cannot write to %s (%s); downloading to a temporary folder", folder, error)
        with tempfile.TemporaryDirectory(prefix="layerprop-fashion-mnist-") as temporary:
            yield Path(temporary)
        return
    yield folder


def gz_size_limit(spec: IdxFileSpec) -> int:
    """The most bytes a ``.gz`` of ``spec``'s file can have: gzip never grows data by more than
    a few bytes per 16 KB block plus its header (a download beyond this is cut off)."""
    return spec.size + spec.size // 1000 + 1024


def _download(spec: IdxFileSpec, destination: Path, mirrors: Sequence[str], options: dict) -> None:
    """Fetch ``spec``'s ``.gz`` with a byte cap; the error, if every mirror fails, says how to work offline."""
    try:
        download_file(
            mirror_urls(destination.name, mirrors),
            destination,
            md5=spec.gz_md5,
            max_bytes=gz_size_limit(spec),
            **options,
        )
    except DownloadError as error:
        raise DownloadError(f"{error} -- {OFFLINE_HINT}") from None


def _download_and_read(spec: IdxFileSpec, folder: Path, download_options: dict) -> np.ndarray:
    destination = folder / (spec.filename + ".gz")
    options = {key: value for key, value in download_options.items() if key != "mirrors"}
    _download(spec, destination, download_options["mirrors"], options)
    try:
        return read_verified(destination, spec)
    except DataFileError:
        destination.unlink(missing_ok=True)  # keep nothing unusable in the cache
        raise


def download_fashion_mnist(
    folder: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    retries: int = 2,
    backoff: float = 1.0,
    timeout: float = 30.0,
    deadline: float = 600.0,
    progress: bool | None = None,
) -> Path:
    """Download the four Fashion-MNIST ``.gz`` files into ``folder`` and return it.

    ``folder`` defaults to :func:`download_dir`; files already there with the right ``.gz`` MD5 are
    kept. Each file is verified against Zalando's published MD5 before it appears under its name.
    See :func:`~layerprop.datasets.download_file` for ``retries``, ``backoff``, ``timeout``,
    ``deadline`` (seconds per attempt at one mirror, default 10 minutes) and ``progress``; ``mirrors``
    defaults to :data:`FASHION_MNIST_MIRRORS`.

    :raises DownloadError: a file could not be fetched intact from any mirror.
    """
    folder = Path(folder) if folder is not None else download_dir()
    mirrors = list(FASHION_MNIST_MIRRORS if mirrors is None else mirrors)
    for spec in FASHION_MNIST.files:
        destination = folder / (spec.filename + ".gz")
        if destination.is_file() and hashlib.md5(destination.read_bytes()).hexdigest() == spec.gz_md5:
            continue
        options = {
            "retries": retries,
            "backoff": backoff,
            "timeout": timeout,
            "deadline": deadline,
            "progress": progress,
        }
        _download(spec, destination, mirrors, options)
    return folder


def load_fashion_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    cache: bool = True,
    mirrors: Sequence[str] | None = None,
    retries: int = 2,
    backoff: float = 1.0,
    timeout: float = 30.0,
    deadline: float = 600.0,
    progress: bool | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST as ``((x_train, t_train), (x_test, t_test))``, shaped like :func:`load_mnist`.

    ``normalize``, ``flatten`` and ``one_hot_label`` work as for :func:`~layerprop.datasets.load_mnist`.
    Where the files are looked for is described in the module docstring; ``data_dir`` comes first.

    :param download: fetch files found nowhere else from the mirrors; with ``False``, raise instead.
    :param cache: use and fill the decoded-array cache.
    :param mirrors: base URLs to download from (default :data:`FASHION_MNIST_MIRRORS`).
    :param retries, backoff, timeout, deadline, progress: passed to :func:`~layerprop.datasets.download_file`.
    :raises DataFileError: a file found on disk is damaged or is not Fashion-MNIST (``ChecksumError``).
        A damaged file in the download folder is deleted and fetched again instead.
    :raises FileNotFoundError: a file is nowhere to be found and ``download`` is false.
    :raises DownloadError: a file had to be downloaded and no mirror delivered it intact.
    """
    dataset = FASHION_MNIST
    folders = search_folders(data_dir)
    own_folder = download_dir()
    download_options = {
        "mirrors": list(FASHION_MNIST_MIRRORS if mirrors is None else mirrors),
        "retries": retries,
        "backoff": backoff,
        "timeout": timeout,
        "deadline": deadline,
        "progress": progress,
    }

    def locate(spec: IdxFileSpec) -> np.ndarray:
        for folder in folders:
            path = locate_in_folder(folder, spec)
            if path is None:
                continue
            if not _same_folder(folder, own_folder):
                return read_verified(path, spec)
            try:
                return read_verified(path, spec)
            except DataFileError as error:
                log.warning("discarding damaged download %s: %s", path, error)
                path.unlink(missing_ok=True)
        if not download:
            searched = ", ".join(str(folder) for folder in folders)
            raise FileNotFoundError(
                f"Fashion-MNIST file {spec.filename}[.gz] not found; searched {searched} "
                f"(pass download=True to fetch it; {OFFLINE_HINT})"
            )
        with _writable_download_dir() as folder:
            return _download_and_read(spec, folder, download_options)

    arrays = load_known_dataset(dataset, locate, use_cache=cache)
    options = {"normalize": normalize, "flatten": flatten, "one_hot_label": one_hot_label}
    return prepare_splits(arrays, **options)

"""Tests of layerprop.datasets: the IDX reader, folder loading, MNIST, Fashion-MNIST from disk, the cache.

Every test runs with LAYERPROP_CACHE pointing into a temporary folder, so the user's cache is never
touched. Downloads are tested in test_download.py against a local HTTP server.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from idx_helpers import spec_for_gz

from layerprop import datasets
from layerprop.datasets import cache as cache_module
from layerprop.datasets import (
    cache_dir,
    fashion_mnist,
    find_idx_files,
    known,
    load_fashion_mnist,
    load_idx_folder,
    load_mnist,
    mnist,
    read_idx,
    to_one_hot,
    write_idx,
)
from layerprop.errors import ChecksumError, DataFileError, LabelError

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """A fresh, private cache for every test; no user data folder."""
    monkeypatch.setenv("LAYERPROP_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LAYERPROP_DATA", raising=False)
    return tmp_path / "cache"


def fail_if_decoding(*args, **kwargs):
    raise AssertionError("an IDX file was decoded although the cache should have been used")


# --------------------------------------------------------------------------------------------------
# IDX reader and writer
# --------------------------------------------------------------------------------------------------

ALL_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def sample_array(dtype, shape=(3, 4, 5)):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        values = np.linspace(-1e3, 1e3, num=int(np.prod(shape))) * np.pi
        values[0], values[-1] = np.finfo(dtype).max, np.finfo(dtype).tiny
    else:
        info = np.iinfo(dtype)
        values = np.linspace(info.min, info.max, num=int(np.prod(shape))).round()
    return values.astype(dtype).reshape(shape)


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("suffix", ["", ".gz"], ids=["raw", "gz"])
def test_idx_round_trip_all_types(tmp_path, dtype, suffix):
    array = sample_array(dtype)
    path = write_idx(tmp_path / f"data-idx3{suffix}", array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    loaded = read_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    assert loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)
    loaded[0] = loaded[1]  # the result is writable


@pytest.mark.parametrize("shape", [(7,), (2, 3), (1, 2, 3, 4), (0, 28, 28)])
def test_idx_round_trip_shapes(tmp_path, shape):
    array = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a.idx.gz", array)), array)


def test_idx_reads_hand_made_big_endian_bytes(tmp_path):
    # type 0x0B (int16), 1 dimension of size 3, values 258, -2, 1 in big-endian.
    path = tmp_path / "hand-made"
    path.write_bytes(bytes([0, 0, 0x0B, 1]) + struct.pack(">I", 3) + bytes([1, 2, 0xFF, 0xFE, 0, 1]))
    np.testing.assert_array_equal(read_idx(path), np.array([258, -2, 1], dtype=np.int16))
    path.write_bytes(bytes([0, 0, 0x0D, 2, 0, 0, 0, 1, 0, 0, 0, 1]) + struct.pack(">f", 1.5))
    np.testing.assert_array_equal(read_idx(path), np.array([[1.5]], dtype=np.float32))


def test_compression_is_recognised_by_content_not_name(tmp_path):
    array = sample_array(np.uint8)
    gz_named_raw = write_idx(tmp_path / "raw.gz", array, compress=False)
    raw_named_gz = write_idx(tmp_path / "packed.idx", array, compress=True)
    np.testing.assert_array_equal(read_idx(gz_named_raw), array)
    np.testing.assert_array_equal(read_idx(raw_named_gz), array)


def test_write_idx_rejects_types_idx_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="IDX cannot store"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.uint16))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "content, found",
    [
        (b"\x01\x02\x08\x01" + b"\x00" * 8, "01 02 08 01"),
        (b"\x00\x00\x0a\x01" + b"\x00" * 8, "00 00 0A 01"),
        (b"", "empty file"),
        (b"\x00\x00", "00 00"),
    ],
)
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_wrong_magic_names_the_file(tmp_path, content, found, compress):
    path = tmp_path / "bad-magic-idx1-ubyte"
    path.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(DataFileError, match="not an IDX file") as caught:
        read_idx(path)
    assert str(path) in str(caught.value) and found in str(caught.value) and "expected" in str(caught.value)


def test_truncated_data_names_the_file(tmp_path):
    path = write_idx(tmp_path / "cut-idx3-ubyte", sample_array(np.int32))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DataFileError, match="truncated") as caught:
        read_idx(path)
    message = str(caught.value)
    assert str(path) in message and "(3, 4, 5)" in message and "239 bytes" in message


def test_truncated_header_names_the_file(tmp_path):
    path = tmp_path / "short-header"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2]))
    with pytest.raises(DataFileError, match="truncated IDX header") as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_trailing_data_is_an_error(tmp_path):
    for name, compress in (("extra", False), ("extra.gz", True)):
        array = sample_array(np.uint8)
        path = tmp_path / name
        header = bytes([0, 0, 8, 3]) + struct.pack(">3I", *array.shape)
        content = header + array.tobytes() + b"\x00"
        path.write_bytes(gzip.compress(content) if compress else content)
        with pytest.raises(DataFileError, match="trailing data") as caught:
            read_idx(path)
        assert str(path) in str(caught.value)


def test_truncated_gzip_names_the_file(tmp_path):
    path = write_idx(
        tmp_path / "cut-idx3-ubyte.gz",
        np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8),
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFileError) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_complete_gzip_with_too_little_data_names_the_file(tmp_path):
    path = tmp_path / "short-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 1000) + bytes(999)))
    with pytest.raises(DataFileError, match="truncated IDX file") as caught:
        read_idx(path)
    assert str(path) in str(caught.value) and "found only 999 bytes" in str(caught.value)


def test_corrupt_gzip_names_the_file(tmp_path):
    path = write_idx(
        tmp_path / "bits-idx3-ubyte.gz",
        np.random.default_rng(1).integers(0, 256, (20, 28, 28), dtype=np.uint8),
    )
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_lying_header_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 2**31, 2**31, 2**31)))
    with pytest.raises(DataFileError, match="can hold at most") as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_checksum_is_of_the_decompressed_content(tmp_path):
    array = sample_array(np.uint8)
    raw = write_idx(tmp_path / "a-idx3-ubyte", array)
    packed = write_idx(tmp_path / "a-idx3-ubyte.gz", array)
    digest = hashlib.md5(raw.read_bytes()).hexdigest()
    np.testing.assert_array_equal(read_idx(packed, md5=digest), array)
    np.testing.assert_array_equal(read_idx(raw, md5=digest.upper()), array)


def test_checksum_mismatch_names_the_file(tmp_path):
    path = write_idx(tmp_path / "a-idx3-ubyte.gz", sample_array(np.uint8))
    with pytest.raises(ChecksumError, match="checksum mismatch") as caught:
        read_idx(path, md5="0" * 32)
    message = str(caught.value)
    assert str(path) in message and "0" * 32 in message
    assert isinstance(caught.value, DataFileError)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing-here")


# --------------------------------------------------------------------------------------------------
# MNIST-like folders
# --------------------------------------------------------------------------------------------------


def write_idx_set(folder, *, prefix="", n_train=8, n_test=4, names=None, seed=0):
    """Write a small synthetic MNIST-like set; return the arrays by role."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test-images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test-labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    names = names or {
        "train-images": "train-images-idx3-ubyte.gz",
        "train-labels": "train-labels-idx1-ubyte.gz",
        "test-images": "t10k-images-idx3-ubyte.gz",
        "test-labels": "t10k-labels-idx1-ubyte.gz",
    }
    for role, array in arrays.items():
        write_idx(folder / (prefix + names[role]), array)
    return arrays


def test_load_idx_folder(tmp_path):
    arrays = write_idx_set(tmp_path)
    (x_train, t_train), (x_test, t_test) = load_idx_folder(tmp_path)
    np.testing.assert_array_equal(x_train, arrays["train-images"])
    np.testing.assert_array_equal(t_train, arrays["train-labels"])
    np.testing.assert_array_equal(x_test, arrays["test-images"])
    np.testing.assert_array_equal(t_test, arrays["test-labels"])


def test_load_idx_folder_accepts_name_variants(tmp_path):
    names = {
        "train-images": "train-images.idx3-ubyte",
        "train-labels": "TRAIN_labels_idx1_ubyte.gz",
        "test-images": "test-images-idx3-ubyte",
        "test-labels": "t10k-labels.idx1-ubyte.gz",
    }
    arrays = write_idx_set(tmp_path, names=names)
    (x_train, _), (_, t_test) = load_idx_folder(tmp_path)
    np.testing.assert_array_equal(x_train, arrays["train-images"])
    np.testing.assert_array_equal(t_test, arrays["test-labels"])


def test_find_idx_files_prefers_uncompressed_and_handles_prefixes(tmp_path):
    write_idx_set(tmp_path)
    shutil.copy(tmp_path / "train-images-idx3-ubyte.gz", tmp_path / "unrelated.gz")
    write_idx(tmp_path / "train-images-idx3-ubyte", read_idx(tmp_path / "train-images-idx3-ubyte.gz"))
    assert find_idx_files(tmp_path)["train-images"].name == "train-images-idx3-ubyte"

    other = tmp_path / "two-sets"
    letters = write_idx_set(other, prefix="emnist-letters-", seed=1)
    write_idx_set(other, prefix="emnist-digits-", seed=2)
    with pytest.raises(DataFileError, match="prefix") as caught:
        load_idx_folder(other)
    assert "emnist-letters" in str(caught.value) and "emnist-digits" in str(caught.value)
    (_, t_train), _ = load_idx_folder(other, prefix="emnist-letters")
    np.testing.assert_array_equal(t_train, letters["train-labels"])
    assert find_idx_files(tmp_path / "no-such-folder") == {}


def test_count_mismatch_names_the_files(tmp_path):
    write_idx_set(tmp_path)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    write_idx(labels, np.zeros(5, dtype=np.uint8))  # 4 test images, 5 labels
    with pytest.raises(DataFileError, match="count mismatch") as caught:
        load_idx_folder(tmp_path)
    message = str(caught.value)
    assert (
        str(labels) in message
        and "t10k-images-idx3-ubyte.gz" in message
        and "4 images" in message
        and "5 labels" in message
    )


def test_missing_file_in_folder(tmp_path):
    write_idx_set(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="test-images") as caught:
        load_idx_folder(tmp_path)
    assert str(tmp_path) in str(caught.value)


# --------------------------------------------------------------------------------------------------
# Preparation (normalise / flatten / one-hot)
# --------------------------------------------------------------------------------------------------


def test_to_one_hot():
    encoded = to_one_hot(np.array([0, 3, 9], dtype=np.uint8))
    assert encoded.dtype == np.float32 and encoded.shape == (3, 10)
    np.testing.assert_array_equal(encoded.argmax(axis=1), [0, 3, 9])
    assert encoded.sum() == 3
    with pytest.raises(LabelError, match="0..9"):
        to_one_hot(np.array([10]))
    with pytest.raises(LabelError):
        to_one_hot(np.array([[1]]))


# --------------------------------------------------------------------------------------------------
# MNIST (the real, bundled data)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_mnist_cache(tmp_path_factory):
    """A cache folder filled once with the real MNIST, shared by this module's MNIST tests."""
    folder = tmp_path_factory.mktemp("mnist-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAYERPROP_CACHE", str(folder))
        load_mnist(normalize=False)
    return folder


@pytest.fixture
def mnist_cache(shared_mnist_cache, monkeypatch):
    monkeypatch.setenv("LAYERPROP_CACHE", str(shared_mnist_cache))
    return shared_mnist_cache


def test_load_mnist_default(mnist_cache):
    (x_train, t_train), (x_test, t_test) = load_mnist()
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert t_train.shape == (60000,) and t_test.shape == (10000,)
    assert t_train.dtype == np.uint8 and t_test.dtype == np.uint8
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert x_test.min() == 0.0 and x_test.max() == 1.0
    train_counts, test_counts = np.bincount(t_train, minlength=10), np.bincount(t_test, minlength=10)
    assert train_counts.sum() == 60000 and test_counts.sum() == 10000
    assert len(train_counts) == 10 and len(test_counts) == 10
    # The well-known class frequencies of MNIST.
    assert train_counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert test_counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert t_train[:5].tolist() == [5, 0, 4, 1, 9]


def test_load_mnist_raw_unflattened_one_hot(mnist_cache):
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=False, flatten=False, one_hot_label=True)
    assert x_train.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    assert x_train.dtype == np.uint8 and x_train.max() == 255 and x_train.min() == 0
    assert t_train.shape == (60000, 10) and t_test.shape == (10000, 10) and t_train.dtype == np.float32
    np.testing.assert_array_equal(t_train.sum(axis=1), 1.0)
    assert t_train.sum(axis=0).sum() == 60000
    (x_flat, t_plain), _ = load_mnist(normalize=True, flatten=True)
    np.testing.assert_array_equal(t_train.argmax(axis=1), t_plain)
    # float32 normalisation equals the book's x.astype(float32) / 255 exactly.
    np.testing.assert_array_equal(x_flat, x_train.reshape(60000, 784).astype(np.float32) / np.float32(255))
    (x_norm, _), _ = load_mnist(normalize=True, flatten=False)
    assert x_norm.shape == (60000, 1, 28, 28) and x_norm.dtype == np.float32


def test_second_load_uses_the_cache(mnist_cache, monkeypatch):
    monkeypatch.setattr(known, "read_idx_with_md5", fail_if_decoding)
    (x_train, _), (x_test, _) = load_mnist(normalize=False)
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert sorted(path.name for path in (mnist_cache / "mnist").iterdir()) == sorted(
        f"{role}.{ext}"
        for role in ("train-images", "train-labels", "test-images", "test-labels")
        for ext in ("npy", "json")
    )


def copy_cache(source: Path, target: Path, roles=("train-images", "train-labels", "test-images", "test-labels")):
    (target / "mnist").mkdir(parents=True)
    for role in roles:
        for ext in ("npy", "json"):
            shutil.copy(source / "mnist" / f"{role}.{ext}", target / "mnist" / f"{role}.{ext}")
    return target / "mnist"


@pytest.mark.parametrize(
    "damage", ["flip-byte", "truncate", "empty", "stale-source", "bad-json", "no-json", "wrong-shape"]
)
def test_damaged_cache_entry_is_rebuilt(shared_mnist_cache, isolated_environment, damage):
    entry_folder = copy_cache(shared_mnist_cache, isolated_environment)
    npy, meta = entry_folder / "test-labels.npy", entry_folder / "test-labels.json"
    good_labels = np.load(npy)
    if damage == "flip-byte":
        data = bytearray(npy.read_bytes())
        data[-1] ^= 0x01  # a label 7 becomes 6: still a valid .npy, caught by the CRC
        npy.write_bytes(bytes(data))
    elif damage == "truncate":
        npy.write_bytes(npy.read_bytes()[:-100])
    elif damage == "empty":
        npy.write_bytes(b"")
    elif damage == "stale-source":
        meta.write_text(meta.read_text().replace(mnist.MNIST.file("test-labels").md5, "1" * 32))
    elif damage == "bad-json":
        meta.write_text("{not json")
    elif damage == "no-json":
        meta.unlink()
    elif damage == "wrong-shape":
        np.save(npy, good_labels[:-1])
    # Only the damaged entry may be decoded again: the other three come from the cache.
    decoded = []
    original = known.read_idx_with_md5

    def counting_decoder(path, **kwargs):
        decoded.append(Path(path).name)
        return original(path, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(known, "read_idx_with_md5", counting_decoder)
        _, (_, t_test) = load_mnist()
    assert decoded == ["t10k-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(t_test, good_labels)
    np.testing.assert_array_equal(np.load(npy), good_labels)  # rebuilt on disk
    assert json.loads(meta.read_text())["source_md5"] == mnist.MNIST.file("test-labels").md5
    assert not [path for path in entry_folder.iterdir() if path.suffix not in (".npy", ".json")]


def test_mnist_from_a_data_dir_copy(shared_mnist_cache, isolated_environment, tmp_path):
    copy_cache(shared_mnist_cache, isolated_environment, roles=("train-images", "train-labels", "test-images"))
    data_dir = tmp_path / "copy"
    data_dir.mkdir()
    labels = gzip.decompress((mnist.BUNDLED_DATA_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (data_dir / "t10k-labels-idx1-ubyte").write_bytes(labels)  # uncompressed copies are fine too
    _, (_, t_test) = load_mnist(data_dir=data_dir)
    assert t_test.shape == (10000,) and t_test[:3].tolist() == [7, 2, 1]


def test_mnist_checksum_mismatch_names_the_file_and_caches_nothing(shared_mnist_cache, isolated_environment, tmp_path):
    entry_folder = copy_cache(
        shared_mnist_cache, isolated_environment, roles=("train-images", "train-labels", "test-images")
    )
    data_dir = tmp_path / "tampered"
    data_dir.mkdir()
    labels = bytearray(gzip.decompress((mnist.BUNDLED_DATA_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    labels[100] = (labels[100] + 1) % 10
    tampered = data_dir / "t10k-labels-idx1-ubyte.gz"
    tampered.write_bytes(gzip.compress(bytes(labels)))
    with pytest.raises(ChecksumError, match="checksum mismatch") as caught:
        load_mnist(data_dir=data_dir)
    message = str(caught.value)
    assert str(tampered) in message and mnist.MNIST.file("test-labels").md5 in message
    assert not (entry_folder / "test-labels.npy").exists()
    assert sorted(path.name for path in entry_folder.iterdir()) == sorted(
        f"{role}.{ext}" for role in ("train-images", "train-labels", "test-images") for ext in ("npy", "json")
    )


def test_mnist_wrong_file_in_data_dir(shared_mnist_cache, isolated_environment, tmp_path):
    copy_cache(shared_mnist_cache, isolated_environment, roles=("train-images", "train-labels", "test-images"))
    data_dir = tmp_path / "wrong"
    data_dir.mkdir()
    write_idx(data_dir / "t10k-labels-idx1-ubyte.gz", np.zeros(9999, dtype=np.uint8))
    with pytest.raises(DataFileError, match=r"expected shape \(10000,\)") as caught:
        load_mnist(data_dir=data_dir)
    assert "t10k-labels-idx1-ubyte.gz" in str(caught.value)
    (data_dir / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(data_dir=data_dir)


def test_mnist_without_writable_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LAYERPROP_CACHE", str(blocker / "cache"))
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=False)
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert t_train.shape == (60000,) and t_test.shape == (10000,)
    assert blocker.read_text() == "not a folder"


def test_cache_can_be_turned_off(shared_mnist_cache, isolated_environment, monkeypatch):
    entry_folder = copy_cache(
        shared_mnist_cache, isolated_environment, roles=("train-images", "train-labels", "test-images")
    )
    # cache=False neither reads nor writes it: test-images must be decoded although it is cached.
    decoded = []
    original = known.read_idx_with_md5
    monkeypatch.setattr(
        known, "read_idx_with_md5", lambda path, **kw: decoded.append(Path(path).name) or original(path, **kw)
    )
    load_mnist(cache=False)
    assert len(decoded) == 4
    assert not (entry_folder / "test-labels.npy").exists()


def test_cache_dir_locations(monkeypatch, tmp_path):
    monkeypatch.setenv("LAYERPROP_CACHE", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("LAYERPROP_CACHE")
    assert cache_dir() == tmp_path / "xdg" / "layerprop"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "layerprop"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == tmp_path / "home" / ".cache" / "layerprop"


def test_cache_store_and_load_round_trip(isolated_environment):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = cache_module.store_cached_array("demo", "thing", array, source_md5="abc")
    assert path == isolated_environment / "demo" / "thing.npy"
    loaded = cache_module.load_cached_array("demo", "thing", source_md5="abc", shape=(3, 4), dtype=np.uint8)
    np.testing.assert_array_equal(loaded, array)
    assert cache_module.load_cached_array("demo", "thing", source_md5="abc", shape=(3, 4), dtype=np.int8) is None
    assert not path.exists()  # the mismatching entry was discarded
    # np.load must never unpickle: an object array in the cache is refused, not loaded.
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (isolated_environment / "demo" / "thing.json").write_text('{"format": 1, "source_md5": "abc"}')
    assert cache_module.load_cached_array("demo", "thing", source_md5="abc", shape=(1,), dtype=object) is None
    assert not path.exists()


# --------------------------------------------------------------------------------------------------
# Fashion-MNIST found on disk (downloads: see test_download.py)
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def no_system_fashion(monkeypatch, tmp_path):
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DATA_DIRS", [tmp_path / "no-system-copy"])


def synthetic_fashion_spec(folder: Path, seed: int = 0) -> known.DatasetSpec:
    """Write a small Fashion-MNIST look-alike into ``folder``; return a spec that accepts it."""
    arrays = write_idx_set(folder, seed=seed)
    files = []
    for spec in fashion_mnist.FASHION_MNIST.files:
        files.append(spec_for_gz(spec, folder / (spec.filename + ".gz"), arrays[spec.role].shape))
    return known.DatasetSpec("fashion-mnist", tuple(files))


def test_fashion_search_order(tmp_path, monkeypatch, no_system_fashion):
    spec = synthetic_fashion_spec(tmp_path / "first")
    for name in ("env", "system"):
        shutil.copytree(tmp_path / "first", tmp_path / name)
    monkeypatch.setattr(fashion_mnist, "FASHION_MNIST", spec)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DATA_DIRS", [tmp_path / "system"])
    monkeypatch.setenv("LAYERPROP_DATA", str(tmp_path / "env"))
    seen = []
    original = known.read_idx_with_md5
    monkeypatch.setattr(
        known,
        "read_idx_with_md5",
        lambda path, **kw: seen.append(Path(path).parent.name) or original(path, **kw),
    )

    (x_train, _), _ = load_fashion_mnist(data_dir=tmp_path / "first", cache=False, download=False)
    assert seen == ["first"] * 4 and x_train.shape == (8, 784)
    seen.clear()
    load_fashion_mnist(cache=False, download=False)
    assert seen == ["env"] * 4
    seen.clear()
    (tmp_path / "env" / "fashion-mnist").mkdir()
    (tmp_path / "env" / "train-labels-idx1-ubyte.gz").rename(
        tmp_path / "env" / "fashion-mnist" / "train-labels-idx1-ubyte.gz"
    )
    (tmp_path / "env" / "train-images-idx3-ubyte.gz").unlink()
    load_fashion_mnist(cache=False, download=False)
    assert seen == ["system", "fashion-mnist", "env", "env"]
    seen.clear()
    monkeypatch.delenv("LAYERPROP_DATA")
    load_fashion_mnist(download=False)  # fills the cache
    assert seen == ["system"] * 4
    seen.clear()
    shutil.rmtree(tmp_path / "system")
    (x_train, t_train), (x_test, _) = load_fashion_mnist(download=False)  # needs no files now
    assert seen == [] and x_train.shape == (8, 784) and t_train.dtype == np.uint8 and x_test.shape == (4, 784)


def test_fashion_not_found_without_download(no_system_fashion, tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte") as caught:
        load_fashion_mnist(download=False, data_dir=tmp_path / "empty")
    assert str(tmp_path / "empty") in str(caught.value)


def test_fashion_real_file_with_wrong_content_names_it(tmp_path, no_system_fashion):
    write_idx_set(tmp_path / "not-fashion")
    with pytest.raises(DataFileError) as caught:
        load_fashion_mnist(data_dir=tmp_path / "not-fashion", download=False)
    assert str(tmp_path / "not-fashion" / "train-images-idx3-ubyte.gz") in str(caught.value)


@pytest.mark.skipif(
    not (DEBIAN_FASHION / "train-labels-idx1-ubyte.gz").exists(), reason="dataset-fashion-mnist not installed"
)
def test_fashion_mnist_from_debian_package(monkeypatch):
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DATA_DIRS", [DEBIAN_FASHION])
    (x_train, t_train), (x_test, t_test) = load_fashion_mnist(download=False, mirrors=[])
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784) and x_train.dtype == np.float32
    assert 0.0 == x_train.min() and x_train.max() == 1.0
    assert np.bincount(t_train).tolist() == [6000] * 10 and np.bincount(t_test).tolist() == [1000] * 10
    assert t_test[:5].tolist() == [9, 2, 1, 1, 6]
    assert len(datasets.FASHION_MNIST_CLASSES) == 10


@pytest.mark.parametrize("dataset", [mnist.MNIST, fashion_mnist.FASHION_MNIST], ids=lambda d: d.name)
def test_dataset_constants_are_consistent(dataset):
    assert sorted(spec.role for spec in dataset.files) == sorted(
        ["train-images", "train-labels", "test-images", "test-labels"]
    )
    for spec in dataset.files:
        assert spec.size == 4 + 4 * len(spec.shape) + int(np.prod(spec.shape))
        assert len(spec.md5) == 32 and spec.md5 == spec.md5.lower()


def test_importing_does_not_import_tqdm():
    import subprocess
    import sys

    code = "import sys, layerprop.datasets; print('tqdm' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_public_api():
    for name in (
        "load_mnist",
        "load_fashion_mnist",
        "read_idx",
        "write_idx",
        "load_idx_folder",
        "find_idx_files",
        "download_file",
        "cache_dir",
    ):
        assert callable(getattr(datasets, name)) and name in datasets.__all__

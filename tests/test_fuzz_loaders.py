"""Fuzz tests (hypothesis): the IDX reader and the model loader, given any bytes, either return
or raise the project's own error (issue 8) -- never a raw Python/NumPy exception. Each test is
bounded by ``max_examples``; ``deadline=None`` because the machine's load varies."""

from __future__ import annotations

import gzip
import json
import struct

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerprop.datasets import read_idx
from layerprop.errors import LayerpropError
from layerprop.io import load_model, save_model
from layerprop.nets import MultiLayerNetExtend

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def only_project_errors(call):
    """Run ``call``; let it succeed or raise a LayerpropError, fail the test on anything else."""
    try:
        call()
    except LayerpropError:
        pass


# --------------------------------------------------------------------------- IDX reader
idx_codes = st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0xFF])


@st.composite
def idx_files(draw):
    """IDX-looking bytes: a plausible or broken header, then a payload of any length."""
    ndim = draw(st.integers(0, 40))
    dims = draw(st.lists(st.one_of(st.integers(0, 6), st.integers(0, 2**32 - 1)), min_size=ndim, max_size=ndim))
    head = bytes([0, 0, draw(idx_codes), ndim]) + struct.pack(f">{ndim}I", *dims)
    head = head[: draw(st.integers(0, len(head)))] if draw(st.booleans()) else head
    return head + draw(st.binary(max_size=300))


@FUZZ
@given(data=st.one_of(idx_files(), st.binary(max_size=200)), compress=st.booleans(), cut=st.integers(0, 50))
def test_idx_reader_only_raises_data_file_errors(tmp_path, data, compress, cut):
    if compress:
        data = gzip.compress(data)
        data = data[: len(data) - cut] if cut < len(data) else data
    path = tmp_path / "fuzz.idx"
    path.write_bytes(data)
    only_project_errors(lambda: read_idx(path))


# --------------------------------------------------------------------------- model loader
@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    net = MultiLayerNetExtend(6, [4], 3, use_batchnorm=True, dtype="float32", seed=0)
    net.predict(np.ones((2, 6), np.float32), train_flg=True)
    path = save_model(tmp_path_factory.mktemp("fuzz") / "m.npz", net)
    return path.read_bytes()


@FUZZ
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_model_loader_on_damaged_bytes(tmp_path, model_bytes, flips, cut):
    data = bytearray(model_bytes)
    for position, mask in flips:
        data[position % len(data)] ^= mask
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    path = tmp_path / "fuzz.npz"
    path.write_bytes(bytes(data))
    only_project_errors(lambda: load_model(path))


odd_numbers = st.sampled_from([0, -1, 1, 3, 4, 6, 10**9, 2**63, 1e300, 0.5, float("inf"), float("-inf"), float("nan")])
json_values = st.recursive(
    st.none() | st.booleans() | odd_numbers | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
config_keys = st.sampled_from(
    [
        "input_size",
        "hidden_size_list",
        "output_size",
        "activation",
        "weight_init_std",
        "weight_decay_lambda",
        "use_dropout",
        "dropout_ration",
        "use_batchnorm",
        "dtype",
        "class",
        "seed",
        "unknown",
    ]
)


@FUZZ
@given(
    changes=st.dictionaries(
        config_keys, odd_numbers | st.lists(odd_numbers, min_size=1, max_size=3) | json_values, min_size=1, max_size=3
    ),
    top=st.dictionaries(
        st.sampled_from(["dtype", "format_version", "optimizer_config", "metadata", "arrays"]), json_values, max_size=2
    ),
)
def test_model_loader_on_odd_headers(tmp_path, model_bytes, changes, top):
    source = tmp_path / "source.npz"
    source.write_bytes(model_bytes)
    with np.load(source, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    header = json.loads(arrays.pop("__header__").tobytes())
    header["model_config"].update(changes)
    header.update(top)
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)  # NaN/inf become JSON's NaN/Infinity
    path = tmp_path / "odd.npz"
    with open(path, "wb") as handle:
        np.savez(handle, __header__=raw, **arrays)
    only_project_errors(lambda: load_model(path))


# --------------------------------------------------------------------------- the book-pickle machine
@pytest.fixture(scope="module")
def pickle_bytes():
    import pickle

    arrays = {"W1": np.arange(6, dtype=np.float32).reshape(2, 3), "b1": np.ones(3)}
    return [pickle.dumps(arrays, protocol=protocol) for protocol in (2, 3, 4, 5)]


@FUZZ
@given(
    which=st.integers(0, 3),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
    insert=st.one_of(st.none(), st.tuples(st.integers(0, 10**6), st.binary(min_size=1, max_size=8))),
)
def test_pickle_machine_on_damaged_bytes(tmp_path, pickle_bytes, which, flips, cut, insert):
    """Mutated pickles of a dict of arrays (issue 17, items 1–3): the machine returns a dict of
    float arrays or raises UnsafePickleError — no other exception, in bounded time."""
    from layerprop.errors import UnsafePickleError
    from layerprop.io.book_pickle import load_book_pickle

    data = bytearray(pickle_bytes[which])
    for position, mask in flips:
        data[position % len(data)] ^= mask
    if insert is not None:
        position, extra = insert
        data[position % len(data) : position % len(data)] = extra
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    path = tmp_path / "fuzz.pkl"
    path.write_bytes(bytes(data))
    try:
        result = load_book_pickle(path)
    except UnsafePickleError as error:
        assert "\n" not in str(error) and len(str(error)) < 1000
    else:
        assert type(result) is dict and all(a.dtype.kind == "f" for a in result.values())

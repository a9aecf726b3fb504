"""Tests of layerprop.io: round trips, atomic writes, refusal of damaged/foreign/pickled files."""

import io as stdlib_io
import json
import os
import zipfile

import numpy as np
import pytest

from layerprop.errors import ModelFileError
from layerprop.io import (
    FORMAT,
    FORMAT_VERSION,
    LoadedModel,
    load_model,
    read_model_file,
    save_model,
)
from layerprop.optim import Adam, Momentum


class TinyNet:
    """A stand-in network with the model protocol: to_config, state_dict, load_state_dict."""

    def __init__(self, sizes=(3, 2), dtype="float32", seed=0):
        rng = np.random.default_rng(seed)
        self.sizes = list(sizes)
        self.dtype = dtype
        n_in, n_out = sizes
        self.params = {
            "W1": rng.standard_normal((n_in, n_out)).astype(dtype),
            "b1": rng.standard_normal(n_out).astype(dtype),
        }
        # a buffer whose name contains '/', like a BatchNorm running mean
        self.buffers = {"bn1/running_mean": rng.standard_normal(n_out).astype(dtype)}

    def to_config(self):
        return {"class": "TinyNet", "sizes": self.sizes, "dtype": self.dtype}

    def state_dict(self):
        return {**self.params, **self.buffers}

    def load_state_dict(self, arrays):
        own = self.state_dict()
        for key, target in own.items():
            if key not in arrays:
                raise KeyError(f"missing array {key!r}")
            if arrays[key].shape != target.shape:
                raise ValueError(f"{key!r}: expected shape {target.shape}, got {arrays[key].shape}")
            target[...] = arrays[key]
        extra = set(arrays) - set(own)
        if extra:
            raise ValueError(f"unexpected arrays {sorted(extra)}")


def factory(config):
    assert config["class"] == "TinyNet"
    return TinyNet(sizes=config["sizes"], dtype=config["dtype"], seed=123)


def trained(dtype="float32"):
    net = TinyNet(dtype=dtype)
    opt = Adam(lr=0.01)
    for _ in range(3):
        grads = {k: np.full_like(v, 0.5) for k, v in net.params.items()}
        opt.update(net.params, grads)
    return net, opt


def write_npz(path, header, **arrays):
    """Write an .npz whose __header__ holds ``header`` (a dict, or raw bytes)."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    with open(path, "wb") as f:
        np.savez(f, __header__=np.frombuffer(raw, dtype=np.uint8), **arrays)


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip(tmp_path, dtype):
    net, opt = trained(dtype)
    history = {"loss": [2.3, 1.1, np.float64(0.5)], "acc": [0.1, 0.5, 0.9]}
    metadata = {"note": "ünïcödé", "epochs": np.int64(3)}
    path = tmp_path / "model.npz"
    assert save_model(path, net, opt, history=history, metadata=metadata) == path

    loaded = load_model(path, network_factory=factory)
    assert isinstance(loaded, LoadedModel)
    model, optimizer, hist, meta, header = loaded
    assert isinstance(model, TinyNet)
    for key, value in net.state_dict().items():
        assert model.state_dict()[key].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(model.state_dict()[key], value)
    assert hist == {"loss": [2.3, 1.1, 0.5], "acc": [0.1, 0.5, 0.9]}
    assert meta == {"note": "ünïcödé", "epochs": 3}
    assert header["format"] == FORMAT and header["format_version"] == FORMAT_VERSION
    assert header["dtype"] == dtype
    assert header["model_config"] == net.to_config()
    assert isinstance(header["layerprop_version"], str)

    # the optimizer continues exactly where the saved one stopped
    assert isinstance(optimizer, Adam)
    assert optimizer.state_dict()[0] == opt.state_dict()[0]
    grads = {k: np.full_like(v, -0.25) for k, v in net.params.items()}
    opt.update(net.params, grads)
    optimizer.update(model.params, grads)
    for key in net.params:
        np.testing.assert_array_equal(model.params[key], net.params[key])


def test_without_optimizer_and_read_model_file(tmp_path):
    net = TinyNet(dtype="float64")
    path = tmp_path / "plain.npz"
    save_model(str(path), net)
    loaded = load_model(path, factory)
    assert loaded.optimizer is None and loaded.history is None and loaded.metadata is None

    header, model_arrays, optim_arrays = read_model_file(path)
    assert set(model_arrays) == {"W1", "b1", "bn1/running_mean"}
    assert optim_arrays == {}
    assert header["optimizer_config"] is None

    # readable by plain NumPy without pickle
    with np.load(path, allow_pickle=False) as npz:
        assert json.loads(npz["__header__"].tobytes())["format"] == FORMAT
        assert "model/bn1/running_mean" in npz.files


def test_read_model_file_optimizer_arrays(tmp_path):
    net = TinyNet()
    opt = Momentum()
    opt.update(net.params, {k: np.ones_like(v) for k, v in net.params.items()})
    path = tmp_path / "m.npz"
    save_model(path, net, opt)
    header, _, optim_arrays = read_model_file(path)
    assert header["optimizer_config"]["name"] == "momentum"
    assert set(optim_arrays) == {"v/W1", "v/b1"}


def test_compressed_round_trip(tmp_path):
    net, opt = trained("float64")
    path = tmp_path / "small.npz"
    save_model(path, net, opt, compress=True)
    with zipfile.ZipFile(path) as zf:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
    model = load_model(path, factory).model
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


def test_exact_path_used(tmp_path):
    path = tmp_path / "model.layerprop"  # no .npz appended
    save_model(path, TinyNet())
    assert os.listdir(tmp_path) == ["model.layerprop"]
    assert read_model_file(path)[0]["model_config"]["class"] == "TinyNet"


def test_unserializable_inputs_refused(tmp_path):
    class BadConfig(TinyNet):
        def to_config(self):
            return {"class": "TinyNet", "fn": print}

    with pytest.raises(TypeError, match="JSON"):
        save_model(tmp_path / "a.npz", BadConfig())
    with pytest.raises(TypeError, match="history"):
        save_model(tmp_path / "a.npz", TinyNet(), history=[1, 2])

    class ObjectArrays(TinyNet):
        def state_dict(self):
            return {"x": np.array([{"a": 1}], dtype=object)}

    with pytest.raises(TypeError, match="pickle"):
        save_model(tmp_path / "a.npz", ObjectArrays())
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- atomic writes
def test_atomic_write_leaves_no_temp_files(tmp_path):
    path = tmp_path / "model.npz"
    save_model(path, TinyNet(seed=1))
    save_model(path, TinyNet(seed=2))  # overwrite
    assert os.listdir(tmp_path) == ["model.npz"]
    np.testing.assert_array_equal(read_model_file(path)[1]["W1"], TinyNet(seed=2).params["W1"])


def test_failed_state_dict_keeps_old_file(tmp_path):
    path = tmp_path / "model.npz"
    save_model(path, TinyNet())
    before = path.read_bytes()

    class Broken(TinyNet):
        def state_dict(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_model(path, Broken())
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_failure_during_write_removes_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save_model(path, TinyNet())
    before = path.read_bytes()

    def failing_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        save_model(path, TinyNet(seed=5))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


# --------------------------------------------------------------------------- pickles are refused
class MarkerPayload:
    """Unpickling this calls open(marker, 'w'), which creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickle_file(path, marker, tmp_path):
    """A file with a valid layerprop header whose model array is a pickled MarkerPayload."""
    good = tmp_path / "good.npz"
    save_model(good, TinyNet())
    header = read_model_file(good)[0]
    payload = np.array([MarkerPayload(marker)], dtype=object)
    write_npz(path, header, **{"model/W1": payload})


def test_marker_payload_really_runs_when_unpickled(tmp_path):
    # sanity check of the test's own mechanism: with pickle allowed, loading creates the marker
    marker = tmp_path / "marker_control"
    path = tmp_path / "control.npz"
    _pickle_file(path, marker, tmp_path)
    with np.load(path, allow_pickle=True) as npz:
        npz["model/W1"]
    assert marker.exists()


def test_pickled_object_refused_without_running_it(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.npz"
    _pickle_file(path, marker, tmp_path)
    with pytest.raises(ModelFileError, match="pickle") as info:
        load_model(path, factory)
    assert str(path) in str(info.value)
    with pytest.raises(ModelFileError, match="pickle"):
        read_model_file(path)
    assert not marker.exists()


def test_plain_pickle_file_refused(tmp_path):
    import pickle

    marker = tmp_path / "marker"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(MarkerPayload(marker)))
    with pytest.raises(ModelFileError, match="not a layerprop model file"):
        load_model(path, factory)
    assert not marker.exists()


def test_pickled_header_refused(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.npz"
    with open(path, "wb") as f:
        np.savez(f, __header__=np.array([MarkerPayload(marker)], dtype=object))
    with pytest.raises(ModelFileError, match="pickle"):
        read_model_file(path)
    assert not marker.exists()


# ------------------------------------------------------------------------- damaged, foreign files
@pytest.fixture
def good_file(tmp_path):
    net, opt = trained()
    path = tmp_path / "model.npz"
    save_model(path, net, opt, history={"loss": [1.0]})
    return path


@pytest.mark.parametrize("keep", [0, 3, 30, 0.5, -1, -30])
def test_truncated_file(good_file, keep):
    data = good_file.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep % len(data) if keep < 0 else keep
    good_file.write_bytes(data[:n])
    with pytest.raises(ModelFileError) as info:
        load_model(good_file, factory)
    assert str(good_file) in str(info.value)


def test_corrupted_bytes(good_file):
    data = bytearray(good_file.read_bytes())
    # flip bytes inside the stored data of W1 (the archive is not compressed)
    start = data.find(read_model_file(good_file)[1]["W1"].tobytes())
    assert start > 0
    for i in range(start, start + 8):
        data[i] ^= 0xFF
    good_file.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="damaged.*CRC"):
        read_model_file(good_file)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    with pytest.raises(ModelFileError, match="noise.npz"):
        load_model(path, factory)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError):
        read_model_file(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_model_file(tmp_path / "nope.npz")


def test_npy_file(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.ones(3))
    with pytest.raises(ModelFileError, match=".npy"):
        read_model_file(path)


def test_plain_npz_without_header(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, W1=np.ones((3, 2)))
    with pytest.raises(ModelFileError, match="__header__"):
        load_model(path, factory)


def _header_of(path):
    return read_model_file(path)[0]


def test_header_not_json(tmp_path, good_file):
    path = tmp_path / "bad.npz"
    write_npz(path, b"{not json", **{"model/W1": np.ones((3, 2), np.float32)})
    with pytest.raises(ModelFileError, match="JSON"):
        read_model_file(path)
    write_npz(path, b"\xff\xfe\x00", **{"model/W1": np.ones((3, 2), np.float32)})
    with pytest.raises(ModelFileError, match="JSON"):
        read_model_file(path)
    write_npz(path, b"[1, 2]")
    with pytest.raises(ModelFileError, match="object"):
        read_model_file(path)


def test_header_wrong_dtype(tmp_path):
    path = tmp_path / "bad.npz"
    with open(path, "wb") as f:
        np.savez(f, __header__=np.arange(4.0))
    with pytest.raises(ModelFileError, match="uint8"):
        read_model_file(path)


def _arrays_of(path):
    _, model_arrays, optim_arrays = read_model_file(path)
    out = {f"model/{k}": v for k, v in model_arrays.items()}
    out.update({f"optim/{k}": v for k, v in optim_arrays.items()})
    return out


def test_wrong_format_name(tmp_path, good_file):
    header = {**_header_of(good_file), "format": "someone-else"}
    path = tmp_path / "foreign.npz"
    write_npz(path, header, **_arrays_of(good_file))
    with pytest.raises(ModelFileError, match="someone-else"):
        load_model(path, factory)


def test_newer_format_version(tmp_path, good_file):
    header = {**_header_of(good_file), "format_version": FORMAT_VERSION + 1}
    path = tmp_path / "future.npz"
    write_npz(path, header, **_arrays_of(good_file))
    with pytest.raises(ModelFileError, match="newer"):
        load_model(path, factory)


def test_array_listed_in_header_but_missing(tmp_path, good_file):
    arrays = _arrays_of(good_file)
    del arrays["model/b1"]
    path = tmp_path / "missing.npz"
    write_npz(path, _header_of(good_file), **arrays)
    with pytest.raises(ModelFileError, match="'model/b1'"):
        read_model_file(path)


def test_array_shape_differs_from_header(tmp_path, good_file):
    arrays = _arrays_of(good_file)
    arrays["model/W1"] = np.ones((2, 2), np.float32)
    path = tmp_path / "reshaped.npz"
    write_npz(path, _header_of(good_file), **arrays)
    with pytest.raises(ModelFileError, match="model/W1"):
        read_model_file(path)


def test_load_state_dict_mismatch_reported(tmp_path, good_file):
    # the file is self-consistent, but the config says a bigger network than the arrays fit
    header = _header_of(good_file)
    header["model_config"]["sizes"] = [4, 2]
    path = tmp_path / "mismatch.npz"
    write_npz(path, header, **_arrays_of(good_file))
    with pytest.raises(ModelFileError, match="'W1'") as info:
        load_model(path, factory)
    assert str(path) in str(info.value)

    # an array the network needs is absent altogether (and the header agrees it is absent)
    arrays = _arrays_of(good_file)
    del arrays["model/bn1/running_mean"]
    header = _header_of(good_file)
    del header["arrays"]["model/bn1/running_mean"]
    write_npz(path, header, **arrays)
    with pytest.raises(ModelFileError, match="bn1/running_mean"):
        load_model(path, factory)


def test_factory_failure_reported(good_file):
    def picky_factory(config):
        raise ValueError(f"unknown network class {config['class']!r}")

    with pytest.raises(ModelFileError, match="TinyNet"):
        load_model(good_file, picky_factory)


def test_bad_optimizer_state_reported(tmp_path, good_file):
    header = _header_of(good_file)
    header["optimizer_config"]["name"] = "lbfgs"
    path = tmp_path / "opt.npz"
    write_npz(path, header, **_arrays_of(good_file))
    with pytest.raises(ModelFileError, match="lbfgs"):
        load_model(path, factory)


def test_forged_array_size_refused(tmp_path, good_file):
    # an entry whose .npy header claims 10**12 float64s but holds a few bytes: refused before
    # NumPy tries to allocate 8 TB
    buf = stdlib_io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    buf.write(b"\x00" * 16)
    path = tmp_path / "forged.npz"
    write_npz(path, _header_of(good_file), **_arrays_of(good_file))
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("model/huge.npy", buf.getvalue())
    with pytest.raises(ModelFileError, match="model/huge"):
        read_model_file(path)


def test_unexpected_entry_refused(tmp_path, good_file):
    path = tmp_path / "extra.npz"
    write_npz(path, _header_of(good_file), **_arrays_of(good_file), stray=np.ones(2))
    with pytest.raises(ModelFileError, match="stray"):
        read_model_file(path)

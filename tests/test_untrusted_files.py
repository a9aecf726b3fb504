"""Untrusted model and IDX files (issue 8, items 3, 7 and 9): every declared size is checked
against what the file holds before memory is allocated, and every bad file gets the project's own
error naming the file, what was expected and what came. Memory is measured in child processes."""

from __future__ import annotations

import gzip
import io
import json
import math
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import hostile_helpers as hostile
import numpy as np
import pytest
from hostile_helpers import cli_child

from layerprop.datasets import known, read_idx, write_idx
from layerprop.errors import DataFileError, LayerpropError, ModelFileError
from layerprop.io import load_model, read_model_file, save_model
from layerprop.layers import Affine, Relu
from layerprop.nets import MultiLayerNetExtend, Sequential

SRC = str(Path(__file__).resolve().parents[1] / "src")


# --------------------------------------------------------------------------- helpers
def batchnorm_net():
    net = MultiLayerNetExtend(784, [50], 10, use_batchnorm=True, dtype="float32", seed=0)
    net.predict(np.random.default_rng(0).random((8, 784), dtype=np.float32), train_flg=True)  # fills the buffers
    return net


@pytest.fixture
def good_model(tmp_path):
    return save_model(tmp_path / "good.npz", batchnorm_net())


def contents(path):
    """(header dict, {entry name: array}) of a model file, read without layerprop."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    header = json.loads(arrays.pop("__header__").tobytes())
    return header, arrays


def write(path, header, arrays, *, listed=True):
    """Write a model file from parts; ``listed`` updates the header's listing to the arrays."""
    if listed:
        header = {**header, "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.str} for k, a in arrays.items()}}
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, __header__=raw, **arrays)
    return path


def child_peak_kb(code: str, *args) -> tuple[int, str]:
    """Run ``code`` in a fresh interpreter; return its peak RSS (KB) and its stderr."""
    script = textwrap.dedent(code) + "\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    proc = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1]), proc.stderr


LOAD = """
    import sys
    from layerprop.io import load_model
    from layerprop.errors import ModelFileError
    try:
        load_model(sys.argv[1])
    except ModelFileError as error:
        print(error, file=sys.stderr)
"""


# --------------------------------------------------------------------------- item 3: bounded memory
@pytest.mark.parametrize("hidden", [200_000, 10**9])
def test_forged_hidden_size_costs_no_memory(tmp_path, good_model, hidden):
    header, arrays = contents(good_model)
    header["model_config"]["hidden_size_list"] = [hidden]
    forged = write(tmp_path / "forged.npz", header, arrays, listed=False)
    with pytest.raises(ModelFileError, match="parameter values") as caught:
        load_model(forged)
    assert str(forged) in str(caught.value) and "MultiLayerNetExtend" in str(caught.value)
    forged_peak, message = child_peak_kb(LOAD, forged)
    good_peak, _ = child_peak_kb(LOAD, good_model)
    assert "parameter values" in message
    assert forged_peak - good_peak < 50_000  # KB; [200000] used to reach 1.8 GB


def test_unlisted_deflated_entry_is_not_inflated(tmp_path, good_model):
    """A small file with a 512 MB deflated entry that the header does not list."""
    path = tmp_path / "bomb.npz"
    path.write_bytes(good_model.read_bytes())
    block = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.uint8))
    block["shape"] = (512 << 20,)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("model/stray.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, block)
            zeros = bytes(1 << 20)
            for _ in range(512):
                member.write(zeros)
    assert path.stat().st_size < 10 << 20
    with pytest.raises(ModelFileError) as caught:
        read_model_file(path)
    assert str(path) in str(caught.value)
    bomb_peak, message = child_peak_kb(LOAD, path)
    good_peak, _ = child_peak_kb(LOAD, good_model)
    assert "stray" in message or "decompress" in message
    assert bomb_peak - good_peak < 50_000  # KB: nothing was inflated


def test_listed_entry_inflating_too_much_is_refused(tmp_path, good_model):
    header, arrays = contents(good_model)
    arrays["model/W1"] = np.zeros((784, 120_000), np.float32)  # 376 MB of zeros, listed and "valid"
    path = tmp_path / "zeros.npz"
    header = {**header, "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.str} for k, a in arrays.items()}}
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(path, "wb") as handle:
        np.savez_compressed(handle, __header__=raw, **arrays)
    del arrays
    assert path.stat().st_size < 10 << 20
    with pytest.raises(ModelFileError, match="decompress to"):
        read_model_file(path)


def test_duplicate_entry_names_refused(tmp_path, good_model):
    path = tmp_path / "dup.npz"
    path.write_bytes(good_model.read_bytes())
    _, arrays = contents(good_model)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros_like(arrays["model/W1"]))
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "a") as archive:
        archive.writestr("model/W1.npy", buffer.getvalue())
    with pytest.raises(ModelFileError, match="several entries named") as caught:
        load_model(path)
    assert "model/W1.npy" in str(caught.value)


# --------------------------------------------------------------------------- items 7 and 9: one clear error
@pytest.mark.parametrize(
    "change, expected",
    [
        ({"hidden_size_list": [float("inf")]}, "hidden_size_list"),
        ({"hidden_size_list": [0]}, "at least 1"),
        ({"hidden_size_list": [-5]}, "at least 1"),
        ({"input_size": 0}, "input_size"),
        ({"output_size": 1e300}, "output_size"),
        ({"hidden_size_list": 7}, "hidden_size_list"),
        ({"activation": {"a": 1}}, "activation"),
        ({"dtype": "int8"}, "dtype"),
    ],
)
def test_bad_config_values(tmp_path, good_model, change, expected):
    header, arrays = contents(good_model)
    header["model_config"].update(change)
    path = write(tmp_path / "bad.npz", header, arrays, listed=False)
    with pytest.raises(ModelFileError, match=expected) as caught:
        load_model(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("layer", [3, None, "Relu", [1, 2]])
def test_sequential_with_a_non_dict_layer(tmp_path, layer):
    rng = np.random.default_rng(0)
    net = Sequential([Affine(rng.random((4, 3)), np.zeros(3)), Relu()])
    header, arrays = contents(save_model(tmp_path / "seq.npz", net))
    header["model_config"]["layers"][1] = layer
    path = write(tmp_path / "bad.npz", header, arrays, listed=False)
    with pytest.raises(ModelFileError, match="layer") as caught:
        load_model(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.float16, np.uint8])
def test_non_float_weights_refused_not_cast(tmp_path, good_model, dtype):
    header, arrays = contents(good_model)
    arrays["model/W2"] = arrays["model/W2"].astype(dtype)
    path = write(tmp_path / "cast.npz", header, arrays)
    with pytest.raises(ModelFileError, match="model/W2") as caught:
        load_model(path)
    assert np.dtype(dtype).name in str(caught.value) and "float32" in str(caught.value)


def test_float64_weights_in_a_float32_model_refused(tmp_path, good_model):
    header, arrays = contents(good_model)
    arrays["model/W1"] = arrays["model/W1"].astype(np.float64)
    path = write(tmp_path / "mixed.npz", header, arrays)
    with pytest.raises(ModelFileError, match="header says the model is float32"):
        load_model(path)


def test_extra_array_refused(tmp_path, good_model):
    header, arrays = contents(good_model)
    arrays["model/W9"] = np.zeros((3, 3), np.float32)
    path = write(tmp_path / "extra.npz", header, arrays)
    with pytest.raises(ModelFileError, match="does not have: \\['model/W9'\\]"):
        load_model(path)


def test_missing_batchnorm_buffer_refused(tmp_path, good_model):
    header, arrays = contents(good_model)
    del arrays["model/BatchNorm1.running_var"]
    path = write(tmp_path / "partial.npz", header, arrays)
    with pytest.raises(ModelFileError, match="BatchNorm1.running_var"):
        load_model(path)


def test_network_saved_before_any_forward_pass_loads(tmp_path):
    """No buffers at all is a network that never ran: it loads."""
    net = MultiLayerNetExtend(784, [50], 10, use_batchnorm=True, dtype="float32", seed=0)
    loaded = load_model(save_model(tmp_path / "fresh.npz", net)).model
    np.testing.assert_array_equal(loaded.params["W1"], net.params["W1"])


def test_batchnorm_buffer_of_the_wrong_shape_refused_on_load(tmp_path, good_model):
    header, arrays = contents(good_model)
    arrays["model/BatchNorm1.running_mean"] = np.zeros(7, np.float32)
    path = write(tmp_path / "bn.npz", header, arrays)
    with pytest.raises(ModelFileError, match="running_mean") as caught:
        load_model(path)
    assert "(50,)" in str(caught.value) and "(7,)" in str(caught.value)


def test_round_trip_still_exact(tmp_path, good_model):
    net = batchnorm_net()
    loaded = load_model(good_model).model
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], value)


# --------------------------------------------------------------------------- evaluate / predict
def test_evaluate_refuses_a_20_class_model(tmp_path, capsys):
    from layerprop.cli import main

    net = MultiLayerNetExtend(784, [20], 20, dtype="float32", seed=0)
    path = save_model(tmp_path / "twenty.npz", net)
    assert main(["evaluate", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "20 outputs" in err and "10 classes" in err


def test_evaluate_refuses_a_model_with_another_input_size(tmp_path, capsys):
    from layerprop.cli import main

    path = save_model(tmp_path / "small.npz", MultiLayerNetExtend(100, [20], 10, dtype="float32", seed=0))
    assert main(["evaluate", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "(784,)" in err


def test_evaluate_warns_about_another_data_set(tmp_path, capsys):
    from layerprop.cli import main

    net = MultiLayerNetExtend(784, [20], 10, dtype="float32", seed=0)
    path = save_model(tmp_path / "fashion.npz", net, metadata={"run": {"dataset": "fashion-mnist"}})
    assert main(["evaluate", str(path), "--dataset", "mnist"]) == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "trained on fashion-mnist" in captured.err
    assert "test accuracy" in captured.out


# --------------------------------------------------------------------------- IDX headers
def idx_header(code, shape):
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


@pytest.mark.parametrize("ndim", [0, 33, 70, 255])
def test_idx_dimension_count(tmp_path, ndim):
    path = tmp_path / "dims.idx"
    path.write_bytes(idx_header(0x08, (1,) * ndim) + b"\0")
    with pytest.raises(DataFileError, match=f"1 to 32 dimensions, found {ndim}") as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_idx_zero_dimension(tmp_path):
    path = tmp_path / "zero.idx"
    path.write_bytes(idx_header(0x08, (0, 2**32 - 1, 2**32 - 1)))
    with pytest.raises(DataFileError, match="besides the zero ones"):
        read_idx(path)
    write_idx(path, np.zeros((0, 28, 28), np.uint8))  # an honest empty array still reads
    assert read_idx(path).shape == (0, 28, 28)


def test_idx_size_cap(tmp_path):
    """A genuine gzip of zeros that inflates beyond the cap is refused from its header."""
    from layerprop.datasets.idx import MAX_DATA_BYTES, read_idx_with_md5

    path = write_idx(tmp_path / "zeros.idx.gz", np.zeros((3, 1000, 1000), np.uint8))
    assert path.stat().st_size < 10_000 and MAX_DATA_BYTES >= 1 << 30
    with pytest.raises(DataFileError, match="more than the 1000000 bytes accepted"):
        read_idx_with_md5(path, want_md5=False, max_bytes=1_000_000)
    assert read_idx(path).shape == (3, 1000, 1000)


def test_gz_declaring_1_5e9_items_fails_fast(tmp_path):
    """A 1.5 MB .gz in --data-dir that declares 1.5e9 bytes of images: refused from its header
    (it is not Fashion-MNIST's shape) before anything is decompressed."""
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(idx_header(0x08, (1_913_265, 28, 28)))  # 1.5e9 pixels
        zeros = bytes(1 << 20)
        for _ in range(1500):
            handle.write(zeros)
    assert path.stat().st_size < 2 << 20
    spec = known.IdxFileSpec("train-images", "train-images-idx3-ubyte", (60000, 28, 28), "0" * 32, 47_040_016)
    with pytest.raises(DataFileError, match="expected shape \\(60000, 28, 28\\)") as caught:
        known.read_verified(path, spec)
    assert str(path) in str(caught.value) and "(1913265, 28, 28)" in str(caught.value)
    peak, message = child_peak_kb(
        """
        import sys
        from layerprop.datasets import known
        from layerprop.errors import DataFileError
        spec = known.IdxFileSpec("train-images", "train-images-idx3-ubyte", (60000, 28, 28), "0" * 32, 47_040_016)
        try:
            known.read_verified(sys.argv[1], spec)
        except DataFileError as error:
            print(error, file=sys.stderr)
        """,
        path,
    )
    baseline, _ = child_peak_kb("import layerprop.datasets.known")
    assert "wrong content" in message and peak - baseline < 50_000  # KB


def test_project_errors_are_the_builtin_kinds():
    assert issubclass(ModelFileError, ValueError) and issubclass(DataFileError, ValueError)
    assert issubclass(ModelFileError, LayerpropError) and math.isfinite(1.0)


@pytest.mark.parametrize("field, value", [("size", 10**9), ("shape", [784, 10**9])])
def test_forged_sequential_sizes_refused_before_allocating(tmp_path, field, value):
    from layerprop.layers import BatchNormalization

    rng = np.random.default_rng(0)
    net = Sequential([Affine(rng.random((784, 5)), np.zeros(5)), BatchNormalization(np.ones(5), np.zeros(5))])
    header, arrays = contents(save_model(tmp_path / "seq.npz", net))
    layer = 1 if field == "size" else 0
    header["model_config"]["layers"][layer][field] = value
    path = write(tmp_path / "forged.npz", header, arrays, listed=False)
    with pytest.raises(ModelFileError, match="parameter values") as caught:
        load_model(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"input_dim": [1, float("inf"), 28]}, "input_dim\\[1\\]"),
        ({"input_dim": 5}, "input_dim"),
        ({"conv_param": {"filter_num": 4, "filter_size": 0, "pad": 0, "stride": 1}}, "filter_size"),
        ({"conv_param": {"filter_num": 4, "filter_size": 3, "pad": -1, "stride": 1}}, "pad"),
        ({"hidden_size": -3}, "hidden_size"),
        ({"output_size": float("nan")}, "output_size"),
    ],
)
def test_bad_convnet_config_values(tmp_path, change, expected):
    from layerprop.nets import SimpleConvNet

    net = SimpleConvNet(
        conv_param={"filter_num": 4, "filter_size": 3, "pad": 0, "stride": 1}, hidden_size=8, dtype="float32", seed=0
    )
    header, arrays = contents(save_model(tmp_path / "conv.npz", net))
    header["model_config"].update(change)
    path = write(tmp_path / "bad.npz", header, arrays, listed=False)
    with pytest.raises(ModelFileError, match=expected) as caught:
        load_model(path)
    assert str(path) in str(caught.value)


def test_oversized_header_refused(tmp_path, good_model, monkeypatch):
    from layerprop.io import model_file as model_io

    monkeypatch.setattr(model_io, "MAX_HEADER_BYTES", 100)
    with pytest.raises(ModelFileError, match="at most 100 are accepted"):
        load_model(good_model)


# --------------------------------------------------------------------------- issue 17, item 5: model files
CRAFTED_MODELS = {
    "84,000 units (263 MB declared)": hostile.wide_model_file,
    "6000 layers of 60 (88 MB declared)": hostile.deep_model_file,
    "a 16 MB JSON header of empty lists": hostile.padded_header_model_file,
}


@pytest.fixture(scope="module")
def crafted_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crafted-models")
    made = {name: make(folder / f"{i}.npz") for i, (name, make) in enumerate(CRAFTED_MODELS.items())}
    junk = folder / "junk.npz"
    junk.write_bytes(b"not a zip")
    return made, junk


@pytest.mark.parametrize("command", ["evaluate", "graph", "export"])
@pytest.mark.parametrize("name", list(CRAFTED_MODELS))
def test_crafted_model_files_are_refused_before_allocating(tmp_path, crafted_models, name, command):
    """Before: 1.2 GB to evaluate, 2.3 GB to draw, 1.6 GB to export the 84,000-unit file; 2.1 GB
    and > 120 s for the 6000-layer one; 666 MB for the padded header. Now each is refused from
    the zip directory or the header's size, with one line, at the memory of refusing junk."""
    made, junk = crafted_models
    path = made[name]
    assert path.stat().st_size < 10 << 20

    def argv(model):
        if command == "graph":
            return ["graph", "--model", model, "-o", tmp_path / "drawing.html"]
        return [command, model, "-o", tmp_path / "model.onnx"] if command == "export" else [command, model]

    result = cli_child(*argv(path))
    baseline = cli_child(*argv(junk))
    err = result["err"].strip()
    assert result["rc"] == 1 and len(err.splitlines()) == 1 and str(path) in err, err[:500]
    assert "decompress" in err or "parsing the header" in err
    assert result["peak_kb"] - baseline["peak_kb"] < 60_000  # KB


def test_header_parse_cost_is_bounded_before_parsing(tmp_path, monkeypatch):
    from layerprop.storage.inputs import json_parse_cost

    assert json_parse_cost(b"[" + b"[]," * 1000 + b"[]]") > 25 * 3000  # empty lists cost far more than their text
    floats = json.dumps([0.123456789] * 1000).encode()
    assert json_parse_cost(floats) < 10 * len(floats)  # a history of floats does not
    from layerprop.io import model_file as model_io

    path = hostile.padded_header_model_file(tmp_path / "padded.npz", pad_bytes=1 << 20)  # costs ~60 MB parsed
    monkeypatch.setattr(model_io, "MAX_HEADER_MEMORY", 16 << 20)
    with pytest.raises(ModelFileError, match="parsing the header"):
        read_model_file(path)
    monkeypatch.setattr(model_io, "MAX_HEADER_MEMORY", 1 << 30)
    assert read_model_file(path)[0]["metadata"]["junk"][0] == []


@pytest.fixture(scope="module")
def huge_activation_model(tmp_path_factory):
    """A SimpleConvNet of 25,000 filters of 1×1 and one hidden unit, its weights compressed (a
    small file: zeros): one sample's forward pass would take 78 MB of feature maps (a batch of
    1000, 78 GB)."""
    from layerprop.nets import SimpleConvNet

    conv = {"filter_num": 25_000, "filter_size": 1, "pad": 0, "stride": 1}
    net = SimpleConvNet(conv_param=conv, hidden_size=1, dtype="float32", seed=0)
    for array in net.params.values():
        array[...] = 0
    path = tmp_path_factory.mktemp("huge") / "huge.npz"
    save_model(path, net, metadata={"run": {"dataset": "mnist"}}, compress=True)
    assert path.stat().st_size < 1 << 20
    return path


def test_evaluate_refuses_a_forward_pass_beyond_the_budget(tmp_path, huge_activation_model):
    small = save_model(tmp_path / "small.npz", MultiLayerNetExtend(784, [20], 10, dtype="float32", seed=0))
    result = cli_child("evaluate", huge_activation_model)
    baseline = cli_child("evaluate", small)
    err = result["err"].strip()
    assert result["rc"] == 1 and len(err.splitlines()) == 1 and "forward pass of one sample" in err, err[:500]
    assert baseline["rc"] == 0 and result["peak_kb"] - baseline["peak_kb"] < 60_000  # KB


def test_drawing_refuses_a_forward_pass_beyond_the_budget(huge_activation_model):
    from layerprop.errors import MemoryBudgetError
    from layerprop.viz import build_model

    net = load_model(huge_activation_model).model
    with pytest.raises(MemoryBudgetError, match="drawing this network"):
        build_model(net, x=np.zeros((2, 1, 28, 28), np.float32))


def test_evaluate_batches_within_the_budget_give_the_same_predictions(monkeypatch, mnist_data):
    """A deep network is evaluated in batches sized by the forward budget: the same scores as in one batch."""
    from layerprop.cli.common import checked_scores
    from layerprop.nets import memory

    _, (x_test, _) = mnist_data
    net = MultiLayerNetExtend(784, [16] * 50, 10, dtype="float32", seed=0)
    whole = net.predict(x_test[:600])
    per_sample = memory.forward_bytes(net, (784,))
    monkeypatch.setattr(memory, "FORWARD_BUDGET", per_sample * 64)
    assert memory.batch_size_within(net, (784,), memory.FORWARD_BUDGET) == 64
    calls = []
    original = net.predict
    monkeypatch.setattr(net, "predict", lambda x: calls.append(len(x)) or original(x))
    monkeypatch.setattr(memory, "batch_size_within", lambda *a, **k: 64)
    # (float32 matrix products may round the last bit differently for another batch size)
    np.testing.assert_allclose(checked_scores(net, x_test[:600], "m.npz", "mnist", 10), whole, rtol=1e-4, atol=1e-6)
    assert calls[0] == 1 and max(calls[1:]) == 64 and sum(calls[1:]) == 600


def test_forward_estimate_is_above_what_a_forward_pass_takes():
    """The budget's estimate is an upper bound of the arrays a forward pass allocates (measured
    with tracemalloc, which sees NumPy's allocations)."""
    import tracemalloc

    from layerprop.nets import SimpleConvNet
    from layerprop.nets.memory import forward_bytes

    for net, shape in (
        (MultiLayerNetExtend(784, [300, 300], 10, use_batchnorm=True, dtype="float32", seed=0), (784,)),
        (SimpleConvNet(dtype="float32", seed=0), (1, 28, 28)),
    ):
        x = np.random.default_rng(0).random((200, *shape)).astype(np.float32)
        net.predict(x[:2])
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        net.predict(x)
        peak = tracemalloc.get_traced_memory()[1] - start
        tracemalloc.stop()
        assert peak <= forward_bytes(net, shape) * len(x), type(net).__name__


def test_config_values_are_quoted_within_bounds(tmp_path, good_model):
    header, arrays = contents(good_model)
    header["model_config"]["hidden_size_list"] = ["x" * 1_000_000]
    header["model_config"]["activation"] = "y\n" * 100_000
    path = write(tmp_path / "long.npz", header, arrays, listed=False)
    with pytest.raises(ModelFileError, match="hidden_size_list") as caught:
        load_model(path)
    assert len(str(caught.value)) < 800 and "\n" not in str(caught.value)
    header["model_config"]["class"] = "Net\n" * 100_000
    path = write(tmp_path / "class.npz", header, arrays, listed=False)
    with pytest.raises(ModelFileError, match="unknown network class") as caught:
        load_model(path)
    assert len(str(caught.value)) < 800 and "\n" not in str(caught.value)

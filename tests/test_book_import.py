"""The book's weight pickles: hostile files refused without running anything, real files imported exactly.

The real files (ch03_sample_weight.pkl, ch07_params.pkl, ch08_deep_convnet_params.pkl) are looked up
in ``$LAYERPROP_BOOK_DIR`` or a ``shared/data/book`` folder beside the repository (or above it).
Their predictions are checked against the book's forward pass written here again with plain NumPy.
"""

from __future__ import annotations

import copyreg
import hashlib
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import hostile_helpers as hostile
import numpy as np
import pytest
from hostile_helpers import cli_child

from layerprop.cli import main
from layerprop.errors import ArgumentError, ModelFileError, ShapeError, UnsafePickleError
from layerprop.interop.book_import import import_book, import_book_weights
from layerprop.io.book_pickle import load_book_pickle, scan_pickle

REPO = Path(__file__).resolve().parent.parent
BOOK_FILES = {  # file → (--model, MD5 from shared/data/book/README.md, accuracy the book's code gives)
    "ch03_sample_weight.pkl": ("ch03", "6aaf4fbaa5b675aae4fc669115b10e4f", 0.9352),
    "ch07_params.pkl": ("simpleconvnet", "5f06676ce1363d33c8c7e44159f8f1eb", 0.9600),
    "ch08_deep_convnet_params.pkl": ("deepconvnet", "cf2293a7e714709740a217ea3b44323b", 0.9797),
}


def _book_dir():
    candidates = [os.environ.get("LAYERPROP_BOOK_DIR")] + [str(p / "shared" / "data" / "book") for p in REPO.parents]
    for candidate in candidates:
        if candidate and (Path(candidate) / "ch03_sample_weight.pkl").is_file():
            return Path(candidate)
    return None


BOOK_DIR = _book_dir()
needs_book = pytest.mark.skipif(BOOK_DIR is None, reason="the book's pickles (shared/data/book) are not here")


# --------------------------------------------------------------------------- hostile pickles
class _Payload:
    """Unpickling this with pickle.load runs os.system(command)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _touch(marker: Path) -> str:
    return f"touch {marker}"


def _str(text: str) -> bytes:  # SHORT_BINUNICODE
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def _hostile_pickles(marker: Path) -> dict:
    """name → bytes; each would create ``marker`` (or construct something) if loaded with pickle."""
    cmd = _touch(marker).encode()
    arrays = {"W1": np.ones((2, 2), np.float32)}
    return {
        "reduce os.system (protocol 4)": pickle.dumps(_Payload(_touch(marker)), protocol=4),
        "reduce os.system (protocol 2)": pickle.dumps(_Payload(_touch(marker)), protocol=2),
        "payload nested after a real array": pickle.dumps(
            {**arrays, "b1": (np.zeros(2), _Payload(_touch(marker)))}, protocol=4
        ),
        "payload as a dict key": pickle.dumps({_Payload(_touch(marker)): np.zeros(2)}, protocol=3),
        "payload inside _reconstruct's arguments": (
            b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n"
            + b"cposix\nsystem\nX"
            + struct.pack("<I", len(cmd))
            + cmd
            + b"\x85R"
            + b"K\x00\x85C\x01b\x87R."
        ),
        "STACK_GLOBAL names from the memo": (
            b"\x80\x04"
            + _str("posix")
            + b"\x94"
            + _str("system")
            + b"\x94"
            + b"N"
            + b"h\x00h\x01\x93"
            + _str(_touch(marker))
            + b"\x85R."
        ),
        "STACK_GLOBAL names not pushed just before it": (
            b"\x80\x04" + _str("posix") + b"(" + _str("system") + b"\x93" + _str("x") + b"\x85R."
        ),
        "INST opcode (protocol 0)": b"(S'" + cmd + b"'\nios\nsystem\n.",
        "OBJ opcode": b"\x80\x02(cos\nsystem\nX" + struct.pack("<I", len(cmd)) + cmd + b"o.",
        "NEWOBJ opcode": b"\x80\x02cnumpy\nndarray\nK\x02\x85\x81.",
        "extension registry (EXT1)": b"\x80\x02\x82\xf1X" + struct.pack("<I", len(cmd)) + cmd + b"\x85R.",
        "builtins.eval": pickle.dumps(_Eval(f"__import__('os').system({_touch(marker)!r})"), protocol=4),
        "dotted name on an allowed module": b"\x80\x04" + _str("numpy") + _str("dtype.mro") + b"\x93)R.",
        "numpy global outside the list": b"\x80\x02cnumpy\nload\nX\x01\x00\x00\x00f\x85R.",
        "persistent id": b"\x80\x02X\x01\x00\x00\x00pQ.",
        "protocol 0": b"(dp0\n.",
        "out-of-band buffer": b"\x80\x05\x97.",
    }


class _Eval:
    def __init__(self, source):
        self.source = source

    def __reduce__(self):
        return (eval, (self.source,))


EXT_CODE = 0xF1  # the extension code the EXT1 payload uses


def test_the_hostile_payloads_are_live(tmp_path):
    """Proof that the payloads below are real: plain pickle.loads runs them and creates the markers."""
    names = list(_hostile_pickles(tmp_path / "x"))
    live = [
        "reduce os.system (protocol 4)",
        "reduce os.system (protocol 2)",
        "payload nested after a real array",
        "payload as a dict key",
        "payload inside _reconstruct's arguments",
        "STACK_GLOBAL names from the memo",
        "INST opcode (protocol 0)",
        "OBJ opcode",
        "extension registry (EXT1)",
        "builtins.eval",
    ]
    script = textwrap.dedent(f"""
        import copyreg, pickle, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import test_book_import as t
        from pathlib import Path
        copyreg.add_extension("posix", "system", {EXT_CODE})
        for i, name in enumerate({names!r}):
            data = t._hostile_pickles(Path({str(tmp_path)!r}) / f"marker{{i}}")[name]
            try:
                pickle.loads(data)
            except Exception:
                pass
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, capture_output=True)
    for name in live:
        assert (tmp_path / f"marker{names.index(name)}").exists(), f"{name}: the payload did not run under pickle"


@pytest.mark.parametrize("name", list(_hostile_pickles(Path("x"))))
def test_hostile_pickles_are_refused_and_never_run(tmp_path, name):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pkl"
    path.write_bytes(_hostile_pickles(marker)[name])
    copyreg.add_extension("posix", "system", EXT_CODE)
    try:
        with pytest.raises(UnsafePickleError) as info:
            load_book_pickle(path)
        with pytest.raises(UnsafePickleError):
            import_book_weights(path, "ch03")
    finally:
        copyreg.remove_extension("posix", "system", EXT_CODE)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert not marker.exists(), f"{name}: the payload ran"


def test_refusal_happens_before_anything_is_built(monkeypatch, tmp_path):
    """A disallowed opcode late in the file stops the load before the unpickler constructs anything."""
    data = pickle.dumps({"W1": np.ones(3), "evil": _Payload("true")}, protocol=4)
    calls = []
    monkeypatch.setattr("layerprop.io.book_pickle.BookUnpickler.load", lambda self: calls.append(1))
    with pytest.raises(UnsafePickleError, match="posix.system|os.system|nt.system"):
        scan_pickle(data)
    path = tmp_path / "late.pkl"
    path.write_bytes(data)
    with pytest.raises(UnsafePickleError):
        load_book_pickle(path)
    assert calls == []


def _array_pickle(shape_ops: bytes, raw: bytes, dtype=b"f8", proto=b"\x80\x02") -> bytes:
    """A protocol-2 pickle of {'W': array} whose shape and bytes are given directly."""
    return (
        proto
        + b"}X\x01\x00\x00\x00W"
        + b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        + b"K\x00\x85C\x01b\x87R"
        + b"(K\x01"
        + shape_ops
        + b"cnumpy\ndtype\nX"
        + struct.pack("<I", len(dtype))
        + dtype
        + b"\x89\x88\x87R(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
        + b"\x89B"
        + struct.pack("<I", len(raw))
        + raw
        + b"tbs."
    )


def test_the_hand_made_array_pickle_is_valid(tmp_path):
    path = tmp_path / "ok.pkl"
    path.write_bytes(_array_pickle(b"K\x02K\x02\x86", np.arange(4.0).tobytes()))
    assert np.array_equal(pickle.loads(path.read_bytes())["W"], np.arange(4.0).reshape(2, 2))
    assert np.array_equal(load_book_pickle(path)["W"], np.arange(4.0).reshape(2, 2))


@pytest.mark.parametrize(
    "data, expected",
    [
        (_array_pickle(b"J\x00\xca\x9a;J\x00\xca\x9a;\x86", b"\0" * 32), "holds 32 bytes"),  # (1e9, 1e9) declared
        (_array_pickle(b"\x8a\x09" + b"\xff" * 8 + b"\x00\x85", b"\0" * 8), "holds 8 bytes"),  # a 2**72 size (LONG1)
        (_array_pickle(b"K\x02\x85", b"\0" * 16, dtype=b"O8"), "only float arrays"),
        (_array_pickle(b"K\x02\x85", b"\0" * 16, dtype=b"i8"), "only float arrays"),
        (_array_pickle(b"J\xff\xff\xff\xff\x85", b""), "shape must be"),  # a negative size
        (b"\x80\x02B\x00\x00\x00\x7f" + b"\0" * 10 + b".", "not a complete pickle"),  # 2 GB of bytes declared
        (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x10}.", "not a complete pickle"),  # a huge FRAME
        (b"\x80\x02]q\x00.", "opcode EMPTY_LIST"),
        (b"\x80\x02K\x01.", "holds a int"),
        (b"\x80\x02}K\x01K\x02s.", "key of type int"),
        (b"\x80\x02}X\x01\x00\x00\x00WK\x02s.", "not a float array"),
        (b"\x80\x02}.extra", "follow the pickle's STOP"),
        # BUILD may fill arrays and dtypes only: it cannot change the allowed functions or the ndarray stand-in
        (b"\x80\x02cnumpy\ndtype\n}X\x0c\x00\x00\x00__defaults__K\x01sb.", "BUILD applied to numpy.dtype"),
        (b"\x80\x02cnumpy\nndarray\nN}X\x01\x00\x00\x00aK\x01s\x86b.", "BUILD applied to numpy.ndarray"),
    ],
)
def test_malformed_and_oversized_declarations_are_refused(tmp_path, data, expected):
    path = tmp_path / "bad.pkl"
    path.write_bytes(data)
    with pytest.raises(UnsafePickleError, match=expected):
        load_book_pickle(path)


def test_file_size_cap(tmp_path):
    path = tmp_path / "big.pkl"
    path.write_bytes(pickle.dumps({"W1": np.zeros(1000)}, protocol=4))
    with pytest.raises(UnsafePickleError, match="more than the limit of 1000"):
        load_book_pickle(path, max_bytes=1000)
    assert load_book_pickle(path, max_bytes=10_000)["W1"].shape == (1000,)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_numpy_pickles_of_every_protocol_round_trip(tmp_path, protocol):
    arrays = {
        "W": np.arange(6, dtype=np.float32).reshape(2, 3),
        "F": np.asfortranarray(np.ones((3, 2))),
        "big_endian": np.arange(4, dtype=">f8"),
        "half": np.ones(3, np.float16),
    }
    path = tmp_path / "p.pkl"
    path.write_bytes(pickle.dumps(arrays, protocol=protocol))
    loaded = load_book_pickle(path)
    assert set(loaded) == set(arrays)
    for key, value in arrays.items():
        assert np.array_equal(loaded[key], value) and loaded[key].dtype == value.dtype.newbyteorder("=")
        assert loaded[key].flags.c_contiguous and loaded[key].flags.writeable


@pytest.mark.parametrize("protocol", [2, 5])
def test_numpy_1_pickles_with_the_old_module_path_load(tmp_path, protocol):
    """NumPy 1.x names its reconstruction functions numpy.core.*, NumPy 2.x numpy._core.*: both load."""
    data = pickle.dumps({"W": np.arange(3.0)}, protocol=protocol)
    if protocol == 2:
        old = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    else:  # SHORT_BINUNICODE carries its length, FRAME the frame's: both shrink by one byte
        old = data.replace(b"\x8c\x13numpy._core.numeric", b"\x8c\x12numpy.core.numeric")
        frame = struct.unpack("<Q", old[3:11])[0]
        old = old[:3] + struct.pack("<Q", frame - 1) + old[11:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy 2 warns about the numpy.core name
        assert old != data and pickle.loads(old)["W"].tolist() == [0.0, 1.0, 2.0]
    path = tmp_path / "old.pkl"
    path.write_bytes(old)
    assert np.array_equal(load_book_pickle(path)["W"], np.arange(3.0))


def test_truncated_real_shaped_pickle(tmp_path):
    data = pickle.dumps({"W1": np.ones((50, 10)), "b1": np.ones(10)}, protocol=3)
    for cut in (1, 2, len(data) // 3, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.pkl"
        path.write_bytes(data[:cut])
        with pytest.raises(UnsafePickleError, match="not a complete pickle"):
            load_book_pickle(path)


def test_wrong_names_and_shapes_for_the_architecture(tmp_path):
    rng = np.random.default_rng(0)
    good = {
        "W1": rng.random((784, 50)),
        "b1": rng.random(50),
        "W2": rng.random((50, 100)),
        "b2": rng.random(100),
        "W3": rng.random((100, 10)),
        "b3": rng.random(10),
    }
    path = tmp_path / "w.pkl"
    path.write_bytes(pickle.dumps(good))
    net = import_book_weights(path, "ch03")
    assert all(np.array_equal(net.params[k], good[k]) for k in good)
    path.write_bytes(pickle.dumps({**good, "W3": rng.random((10, 100))}))
    with pytest.raises(ShapeError, match=r"'W3' has shape \(10, 100\).*needs \(100, 10\)"):
        import_book_weights(path, "ch03")
    path.write_bytes(pickle.dumps({k: v for k, v in good.items() if k != "b2"}))
    with pytest.raises(ModelFileError, match="missing: b2"):
        import_book_weights(path, "ch03")
    with pytest.raises(ModelFileError, match="missing: W4, W5, W6, W7, W8, b2, b4"):
        import_book_weights(path, "deepconvnet")


def test_cli_refuses_a_hostile_file_with_one_line(tmp_path, capsys):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Payload(_touch(marker))))
    assert main(["import-book", str(path), "--model", "ch03", "-o", str(tmp_path / "m.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not allowed" in err
    assert not marker.exists() and not (tmp_path / "m.npz").exists()
    with pytest.raises(SystemExit) as info:
        main(["import-book", str(tmp_path / "missing.pkl"), "--model", "ch03", "-o", str(tmp_path / "m.npz")])
    assert info.value.code == 2 and "no such file" in capsys.readouterr().err


# --------------------------------------------------------------------------- the real files
def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _conv(x, W, b, pad):
    """The book's Convolution forward (stride 1), computed with a sliding window instead of im2col."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(x, W.shape[2:], axis=(2, 3))  # N, C, OH, OW, FH, FW
    return np.einsum("ncijhw,fchw->nfij", windows, W, optimize=True) + b[None, :, None, None]


def _max_pool(x):
    N, C, H, W = x.shape
    return x.reshape(N, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))


def _book_forward(model, p, x):
    """The book's predict, in plain NumPy: scores for a batch x (flat for ch03, (N, 1, 28, 28) otherwise)."""
    if model == "ch03":
        z1 = _sigmoid(x @ p["W1"] + p["b1"])
        z2 = _sigmoid(z1 @ p["W2"] + p["b2"])
        return z2 @ p["W3"] + p["b3"]
    relu = lambda a: np.maximum(a, 0)  # noqa: E731
    if model == "simpleconvnet":
        h = _max_pool(relu(_conv(x, p["W1"], p["b1"], 0)))
        h = relu(h.reshape(len(h), -1) @ p["W2"] + p["b2"])
        return h @ p["W3"] + p["b3"]
    h = x
    for i, pad in zip(range(1, 7), (1, 1, 1, 2, 1, 1)):
        h = relu(_conv(h, p[f"W{i}"], p[f"b{i}"], pad))
        if i % 2 == 0:
            h = _max_pool(h)
    h = relu(h.reshape(len(h), -1) @ p["W7"] + p["b7"]) * 0.5  # Dropout at inference: × (1 − 0.5)
    return (h @ p["W8"] + p["b8"]) * 0.5


@pytest.fixture(scope="module")
def mnist_images():
    from layerprop.datasets import load_mnist

    _, (x_test, t_test) = load_mnist(normalize=True, flatten=False)
    return x_test, t_test


@needs_book
@pytest.mark.parametrize(
    "filename",
    [
        "ch03_sample_weight.pkl",
        "ch07_params.pkl",
        pytest.param("ch08_deep_convnet_params.pkl", marks=pytest.mark.slow),
    ],
)
def test_real_book_files_reproduce_the_book(tmp_path, mnist_images, filename, capsys):
    model, md5, accuracy = BOOK_FILES[filename]
    source = BOOK_DIR / filename
    assert _md5(source) == md5
    params = load_book_pickle(source)
    # the MD5 says this is the book's known file, so plain pickle may read it here as a cross-check
    reference = pickle.loads(source.read_bytes())
    assert set(params) == set(reference)
    assert all(np.array_equal(params[k], reference[k]) and params[k].dtype == reference[k].dtype for k in params)

    out = import_book(source, model, tmp_path / "model.npz")
    from layerprop.io import load_model

    net = load_model(out).model
    assert net.dtype == reference["W1"].dtype
    x, t = mnist_images
    if model == "ch03":
        x = x.reshape(len(x), -1)
    ours, book = [], []
    for start in range(0, len(x), 1000):
        batch = x[start : start + 1000]
        scores = net.predict(batch)
        expected = _book_forward(model, params, batch)
        np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)
        ours.append(scores.argmax(axis=1))
        book.append(expected.argmax(axis=1))
    ours, book = np.concatenate(ours), np.concatenate(book)
    assert np.array_equal(ours, book), f"{int((ours != book).sum())} of {len(x)} predictions differ"
    assert np.mean(book == t) == pytest.approx(accuracy, abs=5e-5)

    if model != "deepconvnet":  # evaluate reads the imported file (the deep one is covered above)
        assert main(["evaluate", str(out)]) == 0
        assert f"test accuracy: {accuracy:.4f}" in capsys.readouterr().out


@needs_book
def test_cli_import_then_predict_and_graph(tmp_path, capsys):
    out = tmp_path / "ch03.npz"
    assert main(["import-book", str(BOOK_DIR / "ch03_sample_weight.pkl"), "--model", "ch03", "-o", str(out)]) == 0
    assert "ch03" in capsys.readouterr().out and out.exists()
    from layerprop.io import load_model

    loaded = load_model(out)
    assert type(loaded.model).__name__ == "ThreeLayerNet"
    assert loaded.metadata["imported_from"]["md5"] == BOOK_FILES["ch03_sample_weight.pkl"][1]
    html = tmp_path / "ch03.html"
    assert main(["graph", "--model", str(out), "-o", str(html)]) == 0
    assert "Sigmoid1" in html.read_text(encoding="utf-8") and "Affine3" in html.read_text(encoding="utf-8")
    capsys.readouterr()
    png = pytest.importorskip("PIL.Image")
    from layerprop.datasets import load_mnist

    _, (x_test, t_test) = load_mnist(normalize=False, flatten=False)
    image = tmp_path / "digit.png"
    png.fromarray(x_test[0, 0]).save(image)
    assert main(["predict", str(out), str(image)]) == 0
    assert f"{image}: {t_test[0]}" in capsys.readouterr().out


def test_three_layer_net_is_the_book_network_and_has_correct_gradients():
    from layerprop.gradcheck import check_network
    from layerprop.nets import ThreeLayerNet, build_network

    net = ThreeLayerNet(12, (5, 4), 3, seed=0)
    assert list(net.layers) == ["Affine1", "Sigmoid1", "Affine2", "Sigmoid2", "Affine3"]
    assert {k: v.shape for k, v in net.params.items()} == {
        "W1": (12, 5),
        "b1": (5,),
        "W2": (5, 4),
        "b2": (4,),
        "W3": (4, 3),
        "b3": (3,),
    }
    rng = np.random.default_rng(1)
    x, t = rng.random((4, 12)), rng.integers(0, 3, 4)
    assert check_network(net, x, t).max_rel_error < 1e-6
    rebuilt = build_network(net.to_config())
    assert type(rebuilt) is ThreeLayerNet and rebuilt.params["W2"].shape == (5, 4)
    assert ThreeLayerNet(dtype="float32").predict(np.zeros((2, 784), np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="two hidden sizes"):
        ThreeLayerNet(784, (50,), 10)


def test_pickle_module_is_not_used_to_load(tmp_path, monkeypatch):
    """load_book_pickle never calls pickle.load/loads (only the restricted Unpickler)."""

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle.load called")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    path = tmp_path / "ok.pkl"
    path.write_bytes(_array_pickle(b"K\x01\x85", np.ones(1).tobytes()))
    assert load_book_pickle(path)["W"].tolist() == [1.0]


# --------------------------------------------------------------------------- issue 17: bounded walking
def _import_in_child(path, tmp_path):
    """``layerprop import-book PATH`` in a child process: (result dict, the one stderr line)."""
    result = cli_child("import-book", path, "--model", "ch03", "-o", tmp_path / "out.npz", timeout=120)
    return result, result["err"].strip()


CRAFTED = {  # name → (bytes, a word the refusal must hold)
    "tuple DAG as a dict key (2**60 leaves, item 1)": (hostile.tuple_dag_key_pickle(60), "tuple holds"),
    "2**40-leaf shape given to _reconstruct (item 2)": (hostile.reconstruct_message_pickle(40), "tuple holds"),
    "2**40-leaf dtype state (item 2)": (hostile.dtype_state_message_pickle(40), "tuple holds"),
    "1 MB of bytes memoized, made the data of 2000 arrays (item 3)": (
        hostile.shared_bytes_pickle(1 << 20, 2000),
        "more than once",
    ),
    "5 MB of MEMOIZE opcodes (item 3)": (hostile.memoize_flood_pickle(5 << 20), "memo"),
    "a 9 MB global name": (hostile.long_global_pickle(9 << 20), "not allowed"),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_pickles_are_refused_in_bounded_memory(tmp_path, name):
    """Each crafted file is refused with one short line, in a child whose peak memory stays near
    that of refusing a 3-byte junk file (before: hashing without end, 2.1 GB, 2.0 GB, 364 MB, a
    9 MB error line)."""
    data, word = CRAFTED[name]
    path = tmp_path / "crafted.pkl"
    path.write_bytes(data)
    result, err = _import_in_child(path, tmp_path)
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x80\x02.")
    baseline, _ = _import_in_child(junk, tmp_path)
    assert result["rc"] == 1 and len(err.splitlines()) == 1 and word in err, err[:500]
    assert len(err) < 400 and str(path) in err
    assert result["peak_kb"] - baseline["peak_kb"] < 60_000  # KB
    assert not (tmp_path / "out.npz").exists()


def test_memo_shared_bytes_refused_before_the_arrays_are_made(tmp_path):
    path = tmp_path / "shared.pkl"
    path.write_bytes(hostile.shared_bytes_pickle(4096, 3))
    with pytest.raises(UnsafePickleError, match="uses its stored data more than once"):
        load_book_pickle(path)
    path.write_bytes(hostile.shared_bytes_pickle(4096, 1))  # one array: an honest file
    assert load_book_pickle(path)["k0"].shape == (512,)


def test_one_array_under_two_names_is_one_array(tmp_path):
    """An honest pickle of the same array twice memoizes the array, not its bytes: it loads."""
    array = np.arange(1000.0)
    path = tmp_path / "twice.pkl"
    path.write_bytes(pickle.dumps({"W1": array, "W2": array}, protocol=4))
    loaded = load_book_pickle(path)
    assert np.array_equal(loaded["W1"], array) and loaded["W1"] is loaded["W2"]


@pytest.mark.parametrize("depth", [1, 8])
def test_tuple_values_and_nesting_are_bounded(tmp_path, depth):
    from layerprop.io.book_pickle import MAX_DEPTH, MAX_TUPLE_VALUES

    path = tmp_path / "t.pkl"
    wide = b"\x80\x02(" + b"N" * (MAX_TUPLE_VALUES + 1) + b"t."  # one flat tuple of too many values
    deep = b"\x80\x02" + b"N" + b"\x85" * (MAX_DEPTH + 1) + b"."  # ((((None,),),),) too deep
    path.write_bytes(wide if depth == 1 else deep)
    with pytest.raises(UnsafePickleError, match="tuple holds|nested more than"):
        load_book_pickle(path)


def test_nested_marks_are_bounded(tmp_path):
    from layerprop.io.book_pickle import MAX_DEPTH

    path = tmp_path / "marks.pkl"
    path.write_bytes(b"\x80\x02" + b"(" * (MAX_DEPTH + 1) + b"N.")
    with pytest.raises(UnsafePickleError, match="MARKs are nested"):
        load_book_pickle(path)


def test_opcode_count_is_bounded(tmp_path, monkeypatch):
    from layerprop.io import book_pickle

    monkeypatch.setattr(book_pickle, "MAX_OPCODES", 100)
    path = tmp_path / "many.pkl"
    path.write_bytes(b"\x80\x02" + b"N" * 200 + b".")
    with pytest.raises(UnsafePickleError, match="more than 100 opcodes"):
        load_book_pickle(path)


def test_a_global_name_with_a_newline_is_quoted_whole(tmp_path, capsys):
    path = tmp_path / "newline.pkl"
    path.write_bytes(hostile.newline_global_pickle())
    assert main(["import-book", str(path), "--model", "ch03", "-o", str(tmp_path / "m.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'posix.sys\\ntem'" in err and "not allowed" in err


def test_messages_never_format_an_unbounded_value(tmp_path, monkeypatch):
    """The refusal of a 2**30-leaf shape names the tuple in a few characters (repr() would need
    gigabytes); checked with the tuple bound lifted so that the message is reached."""
    from layerprop.io import book_pickle

    path = tmp_path / "shape.pkl"
    path.write_bytes(hostile.reconstruct_message_pickle(30))
    monkeypatch.setattr(book_pickle, "MAX_TUPLE_VALUES", 10**15)
    with pytest.raises(UnsafePickleError, match="_reconstruct must be called") as caught:
        load_book_pickle(path)
    assert len(str(caught.value)) < 300 and "items)" in str(caught.value)


def test_float16_weights_import_as_float32_and_evaluate(tmp_path, capsys):
    """'Also': a float16 book file becomes a float32 model (exactly: float32 holds every float16),
    which evaluate reads (before: import wrote a float16 model that evaluate refused)."""
    path = tmp_path / "half.pkl"
    path.write_bytes(hostile.float16_book_pickle())
    out = tmp_path / "half.npz"
    assert main(["import-book", str(path), "--model", "ch03", "-o", str(out)]) == 0
    from layerprop.io import load_model

    loaded = load_model(out)
    half = load_book_pickle(path)
    assert loaded.model.dtype == np.float32 and loaded.metadata["imported_from"]["stored_dtype"] == ["float16"]
    assert all(np.array_equal(loaded.model.params[k], half[k].astype(np.float32)) for k in half)
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    with pytest.raises(ArgumentError, match="float32 or float64"):
        import_book_weights(path, "ch03", dtype="float16")


def test_extra_names_are_listed_within_bounds(tmp_path):
    rng = np.random.default_rng(0)
    shapes = {"W1": (784, 50), "b1": (50,), "W2": (50, 100), "b2": (100,), "W3": (100, 10), "b3": (10,)}
    arrays = {k: rng.random(s) for k, s in shapes.items()}
    arrays.update({f"extra{i}" + "x" * 1000: np.zeros(1) for i in range(500)})
    path = tmp_path / "extra.pkl"
    path.write_bytes(pickle.dumps(arrays, protocol=4))
    with pytest.raises(ModelFileError, match="not part of it") as caught:
        import_book_weights(path, "ch03")
    assert len(str(caught.value)) < 500 and "500 items" in str(caught.value)

"""Issue 17, item 7: outputs through symbolic links, devices and FIFOs never replaced, inputs that are
not regular files refused before they are read (a FIFO never waited on, /dev/zero never read), and
the temporary files that killed cache builds leave, cleaned at the next start.

Commands that read a FIFO run in child processes with a timeout: if a regression made one wait
for a writer, the test would fail instead of hanging."""

from __future__ import annotations

import inspect
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from hostile_helpers import cli_child, run_child

from layerprop.errors import NotRegularFileError
from layerprop.io import save_model
from layerprop.nets import MultiLayerNet
from layerprop.storage import atomic
from layerprop.storage.inputs import InputTooLarge, open_input, read_input


@pytest.fixture
def fifo(tmp_path):
    def make(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        return path

    return make


# --------------------------------------------------------------------------- outputs
def test_a_symlink_is_written_through(tmp_path):
    target = tmp_path / "real" / "model.bin"
    target.parent.mkdir()
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    first = tmp_path / "link1"
    first.symlink_to(tmp_path / "link2")
    (tmp_path / "link2").symlink_to(target)  # a chain of two links
    atomic.write_bytes(first, b"new")
    assert first.is_symlink() and (tmp_path / "link2").is_symlink()
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(os.listdir(target.parent)) == ["model.bin"]  # the temporary file was beside the target


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "out.svg"
    link.symlink_to(tmp_path / "made.svg")
    atomic.write_bytes(link, b"<svg/>")
    assert link.is_symlink() and (tmp_path / "made.svg").read_bytes() == b"<svg/>"


def test_cli_output_through_a_symlink(tmp_path, capsys):
    target = tmp_path / "drawing.dot"
    target.write_text("old")
    link = tmp_path / "link.dot"
    link.symlink_to(target)
    code, _, _ = run_cli(capsys, "graph", "--example", "apple", "-o", link)
    assert code == 0 and link.is_symlink() and target.read_text().startswith("digraph")


def _char_device(path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a copy of /dev/null: harmless to write
    return path


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "link to a device"])
def test_non_regular_outputs_are_refused_and_kept(tmp_path, fifo, capsys, kind):
    """Before: ``-o`` onto a device node or a FIFO replaced it with a regular file (as root, ``-o
    /dev/full`` replaced the system's device node)."""
    path = tmp_path / "out.dot"
    if kind == "fifo":
        fifo(path)
    elif kind == "device":
        _char_device(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(_char_device(tmp_path / "device"))
    before = os.lstat(path).st_mode
    with pytest.raises(NotRegularFileError, match="not a regular file"):
        atomic.write_bytes(path, b"x")
    code, _, err = run_cli(capsys, "graph", "--example", "apple", "-o", path)
    assert code in (1, 2) and len(err.strip().splitlines()) == 1  # (a folder is the CLI's usage error)
    assert "not a regular file" in err or "is a folder" in err
    assert os.lstat(path).st_mode == before
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]  # no temporary file left


def test_dev_full_is_refused_without_touching_it():
    mode = os.stat("/dev/full").st_mode
    with pytest.raises(NotRegularFileError, match="character device"):
        atomic.replaced_file("/dev/full")
    assert os.stat("/dev/full").st_mode == mode


# --------------------------------------------------------------------------- inputs
def test_open_input_refuses_what_is_not_a_regular_file(tmp_path, fifo):
    regular = tmp_path / "a.bin"
    regular.write_bytes(b"12345")
    handle, size = open_input(regular)
    with handle:
        assert size == 5 and handle.read() == b"12345"
    assert read_input(regular, max_bytes=5) == b"12345"
    with pytest.raises(InputTooLarge, match="more than the limit of 4"):
        read_input(regular, max_bytes=4)
    for path, kind in ((fifo(tmp_path / "p"), "FIFO"), (tmp_path, "folder"), ("/dev/zero", "character device")):
        with pytest.raises(NotRegularFileError, match=kind):
            open_input(path)
    link = tmp_path / "zero"
    link.symlink_to("/dev/zero")
    with pytest.raises(NotRegularFileError, match="character device"):
        read_input(link, max_bytes=10)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    net = MultiLayerNet(784, [8], 10, dtype="float32", seed=0)
    return save_model(tmp_path_factory.mktemp("model") / "model.npz", net, metadata={"run": {"dataset": "mnist"}})


@pytest.fixture(scope="module")
def small_png(tmp_path_factory):
    image = pytest.importorskip("PIL.Image")
    path = tmp_path_factory.mktemp("png") / "digit.png"
    picture = np.zeros((28, 28), np.uint8)
    picture[5:23, 12:16] = 255
    image.fromarray(picture).save(path)
    return path


COMMANDS = {  # name → (the FIFO's path inside tmp_path, argv given tmp_path, the FIFO and the fixtures)
    "evaluate": ("m.npz", lambda t, f, m, p: ["evaluate", f]),
    "predict (model)": ("m.npz", lambda t, f, m, p: ["predict", f, p]),
    "predict (picture)": ("d.png", lambda t, f, m, p: ["predict", m, f]),
    "graph --model": ("m.npz", lambda t, f, m, p: ["graph", "--model", f, "-o", t / "g.html"]),
    "export": ("m.npz", lambda t, f, m, p: ["export", f, "-o", t / "m.onnx"]),
    "train --resume": ("run/checkpoint.npz", lambda t, f, m, p: ["train", "--resume", t / "run"]),
    "curves": ("run/history.json", lambda t, f, m, p: ["curves", t / "run"]),
    "import-book": ("w.pkl", lambda t, f, m, p: ["import-book", f, "--model", "ch03", "-o", t / "b.npz"]),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_fifo_given_to_a_command_is_refused_at_once(tmp_path, fifo, small_model, small_png, name):
    """Before: evaluate, predict, graph --model, export, --resume and curves waited forever for a
    writer. Now: one line naming the FIFO, exit 1, and nothing written."""
    where, argv = COMMANDS[name]
    path = fifo(tmp_path / where)
    result = cli_child(*argv(tmp_path, path, small_model, small_png), timeout=120)
    err = result["err"].strip()
    assert result["rc"] == 1 and len(err.splitlines()) == 1, err[-800:]
    assert "FIFO" in err and str(path) in err
    assert not any(p.suffix in (".html", ".onnx") or p.name == "b.npz" for p in tmp_path.iterdir())


def test_history_linked_to_dev_zero_is_refused(tmp_path, capsys):
    """Before: history.json → /dev/zero was read until MemoryError."""
    (tmp_path / "history.json").symlink_to("/dev/zero")
    code, _, err = run_cli(capsys, "curves", tmp_path)
    assert code == 1 and "character device" in err and len(err.strip().splitlines()) == 1


def test_history_that_would_cost_too_much_to_parse_is_refused(tmp_path, capsys, monkeypatch):
    from layerprop.cli import curves_cmd

    (tmp_path / "history.json").write_text(json.dumps({"train_loss_list": [[]] * 100_000}))
    monkeypatch.setattr(curves_cmd, "MAX_HISTORY_MEMORY", 1 << 20)
    code, _, err = run_cli(capsys, "curves", tmp_path)
    assert code == 2 and "could take" in err and str(tmp_path / "history.json") in err


def test_every_reader_opens_its_input_through_open_input():
    """Model files, pickles, pictures, IDX files, cache entries and history.json have no open() of their own."""
    from layerprop.cli import curves_cmd
    from layerprop.datasets import cache, idx, image_file
    from layerprop.io import book_pickle, model_file

    for module in (model_file, book_pickle, image_file, idx, cache, curves_cmd):
        source = inspect.getsource(module)
        assert "open_input" in source or "read_input" in source, module.__name__
        assert " open(" not in source and "np.load(path" not in source and "Image.open(path" not in source, (
            module.__name__
        )
        assert ".read_text(" not in source and ".read_bytes(" not in source, module.__name__


# --------------------------------------------------------------------------- the cache's leftovers
KILLED_BUILD = """
import sys
from layerprop.datasets import load_mnist
load_mnist()
"""


def test_temporaries_of_killed_cache_builds_are_cleaned_at_the_next_start(tmp_path):
    """Before: each SIGKILL during the first cache build left a ``.npy.*.tmp`` file for good (10
    kills, 113 MB). Now the next build deletes those of writers that are no longer alive."""
    cache = tmp_path / "cache"
    env = {"LAYERPROP_CACHE": str(cache), atomic.CRASH_ENV: "2"}  # SIGKILL once the data is written
    seen = set()
    for _ in range(3):
        proc = subprocess.run(
            [sys.executable, "-c", KILLED_BUILD],
            env={**os.environ, **env},
            capture_output=True,
            timeout=300,
        )
        assert proc.returncode == -signal.SIGKILL
        leftovers = [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
        # each killed build left its own (a 47 MB array); the one before was removed when it started
        assert len(leftovers) == 1 and leftovers[0].name not in seen and leftovers[0].stat().st_size > 40 << 20
        seen.add(leftovers[0].name)
    result = run_child(KILLED_BUILD, timeout=300, env={"LAYERPROP_CACHE": str(cache)})
    assert result["rc"] == 0, result["err"]
    assert not [p for p in cache.rglob("*") if p.name.endswith((".tmp", ".part"))]
    entries = {p.name for p in cache.rglob("*")}
    assert {"train-images.npy", "train-images.json", "t10k-labels.npy"} <= entries or len(entries) >= 8, entries


def test_the_cache_spares_temporaries_of_live_writers(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    names = {
        f".a.npy.x1.pid{dead.pid}.tmp": False,  # its writer is gone: removed
        f".b.npy.x2.pid{os.getpid()}.tmp": True,  # a live writer (this process): kept
        ".c.npy.x3.tmp": True,  # no pid, fresh: kept
        ".d.npy.x4.tmp": False,  # no pid, two hours old: removed
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    old = time.time() - 7200
    os.utime(tmp_path / ".d.npy.x4.tmp", (old, old))
    atomic.remove_leftover_temporaries(tmp_path, spare_live_writers=True)
    assert {name for name, kept in names.items() if kept} == set(os.listdir(tmp_path))
    atomic.remove_leftover_temporaries(tmp_path)  # where no other process writes: every one
    assert os.listdir(tmp_path) == []


def test_a_fifo_planted_in_the_cache_is_discarded(tmp_path, monkeypatch, fifo):
    from layerprop.datasets import cache

    monkeypatch.setenv("LAYERPROP_CACHE", str(tmp_path))
    cache.store_cached_array("demo", "x", np.arange(4, dtype=np.uint8), source_md5="m")
    npy = tmp_path / "demo" / "x.npy"
    npy.unlink()
    fifo(npy)
    assert cache.load_cached_array("demo", "x", source_md5="m", shape=(4,), dtype=np.uint8) is None
    assert not npy.exists()

"""Crash safety of writing and training: atomic writes, resumable checkpoints, the divergence guard,
damaged cache entries, the train CLI's checks, the run-folder lock, Ctrl-C and closed pipes.

The crash test runs the real ``layerprop train`` command in subprocesses on a few hundred
synthetic samples (a driver script replaces the data set loader), kills it with SIGKILL at every
file-system event of the run in turn (see :mod:`layerprop.storage.atomic`), resumes, and compares the final
weights with an uninterrupted run's, bit for bit.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from optional import installed

from layerprop.errors import ArgumentError, TrainingDiverged
from layerprop.io import read_model_file, save_model
from layerprop.storage import atomic

SRC = str(Path(__file__).resolve().parents[1] / "src")
SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def driver():
    """``layerprop train`` with a small synthetic, learnable data set instead of MNIST."""
    return Path(__file__).resolve().parent / "mpi_scripts" / "tiny_train.py"


def run_driver(driver, *argv, env=None, timeout=120):
    environment = {**os.environ, **SINGLE_THREAD, "PYTHONPATH": SRC, "MPLBACKEND": "Agg", **(env or {})}
    environment.pop(atomic.CRASH_ENV, None)
    environment.pop(atomic.EVENT_LOG_ENV, None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, str(driver), "train", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


def model_arrays(path):
    _, model, optim = read_model_file(path)
    return {**{f"model/{k}": v for k, v in model.items()}, **{f"optim/{k}": v for k, v in optim.items()}}


def assert_same_arrays(path_a, path_b):
    a, b = model_arrays(path_a), model_arrays(path_b)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key


def history_without_times(path):
    history = json.loads(Path(path).read_text())
    history.pop("epoch_seconds")
    return history


# --------------------------------------------------------------------------- the atomic-write helper
def test_atomic_write_replaces_and_cleans_up(tmp_path):
    target = tmp_path / "a.bin"
    atomic.write_bytes(target, b"old")
    with pytest.raises(OSError), atomic.atomic_write(target) as handle:
        handle.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")  # what a full disk raises
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["a.bin"]
    atomic.write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["a.bin"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600) or os.umask(0o22) == 0o177


def test_remove_leftover_temporaries_touches_only_temporaries(tmp_path):
    keep = ["model.npz", "notes.tmp", ".hidden", "checkpoint.npz"]
    leftovers = [".model.npz.abc123.tmp", ".f.bin.x9y.part", ".checkpoint.npz.q1w2.tmp.npz"]
    for name in keep + leftovers:
        (tmp_path / name).write_bytes(b"x")
    removed = atomic.remove_leftover_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted(leftovers)
    assert sorted(os.listdir(tmp_path)) == sorted(keep)


def test_history_json_on_a_full_disk_keeps_the_old_file(tmp_path, monkeypatch):
    """a failing write (ENOSPC) leaves the previous history.json, valid, and no temporary file."""
    from layerprop.cli import train_cmd

    target = tmp_path / "history.json"
    atomic.write_bytes(target, json.dumps({"train_loss_list": [1.0]}).encode())
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[:8192])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space"):
        atomic.write_bytes(target, json.dumps({"train_loss_list": list(range(5000))}).encode())
    assert json.loads(target.read_text()) == {"train_loss_list": [1.0]}
    assert os.listdir(tmp_path) == ["history.json"]
    assert "write_bytes" in train_cmd._train.__code__.co_names  # the CLI writes history.json this way


def test_every_file_the_library_writes_goes_through_atomic_write():
    """save_model, the plots, drawn graphs, the cache, IDX files and downloads have no write path of their own."""
    import inspect

    from layerprop.datasets import cache, download, idx
    from layerprop.io import model_file
    from layerprop.training import curves
    from layerprop.viz import rendering

    for module in (model_file, curves, cache, download, idx, rendering):
        source = inspect.getsource(module)
        assert "atomic_write" in source or "write_bytes(path" in source, module.__name__
        assert "os.replace" not in source and "NamedTemporaryFile" not in source, module.__name__
        assert ".write_text(" not in source and "path.write_bytes(" not in source, module.__name__


# --------------------------------------------------------------------------- kill at every event
# With these, the validation accuracy improves after epochs 1 and 2 (two best-weights files), then not,
# so early stopping (patience 2) ends the run at its last epoch, 4, with the weights of epoch 2.
CRASH_ARGS = [
    "--hidden",
    "8",
    "--batch-size",
    "50",
    "--epochs",
    "4",
    "--validation-split",
    "0.2",
    "--patience",
    "2",
    "--seed",
    "3",
    "--quiet",
]


@pytest.fixture(scope="module")
def straight_run(driver, tmp_path_factory):
    """The uninterrupted run, with every file-system event logged."""
    out = tmp_path_factory.mktemp("straight")
    log = out.parent / "events.log"
    proc = run_driver(driver, *CRASH_ARGS, "--out", out, env={atomic.EVENT_LOG_ENV: str(log)})
    assert proc.returncode == 0, proc.stderr
    events = log.read_text().splitlines()
    return out, events


def test_the_crash_run_covers_checkpoints_best_weights_and_final_files(straight_run):
    out, events = straight_run
    written = {Path(line.split(" ", 1)[1]).name for line in events}
    final_files = {"checkpoint.npz", "model.npz", "history.json"}
    if installed("matplotlib", "pip install 'layerprop[plot]'"):  # curves.png is drawn only with matplotlib
        final_files.add("curves.png")
    assert final_files <= written
    assert {"checkpoint.npz.best-1.npz", "checkpoint.npz.best-2.npz"} <= written
    assert len(events) == 5 * len([e for e in events if e.startswith("open ")])
    history = json.loads((out / "history.json").read_text())
    val = history["val_acc_list"]
    assert len(val) == 4 and val[0] < val[1] and max(val[2:]) <= val[1]  # early stopping at the last epoch
    header, _, _ = read_model_file(out / "checkpoint.npz")
    assert header["metadata"]["trainer"]["stopped_early"] is True
    assert header["metadata"]["trainer"]["best_file"] == "checkpoint.npz.best-2.npz"
    _, best, _ = read_model_file(out / "checkpoint.npz.best-2.npz")
    _, final, _ = read_model_file(out / "model.npz")
    assert all(np.array_equal(best[k], final[k]) for k in final)  # the final model holds epoch 2's weights


def test_sigkill_at_every_file_system_event_then_resume_gives_identical_weights(driver, straight_run, tmp_path):
    """for every k, SIGKILL at the k-th event, resume (or restart when no checkpoint was
    committed yet): the final weights, optimizer state and history equal the uninterrupted run's."""
    straight, events = straight_run
    for k in range(1, len(events) + 1):
        out = tmp_path / f"kill-{k}"
        killed = run_driver(driver, *CRASH_ARGS, "--out", out, env={atomic.CRASH_ENV: str(k)})
        assert killed.returncode == -signal.SIGKILL, (k, events[k - 1], killed.stderr)
        if (out / "checkpoint.npz").exists():
            again = run_driver(driver, "--resume", out, "--quiet")
        else:  # killed before the first checkpoint was committed: start again in the same folder
            again = run_driver(driver, *CRASH_ARGS, "--out", out)
        assert again.returncode == 0, (k, events[k - 1], again.stderr)
        assert_same_arrays(out / "model.npz", straight / "model.npz")
        assert history_without_times(out / "history.json") == history_without_times(straight / "history.json")
        names = sorted(os.listdir(out))
        assert not [n for n in names if n.startswith(".")], (k, events[k - 1], names)  # no leftovers
        assert sorted(os.listdir(straight)) == names, (k, events[k - 1])


# --------------------------------------------------------------------------- divergence guard
def test_divergence_guard_catches_an_exploding_but_finite_loss(driver, tmp_path):
    """lr 1e6 stops at an early iteration with one line (exit 1); before any good epoch, no model is saved."""
    proc = run_driver(driver, "--hidden", "8", "--lr", "1e6", "--epochs", "5", "--out", tmp_path, "--quiet")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("layerprop train: error: the training loss became"), proc.stderr
    assert "iteration 2" in lines[0] and "smaller learning rate than 1e+06" in lines[0]
    assert lines[0].endswith("No epoch had completed: no model was saved.")
    assert not (tmp_path / "model.npz").exists()


def test_divergence_after_a_good_epoch_saves_the_last_good_weights(driver, tmp_path):
    """3 steps per epoch; the loss turns NaN at step 9 (epoch 3): model.npz holds epoch 2's weights."""
    proc = run_driver(
        driver, "--hidden", "8", "--epochs", "5", "--out", tmp_path, "--quiet", env={"TINY_TRAIN_NAN_FROM": "9"}
    )
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "the training loss became nan at epoch 3, iteration 9; the weights from before iteration 7" in line
    assert line.endswith(f"The last good weights are in {tmp_path / 'model.npz'}.")
    header, arrays, _ = read_model_file(tmp_path / "model.npz")
    assert "loss became nan" in header["metadata"]["diverged"]
    _, after_epoch_2, _ = read_model_file(tmp_path / "checkpoint.npz")
    assert all(np.array_equal(arrays[k], after_epoch_2[k]) for k in arrays)


@pytest.mark.parametrize("threads", ["1", "2"])
def test_a_huge_weight_decay_is_one_line_that_blames_it(driver, tmp_path, threads):
    """--weight-decay 1e30: no RuntimeWarning reaches stderr (nor from the slices' worker threads),
    and the one line names the weight decay."""
    if threads != "1":
        pytest.importorskip("threadpoolctl")
    options = ["--hidden", "8", "--weight-decay", "1e30", "--epochs", "2", "--threads", threads]
    proc = run_driver(driver, *options, "--out", tmp_path, "--quiet")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Warning" not in proc.stderr, proc.stderr
    assert "try a smaller weight decay than λ = 1e+30" in lines[0] and "learning rate" not in lines[0]


def test_early_stopping_reports_the_accuracy_of_the_weights_it_keeps(driver, tmp_path):
    """The result line and model.npz give the test accuracy of the best epoch's weights, which the
    model keeps, not the last epoch's."""
    options = ["--hidden", "32", "--lr", "0.5", "--batch-size", "20", "--epochs", "30"]
    proc = run_driver(driver, *options, "--validation-split", "0.3", "--patience", "3", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    history = json.loads((tmp_path / "history.json").read_text())
    best = int(np.argmax(history["val_acc_list"])) + 1
    accuracies = history["test_acc_list"]
    assert best < len(accuracies) and accuracies[best - 1] != accuracies[-1]  # these settings show the difference
    assert f"test accuracy {accuracies[best - 1]:.4f} with the weights of epoch {best} (best validation" in proc.stdout
    metadata = read_model_file(tmp_path / "model.npz")[0]["metadata"]
    assert metadata["test_accuracy"] == accuracies[best - 1] and metadata["best_epoch"] == best


def test_ctrl_c_hint_keeps_threads_and_following_it_is_bit_identical(driver, tmp_path):
    pytest.importorskip("threadpoolctl")
    options = ["--hidden", "8", "--epochs", "60", "--threads", "2", "--seed", "1", "--quiet"]
    straight = run_driver(driver, *options, "--out", tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr
    out = tmp_path / "interrupted"
    proc = start_driver(driver, *options, "--out", out)
    try:
        wait_for_file(out / "checkpoint.npz", proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        stop(proc)
    assert proc.returncode == 130, err
    (line,) = [line for line in err.splitlines() if "Continue with:" in line]
    command = shlex.split(line.split("Continue with:", 1)[1])
    assert command[:4] == ["layerprop", "train", "--resume", str(out)] and command[4:] == ["--threads", "2"]
    resumed = run_driver(driver, *command[2:], "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_arrays(out / "model.npz", tmp_path / "straight" / "model.npz")


def start_driver(driver, *argv):
    """``run_driver``, started in the background (stdout and stderr piped)."""
    environment = {**os.environ, **SINGLE_THREAD, "PYTHONPATH": SRC, "MPLBACKEND": "Agg"}
    environment.pop(atomic.CRASH_ENV, None)
    environment.pop(atomic.EVENT_LOG_ENV, None)
    return subprocess.Popen(
        [sys.executable, str(driver), "train", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def wait_for_file(path, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.02)


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def test_one_run_per_folder_and_a_killed_run_leaves_no_lock(driver, tmp_path):
    """A second run on a folder in use is refused with one line (and touches nothing there); after
    the first is SIGKILLed, the kernel has released its lock and a new run starts."""
    out = tmp_path / "run"
    first = start_driver(driver, "--hidden", "8", "--epochs", "100000", "--out", out)
    try:
        wait_for_file(out / "checkpoint.npz", first)
        leftover = out / ".model.npz.abc123.tmp"  # what a killed write leaves: only the folder's owner cleans it
        leftover.write_bytes(b"x")
        second = run_driver(driver, "--hidden", "8", "--epochs", "1", "--out", out, "--quiet")
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"layerprop train: error: another training run is using {out} (it holds the folder's lock): "
            "wait for it to end, or train into another folder"
        ]
        assert leftover.exists()
        refused = run_driver(driver, "--resume", out, "--quiet")
        assert refused.returncode == 1 and "another training run is using" in refused.stderr
        first.kill()
        first.wait(timeout=60)
    finally:
        stop(first)
    third = run_driver(driver, "--hidden", "8", "--epochs", "1", "--out", out, "--quiet")
    assert third.returncode == 0, third.stderr
    assert not leftover.exists()


def small_trainer(**kwargs):
    from layerprop.nets import TwoLayerNet
    from layerprop.training import Trainer

    rng = np.random.default_rng(0)
    x, t = rng.random((50, 784)), rng.integers(0, 10, 50)
    return Trainer(TwoLayerNet(784, 5, 10, seed=0, dtype="float64"), x, t, verbose=False, seed=0, **kwargs)


def test_divergence_rule_uses_the_first_loss_and_the_factor():
    from layerprop.training import DivergenceGuard

    trainer = small_trainer(epochs=1, callbacks=[DivergenceGuard(factor=2.0)])
    trainer.history["train_loss_list"].append(0.5)  # reference L0 = 0.5, bound = 2 × max(0.5, 1) = 2
    trainer.network.last_loss = None
    original = trainer.network.gradient

    def gradient(x, t):
        grads = original(x, t)
        trainer.network.last_loss = 2.5
        return grads

    trainer.network.gradient = gradient
    with pytest.raises(TrainingDiverged, match=r"2\.5 \(above 2 = 2 × max\(first loss 0\.5, 1\)\).*iteration 1"):
        trainer.train_step(trainer.x_train[:10], trainer.t_train[:10])


def _split(fraction):
    from layerprop.training import split_validation

    return split_validation(np.zeros((50, 3)), np.zeros(50, dtype=int), fraction, seed=0)


def _callback(name, **kwargs):
    from layerprop import training

    return lambda: small_trainer(callbacks=[getattr(training, name)(**kwargs)])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: small_trainer(epochs=float("nan")), "epochs"),
        (lambda: small_trainer(mini_batch_size=0), "mini_batch_size"),
        (lambda: small_trainer(seed=-1), "seed"),
        (lambda: _split(float("nan")), "validation_split"),
        (lambda: _split(0.999999), "leaves 0 for training"),
        (_callback("EarlyStopping", x_val=np.zeros((5, 784)), t_val=np.zeros(5, int), patience=0), "patience"),
        (_callback("DivergenceGuard", factor=float("inf")), "divergence_factor"),
        (_callback("DivergenceGuard", check_every=0), "check_every"),
        (_callback("EveryNSteps", n=0, fn=print), "n must be"),
    ],
)
def test_trainer_numbers_are_checked(make, message):
    with pytest.raises((ArgumentError, TypeError), match=message):
        make()


# --------------------------------------------------------------------------- damaged cache entries
def test_damaged_cache_entries_are_discarded_with_a_warning(tmp_path, monkeypatch, caplog):
    """a header claiming 1e12 elements, a truncated file and a CRC mismatch never load."""
    from layerprop.datasets import cache

    monkeypatch.setenv("LAYERPROP_CACHE", str(tmp_path))
    array = np.arange(600, dtype=np.uint8).reshape(20, 30)

    def huge_header(path):
        data = path.read_bytes()
        header = np.lib.format.header_data_from_array_1_0(array)
        header["shape"] = (10**12,)
        import io as _io

        buffer = _io.BytesIO()
        np.lib.format.write_array_header_1_0(buffer, header)
        path.write_bytes(buffer.getvalue() + data[-array.nbytes :])

    def truncate(path):
        path.write_bytes(path.read_bytes()[:-7])

    def flip(path):
        data = bytearray(path.read_bytes())
        data[-1] ^= 1
        path.write_bytes(bytes(data))

    def refuse_load(*args, **kwargs):
        raise AssertionError("np.load was reached with a damaged header")

    for damage in (huge_header, truncate, flip):
        npy = cache.store_cached_array("set", "images", array, source_md5="abc")
        damage(npy)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=cache.log.name), monkeypatch.context() as patch:
            if damage is not flip:
                patch.setattr(cache.np, "load", refuse_load)
            assert cache.load_cached_array("set", "images", source_md5="abc", shape=(20, 30), dtype=np.uint8) is None
        assert str(npy) in caplog.text and "rebuilt" in caplog.text, damage.__name__
        assert not npy.exists()
    # a stale entry (another source) is replaced quietly
    cache.store_cached_array("set", "images", array, source_md5="abc")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=cache.log.name):
        assert cache.load_cached_array("set", "images", source_md5="new", shape=(20, 30), dtype=np.uint8) is None
    assert caplog.text == ""


# --------------------------------------------------------------------------- the train CLI
@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--weight-decay", "nan"], "--weight-decay must be a finite number"),
        (["--weight-decay", "inf"], "--weight-decay must be a finite number"),
        (["--lr", "nan"], "--lr must be a finite number"),
        (["--lr", "-1"], "--lr must be > 0"),
        (["--validation-split", "nan"], "--validation-split must be a finite number"),
        (["--validation-split", "1"], "--validation-split must be in [0, 1)"),
        (["--dropout", "inf"], "--dropout must be a finite number"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--validation-split", "0.1", "--patience", "0"], "--patience must be at least 1"),
    ],
)
def test_train_refuses_bad_numbers(capsys, tmp_path, argv, expected):
    code, _, err = run_cli(capsys, "train", *argv, "--out", tmp_path)
    assert (
        code == 2
        and err.strip().splitlines() == [f"layerprop train: error: {expected}, got {argv[-1]}"]
        or (code == 2 and expected in err and len(err.strip().splitlines()) == 1)
    ), err


def test_validation_split_leaving_no_training_data(driver, tmp_path):
    proc = run_driver(driver, "--validation-split", "0.999999", "--out", tmp_path, "--quiet")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "layerprop train: error: validation_split 0.999999 of 300 training samples leaves 0 for "
        "training; at least one sample must remain"
    ]


@pytest.fixture(scope="module")
def one_epoch_run(driver, tmp_path_factory):
    out = tmp_path_factory.mktemp("one-epoch")
    proc = run_driver(driver, "--hidden", "8", "--epochs", "1", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def copy_run(source, target):
    target.mkdir()
    for name in os.listdir(source):
        (target / name).write_bytes((source / name).read_bytes())
    return target


def test_resume_refuses_conflicting_options_and_applies_epochs(driver, one_epoch_run, tmp_path):
    out = copy_run(one_epoch_run, tmp_path / "run")
    proc = run_driver(
        driver,
        "--resume",
        out,
        "--lr",
        "0.5",
        "--hidden",
        "20",
        "--optimizer",
        "adam",
        "--out",
        tmp_path / "elsewhere",
        "--model",
        "convnet",
        "--seed",
        "9",
        "--epochs",
        "3",
    )
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    for part in (
        "--lr 0.5 (the checkpoint has 0.1)",
        "--hidden 20 (the checkpoint has 8)",
        "--optimizer adam (the checkpoint has sgd)",
        "--model convnet (the checkpoint has mlp)",
        "--seed 9 (the checkpoint has 0)",
        f"--out {tmp_path / 'elsewhere'}",
    ):
        assert part in line, line
    assert "--epochs" not in line
    # options equal to the checkpoint's, and more epochs, apply
    proc = run_driver(driver, "--resume", out, "--lr", "0.1", "--hidden", "8", "--out", out, "--epochs", "2", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "history.json").read_text())["settings"]["epochs"] == 2
    assert len(json.loads((out / "history.json").read_text())["test_acc_list"]) == 2
    proc = run_driver(driver, "--resume", out, "--epochs", "1")
    assert proc.returncode == 2 and "--epochs 1 (the checkpoint already holds epoch 2)" in proc.stderr


def forge(run, metadata_change):
    """Rewrite the run's checkpoint with its metadata changed by ``metadata_change(metadata)``."""
    from layerprop.io import load_model

    path = run / "checkpoint.npz"
    header, _, _ = read_model_file(path)
    loaded = load_model(path)
    metadata = header["metadata"]
    metadata = metadata_change(metadata)
    save_model(path, loaded.model, optimizer=loaded.optimizer, history=loaded.history, metadata=metadata)


def _set(path, value):
    def change(metadata):
        target = metadata
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return metadata

    return change


@pytest.mark.parametrize(
    "change, expected",
    [
        (_set(["run", "lr"], None), "lr must be a real number"),
        (_set(["run", "hidden"], [10**9]), "need 794000000000 weights but the file holds 6370"),
        (_set(["run", "model"], KeyError), "model missing"),
        (_set(["run", "seed"], "0"), "seed must be an integer"),
        (_set(["trainer"], None), "not a training checkpoint"),
        (_set(["trainer"], [1, 2]), "trainer state must be a JSON object"),
        (_set(["trainer", "epoch"], KeyError), "epoch missing"),
        (_set(["trainer", "current_iter"], "7"), "current_iter is '7'"),
        (_set(["trainer", "shuffle_rng"], {"bit_generator": "nope"}), "shuffle_rng state is malformed"),
        (_set(["trainer", "stopped_early"], 0), "stopped_early is 0"),
        (lambda metadata: {"run": None}, "not a checkpoint written by 'layerprop train'"),
        (_set(["trainer", "best_val_acc"], 0.5), "best_val_acc is 0.5 but best_file is None"),
        (_set(["trainer", "best_file"], KeyError), "best_file missing"),
        (_set(["run", "lr_schedule"], KeyError), "lr_schedule missing"),
        (_set(["trainer", "best_file"], "../../etc/passwd"), "best_file is '../../etc/passwd'"),
    ],
)
def test_resume_from_a_crafted_checkpoint_is_one_line(driver, one_epoch_run, tmp_path, change, expected):
    """missing keys, None and wrong types in a checkpoint give one line, exit 1 or 2."""
    out = copy_run(one_epoch_run, tmp_path / "run")
    forge(out, change)
    proc = run_driver(driver, "--resume", out, "--epochs", "2", "--quiet")
    assert proc.returncode in (1, 2), proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in proc.stderr, proc.stderr


def test_default_seed_is_fixed_and_random_is_an_opt_out(driver, tmp_path):
    runs = []
    for name, extra in (("a", []), ("b", []), ("c", ["--seed", "random"])):
        proc = run_driver(driver, "--hidden", "8", "--epochs", "1", "--out", tmp_path / name, *extra)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads((tmp_path / name / "history.json").read_text())["settings"]["seed"])
    assert runs[0] == runs[1] == 0 and isinstance(runs[2], int)
    assert_same_arrays(tmp_path / "a" / "model.npz", tmp_path / "b" / "model.npz")
    assert "seed 0" in run_driver(driver, "--hidden", "8", "--epochs", "1", "--out", tmp_path / "d").stdout


def test_train_help_has_no_rest_markup(capsys):
    code, out, _ = run_cli(capsys, "train", "--help")
    assert code == 0 and "``" not in out and "--seed" in out and "default 0" in out


# --------------------------------------------------------------------------- Ctrl-C and closed pipes
def test_ctrl_c_while_the_commands_are_imported_is_one_line(capsys, monkeypatch):
    import layerprop.cli as cli_package

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_package, "build_parser", interrupted)
    assert cli_package.main(["train"]) == 130
    assert capsys.readouterr().err.strip() == "layerprop: interrupted"


def test_ctrl_c_turned_into_another_error_by_a_library_is_still_one_line(capsys, monkeypatch):
    """NumPy turns a KeyboardInterrupt that lands while its C extension loads into an ImportError
    raised from it; the CLI still reports the interrupt (130, one line), not the ImportError."""
    import layerprop.cli as cli_package

    def interrupted_import():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ImportError("Importing the numpy C-extensions failed.") from exc

    monkeypatch.setattr(cli_package, "build_parser", interrupted_import)
    assert cli_package.main(["train"]) == 130
    assert capsys.readouterr().err.strip() == "layerprop: interrupted"

    def plain_import_error():
        raise ImportError("no module named nothing")

    monkeypatch.setattr(cli_package, "build_parser", plain_import_error)
    with pytest.raises(ImportError):  # an ImportError of its own is not an interrupt
        cli_package.main(["train"])


def _python_start_up_interrupted(returncode, err) -> bool:
    """Whether SIGINT landed while Python itself started, before any layerprop code ran: the
    process died of the signal with nothing said, Python reported a failed start-up, or runpy was
    interrupted finding the module — a traceback with no layerprop frame in it."""
    if returncode == -signal.SIGINT and not err.strip():
        return True
    python_only = "KeyboardInterrupt" in err and f"{os.sep}layerprop{os.sep}" not in err
    startup = err.startswith(("Fatal Python error: init_", "Could not import runpy module"))
    return python_only and (startup or returncode in (1, -signal.SIGINT))


def test_a_lost_ctrl_c_still_ends_the_command(capsys, monkeypatch):
    """CPython drops a KeyboardInterrupt raised in a weakref callback or __del__ ("Exception ignored
    in …"); the CLI raises it again until it has reported it, so the command still ends: 130, one line."""
    import layerprop.cli as cli_package

    class Swallows:
        def __del__(self):
            signal.raise_signal(signal.SIGINT)  # the KeyboardInterrupt is raised inside __del__: lost

    def command_that_loses_the_interrupt(argv):
        Swallows()  # collected at once
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the command goes on working
            time.sleep(0.01)
        return 0

    monkeypatch.setattr(cli_package, "_run", command_that_loses_the_interrupt)
    started = time.monotonic()
    assert cli_package.main(["busy"]) == 130
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert err.strip() == "layerprop: interrupted", err  # no "Exception ignored" report either
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's handler is back


def test_ctrl_c_that_a_library_turns_into_another_error_without_the_chain(capsys, monkeypatch):
    """NumPy's C extension, interrupted while it imports datetime, raises an ImportError that does not
    carry the KeyboardInterrupt; the CLI saw the signal, so it still reports the interrupt."""
    import layerprop.cli as cli_package

    def interrupted_inside_c_code():
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass  # C code clears the error …
        raise ImportError('PyCapsule_Import could not import module "datetime"')  # … and raises its own

    monkeypatch.setattr(cli_package, "build_parser", interrupted_inside_c_code)
    assert cli_package.main(["train"]) == 130
    assert capsys.readouterr().err.strip() == "layerprop: interrupted"


def test_ctrl_c_at_many_moments_prints_one_line_and_exits_130(tmp_path):
    """SIGINT after 0.02 … 1.5 s of `python -m layerprop train`: 130 and one line, never a layerprop
    traceback. (A signal that lands while Python itself starts, before any layerprop code runs,
    is Python's: it dies of SIGINT, reports a fatal start-up error, or cannot import runpy.)"""
    env = {**os.environ, **SINGLE_THREAD, "PYTHONPATH": SRC}
    answered = 0
    for delay in (0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "layerprop", "train", "--epochs", "50", "--out", str(tmp_path / "run")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        if _python_start_up_interrupted(proc.returncode, err):
            continue
        assert proc.returncode == 130, (delay, proc.returncode, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (delay, err)
        answered += 1
    assert answered >= 3


def test_closed_output_pipe_exits_quietly(tmp_path):
    from layerprop.nets import TwoLayerNet

    model = tmp_path / "m.npz"
    save_model(model, TwoLayerNet(784, 5, 10, seed=0))
    env = {**os.environ, **SINGLE_THREAD, "PYTHONPATH": SRC}
    # evaluate's output dies with 141 (128 + SIGPIPE); argparse itself ignores a closed pipe for --help
    for argv, code in ((["evaluate", str(model)], 141), (["train", "--help"], 0)):
        proc = subprocess.Popen(
            [sys.executable, "-m", "layerprop", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        proc.stdout.close()  # like `| head` that has already exited
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
        assert proc.returncode == code and err == "", (argv, proc.returncode, err)

"""The ``layerprop`` command line (issue 3): train, resume, evaluate, predict, gradcheck, exit codes.

Most tests call ``layerprop.cli.main(argv)`` in-process (it returns the exit code; argparse's own
usage errors raise ``SystemExit(2)``). The trainings run as real processes (``python -m layerprop
train``) with single-threaded BLAS (see :func:`train_process`); ``evaluate`` and a usage error also
run through the ``layerprop`` console script. MNIST is bundled, so everything runs offline; one
epoch of the default network takes under a second. The acceptance runs (full trainings) are
marked ``slow``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from layerprop.cli import main
from layerprop.errors import ModelFileError
from layerprop.io import read_model_file

FILES = ("model.npz", "history.json", "curves.png", "checkpoint.npz")


# Trainings run in subprocesses with one BLAS thread: the result of a seeded run then does not
# depend on the machine's core count (a multi-threaded matrix product may sum in another order),
# and on a small shared machine it is several times faster than a BLAS that spins one thread per
# core against other processes.
SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def train_process(*argv, timeout=300):
    """Run ``python -m layerprop train ARGV`` in a new process; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "layerprop", "train", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **SINGLE_THREAD},
        check=False,
    )


def printed_accuracy(text):
    match = re.search(r"test accuracy:? (\d\.\d{4})", text)
    assert match, text
    return float(match.group(1))


def console_script():
    candidate = Path(sys.executable).parent / "layerprop"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("layerprop")
    if found is None:
        pytest.fail("the 'layerprop' console script is not installed (pip install -e .)")
    return found


def has_module(name):
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def same_model_arrays(path_a, path_b):
    _, a, optim_a = read_model_file(path_a)
    _, b, optim_b = read_model_file(path_b)
    assert a.keys() == b.keys() and optim_a.keys() == optim_b.keys()
    return all(np.array_equal(a[k], b[k]) for k in a) and all(np.array_equal(optim_a[k], optim_b[k]) for k in optim_a)


@pytest.fixture(scope="module")
def two_epoch_run(tmp_path_factory):
    """``layerprop train --epochs 2 --seed 0``: the model that evaluate and predict use, and the
    uninterrupted run that a resumed run must reproduce."""
    out = tmp_path_factory.mktemp("run2")
    proc = train_process("--epochs", "2", "--out", out, "--seed", "0", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


# --------------------------------------------------------------------------- train
def test_train_one_epoch_in_a_subprocess(tmp_path):
    """A real ``python -m layerprop train`` run writes every output file and prints the accuracy."""
    out = tmp_path / "run"
    proc = train_process("--epochs", "1", "--out", out, "--seed", "0", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    accuracy = printed_accuracy(proc.stdout)
    assert accuracy > 0.85
    assert len(proc.stdout.strip().splitlines()) == 1  # --quiet: only the result
    for name in FILES:
        if name == "curves.png" and not has_module("matplotlib"):
            continue
        assert (out / name).is_file(), name
    if has_module("matplotlib"):
        assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    header, arrays, _ = read_model_file(out / "model.npz")
    assert header["model_config"]["class"] == "MultiLayerNetExtend"
    assert header["model_config"]["hidden_size_list"] == [50]
    assert header["dtype"] == "float32"
    assert arrays["W1"].shape == (784, 50) and arrays["W2"].shape == (50, 10)
    assert header["optimizer_config"]["name"] == "sgd" and header["optimizer_config"]["lr"] == 0.1
    assert header["metadata"]["test_accuracy"] == pytest.approx(accuracy, abs=5e-5)
    history = json.loads((out / "history.json").read_text())
    assert len(history["train_loss_list"]) == 600 and len(history["test_acc_list"]) == 1
    assert history["settings"]["seed"] == 0 and history["settings"]["epochs"] == 1
    checkpoint = read_model_file(out / "checkpoint.npz")[0]
    assert checkpoint["metadata"]["trainer"]["epoch"] == 1


def test_train_bigger_network(tmp_path):
    proc = train_process(
        "--hidden",
        "100,100",
        "--batchnorm",
        "--dropout",
        "0.2",
        "--optimizer",
        "adam",
        "--epochs",
        "1",
        "--out",
        tmp_path,
        "--seed",
        "0",
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    assert printed_accuracy(proc.stdout) > 0.9
    header, arrays, optim = read_model_file(tmp_path / "model.npz")
    config = header["model_config"]
    assert config["hidden_size_list"] == [100, 100]
    assert config["use_batchnorm"] is True and config["use_dropout"] is True
    assert config["dropout_ration"] == pytest.approx(0.2)
    assert header["optimizer_config"]["name"] == "adam"
    run = header["metadata"]["run"]  # Adam's default for the MLP: 0.003, decayed to 0 on a cosine schedule
    assert run["lr"] == 0.003 and run["lr_schedule"] == "cosine"
    assert header["optimizer_config"]["lr"] < 1e-6  # the schedule ends at 0
    assert {"gamma1", "beta1", "gamma2", "beta2", "BatchNorm1.running_mean", "BatchNorm2.running_var"} <= set(arrays)
    assert any(key.startswith("m/") for key in optim)


def test_train_dropout_ratio_zero_is_kept():
    from layerprop.cli.train_cmd import build_network

    settings = {
        "model": "mlp",
        "dtype": "float32",
        "seed": 0,
        "activation": "relu",
        "hidden": [8],
        "weight_decay": 0.0,
        "batchnorm": False,
    }
    assert build_network({**settings, "dropout": 0.0}).to_config()["dropout_ration"] == 0.0
    assert build_network({**settings, "dropout": 0.3}).to_config()["dropout_ration"] == pytest.approx(0.3)
    assert build_network({**settings, "dropout": None}).to_config()["use_dropout"] is False


def test_resume_equals_uninterrupted_run(tmp_path, two_epoch_run):
    out = tmp_path / "run"
    proc = train_process("--epochs", "1", "--out", out, "--seed", "0", "--quiet")
    assert proc.returncode == 0, proc.stderr
    # without --quiet: progress lines (one per epoch) and the result
    proc = train_process("--resume", out, "--epochs", "2")
    assert proc.returncode == 0, proc.stderr
    stdout = proc.stdout
    assert "resuming" in stdout and "after epoch 1 of 2" in stdout
    assert "epoch   2/2" in stdout and "epoch   1/2" not in stdout
    assert "2 epochs" in stdout.strip().splitlines()[-1]
    assert same_model_arrays(out / "model.npz", two_epoch_run / "model.npz")
    history = json.loads((out / "history.json").read_text())
    straight = json.loads((two_epoch_run / "history.json").read_text())
    assert history["train_loss_list"] == straight["train_loss_list"]
    assert history["test_acc_list"] == straight["test_acc_list"]
    assert printed_accuracy(stdout) == pytest.approx(straight["test_acc_list"][-1], abs=5e-5)


def test_training_divergence_is_a_runtime_error(tmp_path, capsys):
    code, _out, err = run_cli(
        capsys, "train", "--epochs", "1", "--lr", "1e6", "--out", tmp_path, "--seed", "0", "--quiet"
    )
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("layerprop train: error:"), err
    assert "loss became" in lines[0] and "no model was saved" in lines[0]
    assert "Traceback" not in err and "Warning" not in err
    assert not (tmp_path / "model.npz").exists()


# --------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train", "--hidden", "a,b"], "--hidden"),
        (["train", "--hidden", "0"], "--hidden"),
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--patience", "3"], "--validation-split"),
        (["train", "--dropout", "1.5"], "--dropout"),
        (["train", "--batch-size", "0"], "--batch-size"),
        (["train", "--resume", "/no/such/run/folder"], "--resume"),
        (["predict", "/no/such/model.npz", "x.png"], "no such model"),
        (["evaluate", "/no/such/model.npz"], "no such model"),
        (["gradcheck", "--samples", "0"], "--samples"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_usage_errors_exit_2_with_one_line(capsys, argv, expected):
    code, _out, err = run_cli(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"layerprop {argv[0]}: error:") and expected in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["train", "--epochs", "x"], "invalid int value"),
        (["train", "--optimizer", "adamw"], "invalid choice"),
        (["bogus"], "invalid choice"),
    ],
)
def test_argparse_errors_exit_2(capsys, argv, expected):
    # argparse prints its usage summary, then exactly one error line
    code, _out, err = run_cli(capsys, *argv)
    assert code == 2
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and expected in error_lines[0], err
    assert err.strip().splitlines()[-1] == error_lines[0]
    assert "Traceback" not in err


def test_usage_error_in_a_real_process(tmp_path):
    proc = subprocess.run(
        [console_script(), "train", "--resume", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    expected = f"layerprop train: error: --resume: no checkpoint at {tmp_path / 'missing'}"
    assert proc.stderr.strip().splitlines() == [expected]
    assert proc.stdout == ""


def test_no_command_prints_help(capsys):
    code, out, _err = run_cli(capsys)
    assert code == 2 and "train" in out


# --------------------------------------------------------------------------- runtime errors
@pytest.mark.parametrize(
    "content", [b"this is not a model file at all", b"PK\x03\x04 truncated zip"], ids=["text", "truncated-zip"]
)
def test_corrupt_model_file_is_a_runtime_error(tmp_path, capsys, content):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    code, _out, err = run_cli(capsys, "evaluate", bad)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("layerprop evaluate: error:") and str(bad) in lines[0], err
    assert "Traceback" not in err
    # with --debug the exception (and so its traceback) comes through
    with pytest.raises(ModelFileError):
        main(["--debug", "evaluate", str(bad)])


def test_non_model_npz_is_a_runtime_error(tmp_path, capsys):
    path = tmp_path / "weights.npz"
    np.savez(path, W=np.zeros((2, 2)))
    code, _out, err = run_cli(capsys, "evaluate", path)
    assert code == 1 and "not a layerprop model file" in err and len(err.strip().splitlines()) == 1


def test_resume_from_a_non_checkpoint(tmp_path, capsys):
    from layerprop.io import save_model
    from layerprop.nets import TwoLayerNet

    save_model(tmp_path / "checkpoint.npz", TwoLayerNet(784, 5, 10, seed=0))
    code, _out, err = run_cli(capsys, "train", "--resume", tmp_path)
    assert code == 2 and "not a checkpoint written by 'layerprop train'" in err
    (tmp_path / "checkpoint.npz").write_bytes(b"garbage")
    code, _out, err = run_cli(capsys, "train", "--resume", tmp_path)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- evaluate
def test_evaluate(capsys, two_epoch_run):
    code, out, err = run_cli(capsys, "evaluate", two_epoch_run / "model.npz")
    assert code == 0, err
    accuracy = printed_accuracy(out)
    history = json.loads((two_epoch_run / "history.json").read_text())
    assert accuracy == pytest.approx(history["test_acc_list"][-1], abs=5e-5)
    assert accuracy > 0.9
    # per-class accuracy: one line per digit
    per_class = re.findall(r"^\s+(\d)\s+(\d\.\d{4})\s+\((\d+)/(\d+)\)$", out, flags=re.MULTILINE)
    assert [c[0] for c in per_class] == [str(d) for d in range(10)]
    assert sum(int(c[3]) for c in per_class) == 10000
    # the confusion matrix: 10 rows of 10 counts
    matrix_text = out.split("confusion matrix:")[1]
    rows = [line.split() for line in matrix_text.strip().splitlines()[2:]]
    assert len(rows) == 10
    counts = np.array([[int(v) for v in row[1:]] for row in rows])
    assert counts.shape == (10, 10)
    assert [row[0] for row in rows] == [str(d) for d in range(10)]
    assert counts.sum() == 10000
    assert np.trace(counts) / 10000 == pytest.approx(accuracy, abs=5e-5)
    assert [int(c[3]) for c in per_class] == counts.sum(axis=1).tolist()
    assert [int(c[2]) for c in per_class] == np.diag(counts).tolist()


def test_evaluate_with_the_console_script(two_epoch_run):
    proc = subprocess.run(
        [console_script(), "evaluate", str(two_epoch_run)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy:" in proc.stdout and "confusion matrix:" in proc.stdout


def test_confusion_matrix_helper():
    from layerprop.cli.evaluate_cmd import confusion_matrix

    counts = confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]


# --------------------------------------------------------------------------- predict
@pytest.fixture(scope="module")
def digit_image(tmp_path_factory, two_epoch_run, mnist_data):
    """A 100×100 black-on-white PNG of an MNIST test digit the 2-epoch model classifies right."""
    pytest.importorskip("PIL")
    from PIL import Image

    from layerprop.io import load_model

    network = load_model(two_epoch_run / "model.npz").model
    _, (x_test, t_test) = mnist_data
    probabilities = network.predict(x_test[:100])
    probabilities = np.exp(probabilities - probabilities.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    right = np.flatnonzero((probabilities.argmax(axis=1) == t_test[:100]) & (probabilities.max(axis=1) > 0.99))
    assert right.size
    i = int(right[0])
    digit = (x_test[i].reshape(28, 28) * 255).round().astype(np.uint8)
    image = Image.fromarray(255 - digit).resize((100, 100), Image.BILINEAR)  # larger, black on white
    path = tmp_path_factory.mktemp("images") / f"digit{int(t_test[i])}.png"
    image.save(path)
    return path, int(t_test[i])


def test_predict_digit_image(capsys, two_epoch_run, digit_image):
    path, label = digit_image
    code, out, err = run_cli(capsys, "predict", two_epoch_run / "model.npz", path)
    assert code == 0, err
    line = out.strip().splitlines()[-1]
    assert line.startswith(f"{path}: {label}  ("), out
    assert len(re.findall(r"\d+\.\d%", line)) == 3  # top 3 with probabilities


def test_predict_several_images_and_top(capsys, two_epoch_run, digit_image):
    path, label = digit_image
    code, out, err = run_cli(capsys, "predict", two_epoch_run, path, path, "--top", "1")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines == [lines[0]] * 2 and lines[0].startswith(f"{path}: {label}  ({label} ")


@pytest.mark.parametrize("ink", [(0, 0, 0), (255, 255, 255)], ids=["black-ink", "white-ink"])
def test_predict_digit_on_transparent_canvas(tmp_path, capsys, two_epoch_run, digit_image, ink):
    """A digit drawn on a transparent canvas (as drawing programs save it) is read by its opacity."""
    from PIL import Image

    path, label = digit_image
    ink_level = 255 - np.asarray(Image.open(path).convert("L"))  # the digit's strokes, 0..255
    rgba = np.zeros((*ink_level.shape, 4), dtype=np.uint8)  # transparent black background
    rgba[..., :3] = ink
    rgba[..., 3] = ink_level
    drawn = tmp_path / "drawn.png"
    Image.fromarray(rgba, "RGBA").save(drawn)
    code, out, err = run_cli(capsys, "predict", two_epoch_run / "model.npz", drawn)
    assert code == 0, err
    assert out.strip().startswith(f"{drawn}: {label}  ("), out


def test_predict_blank_image(tmp_path, capsys, two_epoch_run):
    pytest.importorskip("PIL")
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (100, 100), color=255).save(blank)
    code, _out, err = run_cli(capsys, "predict", two_epoch_run / "model.npz", blank)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "blank" in lines[0] and str(blank) in lines[0], err


def test_predict_not_an_image(tmp_path, capsys, two_epoch_run):
    pytest.importorskip("PIL")
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    code, _out, err = run_cli(capsys, "predict", two_epoch_run / "model.npz", bad)
    assert code == 1 and "not a readable image" in err and len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- gradcheck
def test_gradcheck(capsys):
    code, out, err = run_cli(capsys, "gradcheck", "--hidden", "10", "--samples", "2")
    assert code == 0, err
    table = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split()[:1]}
    for key in ("W1", "b1", "W2", "b2"):
        assert key in table and len(table[key]) == 3
        assert float(table[key][2]) < 1e-6  # relative error
    assert re.search(r"numerical differentiation: \d+\.\d+ s\s+backpropagation: \d+\.\d+ ms", out)
    assert "OK" in out


def test_gradcheck_tol_zero_fails(capsys):
    code, out, _err = run_cli(capsys, "gradcheck", "--hidden", "10", "--samples", "2", "--tol", "0")
    assert code == 1
    assert "FAILED" in out


# --------------------------------------------------------------------------- acceptance (slow)
def _train_and_read(tmp_path, *argv):
    proc = train_process(*argv, "--out", tmp_path, "--quiet", timeout=600)
    assert proc.returncode == 0, proc.stderr
    accuracy = printed_accuracy(proc.stdout)
    header = read_model_file(tmp_path / "model.npz")[0]
    assert header["metadata"]["test_accuracy"] == pytest.approx(accuracy, abs=5e-5)
    return header, accuracy


@pytest.mark.slow
def test_acceptance_default_network(tmp_path):
    """The notes' network with the defaults: 784-50-10, SGD lr 0.1, batch 100, 17 epochs."""
    header, accuracy = _train_and_read(tmp_path, "--seed", "0")
    settings = header["metadata"]["run"]
    assert settings["epochs"] == 17 and settings["optimizer"] == "sgd" and settings["lr"] == 0.1
    assert settings["hidden"] == [50] and settings["batch_size"] == 100
    assert accuracy >= 0.970


@pytest.mark.slow
def test_acceptance_adam_hidden_100(tmp_path):
    _, accuracy = _train_and_read(tmp_path, "--hidden", "100", "--optimizer", "adam", "--epochs", "10", "--seed", "0")
    assert accuracy >= 0.978


def fashion_mnist_available() -> bool:
    from layerprop.datasets import load_fashion_mnist
    from layerprop.errors import DataFileError

    try:
        load_fashion_mnist(download=False)  # only copies on this machine; never downloads here
    except (FileNotFoundError, DataFileError):
        return False
    return True


@pytest.mark.slow
def test_acceptance_fashion_mnist(tmp_path):
    if not fashion_mnist_available():
        message = "Fashion-MNIST is not available locally (Debian package dataset-fashion-mnist, or $LAYERPROP_DATA)"
        if os.environ.get("CI"):
            pytest.fail(message + "; it must be in CI")
        pytest.skip(message)
    _, accuracy = _train_and_read(
        tmp_path,
        "--dataset",
        "fashion-mnist",
        "--hidden",
        "100",
        "--optimizer",
        "adam",
        "--epochs",
        "10",
        "--seed",
        "0",
    )
    assert accuracy >= 0.88


@pytest.mark.slow
def test_interrupt_with_ctrl_c_then_resume_equals_uninterrupted(tmp_path):
    """Ctrl-C in the middle of a run: exit 130 with a hint; --resume then ends where a straight run ends."""
    args = ["--hidden", "10", "--epochs", "12", "--seed", "4", "--quiet"]
    straight = train_process(*args, "--out", tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr

    out = tmp_path / "interrupted"
    proc = subprocess.Popen(
        [sys.executable, "-m", "layerprop", "train", *args, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **SINGLE_THREAD},
    )
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.npz").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the run finished before it could be interrupted")
    assert proc.returncode == 130, err
    assert "Continue with:  layerprop train --resume" in err and "Traceback" not in err

    resumed = train_process("--resume", out, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert same_model_arrays(out / "model.npz", tmp_path / "straight" / "model.npz")

"""Usage frictions of the command line (issue 17, items 10 and 11): each mistake gets one line that
says what is wrong and, where it can, what was meant.

In-process through ``layerprop.cli.main`` (see cli_helpers); the output-encoding tests run real
processes, since the encoding of stdout is what they are about. Every data file is made here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from cli_helpers import run_cli

from layerprop.datasets.mnist import BUNDLED_DATA_DIR, MNIST
from layerprop.io import save_model
from layerprop.nets import DeepConvNet, SimpleConvNet, TwoLayerNet

SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def usage_error(capsys, *argv) -> str:
    """The last stderr line of a usage error (exit 2; argparse prints its usage above it)."""
    code, _, err = run_cli(capsys, *argv)
    assert code == 2, err
    return err.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def mlp_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("mlp") / "model.npz"
    save_model(path, TwoLayerNet(784, 20, 10, seed=0))
    return path


# -- --data-dir ----------------------------------------------------------------------------------
def test_a_missing_data_dir_is_refused(capsys, tmp_path, mlp_model):
    missing = tmp_path / "nowhere"
    code, _, err = run_cli(capsys, "evaluate", mlp_model, "--data-dir", missing)
    assert code == 2 and one_line(err) == f"layerprop evaluate: error: --data-dir {missing}: no such folder"
    code, _, err = run_cli(capsys, "train", "--data-dir", missing, "--out", tmp_path / "run", "--epochs", "1")
    assert code == 2 and "no such folder" in one_line(err)
    assert not (tmp_path / "run" / "model.npz").exists()


def test_a_data_dir_without_the_files_is_refused(capsys, tmp_path, mlp_model):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"junk")
    code, _, err = run_cli(capsys, "evaluate", mlp_model, "--data-dir", tmp_path)
    assert code == 2
    assert "holds no MNIST file train-labels-idx1-ubyte (nor train-labels-idx1-ubyte.gz)" in one_line(err)


def test_junk_files_in_the_data_dir_are_reported_not_passed_over(capsys, tmp_path, mlp_model):
    """The audit: junk .gz files were silently ignored and the bundled copy used instead."""
    for spec in MNIST.files:
        shutil.copy(BUNDLED_DATA_DIR / f"{spec.filename}.gz", tmp_path / f"{spec.filename}.gz")
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b junk that is not gzip")
    code, _, err = run_cli(capsys, "evaluate", mlp_model, "--data-dir", tmp_path)
    assert code == 1 and "t10k-images-idx3-ubyte.gz" in one_line(err)


def test_a_genuine_data_dir_is_read(capsys, tmp_path, mlp_model):
    for spec in MNIST.files:
        shutil.copy(BUNDLED_DATA_DIR / f"{spec.filename}.gz", tmp_path / f"{spec.filename}.gz")
    code, out, err = run_cli(capsys, "evaluate", mlp_model, "--data-dir", tmp_path)
    assert code == 0, err
    assert "test accuracy" in out


# -- graph --model of a convolutional network ---------------------------------------------------------
@pytest.mark.parametrize("network", [SimpleConvNet, DeepConvNet], ids=["SimpleConvNet", "DeepConvNet"])
def test_graph_draws_a_convolutional_model(capsys, tmp_path, network):
    """The audit: every convolutional model failed with "pass x=…", which the CLI cannot."""
    path = tmp_path / "model.npz"
    save_model(path, network(seed=0))
    code, out, err = run_cli(capsys, "graph", "--model", path, "-o", tmp_path / "net.dot")
    assert code == 0, err
    dot = (tmp_path / "net.dot").read_text(encoding="utf-8")
    assert "Conv1" in dot and "the first MNIST test image" in dot
    assert "(1, 1, 28, 28)" in dot  # one image of the model's input shape


def test_graph_of_another_input_shape_uses_a_random_image(capsys, tmp_path):
    path = tmp_path / "model.npz"
    save_model(
        path,
        SimpleConvNet(
            input_dim=(3, 12, 12), conv_param={"filter_num": 4, "filter_size": 3, "pad": 0, "stride": 1}, seed=0
        ),
    )
    code, _, err = run_cli(capsys, "graph", "--model", path, "-o", tmp_path / "net.dot")
    assert code == 0, err
    assert "a random 3×12×12 input" in (tmp_path / "net.dot").read_text(encoding="utf-8")


# -- output folders --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["export", "{model}", "-o", "{missing}/model.onnx"],
        ["graph", "--example", "apple", "-o", "{missing}/apple.dot"],
        ["curves", "{run}", "-o", "{missing}/curves.png"],
    ],
    ids=["export", "graph", "curves"],
)
def test_an_output_in_a_missing_folder_names_the_folder(capsys, tmp_path, mlp_model, argv):
    """The audit: ``export`` into a missing folder named a hidden temporary file."""
    (tmp_path / "run").mkdir()
    missing = tmp_path / "no" / "such"
    argv = [a.format(model=mlp_model, missing=missing, run=tmp_path / "run") for a in argv]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    line = one_line(err)
    assert f"the folder {missing} does not exist" in line and ".tmp" not in line


def test_an_output_that_is_a_folder_is_refused(capsys, tmp_path):
    code, _, err = run_cli(capsys, "graph", "--example", "apple", "-o", tmp_path)
    assert code == 2 and "is a folder; give a file name" in one_line(err)


# -- what was meant -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, hint",
    [
        (["train", "--optimiser", "adam"], "unrecognized arguments: --optimiser adam (did you mean --optimizer?)"),
        (["train", "--hiden", "100"], "(did you mean --hidden?)"),
        (["graph", "--exmaple", "apple"], "(did you mean --example?)"),
        (["traon", "--epochs", "1"], "(did you mean train?)"),
        (
            ["train", "--hidden", "100", "200"],
            "unrecognized arguments: 200 (--hidden takes its sizes separated by commas, without spaces: "
            "--hidden 100,200)",
        ),
        (["gradcheck", "--hidden=100", "50", "20"], "--hidden 100,50,20)"),
        (["train", "--epochs", "1", "2"], "unrecognized arguments: 2"),
    ],
)
def test_usage_errors_say_what_was_meant(capsys, argv, hint):
    line = usage_error(capsys, *argv)
    assert line.endswith(hint), line


def test_a_negative_seed_names_the_option(capsys):
    code, _, err = run_cli(capsys, "gradcheck", "--seed", "-1")
    assert code == 2 and one_line(err) == "layerprop gradcheck: error: --seed must be at least 0, got -1"


def test_a_usage_error_comes_before_the_missing_mpi4py(capsys, monkeypatch):
    """The README's test command on a fresh install without the [dist] extra."""
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    code, _, err = run_cli(capsys, "train", "--threads", "2", "--distributed")
    assert code == 2 and "do not combine" in one_line(err)
    code, _, err = run_cli(capsys, "train", "--distributed", "--epochs", "0")
    assert code == 2 and "--epochs must be at least 1" in one_line(err)
    code, _, err = run_cli(capsys, "train", "--distributed")  # a correct command line: the extra is named
    assert code != 0 and "layerprop[dist]" in one_line(err)


# -- output encodings ------------------------------------------------------------------------------------
def _layerprop(*argv, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "layerprop", *map(str, argv)],
        capture_output=True,
        text=True,
        encoding="ascii",
        errors="strict",  # what comes back must be ASCII, or this raises
        timeout=timeout,
        env={**os.environ, **SINGLE_THREAD, **(env or {})},
        check=False,
    )


def test_an_ascii_terminal_gets_ascii_spellings(tmp_path):
    """The audit: PYTHONIOENCODING=ascii broke train and evaluate at the first "→"."""
    ascii_only = {"PYTHONIOENCODING": "ascii"}
    train = _layerprop("train", "--hidden", "10", "--epochs", "1", "--out", tmp_path / "run", env=ascii_only)
    assert train.returncode == 0, train.stderr
    assert "-> " + str(tmp_path / "run") in train.stdout and "saved" in train.stdout
    evaluate = _layerprop("evaluate", tmp_path / "run", env=ascii_only)
    assert evaluate.returncode == 0, evaluate.stderr
    assert "predicted ->" in evaluate.stdout and "true v" in evaluate.stdout
    helped = _layerprop("train", "--help", env=ascii_only)
    assert helped.returncode == 0 and "L2 weight decay lambda (loss + 1/2*lambda*sum||W||^2" in helped.stdout
    refused = _layerprop("graph", "--expr", "x*", env=ascii_only)  # an error line survives too
    assert refused.returncode == 2 and refused.stderr.strip()

"""BLAS threads chosen for the work (layerprop.training.blas): one thread for small matrix
products, the user's own settings first, set through threadpoolctl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

from layerprop.errors import ArgumentError
from layerprop.nets import MultiLayerNet, SimpleConvNet
from layerprop.training import blas

threadpoolctl = pytest.importorskip("threadpoolctl")
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def restore_blas():
    """Whatever a test sets, the BLAS thread counts are put back afterwards."""
    controller = threadpoolctl.ThreadpoolController()
    before = [lib.num_threads for lib in controller.lib_controllers]
    yield
    for lib, threads in zip(controller.lib_controllers, before):
        lib.set_num_threads(threads)


def blas_threads_now():
    return {info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"}


def test_the_largest_product_of_a_step():
    assert blas.largest_product(MultiLayerNet(784, [50], 10), 100) == 100 * 784 * 50
    assert blas.largest_product(MultiLayerNet(784, [100, 2000], 10), 32) == 32 * 100 * 2000
    assert blas.largest_product(SimpleConvNet(), 100) is None


def test_small_products_get_one_thread_and_large_ones_every_core():
    assert blas.blas_threads_for(MultiLayerNet(784, [50], 10), 100) == 1
    assert blas.blas_threads_for(MultiLayerNet(784, [50], 10), 100, ceiling=8) == 1
    big = MultiLayerNet(784, [4000], 10)
    assert blas.largest_product(big, 100) >= blas.SMALL_PRODUCT
    assert blas.blas_threads_for(big, 100) == blas.available_cores()
    assert blas.blas_threads_for(big, 100, ceiling=1) == 1  # an MPI rank's share
    assert blas.blas_threads_for(SimpleConvNet(), 100) == blas.available_cores()


def test_the_choice_is_set_and_the_user_decides_first(restore_blas):
    net = MultiLayerNet(784, [50], 10)
    assert blas.choose_blas_threads(net, 100, environ={})[0] == 1
    assert blas_threads_now() == {1}
    threads, reason = blas.choose_blas_threads(net, 100, environ={blas.ENV: "2"})
    assert threads == 2 and reason == blas.ENV and blas_threads_now() == {2}
    assert blas.choose_blas_threads(net, 100, requested=1, environ={blas.ENV: "2"})[0] == 1
    threads, reason = blas.choose_blas_threads(net, 100, environ={"OMP_NUM_THREADS": "2"})
    assert threads is None and "OMP_NUM_THREADS=2" in reason and blas_threads_now() == {1}  # left alone
    big = MultiLayerNet(784, [4000], 10)
    cores = blas.available_cores()
    assert blas.choose_blas_threads(big, 100, environ={}, load=0.0)[0] == cores
    threads, reason = blas.choose_blas_threads(big, 100, environ={}, load=float(cores))  # a busy machine
    assert threads == 1 and blas_threads_now() == {1} and ("idle" in reason or cores == 1)
    with pytest.raises(ArgumentError, match=f"{blas.ENV} must be an integer >= 1, got 'many'"):
        blas.choose_blas_threads(net, 100, environ={blas.ENV: "many"})
    with pytest.raises(ArgumentError, match=blas.ENV):
        blas.choose_blas_threads(net, 100, environ={blas.ENV: "0"})


def test_idle_cores_are_the_cores_less_the_load():
    cores = blas.available_cores()
    assert blas.idle_cores(0.0) == cores
    assert blas.idle_cores(cores + 5.0) == 1
    assert blas.idle_cores(cores - 1.2) == 1
    assert 1 <= blas.idle_cores() <= cores


def test_without_threadpoolctl_nothing_changes(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    threads, reason = blas.choose_blas_threads(MultiLayerNet(784, [50], 10), 100, environ={})
    assert threads is None and "threadpoolctl" in reason


PROBE = """
import json, sys
import threadpoolctl
from layerprop.cli import main
import tiny_train
tiny_train.install()
code = main(sys.argv[1:])
print(json.dumps(sorted({i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"})))
"""


@pytest.mark.parametrize(
    "argv, env, expected",
    [
        ([], {}, [1]),  # 784-8-10 on batches of 100: small products
        (["--blas-threads", "2"], {}, [2]),
        ([], {blas.ENV: "2"}, [2]),
    ],
)
def test_layerprop_train_sets_them(tmp_path, argv, env, expected):
    environment = {k: v for k, v in os.environ.items() if k not in (*blas.USER_VARIABLES, blas.ENV)}
    scripts = str(Path(__file__).resolve().parent / "mpi_scripts")
    environment.update(PYTHONPATH=os.pathsep.join([SRC, scripts]), MPLBACKEND="Agg", **env)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "train", "--hidden", "8", "--epochs", "1", "--quiet", "--out", str(tmp_path)]
        + argv,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == expected


def test_bad_blas_threads_are_usage_errors(capsys, tmp_path, monkeypatch):
    code, _, err = run_cli(capsys, "train", "--blas-threads", "0", "--out", tmp_path)
    assert code == 2 and err.strip().splitlines() == [
        "layerprop train: error: --blas-threads must be at least 1, got 0"
    ]
    monkeypatch.setenv(blas.ENV, "lots")
    code, _, err = run_cli(capsys, "train", "--epochs", "1", "--out", tmp_path)
    assert code == 2 and f"{blas.ENV} must be an integer >= 1, got 'lots'" in err
    assert len(err.strip().splitlines()) == 1

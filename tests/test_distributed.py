"""Data-parallel training: the communicator, and real runs under ``mpiexec``.

The MPI tests start ``mpiexec -n 2/3/4`` themselves, each bounded by a timeout after which the
whole process group is killed (a hang fails the test instead of stalling CI). Without ``mpiexec``
or mpi4py they are skipped — except in CI (``CI`` set), where .ci/run installs them and a missing
one is a failure. Open MPI runs as root only with OMPI_ALLOW_RUN_AS_ROOT*, and more ranks than
cores only with the oversubscribe mapping policy; the tests set both in the subprocess only.

Transports: 'sm' forces the shared-memory BTL; 'tcp' forces TCP, which on Open MPI 5 takes three
settings — the ob1 PML (else UCX would carry the data without any BTL), the tcp and self BTLs, and
no 'sm' collective component (which would use shared memory directly) — plus the loopback
interface, which Open MPI excludes by default. The TCP test checks Open MPI's own log that TCP
connections were made.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import layerprop
from layerprop.errors import ArgumentError, DistributedError
from layerprop.training.communicators import Communicator, SingleProcess, shard_bounds

ROOT = Path(__file__).resolve().parent
SCRIPT = str(ROOT / "mpi_scripts" / "train_blobs.py")
SRC = str(Path(layerprop.__file__).resolve().parent.parent)
MPIEXEC = shutil.which("mpiexec")
HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None
TIMEOUT = 180  # seconds for one mpiexec run; a hang fails the test after this

TRANSPORTS = {
    "sm": ["--mca", "pml", "ob1", "--mca", "btl", "sm,self"],
    "tcp": [
        "--mca",
        "pml",
        "ob1",
        "--mca",
        "btl",
        "tcp,self",
        "--mca",
        "coll",
        "^sm",
        "--mca",
        "btl_tcp_if_include",
        "lo",
    ],
}


def _need_mpi():
    missing = [name for name, ok in (("mpiexec", MPIEXEC), ("mpi4py", HAVE_MPI4PY)) if not ok]
    if missing:
        message = f"{' and '.join(missing)} not installed (pip install 'layerprop[dist]')"
        if os.environ.get("CI"):
            pytest.fail(f"{message}, but CI must run the MPI tests")
        pytest.skip(message)


@pytest.fixture
def needs_mpi():
    _need_mpi()


def mpi_env():
    env = dict(os.environ)
    env.update(
        {
            "OMPI_ALLOW_RUN_AS_ROOT": "1",
            "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
            "PRTE_MCA_rmaps_default_mapping_policy": ":oversubscribe",
            "PYTHONPATH": os.pathsep.join(filter(None, [SRC, env.get("PYTHONPATH")])),
        }
    )
    return env


def run_bounded(cmd, timeout=TIMEOUT, env=None):
    """Run ``cmd`` in its own process group; on timeout kill the group and fail."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or mpi_env(), start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} did not finish within {timeout} s (hang?)\n{out}\n{err}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def mpiexec(n, *args, transport="sm", mpi_options=(), program=(sys.executable, SCRIPT), timeout=TIMEOUT):
    return run_bounded([MPIEXEC, "-n", str(n), *TRANSPORTS[transport], *mpi_options, *program, *args], timeout=timeout)


def single(*args):
    result = run_bounded([sys.executable, SCRIPT, "--single", *args], env=mpi_env())
    assert result.returncode == 0, result.stderr
    return result


def rel_diff(a_path, b_path):
    """Largest ‖a − b‖∞ / ‖a‖∞ over the arrays of two saved states."""
    a, b = np.load(a_path), np.load(b_path)
    assert sorted(a.files) == sorted(b.files)
    return max(float(np.max(np.abs(a[k] - b[k])) / max(np.max(np.abs(a[k])), 1e-30)) for k in a.files)


# -- without MPI ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n,size", [(100, 1), (100, 2), (100, 3), (7, 4), (2, 4), (0, 3)])
def test_shard_bounds_cover_the_batch_once_with_sizes_differing_by_at_most_one(n, size):
    bounds = [shard_bounds(n, size, r) for r in range(size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(bounds[r][1] == bounds[r + 1][0] for r in range(size - 1))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


class FakeRanks(Communicator):
    """Rank ``rank`` of ``size`` whose collectives return prepared values (to test the logic without MPI)."""

    def __init__(self, rank, size, gathered=None):
        self.rank, self.size, self.gathered = rank, size, gathered

    def allgather_text(self, text):
        return [text if r == self.rank else self.gathered[r] for r in range(self.size)]


def test_check_agreement_names_the_rank_and_the_fact_that_differ():
    facts = {"layerprop version": "0.1.0", "seed": 3}
    other = json.dumps({"layerprop version": "0.2.0", "seed": 3})
    with pytest.raises(DistributedError, match=r"rank 2 has layerprop version = \"0.2.0\" but rank 0 has \"0.1.0\""):
        FakeRanks(0, 3, {1: json.dumps(facts), 2: other}).check_agreement("the installation", facts)
    FakeRanks(1, 2, {0: json.dumps(facts)}).check_agreement("the installation", facts)  # agreement: no error


def test_shard_gives_each_rank_its_share_of_the_batch_mean():
    batch = np.arange(10)
    parts = [FakeRanks(r, 3).shard(batch) for r in range(3)]
    assert np.array_equal(np.concatenate([p for p, _ in parts]), batch)
    assert [s for _, s in parts] == [0.4, 0.3, 0.3]
    assert SingleProcess().shard(batch)[1] == 1.0


def test_dropout_streams_differ_per_rank_but_not_in_one_process():
    assert SingleProcess().dropout_seed([5, 2, 0]) == [5, 2, 0]
    assert FakeRanks(1, 2).dropout_seed([5, 2, 0]) == [5, 2, 0, 1]


def test_trainer_refuses_a_global_batch_smaller_than_the_number_of_ranks():
    from layerprop.nets import TwoLayerNet
    from layerprop.training import Trainer

    x, t = np.zeros((10, 4)), np.zeros(10, dtype=int)
    with pytest.raises(ArgumentError, match="at least one sample per rank, but 4 ranks"):
        Trainer(TwoLayerNet(4, 3, 2), x, t, mini_batch_size=3, communicator=FakeRanks(0, 4))


def test_distributed_without_mpi4py_names_the_extra(monkeypatch, capsys, tmp_path):
    from layerprop.cli import main

    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now raises ImportError
    assert main(["train", "--distributed", "--out", str(tmp_path)]) == 1
    assert "pip install 'layerprop[dist]'" in capsys.readouterr().err


def test_overlap_needs_distributed(capsys):
    from layerprop.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "--overlap"])
    assert exc.value.code == 2 and "--overlap needs --distributed" in capsys.readouterr().err


# -- under mpiexec -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One epoch of Adam with weight decay, float64, in one process without MPI."""
    out = tmp_path_factory.mktemp("reference") / "single.npz"
    single(str(out), "--weight-decay", "0.01")
    return out


@pytest.mark.parametrize(
    "n,transport,overlap",
    [
        (1, "sm", False),
        (2, "sm", False),
        (3, "sm", False),
        (4, "sm", False),
        (3, "sm", True),
        (2, "tcp", False),
        (3, "tcp", True),
    ],
)
def test_same_weights_as_one_process_after_an_epoch(needs_mpi, reference, tmp_path, n, transport, overlap):
    # 1003 samples in batches of 50: 20 full batches and one of 3, so 3 ranks get uneven slices
    # (17/17/16) and on 4 ranks the last batch leaves one rank empty.
    out = tmp_path / "mpi.npz"
    options = ("--mca", "btl_base_verbose", "100") if transport == "tcp" else ()
    result = mpiexec(
        n,
        str(out),
        "--weight-decay",
        "0.01",
        *(["--overlap"] if overlap else []),
        transport=transport,
        mpi_options=options,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    if transport == "tcp":
        assert "btl:tcp: now connected to" in result.stdout + result.stderr
    assert rel_diff(reference, out) <= 1e-5
    for rank in range(1, n):  # every rank ends with the very same weights
        assert rel_diff(f"{out}.rank0.npz", f"{out}.rank{rank}.npz") == 0.0
    history = json.loads(Path(f"{out}.json").read_text())
    reference_history = json.loads(Path(f"{reference}.json").read_text())
    assert history["size"] == n
    # sharded evaluation gives exactly the single-process accuracy of these (equal) weights
    assert history["history"]["test_acc_list"] == reference_history["history"]["test_acc_list"]
    assert np.allclose(
        history["history"]["train_loss_list"], reference_history["history"]["train_loss_list"], rtol=1e-9
    )


def test_dropout_and_batchnorm_ranks_stay_identical(needs_mpi, tmp_path):
    # BatchNorm running statistics are averaged in the allreduce, dropout masks differ per rank:
    # every rank must still hold the same weights and running statistics after two epochs.
    for kind in ("dropout", "batchnorm"):
        out = tmp_path / f"{kind}.npz"
        result = mpiexec(3, str(out), "--kind", kind, "--epochs", "2", "--overlap")
        assert result.returncode == 0, result.stderr[-3000:]
        state = np.load(f"{out}.rank0.npz")
        if kind == "batchnorm":
            assert any(key.endswith("running_mean") for key in state.files)
        for rank in (1, 2):
            assert rel_diff(f"{out}.rank0.npz", f"{out}.rank{rank}.npz") == 0.0
        accuracy = json.loads(Path(f"{out}.json").read_text())["history"]["test_acc_list"][-1]
        assert accuracy > 0.85


def test_a_rank_that_raises_stops_every_rank_and_the_checkpoint_resumes_on_any_number_of_ranks(needs_mpi, tmp_path):
    checkpoint = str(tmp_path / "checkpoint.npz")
    common = ("--epochs", "3", "--checkpoint", checkpoint)
    # reference: three epochs on 3 ranks, uninterrupted
    full = tmp_path / "full.npz"
    assert mpiexec(3, str(full), "--epochs", "3").returncode == 0
    # rank 1 fails in the second epoch (21 steps per epoch): every rank stops, the checkpoint holds epoch 1
    started = time.monotonic()
    failed = mpiexec(3, str(tmp_path / "failed.npz"), *common, "--fail-rank", "1", "--fail-iter", "30")
    assert failed.returncode != 0
    assert time.monotonic() - started < 60
    assert "rank 1 of 3 failed: RuntimeError: injected failure at step 31" in failed.stderr
    assert not Path(tmp_path / "failed.npz").exists()
    from layerprop.io import read_model_file

    header, _, _ = read_model_file(checkpoint)
    assert header["metadata"]["trainer"]["epoch"] == 1
    # resume on 2 ranks and, from the same checkpoint, in one process: both reach the uninterrupted weights
    shutil.copy(checkpoint, tmp_path / "saved.npz")
    resumed = tmp_path / "resumed2.npz"
    result = mpiexec(2, str(resumed), *common, "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert rel_diff(full, resumed) <= 1e-5
    shutil.copy(tmp_path / "saved.npz", checkpoint)
    resumed1 = tmp_path / "resumed1.npz"
    single(str(resumed1), *common, "--resume")
    assert rel_diff(full, resumed1) <= 1e-5


def test_a_single_process_checkpoint_resumes_under_mpi(needs_mpi, tmp_path):
    checkpoint = str(tmp_path / "checkpoint.npz")
    full = tmp_path / "full.npz"
    single(str(full), "--epochs", "2")
    single(str(tmp_path / "half.npz"), "--epochs", "2", "--checkpoint", checkpoint, "--stop-after", "1")
    resumed = tmp_path / "resumed.npz"
    result = mpiexec(3, str(resumed), "--epochs", "2", "--checkpoint", checkpoint, "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert rel_diff(full, resumed) <= 1e-5


def _pids_with(marker):
    """Processes whose environment holds ``marker`` (Linux /proc), by Open MPI rank."""
    ranks = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in env:
            for item in env:
                if item.startswith(b"OMPI_COMM_WORLD_RANK="):
                    ranks[int(item.split(b"=")[1])] = int(entry.name)
    return ranks


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the ranks through /proc")
def test_a_rank_killed_by_a_signal_stops_every_rank_and_leaves_the_checkpoint_intact(needs_mpi, tmp_path):
    checkpoint = tmp_path / "checkpoint.npz"
    marker = f"LAYERPROP_TEST_RUN={os.getpid()}-{time.monotonic_ns()}"
    env = mpi_env()
    env[marker.split("=")[0]] = marker.split("=")[1]
    cmd = [
        MPIEXEC,
        "-n",
        "2",
        *TRANSPORTS["sm"],
        "-x",
        marker.split("=")[0],
        sys.executable,
        SCRIPT,
        str(tmp_path / "out.npz"),
        "--epochs",
        "100000",
        "--checkpoint",
        str(checkpoint),
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not checkpoint.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert checkpoint.exists(), proc.communicate()[1] if proc.poll() is not None else "no checkpoint"
        ranks = _pids_with(marker)
        assert set(ranks) == {0, 1}
        os.kill(ranks[1], signal.SIGKILL)
        killed = time.monotonic()
        _, err = proc.communicate(timeout=60)
        assert time.monotonic() - killed < 30
        assert proc.returncode != 0
        assert "rank 1" in err and "signal 9" in " ".join(err.split()), err  # Open MPI names the rank and cause
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    from layerprop.io import load_model

    loaded = load_model(str(checkpoint))  # intact: a complete, valid checkpoint
    assert loaded.metadata["trainer"]["epoch"] >= 1
    assert not _pids_with(marker)  # no rank survives


def test_ranks_started_with_different_options_stop_at_start_up_with_one_error(needs_mpi, tmp_path):
    out = str(tmp_path / "out.npz")
    result = run_bounded(
        [
            MPIEXEC,
            *TRANSPORTS["sm"],
            "-n",
            "1",
            sys.executable,
            SCRIPT,
            out,
            "--batch",
            "50",
            ":",
            "-n",
            "1",
            sys.executable,
            SCRIPT,
            out,
            "--batch",
            "40",
        ]
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "disagree" in line]
    assert len(lines) == 1, result.stderr
    assert "rank 1 has trainer options.mini_batch_size = 40 but rank 0 has 50" in lines[0]
    assert not Path(out).exists()


def test_cli_two_ranks_print_and_write_once_and_match_one_process(needs_mpi, tmp_path):
    args = ["train", "--seed", "0", "--epochs", "1", "--hidden", "20", "--quiet"]
    alone = run_bounded([sys.executable, "-m", "layerprop", *args, "--out", str(tmp_path / "one")])
    assert alone.returncode == 0, alone.stderr
    result = mpiexec(
        2, *args, "--distributed", "--out", str(tmp_path / "two"), program=(sys.executable, "-m", "layerprop")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("test accuracy") == 1, result.stdout
    files = sorted(p.name for p in (tmp_path / "two").iterdir())
    assert {"model.npz", "history.json", "checkpoint.npz"} <= set(files)
    accuracy = [json.loads((tmp_path / d / "history.json").read_text())["test_acc_list"][-1] for d in ("one", "two")]
    assert abs(accuracy[0] - accuracy[1]) <= 0.001


def test_cli_resumes_a_single_process_run_on_three_ranks(needs_mpi, tmp_path):
    args = ["train", "--seed", "0", "--epochs", "1", "--hidden", "20", "--quiet", "--out", str(tmp_path)]
    assert run_bounded([sys.executable, "-m", "layerprop", *args]).returncode == 0
    result = mpiexec(
        3,
        "train",
        "--distributed",
        "--resume",
        str(tmp_path),
        "--epochs",
        "2",
        program=(sys.executable, "-m", "layerprop"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history["test_acc_list"]) == 2 and history["test_acc_list"][-1] > 0.9


def test_cli_diverged_training_stops_every_rank_with_one_message(needs_mpi, tmp_path):
    result = mpiexec(
        2,
        "train",
        "--distributed",
        "--lr",
        "1e30",
        "--epochs",
        "1",
        "--hidden",
        "10",
        "--seed",
        "1",
        "--out",
        str(tmp_path),
        program=(sys.executable, "-m", "layerprop"),
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("layerprop train: error:")]
    assert len(errors) == 1 and "loss became" in errors[0], result.stderr
    assert errors[0].endswith("No epoch had completed: no model was saved.")
    assert not (tmp_path / "model.npz").exists()


# -- errors on some ranks, mismatched resumes, the run-folder lock -------------------------------
TINY = str(ROOT / "mpi_scripts" / "tiny_train.py")  # `layerprop train` on a small synthetic data set


def cli_ranks(*per_rank, timeout=90, env=None):
    """``mpiexec`` with one program per rank: entry r is rank r's ``layerprop train --distributed`` options."""
    cmd = [MPIEXEC, *TRANSPORTS["sm"]]
    for rank, options in enumerate(per_rank):
        cmd += [":"] * bool(rank) + ["-n", "1", sys.executable, TINY, "train", "--distributed", *map(str, options)]
    return run_bounded(cmd, timeout=timeout, env=env)


def the_error(result):
    """The one ``layerprop train: error:`` line of a failed job (mpiexec adds its own banner)."""
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("layerprop train: error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def one_epoch_runs(tmp_path_factory):
    """Two run folders of one tiny run (one process): after epoch 1 (``a``) and after epoch 2 (``b``)."""
    _need_mpi()
    root = tmp_path_factory.mktemp("runs")
    options = ["--hidden", "8", "--seed", "2", "--quiet"]
    done = run_bounded([sys.executable, TINY, "train", *options, "--epochs", "1", "--out", str(root / "a")])
    assert done.returncode == 0, done.stderr
    shutil.copytree(root / "a", root / "b")
    more = run_bounded([sys.executable, TINY, "train", "--resume", str(root / "b"), "--epochs", "2", "--quiet"])
    assert more.returncode == 0, more.stderr
    return root / "a", root / "b"


def folder_state(folder):
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--epochs", "0"], "error: rank 1 of 2: --epochs must be at least 1, got 0"),
        (["--threads", "2"], "error: rank 1 of 2: --threads and --distributed do not combine"),
        (["--patience", "2"], "error: rank 1 of 2: --patience needs --validation-split"),
        (["--overlap"], "rank 1 has overlap = true but rank 0 has false"),
        (["--lr", "0.5"], "the ranks disagree on the command line: rank 1 has --lr = 0.5 but rank 0 has null"),
    ],
)
def test_a_usage_error_on_one_rank_ends_the_job_with_one_line(needs_mpi, tmp_path, extra, message):
    common = ["--hidden", "8", "--epochs", "2", "--quiet", "--out", tmp_path / "run"]
    started = time.monotonic()
    line = the_error(cli_ranks(common, [*common, *extra]))
    assert message in line
    assert time.monotonic() - started < 60
    assert not (tmp_path / "run" / "model.npz").exists()


def test_resume_of_a_missing_folder_on_one_rank_ends_the_job_with_one_line(needs_mpi, one_epoch_runs, tmp_path):
    good, _ = one_epoch_runs
    before = folder_state(good)
    missing = tmp_path / "nowhere"
    line = the_error(cli_ranks(["--resume", good, "--epochs", "3"], ["--resume", missing, "--epochs", "3"]))
    assert line.endswith(f"error: rank 1 of 2: --resume: no checkpoint at {missing}")
    assert folder_state(good) == before


def test_mismatched_resume_folders_are_refused_before_any_averaging(needs_mpi, one_epoch_runs):
    a, b = one_epoch_runs
    before = folder_state(a), folder_state(b)
    line = the_error(cli_ranks(["--resume", a, "--epochs", "3"], ["--resume", b, "--epochs", "3"]))
    assert "the ranks disagree on the training run: rank 1 has" in line
    assert (folder_state(a), folder_state(b)) == before  # no checkpoint and no model was written


def test_two_ranks_on_the_same_folder_copies_resume(needs_mpi, one_epoch_runs, tmp_path):
    """Equal states in different folders (a copy per machine) are fine: the states agree."""
    a, _ = one_epoch_runs
    copy = tmp_path / "copy"
    shutil.copytree(a, copy)
    result = cli_ranks(["--resume", copy, "--epochs", "2"], ["--resume", a, "--epochs", "2"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((copy / "history.json").read_text())["settings"]["epochs"] == 2


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the ranks through /proc")
def test_after_sigkill_of_mpiexecs_process_group_the_ranks_stop_writing(needs_mpi, tmp_path):
    out = tmp_path / "run"
    marker = f"LAYERPROP_TEST_RUN={os.getpid()}-{time.monotonic_ns()}"
    name, value = marker.split("=")
    env = {**mpi_env(), name: value}
    cmd = [MPIEXEC, "-n", "2", *TRANSPORTS["sm"], "-x", name, sys.executable, TINY, "train", "--distributed"]
    cmd += ["--hidden", "8", "--epochs", "100000", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (out / "checkpoint.npz").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        assert set(_pids_with(marker)) == {0, 1}
        os.killpg(proc.pid, signal.SIGKILL)  # mpiexec and its group; the ranks have groups of their own
        killed = time.monotonic()
        proc.communicate()
        while _pids_with(marker):
            assert time.monotonic() - killed < 10, "ranks outlived their launcher"
            time.sleep(0.05)
        gone = time.monotonic() - killed
        written = (out / "checkpoint.npz").stat().st_mtime_ns
        time.sleep(0.5)
        assert (out / "checkpoint.npz").stat().st_mtime_ns == written and gone < 5
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    from layerprop.io import load_model

    assert load_model(str(out / "checkpoint.npz")).metadata["trainer"]["epoch"] >= 1  # intact
    # the lock went with rank 0: the folder takes a new run at once
    again = run_bounded([sys.executable, TINY, "train", "--hidden", "8", "--epochs", "1", "--quiet", "--out", str(out)])
    assert again.returncode == 0, again.stderr

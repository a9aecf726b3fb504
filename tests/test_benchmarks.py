"""The CPU benchmark runs on a fresh checkout (a smoke test: it times nothing that is asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cpu_benchmark_prints_its_table():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "cpu.py"),
            "--rounds",
            "1",
            "--steps",
            "1",
            "--nets",
            "mlp50",
            "--no-torch",
            "--pause",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=True,
    )
    out = result.stdout
    assert "| network | layerprop |" in out
    row = next(line for line in out.splitlines() if line.startswith("| 784-50-10 |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1].endswith("ms") and cells[4].endswith("ms")  # layerprop and bare NumPy were timed
    assert cells[2].endswith("ms") or cells[2] == "–"  # layerprop --threads N (on a machine with N > 1 cores)
    assert cells[3] == "–"  # PyTorch left out
    assert "GFLOP/s" in out and "layerprop process:" in out

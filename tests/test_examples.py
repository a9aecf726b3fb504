"""Run every script in examples/ as a subprocess and check the numbers it prints, exactly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

EXPECTED = {
    "buy_apple.py": [
        "price (지불 금액): 220",
        "dapple (사과 가격에 대한 미분): 2.2",
        "dapple_num (사과 개수에 대한 미분): 110",
        "dtax (소비세에 대한 미분): 200",
        "dapple dapple_num dtax: 2.2 110 200",
    ],
    "buy_apple_orange.py": [
        "price (지불 금액): 715",
        "dapple_num (사과 개수): 110",
        "dapple (사과 가격): 2.2",
        "dorange (귤 가격): 3.3",
        "dorange_num (귤 개수): 165",
        "dtax (소비세): 650",
        "dapple_num dapple dorange dorange_num dtax: 110 2.2 3.3 165 650",
        "note 004's mul_apple_layer.backward(dorange_price) would give dorange, dorange_num: 2.2 110",
    ],
    "buy_apple_orange_graph.py": [
        "price (지불 금액): 715",
        "nodes (노드): × × + ×",
        "d price / d apple_num: 110",
        "d price / d apple: 2.2",
        "d price / d orange: 3.3",
        "d price / d orange_num: 165",
        "d price / d tax: 650",
    ],
    "relu_demo.py": [
        "x: [[1, -0.5], [-2, 3]]",
        "mask (x <= 0): [[False, True], [True, False]]",
        "forward out (순전파 출력): [[1, 0], [0, 3]]",
        "dout: [[1, 2], [3, 4]]",
        "backward dx (역전파 출력): [[1, 0], [0, 4]]",
        "dout after backward (unchanged, 그대로): [[1, 2], [3, 4]]",
        "second branch dx (same dout): [[0, 2], [3, 0]]",
    ],
    "sigmoid_demo.py": [
        "sigmoid(2) = 0.88079708",
        "backward with dout = 2: 0.20998717",
        "check: dout * y * (1 - y) = 0.20998717",
        "Input - [2, 0, 2, 0, 0, 2]",
        "Forward Propagation - [0.88079708, 0.5, 0.88079708, 0.5, 0.5, 0.88079708]",
        "Backward Propagation (dout = input) - [0.20998717, 0, 0.20998717, 0, 0, 0.20998717]",
        "sigmoid([-1000, 1000]) = [0, 1]",
    ],
    "affine_shapes.py": [
        "one sample: X (2,) · W (2, 3) + b (3,) → out (3,)",
        "out: [9.1, 12.2, 15.3]",
        "backward: dX (2,) dW (2, 3) db (3,)",
        "batch: X (4, 2) · W (2, 3) + b (3,) → out (4, 3)",
        "backward: dX (4, 2) dW (2, 3) db (3,)",
        "db = sum of dout over the batch: [4, 4, 4]",
        "images: X (2, 1, 1, 2) → out (2, 3) ; dX (2, 1, 1, 2)",
        "error: Affine: input x of shape (4, 3) has 3 features per sample, but W of shape (2, 3) expects 2",
    ],
    "softmax_with_loss.py": [
        "x: [[0.3, 2.9, 4], [1000, 1001, 1002]]",
        "max of each row (행마다 최댓값): [4, 1002]",
        "y = softmax(x): [[0.018211273, 0.24519181, 0.73659691], [0.090030573, 0.24472847, 0.66524096]]",
        "row sums: [1, 1]",
        "loss (손실): 1.3566602",
        "dx = (y - t) / N: [[0.0091056366, 0.12259591, -0.13170154], [-0.45498471, 0.12236424, 0.33262048]]",
        "loss with one-hot t: 1.3566602",
        "note 001's softmax (one max, one sum for the batch), row 0: [0, 0, 0]",
    ],
}


def run_example(name):
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONWARNINGS="error")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.splitlines()


@pytest.mark.parametrize("name", EXPECTED)
def test_example_prints_the_notes_numbers(name):
    assert run_example(name) == EXPECTED[name]


def test_every_example_is_tested_and_documented():
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts == set(EXPECTED)
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in scripts:
        assert f"`{name}`" in readme
    for mistake in ("maks", "mul_apple_layer.backward(dorange_price)", "exp_X_sum", "dout[self.mask] = 0"):
        assert mistake in readme

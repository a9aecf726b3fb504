"""``layerprop doctor FILE.py [CLASS ...] [--json] [--lang ko|en]``: exit codes, output, --json, Korean.

The learner's files are tests/doctor_files/*.py (right_layers.py passes; wrong_layers.py has one
mistake per class) and small files written into ``tmp_path``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from cli_helpers import run_cli

FILES = Path(__file__).parent / "doctor_files"
RIGHT, WRONG, NOTES = FILES / "right_layers.py", FILES / "wrong_layers.py", FILES / "notes_cells.py"


def test_right_layers_exit_0_with_one_line_each_then_the_details(capsys):
    code, out, err = run_cli(capsys, "doctor", RIGHT)
    assert code == 0 and err == ""
    lines = out.splitlines()
    summary = lines[: lines.index("")]
    names = ["Identity", "MulLayer", "AddLayer", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss", "ParamsDictAffine"]
    assert [line.split()[1] for line in summary] == names  # classes in file order; not_a_layer is a function
    assert all(line.startswith("✓ ") and line.endswith("  ok") for line in summary)
    assert "Affine: ✓ ok" in out and "rel. error" in out  # the details


def test_wrong_layers_exit_1_with_their_codes(capsys):
    code, out, _ = run_cli(capsys, "doctor", WRONG)
    assert code == 1
    summary = {line.split()[1]: line for line in out.splitlines() if line.startswith("✗ ")}
    assert "NoBackward" not in summary  # no backward: not a layer, so not checked unless named
    assert "forward-error: " in summary["TypoRelu"] and "self.maks — did you mean self.mask?" in summary["TypoRelu"]
    assert "wrong-gradient: " in summary["SameSideMulLayer"]
    assert "unstable: " in summary["NaiveSoftmaxWithLoss"]
    assert len(summary) == 13


def test_named_classes_only(capsys):
    code, out, _ = run_cli(capsys, "doctor", WRONG, "SameSideMulLayer", "NoBackward")
    assert code == 1
    summary = [line for line in out.splitlines() if line.startswith("✗ ")]
    assert [line.split()[1] for line in summary] == ["SameSideMulLayer", "NoBackward"]
    assert "not-a-layer" in summary[1]
    assert run_cli(capsys, "doctor", RIGHT, "Relu", "MulLayer")[0] == 0


def test_json(capsys):
    code, out, _ = run_cli(capsys, "doctor", NOTES, "--json")
    assert code == 1
    data = json.loads(out)
    assert [entry["layer"] for entry in data] == ["Relu", "InPlaceRelu", "SoftmaxWithLoss"]
    assert all(entry["ok"] is False for entry in data)
    assert [entry["problems"][0]["code"] for entry in data] == ["forward-error", "mutates-dout", "forward-error"]
    problem = data[0]["problems"][0]
    assert "self.mask" in problem["message"] and "self.mask의 오타" in problem["message_ko"]
    ok = json.loads(run_cli(capsys, "doctor", RIGHT, "Relu", "--json")[1])
    assert ok[0]["ok"] is True and ok[0]["problems"] == [] and ok[0]["gradients"][0]["name"] == "x"


def test_korean(capsys):
    code, out, _ = run_cli(capsys, "doctor", NOTES, "--lang", "ko")
    assert code == 1
    assert "self.mask의 오타가 아닌가요?" in out and "제자리에서 바꿨습니다" in out and "문제 1개" in out
    assert "def softmax(self, x)로 쓰세요" in out
    assert "통과" in run_cli(capsys, "doctor", RIGHT, "Relu", "--lang=ko")[1]


def test_what_the_file_prints_stays_off_the_json(tmp_path, capsys):
    path = tmp_path / "talkative.py"
    path.write_text(
        "print('hello from the top level')\n"
        "class Twice:\n"
        "    def forward(self, x):\n"
        "        print('forward')\n"
        "        return 2 * x\n"
        "    def backward(self, dout):\n"
        "        return 2 * dout\n",
        encoding="utf-8",
    )
    code, out, err = run_cli(capsys, "doctor", path, "--json")
    assert code == 0 and json.loads(out)[0]["ok"] is True
    assert "hello from the top level" in err and "forward" in err


def test_the_files_folder_is_on_the_path_and_main_blocks_do_not_run(tmp_path, capsys):
    (tmp_path / "layer_naive.py").write_text(
        "class MulLayer:\n"
        "    def forward(self, x, y):\n"
        "        self.x, self.y = x, y\n"
        "        return x * y\n"
        "    def backward(self, dout):\n"
        "        return dout * self.y, dout * self.x\n",
        encoding="utf-8",
    )
    (tmp_path / "buy_apple.py").write_text(  # the notes' `from layer_naive import MulLayer`
        "from layer_naive import MulLayer\n"
        "class Tax(MulLayer):\n"
        "    pass\n"
        "if __name__ == '__main__':\n"
        "    raise SystemExit('a main block must not run')\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli(capsys, "doctor", tmp_path / "buy_apple.py")
    assert code == 0
    assert [line.split()[1] for line in out.splitlines() if line.startswith("✓ ")] == ["Tax"]  # not the imported one
    code, out, _ = run_cli(capsys, "doctor", tmp_path / "buy_apple.py", "MulLayer")
    assert code == 0 and "✓ MulLayer" in out


def one_line_error(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_usage_errors_exit_2_with_one_line(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("class Relu:\n    def forward(self, x)\n        return x\n", encoding="utf-8")
    failing = tmp_path / "failing.py"
    failing.write_text("import numpy as np\nx = np.zeros(3)\ny = undefined_name + x\n", encoding="utf-8")
    exiting = tmp_path / "exiting.py"
    exiting.write_text("import sys\nsys.exit(5)\n", encoding="utf-8")
    empty = tmp_path / "empty.py"
    empty.write_text("def forward(x):\n    return x\n", encoding="utf-8")
    text = tmp_path / "notes.txt"
    text.write_text("", encoding="utf-8")
    cases = [
        ((tmp_path / "missing.py",), "no such file"),
        ((text,), "is not a Python file"),
        ((broken,), "broken.py failed to run"),
        ((failing,), "NameError: name 'undefined_name' is not defined (line 3)"),
        ((exiting,), "SystemExit: 5"),
        ((empty,), "defines no class with forward and backward"),
        ((RIGHT, "Nope"), "has no class Nope (its layers: Identity, MulLayer"),
        ((RIGHT, "not_a_layer"), "not_a_layer in"),
    ]
    for argv, expected in cases:
        code, out, err = run_cli(capsys, "doctor", *argv)
        assert code == 2 and out == "", (argv, out, err)
        line = one_line_error(err)
        assert line.startswith("layerprop doctor: error: ") and expected in line, (argv, line)
    code, _, err = run_cli(capsys, "doctor", broken)
    assert "SyntaxError" in err and "(line 2)" in err


def test_usage_errors_in_korean(tmp_path, capsys):
    code, _, err = run_cli(capsys, "doctor", tmp_path / "missing.py", "--lang", "ko")
    assert code == 2 and one_line_error(err) == f"layerprop doctor: 오류: 파일이 없습니다: {tmp_path / 'missing.py'}"
    code, _, err = run_cli(capsys, "doctor", "--lang", "ko")
    assert code == 2 and "오류: 검사할 파일을 주세요" in one_line_error(err)
    code, _, err = run_cli(capsys, "doctor", RIGHT, "--lang", "fr")
    assert code == 2 and "--lang takes ko or en, got fr" in one_line_error(err)


def test_help_says_the_file_is_run(capsys):
    code, out, _ = run_cli(capsys, "doctor", "--help")
    assert code == 0
    assert "python FILE.py" in out and "is run" in out and "Exit status: 0" in out


def test_in_a_real_process():
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent.parent / "src"))
    done = subprocess.run(
        [sys.executable, "-m", "layerprop", "doctor", str(NOTES), "Relu", "--lang", "ko"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
    )
    assert done.returncode == 1 and "self.mask의 오타" in done.stdout

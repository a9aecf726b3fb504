"""``layerprop lab --layers FILE.py`` without a browser: the Doctor panel's listing, the graph with the
learner's classes standing for chosen nodes, the doctor's verdict per node, and the refusals."""

import sys
from pathlib import Path

import pytest

from layerprop.lab import LabLimitError, graphs

FILES = Path(__file__).parent / "doctor_files"
sys.path.insert(0, str(FILES))


@pytest.fixture(scope="module")
def layers():
    from layerprop.doctor.learner_file import load_layers
    from layerprop.lab.learner_layers import LearnerLayers

    return LearnerLayers(load_layers(FILES / "lab_layers.py", quiet=True), FILES / "lab_layers.py")


def test_listing_gives_each_class_and_its_verdict_in_both_languages(layers):
    listing = layers.listing()
    assert listing["file"] == "lab_layers.py"
    entries = {entry["name"]: entry for entry in listing["layers"]}
    assert list(entries) == ["MulLayer", "SameSideMulLayer", "TypoSigmoid", "NeedsFactor"]
    assert entries["MulLayer"]["ok"] and entries["MulLayer"]["inputs"] == 2 and entries["MulLayer"]["buildable"]
    assert entries["TypoSigmoid"]["inputs"] == 1
    assert [p["code"] for p in entries["SameSideMulLayer"]["problems"]] == ["wrong-gradient", "wrong-gradient"]
    assert entries["SameSideMulLayer"]["verdict"] == {"en": "2 problems", "ko": "문제 2개"}
    typo = entries["TypoSigmoid"]["problems"][0]
    assert typo["code"] == "backward-error" and "self.out의 오타" in typo["message_ko"]
    assert not entries["NeedsFactor"]["buildable"] and entries["NeedsFactor"]["problems"][0]["code"] == "cannot-build"


def test_a_learners_layer_stands_for_a_node_with_the_same_numbers(layers):
    plain = graphs.evaluate({"preset": "apple-orange"})
    mine = layers.evaluate({"preset": "apple-orange", "mine": {"n0": "MulLayer", "n3": "MulLayer"}})
    assert mine["outputs"] == plain["outputs"] == [{"name": "price", "value": "715", "number": 715.0000000000001}]
    assert [i["grad"] for i in mine["inputs"]] == [i["grad"] for i in plain["inputs"]]
    assert set(mine["verdicts"]) == {"n0", "n1", "n2", "n3"}
    assert all(v["ok"] for v in mine["verdicts"].values())
    assert [v["mine"] for v in mine["verdicts"].values()] == [True, False, False, True]
    assert mine["rules"]["n0"]["layer"] == "MulLayer" and 'data-verdict="right"' in mine["svg"]
    forward = [step for step in mine["steps"]["ko"] if step["phase"] == "forward"]
    assert forward[0]["verdict"] == "닥터: ✓ 통과"


def test_a_wrong_layer_is_marked_on_its_node(layers):
    result = layers.evaluate({"preset": "apple", "mine": {"n0": "SameSideMulLayer"}})
    verdict = result["verdicts"]["n0"]
    assert not verdict["ok"] and verdict["mark"]["en"].startswith("✗ rel. error")
    assert verdict["summary"]["ko"].startswith("wrong-gradient: dx의 값이 틀렸습니다")
    assert result["verdicts"]["n1"]["ok"]
    assert result["svg"].count('data-verdict="wrong"') == 1
    # the learner's backward is the one that ran: apple.grad = dout·apple (not dout·apple_num)
    assert {i["name"]: i["grad"] for i in result["inputs"]}["apple"] == "110"


def test_a_learners_error_is_one_line_in_both_languages(layers):
    with pytest.raises(LabLimitError) as error:
        layers.evaluate({"expr": "sigmoid(x) * 2", "values": {"x": 1.0}, "mine": {"n0": "TypoSigmoid"}})
    assert str(error.value).startswith("TypoSigmoid: backward raised AttributeError")
    assert "self.outt — did you mean self.out?" in str(error.value)
    assert "self.out의 오타" in error.value.message_ko


@pytest.mark.parametrize(
    "mine, expected",
    [
        ({"n0": "Nope"}, "'Nope' is not a class of the --layers file"),
        ({"n0": "NeedsFactor"}, "NeedsFactor needs constructor arguments"),
        ({"n0": "TypoSigmoid"}, "TypoSigmoid.forward takes 1 input(s), but the node × passes 2"),
        (["n0"], "mine must be an object"),
    ],
)
def test_refusals(layers, mine, expected):
    with pytest.raises(LabLimitError) as error:
        layers.evaluate({"preset": "apple", "mine": mine})
    assert expected in str(error.value) and error.value.message_ko


def test_the_network_preset_keeps_layerprops_layers(layers):
    with pytest.raises(LabLimitError, match="expression"):
        layers.evaluate({"preset": "two-layer-net", "mine": {"n0": "MulLayer"}})


def test_cli_usage_errors_for_the_layers_file(tmp_path, capsys):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    from cli_helpers import run_cli

    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n", encoding="utf-8")
    for path, expected in (
        (tmp_path / "missing.py", "no such file"),
        (empty, "defines no class with forward and backward"),
    ):
        code, _, err = run_cli(capsys, "lab", "--no-browser", "--layers", path)
        assert code == 2 and expected in err and len(err.strip().splitlines()) == 1


def test_lab_help_says_the_layers_file_is_run(capsys):
    from cli_helpers import run_cli

    code, out, _ = run_cli(capsys, "lab", "--help")
    assert code == 0 and "--layers FILE.py" in out and "python FILE.py" in out

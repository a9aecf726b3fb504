"""``layerprop lab --layers tests/doctor_files/lab_layers.py`` in a real browser (see lab_helpers): the
Doctor panel, a learner's class chosen for a node, its verdict in the drawing and the stepper, Korean,
and a learner's error shown as one line. One lab process and one browser serve the module."""

import json
import urllib.request
from pathlib import Path

import pytest
from lab_helpers import LabProcess
from test_lab_browser import screenshot, version, wait_version_after

LAYERS_FILE = Path(__file__).parent / "doctor_files" / "lab_layers.py"


@pytest.fixture(scope="module")
def lab():  # the module's own lab, with --layers (the browser is conftest's)
    process = LabProcess(["--layers", LAYERS_FILE])
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def page(browser):
    opened = browser.new_page()
    yield opened
    opened.context.close()


def open_apples(page, lab):
    page.goto(lab.url)
    page.wait_for_selector("#doctor-panel .doctor-layer")
    v = version(page)
    page.select_option("#preset", "apple")
    wait_version_after(page, v)
    page.wait_for_selector("#rules select.mine-choice")


def choose(page, node, name):
    v = version(page)
    page.select_option(f'#rules select.mine-choice[data-node="{node}"]', name)
    wait_version_after(page, v)


def test_the_doctor_panel_lists_each_class_with_its_verdict(lab, page, tmp_path):
    page.goto(lab.url)
    page.wait_for_selector("#doctor-panel .doctor-layer")
    layers = page.evaluate(
        "Array.from(document.querySelectorAll('#doctor-panel .doctor-layer')).map(e => [e.dataset.layer, e.dataset.ok])"
    )
    assert layers == [
        ["MulLayer", "true"],
        ["SameSideMulLayer", "false"],
        ["TypoSigmoid", "false"],
        ["NeedsFactor", "false"],
    ]
    same_side = page.text_content('#doctor-panel .doctor-layer[data-layer="SameSideMulLayer"]')
    assert "✗ SameSideMulLayer" in same_side and "wrong-gradient" in same_side and "dx is wrong" in same_side
    assert "self.outt — did you mean self.out?" in page.text_content('#doctor-panel [data-layer="TypoSigmoid"]')
    assert "lab_layers.py" in page.text_content("#doctor-panel")
    assert page.errors == []
    screenshot(page, tmp_path, "lab-doctor-panel.png")


def test_my_layer_stands_for_a_node_and_gets_a_check_mark(lab, page):
    open_apples(page, lab)
    options = page.evaluate(
        "Array.from(document.querySelectorAll('#rules select.mine-choice[data-node=n0] option')).map(o => o.value)"
    )
    assert options == ["", "MulLayer", "SameSideMulLayer"]  # two inputs, buildable: not TypoSigmoid, NeedsFactor
    choose(page, "n0", "MulLayer")
    assert page.get_attribute("#drawing [data-node=n0]", "data-verdict") == "right"
    assert page.text_content("#drawing [data-node=n0] .label") == "MulLayer"
    assert page.get_attribute("#drawing [data-node=n1]", "data-verdict") == "right"
    assert page.text_content("#outputs").strip() == "price = 220"  # the preset names its output
    grads = page.evaluate("Array.from(document.querySelectorAll('.input-row .grad')).map(g => g.dataset.value)")
    assert grads == ["2.2", "110", "200"]
    assert page.input_value('#rules select.mine-choice[data-node="n0"]') == "MulLayer"  # the choice stays


def test_a_wrong_layer_is_red_and_the_stepper_says_why(lab, page, tmp_path):
    open_apples(page, lab)
    choose(page, "n0", "SameSideMulLayer")
    assert page.get_attribute("#drawing [data-node=n0]", "data-verdict") == "wrong"
    assert page.text_content("#drawing [data-node=n0] .verdict").startswith("✗ rel. error")
    assert page.get_attribute("#rules .mine-verdict", "data-ok") == "false"
    grads = page.evaluate("Array.from(document.querySelectorAll('.input-row .grad')).map(g => g.dataset.value)")
    assert grads[0] == "110"  # apple.grad from the learner's backward: dout·apple, not dout·apple_num
    page.click("#first")
    page.click("#next")  # forward 1: the node n0
    assert page.text_content("#step-verdict").startswith("doctor: ✗ rel. error")
    assert "wrong-gradient" in page.text_content("#step-verdict")
    page.click("#next")
    assert page.text_content("#step-verdict") == "doctor: ✓ ok"
    screenshot(page, tmp_path, "lab-my-layer-wrong.png")
    page.select_option('#rules select.mine-choice[data-node="n0"]', "")  # back to layerprop's: no marks
    page.wait_for_function("!document.querySelector('#drawing [data-verdict]')")


def test_korean(lab, page):
    open_apples(page, lab)
    choose(page, "n0", "SameSideMulLayer")
    page.click("#lang")
    assert page.text_content("#doctor-panel h2") == "닥터"
    assert "dx의 값이 틀렸습니다" in page.text_content('#doctor-panel [data-layer="SameSideMulLayer"]')
    assert page.text_content("#rules select.mine-choice[data-node=n0] option:checked") == "SameSideMulLayer (내 계층)"
    page.click("#first")
    page.click("#next")
    assert page.text_content("#step-verdict").startswith("닥터: ✗ 상대 오차")


def test_a_learners_error_is_shown_as_one_line(lab, page):
    page.goto(lab.url)
    page.wait_for_selector("#doctor-panel .doctor-layer")
    v = version(page)
    page.fill("#expr", "sigmoid(x) * 2")
    page.press("#expr", "Enter")
    wait_version_after(page, v)
    page.select_option('#rules select.mine-choice[data-node="n0"]', "TypoSigmoid")
    page.wait_for_selector("#graph-error:not([hidden])")
    error = page.text_content("#graph-error")
    assert error.startswith("TypoSigmoid: backward raised AttributeError") and "did you mean self.out?" in error
    assert page.errors == []


def test_the_layers_api_needs_the_token_and_names_only_the_files_classes(lab):
    request = urllib.request.Request(
        f"{lab.base}/api/layers/graph",
        data=json.dumps({"preset": "apple", "mine": {"n0": "os.system"}}).encode(),
        headers={"Content-Type": "application/json", "X-Lab-Token": lab.token},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert "is not a class of the --layers file" in json.loads(refused.value.read())["error"]
    with pytest.raises(urllib.error.HTTPError) as forbidden:
        urllib.request.urlopen(f"{lab.base}/api/layers", timeout=30)
    assert forbidden.value.code == 403

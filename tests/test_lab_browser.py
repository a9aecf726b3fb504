"""``layerprop lab`` in a real browser (headless Chromium via Playwright; see lab_helpers).

One lab process and one browser serve the whole module; each test opens its own page.
Screenshots go to ``tmp_path`` (and, with LAYERPROP_SCREENSHOTS=DIR, to DIR — how the README's
pictures under docs/ were made).
"""

import http.client
import json
import os
import socket
import urllib.request
from pathlib import Path


def screenshot(page, tmp_path, name):
    path = tmp_path / name
    page.screenshot(path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    folder = os.environ.get("LAYERPROP_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


def grads(page) -> dict:
    return page.evaluate("""Object.fromEntries(Array.from(document.querySelectorAll('.input-row'))
        .map(r => [r.dataset.name, r.querySelector('.grad').dataset.value]))""")


def wait_version_after(page, version):
    page.wait_for_function(f"Number(document.body.dataset.graphVersion || 0) > {version}")


def version(page) -> int:
    return int(page.evaluate("Number(document.body.dataset.graphVersion || 0)"))


def test_typed_expression_gives_the_notes_numbers(lab, chromium, tmp_path):
    page = chromium.new_page()
    page.goto(lab.url)
    page.wait_for_selector(".input-row[data-name=tax]")
    page.select_option("#preset", "apple")
    page.wait_for_function("document.querySelector('#outputs').textContent.includes('220')")
    v = version(page)
    page.fill("#expr", "(apple*apple_num + orange*orange_num)*tax")
    page.press("#expr", "Enter")
    wait_version_after(page, v)
    for name, value in (("orange", "150"), ("orange_num", "3")):
        v = version(page)
        page.fill(f".input-row[data-name={name}] input.field", value)
        page.press(f".input-row[data-name={name}] input.field", "Enter")
        page.dispatch_event(f".input-row[data-name={name}] input.field", "change")
        wait_version_after(page, v)
    page.wait_for_function("document.querySelector('#outputs').textContent.trim() === 'out = 715'")
    assert grads(page) == {"apple": "2.2", "apple_num": "110", "orange": "3.3", "orange_num": "165", "tax": "650"}
    drawn = page.evaluate("Array.from(document.querySelectorAll('#drawing .grad.visible')).map(e => e.textContent)")
    assert sorted(drawn) == sorted(["2.2", "110", "3.3", "165", "650", "1.1", "1.1", "1.1", "1"])
    assert page.errors == []
    screenshot(page, tmp_path, "lab-graph-apple-orange.png")


def test_slider_recomputes_the_gradient_and_the_branch_sum(lab, chromium, tmp_path):
    page = chromium.new_page()
    page.goto(lab.url)
    page.wait_for_selector(".input-row[data-name=tax]")
    page.select_option("#preset", "branch")  # x * x + 3 * x at x = 2
    page.wait_for_function("document.querySelector('#branch-sums').textContent.includes('x.grad = 2 + 2 + 3 = 7')")
    assert grads(page) == {"x": "7"}
    page.eval_on_selector(
        ".input-row[data-name=x] input.slider",
        "s => { s.value = '3'; s.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    page.wait_for_function("document.querySelector('#branch-sums').textContent.includes('x.grad = 3 + 3 + 3 = 9')")
    assert grads(page) == {"x": "9"}  # d(x² + 3x)/dx = 2x + 3 at x = 3
    assert page.input_value(".input-row[data-name=x] input.field") == "3"
    sums = page.evaluate(
        "Array.from(document.querySelectorAll('#drawing .branch-sum.visible')).map(e => e.textContent)"
    )
    assert sums == ["x.grad = 3 + 3 + 3 = 9"]
    screenshot(page, tmp_path, "lab-graph-branch.png")


def test_stepper_replays_forward_then_backward(lab, chromium):
    page = chromium.new_page()
    page.goto(lab.url)
    page.wait_for_selector(".input-row[data-name=tax]")  # apple-orange: 4 forward, seed, 4 backward
    page.click("#first")
    state = "[document.getElementById('status').dataset.phase, document.getElementById('status').dataset.step]"
    visible = "Array.from(document.querySelectorAll('#drawing .%s.visible')).map(e => e.textContent)"
    assert page.evaluate(state) == ["start", "0"]
    assert page.evaluate(visible % "grad") == []
    assert "715" not in page.evaluate(visible % "value")
    for step in range(1, 5):
        page.click("#next")
        assert page.evaluate(state) == ["forward", str(step)]
    assert "715" in page.evaluate(visible % "value")
    page.click("#next")
    assert page.evaluate(state) == ["seed", "5"]
    assert page.evaluate(visible % "grad") == ["1"]
    for step in range(6, 10):
        page.click("#next")
        assert page.evaluate(state) == ["backward", str(step)]
    assert page.text_content("#step-rule") == "× node (MulLayer): dx = dout·y, dy = dout·x"
    assert page.is_disabled("#next")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(state) == ["backward", "8"]


def test_check_marks_every_input(lab, chromium):
    page = chromium.new_page()
    page.goto(lab.url)
    page.wait_for_selector(".input-row[data-name=tax]")
    page.click("#check")
    page.wait_for_selector(".input-row[data-name=tax] .check[data-ok]")
    marks = page.evaluate("Array.from(document.querySelectorAll('.input-row .check')).map(c => c.dataset.ok)")
    assert marks == ["true"] * 5
    assert "2.2" in page.text_content(".input-row[data-name=apple] .check")  # the numerical gradient


def test_train_a_toy_network_and_watch_it_learn(lab, chromium, tmp_path):
    page = chromium.new_page()
    page.goto(lab.url)
    page.click("#tab-train")
    page.wait_for_function("window.lab.train.first && window.lab.train.first.step === 0")
    first = page.evaluate("window.lab.train.first")
    page.click("#start")
    page.wait_for_function("window.lab.train.latest.step >= 150")
    screenshot(page, tmp_path, "lab-train.png")  # mid-training
    page.wait_for_function("window.lab.train.latest.step >= 300")
    page.click("#pause")
    page.wait_for_function("window.lab.train.latest.running === false")
    latest = page.evaluate("window.lab.train.latest")
    losses = [loss for _, loss in latest["losses"]]
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10, "the loss did not fall"
    assert latest["accuracy"] > first["accuracy"]
    changed = sum(a != b for a, b in zip(first["boundary"]["classes"], latest["boundary"]["classes"]))
    assert changed > 0.05 * len(first["boundary"]["classes"]), "the decision boundary did not change"
    assert page.evaluate("window.lab.train.snapshots") >= 5  # live updates reached the page
    step = latest["step"]
    page.click("#single")  # one step while paused
    page.wait_for_function(f"window.lab.train.latest.step === {step + 1}")
    page.click("#network .param[data-key=W2]")  # an edge of the layer graph: W2 and its gradient
    page.wait_for_function("window.lab.train.latest.inspect.key === 'W2'")
    assert "W2" in page.text_content("#inspect")
    page.click("#network .act[data-key=Affine1]")  # the edge out of Affine1: its output and gradient
    page.wait_for_function("window.lab.train.latest.inspect.key === 'Affine1'")
    assert page.evaluate("window.lab.train.latest.inspect.shape") == [64, 8]
    page.select_option("#dataset", "xor")  # new settings: a new job from step 0
    page.wait_for_function("window.lab.train.latest.config.dataset === 'xor' && window.lab.train.latest.step === 0")
    assert page.errors == []


def test_korean(lab, chromium):
    page = chromium.new_page()
    page.goto(lab.url)
    page.wait_for_selector(".input-row[data-name=tax]")
    page.click("#lang")
    assert page.text_content("#tab-graph") == "계산 그래프"
    assert page.evaluate("document.documentElement.lang") == "ko"
    assert page.text_content("#step-heading") == "역전파 4 / 4"
    page.select_option("#preset", "two-layer-net")
    page.wait_for_selector(".input-row[data-name=W1]")
    assert "x > 0인 곳" in page.text_content("#rules")  # Relu's rule, in Korean, from the layer
    assert page.locator(".input-row[data-name=W1] input.cell").count() == 12  # a field per element
    before = page.get_attribute(".input-row[data-name=b1] .grad", "data-value")
    v = version(page)
    page.focus(".input-row[data-name=b2] input.cell[data-index='1']")  # the slider now moves b2[1]
    page.eval_on_selector(
        ".input-row[data-name=b2] input.slider",
        "s => { s.value = '2'; s.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    wait_version_after(page, v)
    assert page.input_value(".input-row[data-name=b2] input.cell[data-index='1']") == "2"
    assert page.get_attribute(".input-row[data-name=b1] .grad", "data-value") != before
    page.click("#tab-train")
    assert page.text_content("#reset") == "초기화"
    page.click("#lang")
    assert page.text_content("#reset") == "Reset"


def test_language_follows_the_browser(lab, chromium):
    page = chromium.new_page(locale="ko-KR")
    page.goto(lab.url)
    page.wait_for_selector(".input-row[data-name=tax]")
    assert page.text_content("#tab-train") == "학습"


def _status(lab, path, headers=None, method="GET", body=None):
    connection = http.client.HTTPConnection("127.0.0.1", lab.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, reply.read().decode()
    finally:
        connection.close()


def test_token_host_and_origin_are_checked(lab):
    host = {"Host": f"127.0.0.1:{lab.port}"}
    assert _status(lab, f"/?token={lab.token}", host)[0] == 200
    status, text = _status(lab, "/", host)
    assert status == 403 and "token" in text
    assert _status(lab, "/?token=wrong", host)[0] == 403
    assert _status(lab, "/api/limits", host)[0] == 403
    status, text = _status(lab, f"/?token={lab.token}", {"Host": f"attacker.example:{lab.port}"})
    assert status == 403 and "Host" in text  # DNS rebinding
    status, _ = _status(
        lab,
        "/api/graph",
        {**host, "X-Lab-Token": lab.token, "Origin": "http://attacker.example"},
        "POST",
        json.dumps({"preset": "apple"}),
    )
    assert status == 403
    status, text = _status(
        lab, "/api/graph", {**host, "X-Lab-Token": lab.token}, "POST", json.dumps({"preset": "apple"})
    )
    assert status == 200 and json.loads(text)["outputs"][0]["value"] == "220"
    # a WebSocket from another site's page is refused at the handshake
    assert _websocket_handshake(lab, "http://attacker.example") != 101
    assert _websocket_handshake(lab, f"http://127.0.0.1:{lab.port}") == 101


def _websocket_handshake(lab, origin) -> int:
    with socket.create_connection(("127.0.0.1", lab.port), timeout=10) as sock:
        sock.sendall(
            (
                f"GET /ws/train?token={lab.token} HTTP/1.1\r\nHost: 127.0.0.1:{lab.port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: {origin}\r\n\r\n"
            ).encode()
        )
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def test_limits_are_stated_in_the_page(lab, chromium):
    page = chromium.new_page()
    page.goto(lab.url)
    page.wait_for_selector(".input-row[data-name=tax]")
    assert "300" in page.text_content("#limits")
    page.fill("#expr", "x" + "+x" * 200)
    page.press("#expr", "Enter")
    page.wait_for_selector("#graph-error:not([hidden])")
    assert "expression length" in page.text_content("#graph-error") and "300" in page.text_content("#graph-error")
    page.click("#lang")  # the same limit, in Korean
    page.press("#expr", "Enter")
    page.wait_for_function("document.querySelector('#graph-error').textContent.includes('수식 길이')")
    with urllib.request.urlopen(f"{lab.base}/api/limits?token={lab.token}", timeout=10) as reply:
        assert json.load(reply)["jobs"] >= 1


def test_a_diverged_network_is_shown_in_both_languages(lab, chromium):
    """lr 9.9 is under the stated limit of 10 but makes this network's weights overflow: the page
    keeps working (no NaN in the JSON) and says the training diverged, in English and in Korean."""
    page = chromium.new_page()
    page.goto(lab.url + "#train")
    page.wait_for_function("window.lab.train.latest && window.lab.train.latest.step === 0")
    page.select_option("#optimizer", "SGD")
    page.select_option("#activation", "relu")
    page.fill("#hidden", "256, 256, 256, 256")
    page.fill("#lr", "9.9")
    page.fill("#speed", "2000")
    page.dispatch_event("#speed", "change")
    page.wait_for_function(
        "window.lab.train.latest.config.lr === 9.9 && window.lab.train.latest.config.hidden.length === 4"
    )
    page.click("#start")
    page.wait_for_selector("#train-diverged:not([hidden])", timeout=60_000)
    step = page.evaluate("window.lab.train.latest.diverged.step")
    assert f"diverged at step {step}" in page.text_content("#train-diverged")
    loss, first = page.evaluate("[window.lab.train.latest.loss, window.lab.train.latest.losses[0][1]]")
    assert loss is None or loss > 10 * max(first, 1)  # the loss that blew up (null when not a number)
    assert page.text_content("#train-step") == str(step)  # the page did not freeze at step 0
    page.click("#lang")
    assert f"{step}단계에서 학습이 발산했습니다" in page.text_content("#train-diverged")
    page.fill("#lr", "0.03")  # a smaller rate: a new job, and the notice goes
    page.dispatch_event("#lr", "change")
    page.wait_for_selector("#train-diverged", state="hidden")
    assert page.errors == []

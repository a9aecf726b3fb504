"""Share by link, in headless Chromium: the page's whole state lives in the URL's # part (which a
browser never sends to the server), and opening the link in a fresh page restores it exactly.
(Fixtures: tests/conftest.py.)"""

import urllib.parse

from lab_helpers import open_graph_page, open_train_page, wait_for_job

STATE = "[document.getElementById('status').dataset.phase, document.getElementById('status').dataset.step]"


def _share(page) -> str:
    page.click("#share")
    page.wait_for_selector("#share-box:not([hidden])")
    return page.input_value("#share-link")


def test_a_shared_link_restores_the_expression_its_output_and_branch_sums(lab, chromium):
    page = open_graph_page(chromium, lab)
    page.fill("#expr", "price = x * x + 3 * x + y")
    page.press("#expr", "Enter")
    page.wait_for_selector(".input-row[data-name=y]")
    for name, value in (("x", "3"), ("y", "0.25")):
        page.fill(f".input-row[data-name={name}] input.field", value)
        page.dispatch_event(f".input-row[data-name={name}] input.field", "change")
    page.wait_for_function("document.querySelector('#outputs').textContent.trim() === 'price = 18.25'")
    page.click("#first")
    for _ in range(3):
        page.click("#next")
    assert page.evaluate(STATE) == ["forward", "3"]
    link = _share(page)
    base, _, fragment = link.partition("#")
    assert base == lab.url and fragment  # the state is in the # part only: it never reaches the server
    state = urllib.parse.parse_qs(fragment)
    assert state["expr"] == ["price = x * x + 3 * x + y"] and state["v.x"] == ["3"] and state["step"] == ["3"]

    fresh = chromium.new_page()  # a new browser context: nothing shared but the link
    fresh.goto(link)
    fresh.wait_for_function("document.querySelector('#outputs').textContent.trim() === 'price = 18.25'")
    assert fresh.input_value("#expr") == "price = x * x + 3 * x + y"
    assert fresh.input_value(".input-row[data-name=x] input.field") == "3"
    assert fresh.input_value(".input-row[data-name=y] input.field") == "0.25"
    assert fresh.text_content("#branch-sums") == "x.grad = 3 + 3 + 3 = 9"
    assert fresh.evaluate(STATE) == ["forward", "3"]
    fresh.click("#last")  # the branch sum is the last step, in the drawing too
    sums = fresh.evaluate(
        "Array.from(document.querySelectorAll('#drawing .branch-sum.visible')).map(e => e.textContent)"
    )
    assert sums == ["x.grad = 3 + 3 + 3 = 9"]


def test_a_preset_with_tensors_and_the_train_settings_survive_a_link(lab, chromium):
    page = open_graph_page(chromium, lab)
    page.select_option("#preset", "two-layer-net")
    page.wait_for_selector(".input-row[data-name=b2]")
    page.fill(".input-row[data-name=b2] input.cell[data-index='1']", "0.75")
    page.dispatch_event(".input-row[data-name=b2] input.cell[data-index='1']", "change")
    page.wait_for_function("window.lab.graph.inputs.find(i => i.name === 'b2').value[1] === 0.75")
    loss = page.text_content("#outputs")
    page.click("#tab-train")
    wait_for_job(page)
    page.select_option("#dataset", "spirals")
    page.fill("#hidden", "16, 12")
    page.dispatch_event("#hidden", "change")
    page.select_option("#activation", "relu")
    page.select_option("#optimizer", "Momentum")
    for field, value in (("#lr", "0.125"), ("#batch", "17"), ("#speed", "150"), ("#seed", "7")):
        page.fill(field, value)
        page.dispatch_event(field, "change")
    wait_for_job(page, "s.config.seed === 7 && s.config.steps_per_second === 150")
    config = page.evaluate("window.lab.train.latest.config")
    link = _share(page)

    fresh = chromium.new_page()
    fresh.goto(link)
    wait_for_job(fresh)
    assert fresh.evaluate("window.lab.train.latest.config") == config
    assert fresh.is_visible("#train-page") and fresh.is_hidden("#graph-page")
    assert fresh.input_value("#hidden") == "16, 12" and fresh.input_value("#lr") == "0.125"
    fresh.click("#tab-graph")
    fresh.wait_for_function(f"document.querySelector('#outputs').textContent === {loss!r}")
    assert fresh.input_value(".input-row[data-name=b2] input.cell[data-index='1']") == "0.75"


def test_drawn_points_travel_in_the_link(lab, chromium):
    page = open_train_page(chromium, lab)
    page.select_option("#dataset", "draw")
    box = page.locator("#boundary").bounding_box()
    for k, (x, y) in enumerate([(60, 60), (80, 70), (250, 240), (230, 260), (70, 250)]):
        page.click(f"#class-legend [data-class='{min(k // 2, 1)}']")
        page.mouse.click(box["x"] + 48 + x, box["y"] + 10 + y)
    wait_for_job(page, "s.config.samples === 5")
    points = page.evaluate("window.lab.train.latest.points")
    link = _share(page)
    fresh = chromium.new_page()
    fresh.goto(link)
    wait_for_job(fresh, "s.config.dataset === 'points'")
    restored = fresh.evaluate("window.lab.train.latest.points")
    assert restored["x"] == points["x"] and restored["t"] == points["t"]
    assert fresh.input_value("#dataset") == "draw"

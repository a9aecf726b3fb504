"""The step-through page in a real browser: headless Chromium driven by Playwright (see lab_helpers).

The test presses ArrowRight through every forward and backward step of the apple/orange page,
checks which values and gradients are visible, zooms, and saves a screenshot under ``tmp_path``.
A second page, a value used three times, ends with the branch sum ``x.grad = 2 + 2 + 3 = 7``.
"""

from layerprop import viz
from layerprop.graph import Variable

VISIBLE = """Array.from(document.querySelectorAll('.%s.visible'))
  .filter(e => getComputedStyle(e).visibility === 'visible').map(e => e.textContent)"""
STATE = "[document.getElementById('layerprop-page').dataset.step, document.getElementById('status').dataset.phase]"


def test_stepping_through_apple_orange_in_chromium(chromium, tmp_path):
    path = tmp_path / "apple_orange.html"
    viz.render(viz.example("apple-orange"), path, title="Apple and orange")
    page = chromium.new_page()
    page.goto(path.as_uri())
    page.wait_for_function("!!window.layerprop")
    steps = int(page.evaluate("document.getElementById('layerprop-page').dataset.steps"))
    assert steps == 10  # inputs, 4 forward, seed, 4 backward

    assert page.evaluate(STATE) == ["0", "start"]
    assert sorted(page.evaluate(VISIBLE % "value")) == sorted(["100", "2", "150", "3", "1.1"])
    assert page.evaluate(VISIBLE % "grad") == []

    for step in range(1, 5):  # forward, node by node
        page.keyboard.press("ArrowRight")
        assert page.evaluate(STATE) == [str(step), "forward"]
        assert (
            len(page.evaluate("Array.from(document.querySelectorAll('.node.current')).map(n => n.dataset.node)")) == 1
        )
    assert sorted(page.evaluate(VISIBLE % "value")) == sorted(
        ["100", "2", "150", "3", "200", "450", "650", "1.1", "715"]
    )
    assert page.evaluate(VISIBLE % "grad") == []
    assert "715" in page.text_content("#status")

    page.keyboard.press("ArrowLeft")  # one step back hides the output's value again
    assert page.evaluate(STATE) == ["3", "forward"]
    assert "715" not in page.evaluate(VISIBLE % "value")
    page.keyboard.press("ArrowRight")

    page.keyboard.press("ArrowRight")  # the seed: gradient 1 on the output edge
    assert page.evaluate(STATE) == ["5", "seed"]
    assert page.evaluate(VISIBLE % "grad") == ["1"]

    for step in range(6, steps):  # backward, node by node
        page.keyboard.press("ArrowRight")
        assert page.evaluate(STATE) == [str(step), "backward"]
        status = page.text_content("#status")
        assert "dout =" in status and "node (" in status
    assert page.text_content("#step-rule") == "× node (MulLayer): dx = dout·y, dy = dout·x"
    grads = page.evaluate(VISIBLE % "grad")
    assert sorted(grads) == sorted(["2.2", "110", "3.3", "165", "650", "1.1", "1.1", "1.1", "1"])

    page.keyboard.press("ArrowRight")  # past the last step: stays there
    assert page.evaluate(STATE) == [str(steps - 1), "backward"]
    assert page.is_disabled("#next")

    width = float(page.evaluate("document.querySelector('.drawing svg').getAttribute('width')"))
    page.click("#zoom-in")  # large graphs zoom and scroll instead of shrinking
    assert float(page.evaluate("document.querySelector('.drawing svg').getAttribute('width')")) > width * 1.2
    page.screenshot(path=str(tmp_path / "apple_orange_last_step.png"))
    assert (tmp_path / "apple_orange_last_step.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.errors == []


def test_branch_sum_is_the_last_step(chromium, tmp_path):
    x = Variable(2.0, name="x")
    y = x * x + 3 * x
    y.name = "y"
    y.backward()
    path = tmp_path / "branch.html"
    viz.render(y, path)
    page = chromium.new_page()
    page.goto(path.as_uri())
    page.wait_for_function("!!window.layerprop")
    assert page.evaluate(VISIBLE % "branch-sum") == []
    page.keyboard.press("End")
    assert page.evaluate("document.getElementById('status').dataset.phase") == "sum"
    assert page.evaluate(VISIBLE % "branch-sum") == ["x.grad = 2 + 2 + 3 = 7"]
    assert "x.grad = 2 + 2 + 3 = 7" in page.text_content("#step-numbers")


def test_a_wide_graph_wraps_to_fit_the_page(chromium, tmp_path):
    from layerprop.viz.html import PAGE_WIDTH

    path = tmp_path / "net.html"
    viz.render(viz.example("two-layer-net"), path)
    text = path.read_text(encoding="utf-8")
    assert "var layerpropStepper" in text and "var layerpropColours" in text  # the lab's stepper, inlined
    page = chromium.new_page()
    page.goto(path.as_uri())
    page.wait_for_function("!!window.layerprop")
    width = float(page.evaluate("document.querySelector('.drawing svg').getAttribute('width')"))
    assert width <= PAGE_WIDTH  # wrapped into rows (unwrapped it is about 2900 px)
    page.keyboard.press("End")
    assert page.evaluate("document.getElementById('status').dataset.phase") == "backward"
    page.click("#fit")
    fitted = page.evaluate("document.querySelector('.drawing svg').getBoundingClientRect().width")
    assert abs(fitted - (page.evaluate("document.querySelector('.drawing').clientWidth") - 2)) <= 2

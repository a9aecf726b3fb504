"""What a learner sees on the lab's pages, in headless Chromium: no state left over from a preset,
no stale diagram or boundary, drawings that fit the window, one Check report, full input names,
outputs named by the expression, labelled heatmaps with a colour scale, axes that are not clipped,
accuracy in percent, Start working again once a job slot frees, errors in Korean, layer names a
learner reads (Affine 1, ReLU 1). (Fixtures: tests/conftest.py.)"""

import pytest
from lab_helpers import open_graph_page, open_train_page, train_steps, wait_for_job

from layerprop.graph.expression import ExpressionError, parse_expression

WIDTHS = """(() => { const box = document.getElementById('drawing'), svg = box.querySelector('svg');
  const view = svg.viewBox.baseVal;
  return {box: box.clientWidth, scroll: box.scrollWidth, svg: svg.getBoundingClientRect().width,
          scale: svg.getBoundingClientRect().width / view.width}; })()"""


def _draw(page, expression):
    """Draw ``expression`` and wait for its drawing, or for a new error."""
    version = int(page.evaluate("window.lab.version"))
    before = page.text_content("#graph-error") if page.is_visible("#graph-error") else ""
    page.fill("#expr", expression)
    page.press("#expr", "Enter")
    page.wait_for_function(
        f"""window.lab.version > {version} || (!document.getElementById('graph-error').hidden
        && document.getElementById('graph-error').textContent !== {before!r})"""
    )


def test_a_preset_leaves_nothing_behind_in_a_custom_expression(lab, chromium):
    page = open_graph_page(chromium, lab)
    page.select_option("#preset", "two-layer-net")
    page.wait_for_selector(".input-row[data-name=W1]")
    _draw(page, "x * 2 + y")
    assert page.is_hidden("#graph-error"), page.text_content("#graph-error")
    assert page.text_content("#outputs") == "out = 3"  # x and y start at 1, not at the preset's tensor x
    assert page.input_value("#preset") == ""


@pytest.mark.parametrize("size", [(1400, 900), (1280, 720)], ids=["1400px", "laptop"])
@pytest.mark.parametrize(
    ("preset", "expression"),
    [("sigmoid", None), ("two-layer-net", None), (None, "tanh(w*x + b) * y"), (None, "a*b*c*d*e*f*g*h*i*j*k*l*m")],
)
def test_wide_drawings_fit_the_window_and_stay_readable(lab, chromium, size, preset, expression):
    page = chromium.new_page()
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(lab.url)
    page.wait_for_selector(".input-row[data-name=tax]")
    if preset:
        version = int(page.evaluate("window.lab.version"))
        page.select_option("#preset", preset)
        page.wait_for_function(f"window.lab.version > {version}")
    else:
        _draw(page, expression)
    widths = page.evaluate(WIDTHS)
    assert widths["svg"] <= widths["box"] and widths["scroll"] <= widths["box"], widths  # no sideways scrolling
    assert widths["scale"] >= 1.0, widths  # laid out to fit, not shrunk: the default zoom stays readable
    page.click("#zoom-in")
    assert page.evaluate(WIDTHS)["scroll"] > widths["box"] or widths["svg"] * 1.25 <= widths["box"]
    page.click("#fit")  # fit to width: exactly the box's width
    fitted = page.evaluate(WIDTHS)
    assert abs(fitted["svg"] - (fitted["box"] - 2)) <= 2, fitted


def test_the_drawing_follows_the_window_width(lab, chromium):
    page = open_graph_page(chromium, lab)
    page.select_option("#preset", "sigmoid")
    page.wait_for_function("window.lab.graph.preset === 'sigmoid'")
    wide = page.evaluate(WIDTHS)
    version = int(page.evaluate("window.lab.version"))
    page.set_viewport_size({"width": 1000, "height": 800})
    page.wait_for_function(f"window.lab.version > {version}")
    narrow = page.evaluate(WIDTHS)
    assert narrow["svg"] <= narrow["box"] < wide["box"] and narrow["scale"] >= 1.0


def test_check_reports_once_and_names_show_in_full(lab, chromium):
    page = open_graph_page(chromium, lab)
    page.click("#check")
    page.wait_for_selector(".input-row[data-name=tax] .check[data-ok]")
    summary = page.text_content("#check-results")
    assert "\n" not in summary and summary.startswith("✓ all 5 gradients match")
    assert "relative error" not in page.text_content("#branch-sums")  # the per-input results are not repeated
    names = page.evaluate(
        """Array.from(document.querySelectorAll('.input-row .name'))
        .map(n => [n.textContent, n.title, n.scrollWidth <= n.clientWidth])"""
    )
    assert names == [[n, n, True] for n in ("apple", "apple_num", "orange", "orange_num", "tax")]
    _draw(page, "a_rather_long_input_name * b")
    name = page.locator(".input-row[data-name=a_rather_long_input_name] .name")
    assert name.get_attribute("title") == "a_rather_long_input_name"  # the tooltip always has the full name


def test_an_assignment_names_the_output(lab, chromium):
    page = open_graph_page(chromium, lab)
    _draw(page, "price = (apple*n + orange*m)*tax")
    page.wait_for_selector(".input-row[data-name=m]")
    assert page.text_content("#outputs").startswith("price = ")
    assert "price" in page.evaluate(
        "Array.from(document.querySelectorAll('#drawing .node.output .label')).map(e => e.textContent)"
    )
    assert parse_expression("price = apple * n").output_name == "price"
    with pytest.raises(ExpressionError, match="unexpected '='"):
        parse_expression("a = b = c")


def test_korean_errors_read_as_korean(lab, chromium):
    page = open_graph_page(chromium, lab, locale="ko-KR")
    _draw(page, "x *")
    assert page.text_content("#graph-error") == "'*' 뒤에 피연산자가 없습니다 ('x *'의 3번째 글자)"
    _draw(page, "foo(x)")
    assert "모르는 함수 'foo'" in page.text_content("#graph-error")
    _draw(page, "x" + "+x" * 200)
    assert page.text_content("#graph-error") == "수식 길이(글자 수): 401 — 최대 300까지 쓸 수 있습니다"
    page.click("#lang")  # the same error, in English
    assert "expression length (characters): 401 is more than the limit of 300" in page.text_content("#graph-error")
    page.click("#tab-train")
    wait_for_job(page)
    page.fill("#hidden", "300")
    page.locator("#hidden").blur()  # the field's change: a new job, refused
    page.wait_for_selector("#train-error:not([hidden])")
    page.click("#lang")
    page.wait_for_function(
        "document.getElementById('train-error').textContent === '은닉층의 뉴런 수: 300 — 최대 256까지 쓸 수 있습니다'"
    )


def test_the_train_page_shows_the_network_it_trains(lab, chromium):
    page = open_train_page(chromium, lab)
    page.select_option("#dataset", "spirals")  # three classes: W3 is 8×3
    wait_for_job(page, "s.config.dataset === 'spirals'")
    assert page.text_content("#network .param[data-key=W3] .shape") == "8×3"
    titles = page.evaluate("Array.from(document.querySelectorAll('#network .layer text')).map(t => t.textContent)")
    assert titles == ["Affine 1", "tanh 1", "Affine 2", "tanh 2", "Affine 3", "SoftmaxWithLoss"]
    assert "Activation_function" not in page.text_content("#train-page")
    page.select_option("#dataset", "xor")  # two classes: the diagram follows
    wait_for_job(page, "s.config.dataset === 'xor'")
    assert page.text_content("#network .param[data-key=W3] .shape") == "8×2"
    latest = train_steps(page, 60)
    accuracy = page.text_content("#train-accuracy")
    assert accuracy.endswith(" %") and abs(float(accuracy[:-2]) - 100 * latest["accuracy"]) <= 0.05
    page.select_option("#dataset", "mnist")  # the boundary of the last toy set goes; the weights show
    wait_for_job(page, "s.config.dataset === 'mnist'")
    assert page.text_content("#network .param[data-key=W1] .shape") == "784×8"
    assert page.is_hidden("#boundary-figure") and page.is_visible("#filters-figure")
    assert page.locator("#filters canvas").count() == 8
    page.select_option("#activation", "relu")
    wait_for_job(page, "s.config.activation === 'relu'")
    assert "ReLU 1" in page.text_content("#network")


def test_heatmaps_have_labels_and_a_colour_scale_and_axes_fit(lab, chromium):
    page = open_train_page(chromium, lab)
    train_steps(page, 40)
    page.click("#network .param[data-key=W2]")
    page.wait_for_function("window.lab.train.latest.inspect.key === 'W2'")
    page.wait_for_function("document.querySelector('#heat-value-figure .caption').textContent === 'W2: values'")
    assert page.text_content("#heat-grad-figure .caption") == "W2: gradient (dL/dW2)"
    assert page.text_content("#heat-value-figure .axes") == "rows: 8 inputs · columns: 8 units"
    ends = page.evaluate(
        """(() => { const c = document.querySelector('#heat-value-figure canvas.scale').getContext('2d');
        return [Array.from(c.getImageData(8, 6, 1, 1).data), Array.from(c.getImageData(232, 6, 1, 1).data)]; })()"""
    )
    assert ends[0][2] > 200 and ends[0][0] < 60 and ends[1][0] > 200 and ends[1][2] < 60  # blue … red
    page.click("#network .act[data-key=Affine1]")
    page.wait_for_function("window.lab.train.latest.inspect.key === 'Affine1'")
    page.wait_for_function(
        "document.querySelector('#heat-value-figure .axes').textContent.startsWith('rows: 64 samples')"
    )
    for chart in ("loss-chart", "accuracy-chart", "norm-chart", "boundary"):
        # text and ticks stay inside the canvas: its outermost columns and rows are empty, its margins not
        edges = page.evaluate(
            f"""(() => {{ const c = document.getElementById('{chart}'), g = c.getContext('2d');
            const dark = (x, y, w, h) => {{ const d = g.getImageData(x, y, w, h).data;
              for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] < 140) return true; return false; }};
            return [dark(0, 0, 1, c.height), dark(c.width - 1, 0, 1, c.height), dark(0, c.height - 1, c.width, 1),
                    dark(2, 0, 40, c.height)]; }})()"""
        )
        assert edges == [False, False, False, True], (chart, edges)


def test_start_works_again_once_a_slot_frees(lab, browser):
    """Two train pages hold the two job slots; a third is refused — and its Start works once one closes."""
    pages = []
    try:
        for _ in range(2):
            page = browser.new_page()
            pages.append(page)
            page.goto(lab.url + "#train")
            wait_for_job(page)
        third = browser.new_page()
        pages.append(third)
        third.goto(lab.url + "#train")
        third.wait_for_selector("#train-error:not([hidden])")
        assert "limit is 2" in third.text_content("#train-error")
        third.click("#start")  # still full: refused again, and said so
        third.wait_for_selector("#train-error:not([hidden])")
        pages.pop(0).context.close()  # closing a page ends its connection, and so its job
        third.wait_for_function(
            """() => { document.getElementById('start').click();
            return window.lab.train.latest && window.lab.train.latest.running && window.lab.train.latest.step > 0; }""",
            polling=700,
        )
        assert third.is_hidden("#train-error")
        assert all(page.errors == [] for page in pages)
    finally:
        for page in pages:
            page.context.close()

"""Make the pictures of ``layerprop lab``: docs/images/lab-graph.png and docs/images/lab-train.png.

    python docs/make_screenshots.py        (needs the [lab] extra, Playwright and /usr/bin/chromium)

Starts the lab on a free port (tests/lab_helpers.py), draws a value used three times on the graph
page (its output named by the expression) and trains a small network on the spirals, photographing
the whole train page mid-training.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
sys.path.insert(0, str(HERE.parent / "tests"))

from lab_helpers import Chromium, LabProcess  # noqa: E402 - tests/ is put on the path just above


def main():
    lab, browser = LabProcess(), None
    try:
        browser = Chromium()
        page = browser.new_page()
        page.goto(lab.url)
        page.wait_for_selector(".input-row[data-name=tax]")
        page.fill("#expr", "z = x * x + 3 * x + exp(-x) * y")
        page.press("#expr", "Enter")
        page.wait_for_selector(".input-row[data-name=y]")
        page.wait_for_function("document.querySelector('#branch-sums').textContent.includes('=')")
        page.screenshot(path=str(IMAGES / "lab-graph.png"))

        page = browser.new_page()
        page.goto(lab.url + "#train")
        page.wait_for_function("window.lab.train.latest")
        page.select_option("#dataset", "spirals")
        page.fill("#hidden", "16, 16")
        page.press("#hidden", "Enter")
        page.dispatch_event("#hidden", "change")
        page.fill("#speed", "100")
        page.dispatch_event("#speed", "change")
        page.wait_for_function(
            "window.lab.train.latest && window.lab.train.latest.config.dataset === 'spirals' "
            "&& window.lab.train.latest.config.steps_per_second === 100"
        )
        page.click("#start")
        page.wait_for_function("window.lab.train.latest.step >= 600", timeout=60_000)
        page.click("#network .param[data-key=W2]")
        page.wait_for_function("window.lab.train.latest.inspect.key === 'W2'")
        page.screenshot(path=str(IMAGES / "lab-train.png"), full_page=True)  # down to the heatmaps and their scale
    finally:
        if browser is not None:
            browser.close()
        lab.stop()


if __name__ == "__main__":
    main()

"""The lab's notebook widgets (layerprop.lab.GraphWidget, TrainWidget).

- notebooks/lab_widgets.ipynb runs in a Jupyter kernel (nbclient), and the widget state that
  Jupyter saves with the notebook holds the shop's 715 and its gradients;
- the widgets' own script (the lab's page script, as one ES module) renders in headless Chromium
  with a stand-in for Jupyter's widget manager: the page's model messages go to the real Python
  widget object and back, as the kernel's comm carries them.
"""

from __future__ import annotations

import json
import os
import threading

import pytest
from notebook_helpers import NOTEBOOK_DIR, execute

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _widgets():
    try:
        from layerprop.lab import widgets
    except ImportError as exc:  # MissingExtraError is an ImportError
        if os.environ.get("CI") or os.environ.get("LAYERPROP_REQUIRE_BROWSER"):
            pytest.fail(f"anywidget is missing on CI (see .ci/run): {exc}")
        pytest.skip(f"anywidget is not installed ({exc})")
    return widgets


def test_the_widgets_notebook_runs_and_saves_the_numbers(monkeypatch, tmp_path):
    _widgets()
    book = execute(NOTEBOOK_DIR / "lab_widgets.ipynb", monkeypatch, tmp_path)
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"], [o for o in outputs if o.output_type == "error"]
    shown = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(shown) >= 4  # shop, more, branch, net
    states = [m["state"] for m in book.metadata["widgets"][WIDGET_STATE]["state"].values()]
    graphs = [s for s in states if s.get("view") == "graph" and s.get("result")]
    shop = next(s for s in graphs if s["values"].get("orange_num") == 3)
    assert shop["result"]["outputs"][0]["name"] == "price" and shop["result"]["outputs"][0]["value"] == "715"
    assert {i["name"]: i["grad"] for i in shop["result"]["inputs"]} == {
        "apple": "2.2",
        "apple_num": "110",
        "orange": "3.3",
        "orange_num": "165",
        "tax": "650",
    }
    assert "<svg" in shop["result"]["svg"] and "715" in shop["result"]["svg"]
    more = next(s for s in graphs if s["values"].get("orange_num") == 4)
    assert more["result"]["outputs"][0]["value"] == "880"
    trained = next(s for s in states if s.get("view") == "train")
    assert trained["snapshot"]["step"] >= 400 and trained["snapshot"]["accuracy"] > 0.9
    assert (tmp_path / "xor-model.npz").exists()


# -- the widgets' script in a browser ---------------------------------------------------------------
HARNESS = """async ({esm, css, state}) => {
  const style = document.createElement("style"); style.textContent = css; document.head.appendChild(style);
  const module = await import(URL.createObjectURL(new Blob([esm], {type: "text/javascript"})));
  const listeners = {}, dirty = {};
  const model = {  // what anywidget's model offers a widget's render()
    get: (key) => state[key],
    set: (key, value) => { state[key] = value; dirty[key] = value; },
    save_changes: () => {
      const sent = Object.assign({}, dirty);
      Object.keys(dirty).forEach(k => delete dirty[k]);
      window.pySet(sent);
    },
    on: (event, callback) => { (listeners[event] = listeners[event] || []).push(callback); },
    off: (event, callback) => { listeners[event] = (listeners[event] || []).filter(f => f !== callback); },
    send: (content) => { window.pySend(content); },
  };
  const emit = (event, ...args) => (listeners[event] || []).slice().forEach(f => f(...args));
  window.widgetModel = model;
  module.default.render({model, el: document.getElementById("out")});
  const poll = async () => {
    for (const e of await window.pyPoll()) {
      if (e.kind === "msg") emit("msg:custom", e.content, []);
      else { state[e.name] = e.value; emit("change:" + e.name); }
    }
    setTimeout(poll, 40);
  };
  poll();
}"""


class Kernel:
    """The widget's side of Jupyter's comm, in this process: what the page sends reaches the widget,
    and the widget's messages and trait changes are queued for the page to poll."""

    def __init__(self, widget, page):
        self.widget, self.events, self.lock, self.from_page = widget, [], threading.Lock(), False
        widget.send = lambda content, buffers=None: self.queue({"kind": "msg", "content": content})
        names = [n for n in widget.keys if not n.startswith("_")]
        widget.observe(self.changed, names=names)
        page.expose_function("pyPoll", self.poll)
        page.expose_function("pySend", lambda content: widget._on_message(widget, content, []))
        page.expose_function("pySet", self.set)
        state = {k: v for k, v in widget.get_state().items() if not k.startswith("_")}
        page.set_content('<html><body><div id="out"></div></body></html>')
        page.evaluate(HARNESS, {"esm": widget._esm, "css": widget._css, "state": json.loads(json.dumps(state))})

    def queue(self, event):
        with self.lock:
            self.events.append(json.loads(json.dumps(event)))

    def changed(self, change):
        if not self.from_page:  # Jupyter does not echo a change back to the page that made it
            self.queue(
                {
                    "kind": "change",
                    "name": change["name"],
                    "value": self.widget.get_state(change["name"])[change["name"]],
                }
            )

    def set(self, updates):
        self.from_page = True
        try:
            for key, value in updates.items():
                setattr(self.widget, key, value)
        finally:
            self.from_page = False

    def poll(self):
        with self.lock:
            events, self.events = self.events, []
        return events


def test_the_graph_widget_runs_the_page_script(browser):
    widgets = _widgets()
    widget = widgets.GraphWidget("(a*b + c*d)*t", a=100, b=2, c=150, d=3, t=1.1)
    page = browser.new_page()
    try:
        Kernel(widget, page)
        page.wait_for_selector(".lp-widget .input-row[data-name=t]")
        page.wait_for_function("document.querySelector('.lp-widget #outputs').textContent.trim() === 'out = 715'")
        grads = page.evaluate(
            "Object.fromEntries(Array.from(document.querySelectorAll('.lp-widget .input-row'))"
            ".map(r => [r.dataset.name, r.querySelector('.grad').dataset.value]))"
        )
        assert grads == {"a": "2.2", "b": "110", "c": "3.3", "d": "165", "t": "650"}
        page.click(".lp-widget #first")  # the stepper: the page's own, and the widget's state follows it
        page.wait_for_function("window.widgetModel.get('step') === 0")
        assert widget.step == 0
        page.fill(".lp-widget .input-row[data-name=d] input.field", "4")  # a change in the page reaches Python
        page.dispatch_event(".lp-widget .input-row[data-name=d] input.field", "change")
        page.wait_for_function("document.querySelector('.lp-widget #outputs').textContent.trim() === 'out = 880'")
        assert widget.values["d"] == 4 and round(widget.output, 9) == 880
        widget.values = {**widget.values, "a": 200}  # a change in Python reaches the page
        page.wait_for_function("document.querySelector('.lp-widget #outputs').textContent.trim() === 'out = 1100'")
        page.click(".lp-widget #check")
        page.wait_for_selector(".lp-widget .input-row[data-name=a] .check[data-ok=true]")
        assert page.errors == []
    finally:
        page.context.close()
        widget.close()


def test_the_train_widget_trains_in_the_kernel(browser):
    widgets = _widgets()
    widget = widgets.TrainWidget("xor", hidden=[8], steps_per_second=1000, lang="ko")
    page = browser.new_page()
    try:
        Kernel(widget, page)
        page.wait_for_selector(".lp-widget #start")
        assert page.text_content(".lp-widget #start") == "시작"  # the widget's language
        page.click(".lp-widget #start")
        page.wait_for_function("Number(document.querySelector('.lp-widget').dataset.trainStep || 0) >= 200")
        page.click(".lp-widget #pause")
        page.wait_for_function("window.widgetModel.get('snapshot').running === false")
        assert widget.snapshot["step"] >= 200
        page.click(".lp-widget #network .param[data-key=W2]")
        page.wait_for_function("window.widgetModel.get('snapshot').inspect.key === 'W2'")
        with page.expect_download() as download:
            page.click(".lp-widget #export-model")
        assert download.value.suggested_filename.endswith(".npz")
        assert page.errors == []
    finally:
        page.context.close()
        widget.close()

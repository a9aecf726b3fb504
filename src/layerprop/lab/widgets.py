"""The lab inside a notebook: the graph page and the train page as Jupyter widgets (anywidget).

    from layerprop.lab import GraphWidget, TrainWidget
    GraphWidget("price = (apple*n + orange*m)*tax", apple=100, n=2, orange=150, m=3, tax=1.1)
    TrainWidget("spirals", hidden=[16, 16])

Each widget runs the page's own script (:mod:`.assets`: the same views, stepper and words) in
Jupyter, JupyterLab, VS Code or Colab; the kernel answers what the lab's server answers on the page
(:mod:`.graphs`, :class:`.training.TrainSession`) — nothing listens on a port. Needs the extra:
``pip install 'layerprop[widgets]'`` (anywidget).

The widget's state holds the numbers it shows, so a notebook (and a saved notebook's widget state)
can read them: :attr:`GraphWidget.result` is the graph page's answer — the drawing, every input with
its value and gradient, the outputs, the branch sums, the rules and the steps — with
:attr:`~GraphWidget.output` and :attr:`~GraphWidget.gradients` as plain numbers;
:attr:`TrainWidget.snapshot` is the train page's latest snapshot (step, loss and accuracy curves,
the decision boundary, the inspected tensor). Setting ``values``, ``expression`` or ``preset``
from Python redraws the graph; :meth:`TrainWidget.train` trains a given number of steps and waits.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from ..errors import missing_extra
from . import graphs, userdata
from .assets import widget_css, widget_module
from .limits import LIMITS, REQUEST_ERRORS, LabLimitError, error_answer
from .training import JobSlots, TrainSession

try:
    import anywidget
    import traitlets
except ImportError:  # pragma: no cover - the message names the extra
    raise missing_extra("anywidget", "widgets", "layerprop's notebook widgets") from None

#: the training jobs of all widgets in one kernel share these slots (as the pages of one lab do)
SLOTS = JobSlots()
#: seconds between two snapshots sent to a train widget
PUSH_INTERVAL_S = 0.1


class _LabWidget(anywidget.AnyWidget):
    """What both widgets share: the script, the style, the language and the calls from the page."""

    _esm = widget_module()
    _css = widget_css()
    view = traitlets.Unicode("graph").tag(sync=True)
    lang = traitlets.Unicode("en").tag(sync=True)
    limits = traitlets.Dict(LIMITS).tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.on_msg(self._on_message)

    def _on_message(self, _, content, buffers):
        if not isinstance(content, dict):
            return
        if content.get("kind") == "call":
            try:
                reply = {
                    "kind": "reply",
                    "id": content.get("id"),
                    "result": self._call(content.get("name"), content.get("body") or {}),
                }
            except REQUEST_ERRORS as exc:
                answer = error_answer(exc)
                reply = {
                    "kind": "reply",
                    "id": content.get("id"),
                    "error": {"en": answer["error"], "ko": answer.get("error_ko")},
                }
            self.send(reply)
        elif content.get("kind") == "train":
            for message in self._train(content.get("message")):
                self.send({"kind": "train", "message": message})

    def _call(self, name, body):
        if name == "dataset":
            return userdata.parse_csv(body.get("csv"), body.get("name") or "")
        raise LabLimitError(f"unknown call {name!r}", f"모르는 요청 {name!r}")

    def _train(self, message) -> list:
        return []


class GraphWidget(_LabWidget):
    """The graph page for one expression (or one of the lab's presets), in a notebook cell.

    ``GraphWidget("(a*b + c*d)*t", a=100, b=2, c=150, d=3, t=1.1)``: the keyword arguments are the
    inputs' values (1 where none is given); ``GraphWidget(preset="sigmoid")`` draws a preset
    (``apple``, ``apple-orange``, ``sigmoid``, ``branch``, ``two-layer-net``). A bad expression raises
    its :class:`~layerprop.graph.expression.ExpressionError` here; later mistakes (typed into the
    widget) are shown in it and kept in ``error``.
    """

    view = traitlets.Unicode("graph").tag(sync=True)
    expression = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    preset = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    values = traitlets.Dict().tag(sync=True)
    #: the stepper's step shown (None: the last)
    step = traitlets.Int(None, allow_none=True).tag(sync=True)
    #: the graph page's answer for the expression and values (see the module docstring)
    result = traitlets.Dict().tag(sync=True)
    #: the last mistake: {"en", "ko"} (empty when there is none)
    error = traitlets.Dict().tag(sync=True)

    def __init__(self, expression: str | None = None, *, preset: str | None = None, lang: str = "en", **values):
        if expression is None and preset is None:
            preset = "apple-orange"
        self._quiet = True  # the traits below are set together; the graph is evaluated once, after
        super().__init__(
            expression=expression, preset=None if expression is not None else preset, values=values, lang=lang
        )
        self._quiet = False
        self.result = graphs.evaluate(self._request())

    def _request(self, extra: dict | None = None) -> dict:
        request = {"values": dict(self.values)}
        if self.expression is not None:
            request["expr"] = self.expression
        else:
            request["preset"] = self.preset
        request.update(extra or {})
        return request

    @traitlets.observe("expression", "preset", "values")
    def _redraw(self, change):
        if self._quiet:
            return
        try:
            self.result = graphs.evaluate(self._request())
            self.error = {}
        except REQUEST_ERRORS as exc:
            answer = error_answer(exc)
            self.error = {"en": answer["error"], "ko": answer.get("error_ko")}

    def _call(self, name, body):
        if name not in ("graph", "check"):
            return super()._call(name, body)
        if name == "check":
            return graphs.check(body)
        result = graphs.evaluate(body)
        self._quiet = True  # what the page asked for is what the widget now holds
        try:
            with self.hold_trait_notifications():
                self.expression = body.get("expr") if body.get("expr") else None
                self.preset = None if body.get("expr") else body.get("preset")
                self.values = {i["name"]: i["value"] for i in result["inputs"]}
                self.result = result
                self.error = {}
        finally:
            self._quiet = False
        return None  # the page reads the answer from "result"

    @property
    def output(self) -> float | None:
        """The (first) output's value, as a number."""
        outputs = self.result.get("outputs") or []
        return outputs[0].get("number") if outputs else None

    @property
    def outputs(self) -> dict:
        """Every output by name: {name: number} (None for a tensor)."""
        return {o["name"]: o.get("number") for o in self.result.get("outputs") or []}

    @property
    def gradients(self) -> dict:
        """d output / d input for each scalar input: {name: number}."""
        return {i["name"]: i.get("grad_value") for i in self.result.get("inputs") or [] if not i["tensor"]}

    @property
    def branch_sums(self) -> list:
        """The sums that form a gradient of a value used more than once: ``["x.grad = 2 + 2 + 3 = 7", …]``."""
        return [b["text"] for b in self.result.get("branch_sums") or []]


class TrainWidget(_LabWidget):
    """The train page in a notebook cell: a network training in the kernel, drawn live.

    ``dataset`` is a toy set (``moons``, ``circles``, ``spirals``, ``xor``), ``mnist``, or your own
    points: ``points=(x, t)`` (x of shape (n, 2), t integer classes; ``classes`` names them) or
    ``csv=`` a CSV file's path or text (two feature columns and a label, see :mod:`.userdata`). The
    other arguments are the page's settings. The job starts paused: press Start in the widget, or
    call :meth:`start` / :meth:`train`.
    """

    view = traitlets.Unicode("train").tag(sync=True)
    #: the page's settings, as a share link holds them (what the widget shows first)
    page_state = traitlets.Dict().tag(sync=True)
    #: the latest snapshot of the job (see layerprop.lab.training)
    snapshot = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        dataset: str = "moons",
        *,
        hidden=(8, 8),
        activation: str = "tanh",
        optimizer: str = "Adam",
        lr: float = 0.03,
        batch_size: int = 32,
        steps_per_second: int = 200,
        seed: int = 0,
        samples: int | None = None,
        points=None,
        classes=None,
        csv=None,
        lang: str = "en",
    ):
        config = {
            "dataset": dataset,
            "hidden": list(hidden),
            "activation": activation,
            "optimizer": optimizer,
            "lr": lr,
            "batch_size": batch_size,
            "steps_per_second": steps_per_second,
            "seed": seed,
        }
        if samples is not None:
            config["samples"] = samples
        kind = dataset
        if csv is not None or points is not None:
            config["dataset"] = kind = "points"
            config["points"] = self._points(points, classes, csv)
        super().__init__(lang=lang)
        self._session = TrainSession(SLOTS)
        self._session.job = SLOTS.open(config)  # a mistake in the settings raises here
        state = {
            "data": "csv" if kind == "points" else kind,
            "hidden": list(hidden),
            "activation": activation,
            "optimizer": optimizer,
            "lr": lr,
            "batch": batch_size,
            "speed": steps_per_second,
            "seed": seed,
        }
        if kind == "points":
            state["points"] = config["points"]
        self.page_state = state
        self._closed = threading.Event()
        self.snapshot = self._session.job.snapshot()[1]
        self._pusher = threading.Thread(target=self._push, name="layerprop-widget-snapshots", daemon=True)
        self._pusher.start()

    @staticmethod
    def _points(points, classes, csv) -> dict:
        if csv is not None:
            text = csv
            if "\n" not in str(csv) and not str(csv).lstrip().startswith("#"):
                with open(csv, encoding="utf-8") as handle:  # a path
                    text = handle.read()
            given = userdata.parse_csv(text, str(csv) if text is not csv else "")
        else:
            x, t = points
            t = np.asarray(t).astype(int)
            names = [str(c) for c in classes] if classes is not None else [str(k) for k in range(int(t.max()) + 1)]
            given = {"x": np.asarray(x, dtype=np.float64).tolist(), "t": t.tolist(), "classes": names, "name": ""}
        given["frame"] = "fit"
        userdata.check_points(given)
        return given

    # -- the page's protocol and the snapshots -------------------------------------------------------
    def _train(self, message) -> list:
        return self._session.handle(message)

    def _push(self):
        version, watched = -1, None
        while not self._closed.wait(PUSH_INTERVAL_S):
            job = self._session.job
            if job is not watched:
                version, watched = -1, job
            if job is None:
                continue
            new_version, snapshot = job.snapshot(version)
            if snapshot is not None:
                version = new_version
                self.snapshot = snapshot

    # -- from Python -------------------------------------------------------------------------------
    @property
    def job(self):
        """The training job (layerprop.lab.training.TrainingJob) the widget shows."""
        return self._session.job

    def start(self):
        self.job.start()

    def pause(self):
        self.job.pause()

    def train(self, steps: int, timeout: float = 300.0) -> dict:
        """Train ``steps`` more steps (at the job's speed), pause, and return the snapshot."""
        job = self.job
        target = job.snapshot()[1]["step"] + int(steps)
        job.start()
        deadline = time.monotonic() + timeout
        try:
            while job.snapshot()[1]["step"] < target:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the job did not reach step {target} within {timeout} s")
                time.sleep(0.02)
        finally:
            job.pause()
        self.snapshot = job.snapshot()[1]
        return self.snapshot

    def export(self, kind: str, path) -> str:
        """Write the network as the page's export ``kind`` ('model', 'python' or 'onnx') to ``path``."""
        from ..storage.atomic import write_bytes

        _, _, data = self.job.export(kind)
        return str(write_bytes(Path(path), data))

    def close(self):
        """Stop the training job and the widget."""
        if hasattr(self, "_closed"):
            self._closed.set()
            self._session.close()
        super().close()

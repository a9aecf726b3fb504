"""The learner's own layers on the graph page: ``layerprop lab --layers my_layers.py``.

The classes come from the learner's file, run by the command line (never code sent from the
browser: a request names a class, which is looked up among those the file defined).

- :meth:`LearnerLayers.listing` — ``GET /api/layers``: each class, the number of inputs its
  ``forward`` takes, whether it is a loss, and the doctor's verdict on it in English and Korean
  (the page's "Doctor" panel).
- :meth:`LearnerLayers.evaluate` — ``POST /api/layers/graph``: the graph page's request (an
  expression or a preset, its values) plus ``"mine": {node id: class name}``. The expression is
  recorded with layerprop's layers as usual (:mod:`.graphs`), then recorded again with each chosen
  node run by a fresh instance of the learner's class (:func:`replay`); ``backward`` runs through
  the learner's own ``backward``, and :func:`layerprop.doctor.check_graph` judges every node at
  its own input values. The answer is the graph page's (:func:`.graphs.answer`: drawing, inputs,
  steps with each node's verdict) and ``"verdicts"``, per node id.

A learner's layer that raises while the graph is recorded or differentiated is answered with the
doctor's one-line description of the error, in both languages.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import numpy as np

from ..doctor import check_graph, check_layer
from ..doctor.hints import describe_exception
from ..doctor.interface import LEARNER_ERRORS, constructor_arguments, plan
from ..doctor.messages import say
from ..graph import apply, clear_grads
from ..viz.model import OP, build_model
from .graphs import answer, drawn, expression_of, parse_all, record, scalar_inputs
from .limits import LabLimitError


def _refused(message: str, message_ko: str):
    return LabLimitError(message, message_ko)


class LearnerLayers:
    """The classes of the learner's file, by name (``path`` is shown on the page)."""

    def __init__(self, classes, path=None):
        self.classes = {cls.__name__: cls for cls in classes}
        self.path = Path(path).name if path else None
        self._listing = None

    def describe(self, cls) -> dict:
        shape = plan(cls, ())
        report = check_layer(cls)
        return {
            "name": cls.__name__,
            "inputs": len(shape.names),
            "loss": shape.loss,
            "buildable": not constructor_arguments(cls),  # a graph node gets a fresh cls()
            "ok": report.ok,
            "summary": {"en": report.summary("en"), "ko": report.summary("ko")},
            "verdict": {"en": report.verdict("en"), "ko": report.verdict("ko")},
            "problems": [{"code": p.code, "message": p.message, "message_ko": p.message_ko} for p in report.problems],
            "notes": [{"code": n.code, "message": n.message, "message_ko": n.message_ko} for n in report.notes],
        }

    def listing(self) -> dict:
        """``{"file", "layers": [{name, inputs, loss, buildable, ok, summary, verdict, problems, notes}]}``."""
        if self._listing is None:  # the doctor runs once per class, when the page first asks
            with np.errstate(all="ignore"):
                self._listing = {"file": self.path, "layers": [self.describe(cls) for cls in self.classes.values()]}
        return self._listing

    def chosen(self, request) -> dict:
        """``{node id: class}`` from the request's ``mine``, each class checked to be one of the file's."""
        mine = request.get("mine") or {}
        if not isinstance(mine, dict):
            raise _refused(
                "mine must be an object {node id: class name}", "mine은 {노드 id: 클래스 이름} 객체여야 합니다"
            )
        found = {}
        for node_id, name in mine.items():
            if name not in self.classes:
                known = ", ".join(self.classes) or "none"
                raise _refused(
                    f"{name!r} is not a class of the --layers file (its layers: {known})",
                    f"{name!r}은(는) --layers 파일의 클래스가 아닙니다 (있는 계층: {known})",
                )
            if constructor_arguments(self.classes[name]):
                raise _refused(
                    f"{name} needs constructor arguments, so it cannot stand for a node",
                    f"{name}은(는) 생성자 인수가 필요해서 노드 자리에 쓸 수 없습니다",
                )
            found[str(node_id)] = self.classes[name]
        return found

    @staticmethod
    def inputs_of(gnode) -> int:
        """How many inputs a graph node's layer takes (its data and its constants, such as a loss's t)."""
        return len(gnode.inputs) - len(gnode.params) + len(gnode.constants)

    def fits(self, cls, gnode, label):
        """Refuse a class whose forward takes another number of inputs than the node passes."""
        shape = plan(cls, ())
        takes = len(shape.names)
        passed = self.inputs_of(gnode)
        if takes != passed:
            raise _refused(
                f"{cls.__name__}.forward takes {takes} input(s), but the node {label} passes {passed}",
                f"{cls.__name__}.forward는 입력 {takes}개를 받는데 노드 {label}은(는) {passed}개를 넘깁니다",
            )

    def evaluate(self, request: dict) -> dict:
        """The graph page's answer with the chosen nodes run by the learner's classes (module docstring)."""
        values = request.get("values") or {}
        if not isinstance(values, dict):
            raise LabLimitError("values must be an object {name: number}")
        if request.get("preset") == "two-layer-net":
            raise _refused(
                "your layers go into an expression's graph (the network preset is drawn from layerprop's layers)",
                "여러분의 계층은 수식의 그래프에 넣을 수 있습니다 (신경망 예제는 layerprop의 계층으로 그립니다)",
            )
        mine = self.chosen(request)
        with np.errstate(all="ignore"):
            text, values = expression_of(request, values)
            outputs, variables = record(parse_all(text), values)
            layerprop_model = build_model(drawn(outputs), title=None)
            by_layer = {id(g.layer): g for out in outputs.values() for g in out.nodes()}
            swaps = {}
            for node in layerprop_model.nodes:
                if node.kind == OP and node.id in mine:
                    gnode = by_layer[id(node.layer)]
                    self.fits(mine[node.id], gnode, node.label)
                    swaps[id(gnode)] = mine[node.id]
            for out in outputs.values():
                clear_grads(out)
            mixed = replay(outputs, swaps)
            learners = [g.layer for out in mixed.values() for g in out.nodes() if type(g.layer) in mine.values()]
            for out in mixed.values():
                _run_learner(out.backward, learners, "backward")
            checks = [check_graph(out) for out in mixed.values()]
            model = build_model(drawn(mixed), title=None, check=checks)
        result = answer(model, scalar_inputs(variables), text, request.get("preset"), request)
        result["verdicts"] = {
            node.id: {
                "ok": node.verdict.ok,
                "mark": {"en": node.verdict.mark("en"), "ko": node.verdict.mark("ko")},
                "summary": {"en": node.verdict.report.summary("en"), "ko": node.verdict.report.summary("ko")},
                "layer": node.layer_name,
                "mine": node.id in mine,
            }
            for node in model.nodes
            if node.kind == OP and node.verdict is not None
        }
        return result


def _run_learner(call, learners, stage):
    """``call()``; an exception becomes a :class:`LabLimitError` with the doctor's one line, naming
    the learner's layer (one of ``learners``) whose code raised it."""
    try:
        return call()
    except LEARNER_ERRORS as exc:
        ids = {id(learner) for learner in learners}
        selves = [frame.f_locals.get("self") for frame, _ in traceback.walk_tb(exc.__traceback__)]
        mine = [owner for owner in selves if id(owner) in ids]
        layer = mine[-1] if mine else (learners[0] if learners else None)
        text = say(f"{stage}-error", error=describe_exception(exc, layer))
        name = type(layer).__name__ if layer is not None else "?"
        raise _refused(f"{name}: {text.en}", f"{name}: {text.ko}") from None


def replay(outputs: dict, swaps: dict) -> dict:
    """Record ``outputs``' graphs again, node by node, with the layer of each node in ``swaps``
    (``{id(graph Node): class}``) a fresh instance of that class; the other nodes keep their layers
    and every leaf (the inputs, the constants) is the same Variable. Returns ``{title: new output}``."""
    remade = {}  # id(old Variable) → its Variable in the new graph

    def new(var):
        return remade.get(id(var), var)

    result = {}
    for title, out in outputs.items():
        for gnode in out.nodes():
            if id(gnode.output) in remade:  # shared with an output replayed before
                continue
            data = gnode.inputs[: len(gnode.inputs) - len(gnode.params)]
            cls = swaps.get(id(gnode))
            layer = cls() if cls is not None else gnode.layer
            params = {key: new(var) for key, var in gnode.params.items()}
            recorded = _run_learner(
                lambda layer=layer, data=data, params=params, gnode=gnode: apply(
                    layer, *[new(v) for v in data], constants=gnode.constants, params=params or None
                ),
                [layer],
                "forward",
            )
            recorded.name = gnode.output.name
            remade[id(gnode.output)] = recorded
        result[title] = new(out)
    return result

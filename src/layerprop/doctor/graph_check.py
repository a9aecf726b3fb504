"""Check every node of a recorded graph, each at its own input values.

>>> from layerprop.graph import Variable, apply
>>> x = Variable(np.array([0.5, -1.0]), name="x")
>>> y = apply(MySigmoid(), x)            # a learner's layer in the graph
>>> verdicts = check_graph(y)            # one NodeVerdict per node, in forward order
>>> verdicts.ok, [v.label for v in verdicts if not v.ok]

Each node's layer is copied (``copy.deepcopy``) and examined by :func:`~.checks.check_layer`'s
checks with the values that flowed into it when the graph was recorded — its data inputs receive
gradients, its constants (a loss's labels) do not — so checking never changes the graph, and
``backward`` on it (or its drawing) still sees each layer as it was.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from html import escape

from .checks import Examination
from .interface import LEARNER_ERRORS, layer_name
from .messages import check_language, word
from .report import LayerReport, number, pad, width


@dataclass(repr=False)
class NodeVerdict:
    """The doctor's verdict on one node: ``node`` (the graph's Node), ``step`` (its forward position),
    ``label`` (its symbol), and the :class:`~.report.LayerReport` of its layer."""

    node: object
    step: int
    label: str
    report: LayerReport

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def problems(self) -> list:
        return self.report.problems

    @property
    def layer(self):
        return self.node.layer

    @property
    def rel_error(self) -> float | None:
        """The largest relative error of this node's gradients (None when none could be checked)."""
        return self.report.max_rel_error

    def mark(self, lang: str = "en") -> str:
        """What a drawing writes beside the node: ``✓``, or ``✗`` with the relative error or the first code."""
        if self.ok:
            return "✓"
        wrong = self.report.problem("wrong-gradient") or self.report.problem("stale-state")
        if wrong is not None and wrong.rel_error is not None:
            label = "rel. error" if lang != "ko" else "상대 오차"
            return f"✗ {label} {number(wrong.rel_error)}"
        return f"✗ {self.problems[0].code}"

    def to_dict(self) -> dict:
        return {"step": self.step, "label": self.label, **self.report.to_dict()}

    def __repr__(self) -> str:
        return f"NodeVerdict({self.step + 1}: {self.label}: {self.report.summary()})"


@dataclass(repr=False)
class GraphCheck:
    """One :class:`NodeVerdict` per node of the graph that leads to ``output``, in forward order."""

    output: object
    verdicts: list = field(default_factory=list)
    lang: str = "en"

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)

    @property
    def wrong(self) -> list:
        """The verdicts with problems."""
        return [v for v in self.verdicts if not v.ok]

    def __iter__(self):
        return iter(self.verdicts)

    def __len__(self) -> int:
        return len(self.verdicts)

    def __getitem__(self, index) -> NodeVerdict:
        return self.verdicts[index]

    def verdict_for(self, node):
        """The verdict of the graph Node ``node`` (None if it is not part of this graph)."""
        return next((v for v in self.verdicts if v.node is node), None)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "nodes": [v.to_dict() for v in self.verdicts]}

    def heading(self, lang: str | None = None) -> str:
        """``3 nodes, 1 with problems``."""
        lang = lang or self.lang
        return word("graph_heading", lang, n=len(self), bad=len(self.wrong))

    def _rows(self, lang):
        return [(str(v.step + 1), v.label, v.report.layer, v.report.summary(lang)) for v in self.verdicts]

    def text(self, lang: str | None = None) -> str:
        lang = lang or self.lang
        lines = [self.heading(lang)]
        rows = [("#", word("node", lang), word("layer", lang), word("verdict", lang)), *self._rows(lang)]
        widths = [max(width(r[i]) for r in rows) for i in range(3)]
        for row in rows:
            lines.append("  " + "  ".join(pad(cell, w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """Jupyter's display: the verdicts as a table (:mod:`layerprop.viz`, once imported — as it is
        in a notebook — puts the drawing with each node marked above it)."""
        return self.table_html()

    def table_html(self) -> str:
        """The verdicts as an HTML table."""
        lang = self.lang
        head = "".join(
            f"<th>{escape(h)}</th>" for h in ("#", word("node", lang), word("layer", lang), word("verdict", lang))
        )
        body = "".join(
            f'<tr style="color:{"#1a7f37" if v.ok else "#c62828"}">'
            + "".join(f"<td>{escape(cell)}</td>" for cell in row)
            + "</tr>"
            for v, row in zip(self.verdicts, self._rows(lang))
        )
        title = escape(self.heading(lang))
        return f'<div class="layerprop-doctor-graph"><div>{title}</div><table><tr>{head}</tr>{body}</table></div>'


def _restored(layer, values, constants):
    """``layer`` itself when it cannot be copied: after the check, forward once more at the recorded
    values, so its saved state is the graph's again."""
    try:
        layer.forward(*values, *constants)
    except LEARNER_ERRORS:
        pass


def check_graph(output, *, lang: str = "en", seed: int = 0) -> GraphCheck:
    """Examine the layer of every node that leads to the Variable ``output``, each at the values
    it was recorded with; returns a :class:`GraphCheck` (one verdict per node, in forward order)."""
    check_language(lang)
    if not hasattr(output, "nodes"):
        raise TypeError(f"check_graph: expected the output Variable of a recorded graph, got {type(output).__name__}")
    result = GraphCheck(output, lang=lang)
    for step, node in enumerate(output.nodes()):
        data = node.inputs[: len(node.inputs) - len(node.params)]
        values = [var.data for var in data]
        try:
            layer = copy.deepcopy(node.layer)
            copied = True
        except LEARNER_ERRORS:
            layer, copied = node.layer, False
        receives = [var.requires_grad for var in data]  # a constant such as the 1 of 1 + x gets no gradient
        report = Examination(
            layer, values, node.constants, receives=receives, lang=lang, seed=seed, name=layer_name(node.layer)
        ).run()
        if not copied:
            _restored(node.layer, values, node.constants)
        result.verdicts.append(NodeVerdict(node, step, node.label, report))
    return result

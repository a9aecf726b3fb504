"""Graphviz DOT text for a computational graph — plain text, no dependency needed to write it.

Layout is left to right like the notes' figures: inputs on the left, the output on the right.
Each edge carries its forward value (blue) above the line and, after backward, its gradient
(red) below it — drawn as a small label node that the edge passes through (see :func:`edge_label`).
Operations are circles (``×``, ``+``, ``exp``) or rounded boxes (``Affine``,
``SoftmaxWithLoss``); named inputs are plain labels, a network's parameters small shaded boxes,
constants small grey nodes showing their value. Several outputs given as a dict become clusters.
A value used more than once is labelled with the sum that forms its gradient
(``x.grad = 2 + 2 + 3 = 7``, see :meth:`~layerprop.viz.model.GraphModel.branch_sums`); a tensor
too large to write out gets a small heatmap beside its shape (:mod:`.heatmap`).

Turn the text into a picture with ``dot -Tsvg graph.dot -o graph.svg`` or with
:func:`layerprop.viz.render`.
"""

from __future__ import annotations

from .heatmap import dot_heatmap, wants_heatmap
from .model import CONSTANT, INPUT, OP, OUTPUT, PARAM, build_model

VALUE_COLOR = "#1f4e9c"  # forward values: dark blue
GRAD_COLOR = "#d62728"  # gradients: red
WRONG_COLOR = "#c62828"  # a node the doctor found wrong (check=True): red outline, pale red fill
WRONG_FILL = "#fdecea"
RIGHT_COLOR = "#1a7f37"  # … and the check mark of a right one: green
EDGE_COLOR = "#444444"
FONT = "Helvetica"


def quote(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def html_escape(text: str) -> str:
    """Escape text for a Graphviz HTML-like label."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _beside(text: str, heatmap: str) -> str:
    """An HTML-like label cell: ``text`` with a small heatmap to its right."""
    return f'<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="0"><TR><TD>{text}</TD><TD>{heatmap}</TD></TR></TABLE>'


def edge_label(edge) -> str | None:
    """The label node's HTML-like label: value, a rule (the edge itself), gradient; None if unlabelled.

    The edge is drawn in two pieces that meet at this label's left and right ends, so the rule in
    the middle continues the edge's line: the value sits above the line and the gradient below it,
    as in the notes' figures. Without a gradient the lower row is left blank (the line stays
    centred).
    """
    if edge.constant:
        return None  # the constant's node already shows its value
    value = f'<FONT COLOR="{VALUE_COLOR}">{html_escape(edge.value_text)}</FONT>'
    grad = f'<FONT COLOR="{GRAD_COLOR}">{html_escape(edge.grad_text)}</FONT>' if edge.grad_text is not None else " "
    if wants_heatmap(edge.value):  # a tensor: its shape and a small heatmap of its values / gradient
        value = _beside(value, dot_heatmap(edge.value))
        if edge.grad_text is not None and wants_heatmap(edge.grad):
            grad = _beside(grad, dot_heatmap(edge.grad))
    return (
        f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2" COLOR="{EDGE_COLOR}">'
        f"<TR><TD>{value}</TD></TR><HR/><TR><TD>{grad}</TD></TR></TABLE>>"
    )


def verdict_tooltip(node) -> str:
    """A node's tooltip: its layer and rule, then the doctor's problems when it was checked."""
    text = f"{node.layer_name}: {node.rule}" if node.rule else node.layer_name
    verdict = node.verdict
    if verdict is not None:
        text += "\n" + ("doctor: ok" if verdict.ok else "\n".join(f"{p.code}: {p.message}" for p in verdict.problems))
    return text


def _verdict_label(node) -> str | None:
    """The HTML-like xlabel of a checked op node: a green ✓, or a red ✗ with its relative error."""
    if node.verdict is None:
        return None
    colour = RIGHT_COLOR if node.verdict.ok else WRONG_COLOR
    return f'<font color="{colour}" point-size="12"><b>{html_escape(node.verdict.mark())}</b></font>'


def _node_attributes(node) -> dict:
    label = node.label
    if node.kind == OP:
        attrs = {"label": quote(label), "tooltip": quote(verdict_tooltip(node))}
        if len(label) <= 3:
            attrs.update(shape="circle", width="0.5", fixedsize="true", fontsize="14")
        else:
            attrs.update(shape="box", style='"rounded,filled"', fillcolor='"#ffffff"', fontsize="13")
        if node.verdict is not None and not node.verdict.ok:
            attrs.update(
                color=f'"{WRONG_COLOR}"',
                penwidth="2.5",
                fontcolor=f'"{WRONG_COLOR}"',
                style='"rounded,filled"' if len(label) > 3 else "filled",
                fillcolor=f'"{WRONG_FILL}"',
            )
        return attrs
    if node.kind == INPUT:
        return {"label": quote(label), "shape": "plaintext", "fontsize": "14"}
    if node.kind == PARAM:
        return {
            "label": quote(label),
            "shape": "box",
            "style": "filled",
            "fillcolor": '"#fff3d6"',
            "color": '"#c9a45c"',
            "fontsize": "11",
            "height": "0.3",
        }
    if node.kind == CONSTANT:
        attrs = {
            "label": quote(label),
            "style": "filled",
            "fillcolor": '"#eeeeee"',
            "color": '"#999999"',
            "fontsize": "10",
            "tooltip": quote("constant (no gradient)"),
        }
        if len(label) <= 4:
            attrs.update(shape="circle", width="0.35", fixedsize="true")
        else:
            attrs.update(shape="box", height="0.25")
        return attrs
    if node.kind == OUTPUT:
        return {"label": quote(label), "shape": "plaintext", "fontsize": "14"}
    return {"label": quote(label)}


def _attr_list(attrs: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in attrs.items())


def to_dot(target, *, title: str | None = None, legend: bool = True, **options) -> str:
    """Graphviz DOT text of ``target``'s computational graph.

    ``target`` — a Variable, a list or ``{title: Variable}`` dict of them, a network, or a
    :class:`~layerprop.viz.model.GraphModel` (see :func:`~layerprop.viz.model.build_model`, which
    also takes ``digits``, ``x`` and ``t`` through ``options``). ``legend`` adds a line saying
    which colour is which.
    """
    model = build_model(target, title=title, **options)
    lines = [
        "digraph computational_graph {",
        f'  graph [rankdir=LR, ordering=in, bgcolor="white", fontname="{FONT}", '
        "nodesep=0.3, ranksep=0.3, pad=0.25, forcelabels=true];",
        f'  node [fontname="{FONT}"];',
        f'  edge [fontname="{FONT}", fontsize=12, arrowsize=0.7, color="{EDGE_COLOR}"];',
    ]
    heading = []
    if model.title:
        heading.append(f"<b>{html_escape(model.title)}</b>")
    if legend:
        text = f'<font color="{VALUE_COLOR}">forward value</font>'
        if model.has_gradients:
            text += f' (above) · <font color="{GRAD_COLOR}">gradient</font> (below)'
        if model.checked:
            text += f' · doctor: <font color="{RIGHT_COLOR}">✓ right</font>, <font color="{WRONG_COLOR}">✗ wrong</font>'
        heading.append(f'<font point-size="11">{text}</font>')
    if heading:
        lines.append(f'  labelloc="t"; label=<{"<br/>".join(heading)}>;')
    cluster_of = {node.id: node.cluster for node in model.nodes}
    blocks = {}  # cluster (or None) → lines of the nodes declared in it
    sums = {branch.node: branch.text for branch in model.branch_sums()}
    for node in model.nodes:
        attrs = _node_attributes(node)
        xlabels = [text for text in (_verdict_label(node),) if text]
        if node.id in sums:  # the notes' branch node: the gradient is the sum of the uses' shares
            xlabels.append(f'<font color="{GRAD_COLOR}" point-size="11">{html_escape(sums[node.id])}</font>')
        if xlabels:
            attrs["xlabel"] = f"<{'<br/>'.join(xlabels)}>"
        blocks.setdefault(node.cluster, []).append(f"{node.id} [{_attr_list(attrs)}];")
    edge_lines = []
    for edge in model.edges:
        tip = edge.name or edge.role
        tooltip = quote(f"{tip} = {edge.value_text}" + (f", gradient {edge.grad_text}" if edge.grad_text else ""))
        label = edge_label(edge)
        if label is None:
            edge_lines.append(f'{edge.source} -> {edge.target} [style=dashed, color="#999999", tooltip={tooltip}];')
            continue
        # the label node belongs to the cluster its two ends share, so the frame stays around it
        home = cluster_of[edge.source] if cluster_of[edge.source] == cluster_of[edge.target] else None
        blocks.setdefault(home, []).append(
            f"{edge.id} [shape=plaintext, margin=0, width=0, height=0, fontsize=12, label={label}, tooltip={tooltip}];"
        )
        edge_lines.append(f"{edge.source} -> {edge.id}:w [arrowhead=none, tooltip={tooltip}];")
        edge_lines.append(f"{edge.id}:e -> {edge.target} [tooltip={tooltip}];")
    for cluster, block in blocks.items():
        if cluster is None:
            lines.extend("  " + line for line in block)
            continue
        lines.append(f"  subgraph cluster_{cluster} {{")
        lines.append(
            f'    label={quote(model.clusters[cluster])}; style="rounded,dashed"; color="#999999"; fontsize=13;'
        )
        lines.extend("    " + line for line in block)
        lines.append("  }")
    lines.extend("  " + line for line in edge_lines)
    lines.append("}")
    return "\n".join(lines) + "\n"

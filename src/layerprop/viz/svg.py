"""SVG markup laid out by :mod:`.layout` — a drawing that needs no Graphviz.

Used by the step-through page (:mod:`.html`), where values and gradients start hidden and are
revealed step by step, and by :func:`to_inline_svg`, a static drawing with everything shown (what a
notebook displays when ``dot`` is missing).

Every element has stable hooks for scripts and tests: a node is ``<g class="node op"
id="node-n0" data-node="n0">``, an edge ``<g class="edge" id="edge-e0" data-edge="e0">`` holding
``<text class="value">`` and ``<text class="grad">``, a value used more than once a
``<text class="branch-sum" data-node=…>`` (``x.grad = 2 + 2 + 3 = 7``); a revealed label has the class
``visible``. A tensor too large to write out also gets a small heatmap of its values (class
``heat-value``) and of its gradient (``heat-grad``), see :mod:`.heatmap`.
"""

from __future__ import annotations

import uuid
from html import escape

from .dot import EDGE_COLOR, GRAD_COLOR, RIGHT_COLOR, VALUE_COLOR, WRONG_COLOR, WRONG_FILL, verdict_tooltip
from .heatmap import CELL_HEIGHT, MAX_ROWS, svg_heatmap, wants_heatmap
from .heatmap import WIDTH as HEATMAP_WIDTH
from .layout import FONT_SIZE, LABEL_FONT_SIZE, layout
from .model import build_model

#: height of one branch-sum line under the drawing, and its left margin
SUM_LINE = 20
MARGIN_X = 16
#: the tallest heatmap (it sits just above its edge's line)
MAX_HEAT_HEIGHT = MAX_ROWS * CELL_HEIGHT
FONT_STACK = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"


def _attr(value) -> str:
    return escape(str(value), quote=True)


def _node_markup(node, box) -> str:
    classes = f"node {node.kind}"
    tip = f"{node.layer_name}: {node.rule}" if node.kind == "op" and node.rule else node.label
    if node.kind == "constant":
        tip = f"constant {node.label} (no gradient)"
    verdict = ""
    if node.verdict is not None:  # checked by the doctor: a class, a data attribute and a mark above
        state = "right" if node.verdict.ok else "wrong"
        classes += f" {state}"
        tip = verdict_tooltip(node)
        verdict = (
            f' data-verdict="{state}"',
            f'<text class="verdict {state}" x="{box.x:.1f}" y="{box.y - box.h / 2 - 5:.1f}" '
            f'font-size="12" font-weight="700" text-anchor="middle">{escape(node.verdict.mark())}</text>',
        )
    parts = [
        f'<g class="{classes}" id="node-{node.id}" data-node="{node.id}" data-kind="{node.kind}"'
        f"{verdict[0] if verdict else ''}>",
        f"<title>{escape(tip)}</title>",
    ]
    if box.shape == "circle":
        parts.append(f'<circle class="shape" cx="{box.x:.1f}" cy="{box.y:.1f}" r="{box.w / 2:.1f}"/>')
    elif box.shape == "rect":
        radius = 8 if node.kind == "op" else 3
        parts.append(
            f'<rect class="shape" x="{box.left:.1f}" y="{box.y - box.h / 2:.1f}" width="{box.w:.1f}" '
            f'height="{box.h:.1f}" rx="{radius}"/>'
        )
    size = FONT_SIZE if node.kind in ("op", "input", "output") else 12
    if node.kind == "op" and len(node.label) <= 3:
        size = 16 if len(node.label) == 1 else FONT_SIZE
    parts.append(
        f'<text class="label" x="{box.x:.1f}" y="{box.y:.1f}" font-size="{size}" text-anchor="middle" '
        f'dominant-baseline="central">{escape(node.label)}</text>'
    )
    if verdict:
        parts.append(verdict[1])
    parts.append("</g>")
    return "".join(parts)


def _edge_markup(edge, path, label, reveal: bool, arrow: str) -> str:
    shown = " visible" if reveal else ""
    kind = " constant" if edge.constant else ""
    parts = [
        f'<g class="edge{kind}" id="edge-{edge.id}" data-edge="{edge.id}" data-source="{edge.source}" '
        f'data-target="{edge.target}" data-role="{_attr(edge.role)}"'
        + (f' data-name="{_attr(edge.name)}"' if edge.name else "")
        + ">",
        f'<path class="line" d="{path}" marker-end="url(#{arrow})"/>',
    ]
    if label is not None:
        heat = wants_heatmap(edge.value)
        text_x = label.x - (HEATMAP_WIDTH + 6) / 2 if heat else label.x
        parts.append(
            f'<text class="value{shown}" data-edge="{edge.id}" x="{text_x:.1f}" y="{label.y - 5:.1f}" '
            f'font-size="{LABEL_FONT_SIZE}" text-anchor="middle">{escape(edge.value_text)}</text>'
        )
        heat_x = label.right - HEATMAP_WIDTH - 6
        if heat:  # a tensor: its values as a small heatmap above the line, its gradient below
            parts.append(svg_heatmap(edge.value, heat_x, label.y - 4 - MAX_HEAT_HEIGHT, "heat-value"))
        if edge.grad_text is not None:
            parts.append(
                f'<text class="grad{shown}" data-edge="{edge.id}" x="{text_x:.1f}" '
                f'y="{label.y + LABEL_FONT_SIZE + 2:.1f}" font-size="{LABEL_FONT_SIZE}" '
                f'text-anchor="middle">{escape(edge.grad_text)}</text>'
            )
            if heat and wants_heatmap(edge.grad):
                parts.append(svg_heatmap(edge.grad, heat_x, label.y + 4, "heat-grad"))
    parts.append("</g>")
    return "".join(parts)


def svg_markup(
    model, *, reveal: bool = True, element_id: str = "layerprop-svg", scale: float = 1.0, max_width: float | None = None
) -> str:
    """``<svg>`` markup of ``model`` laid out by :func:`~layerprop.viz.layout.layout`.

    ``reveal`` — mark every value and gradient ``visible`` (a static drawing); the page passes
    ``False`` and reveals them itself. Colours are set inline, so the markup also stands alone.
    ``scale`` enlarges the displayed size (the coordinates stay the same); ``max_width`` (layout
    units) wraps a wider drawing into rows.
    """
    box = layout(model, max_width)
    arrow = f"{element_id}-arrow"  # ids stay unique when several drawings share a page
    top = (26 if model.title else 0) + (14 if model.checked else 0)  # room for the title and the doctor's marks
    sums = model.branch_sums()
    height = box.height + top + len(sums) * SUM_LINE
    width = max(box.width, max((len(b.text) * LABEL_FONT_SIZE * 0.6 + 2 * MARGIN_X for b in sums), default=0))
    style = (
        "<style>"
        ".layerprop-graph .shape{fill:#fff;stroke:#333;stroke-width:1.3}"
        ".layerprop-graph .constant .shape{fill:#eee;stroke:#999}"
        ".layerprop-graph .param .shape{fill:#fff3d6;stroke:#c9a45c}"
        f".layerprop-graph .line{{fill:none;stroke:{EDGE_COLOR};stroke-width:1.3}}"
        ".layerprop-graph .edge.constant .line{stroke:#999;stroke-dasharray:4 3}"
        f".layerprop-graph .value{{fill:{VALUE_COLOR}}}"
        f".layerprop-graph .grad{{fill:{GRAD_COLOR}}}"
        f".layerprop-graph .branch-sum{{fill:{GRAD_COLOR};font-weight:600}}"
        ".layerprop-graph .cluster{fill:none;stroke:#999;stroke-dasharray:5 4}"
        f".layerprop-graph .node.wrong .shape{{stroke:{WRONG_COLOR};stroke-width:2.5;fill:{WRONG_FILL}}}"
        f".layerprop-graph .node.wrong .label,.layerprop-graph .verdict.wrong{{fill:{WRONG_COLOR}}}"
        f".layerprop-graph .verdict.right{{fill:{RIGHT_COLOR}}}"
        ".js .layerprop-graph .edge:not(.has-value) .heat-value,.js .layerprop-graph .edge:not(.has-grad) .heat-grad"
        "{visibility:hidden}"
        "</style>"
    )
    defs = (
        f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{EDGE_COLOR}"/>'
        "</marker></defs>"
    )
    opening = (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{element_id}" class="layerprop-graph" '
        f'width="{width * scale:.0f}" height="{height * scale:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="{_attr(FONT_STACK)}" role="img">'
    )
    out = [
        opening,
        style,
        defs,
    ]
    if model.title:
        out.append(
            f'<text class="title" x="{box.width / 2:.1f}" y="18" font-size="15" font-weight="bold" '
            f'text-anchor="middle">{escape(model.title)}</text>'
        )
    out.append(f'<g transform="translate(0 {top})">')
    for index, (title, x, y, w, h) in enumerate(box.clusters):
        out.append(
            f'<g class="cluster-frame" id="{element_id}-cluster-{index}"><rect class="cluster" x="{x:.1f}" y="{y:.1f}" '
            f'width="{w:.1f}" height="{h:.1f}" rx="8"/><text x="{x + 10:.1f}" y="{y + 17:.1f}" '
            f'font-size="13" fill="#555">{escape(title)}</text></g>'
        )
    for edge in model.edges:
        out.append(_edge_markup(edge, box.paths[edge.id], box.labels.get(edge.id), reveal, arrow))
    for node in model.nodes:
        out.append(_node_markup(node, box.nodes[node.id]))
    shown = " visible" if reveal else ""
    for index, branch in enumerate(sums):  # the notes' branch node, under the drawing: x.grad = 2 + 2 + 3 = 7
        out.append(
            f'<text class="branch-sum{shown}" data-node="{branch.node}" x="{MARGIN_X}" '
            f'y="{box.height + (index + 0.7) * SUM_LINE:.1f}" font-size="{LABEL_FONT_SIZE}">'
            f"{escape(branch.text)}</text>"
        )
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def to_inline_svg(target, **options) -> str:
    """A static SVG drawing of ``target`` (every value and gradient shown), laid out without Graphviz."""
    title = options.pop("title", None)
    element_id = f"layerprop-{uuid.uuid4().hex[:10]}"
    return svg_markup(build_model(target, title=title, **options), reveal=True, element_id=element_id)

"""A tensor on an edge as a small heatmap: what a shape like ``(2, 4)`` does not tell.

An array too large to write out (more than :data:`~layerprop.viz.values.MAX_SHOWN_ELEMENTS`
elements) is drawn as at most :data:`MAX_ROWS` × :data:`MAX_COLUMNS` cells beside its shape:
rows are its first axis, columns the rest flattened; a larger array keeps every k-th row or column.
Each cell is coloured from blue (the most negative value) through white (0) to red (the most
positive), scaled by the largest magnitude, so signs and relative sizes can be read at a glance.
"""

from __future__ import annotations

from html import escape

import numpy as np

from .values import MAX_SHOWN_ELEMENTS

MAX_ROWS = 4
MAX_COLUMNS = 12
CELL_WIDTH = 7.0
CELL_HEIGHT = 4.0
#: room a heatmap takes beside an edge label
WIDTH = MAX_COLUMNS * CELL_WIDTH


def wants_heatmap(value) -> bool:
    """Whether ``value`` is a numeric array too large to be written out on its edge."""
    a = np.asarray(value)
    return a.ndim >= 1 and a.dtype.kind in "biuf" and a.size > MAX_SHOWN_ELEMENTS


def cells(value) -> np.ndarray:
    """The values drawn: a 2-D array of at most MAX_ROWS × MAX_COLUMNS, scaled into [−1, 1]."""
    a = np.asarray(value, dtype=np.float64)
    a = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(1, -1)
    a = a[:: -(-a.shape[0] // MAX_ROWS), :: -(-a.shape[1] // MAX_COLUMNS)]
    scale = np.max(np.abs(a)) if a.size else 0.0
    return a / scale if scale > 0 else np.zeros_like(a)


def colour(v: float) -> str:
    """−1 → blue, 0 → white, +1 → red, as ``#rrggbb`` (SVG and Graphviz both read it)."""
    v = float(np.clip(v, -1.0, 1.0))
    fade = round(255 * (1 - abs(v)))
    return f"#ff{fade:02x}{fade:02x}" if v >= 0 else f"#{fade:02x}{fade:02x}ff"


def svg_heatmap(value, x: float, y: float, css_class: str) -> str:
    """``<g>`` of the heatmap of ``value`` with its top-left corner at (x, y)."""
    grid = cells(value)
    parts = [f'<g class="heat {css_class}"><title>{escape(str(tuple(np.shape(value))))}</title>']
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            parts.append(
                f'<rect x="{x + j * CELL_WIDTH:.1f}" y="{y + i * CELL_HEIGHT:.1f}" width="{CELL_WIDTH:.1f}" '
                f'height="{CELL_HEIGHT:.1f}" fill="{colour(v)}"/>'
            )
    rows, cols = grid.shape
    parts.append(
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{cols * CELL_WIDTH:.1f}" height="{rows * CELL_HEIGHT:.1f}" '
        'fill="none" stroke="#999" stroke-width="0.5"/>'
    )
    parts.append("</g>")
    return "".join(parts)


def dot_heatmap(value) -> str:
    """The heatmap as a Graphviz HTML-like ``<TABLE>`` of coloured cells (for DOT, SVG and PNG)."""
    rows = []
    for row in cells(value):
        tds = "".join(
            f'<TD BGCOLOR="{colour(v)}" WIDTH="{CELL_WIDTH:.0f}" HEIGHT="{CELL_HEIGHT:.0f}" FIXEDSIZE="TRUE"></TD>'
            for v in row
        )
        rows.append(f"<TR>{tds}</TR>")
    return f'<TABLE BORDER="1" COLOR="#999999" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{"".join(rows)}</TABLE>'

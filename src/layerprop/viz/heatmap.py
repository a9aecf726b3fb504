"""A tensor on an edge as a small heatmap: what a shape like ``(2, 4)`` does not tell.

An array too large to write out (more than :data:`~layerprop.viz.values.MAX_SHOWN_ELEMENTS`
elements) is drawn as at most :data:`MAX_ROWS` × :data:`MAX_COLUMNS` cells beside its shape:
rows are its first axis, columns the rest flattened; a larger array keeps every k-th row or column.
Each cell is coloured from blue (the most negative value) through white (0) to red (the most
positive), scaled by the largest magnitude, so signs and relative sizes can be read at a glance.

The colour map is written once, as :data:`HEAT_STOPS`: the drawings colour their cells with
:func:`colour`, and the pages' scripts (the step-through page, the lab, the notebook widgets) read
the same stops from :func:`colours_script` — ``layerpropStepper.heatColor`` in ``stepper.js``
interpolates them exactly as :func:`rgb` does.
"""

from __future__ import annotations

import json
import math
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
    """The values drawn: a 2-D array of at most MAX_ROWS × MAX_COLUMNS, scaled into [−1, 1].

    Rows are picked before anything is copied or converted, so a huge tensor (a weight matrix of
    84,000 columns) costs only the few rows drawn, never a float64 copy of the whole."""
    a = np.asarray(value)
    a = a[:: -(-a.shape[0] // MAX_ROWS)] if a.ndim > 1 else a.reshape(1, -1)  # a view: every k-th row
    a = a.reshape(a.shape[0], -1)
    a = np.asarray(a[:, :: -(-a.shape[1] // MAX_COLUMNS)], dtype=np.float64)
    scale = np.max(np.abs(a)) if a.size else 0.0
    return a / scale if scale > 0 else np.zeros_like(a)


#: the heat colour map: (value in [−1, 1], (red, green, blue)), colours linear between the stops
HEAT_STOPS = ((-1.0, (0, 0, 255)), (0.0, (255, 255, 255)), (1.0, (255, 0, 0)))


def rgb(v: float) -> tuple:
    """The colour of ``v`` (clipped to [−1, 1]; NaN counts as 0) between the two :data:`HEAT_STOPS`
    around it, each channel rounded half up: ``(r, g, b)`` integers."""
    v = 0.0 if math.isnan(v) else min(max(float(v), -1.0), 1.0)
    for (v0, c0), (v1, c1) in zip(HEAT_STOPS, HEAT_STOPS[1:]):
        if v <= v1:
            f = (v - v0) / (v1 - v0)
            return tuple(math.floor(a + (b - a) * f + 0.5) for a, b in zip(c0, c1))
    return HEAT_STOPS[-1][1]


def colour(v: float) -> str:
    """−1 → blue, 0 → white, +1 → red, as ``#rrggbb`` (SVG and Graphviz both read it)."""
    return "#{:02x}{:02x}{:02x}".format(*rgb(v))


def colours_script() -> str:
    """The line of JavaScript that gives the pages' scripts the colour map: ``var layerpropColours = …;``."""
    return f"var layerpropColours = {json.dumps({'heat': HEAT_STOPS})};\n"


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

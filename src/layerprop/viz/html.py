"""A self-contained HTML page that steps through forward and backward propagation.

The page holds everything inline — the SVG drawing (laid out by :mod:`.layout`, no Graphviz, wrapped
into rows that fit :data:`PAGE_WIDTH`), its CSS (``page.css``), its script (``page.js`` on the
stepper of ``stepper.js``, which the lab and the notebook widgets share: :func:`stepper_script`)
and the steps as JSON — so it opens from disk with no network access. Next/Previous buttons and the
arrow keys move one node at a time (see :mod:`.steps`): first the forward values appear on the
edges, then, node by node from the output back, the gradients, each with the node's local rule and
its numbers.

Hooks for scripts and tests: ``#layerprop-page[data-step]``, ``#status`` (``data-step``,
``data-phase``), ``#counter``, ``#step-rule``, ``#step-numbers``, ``#step-verdict`` (the doctor's
verdict on the step's node, with ``check=True``); edge texts with the classes ``value visible`` and
``grad visible`` once revealed.
"""

from __future__ import annotations

import dataclasses
import json
from html import escape
from importlib import resources

from .dot import GRAD_COLOR, RIGHT_COLOR, VALUE_COLOR, WRONG_COLOR
from .model import build_model
from .steps import build_steps
from .svg import svg_markup

#: the page shows the drawing this much larger than its layout units
PAGE_SCALE = 1.35
#: the widest the drawing is laid out, in screen pixels (wider graphs wrap into rows; + / − zoom)
PAGE_WIDTH = 1150


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def stepper_script() -> str:
    """The stepper (``stepper.js``) with the colour map it reads, as every page loads it."""
    from .heatmap import colours_script

    return colours_script() + _asset("stepper.js")


def _script_json(data) -> str:
    """JSON that is safe inside a <script> element (no '</script>' can appear)."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def to_html(target, *, title: str | None = None, **options) -> str:
    """The step-through page of ``target``'s graph as one HTML string (options as for ``build_model``)."""
    model = build_model(target, title=title, **options)
    steps = build_steps(model)
    page_title = model.title or "Computational graph"
    drawing_model = model
    if model.title:  # the page shows the title as its heading, not inside the drawing
        drawing_model = dataclasses.replace(model, title=None)
    legend = f'<span class="v" style="color:{VALUE_COLOR}">forward values</span> appear above the edges'
    if model.has_gradients:
        legend += f', then <span class="g" style="color:{GRAD_COLOR}">gradients</span> below them'
    else:
        legend += " (run backward() before drawing to step through the gradients too)"
    if model.checked:
        legend += (
            f'; the doctor checked each node: <span style="color:{RIGHT_COLOR}">✓</span> right, '
            f'<span style="color:{WRONG_COLOR}">✗</span> wrong (red, with its relative error)'
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(page_title)} — layerprop</title>
<style>
{_asset("page.css")}
</style>
</head>
<body>
<main id="layerprop-page" data-step="0" data-steps="{len(steps)}">
<h1>{escape(page_title)}</h1>
<p class="legend">{legend}.</p>
<div class="controls">
<button type="button" id="prev" aria-label="previous step">◀ Previous</button>
<button type="button" id="next" aria-label="next step">Next ▶</button>
<span id="counter">Step 0 / {len(steps) - 1}</span>
<button type="button" id="zoom-out" aria-label="zoom out">−</button>
<button type="button" id="zoom-in" aria-label="zoom in">+</button>
<button type="button" id="fit" title="fit the drawing to the window's width">fit width</button>
</div>
<div id="status" data-step="0" data-phase="start" aria-live="polite">
<div id="step-heading">{escape(steps[0]["heading"])}</div>
<div id="step-rule">{escape(steps[0]["rule"])}</div>
<div id="step-numbers">{escape(steps[0]["numbers"])}</div>
<div id="step-verdict"></div>
</div>
<div class="drawing">
{svg_markup(drawing_model, reveal=False, scale=PAGE_SCALE, max_width=PAGE_WIDTH / PAGE_SCALE)}
</div>
<p class="hint">Keys: → next step, ← previous step, Home / End first / last step, + / − zoom (the drawing scrolls).</p>
</main>
<script type="application/json" id="layerprop-steps">{_script_json({"steps": steps})}</script>
<script>
{stepper_script()}
{_asset("page.js")}
</script>
</body>
</html>
"""

"""``layerprop lab``: a live local web app for seeing backprop — edit a graph, train a network.

Two pages, in Korean and English, served by a small Starlette app on 127.0.0.1
(``pip install 'layerprop[lab]'``):

- the **graph page** — type an expression (the project's own parser, never ``eval``) or pick one of
  the notes' graphs; every input gets a slider and a field; each change recomputes forward and
  backward, and the drawing shows values above the edges, gradients below them, each node's rule
  and, at a value used more than once, the sum that forms its gradient. A stepper replays the
  passes node by node; "Check" compares every gradient with the numerical one.
- the **train page** — a 2-D toy set (two moons, circles, spirals, XOR) or an MNIST subset, a
  network, an optimizer; start, pause, single-step, reset, and watch the loss, the accuracy, the
  decision boundary, the per-layer gradient norms and any weight as a heatmap, live.

The train page takes the learner's own data too (a CSV file, or points drawn with the mouse), the
state of both pages lives in the URL's ``#`` part (a link restores it, in any lab: ``layerprop lab
--open LINK`` or the page's "Open a shared link"), and the trained network
exports as a model file, a Python script or ONNX. Inside a notebook the two pages are widgets:
:class:`GraphWidget` and :class:`TrainWidget` (``pip install 'layerprop[widgets]'``).

Modules: :mod:`.limits` (the stated limits), :mod:`.names` (what the pages call layers),
:mod:`.toy` (the toy data sets), :mod:`.userdata` (CSV files and drawn points), :mod:`.graphs`
(what the graph page computes), :mod:`.exports` (model file, script, ONNX), :mod:`.training` (the
training job, off the request path, and the page's protocol), :mod:`.assets` (the page and its
scripts, one copy for the server and the widgets), :mod:`.security` (token, Host and Origin
checks), :mod:`.share_links` (share links between labs, and the page a link without the token
gets), :mod:`.server` (the app and ``serve``), :mod:`.widgets` (the notebook widgets).
Starlette and uvicorn are imported only by :mod:`.server`, anywidget only by :mod:`.widgets`.
"""

from .limits import LIMITS, LabLimitError

__all__ = ["LIMITS", "LabLimitError", "GraphWidget", "TrainWidget"]


def __getattr__(name: str):
    """``GraphWidget`` and ``TrainWidget``, imported when first asked for (they need anywidget)."""
    if name in ("GraphWidget", "TrainWidget"):
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

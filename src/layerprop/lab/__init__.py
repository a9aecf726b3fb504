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

Modules: :mod:`.limits` (the stated limits), :mod:`.toy` (the toy data sets), :mod:`.graphs` (what
the graph page computes), :mod:`.training` (the training job, off the request path),
:mod:`.security` (token, Host and Origin checks), :mod:`.server` (the app and ``serve``).
Starlette and uvicorn are imported only by :mod:`.server`.
"""

from .limits import LIMITS, LabLimitError

__all__ = ["LIMITS", "LabLimitError"]

"""See backprop: draw computational graphs with forward values and backward gradients.

>>> from layerprop.graph import Variable
>>> from layerprop import viz
>>> apple, n, tax = Variable(100, name="apple"), Variable(2, name="apple_num"), Variable(1.1, name="tax")
>>> price = apple * n * tax
>>> price.backward()
>>> viz.render(price, "price.svg")        # .svg/.png/.pdf need Graphviz's dot; .dot and .html do not
>>> print(viz.to_dot(price))              # DOT text, always available
>>> viz.render(price, "price.html")       # a page stepping through forward, then backward

In Jupyter a Variable (with a recorded graph) and a network display themselves as this drawing:
their ``_repr_svg_``/``_repr_html_`` ask :mod:`layerprop.notebook`, where the package's facade
registers painters that import this package on the first display (:func:`repr_svg`,
:func:`repr_html`; :func:`attach_notebook_display` sets them on the classes once it is imported).
``graph`` and ``nets`` never import ``viz``.

Nodes are the operations (the layers' ``symbol``: ×, +, exp, /, Affine, Relu, SoftmaxWithLoss …),
edges the values between them: forward value above the line, gradient below it, in the notes' style.

Modules: :mod:`.model` (what is drawn), :mod:`.values` (how numbers are written), :mod:`.dot`
(Graphviz text), :mod:`.rendering` (pictures via ``dot``), :mod:`.layout` and :mod:`.svg` (a
drawing without Graphviz), :mod:`.steps` and :mod:`.html` (the step-through page), :mod:`.examples`
(the notes' graphs); the user's expressions are parsed by :mod:`layerprop.graph.expression`.
"""

from ..graph.expression import Expression, ExpressionError, parse_assignment, parse_expression
from .dot import to_dot
from .examples import EXAMPLES, example
from .html import to_html
from .model import (
    DrawnEdge,
    DrawnNode,
    GraphModel,
    build_model,
    model_from_network,
    record_network,
)
from .rendering import (
    FORMATS,
    GraphvizNotFoundError,
    dot_available,
    render,
    to_png,
    to_svg,
)
from .svg import to_inline_svg

__all__ = [
    "to_dot",
    "to_svg",
    "to_png",
    "to_html",
    "to_inline_svg",
    "render",
    "dot_available",
    "FORMATS",
    "GraphvizNotFoundError",
    "build_model",
    "model_from_network",
    "record_network",
    "GraphModel",
    "DrawnNode",
    "DrawnEdge",
    "Expression",
    "ExpressionError",
    "parse_expression",
    "parse_assignment",
    "example",
    "EXAMPLES",
    "repr_svg",
    "repr_html",
    "attach_notebook_display",
]


def _drawable(obj) -> bool:
    """A Variable with a recorded graph, or a network (a bare input Variable keeps its repr)."""
    from .model import is_network

    return is_network(obj) or getattr(obj, "creator", None) is not None


def repr_svg(obj):
    """Jupyter's ``_repr_svg_``: the Graphviz drawing, or None (no dot, or nothing to draw)."""
    if not _drawable(obj) or not dot_available():
        return None
    try:
        return to_svg(obj)
    except Exception:
        return None


def repr_html(obj):
    """Jupyter's ``_repr_html_``: the self-laid-out SVG when dot is missing, else None.

    (Jupyter prefers HTML to SVG, so this answers only when :func:`repr_svg` cannot.)
    """
    if not _drawable(obj) or dot_available():
        return None
    try:
        return f'<div class="layerprop-drawing">{to_inline_svg(obj)}</div>'
    except Exception:
        return None


def repr_graph_check(graph_check) -> str:
    """Jupyter's display of :func:`layerprop.doctor.check_graph`'s result: the drawing with each node
    marked (a wrong one red, with its relative error; a right one ✓), then the table of verdicts."""
    try:
        drawing = f'<div class="layerprop-drawing">{to_inline_svg(graph_check.output, check=graph_check)}</div>'
    except Exception:
        drawing = ""
    return drawing + graph_check.table_html()


def attach_notebook_display():
    """Give :class:`~layerprop.graph.Variable`, every network and the doctor's graph check Jupyter's
    display methods.

    Called when :mod:`layerprop.viz` is imported: the drawing code stays above ``graph``, ``nets``
    and ``doctor``, which know nothing about it.
    """
    from ..doctor import GraphCheck
    from ..graph import Variable
    from ..nets.base import Network

    for cls in (Variable, Network):
        cls._repr_svg_ = repr_svg
        cls._repr_html_ = repr_html
    GraphCheck._repr_html_ = repr_graph_check


attach_notebook_display()

"""How a Variable or a network shows itself in a notebook, without knowing how it is drawn.

Jupyter (and IPython, and other notebook front ends) look on a displayed object for methods such
as ``_repr_svg_`` and ``_repr_html_``. :class:`~layerprop.graph.Variable` and every network have
them, as calls of :func:`show`. The drawing code ranks above ``graph`` and ``nets``, which never
import it — not even when called — so the code that draws is a *painter* :func:`register`\\ ed here
from above: the package's facade (``layerprop/__init__``, which ranks above every part) registers
painters that import the drawing code on the first display.

So a drawing needs no extra import, and it does not depend on the order of imports: a process that
imports layerprop before it starts IPython, or a front end that never imports IPython, shows it
as Jupyter does.
"""

from __future__ import annotations

#: ``mime`` ('svg', 'html') → painter(obj) → the markup, or None when ``obj`` has nothing to draw
_painters: dict = {}


def register(mime: str, painter) -> None:
    """Let ``painter(obj)`` answer the notebook's ``_repr_<mime>_`` calls (the last one registered wins)."""
    _painters[mime] = painter


def show(obj, mime: str):
    """``obj`` as ``mime`` markup for a notebook, or None (nothing registered, or nothing to draw)."""
    painter = _painters.get(mime)
    return None if painter is None else painter(obj)

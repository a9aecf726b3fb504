"""The doctor: check a learner's *own* layers and say what is wrong with them.

>>> from layerprop import doctor
>>> class Relu:                          # the study notes' Relu, as written
...     def __init__(self):
...         self.mask = None
...     def forward(self, x):
...         self.mask = (x <= 0)
...         out = x.copy()
...         out[self.maks] = 0
...         return out
...     def backward(self, dout):
...         dout[self.mask] = 0
...         return dout
>>> report = doctor.check_layer(Relu)
>>> report.ok, report.codes
(False, ['forward-error'])
>>> print(report.problems[0].message)    # … self.maks — did you mean self.mask?

:func:`check_layer` takes a class or an instance with the book's interface (nothing to subclass)
and returns a :class:`LayerReport`; :func:`check_graph` checks every node of a recorded graph at
its own input values. ``print(report)`` is a table (``lang="ko"`` for Korean), Jupyter shows HTML.

Problem codes (stable; each problem has ``code``, ``message``, ``message_ko``):

==================  ==========================================================================
``not-a-layer``     no ``forward`` or no ``backward`` method
``cannot-build``    the constructor needs arguments other than the book's ``(W, b)``: pass an instance
``init-error``      the constructor raised
``forward-error``   forward raised (one line; ``self.maks — did you mean self.mask?``)
``backward-error``  backward raised (one line, with the same hints)
``no-output``       forward returned None (a forgotten ``return``) or not one array
``missing-gradient`` backward returned None, too few gradients, or left ``self.dW`` at None
``mutates-input``   forward (or backward) changed an input array in place
``mutates-dout``    backward changed ``dout`` in place (the notes' Relu)
``wrong-shape``     a gradient's shape differs from its input's or parameter's
``wrong-gradient``  a gradient differs from central differences: worst element, both values
``stale-state``     after two forwards, backward gave another input's gradient; or two backwards differ
``unstable``        inf or NaN where the math is finite (scores of 1000 into a softmax without the max)
==================  ==========================================================================

Notes (``report.ok`` stays True): ``dtype-change``, ``warning``, ``ignores-dout``, ``returns-dout``,
``kink``, ``not-deterministic``. The English and Korean text of every message is in
:mod:`layerprop.doctor.messages`.
"""

from .checks import TOLERANCE, check_layer
from .graph_check import GraphCheck, NodeVerdict, check_graph
from .messages import LANGUAGES, NOTE_CODES, PROBLEM_CODES
from .report import GradientRow, LayerReport, Note, Problem

__all__ = [
    "check_layer",
    "check_graph",
    "LayerReport",
    "GraphCheck",
    "NodeVerdict",
    "Problem",
    "Note",
    "GradientRow",
    "PROBLEM_CODES",
    "NOTE_CODES",
    "LANGUAGES",
    "TOLERANCE",
]

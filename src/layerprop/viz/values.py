"""How a value or a gradient is written on an edge of a drawing.

Scalars are written as numbers by :func:`layerprop.display.format_number` (``2.2``, never
``2.2000000000000006``); arrays by their shape, followed by their values when they are small
(at most :data:`MAX_SHOWN_ELEMENTS` elements): ``(2, 3)`` or ``(2,) [0.5, -1]``.
"""

from __future__ import annotations

import numpy as np

from ..display import format_number

#: arrays with at most this many elements are written out after their shape
MAX_SHOWN_ELEMENTS = 6
#: significant digits of a scalar on an edge (the drawings round harder than format_number's 12)
DEFAULT_DIGITS = 6
#: significant digits of each element of a small array
ARRAY_DIGITS = 4


def shape_text(shape) -> str:
    """``(2, 3)``, ``(2,)`` — Python's tuple notation."""
    return str(tuple(int(n) for n in shape))


def _nested(a, digits: int) -> str:
    if a.ndim == 0:
        return format_number(a, digits)
    return "[" + ", ".join(_nested(row, digits) for row in a) + "]"


def describe_value(value, digits: int = DEFAULT_DIGITS) -> str:
    """The text of ``value`` on an edge: a rounded number, or a shape plus small-array values.

    >>> describe_value(2.2000000000000006)
    '2.2'
    >>> describe_value(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    '(2, 3) [[1, 2, 3], [4, 5, 6]]'
    >>> describe_value(np.zeros((3, 4)))
    '(3, 4)'
    """
    a = np.asarray(value)
    if a.ndim == 0:
        return format_number(a, digits)
    if a.dtype.kind not in "biuf":  # e.g. labels stored as objects: show the shape only
        return shape_text(a.shape)
    if a.size <= MAX_SHOWN_ELEMENTS:
        return f"{shape_text(a.shape)} {_nested(a, min(digits, ARRAY_DIGITS))}"
    return shape_text(a.shape)

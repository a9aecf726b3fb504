"""Readable numbers: 2.2, not 2.2000000000000006.

Floating-point arithmetic leaves round-off in the last digits (100 * 2 * 1.1 is 220.00000000000003);
the study notes print those digits. Everything layerprop shows to a person goes through
:func:`format_number`, which rounds to 12 significant digits and then prints the shortest form.
"""

from __future__ import annotations

import numpy as np

SIGNIFICANT_DIGITS = 12


def format_number(value, digits: int = SIGNIFICANT_DIGITS) -> str:
    """Format one number for people: ``220.00000000000003`` → ``'220'``, ``3.3000000000000003`` → ``'3.3'``."""
    v = float(value)
    if not np.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    rounded = float(f"{v:.{digits}g}")
    if rounded == int(rounded) and abs(rounded) < 1e15:
        return str(int(rounded))
    text = repr(rounded)
    return text


def format_array(a, digits: int = 6, max_items: int = 6) -> str:
    """Format a small array compactly (rounded), or give its shape when it is large."""
    a = np.asarray(a)
    if a.ndim == 0:
        return format_number(a)
    if a.size > max_items:
        return f"array{tuple(a.shape)}"
    with np.printoptions(precision=digits, suppress=True):
        return np.array2string(a, separator=", ")

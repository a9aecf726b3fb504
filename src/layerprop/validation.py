"""Validation of numbers at layerprop's boundaries, written once.

Optimizers, layers, networks, the trainer and the CLI check their numeric arguments with these
helpers, so that every bad number gets the same kind of message: who asked (``owner``), which
argument, what was expected and what came. Each helper returns the value converted to a plain
Python ``int`` or ``float``.

- :func:`real` — a finite real number (bool, str, None, NaN and ±inf are refused);
- :func:`positive` (> 0), :func:`non_negative` (≥ 0), :func:`in_range` (lo ≤ x < hi or lo ≤ x ≤ hi);
- :func:`integer` — an integer ≥ ``minimum`` (floats such as 3.0 are refused: sizes are counts).

Values are quoted with :func:`~layerprop.errors.shown` (they may come from a file: a model's
configuration), so a message stays one short line whatever came. Type mistakes raise
:class:`TypeError`, out-of-range values :class:`ValueError` — both wrapped in
the project's own :class:`~layerprop.errors.ArgumentError` so ``except ValueError`` still works.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .errors import ArgumentError, ArgumentTypeError, shown

__all__ = ["real", "positive", "non_negative", "in_range", "integer"]


def _who(owner: str | None, name: str) -> str:
    return f"{owner}: {name}" if owner else name


def real(name: str, value: Any, *, owner: str | None = None) -> float:
    """``value`` as a finite float; bools, strings, None, NaN and ±inf are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(
            f"{_who(owner, name)} must be a real number, got {shown(value)} ({type(value).__name__})"
        )
    number = float(value)
    if not math.isfinite(number):
        raise ArgumentError(f"{_who(owner, name)} must be a finite number, got {shown(value)}")
    return number


def positive(name: str, value: Any, *, owner: str | None = None) -> float:
    """``value`` as a finite float > 0."""
    number = real(name, value, owner=owner)
    if number <= 0.0:
        raise ArgumentError(f"{_who(owner, name)} must be > 0, got {shown(value)}")
    return number


def non_negative(name: str, value: Any, *, owner: str | None = None) -> float:
    """``value`` as a finite float ≥ 0."""
    number = real(name, value, owner=owner)
    if number < 0.0:
        raise ArgumentError(f"{_who(owner, name)} must be >= 0, got {shown(value)}")
    return number


def in_range(
    name: str, value: Any, low: float, high: float, *, owner: str | None = None, include_high: bool = False
) -> float:
    """``value`` as a float with ``low ≤ value < high`` (``≤ high`` with ``include_high``)."""
    number = real(name, value, owner=owner)
    inside = low <= number <= high if include_high else low <= number < high
    if not inside:
        bracket = "]" if include_high else ")"
        raise ArgumentError(f"{_who(owner, name)} must be in [{low:g}, {high:g}{bracket}, got {shown(value)}")
    return number


def integer(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None, owner: str | None = None
) -> int:
    """``value`` as an int within [``minimum``, ``maximum``] (either bound optional).

    Only true integers are taken (Python ``int`` or NumPy integer; not bool, not 3.0).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{_who(owner, name)} must be an integer, got {shown(value)} ({type(value).__name__})")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ArgumentError(f"{_who(owner, name)} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ArgumentError(f"{_who(owner, name)} must be at most {maximum}, got {number}")
    return number

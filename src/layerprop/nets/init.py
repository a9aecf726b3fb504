"""Weight initialisation: the scales the book uses, and a random source that can be seeded."""

from __future__ import annotations

import contextlib
import contextvars
import math

import numpy as np

from ..validation import non_negative


def random_source(seed=None):
    """A ``numpy.random.Generator`` for ``seed``; with ``seed=None`` the legacy global ``np.random``.

    Using the global generator when no seed is given keeps the book's habit working:
    ``np.random.seed(0)`` before building a network makes it repeatable.
    """
    return np.random if seed is None else np.random.default_rng(seed)


# While a saved network is rebuilt (see :func:`rebuilding`): how many more parameter values the
# constructor may still draw, or None outside a rebuild.
_rebuild_budget: contextvars.ContextVar = contextvars.ContextVar("rebuild_budget", default=None)


def _claim(shape) -> bool:
    """While rebuilding, count ``shape``'s values against the file's budget (refusing a shape
    beyond it before anything is allocated) and return True; outside a rebuild return False."""
    budget = _rebuild_budget.get()
    if budget is None:
        return False
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    count = math.prod(int(n) for n in shape)
    if count > budget[0]:
        from ..errors import ModelFileError

        raise ModelFileError(
            f"the configuration asks for a parameter array of shape {shape} ({count} values), "
            f"more than the {budget[0]} parameter values left in the file"
        )
    budget[0] -= count
    return True


def parameter_array(shape, dtype, value: float = 0.0) -> np.ndarray:
    """An array of ``shape`` filled with ``value``: a layer's parameter before its saved values
    are loaded (counted against the file's budget while a saved network is rebuilt)."""
    _claim(shape)
    return np.full(shape, value, dtype)


@contextlib.contextmanager
def rebuilding(max_values: int):
    """Rebuild a saved network whose file holds ``max_values`` parameter values.

    Inside this context :func:`standard_normal` draws no random numbers (the weights are
    overwritten by the saved ones anyway) and refuses, before allocating anything, a configuration
    that asks for more values than the file holds: a forged ``hidden_size_list: [10**9]`` then
    costs nothing instead of gigabytes.
    """
    token = _rebuild_budget.set([int(max_values)])
    try:
        yield
    finally:
        _rebuild_budget.reset(token)


def standard_normal(rng, shape, dtype):
    """Standard-normal draws of ``shape`` as ``dtype`` from either kind of random source
    (zeros, within a budget, while a saved network is rebuilt: see :func:`rebuilding`)."""
    if _claim(shape):
        return np.zeros(shape, dtype)
    draw = rng.randn(*shape) if rng is np.random else rng.standard_normal(shape)
    return np.asarray(draw).astype(dtype)


def init_scale(weight_init_std, fan_in: int) -> float:
    """The std of a layer's weights: a number, or 'relu'/'he' → √(2/fan_in), 'sigmoid'/'xavier' → √(1/fan_in)."""
    if isinstance(weight_init_std, str):
        name = weight_init_std.lower()
        if name in ("relu", "he"):
            return float(np.sqrt(2.0 / fan_in))
        if name in ("sigmoid", "xavier", "tanh"):
            return float(np.sqrt(1.0 / fan_in))
        raise ValueError(
            f"weight_init_std must be a number, 'relu'/'he' or 'sigmoid'/'xavier', got {weight_init_std!r}"
        )
    return non_negative("weight_init_std", weight_init_std)

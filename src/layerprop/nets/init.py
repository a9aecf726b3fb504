"""Weight initialisation: the scales the book uses, and a random source that can be seeded."""

from __future__ import annotations

import numpy as np

from ..validation import non_negative


def random_source(seed=None):
    """A ``numpy.random.Generator`` for ``seed``; with ``seed=None`` the legacy global ``np.random``.

    Using the global generator when no seed is given keeps the book's habit working:
    ``np.random.seed(0)`` before building a network makes it repeatable.
    """
    return np.random if seed is None else np.random.default_rng(seed)


def standard_normal(rng, shape, dtype):
    """Standard-normal draws of ``shape`` as ``dtype`` from either kind of random source."""
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
        raise ValueError(f"weight_init_std must be a number, 'relu'/'he' or 'sigmoid'/'xavier', got {weight_init_std!r}")
    return non_negative("weight_init_std", weight_init_std)

"""Two-dimensional toy data sets for the train page, generated with NumPy (seeded, repeatable).

Each function returns ``(x, t)``: ``x`` float32 of shape (n, 2), roughly in [−1.5, 1.5]², and ``t``
int64 class labels. The sets are the usual ones for watching a decision boundary form:

=========== =====================================================================================
moons       two interleaving half circles (radius 1, the second shifted by (1, −0.5)), noise 0.1
circles     a small circle (radius 0.5) inside a large one (radius 1), noise 0.08
spirals     three arms, r ∈ [0.1, 1], each turning 1.25 revolutions, angle noise 0.2
xor         uniform points in [−1, 1]²; class 1 where x₁·x₂ > 0
=========== =====================================================================================
"""

from __future__ import annotations

import numpy as np

from ..validation import integer
from .limits import LIMITS


def _finish(x, t, rng):
    order = rng.permutation(len(t))
    return x[order].astype(np.float32), t[order].astype(np.int64)


def moons(n: int, rng) -> tuple:
    half = n // 2
    a = rng.uniform(0, np.pi, half)
    b = rng.uniform(0, np.pi, n - half)
    upper = np.stack([np.cos(a), np.sin(a)], axis=1)
    lower = np.stack([1 - np.cos(b), 0.5 - np.sin(b)], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(0, 0.1, (n, 2))
    x = (x - [0.5, 0.25]) * 0.95
    t = np.concatenate([np.zeros(half), np.ones(n - half)])
    return _finish(x, t, rng)


def circles(n: int, rng) -> tuple:
    half = n // 2
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.concatenate([np.full(half, 0.5), np.full(n - half, 1.0)])
    x = np.stack([np.cos(angle), np.sin(angle)], axis=1) * radius[:, None] + rng.normal(0, 0.08, (n, 2))
    t = np.concatenate([np.zeros(half), np.ones(n - half)])
    return _finish(x, t, rng)


def spirals(n: int, rng, arms: int = 3) -> tuple:
    t = np.arange(n) % arms
    r = rng.uniform(0.1, 1.0, n)
    angle = r * 1.25 * 2 * np.pi + t * 2 * np.pi / arms + rng.normal(0, 0.2, n)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1) * 1.3
    return _finish(x, t, rng)


def xor(n: int, rng) -> tuple:
    x = rng.uniform(-1, 1, (n, 2))
    t = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return _finish(x * 1.3, t, rng)


#: name → generator
TOY_SETS = {"moons": moons, "circles": circles, "spirals": spirals, "xor": xor}


def make_toy(name: str, n: int = 600, seed: int = 0) -> tuple:
    """The toy set ``name`` with ``n`` points: ``(x, t)`` (see the module docstring)."""
    if name not in TOY_SETS:
        raise ValueError(f"unknown toy data set {name!r}; choose one of {', '.join(TOY_SETS)}")
    n = integer("number of points", n, minimum=10, maximum=LIMITS["toy_samples"])
    return TOY_SETS[name](n, np.random.default_rng(seed))

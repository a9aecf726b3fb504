"""What the lab calls a network's layers: "Affine 1", "ReLU 1", "tanh 2" — not the dictionary keys
(``Affine1``, ``Activation_function1``) the book's networks store them under.

Each layer is named by its kind and its number among the layers of that kind, counted from the
input; the keys stay what the page sends back to pick a layer (``inspect``).
"""

from __future__ import annotations

#: how each layer class is called on the pages
KINDS = {
    "Affine": "Affine",
    "Relu": "ReLU",
    "Sigmoid": "Sigmoid",
    "Tanh": "tanh",
    "Dropout": "Dropout",
    "BatchNormalization": "BatchNorm",
    "SoftmaxWithLoss": "SoftmaxWithLoss",  # the notes' own name for it
    "SigmoidWithLoss": "SigmoidWithLoss",
}


def layer_titles(layers) -> dict:
    """``{key: title}`` for ``layers`` (``(key, layer)`` pairs in forward order); a loss layer (there
    is one) gets no number."""
    counts, titles = {}, {}
    for key, layer in layers:
        kind = KINDS.get(type(layer).__name__, type(layer).__name__)
        counts[kind] = counts.get(kind, 0) + 1
        titles[key] = kind if type(layer).__name__.endswith("WithLoss") else f"{kind} {counts[kind]}"
    return titles


def loss_title(layer) -> str:
    """The loss layer's title."""
    return layer_titles([(None, layer)])[None]

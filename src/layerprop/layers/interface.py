"""The book's layer interface, read from any object: a layerprop layer or a learner's own class.

A layer of *Deep Learning from Scratch* needs no base class. It has ``forward`` and ``backward``,
and its trainable arrays go by the book's names:

- ``params`` and ``grads`` dicts with the same keys (layerprop's layers, the book's networks), or
- attributes ``W``, ``b`` (``gamma``, ``beta`` …) whose gradients ``backward`` stores in the
  attributes of the same name with a ``d`` in front: ``dW``, ``db`` (the book's ``Affine``).

:func:`parameter_arrays` finds the arrays and :func:`parameter_gradient` the gradient of one of
them. ``graph.apply`` and ``layerprop.doctor`` read a layer through these two functions only, so a
layer without parameters (the book's ``MulLayer``) needs neither ``params`` nor ``grads``.
"""

from __future__ import annotations

#: attributes that the book's layers save in ``forward``: never parameters, even when a ``d``-twin exists
SAVED_BY_FORWARD = frozenset({"x", "y", "t", "out", "mask", "loss"})
#: the book's own parameter names: a layer that has them but no gradient attribute has a missing gradient
BOOK_PARAMETER_NAMES = ("W", "b")


def _is_float_array(value) -> bool:
    dtype = getattr(value, "dtype", None)
    return getattr(value, "ndim", None) is not None and getattr(dtype, "kind", None) == "f"


def parameter_arrays(layer) -> dict:
    """``{key: array}`` of ``layer``'s trainable arrays, by the book's names (empty when it has none).

    A ``params`` dict (or mapping) that is not empty wins; otherwise every float-array attribute
    ``p`` (other than what forward saves: x, y, t, out, mask) that has a gradient attribute ``dp``
    (``None`` until backward is fine), and the book's ``W`` and ``b`` even without one.
    """
    params = getattr(layer, "params", None)
    if hasattr(params, "items") and not callable(params):
        found = {key: value for key, value in params.items() if _is_float_array(value)}
        if found:
            return found
    attributes = getattr(layer, "__dict__", {})
    return {
        name: value
        for name, value in attributes.items()
        if _is_float_array(value)
        and name not in SAVED_BY_FORWARD
        and (f"d{name}" in attributes or name in BOOK_PARAMETER_NAMES)
    }


def parameter_gradient(layer, key):
    """The gradient that ``backward`` left for parameter ``key``: ``layer.grads[key]`` when the layer
    has a ``grads`` mapping, else its attribute ``d<key>`` (``dW`` for ``W``); None when there is none."""
    grads = getattr(layer, "grads", None)
    if hasattr(grads, "get") and not callable(grads):
        try:
            value = grads.get(key)
        except Exception:
            value = None
        if value is not None:
            return value
    return getattr(layer, f"d{key}", None)

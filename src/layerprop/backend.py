"""The array module behind every layer.

Layers never call ``numpy`` directly for array work: they ask :func:`get_array_module` for the module
that owns their inputs. Today that is NumPy; a CuPy array would select CuPy, so a GPU backend can be
added without rewriting the layers.
"""

from __future__ import annotations

import numpy

from .errors import ShapeError

xp = numpy  # the default array module


_PLAIN = (int, float, bool, complex, type(None))


def get_array_module(*arrays):
    """Return the array module (``numpy`` or ``cupy``) that owns ``arrays``.

    Python scalars and NumPy arrays give NumPy; a CuPy array, when CuPy is installed, gives CuPy.
    """
    for a in arrays:
        kind = type(a)
        if kind is numpy.ndarray or kind in _PLAIN:  # the common case, decided without string work
            continue
        if kind.__module__.startswith("cupy"):
            import cupy  # noqa: PLC0415 - only reached when a CuPy array was passed in

            return cupy
    return numpy


def sum_to(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of NumPy broadcasting.

    Axes that broadcasting prepended are summed away, and axes where ``shape`` has 1 are summed with
    ``keepdims``. Returns ``grad`` itself when the shapes already agree (no copy).
    """
    shape = tuple(shape)
    grad_shape = numpy.shape(grad)
    if grad_shape == shape:
        return grad
    lead = len(grad_shape) - len(shape)
    if lead < 0 or any(g != n and n != 1 for g, n in zip(grad_shape[lead:], shape)):
        raise ShapeError(
            f"a gradient of shape {grad_shape} cannot be summed down to shape {shape}: "
            "dout must have the shape of the layer's output"
        )
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad_shape[lead + i] != 1
    )
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    if lead:
        out = out.reshape(shape)
    return out


def float_dtype_of(*values):
    """The floating dtype a computation on ``values`` should produce (float64 for ints/scalars)."""
    xpm = get_array_module(*values)
    dtypes = [v.dtype for v in values if hasattr(v, "dtype")]
    if not dtypes:
        return xpm.dtype(xpm.float64)
    dt = xpm.result_type(*dtypes)
    return dt if xpm.issubdtype(dt, xpm.floating) else xpm.dtype(xpm.float64)

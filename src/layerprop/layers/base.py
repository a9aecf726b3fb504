"""The one primitive of layerprop: a layer with ``forward`` and ``backward``.

A layer computes its output in ``forward``, keeps what it needs from the forward pass, and in
``backward`` turns the gradient of the loss with respect to its output (``dout``) into gradients
with respect to its inputs, by the chain rule. Layers with parameters also fill ``grads``.
"""

from __future__ import annotations

import numbers

import numpy

from ..backend import device_of, float_dtype_of, get_array_module, to_device
from ..errors import BackwardBeforeForwardError, ShapeError


def input_dtype(*inputs):
    """The floating dtype of a layer's array inputs (float64 for integer arrays), or None when every
    input is a plain Python number."""
    if len(inputs) == 1 and getattr(inputs[0], "dtype", None) is not None and inputs[0].dtype.kind == "f":
        return inputs[0].dtype  # the common case: one float array
    typed = [v for v in inputs if hasattr(v, "dtype")]
    return float_dtype_of(*typed) if typed else None


def typed_dout(dout, shape, dtype, xp=None):
    """Turn a Python-number ``dout`` into an array of ``dtype`` filled to the output's ``shape``.

    So ``backward(1)`` on a float32 layer returns float32 gradients (not int or float64) of the
    inputs' shapes. An array ``dout`` is returned as it is, and so is a number when ``dtype`` is None
    (every input was a plain Python number: the notes' apple example keeps printing plain numbers).
    """
    if hasattr(dout, "dtype") or dtype is None:
        return dout
    if not isinstance(dout, numbers.Number):  # a list of numbers (of the output's shape, checked)
        return (xp or get_array_module()).asarray(dout, dtype=dtype)
    return (xp or get_array_module()).full(tuple(shape), dout, dtype=dtype)


#: the languages every layer states its rules in
RULE_LANGUAGES = ("en", "ko")


def rules_section(cls) -> str:
    """The docstring section written from a layer class's rule attributes (English and Korean)."""
    forward, backward = cls.rules("en")
    forward_ko, backward_ko = cls.rules("ko")
    lines = ["    Rules (:attr:`forward_rule`, :attr:`backward_rule`)::", ""]
    lines.append(f"        forward:  {forward}")
    lines.append(f"        backward: {backward}")
    lines.append(f"        순전파:   {forward_ko}")
    lines.append(f"        역전파:   {backward_ko}")
    return "\n".join(lines)


class Layer:
    """Base class of every layer.

    Attributes shared by all layers:

    ``params``
        dict of the layer's trainable arrays, keyed 'W', 'b', 'gamma', … (empty when it has none).
        The dict holds the very arrays the layer computes with, so updating them in place updates
        the layer.
    ``grads``
        dict with the same keys, filled by ``backward``.
    ``symbol``
        short label used when the layer is drawn as a node of a computational graph.
    ``forward_rule``, ``backward_rule``
        the layer's local rules, e.g. ``out = x · y`` and ``dx = dout·y, dy = dout·x``. They are
        written once, here as class attributes; the docstring's "Rules" section, the drawings and
        ``layerprop lab`` all read them (via :meth:`rules`). ``forward_rule_ko`` and
        ``backward_rule_ko`` give the Korean wording where it differs (``None``: the formula reads
        the same in both languages).
    ``has_train_mode``
        True for layers whose ``forward`` takes the book's ``train_flg`` (Dropout, BatchNormalization).
    ``buffers``
        dict of arrays that are saved with a model but not trained (BatchNorm's running statistics).

    A network talks to its layers only through this interface: ``params``/``set_param``,
    ``buffers``/``set_buffer``, ``has_train_mode``, ``reseed`` and ``to(device)``.
    """

    symbol = "?"
    forward_rule = ""
    backward_rule = ""
    forward_rule_ko = None
    backward_rule_ko = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "__doc__" in own and cls.__doc__ and ("forward_rule" in own or "backward_rule" in own):
            cls.__doc__ = cls.__doc__.rstrip() + "\n\n" + rules_section(cls) + "\n"

    @classmethod
    def rules(cls, language: str = "en") -> tuple:
        """``(forward rule, backward rule)`` in ``language`` ('en' or 'ko')."""
        if language not in RULE_LANGUAGES:
            raise ValueError(f"rules: language must be one of {', '.join(RULE_LANGUAGES)}, got {language!r}")
        if language == "ko":
            return (cls.forward_rule_ko or cls.forward_rule, cls.backward_rule_ko or cls.backward_rule)
        return (cls.forward_rule, cls.backward_rule)

    has_train_mode = False

    @property
    def params(self) -> dict:
        return {}

    @property
    def grads(self) -> dict:
        return {}

    @property
    def buffers(self) -> dict:
        return {}

    def set_param(self, key, value):
        """Replace the parameter array ``key`` (the attribute of the same name) with ``value``."""
        if key not in self.params:
            raise KeyError(f"{type(self).__name__} has no parameter {key!r}")
        setattr(self, key, value)

    def set_buffer(self, key, value):
        """Replace the buffer ``key`` (the attribute of the same name) with ``value``."""
        if key not in self.buffers:
            raise KeyError(f"{type(self).__name__} has no buffer {key!r}")
        setattr(self, key, value)

    def reseed(self, seed):
        """Restart the layer's random numbers from ``seed``; layers without randomness ignore it."""

    def to(self, device: str):
        """Move parameters and buffers to ``device`` (a name from :func:`layerprop.backend.parse_device`).

        Arrays already there are kept as they are (the same objects); returns the layer.
        """
        for key, value in self.params.items():
            if device_of(value) != device:
                self.set_param(key, to_device(value, device))
        for key, value in self.buffers.items():
            if value is not None and device_of(value) != device:
                self.set_buffer(key, to_device(value, device))
        return self

    def _forward_value(self, attribute: str):
        """Return an attribute saved by ``forward``; raise a clear error if forward has not run."""
        value = getattr(self, attribute, None)
        if value is None:
            raise BackwardBeforeForwardError(
                f"{type(self).__name__}.backward() was called before forward(): "
                "run forward first, so the layer has the values its gradient needs"
            )
        return value

    def _check_dout_shape(self, dout, expected_shape: tuple):
        """Raise :class:`ShapeError` unless ``dout`` has the shape of the layer's output.

        ``expected_shape`` is the output's shape, as a tuple. A Python number is accepted for any
        output (it stands for that value at every element of the output); an array — NumPy scalars
        and 0-d arrays included — must match exactly, so that a wrong ``dout`` is never broadcast
        into a gradient of the wrong shape. Cheap: one tuple comparison on the hot path.
        """
        shape = getattr(dout, "shape", None)
        if shape is None:
            if isinstance(dout, numbers.Number):
                return
            shape = numpy.shape(dout)  # a list or tuple of numbers
        if shape != expected_shape:
            raise ShapeError(
                f"{type(self).__name__}.backward: dout must have shape {tuple(expected_shape)} "
                f"(the shape of the layer's output), got {tuple(shape)}"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class WeightBiasLayer(Layer):
    """A layer whose parameters are a weight ``W`` and a bias ``b`` (Affine, Convolution).

    ``params`` are the very arrays ``W`` and ``b``; ``grads`` are ``dW`` and ``db`` from ``backward``.
    """

    @property
    def params(self):
        return {"W": self.W, "b": self.b}

    @property
    def grads(self):
        return {"W": self.dW, "b": self.db}

"""How the doctor calls a learner's layer: the book's interface, read from the class itself.

- ``forward(x)`` / ``backward(dout) → dx``; ``forward(x, y)`` / ``backward(dout) → (dx, dy)``; a
  loss ``forward(x, t)`` (its second parameter named ``t``) / ``backward(dout=1) → dx``. The input
  names come from ``forward``'s own parameters, so the messages say ``dx``, ``dy`` as the layer does.
- Parameters by the book's names (:mod:`layerprop.layers.interface`): ``W``, ``b`` with ``dW``,
  ``db``, or ``params``/``grads`` dicts.
- A class is built when its constructor needs no argument, or takes the book's ``(W, b)``: small
  random parameters, W of shape (4, 3) (or (D, 3) for given inputs of D features).
- Inputs, unless given, are float64, a small batch, away from kinks: every element at least 0.3
  from 0 (Relu's kink), with both signs; the loss's targets one-hot, as in the book. A layer whose
  output is not finite there (a log, a square root) gets positive inputs instead.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from ..layers.interface import parameter_arrays
from .messages import Text, say

#: names the book gives a loss's second parameter (the targets)
TARGET_NAMES = ("t", "target", "targets", "label", "labels")
#: the shapes the doctor chooses: a batch of 2 samples of 3 values; a loss's 3 samples of 4 classes
BATCH, FEATURES, OUTPUTS = 2, 4, 3
ELEMENT_SHAPE = (2, 3)
LOSS_SHAPE = (3, 4)
LOSS_LABELS = (0, 3, 1)
#: chosen inputs lie this far from 0 at least, and at most MARGIN + MAGNITUDE
MARGIN, MAGNITUDE = 0.3, 2.0
#: a loss's scores are this much smaller
LOSS_SCALE = 0.5
#: the book's constructor parameters the doctor can fill
BOOK_CONSTRUCTOR = ("W", "b")


#: what a learner's code may raise and the doctor reports: anything but a Ctrl-C (sys.exit() included)
LEARNER_ERRORS = (Exception, SystemExit)


class CannotCall(Exception):
    """The doctor cannot get a layer to check; ``finding`` is the (code, Text) to report."""

    def __init__(self, code: str, text: Text):
        super().__init__(text.en)
        self.code, self.text = code, text


def _required_positional(function) -> list | None:
    """Names of ``function``'s positional parameters without defaults (None: no signature, or
    ``*args``: any number)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    names = []
    for parameter in signature.parameters.values():
        if parameter.kind == parameter.VAR_POSITIONAL:
            return None
        if (
            parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
            and parameter.default is parameter.empty
        ):
            names.append(parameter.name)
    return names


def _positional(function) -> list:
    """Names of all of ``function``'s positional parameters (defaults included)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def layer_name(subject) -> str:
    cls = subject if isinstance(subject, type) else type(subject)
    return cls.__name__


def _random_parameters(rng, features: int) -> tuple:
    W = 0.5 * rng.standard_normal((features, OUTPUTS))
    b = 0.5 * rng.standard_normal(OUTPUTS)
    return W, b


def _features(inputs) -> int:
    if not inputs:
        return FEATURES
    x = np.asarray(inputs[0])
    if x.ndim == 0:
        return 1
    return int(np.prod(x.shape[1:])) if x.ndim >= 2 else int(x.shape[0])


def constructor_arguments(cls) -> list:
    """The names of the arguments ``cls(...)`` needs (those without defaults; ``self`` left out)."""
    required = _required_positional(cls.__init__) or []
    return required[1:] if required and required[0] == "self" else required


def obtain(subject, inputs, rng) -> tuple:
    """``(layer, how it was built or '')`` for a layer or a class; raises :class:`CannotCall`."""
    name = layer_name(subject)
    cls = subject if isinstance(subject, type) else type(subject)
    for method in ("forward", "backward"):
        if not callable(getattr(cls, method, None)) and not callable(getattr(subject, method, None)):
            raise CannotCall("not-a-layer", say(f"not-a-layer/{method}", name=name))
    if not isinstance(subject, type):
        return subject, ""
    required = constructor_arguments(subject)
    if not required:
        call, arguments = f"{name}()", ()
    elif tuple(required) == BOOK_CONSTRUCTOR:
        W, b = _random_parameters(rng, _features(inputs))
        call, arguments = f"{name}(W {W.shape}, b {b.shape})", (W, b)
    else:
        raise CannotCall("cannot-build", say("cannot-build", name=name, arguments=", ".join(required)))
    try:
        return subject(*arguments), call
    except LEARNER_ERRORS as exc:
        from .hints import describe_exception

        raise CannotCall("init-error", say("init-error", call=call, error=describe_exception(exc, subject))) from None


@dataclass
class Plan:
    """How the layer is called: its input names, which of them backward returns gradients for,
    which of those are judged, and the inputs.

    ``names`` has one entry per argument of ``forward``; backward returns one gradient for each of
    the first ``data_count`` (not for a loss's targets ``t``, nor for a graph node's constants);
    ``receives[i]`` says whether the gradient of data input ``i`` is judged (False for a graph's
    constant such as the 1 of ``1 + x``, which receives none).
    """

    names: list
    data_count: int
    loss: bool
    receives: list = None
    inputs: list = field(default_factory=list)
    chosen: bool = True  # the doctor chose the inputs (False: given)
    backward_takes_dout: bool = True
    params: dict = field(default_factory=dict)
    sums_broadcast: bool = False  # a graph node: its gradients are summed to the input shapes, as the graph does

    def __post_init__(self):
        if self.receives is None:
            self.receives = [True] * self.data_count

    @property
    def grad_indices(self) -> list:
        """The positions of the inputs whose gradients are judged."""
        return [i for i in range(self.data_count) if self.receives[i]]

    @property
    def grad_names(self) -> list:
        return [self.names[i] for i in self.grad_indices]

    def expected(self) -> str:
        """What backward should return: ``dx`` or ``dx, dy``."""
        return ", ".join(f"d{n}" for n in self.names[: self.data_count])

    def called(self) -> str:
        """``forward(x, y) → backward(dout) → (dx, dy)``, with the parameter gradients."""
        grads = self.expected()
        returned = grads if self.data_count == 1 else f"({grads})"
        dout = ("1" if self.loss else "dout") if self.backward_takes_dout else ""
        text = f"forward({', '.join(self.names)}) → backward({dout}) → {returned}"
        if self.params:
            text += "; " + ", ".join(f"d{key}" for key in self.params)
        return text

    def describe_inputs(self) -> str:
        parts = []
        for i, (name, value) in enumerate(zip(self.names, self.inputs)):
            shape = tuple(np.shape(value))
            if i >= self.data_count and self.loss and np.ndim(value) == 2:
                parts.append(f"{name} one-hot {shape}")
            elif np.ndim(value) == 0:
                parts.append(f"{name} = {float(np.asarray(value)):g}")
            else:
                parts.append(f"{name} {shape}")
        return ", ".join(parts)


def _input_names(layer, count: int | None) -> list:
    names = _positional(layer.forward)
    if names and names[0] == "self":  # a function stored on the instance, or an unbound method
        names = names[1:]
    required = _required_positional(layer.forward)
    if required is not None and required and required[0] == "self":
        required = required[1:]
    wanted = count if count is not None else (len(required) if required else 1)
    names = (names + [f"x{i}" for i in range(len(names), wanted)])[:wanted]
    if len(set(names)) < len(names) or not all(names):
        names = [f"x{i}" for i in range(wanted)]
    return names


def plan(layer, given, constants=(), receives=None) -> Plan:
    """The :class:`Plan` for ``layer``: from the given inputs (and constants), or from its signature.

    ``constants`` (a graph node's: a loss's labels, a train flag) follow the inputs and get no
    gradient; ``receives`` (from a graph node) marks which given inputs have their gradient judged,
    and says that the gradients are summed to the inputs' shapes first, as the graph does.
    """
    count = len(given) + len(constants) if given or constants else None
    names = _input_names(layer, count)
    loss = len(names) == 2 and names[1] in TARGET_NAMES
    if constants:
        data_count = len(given)
    else:
        data_count = 1 if loss else len(names)
    backward_required = _required_positional(layer.backward)
    backward_all = _positional(layer.backward)
    takes_dout = bool([n for n in backward_all if n != "self"]) or backward_required is None
    return Plan(
        names,
        data_count,
        loss,
        receives=list(receives) if receives is not None else None,
        backward_takes_dout=takes_dout,
        params=dict(parameter_arrays(layer)),
        sums_broadcast=receives is not None,  # only check_graph says which inputs receive
    )


def as_float(value):
    """A float64 copy of an input (a constant that is not floating, such as integer labels, is kept)."""
    array = np.array(value, copy=True)
    if array.dtype.kind in "biuf":
        return array.astype(np.float64) if array.dtype.kind != "f" or array.dtype != np.float64 else array
    return array


def signed(rng, shape):
    """Values of both signs, each at least MARGIN from 0: a ±h probe never crosses Relu's kink."""
    magnitude = MARGIN + MAGNITUDE * rng.random(shape)
    signs = np.where(np.arange(int(np.prod(shape))) % 2 == 0, 1.0, -1.0)
    return magnitude * rng.permutation(signs).reshape(shape)


def positive(rng, shape):
    """Positive values in [0.5, 2.5] (for a log, a square root, a divisor)."""
    return 0.5 + MAGNITUDE * rng.random(shape)


def onehot(shape):
    t = np.zeros(shape)
    t[np.arange(shape[0]), np.asarray(LOSS_LABELS[: shape[0]]) % shape[1]] = 1.0
    return t


def _input_shape(plan_: Plan, layer) -> tuple:
    W = plan_.params.get("W", getattr(layer, "W", None))
    ndim = getattr(W, "ndim", None)
    if ndim == 2:
        return (BATCH, W.shape[0])
    if ndim == 4:  # a convolution's filters (FN, C, FH, FW): an image batch a little larger than them
        return (BATCH, W.shape[1], W.shape[2] + 2, W.shape[3] + 2)
    return LOSS_SHAPE if plan_.loss else ELEMENT_SHAPE


def candidate_inputs(plan_: Plan, layer, rng) -> list:
    """The input sets to try, best first: signed values, then positive ones."""
    shape = _input_shape(plan_, layer)
    candidates = []
    for draw in (signed, positive):
        values = [draw(rng, shape) for _ in range(plan_.data_count)]
        if plan_.loss:  # scores within ±1.15: no probability so small that the book's log(y + 1e-7) shows
            values = [LOSS_SCALE * v for v in values] + [onehot(shape if len(shape) == 2 else LOSS_SHAPE)]
        candidates.append(values)
    if plan_.data_count == 2 and not plan_.loss and len(shape) == 2:  # a matrix product: x (N, D), y (D, M)
        candidates.append([signed(rng, shape), signed(rng, shape[::-1])])
    return candidates


def other_inputs(plan_: Plan, inputs, rng) -> list:
    """Inputs of the same shapes and kind with other values (for the stale-state check)."""
    out = []
    for i, value in enumerate(inputs):
        if i not in plan_.grad_indices:
            out.append(value)  # targets and other constants stay
            continue
        value = np.asarray(value)
        if plan_.chosen:
            draw = positive if value.size and (value > 0).all() else signed
            out.append(draw(rng, value.shape))
        elif value.size > 1 and not np.all(value == value.flat[0]):
            out.append(np.flip(value).copy())  # the same values elsewhere: no new kinks
        else:
            out.append(value * 1.5 + 0.5)
    return out

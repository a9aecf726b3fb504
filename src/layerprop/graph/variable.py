"""Variables and the recorded graph: define-by-run backpropagation.

A :class:`Variable` holds an array (``data``) and, after :meth:`Variable.backward`, the gradient of the
output with respect to it (``grad``). Every operation on Variables runs a layer of
:mod:`layerprop.layers` and records a :class:`Node` — that layer, its input Variables and its output
Variable. ``backward`` visits the nodes in reverse topological order and calls each layer's own
``backward``: the layers are the one source of truth for every derivative.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..backend import get_array_module, sum_to
from ..display import format_array
from ..errors import ShapeError
from ..layers.interface import parameter_gradient
from ..notebook import show
from .config import is_recording


class GradientAccumulationWarning(UserWarning):
    """``backward()`` added to gradients left by an earlier ``backward()`` (no ``cleargrad()`` between)."""


_accumulation_warned = False  # the warning is given once per process


def _warn_accumulation():
    global _accumulation_warned
    if not _accumulation_warned:
        _accumulation_warned = True
        warnings.warn(
            "backward() adds to the gradients left by an earlier backward(): call cleargrad() (or "
            "clear_grads(output)) first unless you mean to accumulate them (shown once)",
            GradientAccumulationWarning,
            stacklevel=3,
        )


def _as_float_array(data):
    """Arrays of floats stay as they are; Python numbers, ints and bools become float64 arrays."""
    xp = get_array_module(data)
    array = xp.asarray(data)
    if array.dtype.kind not in "fc":
        array = array.astype(xp.float64)
    return array


class Variable:
    """A value in a computational graph.

    ``data``    the array (Python numbers and integer arrays are stored as float64)
    ``grad``    gradient of the last ``backward`` output with respect to this value (``None`` before)
    ``name``    an optional label, shown by the graph drawings
    ``creator`` the :class:`Node` that produced this value (``None`` for inputs and constants)
    """

    __array_priority__ = 200  # so that ndarray ⊕ Variable calls the Variable's operator

    def __init__(self, data, name: str | None = None, requires_grad: bool = True):
        if isinstance(data, Variable):
            raise TypeError("Variable(data): data is already a Variable; use it directly")
        self.data = _as_float_array(data)
        self.name = name
        self.grad = None
        self.creator = None
        self.requires_grad = requires_grad

    # -- array-like conveniences -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def T(self):
        from .functions import transpose

        return transpose(self)

    def __len__(self):
        return len(self.data)

    # -- methods: thin calls of the graph functions (layerprop.graph.functions) --------------
    def sum(self, axis=None, keepdims=False):
        from .functions import sum as sum_

        return sum_(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        from .functions import mean

        return mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        from .functions import max as max_

        return max_(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        from .functions import min as min_

        return min_(self, axis, keepdims)

    def reshape(self, *shape):
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``, as in NumPy."""
        from .functions import reshape

        return reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

    def transpose(self, *axes):
        """``x.transpose()``, ``x.transpose(1, 0, 2)`` or ``x.transpose((1, 0, 2))``, as in NumPy."""
        from .functions import transpose

        if not axes:
            return transpose(self)
        return transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes)

    def exp(self):
        from .functions import exp

        return exp(self)

    def log(self):
        from .functions import log

        return log(self)

    def relu(self):
        from .functions import relu

        return relu(self)

    def sigmoid(self):
        from .functions import sigmoid

        return sigmoid(self)

    def tanh(self):
        from .functions import tanh

        return tanh(self)

    def item(self):
        """The value of a one-element Variable as a Python number."""
        return self.data.item()

    def __repr__(self):
        label = f", name={self.name!r}" if self.name else ""
        return f"Variable({format_array(self.data)}{label})"

    def _repr_svg_(self):
        """In a notebook: the drawing of the graph that made this Variable (see layerprop.notebook)."""
        return show(self, "svg")

    def _repr_html_(self):
        return show(self, "html")

    # -- backpropagation ---------------------------------------------------------------------
    def nodes(self) -> list:
        """The recorded nodes that lead to this Variable, in topological (forward) order.

        Found with an explicit stack, not recursion: a chain of any length (a 1000-term sum, a
        100,000-step loop) is sorted without reaching Python's recursion limit."""
        order, seen = [], set()
        stack = [(self.creator, False)] if self.creator is not None else []
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for inp in reversed(node.inputs):
                if inp.creator is not None and id(inp.creator) not in seen:
                    stack.append((inp.creator, False))
        return order

    def backward(self, grad=None):
        """Backpropagate from this Variable through every recorded node.

        ``grad`` is the gradient flowing into this Variable (default: ones, i.e. d self / d self).
        Each Variable on the way receives the sum of the gradients of all its uses (the notes'
        branch node) added to its ``grad``; call :meth:`cleargrad` (or :func:`clear_grads`) first
        to start from zero.
        """
        xp = get_array_module(self.data)
        seed = xp.ones_like(self.data) if grad is None else xp.asarray(grad, dtype=self.data.dtype)
        if seed.shape != self.data.shape:
            raise ShapeError(
                f"Variable.backward: grad must have the Variable's shape {self.data.shape}, got {seed.shape}"
            )
        grads = {id(self): seed}
        variables = {id(self): self}
        for node in reversed(self.nodes()):
            gy = grads.get(id(node.output))
            if gy is None:
                continue
            for var, gx in node.backward(gy):
                if gx is None:
                    continue
                key = id(var)
                variables[key] = var
                grads[key] = gx if key not in grads else grads[key] + gx
        for key, var in variables.items():
            if not var.requires_grad:
                continue
            g = grads[key]
            if var.grad is not None:
                _warn_accumulation()
            var.grad = g if var.grad is None else var.grad + g

    def cleargrad(self):
        """Forget this Variable's gradient (``grad = None``)."""
        self.grad = None

    # -- operators -----------------------------------------------------------------------------
    def __add__(self, other):
        from .functions import add

        return add(self, other)

    def __radd__(self, other):
        from .functions import add

        return add(other, self)

    def __sub__(self, other):
        from .functions import sub

        return sub(self, other)

    def __rsub__(self, other):
        from .functions import sub

        return sub(other, self)

    def __mul__(self, other):
        from .functions import mul

        return mul(self, other)

    def __rmul__(self, other):
        from .functions import mul

        return mul(other, self)

    def __truediv__(self, other):
        from .functions import div

        return div(self, other)

    def __rtruediv__(self, other):
        from .functions import div

        return div(other, self)

    def __neg__(self):
        from .functions import neg

        return neg(self)

    def __pow__(self, exponent):
        from .functions import power

        return power(self, exponent)

    def __matmul__(self, other):
        from .functions import matmul

        return matmul(self, other)

    def __rmatmul__(self, other):
        from .functions import matmul

        return matmul(other, self)


def clear_grads(output: Variable):
    """Clear the gradient of ``output`` and of every Variable that leads to it."""
    output.cleargrad()
    for node in output.nodes():
        for var in node.inputs:
            var.cleargrad()
        node.output.cleargrad()


class Node:
    """One recorded application of a layer: ``output = layer.forward(*inputs, *constants)``.

    ``layer`` is any object with the book's interface (a layerprop layer or a learner's own class):
    ``forward``, ``backward``, and only if it has parameters their gradients by the book's names.
    ``params`` maps a layer's parameter key ('W', 'b', …) to the Variable that holds it, so that
    the layer's gradient of it (``layer.grads[key]``, or ``layer.dW`` for 'W') flows into that
    Variable's gradient.
    """

    def __init__(self, layer, inputs, output, constants=(), params=None):
        self.layer = layer
        self.inputs = tuple(inputs)
        self.output = output
        self.constants = tuple(constants)
        self.params = dict(params or {})

    @property
    def label(self) -> str:
        return getattr(self.layer, "symbol", type(self.layer).__name__)

    def backward(self, gy):
        """Run the layer's backward on ``gy``; yield (input Variable, gradient) pairs."""
        result = self.layer.backward(gy)
        gxs = result if isinstance(result, tuple) else (result,)
        data_inputs = self.inputs[: len(self.inputs) - len(self.params)]
        for var, gx in zip(data_inputs, gxs):
            yield var, (None if gx is None else sum_to(gx, var.shape))
        for key, var in self.params.items():  # W, b … by the book's names: grads['W'] or dW
            yield var, parameter_gradient(self.layer, key)

    def __repr__(self):
        return f"Node({self.label}, inputs={len(self.inputs)})"


def as_variable(value, like: Variable | None = None) -> Variable:
    """Return ``value`` as a Variable; a plain number or array becomes a constant.

    A Python number takes the dtype of ``like`` when that is a float array, so that
    ``float32_variable * 2`` stays float32.
    """
    if isinstance(value, Variable):
        return value
    if like is not None and np.isscalar(value) and like.data.dtype.kind == "f":
        xp = get_array_module(like.data)
        return Variable(xp.asarray(value, dtype=like.data.dtype), requires_grad=False)
    return Variable(value, requires_grad=False)


def apply(layer, *inputs, constants=(), params=None) -> Variable:
    """Run ``layer.forward`` on the inputs' data and record the node (unless in :func:`no_grad`).

    ``layer`` is a layerprop layer or any object with the book's interface — ``forward(x)`` or
    ``forward(x, y)`` and ``backward(dout)`` returning ``dx`` or ``(dx, dy)``, such as a learner's own
    ``MulLayer``; it needs ``params``/``grads`` only when ``params`` is given. ``inputs`` are
    Variables (or numbers, which become constants); ``constants`` are passed to ``forward`` after them
    but receive no gradient (e.g. the labels of a loss); ``params`` maps the layer's parameter keys
    to Variables that should receive the layer's gradients (``layer.grads[key]`` or ``layer.d<key>``).
    """
    first = next((v for v in inputs if isinstance(v, Variable)), None)
    variables = [as_variable(v, like=first) for v in inputs]
    result = layer.forward(*[v.data for v in variables], *constants)
    if result is None:
        raise TypeError(
            f"{type(layer).__name__}.forward returned None: a layer's forward returns its output "
            "(a missing 'return out'?); layerprop.doctor.check_layer says more"
        )
    out = Variable(result)
    if is_recording():
        param_vars = dict(params or {})
        out.creator = Node(layer, [*variables, *param_vars.values()], out, constants, param_vars)
    return out

"""Numerical differentiation and gradient checking.

:func:`numerical_gradient` is the book's central difference, (f(x + h) − f(x − h)) / 2h with
h = 1e-4, one element at a time, restoring x afterwards. The check functions compare the gradients
that backpropagation gives with numerical ones for a layer (:func:`check_layer`), a graph
(:func:`check_graph`) or a network (:func:`check_network`), and report per input and parameter the
largest absolute error and the relative error

    rel = max |analytic − numeric| / max(max |analytic|, max |numeric|)

(normalised by the largest gradient, so elements whose gradient is ~0 do not inflate it; a scale
below 1e-7 — a gradient that is zero up to the round-off of a difference quotient, such as a bias
followed by batch normalisation — is taken as 1e-7). Run
checks in float64: float32 has too few digits for a difference quotient with h = 1e-4.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field

import numpy as np

from .display import format_number

GRADIENT_FLOOR = 1e-7  # smallest scale the relative error is measured against


def _probes(f, x, h):
    """Yield ``(index, f(x − h·e), f(x + h·e))`` for each element of ``x``, perturbing it in place and
    restoring it afterwards (the loop that every difference quotient here shares)."""
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        idx = it.multi_index
        original = x[idx].copy()
        x[idx] = original + h
        f_plus = float(f(x))
        x[idx] = original - h
        f_minus = float(f(x))
        x[idx] = original
        yield idx, f_minus, f_plus
        it.iternext()


def _float_array(x, who):
    x = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: x must be a float array, got dtype {x.dtype}")
    return x


def numerical_gradient(f, x, h: float = 1e-4):
    """Gradient of the scalar function ``f`` at the array ``x`` by central differences.

    ``f`` is called as ``f(x)`` after ``x`` has been perturbed IN PLACE, one element at a time (so
    ``f`` may also ignore its argument and read arrays that share memory with ``x``, as the book's
    networks do). Every element is restored to its original value afterwards.
    """
    x = _float_array(x, "numerical_gradient")
    grad = np.zeros_like(x)
    for idx, f_minus, f_plus in _probes(f, x, h):
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_slopes(f, x, h: float = 1e-4):
    """``(central, left, right)``: the central difference of :func:`numerical_gradient` and the two
    one-sided ones, (f(x) − f(x − h))/h and (f(x + h) − f(x))/h, element by element.

    Where ``left`` and ``right`` disagree, ``x`` sits at a kink (Relu's 0, a max with a tie): the
    derivative is not defined there, and any value between them is a fair gradient. ``f`` is
    called as for :func:`numerical_gradient`, once more at ``x`` itself.
    """
    x = _float_array(x, "numerical_slopes")
    f_centre = float(f(x))
    central, left, right = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    for idx, f_minus, f_plus in _probes(f, x, h):
        central[idx] = (f_plus - f_minus) / (2 * h)
        left[idx] = (f_centre - f_minus) / h
        right[idx] = (f_plus - f_centre) / h
    return central, left, right


@dataclass
class GradientComparison:
    """Backprop against numerical gradient for one input or parameter."""

    name: str
    shape: tuple
    max_abs_error: float
    rel_error: float
    analytic: np.ndarray = field(repr=False)
    numeric: np.ndarray = field(repr=False)

    @property
    def worst(self) -> tuple:
        """Index of the element where backprop and the numerical gradient differ most (``()`` for a scalar)."""
        if not self.analytic.size:
            return ()
        flat = int(np.argmax(np.abs(self.analytic - self.numeric)))
        return tuple(int(i) for i in np.unravel_index(flat, self.analytic.shape))


def compare_gradients(name, analytic, numeric) -> GradientComparison:
    """Measure how far ``analytic`` is from ``numeric`` (max absolute and relative error)."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"{name}: backprop gradient has shape {analytic.shape}, numerical gradient {numeric.shape}")
    diff = float(np.max(np.abs(analytic - numeric))) if analytic.size else 0.0
    scale = max(
        float(np.max(np.abs(analytic))) if analytic.size else 0.0,
        float(np.max(np.abs(numeric))) if numeric.size else 0.0,
    )
    rel = diff / max(scale, GRADIENT_FLOOR)
    return GradientComparison(name, analytic.shape, diff, rel, analytic, numeric)


@dataclass
class GradCheckReport:
    """The result of a gradient check: one :class:`GradientComparison` per input and parameter.

    ``str(report)`` is a readable table; ``report.max_rel_error`` and ``report.ok(tol)`` are for code.
    """

    rows: list
    timings: dict = field(default_factory=dict)

    @property
    def max_rel_error(self) -> float:
        return max((r.rel_error for r in self.rows), default=0.0)

    @property
    def max_abs_error(self) -> float:
        return max((r.max_abs_error for r in self.rows), default=0.0)

    def ok(self, tol: float = 1e-6) -> bool:
        """True when every relative error is below ``tol``."""
        return self.max_rel_error < tol

    def __getitem__(self, name) -> GradientComparison:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def __str__(self) -> str:
        header = ("name", "shape", "max abs error", "rel error")
        lines = [
            (r.name, "x".join(map(str, r.shape)) or "()", f"{r.max_abs_error:.3e}", f"{r.rel_error:.3e}")
            for r in self.rows
        ]
        widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
        fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
        out = [fmt.format(*header), "  ".join("-" * w for w in widths)]
        out += [fmt.format(*line) for line in lines]
        for what, seconds in self.timings.items():
            out.append(f"{what}: {format_number(round(seconds, 6))} s")
        return "\n".join(out)


def _random_like(shape, rng):
    return rng.standard_normal(shape) if shape else np.float64(rng.standard_normal())


def check_layer(layer, *inputs, forward_kwargs=None, seed: int = 0, h: float = 1e-4) -> GradCheckReport:
    """Check ``layer.backward`` against numerical gradients of its ``forward``.

    The scalar that is differentiated is L = Σ forward(*inputs) · R for a fixed random R (so the whole
    Jacobian is exercised), or the loss itself for loss layers (scalar output). The inputs that
    receive a gradient are those that ``backward`` returns one for (a loss layer's labels get none),
    and every entry of ``layer.params``. Inputs are copied to float64 first.
    """
    kwargs = dict(forward_kwargs or {})
    rng = np.random.default_rng(seed)
    inputs = [np.array(v, dtype=np.float64) if np.asarray(v).dtype.kind == "f" else np.asarray(v) for v in inputs]
    out = layer.forward(*inputs, **kwargs)
    weights = _random_like(np.shape(out), rng)
    result = layer.backward(np.asarray(weights, dtype=np.float64) if np.ndim(out) else weights)
    input_grads = result if isinstance(result, tuple) else (result,)
    param_grads = {key: np.array(value) for key, value in layer.grads.items()}

    def loss(_=None):
        return float(np.sum(np.asarray(layer.forward(*inputs, **kwargs)) * weights))

    rows = []
    for i, (grad, x) in enumerate(zip(input_grads, inputs)):
        if grad is not None:
            name = f"x{i}" if len(input_grads) > 1 else "x"
            rows.append(compare_gradients(name, grad, numerical_gradient(loss, x, h)))
    for key, param in layer.params.items():
        rows.append(compare_gradients(key, param_grads[key], numerical_gradient(loss, param, h)))
    return GradCheckReport(rows)


def check_graph(fn, *variables, seed: int = 0, h: float = 1e-4) -> GradCheckReport:
    """Check the gradients of a graph: ``fn(*variables)`` must return a Variable.

    A non-scalar output is reduced to Σ output · R with a fixed random R. Each input Variable's
    gradient from ``backward`` is compared with the numerical gradient of its ``data``.
    """
    rng = np.random.default_rng(seed)
    out = fn(*variables)
    weights = _random_like(out.shape, rng)
    for v in variables:
        v.cleargrad()
    out.backward(np.asarray(weights, dtype=out.dtype))

    from .graph import no_grad

    def loss(_=None):
        with no_grad():
            return float(np.sum(fn(*variables).data * weights))

    rows = []
    for i, v in enumerate(variables):
        name = v.name or f"input{i}"
        numeric = numerical_gradient(loss, v.data, h)
        analytic = v.grad if v.grad is not None else np.zeros_like(v.data)
        rows.append(compare_gradients(name, analytic, numeric))
    return GradCheckReport(rows)


def check_network(network, x, t, keys=None, h: float = 1e-4) -> GradCheckReport:
    """Compare ``network.gradient(x, t)`` with numerical gradients of ``network.loss(x, t)``.

    Works with any object with the book's interface (``params``, ``loss``, ``gradient``); the
    time each method took is recorded in ``report.timings``.
    """
    start = time.perf_counter()
    analytic = network.gradient(x, t)
    backprop_seconds = time.perf_counter() - start
    keys = list(network.params) if keys is None else list(keys)
    takes_mode = "train_flg" in inspect.signature(network.loss).parameters

    def loss(_):  # in training mode, as gradient() computes it (BatchNorm uses batch statistics)
        return network.loss(x, t, train_flg=True) if takes_mode else network.loss(x, t)

    rows = []
    start = time.perf_counter()
    for key in keys:
        numeric = numerical_gradient(loss, network.params[key], h)
        rows.append(compare_gradients(key, analytic[key], numeric))
    numerical_seconds = time.perf_counter() - start
    return GradCheckReport(rows, {"backprop": backprop_seconds, "numerical": numerical_seconds})

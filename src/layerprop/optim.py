"""Optimizers: the update rules that turn gradients into parameter steps.

Every optimizer has the book's interface ``update(params, grads)``: ``params`` and ``grads`` are
dicts of arrays with the same keys, and each ``params[key]`` is changed **in place** (the layers of
a network hold references to the very same arrays, so a new array would be lost on them). The
dtype of the parameters is kept: float32 parameters get float32 state and float32 arithmetic.

Notation in the docstrings: W is a parameter, g = ∂L/∂W its gradient, η the learning rate (``lr``),
ε = 1e-7 the small constant that keeps the adaptive methods from dividing by zero (the book's value;
each adaptive optimizer takes it as ``eps``), t the step number (1 for the first ``update``).

An optimizer's state can be saved and restored exactly::

    config, arrays = opt.state_dict()          # JSON-able dict, {"v/W1": ndarray, ...}
    opt2 = optimizer_from_state(config, arrays)  # continues bit-identically
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .backend import device_of, fused_kernels, get_array_module, to_device, to_numpy
from .errors import DeviceMismatchError, ShapeError
from .validation import in_range, integer, non_negative, positive

__all__ = [
    "EPS",
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSprop",
    "Adam",
    "OPTIMIZERS",
    "get_optimizer",
    "optimizer_from_state",
]

EPS = 1e-7  # the book's ε for AdaGrad, RMSprop and Adam


# --------------------------------------------------------------------------- hyperparameter checks
# The checks themselves live in layerprop.validation (one place for every number of the library).
def _unit_interval(name: str, value: Any, *, owner: str | None = None) -> float:
    """A rate or decay in [0, 1) (momentum, decay_rate, beta1, beta2)."""
    return in_range(name, value, 0.0, 1.0, owner=owner)


# --------------------------------------------------------------------------- base class
#: State that decays geometrically (Adam's m, Momentum's and Nesterov's v, RMSprop's h) passes
#: through the subnormal floats (below finfo.tiny, 1.2e-38 in float32) on its way to 0 wherever the
#: gradient stays 0 — the weights of a dead Relu unit, for instance. Arithmetic on subnormals is
#: 10–100× slower on x86 CPUs: a SimpleConvNet step with Adam went from 18 to 30 ms after about
#: 700 steps, when 31 % of W2's m had become subnormal. Every this many steps they are set to 0
#: (a change of at most 1.2e-38 per element; float64 state would need values below 2.2e-308).
FLUSH_SUBNORMALS_EVERY = 16


def _flush_subnormals(state, scratch):
    """Set the subnormal entries of the NumPy array ``state`` to 0 (``scratch``: a work array like it)."""
    if type(state) is not np.ndarray or state.dtype.kind != "f":
        return  # GPU arrays: CUDA flushes or handles subnormals at full speed
    np.abs(state, out=scratch)
    np.copyto(state, 0, where=scratch < np.finfo(state.dtype).tiny)


class Optimizer:
    """Base class: validates ``params``/``grads``, keeps per-parameter state and the step count.

    Subclasses set ``name`` (the registry name), ``_slots`` (names of the per-parameter state
    dicts, e.g. ``("v",)``; each is also an attribute, as in the book) and ``_hyper`` (the
    hyperparameters with their validators), and implement ``_apply(items)``.
    """

    name: ClassVar[str] = ""
    _slots: ClassVar[tuple[str, ...]] = ()
    _hyper: ClassVar[dict[str, Any]] = {"lr": non_negative}

    def __init__(self, **hyper: Any) -> None:
        for key, check in self._hyper.items():
            setattr(self, key, check(key, hyper[key], owner=type(self).__name__))
        self.step_count = 0  # number of update() calls so far
        for slot in self._slots:
            setattr(self, slot, {})
        self._scratch_buffers: dict[Any, Any] = {}  # dtype -> flat work buffer
        self._scratch_views: dict[str, Any] = {}  # key -> view of it shaped like params[key]

    # ---------------------------------------------------------------- update
    def update(self, params: Mapping[str, Any], grads: Mapping[str, Any]) -> None:
        """Update every array of ``params`` in place from ``grads`` (keys of ``grads`` not in
        ``params`` are ignored)."""
        items = self._prepare(params, grads)
        self.step_count += 1
        kernels = fused_kernels(items[0][0]) if items else None
        fused = (
            self._fused_args()
            if kernels is not None and type(self)._apply is OPTIMIZERS.get(self.name, Optimizer)._apply
            else None
        )
        if fused is not None:  # CuPy: every parameter in one kernel launch (layerprop.backend.kernels)
            kernels.fused_update(fused[0], items, fused[1])
        else:
            self._apply(items)
            if self._slots and self.step_count % FLUSH_SUBNORMALS_EVERY == 0:
                for _p, _g, scratch, *states in items:
                    for state in states:
                        _flush_subnormals(state, scratch)

    def _apply(self, items: list) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fused_args(self):
        """``(rule, (a, b, c, d))`` for :func:`layerprop.backend.kernels.fused_update` (the same step as
        ``_apply``, in one launch on a GPU), or None when the optimizer has no fused kernel."""
        return None

    def _prepare(self, params: Mapping[str, Any], grads: Mapping[str, Any]) -> list:
        """Check every (param, grad) pair before anything changes; return work items
        ``(param, grad, scratch, *state_arrays)``."""
        items = []
        slots = [getattr(self, slot) for slot in self._slots]
        for key, p in params.items():
            try:
                g = grads[key]
            except KeyError:
                raise ValueError(
                    f"grads has no entry for parameter {key!r} "
                    f"(params keys: {sorted(params)}, grads keys: {sorted(grads)})"
                ) from None
            try:
                p_shape = p.shape
                p_dtype = p.dtype
            except AttributeError:
                raise TypeError(
                    f"params[{key!r}] must be an array that can be updated in place, got {type(p).__name__}"
                ) from None
            if p_dtype.kind != "f":
                raise TypeError(f"params[{key!r}] has dtype {p_dtype}; optimizers update floating-point arrays only")
            on_host = type(p) is np.ndarray and type(g) is np.ndarray  # the common case: no device check
            try:
                g_shape = g.shape
            except AttributeError:
                g_shape = np.shape(g)
            else:
                if not on_host and device_of(g) != device_of(p):
                    raise DeviceMismatchError(
                        f"grads[{key!r}] is on {device_of(g)} but params[{key!r}] is on {device_of(p)}"
                    )
            if g_shape != p_shape:
                raise ShapeError(
                    f"shape mismatch for parameter {key!r}: params[{key!r}] has shape {p_shape}, "
                    f"grads[{key!r}] has shape {g_shape}"
                )
            states = []
            for slot_name, slot in zip(self._slots, slots, strict=True):
                s = slot.get(key)
                if s is None:
                    s = slot[key] = get_array_module(p).zeros_like(p)
                elif not (on_host and type(s) is np.ndarray) and device_of(s) != device_of(
                    p
                ):  # state follows its parameter (e.g. after network.to)
                    s = slot[key] = to_device(s, device_of(p))
                if s.shape != p_shape:
                    raise ShapeError(
                        f"optimizer state {slot_name}/{key} has shape {s.shape} but params[{key!r}] has shape {p_shape}"
                    )
                elif s.dtype != p_dtype:  # e.g. state loaded from another dtype: adopt params'
                    s = slot[key] = s.astype(p_dtype)
                states.append(s)
            items.append((p, g, self._scratch(key, p), *states))
        return items

    def _scratch(self, key: str, p: Any) -> Any:
        """A work array shaped like ``p``. All keys share one flat buffer per dtype (they are
        processed one after another), so no temporaries are allocated during ``update``."""
        view = self._scratch_views.get(key)
        if (
            view is not None
            and view.shape == p.shape
            and view.dtype == p.dtype
            and (type(view) is type(p) is np.ndarray or device_of(view) == device_of(p))
        ):
            return view
        device = device_of(p)
        buf = self._scratch_buffers.get((p.dtype, device))
        if buf is None or buf.size < p.size:
            buf = get_array_module(p).empty(p.size, dtype=p.dtype)
            self._scratch_buffers[(p.dtype, device)] = buf
        view = self._scratch_views[key] = buf[: p.size].reshape(p.shape)
        return view

    # ---------------------------------------------------------------- state
    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Return ``(config, arrays)``: ``config`` is JSON-able (``name``, hyperparameters,
        ``step``); ``arrays`` maps ``"<slot>/<param key>"`` (e.g. ``"v/W1"``) to copies of the
        state arrays."""
        config: dict[str, Any] = {"name": self.name}
        for key in self._hyper:
            config[key] = getattr(self, key)
        config["step"] = self.step_count
        arrays = {}
        for slot in self._slots:
            for key, value in getattr(self, slot).items():
                arrays[f"{slot}/{key}"] = value.copy()
        return config, arrays

    def load_state_dict(self, config: Mapping[str, Any], arrays: Mapping[str, Any] | None = None) -> None:
        """Restore hyperparameters, step count and state arrays saved by :meth:`state_dict`.

        Nothing changes unless everything is valid. Raises ``ValueError`` for a config of another
        optimizer, unknown config keys, or array keys that are not ``"<slot>/<param key>"``.
        """
        if not isinstance(config, Mapping):
            raise ValueError(f"optimizer config must be a dict, got {type(config).__name__}")
        name = config.get("name")
        if not isinstance(name, str) or name.strip().lower() != self.name:
            raise ValueError(f"optimizer config is for {name!r}, not {self.name!r}")
        unknown = set(config) - {"name", "step", *self._hyper}
        if unknown:
            raise ValueError(
                f"unknown keys in {self.name} config: {sorted(unknown)} (known: {['name', *self._hyper, 'step']})"
            )
        hyper = {}
        for key, check in self._hyper.items():
            if key in config:
                try:
                    hyper[key] = check(key, config[key], owner=type(self).__name__)
                except TypeError as exc:
                    raise ValueError(str(exc)) from None
        try:
            step = integer("step", config.get("step", 0), minimum=0, owner=f"{self.name} config")
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        slots: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self._slots}
        for full_key, value in (arrays or {}).items():
            slot, sep, key = str(full_key).partition("/")
            if not sep or not key or slot not in slots:
                raise ValueError(
                    f"unexpected {self.name} state array {full_key!r}: keys must look like "
                    f"'<slot>/<param key>' with slot in {list(self._slots)}"
                )
            value = np.array(to_numpy(value), copy=True)  # kept on the host until the next update
            if value.dtype.kind != "f":
                raise ValueError(
                    f"{self.name} state array {full_key!r} has dtype {value.dtype}, expected a floating-point dtype"
                )
            slots[slot][key] = value
        for key, value in hyper.items():
            setattr(self, key, value)
        self.step_count = step
        for slot, values in slots.items():
            setattr(self, slot, values)
        self._scratch_buffers.clear()
        self._scratch_views.clear()

    @classmethod
    def from_state(cls, config: Mapping[str, Any], arrays: Mapping[str, Any] | None = None) -> Optimizer:
        """Build an optimizer from ``state_dict()`` output. On the base class the config's
        ``name`` picks the class; on a subclass the name must match it."""
        if cls is Optimizer:
            return optimizer_from_state(config, arrays)
        opt = cls()
        opt.load_state_dict(config, arrays)
        return opt

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={getattr(self, key)!r}" for key in self._hyper)
        return f"{type(self).__name__}({args})"


# --------------------------------------------------------------------------- the optimizers
class SGD(Optimizer):
    """Stochastic gradient descent:  W ← W − η·g."""

    name = "sgd"
    _hyper = {"lr": non_negative}

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__(lr=lr)

    def _fused_args(self):
        return "sgd", (self.lr,)

    def _apply(self, items: list) -> None:
        lr = self.lr
        for p, g, s in items:
            np.multiply(g, lr, out=s)
            p -= s


class Momentum(Optimizer):
    """Momentum SGD:  v ← μ·v − η·g;  W ← W + v   (μ = ``momentum``, v starts at 0)."""

    name = "momentum"
    _slots = ("v",)
    _hyper = {"lr": non_negative, "momentum": _unit_interval}

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr=lr, momentum=momentum)

    def _fused_args(self):
        return "momentum", (self.lr, self.momentum)

    def _apply(self, items: list) -> None:
        lr, mu = self.lr, self.momentum
        for p, g, s, v in items:
            v *= mu
            np.multiply(g, lr, out=s)
            v -= s
            p += v


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient, in the book's form and order:
    W ← W + μ²·v − (1 + μ)·η·g  with the velocity v from *before* this step, then
    v ← μ·v − η·g   (μ = ``momentum``, v starts at 0, so the first step is W − (1 + μ)·η·g)."""

    name = "nesterov"
    _slots = ("v",)
    _hyper = {"lr": non_negative, "momentum": _unit_interval}

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr=lr, momentum=momentum)

    def _fused_args(self):
        mu = self.momentum
        return "nesterov", (self.lr, mu, mu * mu, (1.0 + mu) * self.lr)

    def _apply(self, items: list) -> None:
        lr, mu = self.lr, self.momentum
        mu2, step = mu * mu, (1.0 + mu) * lr
        for p, g, s, v in items:
            np.multiply(v, mu2, out=s)  # the old velocity first ...
            p += s
            np.multiply(g, step, out=s)
            p -= s
            v *= mu  # ... then the velocity for the next step
            np.multiply(g, lr, out=s)
            v -= s


class AdaGrad(Optimizer):
    """AdaGrad:  h ← h + g²;  W ← W − η·g / (√h + ε)   (h starts at 0, ε = ``eps`` = 1e-7)."""

    name = "adagrad"
    _slots = ("h",)
    _hyper = {"lr": non_negative, "eps": positive}

    def __init__(self, lr: float = 0.01, eps: float = EPS) -> None:
        super().__init__(lr=lr, eps=eps)

    def _fused_args(self):
        return "adagrad", (self.lr, self.eps)

    def _apply(self, items: list) -> None:
        lr, eps = self.lr, self.eps
        for p, g, s, h in items:
            np.multiply(g, g, out=s)
            h += s
            np.sqrt(h, out=s)
            s += eps
            np.divide(g, s, out=s)
            s *= lr
            p -= s


class RMSprop(Optimizer):
    """RMSprop:  h ← ρ·h + (1 − ρ)·g²;  W ← W − η·g / (√h + ε)
    (ρ = ``decay_rate``, h starts at 0, ε = ``eps`` = 1e-7)."""

    name = "rmsprop"
    _slots = ("h",)
    _hyper = {"lr": non_negative, "decay_rate": _unit_interval, "eps": positive}

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99, eps: float = EPS) -> None:
        super().__init__(lr=lr, decay_rate=decay_rate, eps=eps)

    def _fused_args(self):
        return "rmsprop", (self.lr, self.decay_rate, 1.0 - self.decay_rate, self.eps)

    def _apply(self, items: list) -> None:
        lr, rho, eps = self.lr, self.decay_rate, self.eps
        one_minus_rho = 1.0 - rho
        for p, g, s, h in items:
            h *= rho
            np.multiply(g, one_minus_rho, out=s)
            s *= g
            h += s
            np.sqrt(h, out=s)
            s += eps
            np.divide(g, s, out=s)
            s *= lr
            p -= s


class Adam(Optimizer):
    """Adam with the book's bias correction folded into the step size:
    m ← m + (1 − β₁)(g − m);  v ← v + (1 − β₂)(g² − v);
    η_t = η·√(1 − β₂ᵗ) / (1 − β₁ᵗ);  W ← W − η_t·m / (√v + ε)   (m, v start at 0, ε = 1e-7)."""

    name = "adam"
    _slots = ("m", "v")
    _hyper = {
        "lr": non_negative,
        "beta1": _unit_interval,
        "beta2": _unit_interval,
        "eps": positive,
    }

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = EPS) -> None:
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps)

    @property
    def iter(self) -> int:
        """The book's name for the step count t."""
        return self.step_count

    def _step_size(self) -> float:
        """η_t = η·√(1 − β₂ᵗ) / (1 − β₁ᵗ) for the current step t."""
        t = self.step_count
        return self.lr * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)

    def _fused_args(self):
        return "adam", (self._step_size(), 1.0 - self.beta1, 1.0 - self.beta2, self.eps)

    def _apply(self, items: list) -> None:
        b1, b2, eps = self.beta1, self.beta2, self.eps
        lr_t = self._step_size()
        one_minus_b1, one_minus_b2 = 1.0 - b1, 1.0 - b2
        for p, g, s, m, v in items:
            np.subtract(g, m, out=s)
            s *= one_minus_b1
            m += s
            np.multiply(g, g, out=s)
            s -= v
            s *= one_minus_b2
            v += s
            np.sqrt(v, out=s)
            s += eps
            np.divide(m, s, out=s)
            s *= lr_t
            p -= s


# --------------------------------------------------------------------------- lookup
OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)}


def _class_for(name: Any) -> type[Optimizer]:
    if not isinstance(name, str):
        raise ValueError(f"optimizer name must be a string, got {name!r}")
    try:
        return OPTIMIZERS[name.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown optimizer {name!r}; valid names (case-insensitive): {', '.join(repr(n) for n in OPTIMIZERS)}"
        ) from None


def get_optimizer(name_or_object: Any, **kwargs: Any) -> Any:
    """Return an optimizer from a name (``'sgd'``, ``'momentum'``, ``'nesterov'``, ``'adagrad'``,
    ``'rmsprop'``, ``'adam'``; case-insensitive; ``kwargs`` go to its constructor), from an
    optimizer class (instantiated with ``kwargs``), or return an optimizer object unchanged
    (anything with an ``update`` method, so the book's own optimizers work too)."""
    if isinstance(name_or_object, str):
        return _class_for(name_or_object)(**kwargs)
    if isinstance(name_or_object, type) and issubclass(name_or_object, Optimizer):
        return name_or_object(**kwargs)
    if callable(getattr(name_or_object, "update", None)):
        if kwargs:
            raise ValueError(
                f"keyword arguments {sorted(kwargs)} only apply when the optimizer is given by "
                f"name; got the object {name_or_object!r}"
            )
        return name_or_object
    raise TypeError(
        "optimizer must be a name (one of "
        f"{', '.join(repr(n) for n in OPTIMIZERS)}) or an object with an update(params, grads) "
        f"method, got {name_or_object!r}"
    )


def optimizer_from_state(config: Mapping[str, Any], arrays: Mapping[str, Any] | None = None) -> Optimizer:
    """Rebuild the optimizer that ``state_dict()`` described; its ``config['name']`` picks the
    class. Raises ``ValueError`` for an unknown name or an invalid state."""
    if not isinstance(config, Mapping):
        raise ValueError(f"optimizer config must be a dict, got {type(config).__name__}")
    opt = _class_for(config.get("name"))()
    opt.load_state_dict(config, arrays)
    return opt

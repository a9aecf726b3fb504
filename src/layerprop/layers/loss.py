"""Output layers that end a network in a scalar loss.

``SoftmaxWithLoss`` (softmax + cross-entropy, for classification), ``MeanSquaredError`` (identity
output + ½·mean squared error, for regression) and ``SigmoidWithLoss`` (sigmoid + binary
cross-entropy). Each takes ``forward(x, t)`` and ``backward(dout=1)``, and keeps the book's
attributes ``loss``, ``y`` (the output probabilities or values) and ``t`` (the targets as given).
"""

from __future__ import annotations

import numpy as np

from ..backend import fused_kernels, get_array_module
from ..errors import LabelError, ShapeError
from .activation import sigmoid
from .base import Layer


def softmax(x):
    """Row-wise softmax, stable for logits of any size: y_k = exp(x_k − max x) / Σ_j exp(x_j − max x).

    ``x`` of shape (N, C) is normalised per row (each row subtracts its own maximum, unlike the
    notes' version, which takes one maximum over the whole batch); a 1-D ``x`` is one row.
    """
    xp = get_array_module(x)
    x = xp.asarray(x)
    shifted = x - x.max(axis=-1, keepdims=True)
    with np.errstate(under="ignore"):  # exp of a very negative logit is 0, as intended
        e = xp.exp(shifted)
        e /= e.sum(axis=-1, keepdims=True)
    return e


def cross_entropy_error(y, t):
    """Mean cross-entropy −(1/N) Σₙ log yₙ[tₙ] of probabilities ``y`` against labels or one-hot ``t``.

    Probabilities are clipped at the smallest positive float so the log never sees 0.
    """
    xp = get_array_module(y)
    y = xp.asarray(y)
    if y.ndim == 1:
        y = y.reshape(1, -1)
        t = xp.asarray(t).reshape(1, -1) if np.size(t) == y.size else xp.asarray(t).reshape(1)
    labels, onehot = _classification_targets("cross_entropy_error", y.shape, xp.asarray(t))
    tiny = xp.finfo(y.dtype).tiny if xp.issubdtype(y.dtype, xp.floating) else 1e-300
    n = y.shape[0]
    if labels is not None:
        return -xp.log(xp.maximum(y[xp.arange(n), labels], tiny)).sum() / n
    return -(onehot * xp.log(xp.maximum(y, tiny))).sum() / n


def _classification_targets(owner, shape, t, check_range=True):
    """Validate targets ``t`` for scores of ``shape`` (N, C).

    Returns ``(labels, None)`` for integer labels given as (N,) or (N, 1), or ``(None, onehot)`` for
    one-hot / probability targets of shape (N, C). Anything else raises a clear error. With
    ``check_range=False`` the caller checks that labels lie in [0, C) itself (see :func:`_pick`).
    """
    n, c = shape
    expected = (
        f"expected t as {n} integer labels in [0, {c}) of shape ({n},) or ({n}, 1), "
        f"or one-hot targets of shape ({n}, {c})"
    )
    if t.shape == (n, c) and not (c == 1 and t.dtype.kind in "iub"):
        return None, t
    if t.shape in ((n,), (n, 1)):
        labels = t.reshape(n)
        if labels.dtype.kind not in "iu":
            if labels.dtype.kind == "f" and n and bool((labels == np.floor(labels)).all()):
                labels = labels.astype(np.intp)
            elif labels.dtype.kind == "b" or labels.dtype.kind == "f":
                raise LabelError(f"{owner}: {expected}; got non-integer labels of dtype {t.dtype}")
            else:
                raise LabelError(f"{owner}: {expected}; got labels of dtype {t.dtype}")
        if n and check_range:
            _check_label_range(owner, labels, c, expected)
        return labels, None
    raise LabelError(f"{owner}: {expected}; got t of shape {t.shape}")


def _check_label_range(owner, labels, c, expected=None):
    """Raise LabelError naming the first label outside [0, c)."""
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= c:
        bad = low if low < 0 else high
        expected = expected or f"expected integer labels in [0, {c})"
        raise LabelError(f"{owner}: {expected}; got label {bad}, outside [0, {c})")


def _pick(scores, labels):
    """scores[n, labels[n]] for every row n, after checking 0 ≤ label < C.

    The check is one reduction: signed labels are read as unsigned integers of the same width, so a
    negative label becomes a huge number and ``max < C`` holds only when every label is in range.
    """
    xp = get_array_module(scores)
    n, c = scores.shape
    unsigned = labels.view(np.dtype(f"u{labels.dtype.itemsize}")) if labels.dtype.kind == "i" else labels
    if n and int(unsigned.max()) >= c:
        _check_label_range(
            "SoftmaxWithLoss",
            labels,
            c,
            f"expected t as {n} integer labels in [0, {c}) of shape ({n},) or ({n}, 1), "
            f"or one-hot targets of shape ({n}, {c})",
        )
    return scores[xp.arange(n), labels]


class SoftmaxWithLoss(Layer):
    """Softmax followed by cross-entropy loss.

    ``t`` may be one-hot (N, C) or integer labels (N,) or (N, 1). The loss is computed from the
    log-softmax x − max − log Σ exp(x − max), so the log never sees 0 and logits of ±1e4 are fine.
    A 1-D ``x`` is one sample.

    On a GPU, (N, C) scores with (N,) integer labels take one fused kernel each way
    (:mod:`layerprop.backend.kernels`); there the labels are checked inside the kernel, and an
    out-of-range label gives a NaN loss instead of a LabelError (a check on the host would stop
    the GPU every step).
    """

    symbol = "SoftmaxWithLoss"
    forward_rule = "y = softmax(x) row-wise,  loss = −(1/N) Σₙ Σₖ tₙₖ log yₙₖ"
    backward_rule = "dx = dout·(y − t)/N"

    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None
        self._labels = None
        self._onehot = None
        self._x_shape = None

    def forward(self, x, t):
        if (
            type(x) is np.ndarray
            and type(t) is np.ndarray
            and x.ndim == 2
            and t.ndim == 1
            and x.dtype.kind == "f"
            and t.dtype.kind in "iu"
            and t.shape[0] == x.shape[0] > 0
            and x.shape[1]
        ):
            xp, x2, labels, onehot = np, x, t, None  # the training hot path: nothing to convert or reshape
        else:
            xp = get_array_module(x)
            x = xp.asarray(x)
            t = xp.asarray(t)
            kernels = fused_kernels(x)
            if (
                kernels is not None
                and x.ndim == 2
                and t.shape == x.shape[:1]
                and t.dtype.kind in "iu"
                and x.dtype.kind == "f"
            ):
                self._x_shape = x.shape
                self.y, self.loss = kernels.softmax_cross_entropy(x, t)
                self.t = self._labels = t
                self._onehot = None
                return self.loss
            if x.ndim == 1:
                x2 = x.reshape(1, -1)
                t2 = t.reshape(1, -1) if t.size == x.size and x.size != 1 else t.reshape(1)
            elif x.ndim == 2:
                x2, t2 = x, t
            else:
                raise ShapeError(f"SoftmaxWithLoss: expected scores x of shape (N, C) or (C,), got {x.shape}")
            if x2.shape[0] == 0 or x2.shape[1] == 0:
                raise ShapeError(
                    f"SoftmaxWithLoss: expected scores x of shape (N, C) with N ≥ 1 samples and C ≥ 1 classes, "
                    f"got {x.shape}"
                )
            labels, onehot = _classification_targets("SoftmaxWithLoss", x2.shape, t2, check_range=False)
            if onehot is not None and onehot.dtype != x2.dtype:
                onehot = onehot.astype(x2.dtype)
        n = x2.shape[0]
        shifted = x2 - x2.max(axis=1, keepdims=True)
        with np.errstate(under="ignore"):  # exp of a very negative logit is 0, as intended
            y = xp.exp(shifted)
            total = y.sum(axis=1, keepdims=True)  # ≥ 1, so its log is finite
            y /= total
        log_total = xp.log(total)
        if labels is not None:
            picked = _pick(shifted, labels)  # checks the labels' range too
            loss = (log_total[:, 0] - picked).sum() / n
        else:
            loss = (onehot * (log_total - shifted)).sum() / n
        self._x_shape = x.shape
        self.t = t
        self._labels = labels
        self._onehot = onehot
        self.y = y.reshape(x.shape)
        self.loss = loss
        return loss

    def backward(self, dout=1):
        y = self._forward_value("y")
        self._check_dout_shape(dout, ())  # the loss is a scalar
        y2 = y.reshape(-1, y.shape[-1])
        n = y2.shape[0]
        kernels = fused_kernels(y2)
        if kernels is not None and self._labels is not None and not hasattr(dout, "shape"):
            return kernels.softmax_cross_entropy_grad(y2, self._labels, dout / n).reshape(self._x_shape)
        if self._labels is not None:
            dx = y2.copy()
            dx[np.arange(n), self._labels] -= 1
        else:
            dx = y2 - self._onehot
        dx *= dout / n
        return dx.reshape(self._x_shape)


def _same_shape_targets(owner, x, t):
    """Targets for elementwise losses: same shape as x ((N,) is accepted for x of shape (N, 1))."""
    if t.shape != x.shape:
        if t.size == x.size and x.ndim == 2 and x.shape[1] == 1 and t.ndim == 1:
            t = t.reshape(x.shape)
        else:
            raise ShapeError(f"{owner}: expected targets t of shape {x.shape} (the same as x), got {t.shape}")
    return t.astype(x.dtype, copy=False) if x.dtype.kind == "f" else t


class MeanSquaredError(Layer):
    """Identity output with half mean squared error, for regression.

    The mean runs over all n elements.
    """

    symbol = "MSE"
    forward_rule = "y = x,  loss = ½ · mean((y − t)²)"
    backward_rule = "dx = dout·(y − t)/n"

    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None
        self._diff = None

    def forward(self, x, t):
        xp = get_array_module(x)
        x = xp.asarray(x)
        t = _same_shape_targets("MeanSquaredError", x, xp.asarray(t))
        self.y = x
        self.t = t
        self._diff = x - t
        self.loss = 0.5 * (self._diff * self._diff).sum() / max(x.size, 1)
        return self.loss

    def backward(self, dout=1):
        diff = self._forward_value("_diff")
        self._check_dout_shape(dout, ())  # the loss is a scalar
        return diff * (dout / max(diff.size, 1))


class SigmoidWithLoss(Layer):
    """Sigmoid followed by binary cross-entropy, for two-class problems.

    n is the number of elements.

    The loss is computed as mean(max(x, 0) − x·t + log(1 + exp(−|x|))), which equals the formula above
    without ever taking the log of 0.
    """

    symbol = "SigmoidWithLoss"
    forward_rule = "y = sigmoid(x),  loss = −mean(t·log y + (1 − t)·log(1 − y))"
    backward_rule = "dx = dout·(y − t)/n"

    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        xp = get_array_module(x)
        x = xp.asarray(x)
        t = _same_shape_targets("SigmoidWithLoss", x, xp.asarray(t))
        if t.size and (float(t.min()) < 0 or float(t.max()) > 1):
            raise LabelError(f"SigmoidWithLoss: expected targets in [0, 1], got values from {t.min()} to {t.max()}")
        self.t = t
        self.y = sigmoid(x)
        with np.errstate(under="ignore"):  # exp(−|x|) → 0 for large |x| is intended
            per_element = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
        self.loss = per_element.sum() / max(x.size, 1)
        return self.loss

    def backward(self, dout=1):
        y = self._forward_value("y")
        self._check_dout_shape(dout, ())  # the loss is a scalar
        return (y - self.t) * (dout / max(y.size, 1))

"""Layers that behave differently in training and in inference: Dropout and BatchNormalization.

Both take the book's ``forward(x, train_flg=True)``; networks pass ``train_flg=True`` while
computing gradients and ``False`` when predicting (``has_train_mode`` tells them to).
"""

from __future__ import annotations

import numpy as np

from ..backend import CPU, device_of, get_array_module, random_generator
from ..errors import ShapeError
from ..validation import in_range
from .base import Layer


class Dropout(Layer):
    """Dropout (the book's variant: scale at inference, not in training).

    forward (training):  y = x · m,  m = (u > ratio), u ~ U[0, 1) drawn per element
    forward (inference): y = x · (1 − ratio)
    backward:            dx = dout · m

    Random numbers come from ``rng``, a generator on the layer's ``device`` (``numpy.random.Generator``
    on the CPU, ``cupy.random.Generator`` on a GPU, so masks are drawn where the data is);
    :meth:`reseed` makes the masks repeatable, which is how the trainer gets bit-for-bit identical
    runs. An input on another device moves the generator there, restarted from the last seed.
    """

    symbol = "Dropout"
    forward_rule = "y = x·mask (training), y = x·(1 − ratio) (inference)"
    backward_rule = "dx = dout·mask"
    forward_rule_ko = "y = x·mask (학습), y = x·(1 − ratio) (추론)"
    has_train_mode = True

    def __init__(self, dropout_ratio: float = 0.5, seed=None):
        self.dropout_ratio = in_range("dropout_ratio", dropout_ratio, 0.0, 1.0, owner="Dropout")
        self.mask = None
        self.device = CPU
        self.seed = seed
        self.rng = random_generator(seed, self.device)

    def reseed(self, seed):
        """Restart the random masks from ``seed`` (an int or a sequence of ints)."""
        self.seed = seed
        self.rng = random_generator(seed, self.device)

    def to(self, device):
        """Draw the masks on ``device`` from now on (the generator restarts from the last seed)."""
        if device != self.device:
            self.device = device
            self.rng = random_generator(self.seed, device)
            self.mask = None
        return self

    def forward(self, x, train_flg: bool = True):
        if train_flg:
            if device_of(x) != self.device:
                self.to(device_of(x))
            dtype = x.dtype if x.dtype.kind == "f" and x.dtype.itemsize >= 4 else np.float64
            self.mask = self.rng.random(x.shape, dtype=dtype) > self.dropout_ratio
            return x * self.mask
        return x * (1.0 - self.dropout_ratio)

    def backward(self, dout):
        mask = self._forward_value("mask")
        self._check_dout_shape(dout, mask.shape)
        return dout * mask

    def __repr__(self):
        return f"Dropout({self.dropout_ratio})"


class BatchNormalization(Layer):
    """Batch normalisation over the batch axis (inputs (N, D), or (N, C, H, W) flattened per sample).

    forward (training):  μ = mean(x), σ² = var(x) over the batch, x̂ = (x − μ)/√(σ² + ε),
                         y = γ·x̂ + β; running averages r ← m·r + (1 − m)·batch value
    forward (inference): x̂ uses the running mean and variance instead
    backward:            dβ = Σ dout, dγ = Σ dout·x̂,
                         dx = (γ/√(σ² + ε)) · (dout − mean(dout) − x̂·mean(dout·x̂))

    ε = 1e-7 as in the book; ``gamma`` and ``beta`` are the parameters (kept by reference),
    ``running_mean`` and ``running_var`` are buffers (saved with the model, not trained).
    """

    symbol = "BatchNorm"
    forward_rule = "x̂ = (x − μ)/σ, y = γ·x̂ + β"
    backward_rule = "dx = γ/σ·(dout − mean(dout) − x̂·mean(dout·x̂))"
    has_train_mode = True
    eps = 1e-7

    def __init__(self, gamma, beta, momentum: float = 0.9, running_mean=None, running_var=None):
        if np.shape(gamma) != np.shape(beta) or np.ndim(gamma) != 1:
            raise ShapeError(
                "BatchNormalization: gamma and beta must be 1-D of the same shape, "
                f"got {np.shape(gamma)} and {np.shape(beta)}"
            )
        self.gamma = gamma
        self.beta = beta
        self.momentum = in_range("momentum", momentum, 0.0, 1.0, owner="BatchNormalization", include_high=True)
        self.running_mean = running_mean
        self.running_var = running_var
        self.input_shape = None
        self.xn = None
        self.std = None
        self.dgamma = None
        self.dbeta = None

    @property
    def params(self):
        return {"gamma": self.gamma, "beta": self.beta}

    @property
    def grads(self):
        return {"gamma": self.dgamma, "beta": self.dbeta}

    @property
    def buffers(self):
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def forward(self, x, train_flg: bool = True):
        xp = get_array_module(x)
        if x.ndim < 1 or (train_flg and x.shape[0] == 0):
            raise ShapeError(
                f"BatchNormalization: expected a batch x of shape (N, D) or (N, C, H, W)"
                f"{' with N ≥ 1 samples in training' if x.ndim >= 1 else ''}, got shape {x.shape}"
            )
        self.input_shape = x.shape
        x2 = x.reshape(x.shape[0], -1) if x.ndim != 2 else x
        if x2.shape[1] != self.gamma.shape[0]:
            raise ShapeError(
                f"BatchNormalization: input of shape {x.shape} has {x2.shape[1]} features per sample, "
                f"but gamma has {self.gamma.shape[0]}"
            )
        if self.running_mean is None:
            self.running_mean = xp.zeros(x2.shape[1], dtype=x2.dtype)
            self.running_var = xp.zeros(x2.shape[1], dtype=x2.dtype)
        if train_flg:
            mu = x2.mean(axis=0)
            xc = x2 - mu
            var = (xc * xc).mean(axis=0)
            std = xp.sqrt(var + self.eps)
            xn = xc / std
            m = self.momentum
            self.running_mean = m * self.running_mean + (1 - m) * mu
            self.running_var = m * self.running_var + (1 - m) * var
            self.xn = xn
            self.std = std
        else:
            xn = (x2 - self.running_mean) / xp.sqrt(self.running_var + self.eps)
        out = self.gamma * xn + self.beta
        return out.reshape(self.input_shape)

    def backward(self, dout):
        xn = self._forward_value("xn")
        self._check_dout_shape(dout, self.input_shape)
        if not hasattr(dout, "dtype"):  # a Python number: that value at every element of the output
            dout = get_array_module(xn).full(self.input_shape, dout, dtype=xn.dtype)
        d2 = dout.reshape(dout.shape[0], -1) if dout.ndim != 2 else dout
        self.dbeta = d2.sum(axis=0)
        self.dgamma = (d2 * xn).sum(axis=0)
        n = d2.shape[0]
        dx = (self.gamma / self.std) * (d2 - self.dbeta / n - xn * (self.dgamma / n))
        return dx.reshape(self.input_shape)

    def __repr__(self):
        return f"BatchNormalization({self.gamma.shape[0]}, momentum={self.momentum})"

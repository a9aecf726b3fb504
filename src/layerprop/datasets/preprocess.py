"""The book's preparation of MNIST-like arrays: normalise, flatten, one-hot encode."""

from __future__ import annotations

import numpy as np

from ..errors import LabelError

_SCALE = np.float32(255.0)


def normalize_images(images: np.ndarray) -> np.ndarray:
    """Return ``uint8`` pixel values scaled to ``float32`` values in [0, 1] (no float64 on the way)."""
    return np.divide(images, _SCALE, dtype=np.float32)


def to_one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Return ``float32`` one-hot rows of shape ``(N, num_classes)`` for integer ``labels`` of shape ``(N,)``.

    :raises LabelError: a label is outside ``0 .. num_classes - 1`` or ``labels`` is not 1-D integers.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise LabelError(
            f"one-hot encoding expects a 1-D array of integer labels, got shape {labels.shape} {labels.dtype}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise LabelError(
            f"one-hot encoding expects labels in 0..{num_classes - 1}, got values from {labels.min()} to {labels.max()}"
        )
    encoded = np.zeros((labels.shape[0], num_classes), dtype=np.float32)
    encoded[np.arange(labels.shape[0]), labels] = 1.0
    return encoded


def prepare_split(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    normalize: bool,
    flatten: bool,
    one_hot_label: bool,
    num_classes: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Turn ``(N, H, W)`` images and ``(N,)`` labels into the book's ``(x, t)`` arrays.

    Images become ``(N, H*W)`` if ``flatten`` else ``(N, 1, H, W)``; ``float32`` in [0, 1] if
    ``normalize`` else ``uint8``. Labels stay as they are, or become ``float32`` one-hot rows.
    """
    x = normalize_images(images) if normalize else images
    x = x.reshape(x.shape[0], -1) if flatten else x.reshape(x.shape[0], 1, *x.shape[1:])
    t = to_one_hot(labels, num_classes) if one_hot_label else labels
    return x, t


def prepare_splits(arrays: dict, **options) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The book's ``((x_train, t_train), (x_test, t_test))`` from the four arrays of a data set, by role.

    Each raw array is taken out of ``arrays`` as it is used, so it is freed as soon as its prepared
    copy exists: loading normalised MNIST then peaks at the float32 arrays plus one raw split.
    """
    train = prepare_split(arrays.pop("train-images"), arrays.pop("train-labels"), **options)
    test = prepare_split(arrays.pop("test-images"), arrays.pop("test-labels"), **options)
    return train, test

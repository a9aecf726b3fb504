"""The book's trained weights as layerprop networks and model files.

The book (*Deep Learning from Scratch*, oreilly-japan/deep-learning-from-scratch) ships three pickles
of trained parameters; each fits one of layerprop's networks, built with the book's architecture:

=================  =============================  ========================================
``--model``        book file                      network
=================  =============================  ========================================
``ch03``           ch03/sample_weight.pkl         :class:`~layerprop.nets.ThreeLayerNet` 784-50-100-10, sigmoid
``simpleconvnet``  ch07/params.pkl                :class:`~layerprop.nets.SimpleConvNet` (30 filters 5×5, hidden 100)
``deepconvnet``    ch08/deep_convnet_params.pkl   :class:`~layerprop.nets.DeepConvNet`
=================  =============================  ========================================

The file is read by :func:`~layerprop.io.book_pickle.load_book_pickle` (no code from it runs);
its names must be exactly the network's parameter names and every shape must be the network's
before a single value is copied. All three networks take MNIST normalised to [0, 1] (the book's
``normalize=True``); ``ch03`` takes flat 784-vectors, the convolutional ones (N, 1, 28, 28).

The network computes in the file's own precision — float32 or float64, the two that layerprop's
model files hold. A file of float16 weights becomes a float32 network: every float16 value is a
float32 value, so nothing is rounded, and ``layerprop evaluate`` reads the result like any other.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..errors import ArgumentError, ModelFileError, ShapeError, quoted, shown
from ..io.book_pickle import DEFAULT_MAX_BYTES, arrays_from_pickle, read_book_file
from ..nets import DeepConvNet, SimpleConvNet, ThreeLayerNet

__all__ = ["BOOK_MODELS", "book_network", "import_book", "import_book_weights"]

# --model name → (what the book file is, a function building the network with the book's architecture)
BOOK_MODELS = {
    "ch03": ("ch03/sample_weight.pkl", lambda dtype: ThreeLayerNet(784, (50, 100), 10, dtype=dtype, seed=0)),
    "simpleconvnet": ("ch07/params.pkl", lambda dtype: SimpleConvNet(dtype=dtype, seed=0)),
    "deepconvnet": ("ch08/deep_convnet_params.pkl", lambda dtype: DeepConvNet(dtype=dtype, seed=0)),
}


def book_network(model: str, dtype="float64"):
    """A network of the book's architecture for ``model`` ('ch03', 'simpleconvnet', 'deepconvnet')."""
    if model not in BOOK_MODELS:
        raise ArgumentError(f"model must be one of {', '.join(BOOK_MODELS)}, got {model!r}")
    return BOOK_MODELS[model][1](dtype)


#: the precisions a network and a model file compute and store in
NETWORK_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def network_dtype(arrays: dict, dtype=None) -> np.dtype:
    """The dtype of the network for ``arrays``: ``dtype`` if given (float32 or float64), else the
    file's widest float — float16 widened to float32, which holds every float16 value exactly."""
    if dtype is not None:
        chosen = np.dtype(dtype)
        if chosen not in NETWORK_DTYPES:
            raise ArgumentError(f"dtype must be float32 or float64 (what model files hold), got {chosen}")
        return chosen
    widest = max((a.dtype.itemsize for a in arrays.values()), default=8)
    return np.dtype(np.float64 if widest >= 8 else np.float32)


def _weights_into_network(path, arrays: dict, model: str, dtype=None):
    network = book_network(model, network_dtype(arrays, dtype))
    expected, found = set(network.params), set(arrays)
    if expected != found:
        missing = ", ".join(sorted(expected - found)) or "none"
        extra = shown(sorted(found - expected), 120) if found - expected else "none"  # the file's names: bounded
        raise ModelFileError(
            f"{path}: the {model} network needs the parameters {', '.join(sorted(expected))}; "
            f"missing: {missing}; not part of it: {extra}"
        )
    for key, target in network.params.items():
        if arrays[key].shape != target.shape:
            raise ShapeError(
                f"{path}: parameter {quoted(key)} has shape {arrays[key].shape}, but the book's {model} network "
                f"needs {target.shape}"
            )
    for key, target in network.params.items():
        np.copyto(target, arrays[key], casting="unsafe")
    return network


def import_book_weights(path, model: str, dtype=None, max_bytes: int = DEFAULT_MAX_BYTES):
    """Build the ``model`` network and load the book's pickled weights from ``path`` into it.

    ``dtype`` defaults to the file's own (float32 for ch03, float64 for the others; float32 for
    float16 weights), so the network computes what the book's code computes. Raises
    UnsafePickleError for a hostile or damaged file, ModelFileError for missing or extra names,
    ShapeError for a shape that is not the architecture's, ArgumentError for a ``dtype`` other
    than float32 or float64.
    """
    return _weights_into_network(path, arrays_from_pickle(read_book_file(path, max_bytes), name=path), model, dtype)


def import_book(path, model: str, out, dtype=None, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Import the book's weights from ``path`` and write them as a layerprop model file ``out``.

    The file is what ``layerprop evaluate``, ``predict``, ``graph`` and ``export`` read; its metadata
    names the source file and its MD5. Returns the path written.
    """
    from ..io import save_model

    data = read_book_file(path, max_bytes)  # read once: the MD5 is of the very bytes imported
    arrays = arrays_from_pickle(data, name=path)
    network = _weights_into_network(path, arrays, model, dtype)
    metadata = {
        "imported_from": {
            "file": os.path.basename(os.fspath(path)),
            "md5": hashlib.md5(data).hexdigest(),
            "book_file": BOOK_MODELS[model][0],
            "model": model,
            "stored_dtype": sorted({a.dtype.name for a in arrays.values()}),
        },
        "run": {"dataset": "mnist"},
    }
    return save_model(out, network, metadata=metadata)

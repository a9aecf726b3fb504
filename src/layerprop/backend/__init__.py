"""The array module behind every layer, and the one place that decides NumPy or CuPy.

Layers never call ``numpy`` directly for array work: they ask :func:`get_array_module` for the module
that owns their inputs — NumPy for NumPy arrays, CuPy for CuPy arrays.

Devices are named by strings:

- ``"cpu"`` — NumPy arrays in host memory;
- ``"cuda"`` / ``"cuda:N"`` — CuPy arrays on GPU 0 / GPU N;
- ``"auto"`` — ``"cuda"`` when CuPy is installed and sees a GPU, else ``"cpu"``.

:func:`parse_device` checks a name (and, for CUDA, that CuPy and the GPU are there),
:func:`device_of` says where an array lives, :func:`to_device` moves one, :func:`to_numpy` brings
one to the host, :func:`check_same_device` raises :class:`~layerprop.errors.DeviceMismatchError`
naming both devices, and :func:`random_generator` gives a seeded generator on a device.

CuPy is imported only when a CUDA device is asked for or a CuPy array is met: a CPU-only install
never imports it.
"""

from __future__ import annotations

import numpy

from ..errors import DeviceMismatchError, DeviceUnavailableError, ShapeError, missing_extra

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
            import cupy

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
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad_shape[lead + i] != 1)
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


# --------------------------------------------------------------------------- devices
CPU = "cpu"
GPU_EXTRA_HINT = "pip install 'layerprop[gpu]'"


def _import_cupy(purpose: str):
    """CuPy, or :class:`~layerprop.errors.MissingExtraError` naming the ``[gpu]`` extra."""
    try:
        import cupy
    except ImportError:
        raise missing_extra("cupy-cuda13x", "gpu", purpose) from None
    return cupy


def cuda_device_count() -> int:
    """How many GPUs CuPy sees (0 when CuPy is missing or no driver/GPU is there)."""
    try:
        import cupy
    except ImportError:
        return 0
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # CUDARuntimeError without a driver or a GPU
        return 0


def cuda_available() -> bool:
    """Whether a CUDA device can be used (CuPy installed and at least one GPU)."""
    return cuda_device_count() > 0


def parse_device(device) -> str:
    """The canonical name of ``device``: ``"cpu"`` or ``"cuda:N"``.

    Accepts ``"cpu"``, ``"cuda"`` (GPU 0), ``"cuda:N"``, ``"auto"`` and ``None`` (``"cpu"``).
    Asking for CUDA without CuPy raises :class:`~layerprop.errors.MissingExtraError` (an
    ImportError) naming ``pip install 'layerprop[gpu]'``; without a GPU, or for a GPU number that
    does not exist, :class:`~layerprop.errors.DeviceUnavailableError`.
    """
    if device is None:
        return CPU
    if not isinstance(device, str):
        raise DeviceUnavailableError(f"a device must be a string such as 'cpu', 'cuda' or 'cuda:1', got {device!r}")
    name = device.strip().lower()
    if name == CPU:
        return CPU
    if name == "auto":
        return "cuda:0" if cuda_available() else CPU
    index = 0
    if name.startswith("cuda:") and name[5:].isdigit():
        index = int(name[5:])
    elif name != "cuda":
        raise DeviceUnavailableError(f"unknown device {device!r}: expected 'cpu', 'cuda', 'cuda:N' or 'auto'")
    _import_cupy(f"the device {device!r}")
    count = cuda_device_count()
    if count == 0:
        raise DeviceUnavailableError(
            f"the device {device!r} needs a CUDA GPU, but CuPy finds none (no GPU or no NVIDIA driver); "
            f"use --device cpu, or install CuPy for your CUDA version on a machine with a GPU ({GPU_EXTRA_HINT})"
        )
    if index >= count:
        raise DeviceUnavailableError(
            f"the device {device!r} does not exist: CuPy sees {count} GPU(s), cuda:0 to cuda:{count - 1}"
        )
    return f"cuda:{index}"


def is_cuda(device: str) -> bool:
    """Whether the canonical device name ``device`` is a GPU."""
    return device != CPU


def _cuda_index(device: str) -> int:
    return int(device.partition(":")[2] or 0)


def device_of(array) -> str:
    """Where ``array`` lives: ``"cpu"`` for NumPy arrays and Python numbers, ``"cuda:N"`` for CuPy arrays."""
    kind = type(array)
    if kind is numpy.ndarray or kind in _PLAIN or not kind.__module__.startswith("cupy"):
        return CPU
    return f"cuda:{array.device.id}"


def array_module_of_device(device: str):
    """``numpy`` for ``"cpu"``, ``cupy`` for a CUDA device."""
    return _import_cupy(f"the device {device!r}") if is_cuda(device) else numpy


def to_numpy(array):
    """``array`` as a NumPy array in host memory (a CuPy array is copied from the GPU)."""
    if device_of(array) == CPU:
        return numpy.asarray(array)
    return array.get()


def to_device(array, device: str):
    """``array`` on ``device`` (a canonical name from :func:`parse_device`); the same object when
    it is there already."""
    if not is_cuda(device):
        return to_numpy(array)
    cupy = _import_cupy(f"the device {device!r}")
    if device_of(array) == device:
        return array
    with cupy.cuda.Device(_cuda_index(device)):
        return cupy.asarray(array)


def copy_array(array):
    """A copy of ``array`` on the same device."""
    return array.copy()


def check_same_device(array, device: str, what: str, owner: str) -> None:
    """Raise :class:`~layerprop.errors.DeviceMismatchError` unless ``array`` lives on ``device``."""
    where = device_of(array)
    if where != device:
        raise DeviceMismatchError(
            f"{owner}: {what} is on {where} but the parameters are on {device}; move one of them "
            f"(network.to({where!r}), or layerprop.backend.to_device(array, {device!r}))"
        )


def random_generator(seed, device: str = CPU):
    """A random generator for ``device`` seeded by ``seed`` (an int, a sequence of ints or None).

    On the CPU a ``numpy.random.Generator``; on a GPU a ``cupy.random.Generator`` that draws on the
    device, so Dropout masks never cross the bus. Both are repeatable for a given seed, but they
    draw different numbers from the same seed.
    """
    if not is_cuda(device):
        return numpy.random.default_rng(seed)
    cupy = _import_cupy(f"the device {device!r}")
    with cupy.cuda.Device(_cuda_index(device)):
        return cupy.random.default_rng(seed)


def use_device(device: str):
    """A context manager that makes ``device`` the current CUDA device (a no-op for the CPU)."""
    if not is_cuda(device):
        import contextlib

        return contextlib.nullcontext()
    return _import_cupy(f"the device {device!r}").cuda.Device(_cuda_index(device))


# --------------------------------------------------------------------------- fused GPU kernels
_FUSED = {"enabled": True}


def set_fused_kernels(enabled: bool) -> bool:
    """Switch the fused CUDA kernels (:mod:`layerprop.backend.kernels`) on or off; returns the old setting.

    Off, CuPy arrays take the same array expressions as NumPy ones (the reference the kernels are
    tested against).
    """
    old = _FUSED["enabled"]
    _FUSED["enabled"] = bool(enabled)
    return old


def fused_kernels(array):
    """The :mod:`layerprop.backend.kernels` module when ``array`` is a CuPy array and fused kernels are on,
    else None. Layers and optimizers use it as ``k = fused_kernels(x); y = k.f(x) if k else <formula>``."""
    if not _FUSED["enabled"] or device_of(array) == CPU:
        return None
    from . import kernels

    return kernels

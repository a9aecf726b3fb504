"""Fused CUDA kernels for the hot spots of a training step on a GPU (imported only with CuPy).

Each function does in one kernel launch what the plain array formula beside it does in several;
:func:`layerprop.backend.fused_kernels` hands this module to the layers and optimizers only for
CuPy arrays, and ``backend.set_fused_kernels(False)`` turns them off (the formulas then run on
CuPy, which is what the ``gpu`` tests compare the kernels with).

=================================  ==========================================================
kernel                             plain formula (the reference)
=================================  ==========================================================
:func:`softmax_cross_entropy`      m = max_k x, y = exp(x − m)/Σ exp(x − m),
                                   loss = (1/N)·Σₙ [log Σ exp(xₙ − mₙ) − (xₙ[tₙ] − mₙ)]
:func:`softmax_cross_entropy_grad` dx = (y − onehot(t))·scale        (scale = dout/N)
:func:`relu_grad`                  dx = dout·(x > 0) = dout·¬mask
:func:`bias_gradient`              db[c] = Σ over every axis but c of dout
:func:`fused_update`               one optimizer step (SGD … Adam, see :mod:`layerprop.optim`)
                                   for every parameter of a network in one launch
=================================  ==========================================================

Labels are checked inside the softmax kernel rather than on the host (a host check would stop the
GPU every step): an out-of-range label makes that row's loss NaN, which the trainer's NaN guard
reports.
"""

from __future__ import annotations

import cupy
import numpy

from ..errors import DeviceMismatchError

# --------------------------------------------------------------------------- softmax with loss
_softmax_rows = cupy.ElementwiseKernel(
    "raw T x, raw I t, int64 C",
    "raw T y, T loss",
    """
    const long long base = i * C;
    T m = x[base];
    for (long long j = 1; j < C; ++j) { const T v = x[base + j]; m = v > m ? v : m; }
    T total = 0;
    for (long long j = 0; j < C; ++j) {
        const T e = exp((T)x[base + j] - m);
        y[base + j] = e;
        total += e;
    }
    for (long long j = 0; j < C; ++j) y[base + j] = y[base + j] / total;
    const long long label = (long long)t[i];
    loss = (label >= 0 && label < C) ? (T)(log(total) - ((T)x[base + label] - m)) : (T)nan("");
    """,
    "layerprop_softmax_cross_entropy",
    options=("--fmad=false",),
)


def softmax_cross_entropy(x, labels):
    """Softmax of the rows of ``x`` (N, C) and the mean cross-entropy against integer ``labels`` (N,).

    Returns ``(y, loss)``: the probabilities (N, C) and a 0-d array (no transfer to the host).
    One thread per row computes the row's maximum, the exponentials, their sum and the row's loss.
    """
    x = cupy.ascontiguousarray(x)
    n, c = x.shape
    y = cupy.empty_like(x)
    rows = cupy.empty(n, dtype=x.dtype)
    _softmax_rows(x, labels, c, y, rows)
    return y, rows.sum() / n


_softmax_grad = cupy.ElementwiseKernel(
    "T y, raw I t, int64 C, T scale",
    "T dx",
    "dx = (y - ((long long)t[i / C] == (long long)(i % C) ? (T)1 : (T)0)) * scale;",
    "layerprop_softmax_cross_entropy_grad",
    options=("--fmad=false",),
)


def softmax_cross_entropy_grad(y, labels, scale):
    """dx = (y − onehot(labels))·scale for probabilities ``y`` (N, C), in one elementwise pass."""
    y = cupy.ascontiguousarray(y)
    return _softmax_grad(y, labels, y.shape[1], y.dtype.type(scale))


# --------------------------------------------------------------------------- Relu
_relu_grad = cupy.ElementwiseKernel(
    "T dout, bool mask",
    "T dx",
    "dx = dout * (T)(!mask);",
    "layerprop_relu_grad",
)


def relu_grad(dout, mask):
    """dx = dout·¬mask (``mask`` marks x ≤ 0), in one pass instead of a negation and a product."""
    return _relu_grad(dout, mask)


# --------------------------------------------------------------------------- bias gradient
_BIAS_SOURCE = r"""
template <typename T>
__global__ void layerprop_bias_grad(const T* dout, T* db, long long outer, long long channels, long long inner) {
    // One block per channel c: sum dout[a, c, b] over a < outer and b < inner, in double.
    __shared__ double partial[256];
    const long long c = blockIdx.x;
    const long long count = outer * inner;
    double sum = 0.0;
    for (long long j = threadIdx.x; j < count; j += blockDim.x) {
        const long long a = j / inner, b = j - a * inner;
        sum += (double)dout[(a * channels + c) * inner + b];
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) db[c] = (T)partial[0];
}
"""
_bias_module = cupy.RawModule(
    code=_BIAS_SOURCE,
    name_expressions=["layerprop_bias_grad<float>", "layerprop_bias_grad<double>"],
)
_CTYPE = {numpy.dtype(numpy.float32): "float", numpy.dtype(numpy.float64): "double"}


def bias_gradient(dout, channel_axis: int = 1):
    """db[c] = Σ of ``dout`` over every axis but ``channel_axis``: Affine's Σₙ dout (axis 1 of (N, M))
    and Convolution's Σ_{n,i,j} dout (axis 1 of (N, C, …)), one block per channel, one launch."""
    if dout.dtype not in _CTYPE:
        return dout.sum(axis=tuple(a for a in range(dout.ndim) if a != channel_axis))
    dout = cupy.ascontiguousarray(dout)
    shape = dout.shape
    channels = shape[channel_axis]
    outer = int(numpy.prod(shape[:channel_axis], dtype=numpy.int64))
    inner = int(numpy.prod(shape[channel_axis + 1 :], dtype=numpy.int64))
    db = cupy.empty(channels, dtype=dout.dtype)
    if channels:
        kernel = _bias_module.get_function(f"layerprop_bias_grad<{_CTYPE[dout.dtype]}>")
        kernel((channels,), (256,), (dout, db, numpy.int64(outer), numpy.int64(channels), numpy.int64(inner)))
    return db


# --------------------------------------------------------------------------- optimizers
# One kernel per (rule, dtype, number of parameters). The parameter, gradient and state pointers
# are kernel arguments (no pointer table is copied to the GPU); block row blockIdx.y picks the
# parameter, and the blocks of a row stride over its elements.
RULES = {
    # name: (number of state arrays, update of one element; a, b, c, d are the hyperparameters)
    "sgd": (0, "P[i] -= g * a;"),
    "momentum": (1, "T v = S1[i] * b - g * a; S1[i] = v; P[i] += v;"),
    "nesterov": (1, "const T v = S1[i]; P[i] += v * c; P[i] -= g * d; S1[i] = v * b - g * a;"),  # old v first
    "adagrad": (1, "T h = S1[i] + g * g; S1[i] = h; P[i] -= (g / (sqrt(h) + b)) * a;"),
    "rmsprop": (1, "T h = S1[i] * b + (g * c) * g; S1[i] = h; P[i] -= (g / (sqrt(h) + d)) * a;"),
    "adam": (
        2,
        "T m = S1[i] + (g - S1[i]) * b; S1[i] = m; T v = S2[i] + (g * g - S2[i]) * c; S2[i] = v; "
        "P[i] -= (m / (sqrt(v) + d)) * a;",
    ),
}
MAX_TENSORS = 48  # pointer arguments per launch (5·8 bytes each, well under CUDA's 4 KiB limit)
_THREADS = 256
_update_kernels: dict = {}


def _update_kernel(rule: str, ctype: str, count: int):
    key = (rule, ctype, count)
    kernel = _update_kernels.get(key)
    if kernel is None:
        _, body = RULES[rule]
        pointer_args = ", ".join(f"unsigned long long {kind}{k}" for kind in "pgst" for k in range(count))
        sizes = ", ".join(f"long long n{k}" for k in range(count))
        cases = "\n".join(
            f"        case {k}: P = (T*)p{k}; G = (const T*)g{k}; S1 = (T*)s{k}; S2 = (T*)t{k}; n = n{k}; break;"
            for k in range(count)
        )
        name = f"layerprop_{rule}_{ctype}_{count}"
        code = f"""
typedef {ctype} T;
extern "C" __global__ void {name}({pointer_args}, {sizes}, double ha, double hb, double hc, double hd) {{
    T* P = 0; const T* G = 0; T* S1 = 0; T* S2 = 0; long long n = 0;
    switch (blockIdx.y) {{
{cases}
    }}
    const T a = (T)ha, b = (T)hb, c = (T)hc, d = (T)hd;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += stride) {{
        const T g = G[i];
        {body}
    }}
}}
"""
        # no fused multiply-add: each step rounds like the separate NumPy/CuPy operations of optim.py
        kernel = _update_kernels[key] = cupy.RawKernel(code, name, options=("--fmad=false",))
    return kernel


def fused_update(rule: str, items: list, hyper: tuple) -> None:
    """Apply the optimizer ``rule`` (a key of :data:`RULES`) to every parameter in one launch.

    ``items`` are the optimizer's work items ``(param, grad, scratch, *states)``; ``hyper`` the rule's
    hyperparameters a, b, c, d (see :meth:`layerprop.optim.Optimizer._fused_args`). All parameters
    must be CuPy arrays of one dtype on one GPU; gradients may be strided (they are made contiguous).
    """
    states_needed, _ = RULES[rule]
    first = items[0][0]
    device, dtype = first.device.id, first.dtype
    ctype = _CTYPE.get(dtype)
    for p, g, _scratch, *_states in items:
        if not isinstance(p, cupy.ndarray) or p.device.id != device or p.dtype != dtype or not p.flags.c_contiguous:
            raise DeviceMismatchError(
                f"a fused optimizer step needs contiguous parameters of one dtype on one GPU; got {type(p).__name__} "
                f"{getattr(p, 'dtype', '?')} on {getattr(getattr(p, 'device', None), 'id', 'cpu')} "
                f"beside {dtype} on cuda:{device}"
            )
        if not isinstance(g, cupy.ndarray) or g.device.id != device:
            raise DeviceMismatchError(
                f"a gradient is on {'cpu' if not isinstance(g, cupy.ndarray) else f'cuda:{g.device.id}'} "
                f"but its parameter is on cuda:{device}"
            )
    if ctype is None:
        raise TypeError(f"fused optimizer steps support float32 and float64 parameters, got {dtype}")
    hyper = tuple(numpy.float64(h) for h in (*hyper, 0.0, 0.0, 0.0, 0.0)[:4])
    for start in range(0, len(items), MAX_TENSORS):
        chunk = items[start : start + MAX_TENSORS]
        grads = [
            g if g.dtype == dtype and g.flags.c_contiguous else cupy.ascontiguousarray(g, dtype=dtype)
            for _, g, *_ in chunk
        ]
        pointers = []
        for slot in range(4):  # params, grads, first state, second state (the param when unused)
            for (p, _, _, *states), g in zip(chunk, grads, strict=True):
                if slot == 0:
                    array = p
                elif slot == 1:
                    array = g
                else:
                    array = states[slot - 2] if states_needed > slot - 2 else p
                pointers.append(numpy.uint64(array.data.ptr))
        sizes = [numpy.int64(p.size) for p, *_ in chunk]
        largest = max(int(p.size) for p, *_ in chunk)
        blocks = max(1, min(-(-largest // _THREADS), 1024))
        kernel = _update_kernel(rule, ctype, len(chunk))
        with cupy.cuda.Device(device):
            kernel((blocks, len(chunk)), (_THREADS,), (*pointers, *sizes, *hyper))

"""Convolution and pooling layers (chapter 7), with the im2col / col2im helpers they rest on.

Images are NCHW batches: x of shape (N, C, H, W). With a filter of FH × FW, stride s and padding p
the output has

    OH = (H + 2p − FH) // s + 1,   OW = (W + 2p − FW) // s + 1

rows and columns (windows that would run past the padded border are dropped, as in the book).

:func:`im2col` unrolls every filter-sized window of the (padded) input into one row of a matrix of
shape (N·OH·OW, C·FH·FW), so that a convolution becomes one matrix product; :func:`col2im` is its
adjoint: it adds every row back onto the window it came from (overlapping windows add up), which
is exactly what the backward pass of a convolution needs. Both are vectorised: im2col is a
strided *view* of the input copied once, col2im loops only over the FH·FW filter offsets.

Layers:

- :class:`Convolution` — y = W ⋆ x + b, filters W (FN, C, FH, FW), bias b (FN,);
- :class:`Pooling` — max pooling (the book's name), :class:`AvgPooling` — average pooling;
- :class:`Flatten` — (N, C, H, W) → (N, C·H·W).

No layer writes to the arrays it is given, and float32 stays float32 in both directions.
"""

from __future__ import annotations

import contextlib
import math
import threading

import numpy

from ..backend import fused_kernels, get_array_module
from ..errors import ShapeError
from ..validation import integer
from .base import Layer, WeightBiasLayer

# --------------------------------------------------------------------------- helpers


def _positive_int(owner, name, value):
    return integer(name, value, minimum=1, owner=owner)


def _non_negative_int(owner, name, value):
    return integer(name, value, minimum=0, owner=owner)


def _check_image_batch(owner, x):
    if getattr(x, "ndim", None) != 4:
        raise ShapeError(
            f"{owner}: expected an image batch x of shape (N, C, H, W), got shape {getattr(x, 'shape', None)}"
        )


def _output_size(owner, in_shape, window, stride, pad, what="filter"):
    """(OH, OW) for an (H, W) input; a clear ShapeError when the window does not fit."""
    (H, W), (FH, FW) = in_shape, window
    Hp, Wp = H + 2 * pad, W + 2 * pad
    if FH > Hp or FW > Wp:
        raise ShapeError(
            f"{owner}: the {FH}×{FW} {what} is larger than the input's {H}×{W} image "
            f"padded by {pad} ({Hp}×{Wp}); use a smaller {what} or more padding"
        )
    return (Hp - FH) // stride + 1, (Wp - FW) // stride + 1


def _padded(xp, x, pad, fill=0):
    """x with ``pad`` rows/columns of ``fill`` around each image (x itself when pad == 0)."""
    if pad == 0:
        return x
    N, C, H, W = x.shape
    out = xp.full((N, C, H + 2 * pad, W + 2 * pad), fill, dtype=x.dtype)
    out[:, :, pad : pad + H, pad : pad + W] = x
    return out


def _offset_slices(i, j, stride, out_h, out_w):
    """Index of the input pixels that window offset (i, j) touches, one per output pixel."""
    return (
        slice(None),
        slice(None),
        slice(i, i + stride * (out_h - 1) + 1, stride),
        slice(j, j + stride * (out_w - 1) + 1, stride),
    )


def _windows(xp, x_padded, filter_h, filter_w, stride):
    """Read-only strided view (N, C, FH, FW, OH, OW) of every window of an already padded batch.

    Element [n, c, i, j, oh, ow] is x_padded[n, c, oh·s + i, ow·s + j]. Nothing is copied.
    """
    view = xp.lib.stride_tricks.sliding_window_view(x_padded, (filter_h, filter_w), axis=(2, 3))
    if stride > 1:
        view = view[:, :, ::stride, ::stride]
    return view.transpose(0, 1, 4, 5, 2, 3)


def _fold(xp, blocks, input_shape, stride, pad):
    """Adjoint of :func:`_windows`: add blocks (N, C, FH, FW, OH, OW) back onto an (N, C, H, W) image.

    One strided add per filter offset (FH·FW of them); the padding border is cut off at the end.
    """
    N, C, FH, FW, OH, OW = blocks.shape
    _, _, H, W = input_shape
    img = xp.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=blocks.dtype)
    for i in range(FH):
        for j in range(FW):
            img[_offset_slices(i, j, stride, OH, OW)] += blocks[:, :, i, j]
    if pad:
        img = img[:, :, pad : pad + H, pad : pad + W]
    return img


# --------------------------------------------------------------------------- channels-last helpers

#: Bytes of column matrix Convolution builds at a time: a chunk of samples whose windows stay in
#: the L2 caches (2 MB per core here), so the matrix product reads them from the cache instead of
#: from memory; 4–8 MB measured best with two BLAS threads (fewer, larger BLAS calls).
CHUNK_BYTES = 1 << 22

_thread_settings = threading.local()


@contextlib.contextmanager
def cache_shared_by(threads):
    """While the block runs, this thread sizes its chunks for a cache shared by ``threads`` threads
    (CHUNK_BYTES / threads): :class:`layerprop.training.communicators.ThreadParallel` runs one slice of a
    batch per core, each with one BLAS thread, so each has one core's L2 cache to itself."""
    before = getattr(_thread_settings, "chunk_bytes", None)
    _thread_settings.chunk_bytes = max(1, CHUNK_BYTES // max(1, int(threads)))
    try:
        yield
    finally:
        _thread_settings.chunk_bytes = before


def _chunk_bytes():
    return getattr(_thread_settings, "chunk_bytes", None) or CHUNK_BYTES


def _chunks(n, bytes_per_sample):
    """[(start, stop), …] covering samples [0, n) in chunks of about CHUNK_BYTES (or this
    thread's share of it, see :func:`cache_shared_by`)."""
    size = max(1, _chunk_bytes() // max(1, bytes_per_sample))
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _padded_channels_last(xp, x_hwc, pad_h, pad_w, buffer):
    """x_hwc (N, H, W, C) with pad_h rows and pad_w columns of zeros around each image, written
    into the interior of ``buffer(shape)`` (a reused array whose border is zero); a negative pad
    crops instead. Returns x_hwc itself when both pads are 0."""
    if pad_h < 0:
        x_hwc = x_hwc[:, -pad_h : x_hwc.shape[1] + pad_h]
        pad_h = 0
    if pad_w < 0:
        x_hwc = x_hwc[:, :, -pad_w : x_hwc.shape[2] + pad_w]
        pad_w = 0
    if pad_h == 0 and pad_w == 0:
        return x_hwc
    N, H, W, C = x_hwc.shape
    padded = buffer((N, H + 2 * pad_h, W + 2 * pad_w, C))
    xp.copyto(padded[:, pad_h : pad_h + H, pad_w : pad_w + W], x_hwc)
    return padded


def _window_view(xp, padded_hwc, FH, FW, stride):
    """Read-only view (N, OH, OW, FH, FW, C): element [n, i, j, u, v, c] = padded[n, i·s + u, j·s + v, c]."""
    windows = xp.lib.stride_tricks.sliding_window_view(padded_hwc, (FH, FW), axis=(1, 2))
    return windows[:, ::stride, ::stride].transpose(0, 1, 2, 4, 5, 3)


def _valid_offsets(offset, stride, pad, out_size, in_size):
    """For filter offset u: (first output index, count, first input index) of the outputs whose
    input pixel i·s + u − p lies inside the image (not on the padding); count may be 0."""
    first = max(0, -((offset - pad) // stride))  # ceil((p − u) / s), at least 0
    last = min(out_size - 1, (in_size - 1 + pad - offset) // stride)
    return first, max(0, last - first + 1), first * stride + offset - pad


def _fold_channels_last(xp, blocks, dx, stride, pad):
    """Adjoint of the window copy: add blocks (n, OH, OW, FH, FW, C) onto dx (n, H, W, C) — one
    strided add per filter offset, clipped so that nothing lands on the padding."""
    _, OH, OW, FH, FW, _ = blocks.shape
    H, W = dx.shape[1:3]
    for u in range(FH):
        i0, rows, h0 = _valid_offsets(u, stride, pad, OH, H)
        for v in range(FW):
            j0, cols, w0 = _valid_offsets(v, stride, pad, OW, W)
            if rows and cols:
                dx[:, h0 : h0 + stride * (rows - 1) + 1 : stride, w0 : w0 + stride * (cols - 1) + 1 : stride] += blocks[
                    :, i0 : i0 + rows, j0 : j0 + cols, u, v
                ]
    return dx


# --------------------------------------------------------------------------- im2col / col2im


def im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    """Unroll the windows of an image batch into the rows of a matrix.

    input_data: (N, C, H, W) → col: (N·OH·OW, C·FH·FW)

    Row n·OH·OW + oh·OW + ow holds the window whose top-left corner is at (oh·s − p, ow·s − p),
    its entries ordered channel first, then filter row, then filter column (the order of
    ``W.reshape(FN, -1)``), with zeros where the window overlaps the padding. The result is a new
    array of the input's dtype; the input is not modified.
    """
    stride = _positive_int("im2col", "stride", stride)
    pad = _non_negative_int("im2col", "pad", pad)
    filter_h = _positive_int("im2col", "filter_h", filter_h)
    filter_w = _positive_int("im2col", "filter_w", filter_w)
    xp = get_array_module(input_data)
    x = xp.asarray(input_data)
    _check_image_batch("im2col", x)
    N, C, H, W = x.shape
    out_h, out_w = _output_size("im2col", (H, W), (filter_h, filter_w), stride, pad)
    view = _windows(xp, _padded(xp, x, pad), filter_h, filter_w, stride)  # (N, C, FH, FW, OH, OW)
    return view.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, C * filter_h * filter_w)


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """Fold a matrix of windows back into an image batch: the adjoint (transpose) of :func:`im2col`.

    col: (N·OH·OW, C·FH·FW) → img: input_shape = (N, C, H, W)

    Each row is added onto the window it describes, so pixels covered by several windows receive
    the sum of their entries; entries that fall on the padding are dropped. For any col and x,
    Σ col · im2col(x) = Σ col2im(col) · x.
    """
    stride = _positive_int("col2im", "stride", stride)
    pad = _non_negative_int("col2im", "pad", pad)
    filter_h = _positive_int("col2im", "filter_h", filter_h)
    filter_w = _positive_int("col2im", "filter_w", filter_w)
    xp = get_array_module(col)
    col = xp.asarray(col)
    input_shape = tuple(int(n) for n in input_shape)
    if len(input_shape) != 4:
        raise ShapeError(f"col2im: input_shape must be (N, C, H, W), got {input_shape}")
    N, C, H, W = input_shape
    out_h, out_w = _output_size("col2im", (H, W), (filter_h, filter_w), stride, pad)
    expected = (N * out_h * out_w, C * filter_h * filter_w)
    if col.shape != expected:
        raise ShapeError(
            f"col2im: for input_shape {input_shape}, a {filter_h}×{filter_w} filter, stride {stride} and "
            f"pad {pad}, col must have shape {expected}, got {col.shape}"
        )
    blocks = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    return _fold(xp, blocks, input_shape, stride, pad)


# --------------------------------------------------------------------------- layers


class Convolution(WeightBiasLayer):
    """2-D convolution (cross-correlation, as in the book) of an NCHW batch.

    forward:  y[n, f, i, j] = Σ_{c, u, v} W[f, c, u, v] · xₚ[n, c, i·s + u, j·s + v] + b[f]
              x: (N, C, H, W), W: (FN, C, FH, FW), b: (FN,) → y: (N, FN, OH, OW)
              (xₚ is x padded with p zeros; OH = (H + 2p − FH)//s + 1, likewise OW)
    backward: db[f] = Σ_{n,i,j} dout[n, f, i, j]
              dW[f, c, u, v] = Σ_{n,i,j} dout[n, f, i, j] · xₚ[n, c, i·s + u, j·s + v]
              dx = col2im(dout · Wᵀ): each output gradient is spread back, weighted by W, onto the
              input window it was computed from (overlaps add up, the padding is cut off)

    Implementation: im2col and one matrix product, arranged so that memory traffic stays low.

    - Channels-last inside, NCHW at the boundary: the output is computed as the (N·OH·OW, FN)
      matrix ``col @ col_W`` (``col_W`` = W as (FH·FW·C, FN)), i.e. channels-last, and returned
      as an (N, FN, OH, OW) *view* of it; Relu and Pooling keep that memory layout, so the next
      convolution finds each pixel's channels contiguous and copies its windows in runs of C
      values. An NCHW input (an image batch, often C = 1) is copied in runs along image rows
      into a transposed column buffer instead.
    - The column matrix ``col`` (N·OH·OW, FH·FW·C) of the (zero-padded) input is built for a
      chunk of samples at a time (about :data:`CHUNK_BYTES`, so that it stays in the cache), by
      one copy from a strided view of the padded input into a buffer reused from chunk to chunk
      and step to step, and consumed at once by the matrix product (a column matrix of at most
      2·CHUNK_BYTES is built whole, and backward reuses whatever chunk the buffer still holds).
    - ``dx``, for stride 1, is itself a convolution: the windows of dout padded by FH − 1 − p
      (cropped when p is larger) times the flipped filters with in/out channels swapped — a
      window copy and a matrix product per chunk, no scatter — and dW is computed from the same
      windows of dout (xᵀ @ windows), so backward copies windows once. For a larger stride (or a
      first layer, which needs no dx) dW is colᵀ @ dout with col rebuilt per chunk, and dx is
      ``dout @ col_Wᵀ`` folded back onto the image with FH·FW strided adds, per chunk.

    Chunks are processed in a fixed order and dW is accumulated chunk by chunk in that order, so results
    are bit-for-bit repeatable for a fixed BLAS thread count. (Spreading the copies over both
    cores with Python threads was measured and dropped: on a busy machine each hand-over between
    threads can stall for milliseconds, more than the copies take.)

    ``col_W`` is kept as in the book; ``col`` is not (it is rebuilt chunk by chunk). The layer
    keeps references to the very ``W`` and ``b`` arrays it was given: updating them in place (an
    optimizer step, a numerical-gradient probe) is seen by the layer. Set ``input_grad = False``
    on a network's first layer: ``backward`` then fills ``dW`` and ``db`` but skips dx, which
    nothing uses, and returns None.
    """

    symbol = "Conv"
    forward_rule = "y = W ⋆ x + b (each filter slid over x)"
    backward_rule = "dW = Σ dout·x-windows, db = Σ dout, dx = col2im(dout·Wᵀ)"
    forward_rule_ko = "y = W ⋆ x + b (필터마다 x 위를 미끄러지며 곱해 더함)"
    backward_rule_ko = "dW = Σ dout·x의 창, db = Σ dout, dx = col2im(dout·Wᵀ)"

    def __init__(self, W, b, stride=1, pad=0):
        if getattr(W, "ndim", None) != 4:
            raise ShapeError(
                f"Convolution: W must be a 4-D array (FN, C, FH, FW), got shape {getattr(W, 'shape', type(W).__name__)}"
            )
        if getattr(b, "shape", None) != (W.shape[0],):
            raise ShapeError(
                f"Convolution: b must have shape ({W.shape[0]},) to match W of shape {W.shape}, "
                f"got {getattr(b, 'shape', type(b).__name__)}"
            )
        self.W = W
        self.b = b
        self.stride = _positive_int("Convolution", "stride", stride)
        self.pad = _non_negative_int("Convolution", "pad", pad)
        self.input_grad = True
        # the book's attributes, filled by forward / backward
        self.x = None
        self.col = None
        self.col_W = None
        self.dW = None
        self.db = None
        self._out_hw = None
        self._padded = None  # the padded channels-last input of the last forward
        self._columns_of = None  # (start, stop): the samples whose columns the "col" buffer holds
        self._buffers = {}  # name → array reused while shape and dtype stay the same

    def output_shape(self, input_shape):
        """Shape of the output for an input of shape (N, C, H, W) (checks that it fits)."""
        N, _, H, W = input_shape
        self._check_channels(tuple(input_shape))
        FN, _, FH, FW = self.W.shape
        out_h, out_w = _output_size("Convolution", (H, W), (FH, FW), self.stride, self.pad)
        return (N, FN, out_h, out_w)

    def _check_channels(self, shape):
        C = self.W.shape[1]
        if shape[1] != C:
            raise ShapeError(
                f"Convolution: input x of shape {shape} has {shape[1]} channels, but the filters W of "
                f"shape {tuple(self.W.shape)} expect {C} (x must be (N, {C}, H, W))"
            )

    def _buffer(self, xp, name, shape, dtype, fill=None):
        """A scratch array kept between steps; ``fill`` initialises it only when it is (re)allocated."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype or get_array_module(buf) is not xp:
            buf = xp.empty(shape, dtype) if fill is None else xp.full(shape, fill, dtype)
            self._buffers[name] = buf
        return buf

    def _chunk_plan(self):
        """Sample chunks: the column matrix (and dout's, for dx) of one chunk is about CHUNK_BYTES.

        On a GPU the whole batch is one chunk: there is no CPU cache to fit, and every chunk would
        cost kernel launches."""
        N, _, H, W = self.x.shape
        if get_array_module(self.x) is not numpy:
            return [(0, N)]
        FN, C, FH, FW = self.W.shape
        out_h, out_w = self._out_hw
        per_sample = FH * FW * max(C * out_h * out_w, FN * H * W if self.input_grad else 0)
        per_sample *= self.x.dtype.itemsize
        if N * per_sample <= 2 * _chunk_bytes():  # small enough to build whole, and keep for backward
            return [(0, N)]
        return _chunks(N, per_sample)

    def _columns(self, xp, windows, start, stop, size):
        """The (n·OH·OW, FH·FW·C) column matrix of samples [start, stop) of ``windows`` (the
        window view of the padded input), copied into a reused buffer — unless the buffer already
        holds exactly these columns of this forward pass (the last chunk forward built)."""
        _, C, FH, FW = self.W.shape
        out_h, out_w = self._out_hw
        n, K = stop - start, FH * FW * C
        flat = self._buffer(xp, "col", (size * out_h * out_w * K,), self._padded.dtype)[: n * out_h * out_w * K]
        ready = self._columns_of == (start, stop)
        self._columns_of = (start, stop)
        windows = windows[start:stop]
        if self._channels_last:  # one pixel's channels are contiguous: copy runs of C values
            col = flat.reshape(n, out_h, out_w, FH, FW, C)
            if not ready:
                xp.copyto(col, windows)
            return col.reshape(n * out_h * out_w, K)
        col_t = flat.reshape(FH, FW, C, n, out_h, out_w)  # runs along image rows, stored transposed
        if not ready:
            xp.copyto(col_t.transpose(3, 4, 5, 0, 1, 2), windows)
        return col_t.reshape(K, n * out_h * out_w).T

    def forward(self, x):
        xp = get_array_module(x, self.W)
        x = xp.asarray(x)
        _check_image_batch("Convolution", x)
        N, FN, out_h, out_w = self.output_shape(x.shape)
        _, C, FH, FW = self.W.shape
        p = self.pad
        self.x = x
        self._out_hw = (out_h, out_w)
        self._channels_last = _channels_last(x)
        self._columns_of = None  # which samples' columns the "col" buffer holds
        self._padded = _padded_channels_last(
            xp, x.transpose(0, 2, 3, 1), p, p, lambda shape: self._buffer(xp, "padded", shape, x.dtype, fill=0)
        )
        self.col_W = self.W.transpose(2, 3, 1, 0).reshape(FH * FW * C, FN)
        P = out_h * out_w
        out = xp.empty((N * P, FN), dtype=xp.result_type(x.dtype, self.W.dtype))
        chunks = self._chunk_plan()
        size = chunks[0][1] - chunks[0][0] if chunks else 0
        windows = _window_view(xp, self._padded, FH, FW, self.stride)
        for start, stop in chunks:
            rows = out[start * P : stop * P]
            xp.matmul(self._columns(xp, windows, start, stop, size), self.col_W, out=rows)
            rows += self.b  # while the chunk's output is still in the cache
        return out.reshape(N, out_h, out_w, FN).transpose(0, 3, 1, 2)

    def backward(self, dout):
        self._check_dout_shape(dout, (len(self._forward_value("x")), self.W.shape[0]) + self._out_hw)
        xp = get_array_module(dout, self._padded)
        N, C, H, W = self.x.shape
        FN, _, FH, FW = self.W.shape
        expected = (N, FN) + self._out_hw
        if getattr(dout, "shape", None) != expected:
            raise ShapeError(
                f"Convolution.backward: dout must have shape {expected} (the output's), "
                f"got {getattr(dout, 'shape', None)}"
            )
        out_h, out_w = self._out_hw
        P = out_h * out_w
        # free when dout has the channels-last layout of our own output (Relu and Pooling keep it)
        d2 = xp.ascontiguousarray(dout.transpose(0, 2, 3, 1)).reshape(N * P, FN)
        kernels = fused_kernels(d2)  # on a GPU: one column-sum kernel
        self.db = (
            kernels.bias_gradient(d2) if kernels else xp.ones(N * P, d2.dtype) @ d2
        )  # Σ over rows, as one matrix-vector product
        if self.input_grad and self.stride == 1:
            dW, dx = self._backward_as_convolution(xp, d2)
        else:
            dW, dx = self._backward_with_columns(xp, d2)
        self.dW = dW
        return None if dx is None else dx.transpose(0, 3, 1, 2)

    def _backward_as_convolution(self, xp, d2):
        """Stride 1: dx is the convolution of dout, padded by FH − 1 − p (cropped when p is larger),
        with the filters flipped and their in/out channels swapped, and dW comes from the very same
        windows of dout: dW[f, c, FH−1−u', FW−1−v'] = Σ x[n, c, h, w] · dout_window[n, h, w, u', v', f].
        One window copy and two matrix products per chunk; no column matrix of x."""
        N, C, H, W = self.x.shape
        FN, _, FH, FW = self.W.shape
        out_h, out_w = self._out_hw
        d_padded = _padded_channels_last(
            xp,
            d2.reshape(N, out_h, out_w, FN),
            FH - 1 - self.pad,
            FW - 1 - self.pad,
            lambda shape: self._buffer(xp, "dout_padded", shape, d2.dtype, fill=0),
        )
        d_windows = _window_view(xp, d_padded, FH, FW, 1)  # (N, H, W, FH, FW, FN)
        W_flipped = self.W[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(FH * FW * FN, C)
        x_hwc = self.x.transpose(0, 2, 3, 1)
        dx = xp.empty((N * H * W, C), dtype=xp.result_type(d2.dtype, self.W.dtype))
        dW_flipped = xp.zeros((C, FH * FW * FN), dtype=xp.result_type(self.x.dtype, d2.dtype))
        partial = xp.empty_like(dW_flipped)
        chunks = self._chunk_plan()
        size = chunks[0][1] - chunks[0][0] if chunks else 0
        rows = H * W
        for start, stop in chunks:
            n = stop - start
            flat = self._buffer(xp, "dout_col", (size * rows * FH * FW * FN,), d2.dtype)
            d_col = flat[: n * rows * FH * FW * FN].reshape(n, H, W, FH, FW, FN)
            xp.copyto(d_col, d_windows[start:stop])
            d_col = d_col.reshape(n * rows, FH * FW * FN)
            xp.matmul(x_hwc[start:stop].reshape(n * rows, C).T, d_col, out=partial)
            dW_flipped += partial
            xp.matmul(d_col, W_flipped, out=dx[start * rows : stop * rows])
        dW = dW_flipped.reshape(C, FH, FW, FN)[:, ::-1, ::-1].transpose(3, 0, 1, 2)
        return xp.ascontiguousarray(dW), dx.reshape(N, H, W, C)

    def _backward_with_columns(self, xp, d2):
        """dW = colᵀ @ dout with the column matrix of x rebuilt chunk by chunk; dx (stride > 1) is
        dout @ col_Wᵀ folded back onto the image; no dx at all when ``input_grad`` is False."""
        N, C, H, W = self.x.shape
        FN, _, FH, FW = self.W.shape
        out_h, out_w = self._out_hw
        P, K = out_h * out_w, FH * FW * C
        dW = xp.zeros((K, FN), dtype=xp.result_type(self._padded.dtype, d2.dtype))
        partial = xp.empty_like(dW)
        dx = xp.zeros((N, H, W, C), dtype=xp.result_type(d2.dtype, self.W.dtype)) if self.input_grad else None
        chunks = self._chunk_plan()
        size = chunks[0][1] - chunks[0][0] if chunks else 0
        windows = _window_view(xp, self._padded, FH, FW, self.stride)
        for start, stop in reversed(chunks):  # the last chunk forward built is still in the buffer
            d_chunk = d2[start * P : stop * P]
            xp.matmul(self._columns(xp, windows, start, stop, size).T, d_chunk, out=partial)
            dW += partial
            if dx is not None:
                n = stop - start
                flat = self._buffer(xp, "dcol", (size * P * K,), dx.dtype)
                d_col = flat[: n * P * K].reshape(n * P, K)
                xp.matmul(d_chunk, self.col_W.T, out=d_col)
                _fold_channels_last(
                    xp, d_col.reshape(n, out_h, out_w, FH, FW, C), dx[start:stop], self.stride, self.pad
                )
        return xp.ascontiguousarray(dW.reshape(FH, FW, C, FN).transpose(3, 2, 0, 1)), dx

    def __repr__(self):
        return f"Convolution(W{tuple(self.W.shape)}, b{tuple(self.b.shape)}, stride={self.stride}, pad={self.pad})"


def _channels_last(x):
    """Whether an (N, C, H, W) array is laid out in memory as (N, H, W, C) (Convolution's outputs are)."""
    return x.shape[1] > 1 and x.transpose(0, 2, 3, 1).flags.c_contiguous and not x.flags.c_contiguous


def _zeros_in_layout_of(xp, shape, dtype, like, fill=True):
    """zeros(shape) (an NCHW shape), laid out channels-last in memory when ``like`` is; with
    ``fill=False`` the array is left uninitialised (for a caller that writes every element)."""
    new = xp.zeros if fill else xp.empty
    if like is not None and _channels_last(like):
        N, C, H, W = shape
        return new((N, H, W, C), dtype=dtype).transpose(0, 3, 1, 2)
    return new(shape, dtype=dtype)


def _axis_slices(ndim, axis, offset, stride, count):
    """Index selecting ``count`` entries ``offset, offset + stride, …`` along ``axis``."""
    index = [slice(None)] * ndim
    index[axis] = slice(offset, offset + stride * (count - 1) + 1, stride)
    return tuple(index)


def _max_select(xp, views):
    """Elementwise maximum of ``views`` and which view gave it.

    Returns (maximum, wins) where wins[u - 1] is a bool array, True where view u holds the maximum
    and no earlier view does (ties go to the earliest view); view 0 wins where no wins[·] is True.
    """
    if len(views) == 1:
        return views[0].copy(), []
    best = xp.maximum(views[0], views[1])
    better = [xp.greater(views[1], views[0])]  # view u beats every earlier view
    for view in views[2:]:
        better.append(xp.greater(view, best))
        xp.maximum(best, view, out=best)
    # the winner is the last view that beat all earlier ones
    wins = list(better)
    later = None
    for u in range(len(better) - 1, 0, -1):
        later = better[u].copy() if later is None else xp.logical_or(later, better[u], out=later)
        wins[u - 1] = xp.logical_and(better[u - 1], xp.logical_not(later))
    return best, wins


class _PoolingBase(Layer):
    """What max and average pooling share: window size, stride, padding, output size.

    Both are computed separably, without im2col: first over the pool_h rows of each window (slices
    of whole image rows, which are contiguous in memory), then over the pool_w columns of that
    result. Backward spreads the gradient back through the two stages in reverse order.
    Integer inputs are converted to float64.
    """

    _pad_fill = 0.0

    def __init__(self, pool_h, pool_w, stride=2, pad=0):
        owner = type(self).__name__
        self.pool_h = _positive_int(owner, "pool_h", pool_h)
        self.pool_w = _positive_int(owner, "pool_w", pool_w)
        self.stride = _positive_int(owner, "stride", stride)
        self.pad = _non_negative_int(owner, "pad", pad)
        self.x = None
        self._x_shape = None
        self._out_hw = None

    def output_shape(self, input_shape):
        """Shape of the output for an input of shape (N, C, H, W) (checks that the window fits)."""
        N, C, H, W = input_shape
        out_h, out_w = _output_size(
            type(self).__name__, (H, W), (self.pool_h, self.pool_w), self.stride, self.pad, what="pooling window"
        )
        return (N, C, out_h, out_w)

    def _prepare(self, x):
        """Validate x; return xp and the pool_h row slices of the padded x (the first stage's inputs)."""
        owner = type(self).__name__
        xp = get_array_module(x)
        x = xp.asarray(x)
        _check_image_batch(owner, x)
        if x.dtype.kind != "f":
            x = x.astype(xp.float64)
        _, _, out_h, out_w = self.output_shape(x.shape)
        self.x = x
        self._x_shape = x.shape
        self._out_hw = (out_h, out_w)
        xpad = _padded(xp, x, self.pad, self._pad_fill)
        rows = [xpad[_axis_slices(4, 2, u, self.stride, out_h)] for u in range(self.pool_h)]
        return xp, rows

    def _columns(self, r):
        return [r[_axis_slices(4, 3, v, self.stride, self._out_hw[1])] for v in range(self.pool_w)]

    def _check_dout(self, dout):
        shape = self._forward_value("_x_shape")
        expected = shape[:2] + self._out_hw
        if getattr(dout, "shape", None) != expected:
            raise ShapeError(
                f"{type(self).__name__}.backward: dout must have shape {expected} (the output's), "
                f"got {getattr(dout, 'shape', None)}"
            )
        return shape

    def _dout_in_layout_of_x(self, xp, dout):
        """dout laid out like x in memory (one small copy when they differ), so that every
        elementwise step of backward runs over one memory order."""
        if _channels_last(self.x) and not _channels_last(dout) and dout.shape[1] > 1:
            return xp.ascontiguousarray(dout.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        return dout

    def _spread(self, xp, grad, shape, axis, size, selectors):
        """Add grad (times selectors[u], when given) onto offset u's slice along ``axis`` of zeros(shape).

        When the windows tile the axis exactly (stride = window size, no remainder) every element
        is written once, so the result is not zero-filled first."""
        count = grad.shape[axis]
        overlapping = self.stride < size
        tiles = self.stride == size and count * size == shape[axis]
        out = _zeros_in_layout_of(xp, shape, grad.dtype, self.x, fill=not tiles)
        for u in range(size):
            dest = out[_axis_slices(4, axis, u, self.stride, count)]
            select = selectors[u] if selectors is not None else None
            if overlapping:
                dest += grad if select is None else grad * select
            elif select is None:
                dest[...] = grad
            else:  # each pixel belongs to one window at most: write in place, no temporary
                xp.multiply(grad, select, out=dest)
        return out

    def _unpad(self, dx):
        p = self.pad
        if p:
            H, W = self._x_shape[2:]
            dx = dx[:, :, p : p + H, p : p + W]
        return dx

    def __repr__(self):
        return (
            f"{type(self).__name__}(pool_h={self.pool_h}, pool_w={self.pool_w}, stride={self.stride}, pad={self.pad})"
        )


class Pooling(_PoolingBase):
    """Max pooling over pool_h × pool_w windows, each channel separately.

    forward:  y[n, c, i, j] = max_{u < ph, v < pw} xₚ[n, c, i·s + u, j·s + v]
    backward: dx[n, c, i·s + u*, j·s + v*] += dout[n, c, i, j], where (u*, v*) is the position of
              the window's maximum; every other pixel of the window gets 0. When several pixels
              share the maximum, one gets the gradient: the first in column-major order (lowest
              v, then lowest u)

    Padding pads with −∞, so a padded pixel is never the maximum (``pad`` must be smaller than the
    window). The stride defaults to 2 (the book's default is 1), so Pooling(2, 2) halves H and W.
    No im2col is built: the maximum is taken over the window's rows (strided slices of whole
    rows), then over its columns, and each stage keeps boolean masks of which offset won, for
    backward; ``arg_max`` gives the winner as an index u·pool_w + v into the window.
    """

    symbol = "MaxPool"
    forward_rule = "y = max of each window"
    backward_rule = "dx = dout at each window's max, 0 elsewhere"
    forward_rule_ko = "y = 각 창의 최댓값"
    backward_rule_ko = "dx = 각 창의 최댓값 자리에 dout, 나머지는 0"
    _pad_fill = float("-inf")

    def __init__(self, pool_h, pool_w, stride=2, pad=0):
        super().__init__(pool_h, pool_w, stride, pad)
        if self.pad >= self.pool_h or self.pad >= self.pool_w:
            raise ValueError(
                f"Pooling: pad ({self.pad}) must be smaller than the {self.pool_h}×{self.pool_w} window, "
                "or some windows would hold nothing but padding"
            )
        self.row_wins = None  # pool_h − 1 masks (N, C, OH, W + 2p): which window row won
        self.col_wins = None  # pool_w − 1 masks (N, C, OH, OW): which window column won

    def forward(self, x):
        xp, rows = self._prepare(x)
        r, row_wins = _max_select(xp, rows)
        out, col_wins = _max_select(xp, self._columns(r))
        self.row_wins, self.col_wins = row_wins, col_wins
        return out

    @staticmethod
    def _selectors(xp, wins):
        if not wins:
            return None
        taken = wins[0]
        for won in wins[1:]:
            taken = xp.logical_or(taken, won)
        return [xp.logical_not(taken), *wins]  # offset 0 wins where no other offset did

    @property
    def arg_max(self):
        """Index u·pool_w + v of each window's maximum, shape (N, C, OH, OW) (None before forward)."""
        if self.col_wins is None:
            return None
        xp = get_array_module(self.x)

        def winner(wins, shape):
            index = xp.zeros(shape, dtype=xp.intp)
            for k, won in enumerate(wins, 1):
                index[won] = k
            return index

        N, C = self._x_shape[:2]
        out_h, out_w = self._out_hw
        v = winner(self.col_wins, (N, C, out_h, out_w))
        if not self.row_wins:
            return v
        u_full = winner(self.row_wins, self.row_wins[0].shape)
        u = xp.take_along_axis(u_full, xp.arange(out_w) * self.stride + v, axis=3)
        return u * self.pool_w + v

    def backward(self, dout):
        self._check_dout_shape(dout, self._forward_value("_x_shape")[:2] + self._out_hw)
        self._forward_value("row_wins")
        shape = self._check_dout(dout)
        xp = get_array_module(dout)
        dout = self._dout_in_layout_of_x(xp, dout)
        N, C, H, W = shape
        Hp, Wp = H + 2 * self.pad, W + 2 * self.pad
        out_h = self._out_hw[0]
        dr = self._spread(xp, dout, (N, C, out_h, Wp), 3, self.pool_w, self._selectors(xp, self.col_wins))
        dx = self._spread(xp, dr, (N, C, Hp, Wp), 2, self.pool_h, self._selectors(xp, self.row_wins))
        return self._unpad(dx)


class AvgPooling(_PoolingBase):
    """Average pooling over pool_h × pool_w windows, each channel separately.

    forward:  y[n, c, i, j] = (1 / (ph·pw)) Σ_{u < ph, v < pw} xₚ[n, c, i·s + u, j·s + v]
    backward: dx[n, c, i·s + u, j·s + v] += dout[n, c, i, j] / (ph·pw) for every pixel of the window

    Padding pads with zeros and the padded pixels count in the average (divisor always ph·pw).
    Computed separably (sum over the window's rows, then its columns), without im2col.
    """

    symbol = "AvgPool"
    forward_rule = "y = mean of each window"
    backward_rule = "dx = dout/(ph·pw) on every pixel of the window"
    forward_rule_ko = "y = 각 창의 평균"
    backward_rule_ko = "dx = 창의 모든 픽셀에 dout/(ph·pw)"

    @staticmethod
    def _sum(xp, views):
        total = views[0].copy() if len(views) == 1 else xp.add(views[0], views[1])
        for view in views[2:]:
            xp.add(total, view, out=total)
        return total

    def forward(self, x):
        xp, rows = self._prepare(x)
        out = self._sum(xp, self._columns(self._sum(xp, rows)))
        out *= 1.0 / (self.pool_h * self.pool_w)
        return out

    def backward(self, dout):
        self._check_dout_shape(dout, self._forward_value("_x_shape")[:2] + self._out_hw)
        shape = self._check_dout(dout)
        xp = get_array_module(dout)
        dout = self._dout_in_layout_of_x(xp, dout)
        N, C, H, W = shape
        Hp, Wp = H + 2 * self.pad, W + 2 * self.pad
        share = dout * (1.0 / (self.pool_h * self.pool_w))
        dr = self._spread(xp, share, (N, C, self._out_hw[0], Wp), 3, self.pool_w, None)
        return self._unpad(self._spread(xp, dr, (N, C, Hp, Wp), 2, self.pool_h, None))


class Flatten(Layer):
    """Flatten each sample: (N, d1, d2, …) → (N, d1·d2·…).

    forward:  y = x.reshape(N, −1)
    backward: dx = dout.reshape(x.shape)
    """

    symbol = "Flatten"
    forward_rule = "y = x.reshape(N, −1)"
    backward_rule = "dx = dout reshaped to x's shape"
    backward_rule_ko = "dx = dout을 x의 모양으로 되돌림"

    def __init__(self):
        self.original_x_shape = None

    def forward(self, x):
        xp = get_array_module(x)
        x = xp.asarray(x)
        if x.ndim < 1:
            raise ShapeError(f"Flatten: expected a batch x of shape (N, ...), got a scalar of shape {x.shape}")
        if x.shape[0] == 0:
            raise ShapeError(f"Flatten: expected a batch x of shape (N, ...) with N ≥ 1 samples, got {x.shape}")
        self.original_x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        self._check_dout_shape(
            dout, self._forward_value("original_x_shape")[:1] + (math.prod(self.original_x_shape[1:]),)
        )
        shape = self._forward_value("original_x_shape")
        n = 1
        for d in shape:
            n *= d
        if getattr(dout, "size", None) != n or dout.shape[0] != shape[0]:
            raise ShapeError(
                f"Flatten.backward: dout must have shape ({shape[0]}, {n // shape[0] if shape[0] else 0}), "
                f"got {getattr(dout, 'shape', None)}"
            )
        return dout.reshape(shape)

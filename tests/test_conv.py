"""Convolution, pooling, flatten layers and the im2col / col2im helpers (issue 4)."""

from __future__ import annotations

import numpy as np
import pytest

import layerprop.layers as L
from layerprop.errors import BackwardBeforeForwardError, ShapeError
from layerprop.gradcheck import check_layer
from layerprop.layers import AvgPooling, Convolution, Flatten, Pooling, col2im, im2col

TOL = 1e-6


# --------------------------------------------------------------------------- naive references


def out_size(size, filt, stride, pad):
    return (size + 2 * pad - filt) // stride + 1


def naive_im2col(x, fh, fw, stride, pad):
    n, c, h, w = x.shape
    oh, ow = out_size(h, fh, stride, pad), out_size(w, fw, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    col = np.empty((n * oh * ow, c * fh * fw), dtype=x.dtype)
    row = 0
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                col[row] = xp[b, :, i * stride : i * stride + fh, j * stride : j * stride + fw].reshape(-1)
                row += 1
    return col


def naive_col2im(col, shape, fh, fw, stride, pad):
    n, c, h, w = shape
    oh, ow = out_size(h, fh, stride, pad), out_size(w, fw, stride, pad)
    img = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    row = 0
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                img[b, :, i * stride : i * stride + fh, j * stride : j * stride + fw] += col[row].reshape(c, fh, fw)
                row += 1
    return img[:, :, pad : pad + h, pad : pad + w]


def naive_conv(x, W, b, stride, pad):
    n, _, h, w = x.shape
    fn, _, fh, fw = W.shape
    oh, ow = out_size(h, fh, stride, pad), out_size(w, fw, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty((n, fn, oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, :, i * stride : i * stride + fh, j * stride : j * stride + fw]
            out[:, :, i, j] = np.tensordot(window, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def naive_pool(x, ph, pw, stride, pad, reduce):
    n, c, h, w = x.shape
    oh, ow = out_size(h, ph, stride, pad), out_size(w, pw, stride, pad)
    fill = -np.inf if reduce is np.max else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    out = np.empty((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reduce(xp[:, :, i * stride : i * stride + ph, j * stride : j * stride + pw], axis=(2, 3))
    return out


def distinct(shape, seed=0):
    """Values that are all different (no ties for max pooling), in random order."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 / np.prod(shape) - 0.1


def readonly(a):
    a = np.array(a)
    a.setflags(write=False)
    return a


# (N, C, H, W, FN, FH, FW, stride, pad)
CONV_CASES = [
    (2, 1, 5, 5, 2, 3, 3, 1, 0),
    (2, 3, 6, 7, 4, 3, 2, 1, 1),
    (3, 2, 7, 6, 3, 2, 3, 2, 0),
    (2, 2, 7, 8, 2, 3, 3, 2, 1),
    (2, 3, 4, 5, 2, 3, 3, 1, 2),
    (2, 2, 5, 6, 3, 5, 4, 2, 2),
    (1, 4, 5, 5, 2, 1, 1, 1, 0),
    # padding larger than the filter: dx's stride-1 path crops dout instead of padding it
    (2, 2, 4, 5, 3, 1, 1, 1, 1),
    (2, 3, 4, 4, 2, 3, 2, 1, 3),
    (2, 2, 6, 5, 2, 2, 2, 3, 3),
]
IDS = [f"N{c[0]}C{c[1]}_{c[2]}x{c[3]}_F{c[4]}_{c[5]}x{c[6]}_s{c[7]}p{c[8]}" for c in CONV_CASES]


# --------------------------------------------------------------------------- im2col / col2im


@pytest.mark.parametrize("case", CONV_CASES, ids=IDS)
def test_im2col_matches_naive_loop(case):
    n, c, h, w, _, fh, fw, s, p = case
    x = np.random.default_rng(1).standard_normal((n, c, h, w))
    col = im2col(readonly(x), fh, fw, s, p)
    np.testing.assert_array_equal(col, naive_im2col(x, fh, fw, s, p))
    assert col.shape == (n * out_size(h, fh, s, p) * out_size(w, fw, s, p), c * fh * fw)


@pytest.mark.parametrize("case", CONV_CASES, ids=IDS)
def test_col2im_matches_naive_loop_and_is_adjoint(case):
    n, c, h, w, _, fh, fw, s, p = case
    rng = np.random.default_rng(2)
    rows = n * out_size(h, fh, s, p) * out_size(w, fw, s, p)
    col = rng.standard_normal((rows, c * fh * fw))
    img = col2im(readonly(col), (n, c, h, w), fh, fw, s, p)
    np.testing.assert_allclose(img, naive_col2im(col, (n, c, h, w), fh, fw, s, p), rtol=1e-12, atol=1e-12)
    x = rng.standard_normal((n, c, h, w))
    assert np.isclose(np.sum(col * im2col(x, fh, fw, s, p)), np.sum(img * x))


def test_im2col_col2im_keep_float32():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(np.float32)
    col = im2col(x, 3, 2, 1, 1)
    assert col.dtype == np.float32
    assert col2im(col, x.shape, 3, 2, 1, 1).dtype == np.float32


def test_im2col_errors():
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\)"):
        im2col(np.zeros((3, 4, 4)), 2, 2)
    with pytest.raises(ShapeError, match="larger than"):
        im2col(np.zeros((1, 1, 3, 3)), 5, 5, pad=0)
    with pytest.raises(ShapeError, match="col must have shape"):
        col2im(np.zeros((5, 4)), (1, 1, 3, 3), 2, 2)
    with pytest.raises(ValueError, match="stride"):
        im2col(np.zeros((1, 1, 3, 3)), 2, 2, stride=0)


# --------------------------------------------------------------------------- Convolution


def make_conv(case, dtype=np.float64, seed=0):
    n, c, h, w, fn, fh, fw, s, p = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    W = rng.standard_normal((fn, c, fh, fw)).astype(dtype)
    b = rng.standard_normal(fn).astype(dtype)
    return Convolution(W, b, stride=s, pad=p), x


@pytest.mark.parametrize("case", CONV_CASES, ids=IDS)
def test_convolution_forward_matches_naive(case):
    conv, x = make_conv(case)
    out = conv.forward(x)
    np.testing.assert_allclose(out, naive_conv(x, conv.W, conv.b, conv.stride, conv.pad), rtol=1e-10, atol=1e-12)
    assert out.shape == conv.output_shape(x.shape)


@pytest.mark.parametrize("case", CONV_CASES, ids=IDS)
def test_convolution_gradients(case):
    conv, x = make_conv(case)
    report = check_layer(conv, x)
    assert [r.name for r in report.rows] == ["x", "W", "b"]
    assert report.max_rel_error < TOL, str(report)


def test_convolution_without_input_grad_still_fills_dW_db():
    case = CONV_CASES[1]
    conv, x = make_conv(case)
    dout = np.random.default_rng(5).standard_normal(conv.forward(x).shape)
    dx = conv.backward(dout)
    dW, db = conv.dW.copy(), conv.db.copy()
    assert dx.shape == x.shape
    first, x2 = make_conv(case)
    first.input_grad = False
    first.forward(x2)
    assert first.backward(dout) is None
    np.testing.assert_allclose(first.dW, dW)
    np.testing.assert_allclose(first.db, db)
    assert first.grads["W"] is first.dW and first.grads["b"] is first.db


def test_convolution_keeps_references_to_its_parameters():
    conv, x = make_conv(CONV_CASES[0])
    assert conv.params["W"] is conv.W and conv.params["b"] is conv.b
    before = conv.forward(x)
    conv.b += 1.0  # in place, like an optimizer step
    np.testing.assert_allclose(conv.forward(x), before + 1.0)


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[3]], ids=[IDS[1], IDS[3]])
def test_convolution_float32_and_readonly(case):
    conv, x = make_conv(case, dtype=np.float32)
    conv.W.setflags(write=False)
    conv.b.setflags(write=False)
    x = readonly(x)
    W_before = conv.W.copy()
    out = conv.forward(x)
    assert out.dtype == np.float32
    dout = readonly(np.ones(out.shape, np.float32))
    dx = conv.backward(dout)
    assert dx.dtype == np.float32 and dx.shape == x.shape
    assert conv.dW.dtype == np.float32 and conv.db.dtype == np.float32
    np.testing.assert_array_equal(conv.W, W_before)
    np.testing.assert_array_equal(dout, 1.0)


def test_convolution_errors():
    W, b = np.zeros((4, 3, 3, 3)), np.zeros(4)
    conv = Convolution(W, b, pad=1)
    with pytest.raises(ShapeError) as info:
        conv.forward(np.zeros((2, 2, 5, 5)))
    message = str(info.value)
    assert "Convolution" in message and "(2, 2, 5, 5)" in message and "(4, 3, 3, 3)" in message
    assert "has 2 channels" in message and "expect 3" in message
    with pytest.raises(ShapeError, match=r"Convolution.*3×3 filter is larger.*1×2 image padded by 0"):
        Convolution(W, b).forward(np.zeros((1, 3, 1, 2)))
    Convolution(W, b, pad=1).forward(np.zeros((1, 3, 1, 1)))  # fits once padded
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\)"):
        conv.forward(np.zeros((3, 5, 5)))
    with pytest.raises(ShapeError, match="W must be a 4-D"):
        Convolution(np.zeros((4, 3, 3)), b)
    with pytest.raises(ShapeError, match="b must have shape"):
        Convolution(W, np.zeros(3))
    with pytest.raises(BackwardBeforeForwardError):
        Convolution(W, b).backward(np.zeros((1, 4, 3, 3)))
    conv.forward(np.zeros((2, 3, 5, 5)))
    with pytest.raises(ShapeError, match=r"dout must have shape \(2, 4, 5, 5\)"):
        conv.backward(np.zeros((2, 4, 4, 4)))
    with pytest.raises(ValueError, match="stride"):
        Convolution(W, b, stride=0)


# --------------------------------------------------------------------------- pooling

# (N, C, H, W, pool_h, pool_w, stride, pad)
POOL_CASES = [
    (2, 3, 6, 6, 2, 2, 2, 0),
    (2, 2, 7, 9, 2, 2, 2, 0),
    (3, 1, 5, 6, 3, 2, 1, 1),
    (2, 2, 7, 5, 2, 3, 2, 1),
    (1, 3, 6, 7, 3, 3, 3, 0),
    (2, 2, 5, 5, 3, 3, 2, 2),
]
POOL_IDS = [f"N{c[0]}C{c[1]}_{c[2]}x{c[3]}_P{c[4]}x{c[5]}_s{c[6]}p{c[7]}" for c in POOL_CASES]


@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
@pytest.mark.parametrize("cls, reduce", [(Pooling, np.max), (AvgPooling, np.mean)], ids=["max", "avg"])
def test_pooling_forward_and_gradients(case, cls, reduce):
    n, c, h, w, ph, pw, s, p = case
    x = distinct((n, c, h, w))
    layer = cls(ph, pw, stride=s, pad=p)
    np.testing.assert_allclose(layer.forward(x), naive_pool(x, ph, pw, s, p, reduce), rtol=1e-12)
    report = check_layer(layer, x)
    assert report.max_rel_error < TOL, str(report)


def test_max_pooling_routes_gradient_to_one_maximum_per_window():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = 5.0  # a tie in the first window
    pool = Pooling(2, 2)
    pool.forward(readonly(x))
    dx = pool.backward(readonly(np.ones((1, 1, 2, 2))))
    assert dx.sum() == 4.0
    assert dx[0, 0, 1, 0] == 1.0 and dx[0, 0, 0, 1] == 0.0  # the first maximum in column-major order
    assert pool.arg_max[0, 0, 0, 0] == 2 and pool.arg_max[0, 0, 1, 1] == 0


@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
def test_max_pooling_with_many_ties_matches_naive_routing(case):
    n, c, h, w, ph, pw, s, p = case
    x = np.random.default_rng(4).integers(0, 3, (n, c, h, w)).astype(np.float64)  # plenty of ties
    pool = Pooling(ph, pw, stride=s, pad=p)
    out = pool.forward(x)
    dout = np.random.default_rng(5).standard_normal(out.shape)
    dx = pool.backward(dout)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    expected = np.zeros_like(xp)
    arg = np.empty(out.shape, dtype=int)
    for b in range(n):
        for ch in range(c):
            for i in range(out.shape[2]):
                for j in range(out.shape[3]):
                    window = xp[b, ch, i * s : i * s + ph, j * s : j * s + pw]
                    u, v = np.unravel_index(np.argmax(window.T), (pw, ph))[::-1]  # column-major first
                    expected[b, ch, i * s + u, j * s + v] += dout[b, ch, i, j]
                    arg[b, ch, i, j] = u * pw + v
    np.testing.assert_allclose(dx, expected[:, :, p : p + h, p : p + w], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(pool.arg_max, arg)


def test_pooling_default_stride_is_two():
    assert Pooling(2, 2).forward(np.zeros((1, 1, 6, 4))).shape == (1, 1, 3, 2)
    assert AvgPooling(2, 2).forward(np.zeros((1, 1, 6, 4))).shape == (1, 1, 3, 2)


@pytest.mark.parametrize("cls", [Pooling, AvgPooling])
def test_pooling_float32_and_readonly(cls):
    x = readonly(distinct((2, 3, 6, 5)).astype(np.float32))
    layer = cls(2, 2, stride=2, pad=1)
    out = layer.forward(x)
    assert out.dtype == np.float32
    dx = layer.backward(readonly(np.ones(out.shape, np.float32)))
    assert dx.dtype == np.float32 and dx.shape == x.shape


@pytest.mark.parametrize("cls", [Pooling, AvgPooling])
def test_pooling_errors(cls):
    layer = cls(3, 3, stride=1)
    with pytest.raises(ShapeError, match=rf"{cls.__name__}.*3×3 pooling window is larger.*2×4 image"):
        layer.forward(np.zeros((1, 1, 2, 4)))
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\)"):
        layer.forward(np.zeros((4, 4)))
    with pytest.raises(BackwardBeforeForwardError):
        cls(2, 2).backward(np.zeros((1, 1, 1, 1)))
    layer.forward(np.zeros((1, 2, 4, 4)))
    with pytest.raises(ShapeError, match=r"dout must have shape \(1, 2, 2, 2\)"):
        layer.backward(np.zeros((1, 2, 3, 3)))


def test_max_pooling_pad_must_be_smaller_than_window():
    with pytest.raises(ValueError, match="pad"):
        Pooling(2, 2, pad=2)


# --------------------------------------------------------------------------- Flatten


def test_flatten_round_trip():
    x = readonly(np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5))
    flat = Flatten()
    y = flat.forward(x)
    assert y.shape == (2, 60) and y.dtype == np.float32
    np.testing.assert_array_equal(y[1], x[1].reshape(-1))
    dx = flat.backward(readonly(y * 2))
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dx, x * 2)
    assert check_layer(Flatten(), np.random.default_rng(0).standard_normal((2, 2, 3))).max_rel_error < TOL
    with pytest.raises(ShapeError):
        flat.backward(np.zeros((2, 59)))


# --------------------------------------------------------------------------- conv → pool chain, exports


def test_conv_relu_pool_chain_gradient():
    rng = np.random.default_rng(3)
    conv = Convolution(rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3), stride=1, pad=1)
    relu, pool, flat = L.Relu(), Pooling(2, 2), Flatten()
    x = rng.standard_normal((2, 2, 6, 5))
    y = flat.forward(pool.forward(relu.forward(conv.forward(x))))
    dout = rng.standard_normal(y.shape)
    dx = conv.backward(relu.backward(pool.backward(flat.backward(dout))))

    def f(_):
        return np.sum(flat.forward(pool.forward(relu.forward(conv.forward(x)))) * dout)

    from layerprop.gradcheck import compare_gradients, numerical_gradient

    assert compare_gradients("x", dx, numerical_gradient(f, x)).rel_error < TOL


def test_layers_are_exported_and_described():
    for name in ("Convolution", "Pooling", "AvgPooling", "Flatten", "im2col", "col2im"):
        assert name in L.__all__ and hasattr(L, name)
    for cls in (Convolution, Pooling, AvgPooling, Flatten):
        assert cls.symbol != "?" and cls.backward_rule
        assert "forward" in cls.__doc__ and "backward" in cls.__doc__


# --------------------------------------------------------------------------- fast paths (issue 9)
# Convolution copies windows in runs of C channels when its input is laid out channels-last (as
# its own outputs are) and in runs along image rows for NCHW input; it processes the batch in
# chunks of samples; dx takes a convolution path at stride 1 and a fold at larger strides; pooling
# keeps the input's memory layout. Every branch is checked against the naive loops and
# numerically, and the branches against one another.


def channels_last(x):
    """The same (N, C, H, W) values, laid out in memory as (N, H, W, C) (like Convolution's output)."""
    return np.ascontiguousarray(np.asarray(x).transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def conv_results(conv, x, dout):
    out = conv.forward(x)
    dx = conv.backward(dout)
    return out, dx, conv.dW.copy(), conv.db.copy()


@pytest.mark.parametrize("case", CONV_CASES, ids=IDS)
def test_convolution_channels_last_input_matches_naive_and_nchw(case):
    conv, x = make_conv(case)
    x_cl = channels_last(x)
    assert not x_cl.flags.c_contiguous or x.shape[1] == 1
    out = conv.forward(x_cl)
    np.testing.assert_allclose(out, naive_conv(x, conv.W, conv.b, conv.stride, conv.pad), rtol=1e-10, atol=1e-12)
    dout = np.random.default_rng(7).standard_normal(out.shape)
    reference = conv_results(conv, x, dout)
    for got, want in zip(conv_results(conv, x_cl, dout), reference):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    report = check_layer(conv, x_cl)
    assert report.max_rel_error < TOL, str(report)


@pytest.mark.parametrize("case", CONV_CASES, ids=IDS)
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_convolution_in_chunks_of_one_sample_matches_one_chunk(case, layout, monkeypatch):
    import layerprop.layers.conv as conv_module

    conv, x = make_conv(case)
    x = channels_last(x) if layout == "channels_last" else x
    dout = np.random.default_rng(8).standard_normal(conv.output_shape(x.shape))
    whole = conv_results(conv, x, dout)
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", 1)  # one sample per chunk
    assert len(conv._chunk_plan()) == x.shape[0]
    for got, want in zip(conv_results(conv, x, dout), whole):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    report = check_layer(conv, x)
    assert report.max_rel_error < TOL, str(report)
    conv.input_grad = False  # dW from the column matrix, rebuilt chunk by chunk (the last one reused)
    conv.forward(x)
    assert conv.backward(dout) is None
    np.testing.assert_allclose(conv.dW, whole[2], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.db, whole[3], rtol=1e-12, atol=1e-12)


def test_cache_shared_by_threads_shrinks_this_threads_chunks_only(monkeypatch):
    """ThreadParallel's slices size their chunks for one core's cache: CHUNK_BYTES / threads, in
    the calling thread only, restored afterwards; the results do not depend on it."""
    import threading

    import layerprop.layers.conv as conv_module

    conv, x = make_conv(CONV_CASES[1])
    x = np.concatenate([x] * 4)
    dout = np.random.default_rng(9).standard_normal(conv.output_shape(x.shape))
    conv.forward(x)
    budget = 1
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", budget)
    while len(conv._chunk_plan()) > len(x) // 2:  # the smallest budget that holds two samples
        budget *= 2
        monkeypatch.setattr(conv_module, "CHUNK_BYTES", budget)
    default_plan = conv._chunk_plan()
    whole = conv_results(conv, x, dout)
    seen = {}
    with conv_module.cache_shared_by(2):
        inside = conv._chunk_plan()
        other = threading.Thread(target=lambda: seen.setdefault("plan", conv._chunk_plan()))
        other.start()
        other.join()
        shared = conv_results(conv, x, dout)
    assert len(inside) > len(default_plan)
    assert seen["plan"] == default_plan  # another thread keeps the whole budget
    assert conv._chunk_plan() == default_plan  # restored
    for got, want in zip(shared, whole):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_convolution_output_is_channels_last_and_buffers_are_reused():
    conv, x = make_conv(CONV_CASES[1], dtype=np.float32)
    out = conv.forward(x)
    assert out.transpose(0, 2, 3, 1).flags.c_contiguous  # NCHW shape, channels-last memory
    buffers = {name: id(buf) for name, buf in conv._buffers.items()}
    conv.backward(np.ones(out.shape, np.float32))
    out2 = conv.forward(x + 1)
    assert out2 is not out and not np.shares_memory(out, out2)  # outputs are fresh arrays
    assert all(id(conv._buffers[name]) == ident for name, ident in buffers.items())


def test_convolution_is_deterministic_bit_for_bit():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((6, 8, 12, 12)).astype(np.float32)
    W = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    runs = []
    for _ in range(2):
        conv = Convolution(W.copy(), np.zeros(8, np.float32), 1, 1)
        out = conv.forward(channels_last(x))
        dx = conv.backward(channels_last(np.cos(out)))
        runs.append((out, dx, conv.dW, conv.db))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
@pytest.mark.parametrize("cls, reduce", [(Pooling, np.max), (AvgPooling, np.mean)], ids=["max", "avg"])
def test_pooling_of_channels_last_input_matches_naive_and_keeps_the_layout(case, cls, reduce):
    n, c, h, w, ph, pw, s, p = case
    x = channels_last(distinct((n, c, h, w)))
    layer = cls(ph, pw, stride=s, pad=p)
    out = layer.forward(x)
    np.testing.assert_allclose(out, naive_pool(x, ph, pw, s, p, reduce), rtol=1e-12)
    nchw = cls(ph, pw, stride=s, pad=p)
    nchw.forward(np.ascontiguousarray(x))
    for dout in (np.cos(out), channels_last(np.cos(out))):  # dout in either layout
        dx = layer.backward(dout)
        np.testing.assert_array_equal(dx, nchw.backward(np.ascontiguousarray(dout)))
        if c > 1:
            assert dx.strides[1] < dx.strides[3]  # channels-last memory, like x
    report = check_layer(layer, x)
    assert report.max_rel_error < TOL, str(report)

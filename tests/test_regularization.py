"""Dropout and BatchNormalization layers (issue 3)."""

from __future__ import annotations

import numpy as np
import pytest

from layerprop.errors import BackwardBeforeForwardError, ShapeError
from layerprop.gradcheck import check_layer
from layerprop.layers import BatchNormalization, Dropout


def readonly(a):
    a = np.array(a)
    a.setflags(write=False)
    return a


def make_bn(size, seed=0, dtype=np.float64, **kwargs):
    rng = np.random.default_rng(seed)
    return BatchNormalization(
        (1.0 + 0.3 * rng.standard_normal(size)).astype(dtype), (0.2 * rng.standard_normal(size)).astype(dtype), **kwargs
    )


# --------------------------------------------------------------------------- BatchNormalization
@pytest.mark.parametrize("shape", [(8, 5), (4, 2, 3, 3)], ids=["2-D", "4-D"])
def test_batchnorm_gradient_check(shape):
    rng = np.random.default_rng(1)
    x = 2.0 + 3.0 * rng.standard_normal(shape)
    bn = make_bn(int(np.prod(shape[1:])), seed=2)
    report = check_layer(bn, x, forward_kwargs={"train_flg": True})
    assert [row.name for row in report.rows] == ["x", "gamma", "beta"]
    assert report.max_rel_error < 1e-6, str(report)
    assert report["x"].shape == shape


def test_batchnorm_training_forward_normalises():
    rng = np.random.default_rng(3)
    x = 5.0 + 4.0 * rng.standard_normal((200, 6))
    bn = BatchNormalization(np.ones(6), np.zeros(6))
    y = bn.forward(x, train_flg=True)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-6)
    bn2 = BatchNormalization(np.full(6, 2.0), np.full(6, -1.0))
    np.testing.assert_allclose(bn2.forward(x, True), 2.0 * y - 1.0, rtol=1e-12, atol=1e-12)


def test_batchnorm_running_averages_and_inference():
    rng = np.random.default_rng(4)
    bn = BatchNormalization(np.ones(3), np.zeros(3), momentum=0.9)
    x = rng.standard_normal((50, 3))
    bn.forward(x, train_flg=True)
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(bn.running_var, 0.1 * x.var(axis=0))
    bn.forward(x, train_flg=True)
    np.testing.assert_allclose(bn.running_mean, 0.19 * x.mean(axis=0))
    # inference uses the running statistics (not the batch's) and does not update them
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    y = bn.forward(x[:3], train_flg=False)
    np.testing.assert_allclose(y, (x[:3] - mean) / np.sqrt(var + bn.eps))
    assert np.array_equal(bn.running_mean, mean) and np.array_equal(bn.running_var, var)
    # buffers can be read and set (that is how networks save and load them)
    assert set(bn.buffers) == {"running_mean", "running_var"}
    bn.set_buffer("running_mean", np.zeros(3))
    bn.set_buffer("running_var", np.ones(3))
    np.testing.assert_allclose(bn.forward(x[:3], False), x[:3] / np.sqrt(1 + bn.eps))
    with pytest.raises(KeyError):
        bn.set_buffer("gamma", np.ones(3))


def test_batchnorm_4d_normalises_per_feature():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((10, 2, 2, 2)) * np.arange(1, 9).reshape(1, 2, 2, 2)
    bn = BatchNormalization(np.ones(8), np.zeros(8))
    y = bn.forward(x, True)
    assert y.shape == x.shape
    np.testing.assert_allclose(y.reshape(10, 8).std(axis=0), 1.0, rtol=1e-5)
    dx = bn.backward(np.ones_like(y))
    assert dx.shape == x.shape


def test_batchnorm_params_by_reference_and_grads():
    gamma, beta = np.ones(4), np.zeros(4)
    bn = BatchNormalization(gamma, beta)
    assert bn.params["gamma"] is gamma and bn.params["beta"] is beta
    x = np.random.default_rng(6).standard_normal((5, 4))
    y0 = bn.forward(x, True)
    gamma *= 3.0  # in-place updates reach the layer
    np.testing.assert_allclose(bn.forward(x, True), 3.0 * y0)
    bn.backward(np.ones((5, 4)))
    assert set(bn.grads) == {"gamma", "beta"}
    np.testing.assert_allclose(bn.grads["beta"], 5.0)


@pytest.mark.parametrize("train_flg", [True, False])
def test_batchnorm_does_not_mutate_input_and_keeps_float32(train_flg):
    rng = np.random.default_rng(7)
    x = readonly(rng.standard_normal((6, 4)).astype(np.float32))
    bn = make_bn(4, dtype=np.float32)
    if not train_flg:
        bn.forward(x, True)  # running statistics first
    y = bn.forward(x, train_flg)
    assert y.dtype == np.float32
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32
    if train_flg:
        dout = readonly(rng.standard_normal((6, 4)).astype(np.float32))
        dx = bn.backward(dout)
        assert dx.dtype == np.float32
        assert bn.grads["gamma"].dtype == np.float32 and bn.grads["beta"].dtype == np.float32
        assert np.array_equal(dout, readonly(dout))


def test_batchnorm_errors():
    with pytest.raises(ShapeError):
        BatchNormalization(np.ones(3), np.zeros(4))
    with pytest.raises(ShapeError):
        BatchNormalization(np.ones((2, 2)), np.zeros((2, 2)))
    bn = BatchNormalization(np.ones(3), np.zeros(3))
    with pytest.raises(ShapeError, match="features"):
        bn.forward(np.zeros((4, 5)), True)
    with pytest.raises(BackwardBeforeForwardError):
        BatchNormalization(np.ones(3), np.zeros(3)).backward(np.ones((2, 3)))


# --------------------------------------------------------------------------- Dropout
def test_dropout_backward_is_dout_times_mask():
    rng = np.random.default_rng(8)
    drop = Dropout(0.4, seed=0)
    x = rng.standard_normal((30, 20))
    y = drop.forward(x, train_flg=True)
    mask = drop.mask
    assert mask.shape == x.shape and mask.dtype == bool
    assert np.array_equal(y, x * mask)
    dout = rng.standard_normal(x.shape)
    assert np.array_equal(drop.backward(dout), dout * mask)
    # roughly the requested fraction is dropped
    assert abs((~mask).mean() - 0.4) < 0.06


def test_dropout_gradient_check_with_fixed_mask():
    # check_layer evaluates forward many times; a layer whose generator is reset before every
    # forward draws the same mask each time, so forward is a fixed function of x
    class FixedMaskDropout(Dropout):
        def forward(self, x, train_flg=True):
            self.reseed(42)
            return super().forward(x, train_flg)

    x = np.random.default_rng(9).standard_normal((4, 5))
    report = check_layer(FixedMaskDropout(0.5), x, forward_kwargs={"train_flg": True})
    assert report.max_rel_error < 1e-8, str(report)


def test_dropout_inference_scales():
    x = np.random.default_rng(10).standard_normal((3, 4))
    drop = Dropout(0.25)
    np.testing.assert_allclose(drop.forward(x, train_flg=False), x * 0.75)
    # ratio 0: training is the identity
    assert np.array_equal(Dropout(0.0).forward(x, True), x)


def test_dropout_reseed_repeats_masks():
    x = np.ones((10, 10))
    a = Dropout(0.5, seed=1)
    first = [a.forward(x, True).copy() for _ in range(3)]
    assert not np.array_equal(first[0], first[1])  # a new mask every forward
    a.reseed(1)
    again = [a.forward(x, True).copy() for _ in range(3)]
    assert all(np.array_equal(p, q) for p, q in zip(first, again))
    b = Dropout(0.5, seed=[7, 3])
    c = Dropout(0.5)
    c.reseed([7, 3])
    assert np.array_equal(b.forward(x, True), c.forward(x, True))
    d = Dropout(0.5, seed=2)
    assert not np.array_equal(d.forward(x, True), first[0])


def test_dropout_does_not_mutate_input():
    x = readonly(np.random.default_rng(11).standard_normal((5, 6)))
    x0 = x.copy()
    drop = Dropout(0.5, seed=0)
    y = drop.forward(x, True)
    dx = drop.backward(readonly(np.ones((5, 6))))
    drop.forward(x, False)
    assert np.array_equal(x, x0)
    assert y is not x and dx.shape == x.shape


@pytest.mark.parametrize("train_flg", [True, False])
def test_dropout_keeps_float32(train_flg):
    x = np.random.default_rng(12).standard_normal((5, 6)).astype(np.float32)
    drop = Dropout(0.3, seed=0)
    y = drop.forward(x, train_flg)
    assert y.dtype == np.float32
    if train_flg:
        assert drop.backward(np.ones((5, 6), np.float32)).dtype == np.float32


@pytest.mark.parametrize("ratio", [-0.1, 1.0, 1.5])
def test_dropout_ratio_validation(ratio):
    with pytest.raises(ValueError, match="dropout_ratio"):
        Dropout(ratio)


def test_dropout_backward_before_forward():
    with pytest.raises(BackwardBeforeForwardError):
        Dropout(0.5).backward(np.ones(3))

"""Variable methods (x.sum(), x.exp(), …), the Max/Min layers, and the warning about accumulating gradients."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from layerprop import graph as G
from layerprop.errors import ShapeError
from layerprop.gradcheck import check_graph, check_layer
from layerprop.graph import Variable
from layerprop.graph import variable as variable_module
from layerprop.layers import MaxLayer, MinLayer

RNG = np.random.default_rng(0)
X = RNG.random((3, 4)) + 0.5  # positive (for log), no ties


@pytest.mark.parametrize(
    "method, function, args",
    [
        ("sum", G.sum, ()),
        ("sum", G.sum, (1,)),
        ("mean", G.mean, ()),
        ("mean", G.mean, (0,)),
        ("max", G.max, ()),
        ("max", G.max, (1,)),
        ("min", G.min, ()),
        ("min", G.min, (0,)),
        ("exp", G.exp, ()),
        ("log", G.log, ()),
        ("relu", G.relu, ()),
        ("sigmoid", G.sigmoid, ()),
        ("tanh", G.tanh, ()),
    ],
)
def test_methods_are_the_graph_functions(method, function, args):
    x = Variable(X)
    y = getattr(x, method)(*args)
    assert type(y.creator.layer) is type(function(Variable(X), *args).creator.layer)
    np.testing.assert_allclose(y.data, function(Variable(X), *args).data)
    report = check_graph(lambda v: getattr(v, method)(*args), Variable(X.copy()))
    assert report.max_rel_error < 1e-6, str(report)


def test_reshape_and_transpose_take_numpy_forms():
    x = Variable(np.arange(24.0).reshape(2, 3, 4))
    assert x.reshape(4, 6).shape == (4, 6) and x.reshape((6, 4)).shape == (6, 4) and x.reshape([24]).shape == (24,)
    assert x.transpose().shape == (4, 3, 2)
    assert x.transpose(1, 0, 2).shape == (3, 2, 4) and x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert check_graph(lambda v: v.reshape(4, 6).transpose(1, 0), Variable(RNG.random((2, 3, 4)))).max_rel_error < 1e-6
    keep = Variable(X).max(axis=1, keepdims=True)
    assert keep.shape == (3, 1)


def test_methods_chain_like_dezero():
    x = Variable(np.array([[1.0, -2.0], [3.0, 0.5]]))
    y = (x.relu() * 2).exp().log().sum()  # log(exp(2·relu(x))) summed = 2·(1 + 3 + 0.5)
    y.backward()
    assert y.item() == pytest.approx(9.0)
    np.testing.assert_allclose(x.grad, [[2.0, 0.0], [2.0, 2.0]])


@pytest.mark.parametrize("layer_class", [MaxLayer, MinLayer])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 1), False)])
def test_max_min_layers_pass_the_gradient_check(layer_class, axis, keepdims):
    report = check_layer(layer_class(axis, keepdims), RNG.random((4, 5)))
    assert report.max_rel_error < 1e-6, str(report)


def test_max_layer_splits_ties_and_keeps_dtype_and_input():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], dtype=np.float32)
    x.setflags(write=False)
    layer = MaxLayer(axis=1)
    assert layer.forward(x).tolist() == [3.0, 2.0]
    dx = layer.backward(np.array([1.0, 4.0], dtype=np.float32))
    assert dx.dtype == np.float32 and dx.tolist() == [[0.0, 0.5, 0.5], [4.0, 0.0, 0.0]]
    with pytest.raises(ShapeError, match=r"MaxLayer.backward: dout must have shape \(2,\).*got \(2, 1\)"):
        layer.backward(np.ones((2, 1), np.float32))
    whole = MinLayer()
    whole.forward(x)
    assert whole.backward(1.0).tolist() == [[0, 0, 0], [0, 1, 0]]


def test_second_backward_without_cleargrad_warns_once(monkeypatch):
    monkeypatch.setattr(variable_module, "_accumulation_warned", False)
    x = Variable(np.array([1.0, 2.0]))
    y = (x * x).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y.backward()
        assert caught == []
        y.backward()  # accumulates: warned
        y.backward()  # and again: not warned a second time
        z = (x * 3).sum()
        z.backward()
    assert [w.category for w in caught] == [variable_module.GradientAccumulationWarning]
    assert "cleargrad" in str(caught[0].message) and caught[0].filename == __file__
    np.testing.assert_allclose(x.grad, 3 * 2 * np.array([1.0, 2.0]) + 3)
    G.clear_grads(y)  # x and every intermediate value of y's graph
    monkeypatch.setattr(variable_module, "_accumulation_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y.backward()
    assert caught == []  # after clear_grads there is nothing to warn about
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_non_scalar_backward_seeds_with_ones():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = x.exp()
    y.backward()
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0, 3.0]))

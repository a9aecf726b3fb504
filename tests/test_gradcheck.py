"""Tests of layerprop.gradcheck: numerical gradients, the report, and the three check functions."""

import numpy as np
import pytest

from layerprop import Affine, MulLayer, Relu, SoftmaxWithLoss
from layerprop.gradcheck import (
    GradCheckReport,
    check_graph,
    check_layer,
    check_network,
    compare_gradients,
    numerical_gradient,
)
from layerprop.graph import Variable


# -- numerical_gradient ----------------------------------------------------------------------------
def test_numerical_gradient_of_sum_of_squares_is_2x():
    x = np.array([3.0, -4.0, 0.5])
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v**2), x), 2 * x, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_2d_and_known_derivatives():
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(np.sin(v)), x), np.cos(x), atol=1e-7)
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v**3), x), 3 * x**2, rtol=1e-6, atol=1e-7)
    g = numerical_gradient(lambda v: np.sum(v**2), x)
    assert g.shape == x.shape and g.dtype == x.dtype


def test_numerical_gradient_restores_x_bitwise():
    x = np.random.default_rng(1).standard_normal((4, 5)) * 1e3 + 1 / 3
    before = x.copy()
    numerical_gradient(lambda v: float(np.sum(np.exp(v / 1e3))), x)
    assert np.array_equal(x.view(np.uint64), before.view(np.uint64))  # bit for bit, not just close


def test_numerical_gradient_perturbs_in_place_for_functions_that_ignore_their_argument():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = np.array([1.0, -1.0])

    def loss(_):  # like the book's `lambda W: net.loss(x, t)`
        return float(np.sum((x @ W) ** 2))

    expected = 2 * np.outer(x, x @ W)
    np.testing.assert_allclose(numerical_gradient(loss, W), expected, rtol=1e-7)
    np.testing.assert_array_equal(W, [[1.0, 2.0], [3.0, 4.0]])


def test_numerical_gradient_scalar_and_non_float_input():
    x = np.array(2.0)
    assert float(numerical_gradient(lambda v: v**3, x)) == pytest.approx(12.0, rel=1e-7)
    with pytest.raises(TypeError, match="float"):
        numerical_gradient(lambda v: np.sum(v), np.array([1, 2, 3]))


# -- compare_gradients and the report -----------------------------------------------------------
def test_compare_gradients_errors():
    row = compare_gradients("W", np.array([1.0, 2.0]), np.array([1.0, 2.1]))
    assert row.max_abs_error == pytest.approx(0.1)
    assert row.rel_error == pytest.approx(0.1 / 2.1)
    assert compare_gradients("z", np.zeros(2), np.zeros(2)).rel_error == 0.0
    with pytest.raises(ValueError, match="shape"):
        compare_gradients("W", np.zeros(2), np.zeros(3))


def test_report_str_is_a_readable_table_with_names():
    rng = np.random.default_rng(0)
    layer = Affine(rng.standard_normal((4, 3)), rng.standard_normal(3))
    report = check_layer(layer, rng.standard_normal((2, 4)))
    text = str(report)
    lines = text.splitlines()
    assert lines[0].split() == ["name", "shape", "max", "abs", "error", "rel", "error"]
    assert set(lines[1]) <= {"-", " "}
    assert [line.split()[0] for line in lines[2:]] == ["x", "W", "b"]
    assert "2x4" in lines[2] and "4x3" in lines[3] and "3" in lines[4].split()[1]
    assert len({len(line) for line in lines}) == 1  # columns line up
    assert report["W"].shape == (4, 3)
    with pytest.raises(KeyError):
        report["nope"]
    assert isinstance(report, GradCheckReport) and report.ok()


def test_check_layer_names_inputs_and_params():
    rng = np.random.default_rng(1)
    report = check_layer(MulLayer(), rng.standard_normal(3), rng.standard_normal(3))
    assert [r.name for r in report.rows] == ["x0", "x1"]
    report = check_layer(SoftmaxWithLoss(), rng.standard_normal((2, 3)), np.array([0, 2]))
    assert [r.name for r in report.rows] == ["x"]  # the labels get no gradient
    assert report.max_rel_error < 1e-6


class WrongMul(MulLayer):
    """A deliberately broken layer: it forgets to swap the inputs."""

    def backward(self, dout):
        return dout * self.x, dout * self.y


def test_check_layer_catches_a_wrong_backward():
    rng = np.random.default_rng(2)
    report = check_layer(WrongMul(), rng.standard_normal(4), rng.standard_normal(4))
    assert report.max_rel_error > 1e-2
    assert not report.ok()


def test_check_graph_uses_variable_names():
    x, w = Variable(np.array([1.0, 2.0]), name="x"), Variable(np.array([0.5, -1.0]))
    report = check_graph(lambda a, b: a * b * a, x, w)
    assert [r.name for r in report.rows] == ["x", "input1"]
    assert report.max_rel_error < 1e-6
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


# -- check_network on an object with the book's interface ----------------------------------------
class TinyNet:
    """Affine → Relu → Affine → SoftmaxWithLoss with the book's `params`, `loss`, `gradient`."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": rng.standard_normal((3, 5)),
            "b1": rng.standard_normal(5) * 0.1,
            "W2": rng.standard_normal((5, 2)),
            "b2": rng.standard_normal(2) * 0.1,
        }
        self.layers = [
            Affine(self.params["W1"], self.params["b1"]),
            Relu(),
            Affine(self.params["W2"], self.params["b2"]),
        ]
        self.last_layer = SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        return self.last_layer.forward(self.predict(x), t)

    def gradient(self, x, t):
        self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        a1, a2 = self.layers[0], self.layers[2]
        return {"W1": a1.dW, "b1": a1.db, "W2": a2.dW, "b2": a2.db}


def test_check_network_on_the_books_interface():
    net = TinyNet()
    x = np.random.default_rng(1).standard_normal((4, 3))
    t = np.array([0, 1, 1, 0])
    before = {k: v.copy() for k, v in net.params.items()}
    report = check_network(net, x, t)
    assert [r.name for r in report.rows] == ["W1", "b1", "W2", "b2"]
    assert report.max_rel_error < 1e-6, str(report)
    assert set(report.timings) == {"backprop", "numerical"}
    assert "backprop:" in str(report) and "numerical:" in str(report)
    for k, v in net.params.items():
        assert np.array_equal(v, before[k])  # every probe undone


def test_check_network_selected_keys():
    net = TinyNet(3)
    x = np.random.default_rng(2).standard_normal((2, 3))
    report = check_network(net, x, np.array([1, 0]), keys=["b2"])
    assert [r.name for r in report.rows] == ["b2"]
    assert report.ok()

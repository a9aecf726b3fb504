"""Tests of layerprop.graph: the define-by-run graph built from layerprop's layers."""

import numpy as np
import pytest

import layerprop.graph as G
from layerprop.gradcheck import check_graph
from layerprop.graph import Variable, clear_grads, is_recording, no_grad

TOL = 1e-6


def var(shape, seed=0, name=None, low=None):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal(shape)
    if low is not None:  # keep values away from 0 (log, division, the relu kink)
        data = np.sign(data) * (low + np.abs(data))
    return Variable(data, name=name)


# -- the notes' examples ----------------------------------------------------------------------
def test_apple_orange_price_and_gradients():
    apple, apple_num = Variable(100, name="apple"), Variable(2, name="apple_num")
    orange, orange_num = Variable(150, name="orange"), Variable(3, name="orange_num")
    tax = Variable(1.1, name="tax")
    price = (apple * apple_num + orange * orange_num) * tax
    assert price.data == pytest.approx(715)
    price.backward()
    assert apple_num.grad == pytest.approx(110)
    assert apple.grad == pytest.approx(2.2)
    assert orange.grad == pytest.approx(3.3)
    assert orange_num.grad == pytest.approx(165)
    assert tax.grad == pytest.approx(650)


def test_apple_price_note_003():
    apple, apple_num, tax = Variable(100), Variable(2), Variable(1.1)
    price = apple * apple_num * tax
    price.backward()
    assert price.item() == pytest.approx(220)
    assert (apple.grad, apple_num.grad, tax.grad) == pytest.approx((2.2, 110, 200))


def test_sigmoid_from_primitive_nodes_equals_fused_sigmoid():
    data = np.array([-3.0, -0.5, 0.0, 2.0])
    x1, x2 = Variable(data), Variable(data.copy())
    # note 000's graph: 'x' node (× −1), 'exp' node, '+' node (1 + …), '/' node (1 / …)
    y1 = 1 / (1 + G.exp(x1 * -1))
    y2 = G.sigmoid(x2)
    np.testing.assert_allclose(y1.data, y2.data, rtol=1e-14)
    np.testing.assert_almost_equal(y2.data[3], 0.88079708, decimal=8)
    y1.backward()
    y2.backward()
    np.testing.assert_allclose(x1.grad, x2.grad, rtol=1e-12)
    np.testing.assert_allclose(x2.grad, y2.data * (1 - y2.data))
    assert [node.label for node in y1.nodes()] == ["×", "exp", "+", "/"]


# -- operators ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn, value, grad",
    [
        (lambda x: 1 + x, lambda a: 1 + a, lambda a: np.ones_like(a)),
        (lambda x: x + 1, lambda a: a + 1, lambda a: np.ones_like(a)),
        (lambda x: x - 1, lambda a: a - 1, lambda a: np.ones_like(a)),
        (lambda x: 1 - x, lambda a: 1 - a, lambda a: -np.ones_like(a)),
        (lambda x: 2 * x, lambda a: 2 * a, lambda a: np.full_like(a, 2)),
        (lambda x: x * 2, lambda a: 2 * a, lambda a: np.full_like(a, 2)),
        (lambda x: x / 4, lambda a: a / 4, lambda a: np.full_like(a, 0.25)),
        (lambda x: 1 / x, lambda a: 1 / a, lambda a: -1 / a**2),
        (lambda x: x**3, lambda a: a**3, lambda a: 3 * a**2),
        (lambda x: -x, lambda a: -a, lambda a: -np.ones_like(a)),
    ],
    ids=["1+x", "x+1", "x-1", "1-x", "2*x", "x*2", "x/4", "1/x", "x**3", "-x"],
)
def test_operators_with_python_numbers(fn, value, grad):
    a = np.array([0.5, -2.0, 3.0])
    x = Variable(a)
    y = fn(x)
    assert isinstance(y, Variable)
    np.testing.assert_allclose(y.data, value(a))
    y.backward()
    np.testing.assert_allclose(x.grad, grad(a))


def test_binary_operators_between_variables_pass_check_graph():
    x, y = var((2, 3), 1, "x"), var((2, 3), 2, "y", low=0.5)
    for fn in (
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * b,
        lambda a, b: a / b,
        lambda a, b: a @ b.T,
        lambda a, b: -a * b**2,
    ):
        assert check_graph(fn, x, y).max_rel_error < TOL


def test_matmul_values_and_ndarray_on_either_side():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = Variable(a)
    np.testing.assert_allclose((x @ a).data, a @ a)
    left = a @ x
    assert isinstance(left, Variable)
    np.testing.assert_allclose(left.data, a @ a)
    assert isinstance(np.ones(2) + Variable(np.ones(2)), Variable)


def test_power_with_variable_exponent_is_a_type_error():
    with pytest.raises(TypeError, match="exponent"):
        Variable(2.0) ** Variable(3.0)


# -- functions, each checked numerically ------------------------------------------------------
CHECKS = {
    "exp": (lambda x: G.exp(x), [var((2, 3), 1)]),
    "log": (lambda x: G.log(x), [Variable(0.5 + np.abs(np.random.default_rng(2).standard_normal((2, 3))))]),
    "sum": (lambda x: G.sum(x), [var((2, 3), 3)]),
    "sum axis=0": (lambda x: G.sum(x, axis=0), [var((2, 3), 3)]),
    "sum axis=1 keepdims": (lambda x: G.sum(x, axis=1, keepdims=True), [var((2, 3), 3)]),
    "mean": (lambda x: G.mean(x), [var((2, 3), 4)]),
    "mean axis=1": (lambda x: G.mean(x, axis=1), [var((2, 3), 4)]),
    "reshape": (lambda x: G.reshape(x, (3, 2)), [var((2, 3), 5)]),
    "transpose": (lambda x: G.transpose(x), [var((2, 3), 6)]),
    "transpose axes": (lambda x: G.transpose(x, (1, 2, 0)), [var((2, 3, 4), 6)]),
    ".T": (lambda x: x.T * x.T, [var((2, 3), 6)]),
    "relu": (lambda x: G.relu(x), [var((3, 4), 7, low=0.2)]),
    "sigmoid": (lambda x: G.sigmoid(x), [var((3, 4), 8)]),
    "tanh": (lambda x: G.tanh(x), [var((3, 4), 9)]),
    "affine": (lambda x, W, b: G.affine(x, W, b), [var((4, 3), 10), var((3, 2), 11), var((2,), 12)]),
    "affine 1-D": (lambda x, W, b: G.affine(x, W, b), [var((3,), 10), var((3, 2), 11), var((2,), 12)]),
    "softmax_cross_entropy labels": (
        lambda x: G.softmax_cross_entropy(x, np.array([0, 2, 1, 2])),
        [var((4, 3), 13)],
    ),
    "softmax_cross_entropy one-hot": (
        lambda x: G.softmax_cross_entropy(x, np.eye(3)[[0, 2, 1, 2]]),
        [var((4, 3), 13)],
    ),
}


@pytest.mark.parametrize("name", CHECKS)
def test_function_passes_check_graph(name):
    fn, variables = CHECKS[name]
    report = check_graph(fn, *variables)
    assert len(report.rows) == len(variables)
    assert report.max_rel_error < TOL, str(report)
    for v in variables:
        assert v.grad.shape == v.shape


def test_function_values():
    a = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]])
    x = Variable(a)
    np.testing.assert_allclose(G.exp(x).data, np.exp(a))
    np.testing.assert_allclose(G.sum(x, axis=1).data, a.sum(axis=1))
    np.testing.assert_allclose(G.mean(x).data, a.mean())
    np.testing.assert_allclose(G.reshape(x, (3, 2)).data, a.reshape(3, 2))
    np.testing.assert_allclose(x.T.data, a.T)
    np.testing.assert_allclose(G.relu(x).data, np.maximum(a, 0))
    np.testing.assert_allclose(G.tanh(x).data, np.tanh(a))
    loss = G.softmax_cross_entropy(x, np.array([2, 0]))
    assert loss.shape == ()


def test_softmax_cross_entropy_labels_get_no_gradient():
    x = var((2, 3), 1)
    t = Variable(np.array([0.0, 2.0]))
    loss = G.softmax_cross_entropy(x, t)
    loss.backward()
    assert x.grad.shape == (2, 3)
    assert t.grad is None


# -- gradients of values used more than once ----------------------------------------------------
def test_x_times_x():
    x = Variable(np.array([1.0, -2.0, 3.0]))
    y = x * x
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)


def test_x_plus_x():
    x = Variable(3.0)
    y = x + x
    y.backward()
    assert x.grad == pytest.approx(2.0)


def test_diamond_graph():
    x = Variable(np.array([1.0, 2.0]))
    a = x * 2  # two branches from x …
    b = x * 3
    c = a * b  # … that join again: c = 6x², dc/dx = 12x
    c.backward()
    np.testing.assert_allclose(x.grad, 12 * x.data)
    np.testing.assert_allclose(a.grad, b.data)
    np.testing.assert_allclose(b.grad, a.data)


def test_deeper_reuse_passes_check_graph():
    def fn(x, y):
        h = G.tanh(x * y)
        return G.sum(h * h + h * x - G.exp(h) / (1 + y * y))

    assert check_graph(fn, var((2, 3), 1), var((2, 3), 2)).max_rel_error < TOL


# -- broadcasting -------------------------------------------------------------------------------
def test_broadcast_gradient_is_summed_back():
    x = Variable(np.ones((2, 3)))
    b = Variable(np.array([1.0, 2.0, 3.0]))
    y = x + b
    y.backward()
    assert b.grad.shape == (3,)
    np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0])
    assert x.grad.shape == (2, 3)


def test_broadcast_column_times_row_passes_check_graph():
    report = check_graph(lambda a, b: a * b - b, var((2, 1), 1), var((1, 3), 2))
    assert report.max_rel_error < TOL


def test_scalar_variable_times_array():
    s = Variable(2.0)
    a = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    y = G.sum(s * a)
    y.backward()
    assert s.grad.shape == () and s.grad == pytest.approx(10.0)
    np.testing.assert_array_equal(a.grad, np.full((2, 2), 2.0))


# -- no_grad, clearing, accumulation -------------------------------------------------------------
def test_no_grad_records_nothing():
    x = Variable(np.array([1.0, 2.0]))
    assert is_recording()
    with no_grad():
        assert not is_recording()
        y = x * 2 + 1
        assert y.creator is None
        np.testing.assert_array_equal(y.data, [3.0, 5.0])
    y.backward()
    assert x.grad is None
    assert is_recording()
    z = x * 2
    assert z.creator is not None


def test_no_grad_restores_recording_after_an_exception():
    with pytest.raises(ZeroDivisionError), no_grad():
        raise ZeroDivisionError
    assert is_recording()
    with no_grad():
        with no_grad():
            pass
        assert not is_recording()  # nested: the inner block restores the outer state
    assert is_recording()


def test_cleargrad_and_clear_grads():
    x, w = Variable(np.array([1.0, 2.0])), Variable(np.array([3.0, 4.0]))
    h = x * w
    y = G.sum(h)
    y.backward()
    assert x.grad is not None and w.grad is not None and h.grad is not None
    x.cleargrad()
    assert x.grad is None and w.grad is not None
    clear_grads(y)
    assert w.grad is None and h.grad is None and y.grad is None
    y.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_backward_twice_accumulates():
    x = Variable(np.array([1.0, 2.0]))
    y = x * 3
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    x.cleargrad()
    y.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_backward_with_explicit_gradient_and_its_shape_check():
    x = Variable(np.array([1.0, 2.0]))
    y = x * 3
    y.backward(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [3.0, -3.0])
    with pytest.raises(ValueError, match="shape"):
        y.backward(np.ones(3))


def test_variable_of_a_variable_is_a_type_error():
    with pytest.raises(TypeError):
        Variable(Variable(1.0))


# -- dtypes --------------------------------------------------------------------------------------
def test_python_numbers_and_int_arrays_become_float64():
    assert Variable(2).dtype == np.float64
    assert Variable(np.array([1, 2])).dtype == np.float64


def test_float32_stays_float32_through_ops_with_python_numbers():
    x = Variable(np.array([0.5, 1.0, 2.0], dtype=np.float32))
    y = G.sum(G.sigmoid(1 + x * 2 - 1 / x + x**2 / 3 - (1 - x)) * G.exp(-x))
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32
    W = Variable(np.ones((3, 2), dtype=np.float32))
    b = Variable(np.zeros(2, dtype=np.float32))
    loss = G.softmax_cross_entropy(G.affine(G.reshape(x, (1, 3)), W, b), np.array([1]))
    assert loss.dtype == np.float32
    loss.backward()
    assert W.grad.dtype == np.float32 and b.grad.dtype == np.float32


def test_float32_values_close_to_float64():
    a = np.random.default_rng(0).standard_normal((3, 4))

    def fn(x):
        return G.sum(G.tanh(x) * G.sigmoid(2 * x) + G.exp(x / 4))

    x64, x32 = Variable(a), Variable(a.astype(np.float32))
    y64, y32 = fn(x64), fn(x32)
    assert y32.item() == pytest.approx(y64.item(), rel=1e-5)
    y64.backward()
    y32.backward()
    np.testing.assert_allclose(x32.grad, x64.grad, rtol=1e-4, atol=1e-5)


# -- a small network built from graph operations -----------------------------------------------
def test_mlp_affine_relu_affine_softmax_cross_entropy_passes_check_graph():
    rng = np.random.default_rng(42)
    x = Variable(rng.standard_normal((5, 4)), name="x")
    W1 = Variable(rng.standard_normal((4, 6)) * 0.5, name="W1")
    b1 = Variable(rng.standard_normal(6) * 0.1, name="b1")
    W2 = Variable(rng.standard_normal((6, 3)) * 0.5, name="W2")
    b2 = Variable(rng.standard_normal(3) * 0.1, name="b2")
    t = np.array([0, 2, 1, 1, 0])

    def net(x, W1, b1, W2, b2):
        return G.softmax_cross_entropy(G.affine(G.relu(G.affine(x, W1, b1)), W2, b2), t)

    # keep every hidden pre-activation away from relu's kink, so ±h never crosses it
    with no_grad():
        hidden = G.affine(x, W1, b1).data
    assert np.min(np.abs(hidden)) > 1e-3

    report = check_graph(net, x, W1, b1, W2, b2)
    assert [row.name for row in report.rows] == ["x", "W1", "b1", "W2", "b2"]
    assert report.max_rel_error < TOL, str(report)
    loss = net(x, W1, b1, W2, b2)
    assert loss.shape == () and np.isfinite(loss.item())


def test_node_structure():
    x = Variable(2.0, name="x")
    y = G.exp(x) * 3
    nodes = y.nodes()
    assert [n.label for n in nodes] == ["exp", "×"]
    assert nodes[0].inputs[0] is x
    assert nodes[-1].output is y
    assert "x" in repr(x)

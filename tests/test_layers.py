"""Tests of layerprop.layers: values against hand formulas, broadcasting, gradient checks, dtypes,
read-only inputs, errors, and the study notes' mistakes (absent here).

Every layer is listed once in CASES; the generic tests (gradient check, no mutation, float32,
backward before forward, params/grads) run over all of them.
"""

import warnings

import numpy as np
import pytest

from layerprop import (
    AddLayer,
    Affine,
    DivLayer,
    ExpLayer,
    LogLayer,
    MatMulLayer,
    MeanLayer,
    MeanSquaredError,
    MulLayer,
    NegLayer,
    PowLayer,
    Relu,
    ReshapeLayer,
    Sigmoid,
    SigmoidWithLoss,
    SoftmaxWithLoss,
    SubLayer,
    SumLayer,
    Tanh,
    TransposeLayer,
    cross_entropy_error,
    softmax,
)
from layerprop.errors import BackwardBeforeForwardError, LabelError, ShapeError
from layerprop.gradcheck import check_layer, numerical_gradient


# -- helpers -----------------------------------------------------------------------------------
def normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def positive(rng, shape, dtype):
    return (0.5 + np.abs(rng.standard_normal(shape))).astype(dtype)


def away_from_zero(rng, shape, dtype, margin=0.2):
    """Values with |x| ≥ margin: a ±h probe never crosses a kink at 0."""
    r = rng.standard_normal(shape)
    return (np.sign(r) * (margin + np.abs(r))).astype(dtype)


def onehot(labels, classes, dtype):
    out = np.zeros((len(labels), classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out


def as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


def read_only(a):
    a = np.array(a)
    a.setflags(write=False)
    return a


def softmax_rows(x):
    """Reference softmax, one row at a time, written out in the test."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))


def _affine(x_shape, d=4, m=3):
    def make(rng, dt):
        W, b = normal(rng, (d, m), dt), normal(rng, (m,), dt)
        return Affine(W, b), (normal(rng, x_shape, dt),)

    return make


LABELS = np.array([0, 3, 1])

# name -> make(rng, dtype) returning (layer, inputs). Loss layers take (x, t); only x gets a gradient.
CASES = {
    "Mul": lambda rng, dt: (MulLayer(), (normal(rng, (2, 3), dt), normal(rng, (2, 3), dt))),
    "Mul (2,3)*(3,)": lambda rng, dt: (MulLayer(), (normal(rng, (2, 3), dt), normal(rng, (3,), dt))),
    "Mul scalar*array": lambda rng, dt: (MulLayer(), (normal(rng, (), dt), normal(rng, (2, 3), dt))),
    "Add": lambda rng, dt: (AddLayer(), (normal(rng, (2, 3), dt), normal(rng, (2, 3), dt))),
    "Add (2,1)+(1,3)": lambda rng, dt: (AddLayer(), (normal(rng, (2, 1), dt), normal(rng, (1, 3), dt))),
    "Sub (2,3)-(3,)": lambda rng, dt: (SubLayer(), (normal(rng, (2, 3), dt), normal(rng, (3,), dt))),
    "Div": lambda rng, dt: (DivLayer(), (normal(rng, (2, 3), dt), away_from_zero(rng, (2, 3), dt, 0.5))),
    "Div (2,3)/(3,)": lambda rng, dt: (DivLayer(), (normal(rng, (2, 3), dt), away_from_zero(rng, (3,), dt, 0.5))),
    "Neg": lambda rng, dt: (NegLayer(), (normal(rng, (2, 3), dt),)),
    "Pow 2": lambda rng, dt: (PowLayer(2), (normal(rng, (2, 3), dt),)),
    "Pow 3": lambda rng, dt: (PowLayer(3), (normal(rng, (2, 3), dt),)),
    "Pow 0.5": lambda rng, dt: (PowLayer(0.5), (positive(rng, (2, 3), dt),)),
    "Exp": lambda rng, dt: (ExpLayer(), (normal(rng, (2, 3), dt),)),
    "Log": lambda rng, dt: (LogLayer(), (positive(rng, (2, 3), dt),)),
    "MatMul": lambda rng, dt: (MatMulLayer(), (normal(rng, (2, 3), dt), normal(rng, (3, 4), dt))),
    "Sum": lambda rng, dt: (SumLayer(), (normal(rng, (2, 3), dt),)),
    "Sum axis=1": lambda rng, dt: (SumLayer(axis=1), (normal(rng, (2, 3), dt),)),
    "Sum axis=-1": lambda rng, dt: (SumLayer(axis=-1), (normal(rng, (2, 3, 4), dt),)),
    "Sum axis=0 keepdims": lambda rng, dt: (SumLayer(axis=0, keepdims=True), (normal(rng, (2, 3), dt),)),
    "Sum axis=(0,2)": lambda rng, dt: (SumLayer(axis=(0, 2)), (normal(rng, (2, 3, 4), dt),)),
    "Sum keepdims": lambda rng, dt: (SumLayer(keepdims=True), (normal(rng, (2, 3), dt),)),
    "Mean": lambda rng, dt: (MeanLayer(), (normal(rng, (2, 3), dt),)),
    "Mean axis=0": lambda rng, dt: (MeanLayer(axis=0), (normal(rng, (2, 3), dt),)),
    "Mean axis=1 keepdims": lambda rng, dt: (MeanLayer(axis=1, keepdims=True), (normal(rng, (2, 3), dt),)),
    "Reshape": lambda rng, dt: (ReshapeLayer((3, 2)), (normal(rng, (2, 3), dt),)),
    "Reshape -1": lambda rng, dt: (ReshapeLayer(-1), (normal(rng, (2, 3), dt),)),
    "Transpose": lambda rng, dt: (TransposeLayer(), (normal(rng, (2, 3), dt),)),
    "Transpose axes": lambda rng, dt: (TransposeLayer((2, 0, 1)), (normal(rng, (2, 3, 4), dt),)),
    "Relu": lambda rng, dt: (Relu(), (away_from_zero(rng, (3, 4), dt),)),
    "Sigmoid": lambda rng, dt: (Sigmoid(), (normal(rng, (3, 4), dt),)),
    "Tanh": lambda rng, dt: (Tanh(), (normal(rng, (3, 4), dt),)),
    "Affine 2-D": _affine((2, 4)),
    "Affine 1-D": _affine((4,)),
    "Affine 4-D": _affine((2, 1, 2, 2)),
    "SoftmaxWithLoss labels": lambda rng, dt: (SoftmaxWithLoss(), (normal(rng, (3, 4), dt), LABELS.copy())),
    "SoftmaxWithLoss labels (N,1)": lambda rng, dt: (
        SoftmaxWithLoss(),
        (normal(rng, (3, 4), dt), LABELS.reshape(3, 1).copy()),
    ),
    "SoftmaxWithLoss one-hot": lambda rng, dt: (SoftmaxWithLoss(), (normal(rng, (3, 4), dt), onehot(LABELS, 4, dt))),
    "MeanSquaredError": lambda rng, dt: (MeanSquaredError(), (normal(rng, (3, 2), dt), normal(rng, (3, 2), dt))),
    "SigmoidWithLoss": lambda rng, dt: (
        SigmoidWithLoss(),
        (normal(rng, (3, 2), dt), np.array([[0, 1], [1, 1], [0, 0]], dtype=dt)),
    ),
}
LOSS_LAYERS = (SoftmaxWithLoss, MeanSquaredError, SigmoidWithLoss)


def make_case(name, dtype=np.float64, seed=0):
    return CASES[name](np.random.default_rng(seed), dtype)


def gradient_inputs(layer, inputs):
    """The inputs that receive a gradient: all of them, except a loss layer's targets."""
    return inputs[:1] if isinstance(layer, LOSS_LAYERS) else inputs


def dout_for(out, dtype, seed=1):
    if np.ndim(out) == 0:
        return np.asarray(2.0, dtype=dtype)
    return np.random.default_rng(seed).standard_normal(np.shape(out)).astype(dtype)


# -- generic tests over every layer ------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_gradient_check_float64(name):
    layer, inputs = make_case(name)
    report = check_layer(layer, *inputs)
    expected_rows = len(gradient_inputs(layer, inputs)) + len(layer.params)
    assert len(report.rows) == expected_rows
    assert report.max_rel_error < 1e-6, str(report)


@pytest.mark.parametrize("name", CASES)
def test_the_doctor_passes_every_layer(name):
    """layerprop.doctor (what learners point at their own layers) finds nothing wrong with ours."""
    from layerprop.doctor import check_layer as doctor_check

    layer, inputs = make_case(name)
    report = doctor_check(layer, *inputs)
    assert report.ok, str(report)


@pytest.mark.parametrize("name", CASES)
def test_no_input_or_dout_is_mutated(name):
    layer, inputs = make_case(name)
    inputs = tuple(read_only(a) for a in inputs)
    for p in layer.params.values():
        p.setflags(write=False)
    params_before = {k: v.copy() for k, v in layer.params.items()}
    before = [a.copy() for a in inputs]
    out = layer.forward(*inputs)
    dout = read_only(dout_for(out, np.float64))
    dout_before = dout.copy()
    grads = as_tuple(layer.backward(dout))
    for a, b in zip(inputs, before):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dout, dout_before)
    for k, v in layer.params.items():
        np.testing.assert_array_equal(v, params_before[k])
    for g, x in zip(grads, gradient_inputs(layer, inputs)):
        assert np.shape(g) == np.shape(x)


@pytest.mark.parametrize("name", CASES)
def test_float32_stays_float32(name):
    layer, inputs = make_case(name, np.float32)
    out = layer.forward(*inputs)
    assert np.asarray(out).dtype == np.float32
    for dout in (dout_for(out, np.float32), 1.0, 1):  # an array, a Python float, a Python int
        grads = as_tuple(layer.backward(dout))
        for g, x in zip(grads, gradient_inputs(layer, inputs)):
            assert np.asarray(g).dtype == np.float32, (dout, g)
            assert np.shape(g) == np.shape(x)
        for key, g in layer.grads.items():
            assert g.dtype == np.float32, key


@pytest.mark.parametrize("name", CASES)
def test_float32_values_match_float64(name):
    layer64, inputs64 = make_case(name, np.float64)
    layer32, inputs32 = make_case(name, np.float32)
    out64, out32 = layer64.forward(*inputs64), layer32.forward(*inputs32)
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-5)
    d64 = dout_for(out64, np.float64)
    g64, g32 = as_tuple(layer64.backward(d64)), as_tuple(layer32.backward(d64.astype(np.float32)))
    for a, b in zip(g32, g64):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for key in layer64.grads:
        np.testing.assert_allclose(layer32.grads[key], layer64.grads[key], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", CASES)
def test_backward_before_forward_is_a_clear_error(name):
    layer, _ = make_case(name)
    with pytest.raises(BackwardBeforeForwardError, match="before forward") as info:
        layer.backward(np.ones(3))
    assert isinstance(info.value, RuntimeError)
    assert type(layer).__name__ in str(info.value)


@pytest.mark.parametrize("name", CASES)
def test_params_and_grads_dicts(name):
    layer, inputs = make_case(name)
    assert isinstance(layer.params, dict) and isinstance(layer.grads, dict)
    expected = {"W", "b"} if isinstance(layer, Affine) else set()
    assert set(layer.params) == expected
    assert set(layer.grads) == expected
    out = layer.forward(*inputs)
    layer.backward(dout_for(out, np.float64))
    if expected:
        assert layer.params["W"] is layer.W and layer.params["b"] is layer.b
        assert layer.grads["W"] is layer.dW and layer.grads["b"] is layer.db
        assert layer.dW.shape == layer.W.shape and layer.db.shape == layer.b.shape


# -- MulLayer, AddLayer and the other arithmetic nodes -------------------------------------------
def test_mul_layer_python_scalars_note_003():
    mul = MulLayer()
    assert mul.forward(100, 2) == 200
    assert mul.backward(1) == (2, 100)  # the inputs swap places
    assert mul.x == 100 and mul.y == 2  # the book's attributes


def test_add_layer_python_scalars():
    add = AddLayer()
    assert add.forward(200, 450) == 650
    assert add.backward(1.1) == (1.1, 1.1)


def test_mul_arrays_elementwise():
    x, y, dout = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]), np.array([0.5, -1.0, 2.0])
    mul = MulLayer()
    np.testing.assert_array_equal(mul.forward(x, y), x * y)
    dx, dy = mul.backward(dout)
    np.testing.assert_array_equal(dx, dout * y)
    np.testing.assert_array_equal(dy, dout * x)


def test_mul_broadcast_gradients_are_summed_to_input_shapes():
    x = np.arange(6.0).reshape(2, 3)
    y = np.array([1.0, -2.0, 3.0])
    dout = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mul = MulLayer()
    assert mul.forward(x, y).shape == (2, 3)
    dx, dy = mul.backward(dout)
    assert dx.shape == (2, 3) and dy.shape == (3,)
    np.testing.assert_allclose(dx, dout * y)
    np.testing.assert_allclose(dy, (dout * x).sum(axis=0))


def test_add_broadcast_column_plus_row():
    x, y = np.array([[1.0], [2.0]]), np.array([[10.0, 20.0, 30.0]])
    dout = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    add = AddLayer()
    np.testing.assert_array_equal(add.forward(x, y), [[11, 21, 31], [12, 22, 32]])
    dx, dy = add.backward(dout)
    assert dx.shape == (2, 1) and dy.shape == (1, 3)
    np.testing.assert_array_equal(dx, [[6.0], [15.0]])
    np.testing.assert_array_equal(dy, [[5.0, 7.0, 9.0]])


def test_scalar_times_array():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    dout = np.array([[1.0, 1.0], [2.0, 2.0]])
    mul = MulLayer()
    np.testing.assert_array_equal(mul.forward(3.0, a), 3.0 * a)
    dscalar, da = mul.backward(dout)
    assert np.shape(dscalar) == ()
    assert float(dscalar) == pytest.approx((dout * a).sum())
    np.testing.assert_array_equal(da, 3.0 * dout)


def test_array_plus_python_scalar():
    a = np.array([1.0, 2.0, 3.0])
    add = AddLayer()
    np.testing.assert_array_equal(add.forward(a, 1), a + 1)
    da, dscalar = add.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(da, [1.0, 2.0, 3.0])
    assert float(dscalar) == 6.0


def test_python_number_dout_stands_for_an_array_of_ones():
    x, y = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0, 3.0])
    mul = MulLayer()
    mul.forward(x, y)
    dx, dy = mul.backward(1)
    np.testing.assert_array_equal(dx, np.broadcast_to(y, (2, 3)))
    np.testing.assert_array_equal(dy, x.sum(axis=0))


def test_add_backward_returns_new_arrays():
    dout = np.array([1.0, 2.0])
    add = AddLayer()
    add.forward(np.zeros(2), np.zeros(2))
    dx, dy = add.backward(dout)
    assert dx is not dout and dy is not dout and dx is not dy
    dx[0] = 99
    assert dout[0] == 1.0 and dy[0] == 1.0


def test_dout_of_the_wrong_shape_is_a_clear_error():
    add = AddLayer()
    add.forward(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ShapeError, match=r"\(2, 3\)"):
        add.backward(np.ones(3))


@pytest.mark.parametrize(
    "layer, inputs, expected",
    [
        (SubLayer(), (5.0, 3.0), 2.0),
        (DivLayer(), (6.0, 4.0), 1.5),
        (NegLayer(), (2.5,), -2.5),
        (PowLayer(3), (2.0,), 8.0),
        (ExpLayer(), (1.0,), np.e),
        (LogLayer(), (np.e,), 1.0),
    ],
)
def test_arithmetic_forward_values(layer, inputs, expected):
    assert float(layer.forward(*inputs)) == pytest.approx(expected)


def test_arithmetic_backward_hand_values():
    div = DivLayer()
    div.forward(6.0, 4.0)
    assert div.backward(2.0) == pytest.approx((0.5, -0.75))  # dout/y, -dout·x/y²
    one_over = DivLayer()  # the notes' '/' node: y = 1/x, dy/dx = -y²
    out = one_over.forward(1.0, 4.0)
    assert one_over.backward(1.0)[1] == pytest.approx(-(out**2))
    sub = SubLayer()
    sub.forward(5.0, 3.0)
    assert sub.backward(2.0) == (2.0, -2.0)
    power = PowLayer(3)
    power.forward(2.0)
    assert power.backward(1.0) == pytest.approx(12.0)
    log = LogLayer()
    log.forward(4.0)
    assert log.backward(2.0) == pytest.approx(0.5)


def test_sum_mean_reshape_transpose_values():
    x = np.arange(6.0).reshape(2, 3)
    s = SumLayer(axis=1)
    np.testing.assert_array_equal(s.forward(x), [3.0, 12.0])
    np.testing.assert_array_equal(s.backward(np.array([1.0, 2.0])), [[1, 1, 1], [2, 2, 2]])
    m = MeanLayer(axis=0)
    np.testing.assert_array_equal(m.forward(x), [1.5, 2.5, 3.5])
    np.testing.assert_allclose(m.backward(np.array([2.0, 4.0, 6.0])), [[1, 2, 3], [1, 2, 3]])
    r = ReshapeLayer((3, 2))
    assert r.forward(x).shape == (3, 2)
    assert r.backward(np.ones((3, 2))).shape == (2, 3)
    t = TransposeLayer((2, 0, 1))
    x3 = np.zeros((2, 3, 4))
    assert t.forward(x3).shape == (4, 2, 3)
    assert t.backward(np.ones((4, 2, 3))).shape == (2, 3, 4)


def test_shape_errors_name_the_layer():
    with pytest.raises(ShapeError, match="MatMulLayer"):
        MatMulLayer().forward(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="ReshapeLayer.*(2, 3)"):
        ReshapeLayer((4,)).forward(np.zeros((2, 3)))


# -- Relu, Sigmoid, Tanh ------------------------------------------------------------------------
NOTE_000_X = np.array([[1, -0.5], [-2, 3]])


def test_relu_note_000_forward_mask_and_output():
    relu = Relu()
    out = relu.forward(NOTE_000_X)  # the notes' Relu fails here: `out[self.maks] = 0`
    np.testing.assert_array_equal(relu.mask, [[False, True], [True, False]])
    np.testing.assert_array_equal(out, [[1.0, 0.0], [0.0, 3.0]])
    np.testing.assert_array_equal(NOTE_000_X, [[1, -0.5], [-2, 3]])  # x itself untouched


def test_relu_backward():
    relu = Relu()
    relu.forward(NOTE_000_X)
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(relu.backward(dout), [[1.0, 0.0], [0.0, 4.0]])
    np.testing.assert_array_equal(dout, [[1.0, 2.0], [3.0, 4.0]])


class NotesRelu:
    """The Relu of notes 000–004, with the `maks` typo fixed: backward zeroes the caller's dout."""

    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


def test_relu_does_not_zero_a_dout_shared_by_two_branches():
    x1, x2 = np.array([1.0, -1.0, 2.0]), np.array([-3.0, 4.0, 5.0])
    dout = np.array([10.0, 20.0, 30.0])  # one upstream gradient that flows into two branches

    r1, r2 = Relu(), Relu()
    r1.forward(x1)
    r2.forward(x2)
    dx1, dx2 = r1.backward(dout), r2.backward(dout)
    np.testing.assert_array_equal(dx1, [10.0, 0.0, 30.0])
    np.testing.assert_array_equal(dx2, [0.0, 20.0, 30.0])
    np.testing.assert_array_equal(dout, [10.0, 20.0, 30.0])  # intact
    assert dx1 is not dout and dx2 is not dout

    # the notes' version corrupts the second branch: the first backward zeroed dout[1] in place
    n1, n2 = NotesRelu(), NotesRelu()
    n1.forward(x1)
    n2.forward(x2)
    shared = np.array([10.0, 20.0, 30.0])
    n1.backward(shared)
    wrong = n2.backward(shared)
    np.testing.assert_array_equal(wrong, [0.0, 0.0, 30.0])
    assert not np.array_equal(wrong, dx2)


def test_relu_read_only_dout_note_003_style():
    relu = Relu()
    y = relu.forward(np.array([[1.0, -0.5], [-2.0, 3.0]]))
    y.setflags(write=False)  # the notes' Relu would raise here: it writes into dout
    np.testing.assert_array_equal(relu.backward(y), [[1.0, 0.0], [0.0, 3.0]])


def test_sigmoid_note_values():
    sig = Sigmoid()
    np.testing.assert_almost_equal(sig.forward(2.0), 0.88079708, decimal=8)
    np.testing.assert_almost_equal(sig.out, 0.88079708, decimal=8)
    np.testing.assert_almost_equal(sig.backward(2.0), 0.20998717, decimal=8)


def test_sigmoid_note_001_array_of_zeros_and_twos():
    data = np.array([2.0, 0.0, 2.0, 0.0, 0.0, 2.0])
    sig = Sigmoid()
    out = sig.forward(data)
    np.testing.assert_almost_equal(out, np.where(data == 2, 0.88079708, 0.5), decimal=8)
    back = sig.backward(data)  # note 001 feeds the input back in as dout
    np.testing.assert_almost_equal(back, np.where(data == 2, 0.20998717, 0.0), decimal=8)


def test_sigmoid_extremes_exact_and_silent():
    x = np.array([-1000.0, 1000.0, 0.0])
    sig = Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            out = sig.forward(x)
            back = sig.backward(np.ones(3))
    assert out[0] == 0.0 and out[1] == 1.0 and out[2] == 0.5
    np.testing.assert_array_equal(back, [0.0, 0.0, 0.25])
    x32 = x.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out32 = Sigmoid().forward(x32)
    assert out32.dtype == np.float32 and out32[0] == 0 and out32[1] == 1


def test_sigmoid_matches_formula():
    x = np.linspace(-8, 8, 17)
    np.testing.assert_allclose(Sigmoid().forward(x), np_sigmoid(x), rtol=1e-12)


def test_tanh_values_and_out_attribute():
    x = np.array([-1.0, 0.0, 0.5])
    t = Tanh()
    np.testing.assert_allclose(t.forward(x), np.tanh(x))
    assert t.out is not None
    np.testing.assert_allclose(t.backward(np.full(3, 2.0)), 2.0 * (1 - np.tanh(x) ** 2))


# -- Affine ------------------------------------------------------------------------------------
def test_affine_single_sample_note_001_shapes():
    X = np.array([0.41753093, 0.77283542])
    W = np.array([[1.46118191, -0.92181319, 0.59844233], [0.15405787, -0.92417, -0.17063844]])
    b = np.array([-1.55900431, -1.43636483, 0.71649845])
    affine = Affine(W, b)
    out = affine.forward(X)
    assert out.shape == (3,)
    np.testing.assert_almost_equal(out, [-0.82985429, -2.53548166, 0.8344912], decimal=7)  # note 001's print
    dout = np.array([1.0, 2.0, 3.0])
    dx = affine.backward(dout)
    assert dx.shape == (2,)
    np.testing.assert_allclose(dx, W @ dout)
    np.testing.assert_allclose(affine.dW, np.outer(X, dout))
    np.testing.assert_allclose(affine.db, dout)


def test_affine_batch_values():
    rng = np.random.default_rng(3)
    x, W, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    affine = Affine(W, b)
    np.testing.assert_allclose(affine.forward(x), x @ W + b)
    dout = rng.standard_normal((5, 3))
    np.testing.assert_allclose(affine.backward(dout), dout @ W.T)
    np.testing.assert_allclose(affine.dW, x.T @ dout)
    np.testing.assert_allclose(affine.db, dout.sum(axis=0))


def test_affine_image_batch_is_flattened_and_dx_keeps_its_shape():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 2, 2))
    W, b = rng.standard_normal((12, 5)), rng.standard_normal(5)
    affine = Affine(W, b)
    out = affine.forward(x)
    np.testing.assert_allclose(out, x.reshape(2, -1) @ W + b)
    dx = affine.backward(np.ones((2, 5)))
    assert dx.shape == (2, 3, 2, 2)
    assert affine.dW.shape == (12, 5)


def test_affine_keeps_the_very_W_and_b():
    rng = np.random.default_rng(5)
    x, W, b = rng.standard_normal((2, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    affine = Affine(W, b)
    assert affine.W is W and affine.b is b
    assert affine.params["W"] is W and affine.params["b"] is b
    before = affine.forward(x)
    W *= 2  # an in-place update, as an optimizer does
    b += 1
    np.testing.assert_allclose(affine.forward(x), 2 * (before - (b - 1)) + b)


def test_affine_numerical_gradient_perturbing_W_in_place():
    rng = np.random.default_rng(6)
    x, W, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    R = rng.standard_normal((3, 2))
    affine = Affine(W, b)
    affine.forward(x)
    affine.backward(R)
    dW, db = affine.dW.copy(), affine.db.copy()

    def loss(_):
        return float(np.sum(affine.forward(x) * R))  # reads W and b through the layer

    np.testing.assert_allclose(numerical_gradient(loss, W), dW, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(numerical_gradient(loss, b), db, rtol=1e-6, atol=1e-8)


def test_affine_shape_mismatch_names_layer_and_shapes():
    affine = Affine(np.zeros((784, 10)), np.zeros(10))
    with pytest.raises(ValueError) as info:
        affine.forward(np.zeros((2, 783)))
    message = str(info.value)
    assert "Affine" in message and "(2, 783)" in message and "(784, 10)" in message
    with pytest.raises(ValueError, match="Affine"):
        affine.forward(np.zeros(783))


def test_affine_rejects_bad_parameters():
    with pytest.raises(ValueError, match="Affine"):
        Affine(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="Affine.*b"):
        Affine(np.zeros((3, 2)), np.zeros(3))


def test_affine_backward_dout_shape_is_checked():
    affine = Affine(np.zeros((4, 3)), np.zeros(3))
    affine.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        affine.backward(np.zeros((2, 4)))


# -- dout of the wrong shape (issue 8, item 8) -------------------------------------------------
def _conv_case(rng, dt):
    from layerprop.layers import Convolution

    return Convolution(normal(rng, (3, 2, 3, 3), dt), normal(rng, (3,), dt), pad=1), (normal(rng, (2, 2, 4, 4), dt),)


def _pool_case(kind):
    def make(rng, dt):
        from layerprop import layers

        return getattr(layers, kind)(2, 2), (normal(rng, (2, 3, 4, 4), dt),)

    return make


# layers outside CASES (train-mode, convolution, pooling), so that every layer meets a bad dout
OTHER_LAYER_CASES = {
    "Dropout": lambda rng, dt: (__import__("layerprop").layers.Dropout(0.3, seed=0), (normal(rng, (3, 4), dt),)),
    "BatchNormalization": lambda rng, dt: (
        __import__("layerprop").layers.BatchNormalization(np.ones(4, dt), np.zeros(4, dt)),
        (normal(rng, (3, 4), dt),),
    ),
    "BatchNormalization 4-D": lambda rng, dt: (
        __import__("layerprop").layers.BatchNormalization(np.ones(8, dt), np.zeros(8, dt)),
        (normal(rng, (3, 2, 2, 2), dt),),
    ),
    "Convolution": _conv_case,
    "Pooling": _pool_case("Pooling"),
    "AvgPooling": _pool_case("AvgPooling"),
    "Flatten": lambda rng, dt: (__import__("layerprop").layers.Flatten(), (normal(rng, (2, 3, 2, 2), dt),)),
    "Relu 0-d": lambda rng, dt: (Relu(), (np.asarray(1.5, dt),)),
    "Mul (2,3,4)": lambda rng, dt: (MulLayer(), (normal(rng, (2, 3, 4), dt), normal(rng, (2, 3, 4), dt))),
}
ALL_LAYER_CASES = {**CASES, **OTHER_LAYER_CASES}


def wrong_douts(out_shape):
    """Arrays that NumPy would broadcast with (or against) the output but that are not its shape."""
    if out_shape == ():
        return [np.ones(2), np.ones((1,)), np.ones((1, 1))]
    return [
        np.ones(out_shape + (1,)),  # one axis too many
        np.ones(out_shape[:-1] + (1,)),  # broadcastable to the output: must not be accepted silently
        np.ones(out_shape[1:]),  # the batch axis missing
        np.asarray(1.0),  # a 0-d array is an array, not a number
    ]


@pytest.mark.parametrize("name", ALL_LAYER_CASES)
def test_dout_of_a_wrong_shape_names_the_layer_and_both_shapes(name):
    layer, inputs = ALL_LAYER_CASES[name](np.random.default_rng(0), np.float64)
    out_shape = np.shape(layer.forward(*inputs))
    for dout in wrong_douts(out_shape):
        if dout.shape == out_shape:
            continue
        with pytest.raises(ShapeError) as info:
            layer.backward(dout)
        message = str(info.value)
        assert f"{type(layer).__name__}.backward" in message
        assert str(out_shape) in message and str(dout.shape) in message, message
        assert isinstance(info.value, ValueError)
    # the right shape still works (and the failures above left the layer usable)
    layer.backward(np.ones(out_shape))


@pytest.mark.parametrize("layer_class", LOSS_LAYERS)
def test_a_loss_takes_only_a_scalar_dout(layer_class):
    name = next(n for n in CASES if n.startswith(layer_class.__name__))
    layer, inputs = make_case(name)
    layer.forward(*inputs)
    with pytest.raises(ShapeError, match=rf"{layer_class.__name__}.backward: dout must have shape \(\)"):
        layer.backward(np.ones(inputs[0].shape))
    for dout in (1, 2.0, np.float32(1.0), np.asarray(1.0), [[1.0]][0][0]):
        layer.backward(dout)


def test_relu_0d_input_refuses_a_vector_dout():
    relu = Relu()
    relu.forward(np.asarray(2.0))
    with pytest.raises(ShapeError, match=r"Relu.backward: dout must have shape \(\).*got \(2,\)"):
        relu.backward(np.ones(2))


def test_mul_layer_refuses_a_broadcastable_dout():
    mul = MulLayer()
    mul.forward(np.ones((2, 3, 4)), np.ones((2, 3, 4)))
    with pytest.raises(ShapeError, match=r"MulLayer.backward: dout must have shape \(2, 3, 4\).*got \(2, 3, 1\)"):
        mul.backward(np.ones((2, 3, 1)))


def test_a_list_dout_is_checked_like_an_array():
    relu = Relu()
    relu.forward(np.ones(3))
    with pytest.raises(ShapeError, match=r"got \(2,\)"):
        relu.backward([1.0, 2.0])
    np.testing.assert_array_equal(relu.backward([1.0, 2.0, 3.0]), [1.0, 2.0, 3.0])


def test_empty_and_0d_inputs_raise_shape_errors_not_index_errors():
    from layerprop.layers import BatchNormalization, Flatten

    with pytest.raises(ShapeError, match="BatchNormalization.*shape \\(\\)"):
        BatchNormalization(np.ones(1), np.zeros(1)).forward(np.asarray(1.0))
    with pytest.raises(ShapeError, match="BatchNormalization.*N ≥ 1"):
        BatchNormalization(np.ones(3), np.zeros(3)).forward(np.zeros((0, 3)))
    for x, t in (
        (np.zeros((0, 3)), np.zeros(0, dtype=int)),
        (np.zeros((0, 3)), np.zeros((0, 3))),
        (np.zeros((2, 0)), np.zeros(2, dtype=int)),
    ):
        with pytest.raises(ShapeError, match="SoftmaxWithLoss.*N ≥ 1"):
            SoftmaxWithLoss().forward(x, t)
    with pytest.raises(ShapeError, match="Flatten.*N ≥ 1.*\\(0, 2, 3\\)"):
        Flatten().forward(np.zeros((0, 2, 3)))


# -- SoftmaxWithLoss -----------------------------------------------------------------------------
X3 = np.array([[0.3, 2.9, 4.0], [2.0, 1.0, 0.1], [-1.0, 0.5, 0.2]])
T3 = np.array([2, 0, 1])


def test_softmax_with_loss_value_against_formula():
    layer = SoftmaxWithLoss()
    loss = layer.forward(X3, T3)
    y = softmax_rows(X3)
    assert loss == pytest.approx(-np.mean(np.log(y[np.arange(3), T3])), rel=1e-12)
    np.testing.assert_allclose(layer.y, y, rtol=1e-12)
    np.testing.assert_allclose(layer.y[0], [0.01821127, 0.24519181, 0.73659691], atol=1e-8)  # the book's softmax
    assert layer.loss == loss


@pytest.mark.parametrize("dout", [1, 2.0])
def test_softmax_with_loss_backward_formula(dout):
    layer = SoftmaxWithLoss()
    layer.forward(X3, T3)
    expected = dout * (softmax_rows(X3) - onehot(T3, 3, np.float64)) / 3
    np.testing.assert_allclose(layer.backward(dout), expected, rtol=1e-12)


def test_softmax_with_loss_backward_default_dout_is_one():
    layer = SoftmaxWithLoss()
    layer.forward(X3, T3)
    np.testing.assert_array_equal(layer.backward(), layer.backward(1))
    np.testing.assert_allclose(layer.backward(2) / 2, layer.backward())


def test_labels_onehot_and_column_labels_agree():
    results = []
    for t in (T3, onehot(T3, 3, np.float64), T3.reshape(3, 1), T3.astype(np.float64)):
        layer = SoftmaxWithLoss()
        results.append((layer.forward(X3, t), layer.backward()))
    for loss, grad in results[1:]:
        assert loss == pytest.approx(results[0][0], rel=1e-14)
        np.testing.assert_allclose(grad, results[0][1], rtol=1e-14, atol=1e-17)


def notes_softmax(x):
    """Note 001's softmax with `self` and `exp_X_sum` fixed: ONE max and ONE sum for the whole batch."""
    max_x = np.max(x)
    with np.errstate(under="ignore"):
        exp_x = np.exp(x - max_x)
    return exp_x / np.sum(exp_x)


def test_softmax_is_row_wise_each_row_its_own_max():
    x = np.array([[1000.0, 1001.0, 1002.0], [1.0, 2.0, 3.0]])  # one row of huge logits, one of small
    row_by_row = np.vstack([softmax(x[i]) for i in range(2)])
    np.testing.assert_allclose(softmax(x), row_by_row, rtol=1e-14)
    np.testing.assert_allclose(softmax(x).sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(softmax(x)[1], [0.09003057, 0.24472847, 0.66524096], atol=1e-8)

    layer = SoftmaxWithLoss()
    t = np.array([0, 2])
    loss = layer.forward(x, t)
    per_row = [SoftmaxWithLoss().forward(x[i : i + 1], t[i : i + 1]) for i in range(2)]
    assert loss == pytest.approx(np.mean(per_row), rel=1e-14)
    np.testing.assert_allclose(layer.y, row_by_row, rtol=1e-14)

    wrong = notes_softmax(x)  # the small row vanishes under the batch maximum
    np.testing.assert_array_equal(wrong[1], [0.0, 0.0, 0.0])
    assert not np.allclose(wrong, layer.y)


def test_softmax_with_loss_stable_for_huge_logits():
    x = np.array([[1e4, -1e4], [-1e4, 1e4], [5e3, 5e3]])
    t = np.array([0, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            layer = SoftmaxWithLoss()
            loss = layer.forward(x, t)
            dx = layer.backward()
    assert np.isfinite(loss)
    assert loss == pytest.approx(np.log(2) / 3, rel=1e-12)  # rows 0 and 1 certain and right; row 2 a tie
    assert np.all(np.isfinite(dx))
    np.testing.assert_allclose(layer.y, [[1, 0], [0, 1], [0.5, 0.5]])


def test_confidently_wrong_prediction_gives_large_finite_loss():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer = SoftmaxWithLoss()
        loss = layer.forward(np.array([[1e4, -1e4]]), np.array([1]))
        dx = layer.backward()
    assert np.isfinite(loss)
    assert loss == pytest.approx(2e4)
    np.testing.assert_allclose(dx, [[1.0, -1.0]])


def test_softmax_with_loss_single_sample():
    layer = SoftmaxWithLoss()
    loss = layer.forward(X3[0], 2)
    assert loss == pytest.approx(-np.log(softmax_rows(X3[:1])[0, 2]))
    assert layer.backward().shape == (3,)


@pytest.mark.parametrize(
    "t, pattern",
    [
        (np.array([0, 3, 1]), "label 3, outside"),
        (np.array([0, -1, 1]), "label -1, outside"),
        (np.array([0, 1]), "got t of shape"),
        (np.array([0, 1, 2, 0]), "got t of shape"),
        (np.array([0.5, 1.0, 2.0]), "non-integer labels"),
        (np.array(["a", "b", "c"]), "labels"),
    ],
)
def test_bad_labels_raise_value_error_with_clear_message(t, pattern):
    with pytest.raises(ValueError, match=pattern) as info:
        SoftmaxWithLoss().forward(X3, t)
    assert isinstance(info.value, LabelError)
    assert "SoftmaxWithLoss" in str(info.value) and "[0, 3)" in str(info.value)


def test_cross_entropy_error_never_takes_log_of_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = cross_entropy_error(np.array([[1.0, 0.0]]), np.array([1]))
    assert np.isfinite(loss) and loss > 700
    y = softmax_rows(X3)
    assert cross_entropy_error(y, T3) == pytest.approx(cross_entropy_error(y, onehot(T3, 3, np.float64)))
    assert cross_entropy_error(y[0], np.array([0, 0, 1.0])) == pytest.approx(-np.log(y[0, 2]))


def test_softmax_function_1d_and_float32():
    np.testing.assert_allclose(softmax(np.array([0.3, 2.9, 4.0])), [0.01821127, 0.24519181, 0.73659691], atol=1e-8)
    out = softmax(np.array([[1e4, 0.0]], dtype=np.float32))
    assert out.dtype == np.float32 and np.all(np.isfinite(out))


# -- MeanSquaredError, SigmoidWithLoss ---------------------------------------------------------
def test_mean_squared_error_values():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]])
    t = np.array([[0.0, 2.0], [1.0, 5.0], [0.5, 1.0]])
    layer = MeanSquaredError()
    loss = layer.forward(x, t)
    assert loss == pytest.approx(0.5 * np.mean((x - t) ** 2))
    np.testing.assert_array_equal(layer.y, x)  # identity output
    np.testing.assert_allclose(layer.backward(), (x - t) / x.size)
    np.testing.assert_allclose(layer.backward(3.0), 3.0 * (x - t) / x.size)


def test_mean_squared_error_targets_shape():
    layer = MeanSquaredError()
    assert layer.forward(np.array([[1.0], [2.0]]), np.array([0.0, 0.0])) == pytest.approx(1.25)
    with pytest.raises(ValueError, match="MeanSquaredError"):
        MeanSquaredError().forward(np.zeros((2, 3)), np.zeros((3, 2)))


def test_sigmoid_with_loss_values():
    x = np.array([[0.5, -1.0], [2.0, 0.0]])
    t = np.array([[1.0, 0.0], [0.0, 1.0]])
    layer = SigmoidWithLoss()
    loss = layer.forward(x, t)
    y = np_sigmoid(x)
    assert loss == pytest.approx(-np.mean(t * np.log(y) + (1 - t) * np.log(1 - y)), rel=1e-12)
    np.testing.assert_allclose(layer.y, y)
    np.testing.assert_allclose(layer.backward(), (y - t) / x.size)
    np.testing.assert_allclose(layer.backward(2), 2 * (y - t) / x.size)


def test_sigmoid_with_loss_extremes_and_bad_targets():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            loss = SigmoidWithLoss().forward(np.array([[1000.0, -1000.0]]), np.array([[0.0, 1.0]]))
    assert loss == pytest.approx(1000.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        SigmoidWithLoss().forward(np.zeros(2), np.array([0.0, 2.0]))


# -- the notes' mistakes, absent ---------------------------------------------------------------
def test_note_004_orange_gradient_comes_from_the_orange_layer():
    apple, apple_num, orange, orange_num, tax = 100, 2, 150, 3, 1.1
    mul_apple_layer, mul_orange_layer = MulLayer(), MulLayer()
    add_apple_orange_layer, mul_tax_layer = AddLayer(), MulLayer()

    apple_price = mul_apple_layer.forward(apple, apple_num)
    orange_price = mul_orange_layer.forward(orange, orange_num)
    all_price = add_apple_orange_layer.forward(apple_price, orange_price)
    price = mul_tax_layer.forward(all_price, tax)

    dall_price, dtax = mul_tax_layer.backward(1)
    dapple_price, dorange_price = add_apple_orange_layer.backward(dall_price)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)
    dorange, dorange_num = mul_orange_layer.backward(dorange_price)

    assert price == pytest.approx(715)
    assert (dapple_num, dapple, dorange, dorange_num, dtax) == pytest.approx((110, 2.2, 3.3, 165, 650))

    # note 004 wrote `mul_apple_layer.backward(dorange_price)`: the apple's inputs, not the orange's
    wrong_dorange, wrong_dorange_num = mul_apple_layer.backward(dorange_price)
    assert (wrong_dorange, wrong_dorange_num) == pytest.approx((2.2, 110))
    assert wrong_dorange != pytest.approx(dorange) and wrong_dorange_num != pytest.approx(dorange_num)


def test_note_003_apple_example():
    mul_apple_layer, mul_tax_layer = MulLayer(), MulLayer()
    apple_price = mul_apple_layer.forward(100, 2)
    price = mul_tax_layer.forward(apple_price, 1.1)
    assert price == pytest.approx(220)
    dapple_price, dtax = mul_tax_layer.backward(1)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)
    assert (dapple, dapple_num, dtax) == pytest.approx((2.2, 110, 200))


def test_layer_numbers_are_checked_by_the_validation_module():
    from layerprop.errors import ArgumentError, ArgumentTypeError
    from layerprop.layers import BatchNormalization, Convolution, Dropout

    with pytest.raises(ArgumentError, match=r"Dropout: dropout_ratio must be in \[0, 1\)"):
        Dropout(1.0)
    with pytest.raises(ArgumentError, match=r"BatchNormalization: momentum must be in \[0, 1\]"):
        BatchNormalization(np.ones(2), np.zeros(2), momentum=1.5)
    with pytest.raises(ArgumentError, match="PowLayer: exponent must be a finite number"):
        PowLayer(float("nan"))
    with pytest.raises(ArgumentTypeError, match="PowLayer: exponent must be a real number"):
        PowLayer(np.ones(2))
    with pytest.raises(ArgumentError, match="Convolution: stride must be at least 1, got 0"):
        Convolution(np.zeros((1, 1, 2, 2)), np.zeros(1), stride=0)
    with pytest.raises(ArgumentTypeError, match="Convolution: pad must be an integer"):
        Convolution(np.zeros((1, 1, 2, 2)), np.zeros(1), pad=1.5)

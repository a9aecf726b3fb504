"""Tests of layerprop.optim: hand-computed steps, in-place updates, dtypes, state round trips."""

import json
import math

import numpy as np
import pytest

from layerprop.errors import ShapeError
from layerprop.optim import (
    EPS,
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Nesterov,
    Optimizer,
    RMSprop,
    get_optimizer,
    optimizer_from_state,
)

ALL = [SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam]

W0 = [1.0, -2.0]
# the gradients fed at steps 1, 2, 3
G = [[0.5, -1.0], [0.2, 0.4], [-0.1, 0.3]]


def run_steps(opt, n):
    """Apply the first n gradients of G to W = W0 (float64); return W as a list."""
    params = {"W": np.array(W0)}
    original = params["W"]
    for g in G[:n]:
        opt.update(params, {"W": np.array(g)})
    assert params["W"] is original
    return params["W"].tolist()


# --------------------------------------------------------------------------- hand-computed steps
def test_sgd_by_hand():
    # W <- W - lr*g with lr = 0.1
    assert run_steps(SGD(lr=0.1), 1) == pytest.approx([1.0 - 0.1 * 0.5, -2.0 - 0.1 * -1.0])  # 0.95, -1.9
    assert run_steps(SGD(lr=0.1), 2) == pytest.approx([0.93, -1.94], abs=1e-15)
    assert run_steps(SGD(lr=0.1), 3) == pytest.approx([0.94, -1.97], abs=1e-15)


def test_momentum_by_hand():
    # v <- 0.9 v - 0.1 g ; W <- W + v
    # step 1: v = [-0.05, 0.1]             W = [0.95, -1.9]
    # step 2: v = [-0.045-0.02, 0.09-0.04] = [-0.065, 0.05];  W = [0.885, -1.85]
    # step 3: v = [-0.0585+0.01, 0.045-0.03] = [-0.0485, 0.015]; W = [0.8365, -1.835]
    assert run_steps(Momentum(lr=0.1, momentum=0.9), 1) == pytest.approx([0.95, -1.9], abs=1e-15)
    assert run_steps(Momentum(lr=0.1, momentum=0.9), 2) == pytest.approx([0.885, -1.85], abs=1e-15)
    assert run_steps(Momentum(lr=0.1, momentum=0.9), 3) == pytest.approx([0.8365, -1.835], abs=1e-15)


def test_nesterov_by_hand():
    # the book's order: W <- W + mu^2 v - (1 + mu) lr g with the OLD v, then v <- mu v - lr g
    # (lr = 0.1, mu = 0.9)
    # step 1: v = 0:  W = W0 - 0.19 g1 = [1 - 0.095, -2 + 0.19];  then v = -0.1 g1 = [-0.05, 0.1]
    w1 = [1.0 - 0.095, -2.0 + 0.19]  # [0.905, -1.81]
    # step 2: W += 0.81 [-0.05, 0.1] - 0.19 [0.2, 0.4] = [-0.0405 - 0.038, 0.081 - 0.076]
    w2 = [w1[0] - 0.0405 - 0.038, w1[1] + 0.081 - 0.076]  # [0.8265, -1.805]
    assert run_steps(Nesterov(lr=0.1, momentum=0.9), 1) == pytest.approx(w1, abs=1e-15)
    assert run_steps(Nesterov(lr=0.1, momentum=0.9), 2) == pytest.approx(w2, abs=1e-15)
    assert w2 == pytest.approx([0.8265, -1.805])


def test_adagrad_by_hand():
    # h <- h + g^2 ; W <- W - lr g / (sqrt(h) + 1e-7)   (lr = 0.1)
    lr, eps = 0.1, 1e-7
    w, h = list(W0), [0.0, 0.0]
    expected = []
    for g in G:
        for i in range(2):
            h[i] = h[i] + g[i] ** 2
            w[i] = w[i] - lr * g[i] / (math.sqrt(h[i]) + eps)
        expected.append(list(w))
    # the first step of AdaGrad is lr * sign(g) (up to eps)
    assert expected[0] == pytest.approx([0.9, -1.9], abs=1e-6)
    for n in (1, 2, 3):
        assert run_steps(AdaGrad(lr=0.1), n) == pytest.approx(expected[n - 1], rel=1e-13)


def test_rmsprop_by_hand():
    # h <- rho h + (1 - rho) g^2 ; W <- W - lr g / (sqrt(h) + 1e-7)   (lr = 0.1, rho = 0.99)
    lr, rho, eps = 0.1, 0.99, 1e-7
    w, h = list(W0), [0.0, 0.0]
    expected = []
    for g in G:
        for i in range(2):
            h[i] = rho * h[i] + (1 - rho) * g[i] ** 2
            w[i] = w[i] - lr * g[i] / (math.sqrt(h[i]) + eps)
        expected.append(list(w))
    # first step: h = 0.01 g^2, so the step is lr g / (0.1 |g|) = 1.0 * sign(g)
    assert expected[0] == pytest.approx([0.0, -1.0], abs=1e-5)
    for n in (1, 2, 3):
        assert run_steps(RMSprop(lr=0.1, decay_rate=0.99), n) == pytest.approx(expected[n - 1], rel=1e-13)


def test_adam_by_hand():
    # m <- b1 m + (1-b1) g ; v <- b2 v + (1-b2) g^2
    # lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) ; W <- W - lr_t m / (sqrt(v) + 1e-7)
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-7
    w, m, v = list(W0), [0.0, 0.0], [0.0, 0.0]
    expected = []
    for t, g in enumerate(G, start=1):
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            w[i] = w[i] - lr_t * m[i] / (math.sqrt(v[i]) + eps)
        expected.append(list(w))
    # Adam's first step is lr * sign(g) (up to eps)
    assert expected[0] == pytest.approx([0.9, -1.9], abs=1e-5)
    for n in (1, 2, 3):
        assert run_steps(Adam(lr=0.1), n) == pytest.approx(expected[n - 1], rel=1e-13)


# --------------------------------------------------------------------------- in place, dtypes
@pytest.mark.parametrize("cls", ALL)
def test_constructs_with_defaults(cls):
    opt = cls()
    assert isinstance(opt, Optimizer)
    assert opt.step_count == 0
    assert opt.lr == (0.001 if cls is Adam else 0.01)
    repr(opt)


def test_book_defaults():
    assert Momentum().momentum == 0.9 and Nesterov().momentum == 0.9
    assert RMSprop().decay_rate == 0.99
    assert (Adam().beta1, Adam().beta2) == (0.9, 0.999)
    assert AdaGrad().eps == RMSprop().eps == Adam().eps == EPS == 1e-7


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("grad_dtype", [np.float32, np.float64])
def test_in_place_and_float32_preserved(cls, grad_dtype):
    rng = np.random.default_rng(0)
    params = {
        "W": rng.standard_normal((3, 4)).astype(np.float32),
        "b": np.zeros(4, dtype=np.float32),
    }
    originals = dict(params)
    before = {k: v.copy() for k, v in params.items()}
    opt = cls(lr=np.float64(0.1))  # a NumPy scalar hyperparameter must not upcast either
    for _ in range(3):
        grads = {k: rng.standard_normal(v.shape).astype(grad_dtype) for k, v in params.items()}
        opt.update(params, grads)
    for key in params:
        assert params[key] is originals[key]
        assert params[key].dtype == np.float32
        assert not np.array_equal(params[key], before[key])
    _, arrays = opt.state_dict()
    assert all(a.dtype == np.float32 for a in arrays.values())


def test_book_attribute_names():
    params = {"W": np.ones(2)}
    grads = {"W": np.ones(2)}
    mom, ada, rms, adam = Momentum(), AdaGrad(), RMSprop(), Adam()
    for opt in (mom, ada, rms, adam):
        opt.update(params, grads)
    assert set(mom.v) == set(ada.h) == set(rms.h) == set(adam.m) == set(adam.v) == {"W"}
    assert adam.iter == 1


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("cls", ALL)
def test_missing_grad_key(cls):
    params = {"W": np.ones((2, 3)), "b": np.ones(3)}
    with pytest.raises(ValueError, match="'b'"):
        cls().update(params, {"W": np.ones((2, 3))})
    assert np.all(params["W"] == 1.0)  # nothing changed


@pytest.mark.parametrize("cls", ALL)
def test_shape_mismatch(cls):
    params = {"W": np.ones((2, 3))}
    with pytest.raises(ValueError, match=r"'W'.*\(2, 3\).*\(3, 2\)") as info:
        cls().update(params, {"W": np.ones((3, 2))})
    assert isinstance(info.value, ShapeError)
    assert np.all(params["W"] == 1.0)


def test_non_float_params_refused():
    with pytest.raises(TypeError, match="'W'"):
        SGD().update({"W": np.ones(2, dtype=np.int64)}, {"W": np.ones(2)})
    with pytest.raises(TypeError, match="in place"):
        SGD().update({"W": [1.0, 2.0]}, {"W": np.ones(2)})


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(lr=-0.1),
        lambda: SGD(lr=float("nan")),
        lambda: Momentum(momentum=1.0),
        lambda: RMSprop(decay_rate=-0.1),
        lambda: Adam(beta2=1.5),
        lambda: AdaGrad(eps=0.0),
    ],
)
def test_bad_hyperparameters(make):
    with pytest.raises(ValueError):
        make()


def test_non_numeric_hyperparameter():
    with pytest.raises(TypeError):
        SGD(lr="0.1")


# --------------------------------------------------------------------------- get_optimizer
@pytest.mark.parametrize("name", ["sgd", "SGD", "Momentum", "nesterov", "AdaGrad", "RMSProp", " adam "])
def test_get_optimizer_by_name(name):
    opt = get_optimizer(name)
    assert type(opt) is OPTIMIZERS[name.strip().lower()]


def test_get_optimizer_kwargs_and_objects():
    opt = get_optimizer("adam", lr=0.5, beta1=0.8)
    assert (opt.lr, opt.beta1) == (0.5, 0.8)
    same = Momentum()
    assert get_optimizer(same) is same
    assert type(get_optimizer(RMSprop, lr=0.2)) is RMSprop

    class BookStyle:  # any object with update() is accepted, like the book's own optimizers
        def update(self, params, grads):
            pass

    book = BookStyle()
    assert get_optimizer(book) is book


def test_get_optimizer_errors():
    with pytest.raises(ValueError) as info:
        get_optimizer("adamw")
    for name in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"):
        assert repr(name) in str(info.value)
    with pytest.raises(ValueError, match="only apply"):
        get_optimizer(SGD(), lr=0.1)
    with pytest.raises(TypeError):
        get_optimizer(42)
    with pytest.raises(TypeError):
        get_optimizer("sgd", momentum=0.9)  # SGD takes no momentum


# --------------------------------------------------------------------------- state round trip
def _quadratic_grads(params):
    # L = sum(0.5 * a * W^2 + W)  ->  dL/dW = a * W + 1, computed in the params' dtype
    return {k: (np.arange(1, v.size + 1, dtype=v.dtype).reshape(v.shape) * v + 1) for k, v in params.items()}


def _fresh_params(dtype):
    rng = np.random.default_rng(1)
    return {
        "W1": rng.standard_normal((3, 2)).astype(dtype),
        "b1": rng.standard_normal(2).astype(dtype),
    }


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_round_trip_is_bit_identical(cls, dtype):
    kwargs = {"lr": 0.05}
    # uninterrupted: 7 steps
    ref_params = _fresh_params(dtype)
    ref = cls(**kwargs)
    for _ in range(7):
        ref.update(ref_params, _quadratic_grads(ref_params))

    # interrupted after 3 steps, state through JSON + arrays, 4 more steps
    params = _fresh_params(dtype)
    opt = cls(**kwargs)
    for _ in range(3):
        opt.update(params, _quadratic_grads(params))
    config, arrays = opt.state_dict()
    assert config["name"] == cls.name and config["step"] == 3
    config = json.loads(json.dumps(config))
    for key in arrays:
        slot, _, pkey = key.partition("/")
        assert slot in cls._slots and pkey in params
    resumed = optimizer_from_state(config, arrays)
    assert type(resumed) is cls
    for _ in range(4):
        resumed.update(params, _quadratic_grads(params))
    for key in params:
        assert params[key].dtype == dtype
        np.testing.assert_array_equal(params[key], ref_params[key])
    assert resumed.state_dict()[0] == ref.state_dict()[0]


def test_state_dict_is_a_snapshot_and_from_state_variants():
    params = {"W": np.ones(3)}
    opt = Adam(lr=0.1)
    opt.update(params, {"W": np.ones(3)})
    config, arrays = opt.state_dict()
    saved = {k: v.copy() for k, v in arrays.items()}
    opt.update(params, {"W": np.ones(3)})
    for key in arrays:  # later updates do not change what state_dict returned
        np.testing.assert_array_equal(arrays[key], saved[key])
    assert type(Adam.from_state(config, arrays)) is Adam
    assert type(Optimizer.from_state(config, arrays)) is Adam
    with pytest.raises(ValueError, match="adam"):
        SGD.from_state(config, arrays)


def test_load_state_dict_errors():
    config, _ = Momentum().state_dict()
    with pytest.raises(ValueError, match="slot"):
        Momentum().load_state_dict(config, {"m/W": np.zeros(2)})
    with pytest.raises(ValueError, match="unknown keys"):
        Momentum().load_state_dict({**config, "nesterov": True}, {})
    with pytest.raises(ValueError, match="step"):
        Momentum().load_state_dict({**config, "step": -1}, {})
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizer_from_state({"name": "lbfgs"}, {})
    opt = Momentum()
    opt.load_state_dict(config, {"v/W": np.zeros(3)})
    with pytest.raises(ShapeError, match="v/W"):
        opt.update({"W": np.ones(2)}, {"W": np.ones(2)})


# --------------------------------------------------------------------------- convergence
@pytest.mark.parametrize(
    "cls, lr",
    [(SGD, 0.05), (Momentum, 0.01), (Nesterov, 0.01), (AdaGrad, 0.5), (RMSprop, 0.05), (Adam, 0.1)],
)
def test_decreases_a_quadratic(cls, lr):
    # f(W) = 0.5 * sum(a * W^2), gradient a * W
    a = np.array([1.0, 10.0, 3.0])
    params = {"W": np.array([1.0, -1.0, 2.0])}

    def f():
        return 0.5 * float(np.sum(a * params["W"] ** 2))

    start = f()
    opt = cls(lr=lr)
    for _ in range(100):
        opt.update(params, {"W": a * params["W"]})
    assert f() < 0.05 * start


# --------------------------------------------------------------------------- the book's formulas
# Each update rule written out as in the book (ch. 6, common/optimizer.py), independently of
# layerprop.optim, on one float64 array; 300 steps must give the same trajectory.
def book_trajectory(rule, hyper, w0, grad, steps=300):
    w = np.array(w0, dtype=np.float64)
    state = {"v": np.zeros_like(w), "h": np.zeros_like(w), "m": np.zeros_like(w), "t": 0}
    path = []
    for _ in range(steps):
        g = grad(w)
        lr = hyper["lr"]
        if rule == "sgd":
            w = w - lr * g
        elif rule == "momentum":
            state["v"] = hyper["momentum"] * state["v"] - lr * g
            w = w + state["v"]
        elif rule == "nesterov":  # W first, with the velocity from before this step; then v
            mu = hyper["momentum"]
            w = w + mu * mu * state["v"] - (1 + mu) * lr * g
            state["v"] = mu * state["v"] - lr * g
        elif rule == "adagrad":
            state["h"] = state["h"] + g * g
            w = w - lr * g / (np.sqrt(state["h"]) + 1e-7)
        elif rule == "rmsprop":
            rho = hyper["decay_rate"]
            state["h"] = rho * state["h"] + (1 - rho) * g * g
            w = w - lr * g / (np.sqrt(state["h"]) + 1e-7)
        elif rule == "adam":
            b1, b2 = hyper["beta1"], hyper["beta2"]
            state["t"] += 1
            lr_t = lr * np.sqrt(1.0 - b2 ** state["t"]) / (1.0 - b1 ** state["t"])
            state["m"] = state["m"] + (1 - b1) * (g - state["m"])
            state["v"] = state["v"] + (1 - b2) * (g**2 - state["v"])
            w = w - lr_t * state["m"] / (np.sqrt(state["v"]) + 1e-7)
        path.append(w.copy())
    return np.array(path)


def layerprop_trajectory(opt, w0, grad, steps=300):
    params = {"w": np.array(w0, dtype=np.float64)}
    path = []
    for _ in range(steps):
        opt.update(params, {"w": grad(params["w"])})
        path.append(params["w"].copy())
    return np.array(path)


BOOK_HYPER = {
    "sgd": {"lr": 0.1},
    "momentum": {"lr": 0.05, "momentum": 0.9},
    "nesterov": {"lr": 0.05, "momentum": 0.9},
    "adagrad": {"lr": 0.5},
    "rmsprop": {"lr": 0.05, "decay_rate": 0.99},
    "adam": {"lr": 0.1, "beta1": 0.9, "beta2": 0.999},
}

_A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])  # symmetric positive definite
_B = np.array([1.0, -2.0, 0.5])
PROBLEMS = {
    "f(w) = w^2": ([3.0], lambda w: 2.0 * w),
    "f(w) = 0.5 w'Aw - b'w": ([2.0, -1.0, 4.0], lambda w: _A @ w - _B),
}


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("name", list(BOOK_HYPER))
def test_trajectories_match_the_books_formulas_for_300_steps(name, problem):
    w0, grad = PROBLEMS[problem]
    expected = book_trajectory(name, BOOK_HYPER[name], w0, grad)
    got = layerprop_trajectory(OPTIMIZERS[name](**BOOK_HYPER[name]), w0, grad)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    assert np.all(np.isfinite(got))


def test_nesterov_old_order_is_measurably_different():
    # the order matters: updating v first and using the new v (layerprop before issue 8) drifts
    # away from the book's trajectory by far more than the tolerance above
    w0, grad = PROBLEMS["f(w) = w^2"]
    mu, lr = 0.9, 0.05
    w, v, old = np.array(w0), np.zeros(1), []
    for _ in range(300):
        g = grad(w)
        v = mu * v - lr * g
        w = w + mu * mu * v - (1 + mu) * lr * g
        old.append(w.copy())
    got = layerprop_trajectory(Nesterov(lr=lr, momentum=mu), w0, grad)
    assert np.max(np.abs(np.array(old) - got)) > 1e-2


def test_hyperparameters_are_checked_by_the_validation_module():
    from layerprop.errors import ArgumentError, ArgumentTypeError

    with pytest.raises(ArgumentError, match=r"Momentum: lr must be >= 0, got -1"):
        Momentum(lr=-1)
    with pytest.raises(ArgumentError, match=r"Adam: beta1 must be in \[0, 1\)"):
        Adam(beta1=1.0)
    with pytest.raises(ArgumentError, match=r"RMSprop: eps must be > 0"):
        RMSprop(eps=0.0)
    with pytest.raises(ArgumentError, match="finite"):
        SGD(lr=float("nan"))
    with pytest.raises(ArgumentTypeError, match="real number"):
        AdaGrad(lr="0.1")


@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam", "rmsprop"])
def test_subnormal_state_is_flushed_to_zero(name):
    """Decaying state (a dead unit's Adam m, …) would linger among the subnormal floats, where x86
    arithmetic is 10-100x slower; every FLUSH_SUBNORMALS_EVERY steps such entries become 0."""
    from layerprop import optim

    tiny = np.finfo(np.float32).tiny
    params = {"W": np.ones(64, np.float32)}
    zero = {"W": np.zeros(64, np.float32)}
    opt = optim.OPTIMIZERS[name]()
    opt.update(params, {"W": np.full(64, 1e-3, np.float32)})  # state exists and is normal
    slot = opt._slots[0]
    state = getattr(opt, slot)["W"]
    state[:32] = tiny / 8  # subnormal
    normal = state[32:].copy()
    while opt.step_count % optim.FLUSH_SUBNORMALS_EVERY:
        opt.update(params, zero)
    assert not np.any((state != 0) & (np.abs(state) < tiny))
    assert np.all(state[:32] == 0)
    assert np.all(state[32:] != 0) and np.all(np.abs(state[32:]) <= np.abs(normal))  # normal values untouched

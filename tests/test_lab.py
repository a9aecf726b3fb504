"""The lab's server side without a browser: graphs, limits, toy data, the training job, the guard, the CLI."""

import asyncio
import time

import numpy as np
import pytest

from layerprop.cli import main
from layerprop.graph.expression import ExpressionError
from layerprop.lab import LIMITS, LabLimitError, graphs
from layerprop.lab.security import Guard, allowed_hosts, is_loopback, new_token
from layerprop.lab.toy import TOY_SETS, make_toy
from layerprop.lab.training import JobSlots, TrainingJob, validate_config


def test_apple_orange_numbers():
    result = graphs.evaluate({"preset": "apple-orange"})
    assert {i["name"]: i["grad"] for i in result["inputs"]} == {
        "apple": "2.2",
        "apple_num": "110",
        "orange": "3.3",
        "orange_num": "165",
        "tax": "650",
    }
    assert result["outputs"] == [{"name": "price", "value": "715", "number": 715.0000000000001}]  # named by the preset
    assert result["branch_sums"] == []
    assert set(result["steps"]) == {"en", "ko"}
    assert result["steps"]["ko"][0]["heading"] == "입력"


def test_branch_sum_and_new_values():
    result = graphs.evaluate({"expr": "x*x + 3*x", "values": {"x": 2}})
    assert [b["text"] for b in result["branch_sums"]] == ["x.grad = 2 + 2 + 3 = 7"]
    result = graphs.evaluate({"expr": "x*x + 3*x", "values": {"x": -1.5}})
    assert result["inputs"][0]["grad"] == "0"
    assert result["inputs"][0]["min"] < -1.5 < result["inputs"][0]["max"]


def test_rules_in_both_languages():
    result = graphs.evaluate({"preset": "two-layer-net"})
    relu = next(r for r in result["rules"].values() if r["layer"] == "Relu")
    assert relu["backward"]["en"] == "dx = dout where x > 0, else 0"
    assert "x > 0인 곳" in relu["backward"]["ko"]
    assert {i["name"] for i in result["inputs"]} == {"x", "W1", "b1", "W2", "b2"}


def test_sigmoid_preset_shares_one_slider():
    result = graphs.evaluate({"preset": "sigmoid", "values": {"x": 0.0}})
    assert [i["name"] for i in result["inputs"]] == ["x"]
    assert [o["value"] for o in result["outputs"]] == ["0.5", "0.5"]


def test_check_agrees_with_backprop():
    for request in (
        {"preset": "apple-orange"},
        {"expr": "exp(x) / (1 + x**2)", "values": {"x": 0.3}},
        {"preset": "two-layer-net"},
    ):
        rows = graphs.check(request)["inputs"]
        assert rows and all(row["ok"] for row in rows), rows


def test_tensor_inputs_of_the_network_are_validated():
    tensors = graphs.evaluate({"preset": "two-layer-net"})["inputs"]
    b2 = next(i for i in tensors if i["name"] == "b2")
    changed = graphs.evaluate({"preset": "two-layer-net", "values": {"b2": [5.0, -5.0]}})
    assert next(i for i in changed["inputs"] if i["name"] == "b2")["value"] == [5.0, -5.0] != b2["value"]
    with pytest.raises(LabLimitError, match="shape"):
        graphs.evaluate({"preset": "two-layer-net", "values": {"b2": [1.0, 2.0, 3.0]}})
    with pytest.raises(LabLimitError, match="tensor|elements"):
        graphs.evaluate({"preset": "two-layer-net", "values": {"W1": [[0.0] * 100] * 3}})


def test_limits_have_clear_messages():
    with pytest.raises(
        LabLimitError, match=r"expression length \(characters\): 301 is more than the limit of 300"
    ) as error:
        graphs.evaluate({"expr": "x" * 301})
    assert error.value.message_ko == "수식 길이(글자 수): 301 — 최대 300까지 쓸 수 있습니다"
    with pytest.raises(LabLimitError, match="nesting depth"):
        graphs.evaluate({"expr": "-" * 60 + "x"})
    names = "+".join(f"a{i}" for i in range(LIMITS["expression_names"] + 1))
    with pytest.raises(LabLimitError, match="number of inputs"):
        graphs.evaluate({"expr": names})
    with pytest.raises(ExpressionError, match="column"):
        graphs.evaluate({"expr": "x *"})
    with pytest.raises(LabLimitError, match="finite number"):
        graphs.evaluate({"expr": "x*2", "values": {"x": "__import__('os')"}})
    with pytest.raises(LabLimitError, match="unknown preset"):
        graphs.evaluate({"preset": "nope"})


@pytest.mark.parametrize("name", sorted(TOY_SETS))
def test_toy_sets(name):
    x, t = make_toy(name, 300, seed=1)
    assert x.shape == (300, 2) and x.dtype == np.float32 and t.dtype == np.int64
    assert np.all(np.abs(x) < 1.8)  # inside the square the boundary is drawn over
    counts = np.bincount(t)
    assert counts.min() >= 0.3 * counts.max()  # balanced classes
    again, _ = make_toy(name, 300, seed=1)
    assert np.array_equal(x, again)
    with pytest.raises(ValueError, match="at most"):
        make_toy(name, LIMITS["toy_samples"] + 1)


def test_training_job_learns_and_stops():
    job = TrainingJob({"dataset": "xor", "hidden": [8], "lr": 0.05, "steps_per_second": 2000, "samples": 300})
    try:
        _, first = job.snapshot()
        job.start()
        deadline = time.monotonic() + 60
        while job.snapshot()[1]["step"] < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        job.pause()
        _, last = job.snapshot()
        assert last["step"] >= 300 and last["running"] is False
        losses = [loss for _, loss in last["losses"]]
        assert np.mean(losses[-10:]) < np.mean(losses[:10])
        assert last["accuracy"] > first["accuracy"]
        assert len(last["boundary"]["classes"]) == last["boundary"]["size"] ** 2
        job.step()
        deadline = time.monotonic() + 10
        while job.snapshot()[1]["step"] != last["step"] + 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert job.snapshot()[1]["step"] == last["step"] + 1
        job.inspect("b1")
        assert job.snapshot()[1]["inspect"]["key"] == "b1"
        with pytest.raises(LabLimitError, match="unknown parameter"):
            job.inspect("W9")
        hidden = list(job.net.layers)[1]  # the activation's output on a batch, and its gradient
        job.inspect(hidden)
        shown = job.snapshot()[1]["inspect"]
        assert shown["key"] == hidden and shown["shape"] == [64, 8] and shown["grad"]["std"] > 0
    finally:
        job.stop()
    assert not job.alive


def test_settings_are_checked():
    assert validate_config({})["dataset"] == "moons"
    with pytest.raises(LabLimitError, match="hidden layers"):
        validate_config({"hidden": [4] * (LIMITS["hidden_layers"] + 1)})
    with pytest.raises(LabLimitError, match="units of a hidden layer"):
        validate_config({"hidden": [LIMITS["hidden_units"] + 1]})
    with pytest.raises(LabLimitError, match="unknown optimizer"):
        validate_config({"optimizer": "Magic"})
    with pytest.raises(ValueError, match="learning rate"):
        validate_config({"lr": -1})
    with pytest.raises(LabLimitError, match="MNIST training images"):
        TrainingJob({"dataset": "mnist", "samples": LIMITS["mnist_samples"] + 1})


def test_concurrent_jobs_are_limited():
    slots = JobSlots(limit=1)
    job = slots.open({"dataset": "moons", "hidden": [4]})
    try:
        with pytest.raises(LabLimitError, match="limit is 1"):
            slots.open({"dataset": "moons", "hidden": [4]})
    finally:
        slots.close(job)
    assert not job.alive
    slots.close(slots.open({"dataset": "moons", "hidden": [4]}))  # a freed slot can be used again


def _guard_answer(headers, query=b""):
    sent = []

    async def app(scope, receive, send):
        sent.append("app")

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    token = "secret-token"
    guard = Guard(app, token, allowed_hosts("127.0.0.1", 8765))
    scope = {"type": "http", "headers": [(k.encode(), v.encode()) for k, v in headers.items()], "query_string": query}
    asyncio.run(guard(scope, receive, send))
    return sent


def test_guard():
    ok = {"host": "127.0.0.1:8765", "x-lab-token": "secret-token"}
    assert _guard_answer(ok) == ["app"]
    assert _guard_answer({"host": "localhost:8765"}, b"token=secret-token") == ["app"]
    for headers, query in (
        ({"host": "127.0.0.1:8765"}, b""),
        ({"host": "127.0.0.1:8765"}, b"token=guess"),
        ({**ok, "host": "rebound.example:8765"}, b""),
        ({**ok, "origin": "http://evil.example"}, b""),
    ):
        answer = _guard_answer(headers, query)
        assert answer[0]["status"] == 403, (headers, query)
    assert _guard_answer({**ok, "origin": "http://127.0.0.1:8765"}) == ["app"]
    assert len(new_token()) >= 22 and new_token() != new_token()
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_cli_without_the_extra(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "starlette" else real(name, *a))
    assert main(["lab", "--no-browser"]) == 2
    assert "pip install 'layerprop[lab]'" in capsys.readouterr().err


def test_cli_refuses_a_public_host_without_the_flag(capsys):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    with pytest.raises(SystemExit) as exit_:
        main(["lab", "--host", "0.0.0.0", "--no-browser"])
    assert exit_.value.code == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_mnist_job_shows_first_layer_weights():
    job = TrainingJob({"dataset": "mnist", "samples": 200, "hidden": [16], "optimizer": "SGD", "lr": 0.1})
    try:
        _, snap = job.snapshot()
        assert len(snap["filters"]) == 16 and len(snap["filters"][0]) == 784
        assert "boundary" not in snap and snap["test_accuracy"] is not None
    finally:
        job.stop()


def test_overflow_is_answered_in_json():
    import json

    result = graphs.evaluate({"expr": "exp(x) * y", "values": {"x": 1000, "y": 0}})
    json.dumps(result, allow_nan=False)  # what the server sends: no inf or NaN numbers
    assert result["outputs"][0]["value"] == "nan"
    json.dumps(graphs.check({"expr": "exp(x) * y", "values": {"x": 1000, "y": 0}}), allow_nan=False)


def test_the_job_trains_through_the_trainer_and_a_diverging_run_says_why():
    job = TrainingJob({"dataset": "moons", "hidden": [64, 64], "activation": "relu", "optimizer": "SGD", "lr": 9.9})
    try:
        assert job.trainer.network is job.net and job.trainer.optimizer is job.optimizer
        job.start()
        deadline = time.monotonic() + 30
        while job.alive and time.monotonic() < deadline:
            time.sleep(0.02)
        _, snap = job.snapshot()
        assert not job.alive and snap["running"] is False
        assert "Try a smaller learning rate" in snap["diverged"]["message"]  # the Trainer's divergence guard
        assert snap["diverged"]["step"] == snap["step"] >= 1
        job.start()  # a diverged job does not go on
        assert job.snapshot()[1]["running"] is False
    finally:
        job.stop()

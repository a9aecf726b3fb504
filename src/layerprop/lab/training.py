"""The train page's job: a network training in its own thread, watched through snapshots.

A :class:`TrainingJob` owns a network, an optimizer and a data set: a toy set (:mod:`.toy`), an
MNIST subset, or the learner's own points (an uploaded CSV file or points drawn on the page,
:mod:`.userdata`) with any number of classes — always a softmax over the classes with the
cross-entropy loss (SoftmaxWithLoss). 2-D data are trained in a square around them (see
:func:`.exports.frame_of`); the boundary is drawn over that square and the page labels its axes in
the data's own units.

The job trains through layerprop's :class:`~layerprop.training.Trainer` — the same loop a script
runs (the exported one does), with the same seed — in its own thread. One callback
(:class:`PageHooks`) is the page's part: after each step it keeps the loss and the per-layer
gradient norms, holds the pace (at most ``steps_per_second`` steps a second), waits while the job
is paused (or lets one step through), ends the run when the job stops (``trainer.stop()``), and
every :data:`SNAPSHOT_INTERVAL_S` replaces the job's one *latest snapshot* — step, loss and
accuracy curves, per-layer gradient norms, the decision boundary on a grid (2-D data) or the
first-layer weights as 28×28 images (MNIST).

The Trainer's divergence guard stays on: a loss that blows up (a learning rate too large) ends the
run, puts the last good weights back and marks the job **diverged**: it refuses to go on, and its
snapshots say ``"diverged": {"step": n, "loss": …, "message": …}`` (the guard's own words) — the
page says so in the reader's language and suggests a smaller learning rate. A number that is not
finite (NaN, ±inf) is sent as ``null`` (JSON has no NaN).

The page's connection reads the latest snapshot whenever it is ready to send; a slow browser
therefore skips snapshots and never slows the training, and the training never waits for the
network. ``stop()`` ends the thread (the server calls it when the page closes).

Commands (thread-safe): :meth:`start`, :meth:`pause`, :meth:`step` (one step while paused),
:meth:`stop`; :meth:`inspect` picks the parameter whose values and gradient the snapshot carries
as a heatmap; :meth:`export` writes the network as it is now (:mod:`.exports`).
"""

from __future__ import annotations

import base64
import json
import threading
import time

import numpy as np

from ..errors import TrainingDiverged
from ..training import Callback, Trainer
from ..validation import in_range, integer
from . import exports
from .exports import EXTENT
from .limits import LIMITS, REQUEST_ERRORS, LabLimitError, check_limit, error_answer, finite_only
from .names import layer_titles, loss_title
from .toy import TOY_SETS, make_toy
from .userdata import check_points

#: seconds between two snapshots (so ≥ 10 updates a second reach a fast page)
SNAPSHOT_INTERVAL_S = 0.06
#: a job trains until it is stopped: its Trainer's number of epochs
EPOCHS = 2**31 - 1
#: the decision boundary is evaluated on GRID × GRID points
GRID = 48
#: the points of the loss curve kept (older ones are thinned by 2 when the list fills up)
CURVE_POINTS = 400
#: the optimizers the page offers (names of :mod:`layerprop.optim` classes)
OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam")
ACTIVATIONS = ("relu", "sigmoid", "tanh")
#: the data sets the page offers; "points" are the learner's own (uploaded or drawn)
DATASETS = (*TOY_SETS, "mnist", "points")
#: the MNIST test images a job reports its accuracy on
MNIST_TEST_IMAGES = 1000


def _setting(name: str, name_ko: str, check):
    """``check()``, with a ValueError from it said in Korean too (the page shows the reader's language)."""
    try:
        return check()
    except LabLimitError:
        raise
    except (TypeError, ValueError) as exc:
        raise LabLimitError(f"{exc}", f"{name_ko}: 값이 올바르지 않습니다 — {exc}") from None


def _choice(value, choices, what: str, what_ko: str):
    if value not in choices:
        raise LabLimitError(
            f"unknown {what} {value!r}; choose one of {', '.join(choices)}",
            f"모르는 {what_ko} {value!r}: {', '.join(choices)} 중에서 고르세요",
        )
    return value


class TrainData:
    """The data of a job: ``x`` (float32, trained on), ``t``, the test set (MNIST) or None, the class
    and feature names, and for 2-D data the frame ``center``/``scale`` (u = (x − center)/scale) and
    the points in their own coordinates (``raw``)."""

    def __init__(self, config: dict):
        dataset, seed = config["dataset"], config["seed"]
        self.x_test = self.t_test = None
        self.center, self.scale = np.zeros(2), np.ones(2)
        self.columns, self.name = ["x1", "x2"], ""
        if dataset == "mnist":
            from ..datasets import load_mnist

            samples = _setting(
                "MNIST images", "MNIST 이미지 수", lambda: integer("MNIST images", config["samples"], minimum=100)
            )
            check_limit("mnist_samples", samples, "MNIST training images")
            (x, t), (x_test, t_test) = load_mnist(normalize=True, flatten=True)
            rng = np.random.default_rng(seed)
            pick = rng.choice(len(x), samples, replace=False)
            self.x, self.t = x[pick].astype(np.float32), t[pick].astype(np.int64)
            self.x_test, self.t_test = x_test[:MNIST_TEST_IMAGES], t_test[:MNIST_TEST_IMAGES]
            self.classes = [str(d) for d in range(10)]
        elif dataset == "points":
            raw, self.t, self.classes, self.columns = check_points(config["points"])
            self.name = str(config["points"].get("name") or "")[:100]
            self.center, self.scale = exports.frame_of(raw, square=config["points"].get("frame") == "square")
            self.raw = raw
            if exports.is_identity(self.center, self.scale):
                self.x = raw.astype(np.float32)
            else:
                self.x = ((raw - self.center) / self.scale).astype(np.float32)
        else:
            samples = _setting("points", "점 수", lambda: integer("points", config["samples"], minimum=10))
            check_limit("toy_samples", samples, "points of the toy data set")
            self.x, self.t = make_toy(dataset, samples, seed)
            self.classes = [str(k) for k in range(int(self.t.max()) + 1)]
        if dataset != "points":
            self.raw = self.x

    @property
    def two_d(self) -> bool:
        return self.x.shape[1] == 2

    def points(self) -> dict:
        """The 2-D points in their own coordinates, with classes and feature names (for exports)."""
        return {
            "classes": self.classes,
            "columns": self.columns,
            "name": self.name,
            "points": {"x": self.raw.tolist(), "t": self.t.tolist()},
        }


def validate_config(config: dict) -> dict:
    """The job's settings from the page, checked against the limits; LabLimitError (English and Korean) if bad."""
    if not isinstance(config, dict):
        raise LabLimitError("the training settings must be an object", "학습 설정은 객체여야 합니다")
    dataset = _choice(config.get("dataset", "moons"), DATASETS, "data set", "데이터")
    hidden = config.get("hidden", [8, 8])
    if not isinstance(hidden, list):
        raise LabLimitError(
            "hidden must be a list of layer sizes, e.g. [8, 8]", "은닉층은 층 크기의 목록이어야 합니다. 예: [8, 8]"
        )
    check_limit("hidden_layers", len(hidden), "hidden layers")
    hidden = [
        _setting("hidden units", "은닉층의 뉴런 수", lambda h=h: integer("hidden units", h, minimum=1)) for h in hidden
    ]
    for h in hidden:
        check_limit("hidden_units", h, "units of a hidden layer")
    activation = _choice(config.get("activation", "tanh"), ACTIVATIONS, "activation", "활성화 함수")
    optimizer = _choice(config.get("optimizer", "Adam"), OPTIMIZERS, "optimizer", "최적화 기법")
    batch = _setting("batch size", "배치 크기", lambda: integer("batch size", config.get("batch_size", 32), minimum=1))
    check_limit("batch_size", batch, "batch size")
    speed = _setting(
        "steps per second",
        "초당 단계",
        lambda: integer("steps per second", config.get("steps_per_second", 200), minimum=1),
    )
    check_limit("steps_per_second", speed, "steps per second")
    default_samples = 3000 if dataset == "mnist" else 400
    settings = {
        "dataset": dataset,
        "samples": config.get("samples", default_samples),
        "hidden": hidden,
        "activation": activation,
        "optimizer": optimizer,
        "lr": _setting("learning rate", "학습률", lambda: in_range("learning rate", config.get("lr", 0.03), 0.0, 10.0)),
        "batch_size": batch,
        "steps_per_second": speed,
        "seed": _setting("seed", "시드", lambda: integer("seed", config.get("seed", 0), minimum=0)),
    }
    if dataset == "points":
        points = config.get("points")
        check_points(points)
        settings["points"] = points
        settings["samples"] = len(points["x"])
    return settings


def _norm(a) -> float:
    return float(np.sqrt(np.sum(np.asarray(a, dtype=np.float64) ** 2)))


def _heatmap(a, limit: int = 4096) -> dict:
    """A 2-D view of array ``a`` for the page: rows, columns, the cells (row-major) as value / scale in
    [−1, 1] (``scale`` the largest magnitude), min, max, mean, std."""
    m = np.asarray(a, dtype=np.float64)
    m = m.reshape(1, -1) if m.ndim < 2 else m.reshape(m.shape[0], -1)
    if m.size > limit and m.shape[1] <= limit // 64:  # a tall matrix (784 × 8): every k-th row, all columns
        m = m[:: int(np.ceil(m.shape[0] / (limit // m.shape[1])))]
    elif m.size > limit:  # a large one: every k-th row and column
        k = int(np.ceil(np.sqrt(m.size / limit)))
        m = m[::k, ::k]
    scale = float(np.max(np.abs(m))) or 1.0
    return {
        "rows": m.shape[0],
        "cols": m.shape[1],
        "scale": scale,
        "data": np.round(m / scale, 4).ravel().tolist(),
        "min": float(m.min()),
        "max": float(m.max()),
        "mean": float(m.mean()),
        "std": float(m.std()),
    }


class PageHooks(Callback):
    """The job's part in its Trainer's loop (see the module docstring); it runs in the training
    thread, which holds the job's lock except while it waits between two steps."""

    order = 40  # after the history

    def __init__(self, job):
        self.job = job

    def on_train_begin(self, trainer):
        self.job._lock.acquire()
        self.job._between_steps(trainer)

    def on_before_update(self, trainer, grads, loss):
        self.job._grads = grads

    def on_step_end(self, trainer, loss):
        self.job._stepped(trainer.current_iter, float(loss))
        self.job._between_steps(trainer)

    def on_train_end(self, trainer):
        self.job._lock.release()

    def on_exception(self, trainer, error):
        self.job._lock.release()

    def description(self):
        return None


class TrainingJob:
    """One network training in a thread (see the module docstring)."""

    def __init__(self, config: dict, ticket=None):
        from .. import optim
        from ..nets import MultiLayerNet

        #: the page's number for this job (its snapshots carry it, so frames of an older job are told apart)
        self.ticket = ticket if isinstance(ticket, int) and not isinstance(ticket, bool) else None
        self.config = validate_config(config)
        c = self.config
        self.data = TrainData(c)
        self.x, self.t, self.x_test, self.t_test = self.data.x, self.data.t, self.data.x_test, self.data.t_test
        self.net = MultiLayerNet(
            self.x.shape[1],
            c["hidden"],
            len(self.data.classes),
            activation=c["activation"],
            weight_init_std="relu" if c["activation"] == "relu" else "sigmoid",
            dtype="float32",
            seed=c["seed"],
        )
        self.optimizer = getattr(optim, c["optimizer"])(lr=c["lr"])
        self.trainer = Trainer(
            self.net,
            self.x,
            self.t,
            epochs=EPOCHS,
            mini_batch_size=c["batch_size"],
            optimizer=self.optimizer,
            verbose=False,
            callbacks=[PageHooks(self)],
            seed=c["seed"],
        )
        self.diverged = None  # {"step", "loss", "message"} once the divergence guard ended the run
        self.layers = [(name, keys) for name, _, keys in self.net.parameters_by_layer() if keys]
        self.titles = layer_titles(self.net.layers.items())
        self.step_count = 0
        self.losses: list = []
        self.loss_every = 1  # each kept loss point covers this many steps
        self.accuracies: list = []
        self.norms: list = []  # per kept point: {layer name: ‖dW‖}
        self.inspected = "W1"
        self._grads = None
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._single = threading.Event()
        self._stopped = threading.Event()
        self._snapshot = None
        self._version = 0
        self._next_step = self._last_snapshot = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="layerprop-lab-training", daemon=True)
        self._grid = self._make_grid() if self.x.shape[1] == 2 else None
        self._publish()
        self._thread.start()

    # -- commands ------------------------------------------------------------------------------
    def start(self):
        if self.diverged is None:  # a diverged network stays where it is: the page offers Reset
            self._running.set()
        self._publish()

    def pause(self):
        self._running.clear()
        self._publish()

    def step(self):
        """One step (while paused)."""
        self._single.set()

    def stop(self, timeout: float = 5.0):
        self._stopped.set()
        self._running.set()  # wake the thread so it sees the stop
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._running.is_set() and not self._stopped.is_set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def inspect(self, key: str):
        """Carry ``key`` in the snapshots as a heatmap: a parameter ('W1') or a layer's output ('Relu1')."""
        if key not in self.net.params and key not in self.net.layers:
            known = ", ".join([*self.net.params, *self.net.layers])
            raise LabLimitError(f"unknown parameter or layer {key!r}; the network has {known}")
        self.inspected = key
        with self._lock:
            self._publish_locked()

    def export(self, kind: str) -> tuple:
        """``(file name, media type, bytes)`` of the network as it is now: ``kind`` 'model', 'python' or 'onnx'."""
        if kind not in exports.FORMATS:
            raise LabLimitError(
                f"unknown export {kind!r}; choose one of {', '.join(exports.FORMATS)}",
                f"모르는 내보내기 형식 {kind!r}: {', '.join(exports.FORMATS)} 중에서 고르세요",
            )
        data = self.data
        with self._lock:  # the weights of one step, not half of the next
            steps = self.step_count
            net = exports.fold_scaling(self.net, data.center, data.scale)
        name = self.config["dataset"] if self.config["dataset"] != "points" else "data"
        suffix, media = exports.FORMATS[kind]
        filename = f"layerprop-lab-{name}-{steps}{suffix}"
        if kind == "model":
            points = data.points() if data.two_d else None
            return filename, media, exports.model_file(net, exports.metadata(self.config, steps, points))
        if kind == "onnx":
            return filename, media, exports.onnx_file(net)
        frame = {"x": data.raw.tolist(), "t": data.t.tolist(), "columns": data.columns, "name": data.name}
        frame.update(center=data.center, scale=data.scale)
        script = exports.python_script(self.config, steps, data.classes, frame)
        return filename, media, script.encode("utf-8")

    def snapshot(self, after_version: int = -1):
        """``(version, snapshot)``: the latest snapshot (``None`` if it is not newer than ``after_version``)."""
        with self._lock:
            if self._version <= after_version:
                return self._version, None
            return self._version, self._snapshot

    # -- the thread ----------------------------------------------------------------------------
    def _run(self):
        try:
            self.trainer.train()
        except TrainingDiverged as exc:  # the guard put the last good weights back
            with self._lock:
                self._running.clear()
                step, loss = self.trainer.current_iter, float(self.net.last_loss)  # the loss that blew up
                self.step_count = step
                self.losses.append([step, loss])  # the curve shows the blow-up
                self.diverged = {"step": step, "loss": loss, "message": error_answer(exc)["error"]}
                self._publish_locked()

    def _between_steps(self, trainer):
        """Publish when due, then wait — for the pace, while paused (a single step passes), or for
        the stop — with the lock released, so that the page's commands can use the network."""
        if not self._running.is_set() or time.monotonic() - self._last_snapshot >= SNAPSHOT_INTERVAL_S:
            self._last_snapshot = time.monotonic()
            self._publish_locked()
        period = 1.0 / self.config["steps_per_second"]
        self._lock.release()
        try:
            while not self._stopped.is_set():
                if not self._running.is_set():
                    if self._single.wait(0.05):
                        self._single.clear()
                        return
                    continue
                now = time.monotonic()
                if now >= self._next_step:
                    self._next_step = max(self._next_step + period, now - 0.1)
                    return
                time.sleep(min(self._next_step - now, 0.02))
            trainer.stop()  # the job stops: the run ends after this step
        finally:
            self._lock.acquire()

    def _stepped(self, step: int, loss: float):
        """Keep the step's loss and the gradient norm of each layer's weights."""
        self.step_count = step
        grads = self._grads
        if self.step_count % self.loss_every == 0:
            self.losses.append([self.step_count, loss])
            self.norms.append([self.step_count, {name: _norm(grads[keys["W"]]) for name, keys in self.layers}])
            if len(self.losses) >= CURVE_POINTS:  # keep the curves short: thin them
                self.losses = self.losses[::2]
                self.norms = self.norms[::2]
                self.loss_every *= 2

    # -- snapshots -----------------------------------------------------------------------------
    def _layer_output(self, name: str, batch: int = 64):
        """The output of layer ``name`` on the first ``batch`` samples, and the loss's gradient there.

        One forward pass layer by layer (inference mode), then backward from the loss, keeping the
        ``dout`` that reaches the layer. Runs under the job's lock: the next training step
        recomputes every gradient it uses.
        """
        net = self.net
        h = self.x[:batch]
        output = None
        for layer_name, layer in net.layers.items():
            h = layer.forward(h, False) if getattr(layer, "has_train_mode", False) else layer.forward(h)
            if layer_name == name:
                output = h
        net.last_layer.forward(h, self.t[:batch])
        dout = net.last_layer.backward(1.0)
        for layer_name, layer in reversed(net.layers.items()):
            if layer_name == name:
                return output, dout
            dout = layer.backward(dout)
        raise LabLimitError(f"unknown layer {name!r}")

    def _make_grid(self):
        axis = np.linspace(-EXTENT, EXTENT, GRID, dtype=np.float32)
        xx, yy = np.meshgrid(axis, axis[::-1])  # row 0 at the top (largest y)
        return np.stack([xx.ravel(), yy.ravel()], axis=1)

    def _publish(self):
        with self._lock:
            self._publish_locked()

    def _publish_locked(self):
        with np.errstate(all="ignore"):  # a network that blew up computes inf and NaN: sent as null
            self._publish_unchecked()

    def _publish_unchecked(self):
        net = self.net
        predicted = np.concatenate(
            [net.predict(self.x[i : i + 1000]).argmax(axis=1) for i in range(0, len(self.x), 1000)]
        )
        accuracy = float(np.mean(predicted == self.t))
        test = float(net.accuracy(self.x_test, self.t_test)) if self.x_test is not None else None
        if not self.accuracies or self.accuracies[-1][0] != self.step_count:
            self.accuracies.append([self.step_count, accuracy])
            if len(self.accuracies) > CURVE_POINTS:
                self.accuracies = self.accuracies[::2]
        data = self.data
        snap = {
            "ticket": self.ticket,
            "step": self.step_count,
            "running": self.running and self.diverged is None,
            "diverged": self.diverged,
            "config": {k: v for k, v in self.config.items() if k != "points"},  # the page has its points
            "loss": self.losses[-1][1] if self.losses else None,
            "accuracy": accuracy,
            "test_accuracy": test,
            "losses": self.losses,
            "accuracies": self.accuracies,
            "norms": self.norms,
            "layers": [
                {
                    "name": name,
                    "title": self.titles[name],
                    "params": {k: list(net.params[v].shape) for k, v in keys.items()},
                    "keys": keys,
                }
                for name, keys in self.layers
            ],
            "network": list(net.layers) + [type(net.last_layer).__name__],
            "titles": {**self.titles, type(net.last_layer).__name__: loss_title(net.last_layer)},
            "classes": data.classes,
            "columns": data.columns,
        }
        key = self.inspected
        if key in net.params:
            value, grad = net.params[key], (self._grads[key] if self._grads is not None else None)
        else:
            value, grad = self._layer_output(key)
        snap["inspect"] = {
            "key": key,
            "kind": "weight"
            if key in net.params and np.ndim(value) == 2
            else ("bias" if key in net.params else "output"),
            "shape": list(np.shape(value)),
            "value": _heatmap(value),
            "grad": None if grad is None else _heatmap(grad),
        }
        if self._grid is not None:
            scores = net.predict(self._grid)
            e = np.exp(scores - scores.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            snap["boundary"] = {
                "size": GRID,
                "extent": EXTENT,
                "center": data.center.tolist(),  # the data's own coordinates: center + scale · u
                "scale": data.scale.tolist(),
                "classes": np.argmax(p, axis=1).tolist(),
                "confidence": np.round(p.max(axis=1), 3).tolist(),
            }
            if "points" not in (self._snapshot or {}):
                points = {"x": np.round(self.x, 3).tolist(), "t": self.t.tolist()}
            else:
                points = self._snapshot["points"]
            snap["points"] = {"x": points["x"], "t": points["t"], "predicted": predicted.tolist()}
        elif self.config["dataset"] == "mnist":
            W1 = np.asarray(net.params["W1"][:, :16], dtype=np.float64)
            snap["filters"] = [np.round(W1[:, i], 4).tolist() for i in range(W1.shape[1])]
        self._snapshot = finite_only(snap)
        self._version += 1


class JobSlots:
    """At most ``LIMITS['jobs']`` training jobs at once (one per open train page)."""

    def __init__(self, limit: int | None = None):
        self.limit = LIMITS["jobs"] if limit is None else limit
        self._jobs: set = set()
        self._lock = threading.Lock()

    def open(self, config: dict, ticket=None) -> TrainingJob:
        with self._lock:
            self._jobs = {job for job in self._jobs if job.alive}
            if len(self._jobs) >= self.limit:
                raise LabLimitError(
                    f"{len(self._jobs)} training jobs are running, the limit is {self.limit}: "
                    "close another train page first",
                    f"학습 {len(self._jobs)}개가 실행 중이고 제한은 {self.limit}개입니다: "
                    "다른 학습 화면을 먼저 닫으세요",
                )
            job = TrainingJob(config, ticket)
            self._jobs.add(job)
            return job

    def close(self, job):
        if job is None:
            return
        job.stop()
        with self._lock:
            self._jobs.discard(job)

    def close_all(self):
        with self._lock:
            jobs, self._jobs = list(self._jobs), set()
        for job in jobs:
            job.stop()


class TrainSession:
    """One train page's (or notebook widget's) conversation with its job, over the page's protocol.

    Commands (JSON objects ``{"cmd": …}``): ``create`` ``{config, ticket, start}`` (a new job in
    place of the last; ``start`` sets it running), ``start``, ``pause``, ``step``, ``inspect``
    ``{key}``, ``export`` ``{format}`` and ``close``. :meth:`handle` returns the replies to send back —
    an ``error`` (with the command and the message in English and Korean) or an ``export`` (the
    file, base64); the snapshots are read from :attr:`job`. A command that needs a job is ignored
    while there is none.
    """

    COMMANDS = ("create", "start", "pause", "step", "inspect", "export", "close")

    def __init__(self, slots: JobSlots):
        self.slots = slots
        self.job = None

    def handle_text(self, text: str) -> list:
        try:
            message = json.loads(text)
        except ValueError as exc:
            return [self._error(None, exc)]
        return self.handle(message)

    def handle(self, message) -> list:
        command = message.get("cmd") if isinstance(message, dict) else None
        try:
            if command not in self.COMMANDS:
                raise LabLimitError(f"unknown command {command!r}", f"모르는 명령 {command!r}")
            if command == "create":
                old, self.job = self.job, None
                self.slots.close(old)
                self.job = self.slots.open(message.get("config") or {}, message.get("ticket"))
                if message.get("start") is True:
                    self.job.start()
            elif command == "close":
                self.close()
            elif self.job is None:
                pass
            elif command == "export":
                kind = message.get("format")
                filename, media, data = self.job.export(kind)
                encoded = base64.b64encode(data).decode("ascii")
                return [
                    {
                        "type": "export",
                        "format": kind,
                        "filename": filename,
                        "media": media,
                        "size": len(data),
                        "data": encoded,
                    }
                ]
            elif command == "inspect":
                self.job.inspect(str(message.get("key")))
            else:
                getattr(self.job, command)()
        except REQUEST_ERRORS as exc:
            return [self._error(command, exc)]
        return []

    @staticmethod
    def _error(command, exc) -> dict:
        answer = error_answer(exc)
        return {"type": "error", "cmd": command, "message": answer["error"], "message_ko": answer.get("error_ko")}

    def close(self):
        job, self.job = self.job, None
        self.slots.close(job)

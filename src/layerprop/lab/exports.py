"""What the train page exports: the trained network as a model file or ONNX, and a Python script
that rebuilds the data, the network and the training.

- **Model file** (``.npz``, written by :func:`layerprop.io.save_model`): ``layerprop evaluate``,
  ``predict`` and ``export`` read it. Its metadata says what it was trained on: ``{"run":
  {"dataset": "mnist"}}`` for MNIST (so ``evaluate`` tests it on the MNIST test set), and for 2-D
  data ``{"lab": {"classes", "columns", "points"}}`` — the points in their own coordinates, on which
  ``evaluate`` tests it.
- **ONNX** (:func:`layerprop.interop.onnx_export.export_onnx`): the same network, for ONNX Runtime
  or Netron.
- **Python script**: plain layerprop code — the data (the toy set with its seed, the MNIST subset,
  or the points written out), the network and the optimizer with the page's settings, and the
  :class:`~layerprop.training.Trainer` with the page's seed, stopped after the page's number of
  steps — that trains the same network step for step (the lab trains through the same Trainer)
  and writes the same model file.

The lab trains 2-D data in a square around it: ``u = (x − center) / scale`` (:func:`frame_of`). The
exported network takes the data's own coordinates instead: the scaling is folded into the first
Affine layer (:func:`fold_scaling`), so ``x·W1' + b1' = u·W1 + b1``.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np

#: half the side of the square the lab trains 2-D data in (and draws the boundary over)
EXTENT = 1.8
#: the data's bounding box is widened by this factor before it is scaled into the square
MARGIN = 1.1
#: what each export is called and how it is sent: format → (file suffix, media type)
FORMATS = {
    "model": (".npz", "application/octet-stream"),
    "python": (".py", "text/x-python; charset=utf-8"),
    "onnx": (".onnx", "application/octet-stream"),
}


def frame_of(x, square: bool) -> tuple:
    """``(center, scale)`` (float64, one per feature) that move points ``x`` into the square
    [−EXTENT, EXTENT]² — the identity for points drawn in that square (``square``)."""
    if square:
        return np.zeros(2), np.ones(2)
    low, high = x.min(axis=0), x.max(axis=0)
    center = (low + high) / 2
    half = (high - low) / 2 * MARGIN
    half = np.where(half > 0, half, np.maximum(np.abs(center), 1.0) * 0.1)  # one distinct value: a strip
    return center, half / EXTENT


def is_identity(center, scale) -> bool:
    return bool(np.all(center == 0) and np.all(scale == 1))


def fold_scaling(net, center, scale):
    """A copy of ``net`` that takes the data's own coordinates: W1' = W1 / scale, b1' = b1 − center·W1'."""
    net = copy.deepcopy(net)
    if not is_identity(center, scale):
        W1, b1 = net.params["W1"], net.params["b1"]
        W1[...] = W1 / scale[:, None]
        b1[...] = b1 - center @ W1
    return net


def metadata(config: dict, steps: int, points: dict | None) -> dict:
    """The model file's metadata: the run (MNIST) or the 2-D points, classes and feature names."""
    settings = {k: v for k, v in config.items() if k != "points"}
    meta = {"source": "layerprop lab", "steps": steps, "lab": {"config": settings}}
    if config["dataset"] == "mnist":
        meta["run"] = {"dataset": "mnist"}
    else:
        meta["lab"].update(points)
    return meta


def _written(write) -> bytes:
    """The bytes that ``write(path)`` writes to a fresh file."""
    with tempfile.TemporaryDirectory(prefix="layerprop-lab-") as folder:
        path = Path(folder) / "export"
        write(path)
        return path.read_bytes()


def model_file(net, meta: dict) -> bytes:
    from ..io import save_model

    return _written(lambda path: save_model(path, net, metadata=meta))


def onnx_file(net) -> bytes:
    from ..interop.onnx_export import export_onnx

    return _written(lambda path: export_onnx(net, path))


# -- the Python script ---------------------------------------------------------------------------
_NAMES = {"moons": "two moons", "circles": "circles", "spirals": "spirals", "xor": "XOR", "mnist": "MNIST"}


def _array_literal(rows) -> str:
    return "[\n" + "".join(f"    [{', '.join(repr(v) for v in row)}],\n" for row in rows) + "]"


def python_script(config: dict, steps: int, classes: list, data: dict) -> str:
    """The script (see the module docstring). ``data``: for points ``{"x", "t", "columns", "name",
    "center", "scale"}`` (raw coordinates, the frame); unused otherwise."""
    c = config
    dataset = c["dataset"]
    activation = c["activation"]
    init = "relu" if activation == "relu" else "sigmoid"
    sizes = " → ".join(str(n) for n in [2 if dataset != "mnist" else 784, *c["hidden"], len(classes)])
    imports = ["import numpy as np", "", "from layerprop.io import save_model"]
    if dataset == "mnist":
        imports.append("from layerprop.datasets import load_mnist")
        what = f"{c['samples']} MNIST training images (picked with seed {c['seed']})"
        data_lines = [
            "(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=True)",
            f"pick = np.random.default_rng(SEED).choice(len(x_train), {c['samples']}, replace=False)",
            "x, t = x_train[pick].astype(np.float32), t_train[pick].astype(np.int64)",
        ]
        meta = '{"run": {"dataset": "mnist"}}'
        fold = []
    elif dataset in _NAMES:
        imports.append("from layerprop.lab.toy import make_toy")
        what = f"{_NAMES[dataset]}, {c['samples']} points (seed {c['seed']})"
        data_lines = [f"x, t = make_toy({dataset!r}, {c['samples']}, seed=SEED)"]
        meta = '{"lab": {"classes": CLASSES, "columns": ["x1", "x2"], "points": {"x": x.tolist(), "t": t.tolist()}}}'
        fold = []
    else:
        source = f"the points of {data['name']}" if data.get("name") else "the points drawn on the page"
        what = f"{source}, {len(data['t'])} points"
        rows = [[*p, k] for p, k in zip(data["x"], data["t"])]
        data_lines = [
            f"# {source}: {data['columns'][0]}, {data['columns'][1]} and the class (an index into CLASSES)",
            f"POINTS = np.array({_array_literal(rows)})",
            "x_raw, t = POINTS[:, :2], POINTS[:, 2].astype(np.int64)",
        ]
        center, scale = data["center"], data["scale"]
        if is_identity(center, scale):
            data_lines.append("x = x_raw.astype(np.float32)")
            fold = []
        else:
            data_lines += [
                f"# the lab trains in a square around the data: each feature moved, scaled into ±{EXTENT / MARGIN:.2f}",
                f"center = np.array([{', '.join(repr(float(v)) for v in center)}])",
                f"scale = np.array([{', '.join(repr(float(v)) for v in scale)}])",
                "x = ((x_raw - center) / scale).astype(np.float32)",
            ]
            fold = [
                "",
                "# the model file takes the data's own coordinates: fold the scaling into Affine 1",
                "# ((x - center) / scale)·W1 + b1 = x·W1' + b1'  with  W1' = W1 / scale,  b1' = b1 - center·W1'",
                'W1, b1 = net.params["W1"], net.params["b1"]',
                "W1[...] = W1 / scale[:, None]",
                "b1[...] = b1 - center @ W1",
            ]
        meta = (
            f'{{"lab": {{"classes": CLASSES, "columns": {list(data["columns"])!r}, '
            '"points": {"x": x_raw.tolist(), "t": t.tolist()}}}'
        )
    imports += [
        "from layerprop.nets import MultiLayerNet",
        f"from layerprop.optim import {c['optimizer']}",
        "from layerprop.training import Callback, Trainer",
    ]
    layers = " → ".join(
        [f"Affine {i + 1} → {activation if activation != 'relu' else 'ReLU'} {i + 1}" for i in range(len(c["hidden"]))]
        + [f"Affine {len(c['hidden']) + 1} → SoftmaxWithLoss"]
    )
    lines = [
        '"""layerprop lab, exported: the train page\'s data, network and training, rebuilt with layerprop.',
        "",
        "Run it (python THIS_FILE.py): it trains the network the page showed, step for step with the same",
        "seed, and writes lab-model.npz (layerprop evaluate / predict / export read it).",
        "",
        f"Data: {what}. Network: {sizes}, {activation}. {c['optimizer']}, learning rate {c['lr']}, "
        f"batch {c['batch_size']}; {steps} steps.",
        '"""',
        "",
        *imports,
        "",
        f"SEED = {c['seed']}",
        f"STEPS = {steps}  # the steps the page had trained when it was exported",
        f"CLASSES = {list(classes)!r}",
        "",
        "# the data",
        *data_lines,
        "",
        f"# the network: {layers}",
        f"net = MultiLayerNet({2 if dataset != 'mnist' else 784}, {list(c['hidden'])!r}, len(CLASSES), "
        f'activation="{activation}", weight_init_std="{init}", dtype="float32", seed=SEED)',
        f"optimizer = {c['optimizer']}(lr={c['lr']!r})",
        "",
        "",
        "class StopAfter(Callback):",
        '    """End the run after STEPS steps, where the page was."""',
        "",
        "    def on_step_end(self, trainer, loss):",
        "        if trainer.current_iter >= STEPS:",
        "            trainer.stop()",
        "",
        "",
        f"# the training: mini-batches of {c['batch_size']} samples, in a new order each epoch; STEPS steps in all",
        "trainer = Trainer(",
        f"    net, x, t, epochs=STEPS, mini_batch_size={c['batch_size']}, optimizer=optimizer, verbose=False,",
        "    callbacks=[StopAfter()], seed=SEED,",
        ")",
        "trainer.train()",
        'print(f"after {trainer.current_iter} steps: accuracy {net.accuracy(x, t):.1%} on the training data")',
        *fold,
        "",
        f'save_model("lab-model.npz", net, metadata={meta})',
        'print("wrote lab-model.npz")',
        "",
    ]
    return "\n".join(lines)

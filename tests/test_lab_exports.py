"""Export from the train page, in headless Chromium: the model file, the Python script and ONNX each
load and predict the same classes as the page; the script trains the very same weights; an MNIST
model file evaluates on the MNIST test set. (Fixtures: tests/conftest.py.)"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lab_helpers import blobs_csv, open_train_page, train_steps, wait_for_job

from layerprop.io import load_model

SRC = Path(__file__).resolve().parent.parent / "src"
EXTENT = 1.8


def _download(page, button, folder) -> Path:
    with page.expect_download() as download:
        page.click(button)
    path = folder / download.value.suggested_filename
    download.value.save_as(path)
    return path


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _grid(boundary) -> np.ndarray:
    """The points of the page's boundary grid, in the data's own coordinates (row 0 at the top)."""
    axis = np.linspace(-EXTENT, EXTENT, boundary["size"], dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis[::-1])
    u = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float64)
    return u * np.array(boundary["scale"]) + np.array(boundary["center"])


def test_each_export_predicts_what_the_page_shows(lab, chromium, tmp_path):
    rows = blobs_csv(tmp_path / "animals.csv")
    raw = np.array([r[:2] for r in rows], dtype=np.float32)
    page = open_train_page(chromium, lab)
    page.set_input_files("#upload", str(tmp_path / "animals.csv"))
    wait_for_job(page, "s.config.dataset === 'points'")
    page.fill("#hidden", "6")
    page.dispatch_event("#hidden", "change")
    wait_for_job(page, "s.layers.length === 2")
    latest = train_steps(page, 120)
    # the page's classes: for its points (in the file's order) and on its boundary grid
    shown_points = np.array(latest["points"]["predicted"])
    shown_grid = np.array(latest["boundary"]["classes"])

    model_path = _download(page, "#export-model", tmp_path)
    assert model_path.suffix == ".npz" and f"-{latest['step']}" in model_path.name
    loaded = load_model(model_path)
    scores = loaded.model.predict(raw)
    assert np.array_equal(scores.argmax(axis=1), shown_points)
    grid_classes = loaded.model.predict(_grid(latest["boundary"]).astype(np.float32)).argmax(axis=1)
    assert np.mean(grid_classes == shown_grid) > 0.99  # the same boundary (a cell on it may round either way)
    assert loaded.metadata["lab"]["classes"] == ["cat", "dog", "fox"]

    evaluated = subprocess.run(
        [sys.executable, "-m", "layerprop", "evaluate", str(model_path)], capture_output=True, text=True, env=_env()
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert f"on the {len(rows)} points it was trained on" in evaluated.stdout
    assert f"accuracy: {latest['accuracy']:.4f}" in evaluated.stdout
    predicted = subprocess.run(
        [sys.executable, "-m", "layerprop", "predict", str(model_path), str(tmp_path / "animals.csv"), "--top", "1"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert predicted.returncode == 0, predicted.stderr
    names = [line.split(": ")[1].split()[0] for line in predicted.stdout.splitlines()]
    assert names == [["cat", "dog", "fox"][k] for k in shown_points]

    script = _download(page, "#export-python", tmp_path)
    assert script.suffix == ".py"
    ran = subprocess.run([sys.executable, script.name], cwd=tmp_path, capture_output=True, text=True, env=_env())
    assert ran.returncode == 0, ran.stderr
    rebuilt = load_model(tmp_path / "lab-model.npz").model
    for key, value in loaded.model.params.items():  # step for step the same training: the same weights
        assert np.array_equal(rebuilt.params[key], value), key
    assert np.array_equal(rebuilt.predict(raw).argmax(axis=1), shown_points)

    onnx_path = _download(page, "#export-onnx", tmp_path)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    onnx_scores, probabilities = session.run(None, {"x": raw})
    assert np.array_equal(onnx_scores.argmax(axis=1), shown_points)
    np.testing.assert_allclose(onnx_scores, scores, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    assert [e["format"] for e in page.evaluate("window.lab.train.exported")] == ["model", "python", "onnx"]


def test_a_toy_set_script_rebuilds_the_same_network(lab, chromium, tmp_path):
    page = open_train_page(chromium, lab)
    page.select_option("#optimizer", "Momentum")
    page.fill("#seed", "3")
    page.dispatch_event("#seed", "change")
    wait_for_job(page, "s.config.seed === 3 && s.config.optimizer === 'Momentum'")
    train_steps(page, 50)
    model = load_model(_download(page, "#export-model", tmp_path)).model
    script = _download(page, "#export-python", tmp_path)
    ran = subprocess.run([sys.executable, script.name], cwd=tmp_path, capture_output=True, text=True, env=_env())
    assert ran.returncode == 0, ran.stderr
    rebuilt = load_model(tmp_path / "lab-model.npz").model
    for key, value in model.params.items():
        assert np.array_equal(rebuilt.params[key], value), key


def test_an_mnist_model_file_evaluates_on_the_test_set(lab, chromium, tmp_path, mnist_data):
    page = open_train_page(chromium, lab)
    page.select_option("#dataset", "mnist")
    wait_for_job(page, "s.config.dataset === 'mnist'")
    latest = train_steps(page, 30)
    model_path = _download(page, "#export-model", tmp_path)
    loaded = load_model(model_path)
    assert loaded.metadata["run"]["dataset"] == "mnist"
    (x_train, _), _ = mnist_data
    assert loaded.model.predict(x_train[:5]).shape == (5, 10)
    evaluated = subprocess.run(
        [sys.executable, "-m", "layerprop", "evaluate", str(model_path)], capture_output=True, text=True, env=_env()
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "on the mnist test set (10000 images)" in evaluated.stdout
    accuracy = float(evaluated.stdout.split("test accuracy: ")[1].split()[0])
    assert abs(accuracy - latest["test_accuracy"]) < 0.05  # the page shows it on the first 1000 test images

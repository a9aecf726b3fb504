"""Reading pictures of digits for ``predict``: MNIST-format PNGs unchanged, photos and drawings
centred like MNIST, oversized pictures refused before they are decoded (issue 8, items 3 and 11)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PIL")
from PIL import Image

from layerprop.datasets.image_file import MAX_PIXELS, load_digit_image
from layerprop.errors import DataFileError

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def quick_network(mnist_data):
    """A 784-50-10 network after 200 SGD steps (about 90 % on the test set): enough to compare."""
    from layerprop.nets import MultiLayerNet
    from layerprop.optim import SGD

    (x_train, t_train), _ = mnist_data
    net = MultiLayerNet(784, [50], 10, dtype="float32", seed=0)
    optimizer, rng = SGD(lr=0.1), np.random.default_rng(0)
    for _ in range(200):
        batch = rng.integers(0, len(x_train), 100)
        optimizer.update(net.params, net.gradient(x_train[batch], t_train[batch]))
    return net


def to_uint8(sample) -> np.ndarray:
    return (np.asarray(sample).reshape(28, 28) * 255).round().astype(np.uint8)


def test_mnist_format_pngs_agree_with_the_arrays(tmp_path, mnist_data, quick_network):
    """MNIST test images saved as 28×28 white-on-black PNGs: predict sees what the model sees."""
    _, (x_test, _) = mnist_data
    count = 1000
    samples = []
    for i in range(count):
        path = tmp_path / f"{i}.png"
        Image.fromarray(to_uint8(x_test[i])).save(path)
        samples.append(load_digit_image(path))
    from_png = quick_network.predict(np.stack(samples).reshape(count, -1)).argmax(axis=1)
    from_arrays = quick_network.predict(x_test[:count]).argmax(axis=1)
    assert np.mean(from_png == from_arrays) >= 0.98
    # image #2 of the issue (a "1"): read back exactly
    np.testing.assert_allclose(samples[2].reshape(-1), x_test[2], atol=1 / 255)


def test_predict_command_on_mnist_pngs(tmp_path, capsys, mnist_data, quick_network):
    from layerprop.cli import main
    from layerprop.io import save_model

    _, (x_test, _) = mnist_data
    model = save_model(tmp_path / "model.npz", quick_network)
    paths = []
    for i in range(20):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(to_uint8(x_test[i])).save(paths[-1])
    assert main(["predict", str(model), *map(str, paths), "--top", "1"]) == 0
    printed = [int(line.split(": ")[1].split()[0]) for line in capsys.readouterr().out.strip().splitlines()]
    assert printed == quick_network.predict(x_test[:20]).argmax(axis=1).tolist()


def confident_digit(network, x_test, t_test):
    scores = network.predict(x_test[:200])
    probabilities = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    right = np.flatnonzero((scores.argmax(axis=1) == t_test[:200]) & (probabilities.max(axis=1) > 0.95))
    assert right.size
    return int(right[0])


def test_photo_of_a_dark_digit_on_paper(tmp_path, mnist_data, quick_network):
    """A 'photo': large, RGB, JPEG, dark ink on uneven light paper, off-centre."""
    _, (x_test, t_test) = mnist_data
    i = confident_digit(quick_network, x_test, t_test)
    ink = np.asarray(Image.fromarray(to_uint8(x_test[i])).resize((180, 180), Image.BILINEAR), dtype=np.float32)
    rng = np.random.default_rng(1)
    paper = 200 + 30 * np.linspace(0, 1, 400)[None, :] + rng.normal(0, 4, (300, 400))  # shading and grain
    paper[40:220, 160:340] -= ink * 0.7
    rgb = np.clip(np.stack([paper, paper * 0.97, paper * 0.92], axis=-1), 0, 255).astype(np.uint8)
    path = tmp_path / "photo.jpg"
    Image.fromarray(rgb).save(path, quality=90)
    sample = load_digit_image(path)
    assert sample.shape == (28, 28) and sample.dtype == np.float32
    assert int(quick_network.predict(sample.reshape(1, -1)).argmax()) == int(t_test[i])


def test_black_on_white_drawing(tmp_path, mnist_data, quick_network):
    """A 28×28 drawing in black on white is inverted, then used as an MNIST sample."""
    _, (x_test, t_test) = mnist_data
    i = confident_digit(quick_network, x_test, t_test)
    path = tmp_path / "drawing.png"
    Image.fromarray(255 - to_uint8(x_test[i])).save(path)
    sample = load_digit_image(path)
    np.testing.assert_allclose(sample.reshape(-1), x_test[i], atol=1 / 255)


def test_oversized_image_refused_before_decoding(tmp_path):
    """A 12000×12000 PNG (a few KB) is refused from its header, without Pillow's warning, in a
    child process whose peak memory stays far below what decoding it would take (144 MB grey,
    576 MB as floats)."""
    bomb = tmp_path / "bomb.png"
    Image.new("1", (12000, 12000)).save(bomb)
    assert bomb.stat().st_size < 100_000 and 12000 * 12000 > MAX_PIXELS
    small = tmp_path / "small.png"
    Image.new("L", (28, 28)).save(small)
    script = textwrap.dedent(
        """
        import resource, sys, warnings
        warnings.simplefilter("error")  # any warning that would reach the user fails the child
        from layerprop.datasets.image_file import load_digit_image
        from layerprop.errors import DataFileError
        try:
            load_digit_image(sys.argv[1])
        except DataFileError as error:
            print(error, file=sys.stderr)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        """
    )

    def peak_kb(path):
        proc = subprocess.run(
            [sys.executable, "-c", script, str(path)],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return int(proc.stdout.split()[-1]), proc.stderr

    bomb_peak, message = peak_kb(bomb)
    baseline, _ = peak_kb(small)
    assert "12000x12000" in message and str(MAX_PIXELS) in message and "Warning" not in message
    assert bomb_peak - baseline < 50_000  # KB: the pixels were never decoded


def test_pillow_bomb_error_becomes_data_file_error(tmp_path, monkeypatch):
    path = tmp_path / "wide.png"
    Image.new("1", (4000, 3000)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's own check now fires first
    with pytest.raises(DataFileError, match="too large"):
        load_digit_image(path)

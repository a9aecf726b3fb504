"""Reading pictures of digits for ``predict``: MNIST-format PNGs unchanged, photos and drawings
centred like MNIST, oversized pictures refused before they are decoded (issue 8, items 3 and 11)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import hostile_helpers as hostile
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


# --------------------------------------------------------------------------- issue 17: pictures
@pytest.fixture(scope="module")
def crafted_pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    ink = (2000, 5000, 3200, 3800)  # a tall bar: a "1"
    return {
        "rgba49": hostile.write_png(folder / "rgba49.png", 7000, 7000, color_type=6, ink=ink),
        "strip": hostile.wide_strip_png(folder / "strip.png", 50_000_000),
        "grey16": hostile.write_png(folder / "grey16.png", 7000, 7000, color_type=0, bit_depth=16, ink=ink),
        "small": hostile.write_png(folder / "small.png", 280, 280, color_type=0, ink=(80, 200, 128, 152)),
    }


PICTURE_CHILD = (
    """
import sys
from layerprop.datasets.image_file import load_digit_image
from layerprop.errors import DataFileError
try:
    sample = load_digit_image(sys.argv[1])
    print("SUM", float(sample.sum()))
except DataFileError as error:
    print(error, file=sys.stderr)
"""
    + hostile.PRINT_PEAK
)


@pytest.mark.parametrize(
    "name, expected",
    [("rgba49", "decoded in mode RGBA it would take 196000000 bytes"), ("strip", "a side of more than")],
)
def test_pixel_limits_count_the_mode_and_both_sides(crafted_pictures, name, expected):
    """A 49 MP RGBA PNG (about 200 KB) and a 50,000,000×1 PNG: before, 637 MB and 901 MB; now
    refused from the header, each within the memory of reading a small picture."""
    result = hostile.run_child(PICTURE_CHILD, crafted_pictures[name])
    baseline = hostile.run_child(PICTURE_CHILD, crafted_pictures["small"])
    assert result["rc"] == 0 and expected in result["err"], result["err"][-500:]
    assert result["peak_kb"] - baseline["peak_kb"] < 50_000  # KB: no pixel decoded


def test_16_bit_grey_is_read_within_the_budget(crafted_pictures):
    """'Also': a 7000×7000 16-bit grey PNG was refused as "wrong mode"; it is 98 MB decoded, within
    the budget, and read (box means scaled from 0–65535) with no copy of the whole picture."""
    result = hostile.run_child(PICTURE_CHILD, crafted_pictures["grey16"])
    baseline = hostile.run_child(PICTURE_CHILD, crafted_pictures["small"])
    assert result["rc"] == 0 and "SUM" in result["out"], result["err"][-500:]
    assert result["peak_kb"] - baseline["peak_kb"] < 150_000  # KB: the 98 MB picture, and no second copy


def test_16_bit_levels_match_8_bit_ones(tmp_path, mnist_data):
    _, (x_test, _) = mnist_data
    digit = to_uint8(x_test[3])
    eight = Image.fromarray(digit).resize((2100, 2100), Image.NEAREST)
    sixteen = Image.fromarray(digit.astype(np.uint16) * 257).resize((2100, 2100), Image.NEAREST)
    eight.save(tmp_path / "8.png")
    sixteen.save(tmp_path / "16.png")
    assert Image.open(tmp_path / "16.png").mode == "I;16"
    np.testing.assert_allclose(
        load_digit_image(tmp_path / "16.png"), load_digit_image(tmp_path / "8.png"), atol=2 / 255
    )
    small16 = Image.fromarray(digit.astype(np.uint16) * 257)  # 28×28: no reduction, levels scaled
    small16.save(tmp_path / "s16.png")
    np.testing.assert_allclose(load_digit_image(tmp_path / "s16.png").reshape(-1), x_test[3], atol=1 / 255)


@pytest.mark.parametrize("mode", ["1", "P", "LA", "RGB"])
def test_large_pictures_of_every_mode_are_reduced(tmp_path, mnist_data, mode):
    _, (x_test, _) = mnist_data
    digit = Image.fromarray(to_uint8(x_test[5])).resize((3000, 3000), Image.NEAREST)
    picture = digit.point(lambda v: 255 if v > 100 else 0).convert(mode) if mode == "1" else digit.convert(mode)
    picture.save(tmp_path / "big.png")
    reference = load_digit_image(_saved(digit, tmp_path / "ref.png"))
    sample = load_digit_image(tmp_path / "big.png")
    assert sample.shape == (28, 28) and np.abs(sample - reference).mean() < 0.05


def _saved(image, path):
    image.save(path)
    return path


def test_formats_that_run_programs_are_refused(tmp_path, monkeypatch):
    """'Also': Pillow hands EPS to Ghostscript; it is refused before any decoder or program runs."""
    import subprocess

    def no_program(*args, **kwargs):
        raise AssertionError(f"a program was started: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_program)
    path = hostile.eps_file(tmp_path / "digit.eps", tmp_path / "marker")
    with pytest.raises(DataFileError, match="formats read") as caught:
        load_digit_image(path)
    assert "Ghostscript" in str(caught.value) and not (tmp_path / "marker").exists()
    renamed = tmp_path / "digit.png"  # the name does not matter: the format is read from the bytes
    renamed.write_bytes(path.read_bytes())
    with pytest.raises(DataFileError, match="formats read"):
        load_digit_image(renamed)

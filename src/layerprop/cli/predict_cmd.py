"""``layerprop predict MODEL IMAGE…``: classify pictures of digits (any size; converted like MNIST).

A model exported by ``layerprop lab`` from 2-D data classifies points instead: each file is a CSV
file of two feature columns (a label column may follow; it is ignored), one point per line."""

from __future__ import annotations

import numpy as np

from ..backend import to_device, to_numpy
from ..layers import softmax
from .common import (
    UsageError,
    add_device_option,
    checked_scores,
    class_names,
    lab_points,
    load_model_file,
    needs_images,
    resolve_device,
    trained_on,
)


def add_parser(subparsers):
    p = subparsers.add_parser("predict", help="classify PNG/JPEG images with a trained model", description=__doc__)
    p.add_argument("model", help="a model.npz written by 'layerprop train' (or its run folder)")
    p.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="picture files (PNG, JPEG, …); CSV files of points for a lab 2-D model",
    )
    p.add_argument("--top", type=int, default=3, help="how many classes to list per image (default 3)")
    add_device_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..datasets.image_file import load_digit_image

    if args.top < 1:
        raise UsageError(f"--top must be at least 1, got {args.top}")
    device = resolve_device(args.device)
    loaded = load_model_file(args.model)
    network = loaded.model.to(device)
    points = lab_points(loaded, args.model)
    if points is not None:  # a lab model of 2-D data: the files hold points
        from ..lab.userdata import read_points

        names = points[2]
        read = [(path, read_points(_text(path))) for path in args.images]
        labels = [f"{path} #{k}" for path, rows in read for k in range(1, len(rows) + 1)]  # the k-th point
        x, dataset = np.concatenate([rows for _, rows in read]).astype(network.dtype), "lab"
    else:
        dataset = trained_on(loaded) or "mnist"
        names = class_names(dataset)
        samples = np.stack([load_digit_image(path) for path in args.images])
        x = samples.reshape(len(samples), 1, 28, 28) if needs_images(network) else samples.reshape(len(samples), -1)
        labels = args.images
    probabilities = to_numpy(softmax(checked_scores(network, to_device(x, device), args.model, dataset, len(names))))
    for label, p in zip(labels, probabilities):
        order = np.argsort(p)[::-1][: args.top]
        ranked = ", ".join(f"{names[k]} {p[k]:.1%}" for k in order)
        print(f"{label}: {names[order[0]]}  ({ranked})")
    return 0


def _text(path) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a text (CSV) file") from None

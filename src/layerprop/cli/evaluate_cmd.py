"""``layerprop evaluate MODEL``: test accuracy, per-class accuracy and the confusion matrix."""

from __future__ import annotations

import sys

import numpy as np

from ..backend import to_device, to_numpy
from .common import (
    DATASETS,
    add_device_option,
    checked_scores,
    class_names,
    lab_points,
    load_dataset,
    load_model_file,
    needs_images,
    resolve_device,
    trained_on,
)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "evaluate", help="test accuracy, per-class accuracy and confusion matrix of a model", description=__doc__
    )
    p.add_argument("model", help="a model.npz written by 'layerprop train' (or its run folder)")
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        default=None,
        help="data set to test on (default: the one the model was trained on)",
    )
    p.add_argument("--data-dir", default=None, help="folder holding the data set's IDX files")
    add_device_option(p)
    p.set_defaults(func=run)


def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """Counts[i, j] = how many samples of class i were predicted as class j."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (labels, predictions), 1)
    return counts


def format_confusion(counts: np.ndarray, names: list) -> str:
    """The confusion matrix as a text table (rows: true class, columns: predicted class)."""
    width = max(5, len(str(counts.max())) + 1)
    short = [name[: width - 1] for name in names]
    label_width = max(len("true ↓"), *(len(name) for name in names)) + 2
    lines = [" " * label_width + "predicted →", f"{'true ↓':<{label_width}}" + "".join(f"{s:>{width}}" for s in short)]
    for name, row in zip(names, counts):
        lines.append(f"{name:<{label_width}}" + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)


def run(args) -> int:
    device = resolve_device(args.device)
    loaded = load_model_file(args.model)
    network = loaded.model.to(device)
    trained = trained_on(loaded)
    points = lab_points(loaded, args.model) if args.dataset is None else None
    if points is not None:  # a model exported by layerprop lab from 2-D data: its own points
        x_test, t_test, names, _ = points
        x_test = x_test.astype(network.dtype)
        dataset, what = "lab", f"the {len(t_test)} points it was trained on in layerprop lab"
    else:
        dataset = args.dataset or trained or "mnist"
        if trained is not None and dataset != trained:
            print(
                f"layerprop evaluate: warning: {args.model} was trained on {trained}, not on {dataset}",
                file=sys.stderr,
            )
        _, (x_test, t_test) = load_dataset(dataset, args.data_dir, flatten=not needs_images(network), test_only=True)
        names = class_names(dataset)
        what = f"the {dataset} test set ({len(t_test)} images)"
    x_device = to_device(x_test, device)  # the test set moves once; predictions come back once
    # in batches whose forward pass fits the memory budget (checked from the layers' shapes first)
    predictions = to_numpy(checked_scores(network, x_device, args.model, dataset, len(names)).argmax(axis=1))
    labels = t_test.astype(np.int64)
    counts = confusion_matrix(labels, predictions, len(names))
    accuracy = float(np.trace(counts) / counts.sum())
    print(f"{args.model}: {type(network).__name__} on {what}")
    print(f"{'accuracy' if points is not None else 'test accuracy'}: {accuracy:.4f}")
    print("\nper-class accuracy:")
    for i, name in enumerate(names):
        total = counts[i].sum()
        print(f"  {name:<12} {counts[i, i] / total if total else float('nan'):.4f}  ({counts[i, i]}/{total})")
    print("\nconfusion matrix:")
    print(format_confusion(counts, names))
    return 0

"""Pieces the CLI commands share: data sets, option parsing helpers, model loading."""

from __future__ import annotations


class UsageError(Exception):
    """Bad command-line input found after parsing (exit code 2)."""


DATASETS = ("mnist", "fashion-mnist")


def load_dataset(name: str, data_dir=None, flatten: bool = True):
    """``((x_train, t_train), (x_test, t_test))`` of MNIST or Fashion-MNIST, float32 in [0, 1]."""
    from ..datasets import load_fashion_mnist, load_mnist

    if name == "mnist":
        return load_mnist(normalize=True, flatten=flatten, data_dir=data_dir or None)
    if name == "fashion-mnist":
        return load_fashion_mnist(normalize=True, flatten=flatten, data_dir=data_dir)
    raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def class_names(dataset: str) -> list:
    """Readable names of the ten classes of ``dataset``."""
    if dataset == "fashion-mnist":
        from ..datasets import FASHION_MNIST_CLASSES

        return list(FASHION_MNIST_CLASSES)
    return [str(d) for d in range(10)]


def parse_int_list(text: str, option: str) -> list:
    """'100,100' → [100, 100]; a clear usage error otherwise."""
    try:
        values = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise UsageError(f"{option} takes comma-separated sizes such as 100,100, got {text!r}") from None
    if not values or min(values) < 1:
        raise UsageError(f"{option} takes positive sizes such as 100,100, got {text!r}")
    return values


def add_device_option(parser):
    """``--device cpu|cuda|cuda:N|auto`` (default cpu)."""
    parser.add_argument(
        "--device",
        default="cpu",
        metavar="DEVICE",
        help="cpu (default), cuda, cuda:N (GPU N) or auto (cuda when a GPU is there); "
        "a GPU needs CuPy: pip install 'layerprop[gpu]'",
    )


def resolve_device(name: str) -> str:
    """The canonical device for ``--device``; a usage error (exit 2) naming ``pip install 'layerprop[gpu]'``
    when CuPy or the GPU is missing."""
    from ..backend import parse_device
    from ..errors import DeviceUnavailableError, MissingExtraError

    try:
        return parse_device(name)
    except (MissingExtraError, DeviceUnavailableError) as exc:
        raise UsageError(f"--device {name}: {exc}") from None


def needs_images(network) -> bool:
    """Whether ``network`` takes (N, C, H, W) images rather than flat vectors."""
    config = network.to_config()
    return "input_dim" in config


def load_model_file(path):
    """Load a model file for evaluate/predict, turning a missing file into a clear error."""
    import os

    from ..io import load_model

    if os.path.isdir(path):
        candidate = os.path.join(path, "model.npz")
        if not os.path.exists(candidate):
            raise UsageError(f"{path} is a directory without a model.npz")
        path = candidate
    if not os.path.exists(path):
        raise UsageError(f"no such model file: {path}")
    return load_model(path)


def checked_scores(network, x, model_path, dataset: str, num_classes: int):
    """``network.predict(x)``, after checking on one sample that the model takes ``dataset``'s
    inputs and has one output per class; otherwise a ModelFileError naming the model file."""
    from ..errors import LayerpropError, ModelFileError

    try:
        probe = network.predict(x[:1])
    except (LayerpropError, ValueError) as exc:
        raise ModelFileError(
            f"{model_path}: the model does not take {dataset} inputs of shape {tuple(x.shape[1:])} ({exc})"
        ) from None
    if probe.ndim != 2 or probe.shape[1] != num_classes:
        raise ModelFileError(
            f"{model_path}: the model has {probe.shape[-1] if probe.ndim else 1} outputs, but {dataset} has "
            f"{num_classes} classes (expected a model with one output per class)"
        )
    return network.predict(x)


def trained_on(loaded) -> str | None:
    """The data set a loaded model file says it was trained on (None when it does not say)."""
    run = (loaded.metadata or {}).get("run") if isinstance(loaded.metadata, dict) else None
    dataset = run.get("dataset") if isinstance(run, dict) else None
    return dataset if dataset in DATASETS else None


def lab_points(loaded, model_path) -> tuple | None:
    """``(x, t, classes, features)``: the 2-D points a model file exported by ``layerprop lab`` was
    trained on (in their own coordinates), or None when the file holds none. Damaged points are a
    ModelFileError naming the file."""
    from ..errors import ModelFileError
    from ..lab.userdata import check_points

    lab = loaded.metadata.get("lab") if isinstance(loaded.metadata, dict) else None
    if not isinstance(lab, dict) or not isinstance(lab.get("points"), dict):
        return None
    try:
        return check_points({**lab["points"], "classes": lab.get("classes"), "columns": lab.get("columns")})
    except ValueError as exc:
        raise ModelFileError(f"{model_path}: the lab's points in it are damaged ({exc})") from None

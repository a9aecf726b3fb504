"""Pieces the CLI commands share: data sets, option parsing helpers, model loading."""

from __future__ import annotations


class UsageError(Exception):
    """Bad command-line input found after parsing (exit code 2)."""


DATASETS = ("mnist", "fashion-mnist")
#: the data sets' names for people
DATASET_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
#: options that take a comma-separated list of sizes (parse_int_list), for the hint after a space
SIZE_LIST_OPTIONS = ("--hidden",)


def load_dataset(name: str, data_dir=None, flatten: bool = True, *, test_only: bool = False):
    """``((x_train, t_train), (x_test, t_test))`` of MNIST or Fashion-MNIST, float32 in [0, 1].

    With ``data_dir`` the files there are read and verified (not a cached copy of other files):
    a damaged or foreign file is reported, never passed over for the bundled copy. With
    ``test_only`` the training split is ``(None, None)`` and never turned into floats (188 MB that
    evaluating a model does not need).
    """
    from ..datasets import load_fashion_mnist, load_mnist
    from ..datasets.preprocess import normalize_images

    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    check_data_dir(data_dir, name)
    load = load_mnist if name == "mnist" else load_fashion_mnist
    splits = load(normalize=not test_only, flatten=flatten, data_dir=data_dir or None, cache=not data_dir)
    if not test_only:
        return splits
    (_, _), (x_test, t_test) = splits
    return (None, None), (normalize_images(x_test), t_test)


def check_data_dir(data_dir, dataset: str) -> None:
    """``--data-dir``: a folder holding the four IDX files of ``dataset`` (each ``.gz`` or not);
    a UsageError naming what is missing otherwise. Nothing (None or '') passes."""
    from pathlib import Path

    from ..datasets.fashion_mnist import FASHION_MNIST
    from ..datasets.known import locate_in_folder
    from ..datasets.mnist import MNIST

    if not data_dir:
        return
    folder = Path(data_dir)
    if not folder.is_dir():
        raise UsageError(f"--data-dir {data_dir}: {'not a folder' if folder.exists() else 'no such folder'}")
    spec = MNIST if dataset == "mnist" else FASHION_MNIST
    missing = [f.filename for f in spec.files if locate_in_folder(folder, f) is None]
    if missing:
        raise UsageError(
            f"--data-dir {data_dir} holds no {DATASET_TITLES[dataset]} file {missing[0]} (nor {missing[0]}.gz); "
            f"the folder needs {', '.join(f.filename for f in spec.files)}"
        )


def check_output_file(option: str, path) -> None:
    """An output file given as ``option``: its folder must exist and it must not be a folder itself."""
    import os

    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{option} {path} is a folder; give a file name")
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {path}: the folder {folder} does not exist (create it first)")


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
    """Whether ``network`` takes (N, C, H, W) images rather than flat vectors: the book's conv nets
    (their config has ``input_dim``) and any network whose first layer is a convolution or pooling."""
    from ..layers import AvgPooling, Convolution, Pooling

    if "input_dim" in network.to_config():
        return True
    first = next(iter(getattr(network, "layers", {}).values()), None)
    return isinstance(first, (Convolution, Pooling, AvgPooling))


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
    """``network.predict(x)``, in batches whose forward pass fits the memory budget of
    :mod:`layerprop.nets.memory`, after checking on one sample that the model takes ``dataset``'s
    inputs and has one output per class; otherwise a ModelFileError naming the model file."""
    from ..errors import LayerpropError, MemoryBudgetError, ModelFileError
    from ..nets.memory import batch_size_within

    try:
        batch = batch_size_within(network, tuple(x.shape[1:]))  # from the shapes: nothing allocated yet
        probe = network.predict(x[:1])
    except MemoryBudgetError as exc:
        raise ModelFileError(f"{model_path}: {exc}") from None
    except (LayerpropError, ValueError) as exc:
        raise ModelFileError(
            f"{model_path}: the model does not take {dataset} inputs of shape {tuple(x.shape[1:])} ({exc})"
        ) from None
    if probe.ndim != 2 or probe.shape[1] != num_classes:
        raise ModelFileError(
            f"{model_path}: the model has {probe.shape[-1] if probe.ndim else 1} outputs, but {dataset} has "
            f"{num_classes} classes (expected a model with one output per class)"
        )
    if len(x) <= batch:
        return network.predict(x)
    return network.xp.concatenate([network.predict(x[i : i + batch]) for i in range(0, len(x), batch)])


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

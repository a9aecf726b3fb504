"""Finding and loading the train/test image/label IDX files of an MNIST-like folder.

MNIST-like data sets (MNIST, Fashion-MNIST, KMNIST, EMNIST, ...) come as four IDX files named
after the pattern ``[<prefix>-]<split>-<kind>-idx<n>-ubyte[.gz]``, where ``<split>`` is
``train``, ``t10k`` or ``test`` and ``<kind>`` is ``images`` or ``labels``; ``-`` may also be
``_`` or ``.`` (``train-images.idx3-ubyte`` is a common variant).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from .idx import read_idx

#: The four roles of the files in an MNIST-like folder, in the order ``load_idx_folder`` uses.
ROLES = ("train-images", "train-labels", "test-images", "test-labels")

_IDX_NAME = re.compile(
    r"^(?:(?P<prefix>.*?)[-_.])?(?P<split>train|t10k|test)[-_.](?P<kind>images|labels)"
    r"[-_.]idx\d+[-_.]ubyte(?P<gz>\.gz)?$",
    re.IGNORECASE,
)


def find_idx_files(folder: str | os.PathLike[str], *, prefix: str | None = None) -> dict[str, Path]:
    """Map the roles ``train-images``, ``train-labels``, ``test-images``, ``test-labels`` to files.

    Only roles that are present appear in the result (an empty dict for a missing folder). When a
    file exists both compressed and uncompressed, the uncompressed one is chosen (it loads faster).

    :param prefix: choose the set whose names start with ``<prefix>-`` (e.g. ``"emnist-letters"``);
        ``""`` means names without a prefix. By default the folder must hold only one set, or one
        complete set among incomplete ones.
    :raises DataFileError: several complete sets with different prefixes and no ``prefix`` given.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    groups: dict[str, dict[str, list[Path]]] = {}
    for entry in folder.iterdir():
        match = _IDX_NAME.match(entry.name)
        if match is None or not entry.is_file():
            continue
        split = "test" if match["split"].lower() in ("t10k", "test") else "train"
        role = f"{split}-{match['kind'].lower()}"
        groups.setdefault((match["prefix"] or "").lower(), {}).setdefault(role, []).append(entry)

    if prefix is not None:
        chosen = groups.get(prefix.lower(), {})
    elif len(groups) <= 1:
        chosen = next(iter(groups.values()), {})
    else:
        complete = [name for name, roles in groups.items() if len(roles) == len(ROLES)]
        if len(complete) != 1:
            names = ", ".join(repr(name) for name in sorted(groups))
            raise DataFileError(
                f"{folder}: expected one set of MNIST-like IDX files, found sets with the prefixes {names}; "
                f"pass prefix=... to choose one"
            )
        chosen = groups[complete[0]]

    # Uncompressed before compressed, then alphabetical, so the choice is deterministic.
    return {role: min(paths, key=lambda p: (p.suffix.lower() == ".gz", p.name)) for role, paths in chosen.items()}


def load_idx_folder(
    folder: str | os.PathLike[str], *, prefix: str | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the four IDX files of an MNIST-like folder as ``((x_train, t_train), (x_test, t_test))``.

    The arrays are returned as stored (for MNIST: ``uint8`` images of shape ``(N, 28, 28)`` and
    ``uint8`` labels of shape ``(N,)``); no normalisation or reshaping is done. See
    :func:`find_idx_files` for the file names recognised and for ``prefix``.

    :raises FileNotFoundError: one of the four files is missing; the message lists what was found.
    :raises DataFileError: a file is not a valid IDX file, or a split has a different number of
        images and labels.
    """
    folder = Path(folder)
    files = find_idx_files(folder, prefix=prefix)
    missing = [role for role in ROLES if role not in files]
    if missing:
        found = ", ".join(sorted(path.name for path in files.values())) or "none"
        raise FileNotFoundError(
            f"{folder}: expected the IDX files {', '.join(f'{role}-idx?-ubyte[.gz]' for role in missing)} "
            f"(t10k- is accepted for test-); found {found}"
        )
    arrays = {role: read_idx(files[role]) for role in ROLES}
    for split in ("train", "test"):
        check_counts(
            arrays[f"{split}-images"],
            files[f"{split}-images"],
            arrays[f"{split}-labels"],
            files[f"{split}-labels"],
        )
    return (arrays["train-images"], arrays["train-labels"]), (arrays["test-images"], arrays["test-labels"])


def check_counts(images: np.ndarray, images_path: Path, labels: np.ndarray, labels_path: Path) -> None:
    """Raise :class:`DataFileError` unless there is one label per image."""
    image_count = images.shape[0] if images.ndim else 1
    label_count = labels.shape[0] if labels.ndim else 1
    if image_count != label_count:
        raise DataFileError(
            f"{labels_path}: count mismatch -- expected one label per image of {images_path} "
            f"({image_count} images), found {label_count} labels"
        )

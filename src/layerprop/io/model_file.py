"""Safe model files: one ``.npz`` archive with a JSON header and plain arrays, never pickle.

Layout of a model file (format ``"layerprop-model"``, format_version 1):

``__header__``
    uint8 array holding the UTF-8 bytes of a JSON object with the keys ``format``,
    ``format_version``, ``layerprop_version``, ``model_config`` (the network's ``to_config()``,
    including its ``"class"``), ``dtype`` (the model's floating dtype, e.g. ``"float32"``),
    ``optimizer_config`` (``optimizer.state_dict()[0]`` or null), ``history`` (or null),
    ``metadata`` (or null) and ``arrays`` (name -> shape and dtype of every stored array, so a
    damaged file is recognised).
``model/<name>``
    the arrays of ``model.state_dict()`` (names may contain ``/``).
``optim/<name>``
    the arrays of ``optimizer.state_dict()[1]``.

Reading uses ``np.load(file, allow_pickle=False)`` only, so loading a file never runs code from it;
a file that holds pickled objects is refused with :class:`~layerprop.errors.ModelFileError`, as is
any file that is not a complete, well-formed layerprop model file.

Nothing a file declares is trusted before it is checked against what the file holds, and what it
may cost is bounded before anything is allocated:

- the file must be a regular file (:func:`~layerprop.storage.inputs.open_input`: a FIFO or a
  device is refused at once, it is never waited on);
- decompressing its entries may add at most :data:`MAX_INFLATION` bytes to the file's size (read
  from the zip directory: a few kilobytes of deflated zeros cannot declare gigabytes of weights);
- the JSON header may hold at most :data:`MAX_HEADER_BYTES`, and parsing it may cost at most
  :data:`MAX_HEADER_MEMORY` (bounded from its bytes before parsing: a text of empty lists costs
  some 25 times its size once parsed);
- each array's ``.npy`` header must match the listing and the entry's size;
- the network is rebuilt within the parameter values the file holds (:func:`layerprop.nets.init.rebuilding`).

Using a loaded network (a forward pass over a batch) is bounded by the budget of
:mod:`layerprop.nets.memory`. Messages quote what the file holds through
:func:`~layerprop.errors.quoted` and :func:`~layerprop.errors.shown`: one short line whatever came.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..backend import to_numpy
from ..errors import ModelFileError, quoted, shown
from ..storage.atomic import atomic_write
from ..storage.inputs import InputTooLarge, open_input, parse_json
from ..storage.npyformat import read_npy_header

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LoadedModel",
    "save_model",
    "load_model",
    "read_model_file",
]

FORMAT = "layerprop-model"
FORMAT_VERSION = 1
HEADER_KEY = "__header__"
MODEL_PREFIX = "model/"
OPTIM_PREFIX = "optim/"
#: The most bytes the JSON header may take (a long run's history takes about a megabyte; parsing
#: JSON costs several times its size in memory).
MAX_HEADER_BYTES = 16 << 20
#: The most bytes that decompressing a model file's entries may add to the file's own size: a
#: few kilobytes of deflated zeros could otherwise claim gigabytes of memory (a drawing or an
#: export holds a network's weights three or four times over). Trained weights hardly compress,
#: so an honest compressed file stays far below it.
MAX_INFLATION = 32 << 20
#: The most memory parsing the JSON header may cost, bounded before parsing by
#: :func:`~layerprop.storage.inputs.json_parse_cost` (a long run's history of floats costs about
#: five times its text).
MAX_HEADER_MEMORY = 96 << 20


class LoadedModel(NamedTuple):
    """What :func:`load_model` returns."""

    model: Any
    optimizer: Any  # an Optimizer, or None when the file holds no optimizer state
    history: Any  # the saved training history (dict), or None
    metadata: Any  # the saved metadata (dict), or None
    header: dict  # the whole JSON header


# --------------------------------------------------------------------------- helpers
def _layerprop_version() -> str:
    from .. import __version__

    return __version__


def _json_default(value: Any) -> Any:
    """Let NumPy scalars and small arrays into the JSON header (as Python numbers and lists)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.tolist()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"object of type {type(value).__name__} is not JSON serializable")


def _check_json(what: str, value: Any) -> None:
    try:
        json.dumps(value, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-serializable: {exc}") from None


def _as_dict(what: str, value: Any) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) and callable(getattr(value, "to_dict", None)):
        value = value.to_dict()
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a dict, got {type(value).__name__}")
    value = dict(value)
    _check_json(what, value)
    return value


def _collect_arrays(what: str, prefix: str, arrays: Any) -> dict[str, np.ndarray]:
    if not isinstance(arrays, Mapping):
        raise TypeError(f"{what} must return a dict of arrays, got {type(arrays).__name__}")
    out = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"{what}: array names must be non-empty strings, got {name!r}")
        array = to_numpy(value)  # a model file always holds NumPy arrays, whatever device they came from
        if array.dtype.hasobject:
            raise TypeError(
                f"{what}: array {name!r} has dtype {array.dtype}; object arrays would need pickle "
                "and cannot be stored in a model file"
            )
        out[prefix + name] = array
    return out


def _model_dtype(config: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> str | None:
    dtype = config.get("dtype")
    if isinstance(dtype, str):
        try:
            return np.dtype(dtype).name
        except TypeError:
            return dtype
    floating = {a.dtype.name for a in arrays.values() if a.dtype.kind == "f"}
    if not floating:
        return None
    return floating.pop() if len(floating) == 1 else "mixed"


# --------------------------------------------------------------------------- save
def save_model(
    path: str | os.PathLike,
    model: Any,
    optimizer: Any = None,
    history: Any = None,
    metadata: Any = None,
    *,
    compress: bool = False,
) -> Path:
    """Write ``model`` (and optionally its optimizer state, training history and metadata) to
    ``path`` as one ``.npz`` file, atomically (:func:`layerprop.storage.atomic.atomic_write`): on any
    error or crash ``path`` is either the old file or the complete new one. The exact ``path`` is
    used (no ``.npz`` is appended).

    ``model`` needs ``to_config()`` (JSON-able dict with a ``"class"`` key) and ``state_dict()``
    (dict name -> array). ``optimizer`` needs ``state_dict()`` -> ``(config, arrays)``.
    ``history`` and ``metadata`` must be JSON-able dicts (NumPy scalars are converted).
    Returns the path written.
    """
    path = Path(os.fspath(path))
    config = model.to_config()
    if not isinstance(config, Mapping) or not isinstance(config.get("class"), str):
        raise TypeError(
            f"model.to_config() must return a dict with a 'class' key naming the network class, got {config!r}"
        )
    config = dict(config)
    _check_json("model.to_config()", config)
    arrays = _collect_arrays("model.state_dict()", MODEL_PREFIX, model.state_dict())

    optimizer_config = None
    if optimizer is not None:
        state = optimizer.state_dict()
        if not (isinstance(state, tuple) and len(state) == 2):
            raise TypeError("optimizer.state_dict() must return (config, arrays)")
        optimizer_config, optimizer_arrays = state
        if not isinstance(optimizer_config, Mapping) or "name" not in optimizer_config:
            raise TypeError("optimizer.state_dict()[0] must be a dict with a 'name' key")
        optimizer_config = dict(optimizer_config)
        _check_json("optimizer.state_dict()[0]", optimizer_config)
        arrays.update(_collect_arrays("optimizer.state_dict()[1]", OPTIM_PREFIX, optimizer_arrays))

    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "layerprop_version": _layerprop_version(),
        "model_config": config,
        "dtype": _model_dtype(config, arrays),
        "optimizer_config": optimizer_config,
        "history": _as_dict("history", history),
        "metadata": _as_dict("metadata", metadata),
        "arrays": {name: {"shape": list(a.shape), "dtype": a.dtype.str} for name, a in arrays.items()},
    }
    header_bytes = json.dumps(header, default=_json_default, ensure_ascii=False).encode("utf-8")
    contents = {HEADER_KEY: np.frombuffer(header_bytes, dtype=np.uint8), **arrays}

    with atomic_write(path) as handle:
        (np.savez_compressed if compress else np.savez)(handle, **contents)
    return path


# --------------------------------------------------------------------------- read
def _fail(path: Any, message: str) -> ModelFileError:
    return ModelFileError(f"{os.fspath(path)}: {message}")


def _read_npy_header(member: Any) -> tuple[tuple[int, ...], np.dtype]:
    shape, _, dtype = read_npy_header(member)
    return shape, dtype


def _scan_member(npz: Any, path: Any, key: str, names: set[str]) -> tuple[tuple[int, ...], np.dtype]:
    """Look at one entry's .npy header before NumPy loads it: refuse object (pickled) arrays and
    arrays whose header claims more data than the entry holds (truncated or forged files).
    Returns the entry's declared shape and dtype; only the few header bytes are decompressed."""
    zip_file = npz.zip
    member_name = key + ".npy" if key + ".npy" in names else key
    info = zip_file.getinfo(member_name)
    with zip_file.open(member_name) as member:
        try:
            shape, dtype = _read_npy_header(member)
        except ValueError as exc:
            raise _fail(path, f"entry {quoted(key)} is not a valid NumPy array ({exc})") from None
        offset = member.tell()
    if dtype.hasobject:
        raise _fail(
            path,
            f"entry {quoted(key)} contains pickled Python objects (dtype {dtype}); the file is refused "
            "because loading it would run code from the file",
        )
    needed = math.prod(shape) * dtype.itemsize
    if needed > info.file_size - offset:
        raise _fail(
            path,
            f"entry {quoted(key)} is truncated or damaged: its header announces shape {shown(tuple(shape))} "
            f"({needed} bytes) but the entry holds {max(info.file_size - offset, 0)} bytes",
        )
    return tuple(shape), dtype


def _check_archive(path: Any, zip_file: Any) -> None:
    """Refuse duplicate entry names and archives that would inflate to more than
    :data:`MAX_INFLATION` bytes beyond their own size, using only the zip directory."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for info in zip_file.infolist():
        (repeated if info.filename in seen else seen).add(info.filename)
    duplicates = sorted(repeated)
    if duplicates:
        raise _fail(
            path,
            f"the archive holds several entries named {shown(duplicates)} (expected each name once; "
            "a reader would silently take one of them)",
        )
    inflation = sum(max(info.file_size - info.compress_size, 0) for info in zip_file.infolist())
    if inflation > MAX_INFLATION:
        raise _fail(
            path,
            f"the archive's entries decompress to {inflation} bytes more than they occupy; at most "
            f"{MAX_INFLATION} are accepted (a damaged file, or a decompression bomb)",
        )


def _listed_specs(path: Any, header: dict) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The header's ``arrays`` listing as name -> (shape, dtype), refusing malformed entries."""
    specs = {}
    for name, spec in header["arrays"].items():
        try:
            shape = tuple(spec["shape"])
            if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
                raise ValueError(shape)
            dtype = np.dtype(spec["dtype"])
        except (KeyError, TypeError, ValueError, OverflowError):
            raise _fail(path, f"the header's entry for array {quoted(name)} is malformed: {shown(spec)}") from None
        specs[name] = (shape, dtype)
    return specs


def _load_entry(npz: Any, path: Any, key: str) -> np.ndarray:
    try:
        value = npz[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise _fail(
                path,
                f"entry {quoted(key)} contains pickled Python objects; the file is refused because "
                "loading it would run code from the file",
            ) from None
        raise _fail(path, f"entry {quoted(key)} cannot be read ({exc})") from None
    if not isinstance(value, np.ndarray):
        raise _fail(path, f"entry {quoted(key)} is not a NumPy array")
    return value


def _parse_header(path: Any, raw: np.ndarray) -> dict:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _fail(
            path,
            f"the header must be a 1-D uint8 array of UTF-8 JSON, got dtype {raw.dtype} and shape {shown(raw.shape)}",
        )
    try:
        header = parse_json(raw.tobytes(), max_memory=MAX_HEADER_MEMORY, what="header")
    except InputTooLarge as exc:
        raise _fail(path, str(exc)) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail(path, f"the header is not valid UTF-8 JSON ({str(exc)[:200]})") from None
    if not isinstance(header, dict):
        raise _fail(path, f"the header must be a JSON object, got {type(header).__name__}")
    if header.get("format") != FORMAT:
        raise _fail(
            path,
            f"not a layerprop model file (format {shown(header.get('format'))}, expected {FORMAT!r})",
        )
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _fail(path, f"invalid format_version {shown(version)}")
    if version > FORMAT_VERSION:
        raise _fail(
            path,
            f"the file has format_version {version}, written by a newer layerprop "
            f"({header.get('layerprop_version', '?')}); this version reads format_version "
            f"{FORMAT_VERSION} at most: upgrade layerprop to load it",
        )
    for key in ("model_config", "arrays"):
        if not isinstance(header.get(key), dict):
            raise _fail(path, f"the header has no valid {key!r} entry")
    if not isinstance(header["model_config"].get("class"), str):
        raise _fail(path, "the header's model_config has no 'class' key")
    for key in ("optimizer_config", "history", "metadata"):
        if header.get(key) is not None and not isinstance(header[key], dict):
            raise _fail(path, f"the header's {key!r} entry must be an object or null")
    return header


def _open_npz(path: Any, handle: Any) -> Any:
    try:
        loaded = np.load(handle, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise _fail(
                path,
                "not a layerprop model file: it is neither an .npz archive nor a .npy array "
                "(pickled data, or another format, is refused)",
            ) from None
        raise _fail(path, f"not a layerprop model file ({exc})") from None
    except Exception as exc:  # BadZipFile, EOFError, OSError, ... on damaged files
        raise _fail(path, f"not a layerprop model file, or a damaged one ({type(exc).__name__}: {exc})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise _fail(path, "not a layerprop model file: it holds a single .npy array, not an .npz archive")
    return loaded


def read_model_file(
    path: str | os.PathLike,
) -> tuple[dict, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Read a model file without building anything: return ``(header, model_arrays,
    optimizer_arrays)``, the array dicts keyed by name without their ``model/``/``optim/`` prefix.

    Raises :class:`~layerprop.errors.ModelFileError` naming the file for anything that is not a
    complete, well-formed layerprop model file (including files holding pickled objects, which
    are refused without being unpickled), :class:`~layerprop.errors.NotRegularFileError` for a
    FIFO, a device or a folder, and ``FileNotFoundError`` when there is no file.
    """
    handle, _ = open_input(path, what="model file")  # a FIFO or a device is refused, never waited on
    with handle:
        return _read_npz(path, _open_npz(path, handle))


def _read_npz(path: Any, npz: Any) -> tuple[dict, dict[str, np.ndarray], dict[str, np.ndarray]]:
    try:
        with npz:
            _check_archive(path, npz.zip)
            files = list(npz.files)
            if HEADER_KEY not in files:
                raise _fail(path, "not a layerprop model file: the archive has no '__header__' entry")
            names = set(npz.zip.namelist())
            header_shape, _ = _scan_member(npz, path, HEADER_KEY, names)
            if math.prod(header_shape) > MAX_HEADER_BYTES:
                raise _fail(
                    path,
                    f"the header holds {math.prod(header_shape)} bytes; at most {MAX_HEADER_BYTES} are accepted",
                )
            header = _parse_header(path, _load_entry(npz, path, HEADER_KEY))
            listing = _listed_specs(path, header)
            # every entry is matched with the listing before any array data is decompressed
            for key in files:
                if key == HEADER_KEY:
                    continue
                if not key.startswith((MODEL_PREFIX, OPTIM_PREFIX)):
                    raise _fail(path, f"unexpected entry {quoted(key)} (expected 'model/…' or 'optim/…')")
                if key not in listing:
                    raise _fail(path, f"arrays not listed in the header: [{quoted(key)}]")
            for name in listing:
                if name not in files:
                    raise _fail(path, f"array {quoted(name)} is listed in the header but missing from the file")
            for key in files:
                if key == HEADER_KEY:
                    continue
                shape, dtype = _scan_member(npz, path, key, names)
                if (shape, dtype) != listing[key]:
                    raise _fail(
                        path,
                        f"array {quoted(key)} has shape {shown(shape)} and dtype {dtype}, but the header says "
                        f"shape {shown(listing[key][0])} and dtype {listing[key][1]}",
                    )
            arrays = {key: _load_entry(npz, path, key) for key in files if key != HEADER_KEY}
    except ModelFileError:
        raise
    except Exception as exc:  # damaged archive members: BadZipFile (bad CRC), zlib.error, EOF, ...
        raise _fail(path, f"the file is damaged ({type(exc).__name__}: {exc})") from None
    model_arrays = {k[len(MODEL_PREFIX) :]: v for k, v in arrays.items() if k.startswith(MODEL_PREFIX)}
    optim_arrays = {k[len(OPTIM_PREFIX) :]: v for k, v in arrays.items() if k.startswith(OPTIM_PREFIX)}
    return header, model_arrays, optim_arrays


# --------------------------------------------------------------------------- load
#: the most characters of another part's error message that a model file's error repeats
MAX_REASON = 400


def _strip(path: Any, exc: Exception) -> str:
    """An error's message without a leading ``<path>: `` (so the file is named once), on one line
    and cut to :data:`MAX_REASON` characters (it may quote the file's config)."""
    message = str(exc)
    prefix = f"{os.fspath(path)}: "
    message = message[len(prefix) :] if message.startswith(prefix) else message
    message = " ".join(message[: MAX_REASON + 1].splitlines())
    return message if len(message) <= MAX_REASON else message[:MAX_REASON] + "…"


def _check_model_dtypes(path: Any, header: dict, arrays: Mapping[str, np.ndarray]) -> None:
    """Weights must be float32 or float64, all of the model's dtype: an int, bool or float16
    array would otherwise be cast without a word (and predict something else)."""
    declared = header.get("dtype")
    if declared is None:
        declared = header["model_config"].get("dtype")
    for name, array in arrays.items():
        if array.dtype.kind != "f" or array.dtype.itemsize not in (4, 8):
            raise _fail(
                path,
                f"array 'model/{name}' has dtype {array.dtype}; model weights must be float32 or "
                "float64 (the file is refused rather than cast)",
            )
        if isinstance(declared, str) and array.dtype.name != declared:
            raise _fail(
                path,
                f"array 'model/{name}' has dtype {array.dtype}, but the header says the model is "
                f"{declared} (the file is refused rather than cast)",
            )


def _check_model_entries(path: Any, model: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """The stored arrays must be exactly the network's parameters and buffers: no extra array,
    layer buffers (BatchNorm's running statistics) of their layer's parameter shape, and either
    all present or all absent (a network saved before it ever ran forward has none)."""
    state = model.state_dict()
    buffers = {
        f"{name}.{key}" for name, layer in getattr(model, "layers", {}).items() for key in getattr(layer, "buffers", {})
    }
    extra = sorted(set(arrays) - set(state) - buffers)
    if extra:
        raise _fail(
            path,
            f"arrays that the network {type(model).__name__} does not have: {['model/' + name for name in extra]}",
        )
    for name, layer in getattr(model, "layers", {}).items():
        # a layer's buffers (BatchNorm's running mean and variance) have its parameters' shape
        shapes = {tuple(array.shape) for array in getattr(layer, "params", {}).values()}
        for key in getattr(layer, "buffers", {}):
            stored_array = arrays.get(f"{name}.{key}")
            if stored_array is not None and len(shapes) == 1 and stored_array.shape not in shapes:
                raise _fail(
                    path,
                    f"array 'model/{name}.{key}' has shape {stored_array.shape}, but the layer {name} "
                    f"expects {next(iter(shapes))} (the shape of its parameters)",
                )
    stored = buffers & set(arrays)
    if stored and stored != buffers:
        missing = sorted(buffers - stored)
        raise _fail(
            path,
            f"the file holds some layer buffers but not {['model/' + name for name in missing]} "
            "(expected all of the network's buffers, or none)",
        )


def load_model(path: str | os.PathLike, network_factory: Callable[[dict], Any] | None = None) -> LoadedModel:
    """Load a file written by :func:`save_model`.

    The network is rebuilt by ``network_factory(model_config)`` (default:
    :func:`layerprop.nets.build_network`) and filled by ``model.load_state_dict(arrays)``; the
    optimizer, if the file has one, by :func:`layerprop.optim.optimizer_from_state`. Any problem
    with the file, including a config that cannot be built or arrays that do not fit the network,
    raises :class:`~layerprop.errors.ModelFileError` naming the file.
    """
    header, model_arrays, optim_arrays = read_model_file(path)
    config = dict(header["model_config"])
    if network_factory is None:
        try:
            from ..nets import build_network as network_factory
        except ImportError as exc:
            raise ImportError(
                f"cannot rebuild the network of {os.fspath(path)}: layerprop.nets.build_network "
                f"is not available ({exc}); pass network_factory="
            ) from exc
    _check_model_dtypes(path, header, model_arrays)
    from ..nets.init import rebuilding

    try:
        # the constructor may draw at most as many weights as the file holds, and draws no
        # random numbers: a forged size is refused before it costs memory
        with rebuilding(sum(array.size for array in model_arrays.values())):
            model = network_factory(config)
    except ModelFileError as exc:
        raise _fail(path, f"cannot build the network {shown(config.get('class'))}: {_strip(path, exc)}") from None
    except Exception as exc:  # a config the constructor cannot take: inf, 0, -1, wrong types, ...
        raise _fail(
            path,
            f"cannot build the network {shown(config.get('class'))} from the file's config: "
            f"{type(exc).__name__}: {_strip(path, exc)}",
        ) from exc
    _check_model_entries(path, model, model_arrays)
    try:
        model.load_state_dict(model_arrays)
    except Exception as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise _fail(path, f"the stored arrays do not fit the network: {_strip(path, Exception(message))}") from exc

    optimizer = None
    optimizer_config = header.get("optimizer_config")
    if optimizer_config is not None:
        from ..optim import optimizer_from_state

        try:
            optimizer = optimizer_from_state(optimizer_config, optim_arrays)
        except Exception as exc:
            raise _fail(path, f"invalid optimizer state: {type(exc).__name__}: {_strip(path, exc)}") from exc
    elif optim_arrays:
        raise _fail(path, "the file has optimizer arrays but no optimizer_config")
    return LoadedModel(model, optimizer, header.get("history"), header.get("metadata"), header)

"""The exceptions layerprop raises at its boundaries, and how their messages quote what came.

Every one of them subclasses a built-in exception, so ``except ValueError`` keeps working for code
written against the book, and each message names what was expected and what came. What came is
often untrusted (a name inside a pickle, a value in a model file's JSON header): messages quote it
with :func:`quoted` (text) or :func:`shown` (any value), which keep it on one line and short, so
a 9 MB name or a tuple of 2⁴⁰ leaves makes a message of a few dozen characters.
"""

import numbers

#: how many characters of untrusted text a message quotes
QUOTE_LIMIT = 60


class LayerpropError(Exception):
    """Base class of every error that layerprop raises on purpose."""


class ArgumentError(LayerpropError, ValueError):
    """A numeric argument is out of its range (a negative learning rate, a NaN ratio, …)."""


class ArgumentTypeError(LayerpropError, TypeError):
    """An argument has the wrong type (a string where a number belongs, a float where a count does)."""


class ShapeError(LayerpropError, ValueError):
    """An array has a shape that the layer or function cannot take."""


class LabelError(LayerpropError, ValueError):
    """Labels are out of range, of the wrong count or of the wrong kind."""


class BackwardBeforeForwardError(LayerpropError, RuntimeError):
    """``backward`` was called on a layer whose ``forward`` has not run yet."""


class DataFileError(LayerpropError, ValueError):
    """A data file (IDX, .npy cache) is corrupt, truncated or not what it claims to be."""


class ChecksumError(DataFileError):
    """A file's checksum differs from the one it must have."""


class DownloadError(LayerpropError, OSError):
    """Every mirror failed to deliver a file."""


class ModelFileError(LayerpropError, ValueError):
    """A model file is corrupt, foreign, or would need code execution (pickle) to load."""


class UnsafePickleError(ModelFileError):
    """A pickle holds something other than a plain dict of float arrays, or is damaged; it was not run."""


class NotRegularFileError(LayerpropError, OSError):
    """A path names a device, a FIFO, a socket or a folder where a regular file must be read or written."""


class MemoryBudgetError(LayerpropError, MemoryError):
    """The work asked for would need more memory than layerprop allows it (refused before allocating)."""


class ExportError(LayerpropError, ValueError):
    """A network holds a layer that the export format cannot express."""


class TrainingDiverged(LayerpropError, FloatingPointError):
    """The training loss became NaN or infinite; the last good weights were restored."""


class DistributedError(LayerpropError, RuntimeError):
    """The processes of a distributed run disagree (version, data, options) or cannot work together."""


class RunFolderBusyError(LayerpropError, RuntimeError):
    """Another training run holds the lock of the run folder (one run per folder at a time)."""


class MissingExtraError(LayerpropError, ImportError):
    """An optional dependency is missing; the message says which ``pip install`` brings it."""


class DeviceUnavailableError(LayerpropError, ValueError):
    """A device name is unknown, or names a GPU that is not there."""


class DeviceMismatchError(LayerpropError, ValueError):
    """Arrays on different devices (CPU and GPU, or two GPUs) met in one computation."""


def missing_extra(package: str, extra: str, purpose: str) -> MissingExtraError:
    """Build the error for a missing optional dependency, naming the command that installs it."""
    return MissingExtraError(
        f"{purpose} needs the optional package '{package}', which is not installed. "
        f"Install it with:  pip install 'layerprop[{extra}]'  (or: pip install {package})"
    )


def quoted(text, limit: int = QUOTE_LIMIT) -> str:
    """``text`` quoted for a message: Python's string notation (newlines and other control
    characters escaped, so the message stays one line), cut after ``limit`` characters with the
    full length said: ``'aaaa…' (9437184 characters)``."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text[: limit + 1]).decode("latin-1") + ("…" if len(text) > limit else "")
    elif not isinstance(text, str):
        return shown(text, limit)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"


def shown(value, limit: int = QUOTE_LIMIT) -> str:
    """Any value written for a message in about ``limit`` characters, whatever its size: text
    through :func:`quoted`, containers item by item until the room is used (``[1, 2, … (10⁹
    items)]``, three levels deep at most), bytes and arrays by their size, other objects by type.
    Only as much of ``value`` is looked at as is written, so the cost is bounded too."""
    return _shown(value, max(int(limit), 8), 0)


def _shown(value, room: int, depth: int) -> str:
    if isinstance(value, str):
        return quoted(value, max(room - 2, 4))
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 64 else f"<an integer of {value.bit_length()} bits>"
    if isinstance(value, numbers.Number):
        text = repr(value)
        return text if len(text) <= room else text[:room] + "…"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"<array of shape {tuple(int(n) for n in value.shape[:8])} and dtype {value.dtype}>"
    if isinstance(value, (list, tuple, dict)):
        brackets = "[]" if isinstance(value, list) else "{}" if isinstance(value, dict) else "()"
        if depth >= 3 and len(value):
            return f"{brackets[0]}… ({len(value)} items){brackets[1]}"
        items = value.items() if isinstance(value, dict) else value
        parts, used = [], 2
        for item in items:
            left = room - used
            if left < 8 and parts:
                parts.append(f"… ({len(value)} items)")
                break
            if isinstance(value, dict):
                key = _shown(item[0], max(left // 2, 8), depth + 1)
                text = f"{key}: {_shown(item[1], max(left - len(key) - 2, 8), depth + 1)}"
            else:
                text = _shown(item, max(left, 8), depth + 1)
            parts.append(text)
            used += len(text) + 2
        if isinstance(value, tuple) and len(value) == 1:
            return f"({parts[0]},)"
        return brackets[0] + ", ".join(parts) + brackets[1]
    return f"<{type(value).__name__}>"

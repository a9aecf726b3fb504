"""The exceptions layerprop raises at its boundaries.

Every one of them subclasses a built-in exception, so ``except ValueError`` keeps working for code
written against the book, and each message names what was expected and what came.
"""


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

"""Reading the book's weight pickles without running code from them.

The book saves trained parameters with ``pickle.dump(params)``: a dict of NumPy arrays. ``pickle.load``
on such a file would import and call whatever the file names — ``os.system`` as easily as
``numpy.core.multiarray._reconstruct`` — so :func:`load_book_pickle` never lets the file reach Python's
globals or NumPy's constructors. It works in three steps, all before anything is used:

1. **Size.** The file is read only if it is at most ``max_bytes`` long (every array is stored inside
   the file, so no honest array can be larger than the file).
2. **Static scan.** :func:`pickletools.genops` walks the opcodes without executing them. Only the
   opcodes that ``pickle.dump`` writes for a dict of arrays (protocols 2–5) are accepted; INST, OBJ,
   NEWOBJ, the extension registry, persistent ids, out-of-band buffers and list/set building are
   refused, and so is every global not on the allow-list below (for STACK_GLOBAL, the two strings
   must be pushed by the two opcodes just before it, so the scan knows which global it names).
   A truncated file, or bytes after STOP, are refused here too.
3. **Restricted unpickling.** :class:`BookUnpickler` subclasses :class:`pickle.Unpickler` and
   overrides ``find_class``: each allowed global is replaced by a stand-in defined in this module
   that checks its arguments and builds nothing but a validated array, so NumPy only ever sees a
   byte string, a float dtype and a shape whose size matches the bytes.

The allow-list is exactly the reconstruction globals that NumPy 1.x and 2.x pickles use
(checked with ``pickletools.dis`` on the book's three files, which are NumPy 1.x protocol 3 and 4
pickles, and on NumPy 2.x pickles of protocols 2–5):

- ``numpy.core.multiarray._reconstruct`` / ``numpy._core.multiarray._reconstruct`` (then BUILD with the
  state ``(1, shape, dtype, is_fortran, raw bytes)``), protocols 2–4;
- ``numpy.core.numeric._frombuffer`` / ``numpy._core.numeric._frombuffer`` ``(bytes, dtype, shape, order)``,
  protocol 5;
- ``numpy.ndarray`` (the class passed to ``_reconstruct``), ``numpy.dtype`` (``dtype('f8', False, True)``
  then BUILD with ``(3, byte order, …)``);
- ``_codecs.encode`` (protocol 2 stores raw bytes as a latin-1 text: ``encode(text, 'latin1')``).

The result must be exactly a ``dict`` of ``str`` → arrays of a float dtype (float16/32/64);
anything else raises :class:`~layerprop.errors.UnsafePickleError`.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools

import numpy as np

from ..errors import UnsafePickleError

__all__ = ["BookUnpickler", "load_book_pickle", "scan_pickle", "ALLOWED_GLOBALS", "DEFAULT_MAX_BYTES"]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # the book's largest file (ch07_params.pkl) is 3.4 MB
MAX_NDIM = 8
FLOAT_DTYPES = frozenset({"f2", "f4", "f8", "float16", "float32", "float64"})

# Opcodes ``pickle.dump`` writes for a dict of NumPy arrays (protocols 2–5); nothing else is read.
ALLOWED_OPCODES = frozenset(
    {
        "PROTO",
        "FRAME",
        "STOP",
        "MARK",
        "EMPTY_DICT",
        "SETITEM",
        "SETITEMS",
        "EMPTY_TUPLE",
        "TUPLE",
        "TUPLE1",
        "TUPLE2",
        "TUPLE3",
        "MEMOIZE",
        "BINPUT",
        "LONG_BINPUT",
        "BINGET",
        "LONG_BINGET",
        "NONE",
        "NEWTRUE",
        "NEWFALSE",
        "BININT",
        "BININT1",
        "BININT2",
        "LONG1",
        "BINUNICODE",
        "SHORT_BINUNICODE",
        "BINUNICODE8",
        "BINBYTES",
        "SHORT_BINBYTES",
        "BINBYTES8",
        "BYTEARRAY8",
        "GLOBAL",
        "STACK_GLOBAL",
        "REDUCE",
        "BUILD",
    }
)
STRING_OPCODES = frozenset({"BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"})
MEMO_OPCODES = frozenset({"MEMOIZE", "BINPUT", "LONG_BINPUT"})
STACK_NEUTRAL = frozenset({"PROTO", "FRAME"}) | MEMO_OPCODES


# --------------------------------------------------------------------------- stand-ins
def _no_build(self, state):
    raise UnsafePickleError(f"BUILD applied to {self!r}: only arrays and dtypes take a state")


class _NdarrayClass:
    """Stands for ``numpy.ndarray`` inside the pickle: only ``_reconstruct`` may receive it."""

    __slots__ = ()
    __setstate__ = _no_build

    def __repr__(self):
        return "numpy.ndarray"


class _StandIn:
    """A callable that find_class returns for an allowed global; a pickle cannot change it (no BUILD)."""

    __slots__ = ("function", "name")
    __setstate__ = _no_build

    def __init__(self, function, name):
        self.function = function
        self.name = name

    def __call__(self, *args):
        return self.function(*args)

    def __repr__(self):
        return self.name


_NDARRAY = _NdarrayClass()


class _DtypeShell:
    """What ``numpy.dtype(name, align, copy)`` gives inside the pickle: a float type awaiting its byte order."""

    __slots__ = ("name", "order")

    def __init__(self, name):
        self.name = name
        self.order = "="

    def __setstate__(self, state):
        # NumPy writes (version, byte order, subarray, names, fields, elsize, alignment, flags)
        if not (
            isinstance(state, tuple)
            and len(state) in (8, 9)
            and state[0] in (3, 4)
            and state[1] in ("<", ">", "=", "|")
            and state[2:5] == (None, None, None)
        ):
            raise UnsafePickleError(
                f"a float dtype's state must be (3, byte order, None, None, None, …), got {state!r}"
            )
        self.order = state[1]

    def resolve(self) -> np.dtype:
        dtype = np.dtype(self.name)
        return dtype.newbyteorder(self.order) if self.order in "<>" else dtype


def _dtype(name, align=False, copy=True):
    if not isinstance(name, str) or name not in FLOAT_DTYPES:
        raise UnsafePickleError(f"only float arrays (f2, f4, f8) are accepted, the file declares dtype {name!r}")
    if align not in (0, 1) or copy not in (0, 1) or type(align) not in (bool, int) or type(copy) not in (bool, int):
        raise UnsafePickleError(f"dtype({name!r}, …): align and copy must be 0 or 1, got {align!r}, {copy!r}")
    return _DtypeShell(name)


def _array(raw, dtype, shape, fortran: bool) -> np.ndarray:
    """Check the declared shape and dtype against the bytes, then (only then) make the array."""
    if not isinstance(dtype, _DtypeShell):
        raise UnsafePickleError(f"an array's dtype must come from numpy.dtype, got {type(dtype).__name__}")
    if not (isinstance(shape, tuple) and len(shape) <= MAX_NDIM and all(type(d) is int and d >= 0 for d in shape)):
        raise UnsafePickleError(f"an array's shape must be a tuple of at most {MAX_NDIM} sizes ≥ 0, got {shape!r}")
    if not isinstance(raw, (bytes, bytearray)):
        raise UnsafePickleError(f"an array's data must be bytes, got {type(raw).__name__}")
    resolved = dtype.resolve()
    count = 1
    for d in shape:
        count *= d
    if count * resolved.itemsize != len(raw):
        raise UnsafePickleError(
            f"an array declares shape {shape} of {resolved.name} ({count * resolved.itemsize} bytes) "
            f"but holds {len(raw)} bytes"
        )
    array = np.frombuffer(raw, dtype=resolved).reshape(shape, order="F" if fortran else "C")
    return np.array(array, dtype=resolved.newbyteorder("="), order="C", copy=True)  # owned, writable


class _ArrayShell:
    """What ``_reconstruct(ndarray, (0,), b'b')`` gives: an empty array that BUILD fills with its state."""

    __slots__ = ("array",)

    def __setstate__(self, state):
        if not (
            isinstance(state, tuple)
            and len(state) == 5
            and state[0] == 1
            and state[3] in (0, 1)
            and type(state[3]) in (bool, int)
        ):
            raise UnsafePickleError(
                f"an array's state must be (1, shape, dtype, is_fortran, bytes), got a {type(state).__name__} "
                f"of length {len(state) if isinstance(state, tuple) else '?'}"
            )
        _, shape, dtype, fortran, raw = state
        self.array = _array(raw, dtype, shape, bool(fortran))


def _reconstruct(cls, shape, typecode):
    if cls is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise UnsafePickleError(
            f"_reconstruct must be called as _reconstruct(ndarray, (0,), b'b'), got ({cls!r}, {shape!r}, {typecode!r})"
        )
    return _ArrayShell()


def _frombuffer(raw, dtype, shape, order):
    if order not in ("C", "F"):
        raise UnsafePickleError(f"_frombuffer: order must be 'C' or 'F', got {order!r}")
    return _array(raw, dtype, shape, order == "F")


def _latin1_bytes(text, encoding):
    if not isinstance(text, str) or encoding != "latin1":
        raise UnsafePickleError(f"_codecs.encode is accepted only as encode(text, 'latin1'), got encoding {encoding!r}")
    return text.encode("latin-1")


# (module, name) → the stand-in that find_class returns for it.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _StandIn(_reconstruct, "numpy.core.multiarray._reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): _StandIn(_reconstruct, "numpy._core.multiarray._reconstruct"),
    ("numpy.core.numeric", "_frombuffer"): _StandIn(_frombuffer, "numpy.core.numeric._frombuffer"),
    ("numpy._core.numeric", "_frombuffer"): _StandIn(_frombuffer, "numpy._core.numeric._frombuffer"),
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _StandIn(_dtype, "numpy.dtype"),
    ("_codecs", "encode"): _StandIn(_latin1_bytes, "_codecs.encode"),
}


# --------------------------------------------------------------------------- the scan
def _global_name(module, name) -> str:
    return f"{module}.{name}"


def scan_pickle(data: bytes) -> None:
    """Walk the opcodes of ``data`` without executing any; raise UnsafePickleError on anything not allowed."""
    not_string = object()
    memo: dict = {}
    pushes: list = []  # per stack-changing opcode: the string it pushed, or not_string
    end = None
    try:
        for opcode, arg, pos in pickletools.genops(data):
            name = opcode.name
            if name not in ALLOWED_OPCODES:
                raise UnsafePickleError(
                    f"opcode {name} at byte {pos} is not used by a pickled dict of arrays; refusing the file"
                )
            if name == "FRAME" and arg > len(data) - pos - 9:
                raise UnsafePickleError(
                    f"not a complete pickle: a frame declares {arg} bytes, {len(data) - pos - 9} remain"
                )
            if name == "PROTO" and not 2 <= arg <= 5:
                raise UnsafePickleError(f"pickle protocol {arg} is not supported (2 to 5 are)")
            if name == "GLOBAL":
                module, _, attr = arg.partition(" ")
                if (module, attr) not in ALLOWED_GLOBALS:
                    raise UnsafePickleError(f"the file refers to {_global_name(module, attr)}, which is not allowed")
            elif name == "STACK_GLOBAL":
                if len(pushes) < 2 or pushes[-1] is not_string or pushes[-2] is not_string:
                    raise UnsafePickleError(
                        f"STACK_GLOBAL at byte {pos} does not take its names from the two strings just before it"
                    )
                if (pushes[-2], pushes[-1]) not in ALLOWED_GLOBALS:
                    raise UnsafePickleError(
                        f"the file refers to {_global_name(pushes[-2], pushes[-1])}, which is not allowed"
                    )
            if name in MEMO_OPCODES:
                memo[len(memo) if name == "MEMOIZE" else arg] = pushes[-1] if pushes else not_string
            elif name in ("BINGET", "LONG_BINGET"):
                pushes.append(memo.get(arg, not_string))
            elif name not in STACK_NEUTRAL:
                pushes.append(arg if name in STRING_OPCODES else not_string)
            if name == "STOP":
                end = pos + 1
    except UnsafePickleError:
        raise
    except Exception as exc:  # pickletools raises ValueError on truncated or malformed data
        raise UnsafePickleError(f"not a complete pickle: {exc}") from None
    if end is None:
        raise UnsafePickleError("not a complete pickle: no STOP opcode")
    if end != len(data):
        raise UnsafePickleError(f"{len(data) - end} bytes follow the pickle's STOP opcode")


# --------------------------------------------------------------------------- the unpickler
class BookUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` whose ``find_class`` knows only :data:`ALLOWED_GLOBALS` (as stand-ins)."""

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise UnsafePickleError(f"the file refers to {_global_name(module, name)}, which is not allowed") from None

    def persistent_load(self, pid):
        raise UnsafePickleError("the file uses persistent ids, which are not allowed")


def _finish(value, key):
    if isinstance(value, _ArrayShell):
        if not hasattr(value, "array"):
            raise UnsafePickleError(f"entry {key!r}: an array was started but never given its data")
        value = value.array
    if type(value) is not np.ndarray or value.dtype.kind != "f":
        raise UnsafePickleError(f"entry {key!r} is a {type(value).__name__}, not a float array")
    return value


def load_book_pickle(path, max_bytes: int = DEFAULT_MAX_BYTES) -> dict:
    """Read a pickled dict of float arrays (the book's ``params.pkl`` files) without running code from it.

    Returns ``{name: ndarray}`` with native byte order. Raises
    :class:`~layerprop.errors.UnsafePickleError` for a file larger than ``max_bytes``, one that uses
    any opcode or global beyond what a pickled dict of arrays needs, a truncated or malformed file,
    and a result that is not exactly a dict of ``str`` → float arrays.
    """
    with open(os.fspath(path), "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise UnsafePickleError(f"{path}: the file has {size} bytes, more than the limit of {max_bytes}")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafePickleError(f"{path}: the file has more than the limit of {max_bytes} bytes")
    try:
        scan_pickle(data)
        result = BookUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{path}: {exc}") from None
    except Exception as exc:  # malformed contents the scan lets through (e.g. a wrong argument count)
        raise UnsafePickleError(f"{path}: the pickle is malformed: {type(exc).__name__}: {exc}") from None
    if type(result) is not dict:
        raise UnsafePickleError(f"{path}: the pickle holds a {type(result).__name__}, not a dict of arrays")
    arrays = {}
    for key, value in result.items():
        if type(key) is not str:
            raise UnsafePickleError(f"{path}: the dict has a key of type {type(key).__name__}, not str")
        try:
            arrays[key] = _finish(value, key)
        except UnsafePickleError as exc:
            raise UnsafePickleError(f"{path}: {exc}") from None
    return arrays

"""Reading the book's weight pickles without running code from them, in bounded time and memory.

The book saves trained parameters with ``pickle.dump(params)``: a dict of NumPy arrays. ``pickle.load``
on such a file would import and call whatever the file names — ``os.system`` as easily as
``numpy.core.multiarray._reconstruct`` — so :func:`load_book_pickle` never lets the file reach Python's
globals, NumPy's constructors or Python's own unpickler. It works in three steps, all before anything is used:

1. **Size.** The file is read only if it is a regular file (:func:`~layerprop.storage.inputs.open_input`:
   never a FIFO or a device) of at most ``max_bytes`` (every array is stored inside the file, so
   no honest array can be larger than the file).
2. **Static scan.** :func:`pickletools.genops` walks the opcodes without executing them. Only the
   opcodes that ``pickle.dump`` writes for a dict of arrays (protocols 2–5) are accepted; INST, OBJ,
   NEWOBJ, the extension registry, persistent ids, out-of-band buffers and list/set building are
   refused, and so is every global not on the allow-list below (for STACK_GLOBAL, the two strings
   must be pushed by the two opcodes just before it, so the scan knows which global it names).
   A truncated file, bytes after STOP, more than :data:`MAX_OPCODES` opcodes, more than
   :data:`MAX_MEMO` memo entries or MARKs nested deeper than :data:`MAX_DEPTH` are refused here too.
   The scan keeps a few counters and the memoized strings only, so its memory is bounded by the
   file's size.
3. **A small pickle machine.** :class:`BookUnpickler` executes just those opcodes itself (it is
   not Python's unpickler), and bounds everything it builds: a tuple may hold at most
   :data:`MAX_TUPLE_VALUES` values, counting the values of nested tuples and every repeat (so a
   tuple that refers to itself through the memo twice per level — 2⁶⁰ leaves in 300 bytes — is
   refused at its sixth level instead of being hashed or printed), nesting stays within
   :data:`MAX_DEPTH`, a dict key must be a ``str`` (nothing else is ever hashed), and the arrays
   and byte strings it makes may hold at most :data:`OUTPUT_FACTOR` times the file's bytes — an
   honest pickle stores every array's data once, so memo references that make one stored byte
   string the data of many arrays are refused. Each allowed global is replaced by a stand-in
   defined in this module that checks its arguments and builds nothing but a validated array,
   so NumPy only ever sees a byte string, a float dtype and a shape whose size matches the bytes.

Messages quote what the file holds through :func:`~layerprop.errors.quoted` and
:func:`~layerprop.errors.shown`: one short line, whatever the file declares.

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

import os
import pickletools

import numpy as np

from ..errors import UnsafePickleError, quoted, shown
from ..storage.inputs import InputTooLarge, read_input

__all__ = [
    "BookUnpickler",
    "load_book_pickle",
    "arrays_from_pickle",
    "scan_pickle",
    "ALLOWED_GLOBALS",
    "DEFAULT_MAX_BYTES",
]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # the book's largest file (ch07_params.pkl) is 3.4 MB
MAX_NDIM = 8
FLOAT_DTYPES = frozenset({"f2", "f4", "f8", "float16", "float32", "float64"})
#: The most opcodes a file may have: ``pickle.dump`` writes about 20 per array.
MAX_OPCODES = 1_000_000
#: The most memo entries: ``pickle.dump`` memoizes about 15 values per array.
MAX_MEMO = 65_536
#: The deepest nesting of MARKs and of tuples inside tuples (an honest file nests 3 deep).
MAX_DEPTH = 32
#: The most values a tuple may hold, counting those of the tuples inside it and every repeat
#: (an array's state, the largest honest tuple, holds about 15).
MAX_TUPLE_VALUES = 256
#: The arrays and byte strings a pickle makes may hold at most this many times the file's bytes
#: (protocol 2 stores an array's data as text that is encoded to bytes, then copied: twice).
OUTPUT_FACTOR = 2

# Opcodes that push the value genops decodes as their argument
VALUE_OPCODES = frozenset(
    {
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
    }
)
# Opcodes ``pickle.dump`` writes for a dict of NumPy arrays (protocols 2–5); nothing else is read.
ALLOWED_OPCODES = VALUE_OPCODES | frozenset(
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
        "GLOBAL",
        "STACK_GLOBAL",
        "REDUCE",
        "BUILD",
    }
)
STRING_OPCODES = frozenset({"BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"})
MEMO_OPCODES = frozenset({"MEMOIZE", "BINPUT", "LONG_BINPUT"})
STACK_NEUTRAL = frozenset({"PROTO", "FRAME"}) | MEMO_OPCODES
CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}


# --------------------------------------------------------------------------- stand-ins
class _NdarrayClass:
    """Stands for ``numpy.ndarray`` inside the pickle: only ``_reconstruct`` may receive it."""

    __slots__ = ()

    def __repr__(self):
        return "numpy.ndarray"


class _StandIn:
    """A callable that find_class returns for an allowed global: ``function(machine, *args)``."""

    __slots__ = ("function", "name", "arity")

    def __init__(self, function, name, arity):
        self.function = function
        self.name = name
        self.arity = arity  # the numbers of arguments it takes

    def __call__(self, machine, args: tuple):
        if len(args) not in self.arity:
            raise UnsafePickleError(f"{self.name} is called with {len(args)} arguments, it takes {self.arity[-1]}")
        return self.function(machine, *args)

    def __repr__(self):
        return self.name


_NDARRAY = _NdarrayClass()


def _describe(value) -> str:
    """A value of the pickle for a message: a stand-in by the global it stands for, anything else
    through :func:`~layerprop.errors.shown` (short, whatever its size)."""
    if isinstance(value, (_StandIn, _NdarrayClass)):
        return repr(value)
    if isinstance(value, (_ArrayShell, _DtypeShell)):
        return "an array" if isinstance(value, _ArrayShell) else "a dtype"
    return shown(value)


class _DtypeShell:
    """What ``numpy.dtype(name, align, copy)`` gives inside the pickle: a float type awaiting its byte order."""

    __slots__ = ("name", "order")

    def __init__(self, name):
        self.name = name
        self.order = "="

    def build(self, machine, state):
        # NumPy writes (version, byte order, subarray, names, fields, elsize, alignment, flags)
        if not (
            isinstance(state, tuple)
            and len(state) in (8, 9)
            and state[0] in (3, 4)
            and state[1] in ("<", ">", "=", "|")
            and state[2:5] == (None, None, None)
        ):
            raise UnsafePickleError(
                f"a float dtype's state must be (3, byte order, None, None, None, …), got {shown(state)}"
            )
        self.order = state[1]

    def resolve(self) -> np.dtype:
        dtype = np.dtype(self.name)
        return dtype.newbyteorder(self.order) if self.order in "<>" else dtype


def _flag(value) -> bool:
    return type(value) in (bool, int) and value in (0, 1)


def _dtype(machine, name, align=False, copy=True):
    if not isinstance(name, str) or name not in FLOAT_DTYPES:
        raise UnsafePickleError(f"only float arrays (f2, f4, f8) are accepted, the file declares dtype {shown(name)}")
    if not (_flag(align) and _flag(copy)):
        raise UnsafePickleError(
            f"dtype({quoted(name)}, …): align and copy must be 0 or 1, got {shown(align)}, {shown(copy)}"
        )
    return _DtypeShell(name)


def _array(machine, raw, dtype, shape, fortran: bool) -> np.ndarray:
    """Check the declared shape and dtype against the bytes, then (only then) make the array."""
    if not isinstance(dtype, _DtypeShell):
        raise UnsafePickleError(f"an array's dtype must come from numpy.dtype, got a {type(dtype).__name__}")
    if not (isinstance(shape, tuple) and len(shape) <= MAX_NDIM and all(type(d) is int and d >= 0 for d in shape)):
        raise UnsafePickleError(f"an array's shape must be a tuple of at most {MAX_NDIM} sizes ≥ 0, got {shown(shape)}")
    if not isinstance(raw, (bytes, bytearray)):
        raise UnsafePickleError(f"an array's data must be bytes, got a {type(raw).__name__}")
    resolved = dtype.resolve()
    count = 1
    for d in shape:
        count *= d
    if count * resolved.itemsize != len(raw):
        raise UnsafePickleError(
            f"an array declares shape {shown(shape)} of {resolved.name} ({count * resolved.itemsize} bytes) "
            f"but holds {len(raw)} bytes"
        )
    machine.claim(len(raw), "an array")
    array = np.frombuffer(raw, dtype=resolved).reshape(shape, order="F" if fortran else "C")
    return np.array(array, dtype=resolved.newbyteorder("="), order="C", copy=True)  # owned, writable


class _ArrayShell:
    """What ``_reconstruct(ndarray, (0,), b'b')`` gives: an empty array that BUILD fills with its state."""

    __slots__ = ("array",)

    def build(self, machine, state):
        if hasattr(self, "array"):
            raise UnsafePickleError("an array is given its data twice")
        if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1 and _flag(state[3])):
            length = len(state) if isinstance(state, tuple) else "?"
            raise UnsafePickleError(
                f"an array's state must be (1, shape, dtype, is_fortran, bytes), got a {type(state).__name__} "
                f"of length {length}"
            )
        _, shape, dtype, fortran, raw = state
        self.array = _array(machine, raw, dtype, shape, bool(fortran))


def _reconstruct(machine, cls, shape, typecode):
    if cls is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise UnsafePickleError(
            "_reconstruct must be called as _reconstruct(ndarray, (0,), b'b'), got "
            f"({_describe(cls)}, {_describe(shape)}, {_describe(typecode)})"
        )
    return _ArrayShell()


def _frombuffer(machine, raw, dtype, shape, order):
    if order not in ("C", "F"):
        raise UnsafePickleError(f"_frombuffer: order must be 'C' or 'F', got {shown(order)}")
    return _array(machine, raw, dtype, shape, order == "F")


def _latin1_bytes(machine, text, encoding):
    if not isinstance(text, str) or encoding != "latin1":
        raise UnsafePickleError(
            f"_codecs.encode is accepted only as encode(text, 'latin1'), got encoding {shown(encoding)}"
        )
    machine.claim(len(text), "a byte string")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise UnsafePickleError("_codecs.encode: the text holds characters beyond latin-1") from None


# (module, name) → the stand-in that find_class returns for it.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _StandIn(_reconstruct, "numpy.core.multiarray._reconstruct", (3,)),
    ("numpy._core.multiarray", "_reconstruct"): _StandIn(_reconstruct, "numpy._core.multiarray._reconstruct", (3,)),
    ("numpy.core.numeric", "_frombuffer"): _StandIn(_frombuffer, "numpy.core.numeric._frombuffer", (4,)),
    ("numpy._core.numeric", "_frombuffer"): _StandIn(_frombuffer, "numpy._core.numeric._frombuffer", (4,)),
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _StandIn(_dtype, "numpy.dtype", (1, 2, 3)),
    ("_codecs", "encode"): _StandIn(_latin1_bytes, "_codecs.encode", (2,)),
}


def _refuse_global(module, name) -> UnsafePickleError:
    return UnsafePickleError(f"the file refers to {quoted(f'{module}.{name}')}, which is not allowed")


# --------------------------------------------------------------------------- the scan
def scan_pickle(data: bytes) -> None:
    """Walk the opcodes of ``data`` without executing any; raise UnsafePickleError on anything not allowed.

    Memory stays bounded by the file: besides the opcode being read, the scan keeps the last two
    values pushed, the memoized strings and the set of memo indices (at most :data:`MAX_MEMO`).
    """
    not_string = object()
    memo_strings: dict = {}  # memo index → the string stored there (other values are not kept)
    memo_keys: set = set()
    last = [not_string, not_string]  # what the last two stack-changing opcodes pushed (a string or not)
    marks = 0
    end = None
    try:
        for count, (opcode, arg, pos) in enumerate(pickletools.genops(data), start=1):
            name = opcode.name
            if count > MAX_OPCODES:
                raise UnsafePickleError(
                    f"the file has more than {MAX_OPCODES} opcodes; a pickled dict of arrays needs far fewer"
                )
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
                    raise _refuse_global(module, attr)
            elif name == "STACK_GLOBAL":
                if last[0] is not_string or last[1] is not_string:
                    raise UnsafePickleError(
                        f"STACK_GLOBAL at byte {pos} does not take its names from the two strings just before it"
                    )
                if (last[0], last[1]) not in ALLOWED_GLOBALS:
                    raise _refuse_global(last[0], last[1])
            elif name == "MARK":
                marks += 1
                if marks > MAX_DEPTH:
                    raise UnsafePickleError(f"MARKs are nested more than {MAX_DEPTH} deep at byte {pos}")
            elif name in ("TUPLE", "SETITEMS"):
                marks -= 1
            if name in MEMO_OPCODES:
                index = len(memo_keys) if name == "MEMOIZE" else arg
                memo_keys.add(index)
                if len(memo_keys) > MAX_MEMO:
                    raise UnsafePickleError(f"the file stores more than {MAX_MEMO} values in its memo")
                if last[1] is not_string:
                    memo_strings.pop(index, None)
                else:
                    memo_strings[index] = last[1]
            elif name not in STACK_NEUTRAL:
                if name in ("BINGET", "LONG_BINGET"):
                    pushed = memo_strings.get(arg, not_string)
                else:
                    pushed = arg if name in STRING_OPCODES else not_string
                last = [last[1], pushed]
            if name == "STOP":
                end = pos + 1
    except UnsafePickleError:
        raise
    except Exception as exc:  # pickletools raises ValueError on truncated or malformed data
        raise UnsafePickleError(f"not a complete pickle: {quoted(str(exc), 160)}") from None
    if end is None:
        raise UnsafePickleError("not a complete pickle: no STOP opcode")
    if end != len(data):
        raise UnsafePickleError(f"{len(data) - end} bytes follow the pickle's STOP opcode")


# --------------------------------------------------------------------------- the machine
class BookUnpickler:
    """Executes the opcodes of a scanned pickle (``data``) with every value bounded; ``load()``
    returns what the pickle holds. Globals resolve to the stand-ins of :data:`ALLOWED_GLOBALS`
    only (:meth:`find_class`); no other code is reached, Python's unpickler included."""

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.budget = OUTPUT_FACTOR * len(self.data)  # bytes the arrays and byte strings may still take
        self._tuples: dict = {}  # id(tuple) → (the tuple, values it holds, nesting depth)

    def find_class(self, module, name):
        if not (isinstance(module, str) and isinstance(name, str)):
            raise UnsafePickleError("STACK_GLOBAL names a global with values that are not strings")
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _refuse_global(module, name) from None

    def claim(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` of made arrays or byte strings against the file's budget."""
        if nbytes > self.budget:
            raise UnsafePickleError(
                f"{what} of {nbytes} bytes would bring the data made to more than {OUTPUT_FACTOR}× the file's "
                f"{len(self.data)} bytes: the file uses its stored data more than once (an honest pickle stores "
                "each array's bytes once)"
            )
        self.budget -= nbytes

    def _tuple(self, items) -> tuple:
        values, depth = len(items), 1
        for item in items:
            if type(item) is tuple:
                _, inner_values, inner_depth = self._tuples.get(id(item), (None, len(item), 1))
                values += inner_values
                depth = max(depth, inner_depth + 1)
        if values > MAX_TUPLE_VALUES:
            raise UnsafePickleError(
                f"a tuple holds {values} values or more (nested and repeated ones counted); at most "
                f"{MAX_TUPLE_VALUES} are accepted"
            )
        if depth > MAX_DEPTH:
            raise UnsafePickleError(f"tuples are nested more than {MAX_DEPTH} deep")
        made = tuple(items)
        self._tuples[id(made)] = (made, values, depth)
        return made

    def load(self):
        stack: list = []
        marks: list = []
        memo: dict = {}

        def pop_mark():
            nonlocal stack
            items = stack
            stack = marks.pop()
            return items

        try:
            for opcode, arg, _ in pickletools.genops(self.data):
                name = opcode.name
                if name in VALUE_OPCODES:
                    stack.append(arg)
                elif name in CONSTANTS:
                    stack.append(CONSTANTS[name])
                elif name in ("PROTO", "FRAME"):
                    continue
                elif name == "MARK":
                    if len(marks) >= MAX_DEPTH:
                        raise UnsafePickleError(f"MARKs are nested more than {MAX_DEPTH} deep")
                    marks.append(stack)
                    stack = []
                elif name == "MEMOIZE":
                    memo[len(memo)] = stack[-1]
                elif name in ("BINPUT", "LONG_BINPUT"):
                    memo[arg] = stack[-1]
                elif name in ("BINGET", "LONG_BINGET"):
                    if arg not in memo:
                        raise UnsafePickleError(f"the file reads memo entry {arg}, which it never stored")
                    stack.append(memo[arg])
                elif name == "EMPTY_TUPLE":
                    stack.append(self._tuple(()))
                elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                    size = int(name[-1])
                    if len(stack) < size:
                        raise UnsafePickleError(f"{name} finds fewer than {size} values")
                    items = stack[-size:]
                    del stack[-size:]
                    stack.append(self._tuple(items))
                elif name == "TUPLE":
                    items = pop_mark()  # (before naming ``stack``: it is the outer list again now)
                    stack.append(self._tuple(items))
                elif name == "EMPTY_DICT":
                    stack.append({})
                elif name == "SETITEM":
                    value, key = stack.pop(), stack.pop()
                    self._set_items(stack[-1], [key, value])
                elif name == "SETITEMS":
                    items = pop_mark()
                    self._set_items(stack[-1], items)
                elif name == "GLOBAL":
                    module, _, attr = arg.partition(" ")
                    stack.append(self.find_class(module, attr))
                elif name == "STACK_GLOBAL":
                    attr, module = stack.pop(), stack.pop()
                    stack.append(self.find_class(module, attr))
                elif name == "REDUCE":
                    args, function = stack.pop(), stack.pop()
                    if not isinstance(function, _StandIn):
                        raise UnsafePickleError(
                            f"REDUCE applied to {_describe(function)}: only the allowed functions are called"
                        )
                    if type(args) is not tuple:
                        raise UnsafePickleError(f"REDUCE with arguments that are a {type(args).__name__}, not a tuple")
                    stack.append(function(self, args))
                elif name == "BUILD":
                    state = stack.pop()
                    target = stack[-1]
                    if not isinstance(target, (_ArrayShell, _DtypeShell)):
                        raise UnsafePickleError(
                            f"BUILD applied to {_describe(target)}: only arrays and dtypes take a state"
                        )
                    target.build(self, state)
                elif name == "STOP":
                    return stack.pop()
                else:  # the scan refuses every other opcode; never reached after it
                    raise UnsafePickleError(f"opcode {name} is not used by a pickled dict of arrays")
        except IndexError:
            raise UnsafePickleError("the pickle is malformed: an opcode finds too few values (or no MARK)") from None
        finally:
            self._tuples.clear()
        raise UnsafePickleError("not a complete pickle: no STOP opcode")

    @staticmethod
    def _set_items(target, items) -> None:
        if type(target) is not dict:
            raise UnsafePickleError(
                f"SETITEM applied to a {type(target).__name__}: only the dict of arrays takes items"
            )
        if len(items) % 2:
            raise UnsafePickleError("SETITEMS with an odd number of values")
        for key, value in zip(items[::2], items[1::2]):
            if type(key) is not str:  # only strings are hashed: a tuple key could cost 2**60 steps
                raise UnsafePickleError(f"the dict has a key of type {type(key).__name__}, not str")
            target[key] = value


def _finish(value, key):
    if isinstance(value, _ArrayShell):
        if not hasattr(value, "array"):
            raise UnsafePickleError(f"entry {quoted(key)}: an array was started but never given its data")
        value = value.array
    if type(value) is not np.ndarray or value.dtype.kind != "f":
        raise UnsafePickleError(f"entry {quoted(key)} is a {type(value).__name__}, not a float array")
    return value


def arrays_from_pickle(data: bytes, name=None) -> dict:
    """The ``{name: ndarray}`` that the pickle ``data`` holds (scanned, then run by :class:`BookUnpickler`).

    Raises :class:`~layerprop.errors.UnsafePickleError` for anything but a well-formed pickled
    dict of ``str`` → float arrays within the bounds of the module docstring; its message starts
    with ``name`` (the file's path) when given.
    """
    try:
        scan_pickle(data)
        try:
            result = BookUnpickler(data).load()
        except UnsafePickleError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:  # genops on data the scan did not reach
            raise UnsafePickleError(f"the pickle is malformed: {type(exc).__name__}: {quoted(str(exc), 160)}") from None
        if type(result) is not dict:
            raise UnsafePickleError(f"the pickle holds a {type(result).__name__}, not a dict of arrays")
        return {key: _finish(value, key) for key, value in result.items()}
    except UnsafePickleError as exc:
        if name is None:
            raise
        raise UnsafePickleError(f"{os.fspath(name)}: {exc}") from None


def load_book_pickle(path, max_bytes: int = DEFAULT_MAX_BYTES) -> dict:
    """Read a pickled dict of float arrays (the book's ``params.pkl`` files) without running code from it.

    Returns ``{name: ndarray}`` with native byte order. Raises
    :class:`~layerprop.errors.UnsafePickleError` for a file larger than ``max_bytes``, one that uses
    any opcode or global beyond what a pickled dict of arrays needs, a truncated or malformed file,
    and a result that is not exactly a dict of ``str`` → float arrays;
    :class:`~layerprop.errors.NotRegularFileError` for a FIFO, a device or a folder.
    """
    return arrays_from_pickle(read_book_file(path, max_bytes), name=path)


def read_book_file(path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of the pickle ``path`` (a regular file of at most ``max_bytes``)."""
    try:
        return read_input(path, max_bytes=max_bytes, what="pickle")
    except InputTooLarge as exc:
        raise UnsafePickleError(
            f"{os.fspath(path)}: the file has {exc.size} bytes, more than the limit of {max_bytes}"
        ) from None

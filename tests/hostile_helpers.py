"""Crafted hostile files for the trust tests, and a child-process probe of peak memory (imported by
the tests; not a test module).

Every file is made here, by the tests themselves, with little memory: model files of gigabytes of
declared zeros are written by streaming deflated zeros into the archive.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np

SRC = str(Path(__file__).resolve().parents[1] / "src")


# --------------------------------------------------------------------------- child processes
def run_child(code: str, *args, timeout: float = 120, memory_limit: int = 3 << 30, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh interpreter (address space capped at ``memory_limit`` bytes, so a
    regression fails with MemoryError instead of hurting the machine; ``env`` adds variables to
    its small environment). Returns its return code,
    stdout, stderr, wall seconds and peak RSS in KB (``ru_maxrss`` of the child)."""
    script = textwrap.dedent(code)

    def limit():  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        env={
            "PYTHONPATH": SRC,
            "PATH": "/usr/bin:/bin",
            "OPENBLAS_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
            **{key: os.environ[key] for key in ("LAYERPROP_CACHE", "HOME") if key in os.environ},
            **(env or {}),
        },
        timeout=timeout,
        preexec_fn=limit,
    )
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # RUSAGE_CHILDREN is the largest child so far: ask the child itself when it can tell
    reported = [line for line in proc.stdout.splitlines() if line.startswith("PEAK_KB ")]
    if reported:
        peak = int(reported[-1].split()[1])
    elif peak <= before:
        peak = before
    return {"rc": proc.returncode, "out": proc.stdout, "err": proc.stderr, "seconds": seconds, "peak_kb": peak}


#: appended to child scripts: the child prints its own peak RSS
PRINT_PEAK = "\nimport resource as _r\nprint('PEAK_KB', _r.getrusage(_r.RUSAGE_SELF).ru_maxrss)\n"


def cli_child(*argv, timeout: float = 120, memory_limit: int = 3 << 30) -> dict:
    """``layerprop ARGV`` in a child process (see :func:`run_child`); its own peak is reported."""
    code = (
        "import sys\nfrom layerprop.cli import main\ntry:\n    code = main(sys.argv[1:])\n"
        "except SystemExit as exc:\n    code = exc.code\n" + PRINT_PEAK + "sys.exit(code)\n"
    )
    return run_child(code, *argv, timeout=timeout, memory_limit=memory_limit)


# --------------------------------------------------------------------------- pickles
def _str(text: str) -> bytes:
    """SHORT_BINUNICODE (protocol 4) or BINUNICODE for a long text."""
    data = text.encode()
    if len(data) < 256:
        return b"\x8c" + bytes([len(data)]) + data
    return b"X" + struct.pack("<I", len(data)) + data


def tuple_dag(levels: int) -> bytes:
    """Opcodes pushing t(levels), where t0 = (None,) and t(i+1) = (t(i), t(i)) via the memo:
    2**levels leaves in 4 bytes a level."""
    out = b"N\x85q\x00"
    for i in range(levels):  # t(i) is on the stack: push it again, pair the two, memoize
        out += b"h" + bytes([i]) + b"\x86q" + bytes([i + 1])
    return out


def tuple_dag_key_pickle(levels: int = 60) -> bytes:
    """Item 17.1: a dict whose key is a tuple DAG; hashing it takes 2**levels steps."""
    return b"\x80\x02}" + tuple_dag(levels) + b"Ns."


def reconstruct_message_pickle(levels: int = 40) -> bytes:
    """Item 17.2: ``_reconstruct(ndarray, <2**levels-leaf tuple>, b'b')`` — refused, and the old
    message formatted the tuple with ``!r``."""
    return (
        b"\x80\x02}X\x01\x00\x00\x00W"
        + b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        + tuple_dag(levels)
        + b"C\x01b\x87Rs."
    )


def dtype_state_message_pickle(levels: int = 40) -> bytes:
    """Item 17.2: a float dtype whose BUILD state is a 2**levels-leaf tuple."""
    return b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R" + tuple_dag(levels) + b"b."


def _dtype_f8() -> bytes:
    return (
        b"cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R"
        + b"(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )


def shared_bytes_pickle(data_bytes: int = 1 << 20, copies: int = 2000) -> bytes:
    """Item 17.3: one ``data_bytes`` bytes object, memoized once and referenced by ``copies``
    arrays (``_frombuffer``): a 1 MB file that pickle turns into ``copies`` MB of arrays."""
    shape = b"J" + struct.pack("<i", data_bytes // 8) + b"\x85"
    out = b"\x80\x04}("
    for i in range(copies):
        out += _str(f"k{i}")
        if i == 0:
            out += _str("numpy._core.numeric") + _str("_frombuffer") + b"\x93\x94"  # memo 0
            out += b"(\x8e" + struct.pack("<Q", data_bytes) + bytes(data_bytes) + b"\x94"  # memo 1
            out += _dtype_f8() + b"\x94"  # memo 2
        else:
            out += b"h\x00(h\x01h\x02"
        out += shape + _str("C") + b"tR"
    return out + b"u."


def memoize_flood_pickle(count: int = 5 << 20) -> bytes:
    """Item 17.3: ``count`` MEMOIZE opcodes (one byte each) after one value."""
    return b"\x80\x04N" + b"\x94" * count + b"."


def long_global_pickle(length: int = 9 << 20) -> bytes:
    """ "Also": a GLOBAL whose module name is ``length`` bytes (the refusal quoted it whole)."""
    return b"\x80\x02c" + b"a" * length + b"\nb\n."


def newline_global_pickle() -> bytes:
    """ "Also": STACK_GLOBAL naming ``posix`` / ``sys\ntem`` (the message was cut at the newline)."""
    return b"\x80\x04" + _str("posix") + _str("sys\ntem") + b"\x93)R."


def float16_book_pickle() -> bytes:
    """ "Also": the ch03 network's weights stored as float16."""
    import pickle

    rng = np.random.default_rng(0)
    shapes = {"W1": (784, 50), "b1": (50,), "W2": (50, 100), "b2": (100,), "W3": (100, 10), "b3": (10,)}
    return pickle.dumps({k: rng.standard_normal(s).astype(np.float16) for k, s in shapes.items()}, protocol=4)


# --------------------------------------------------------------------------- model files
def _npy_header(shape, dtype) -> bytes:
    import io

    buffer = io.BytesIO()
    block = np.lib.format.header_data_from_array_1_0(np.zeros(0, dtype))
    block["shape"] = tuple(shape)
    np.lib.format.write_array_header_1_0(buffer, block)
    return buffer.getvalue()


def write_model_archive(path, header: dict, shapes: dict, *, dtype="float32", header_bytes: bytes | None = None):
    """A model file whose arrays (``{'model/W1': shape, …}``) are zeros, deflated and streamed (a
    few MB of memory whatever the declared size). The header lists the arrays; ``header_bytes``
    replaces the JSON text (to pad it)."""
    dtype = np.dtype(dtype)
    header = {**header, "arrays": {k: {"shape": list(s), "dtype": dtype.str} for k, s in shapes.items()}}
    text = header_bytes if header_bytes is not None else json.dumps(header).encode()
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("__header__.npy", "w", force_zip64=True) as member:
            member.write(_npy_header((len(text),), np.uint8))
            member.write(text)
        for name, shape in shapes.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                member.write(_npy_header(shape, dtype))
                left = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                while left:
                    member.write(zeros[: min(left, len(zeros))])
                    left -= min(left, len(zeros))
    return Path(path)


def mlp_header(hidden, input_size=784, output_size=10, dtype="float32") -> dict:
    """The JSON header of a MultiLayerNet model file (arrays listed by write_model_archive)."""
    from layerprop import __version__

    config = {
        "class": "MultiLayerNet",
        "input_size": input_size,
        "hidden_size_list": list(hidden),
        "output_size": output_size,
        "activation": "relu",
        "weight_init_std": "relu",
        "weight_decay_lambda": 0.0,
        "dtype": dtype,
    }
    return {
        "format": "layerprop-model",
        "format_version": 1,
        "layerprop_version": __version__,
        "model_config": config,
        "dtype": dtype,
        "optimizer_config": None,
        "history": None,
        "metadata": {"run": {"dataset": "mnist"}},
    }


def mlp_shapes(hidden, input_size=784, output_size=10) -> dict:
    sizes = [input_size, *hidden, output_size]
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        shapes[f"model/W{i}"] = (fan_in, fan_out)
        shapes[f"model/b{i}"] = (fan_out,)
    return shapes


def wide_model_file(path, units: int = 84_000):
    """Item 17.5: a 784-units-10 network of zeros (units=84,000: 263 MB declared, ~270 KB on disk)."""
    return write_model_archive(path, mlp_header([units]), mlp_shapes([units]))


def deep_model_file(path, layers: int = 6000, units: int = 60):
    """Item 17.5: ``layers`` hidden layers of ``units`` units (6000×60: 88 MB declared, 2.4 MB on disk)."""
    return write_model_archive(path, mlp_header([units] * layers), mlp_shapes([units] * layers))


def padded_header_model_file(path, pad_bytes: int = 16 << 20):
    """Item 17.5: a small 784-4-10 network whose JSON header carries ``pad_bytes`` of empty lists
    in its metadata (deflated: the file is ~100 KB)."""
    header = mlp_header([4])
    shapes = mlp_shapes([4])
    header["arrays"] = {k: {"shape": list(s), "dtype": "<f4"} for k, s in shapes.items()}
    header["metadata"] = {"run": {"dataset": "mnist"}, "junk": None}
    text = json.dumps(header).encode()
    filler = b"[" + b"[]," * ((pad_bytes - len(text)) // 3) + b"[]]"
    text = text.replace(b'"junk": null', b'"junk": ' + filler)
    return write_model_archive(path, header, shapes, header_bytes=text)


# --------------------------------------------------------------------------- pictures
def write_png(path, width: int, height: int, *, color_type: int = 0, bit_depth: int = 8, ink=None):
    """A PNG written row by row (little memory whatever its size): black, except the rows and
    columns ``ink = (top, bottom, left, right)`` at full intensity and full opacity."""
    import zlib

    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    pixel = channels * bit_depth // 8
    row_bytes = width * pixel

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    blank = bytearray(row_bytes)
    if color_type in (4, 6):  # opaque black background
        alpha = b"\xff" * (bit_depth // 8)
        for x in range(width):
            blank[(x + 1) * pixel - len(alpha) : (x + 1) * pixel] = alpha
    inked = bytearray(blank)
    if ink is not None:
        top, bottom, left, right = ink
        inked[left * pixel : right * pixel] = b"\xff" * ((right - left) * pixel)
    packer = zlib.compressobj(9)
    with open(path, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)))
        pending = []
        for y in range(height):
            row = inked if ink is not None and ink[0] <= y < ink[1] else blank
            pending.append(packer.compress(b"\0" + bytes(row)))
            if sum(map(len, pending)) > 1 << 16:
                handle.write(chunk(b"IDAT", b"".join(pending)))
                pending = []
        pending.append(packer.flush())
        handle.write(chunk(b"IDAT", b"".join(pending)))
        handle.write(chunk(b"IEND", b""))
    return Path(path)


def wide_strip_png(path, width: int = 50_000_000, color_type: int = 6):
    """Item 17.5: a ``width``×1 PNG of zeros (RGBA by default; 50M×1 was 50 M pixels, within
    the old limit)."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    packer = zlib.compressobj(9)
    parts = [packer.compress(b"\0")]
    zeros = bytes(1 << 20)
    left = width * {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    while left:
        parts.append(packer.compress(zeros[: min(left, len(zeros))]))
        left -= min(left, len(zeros))
    parts.append(packer.flush())
    with open(path, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, 1, 8, color_type, 0, 0, 0)))
        handle.write(chunk(b"IDAT", b"".join(parts)))
        handle.write(chunk(b"IEND", b""))
    return Path(path)


def eps_file(path, marker: Path):
    """ "Also": an EPS picture; Pillow hands EPS to Ghostscript (a program) to decode. The
    PostScript would also write ``marker`` if an interpreter ran it with file access."""
    text = (
        "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n"
        f"({marker}) (w) file closefile\n"
        "0 0 moveto 28 28 lineto stroke\nshowpage\n%%EOF\n"
    )
    Path(path).write_text(text)
    return Path(path)

"""Pictures through Graphviz's ``dot`` program: SVG and PNG (and PDF), and files by extension.

``dot`` is optional: DOT text (:func:`~layerprop.viz.dot.to_dot`) and the step-through HTML page
(:func:`~layerprop.viz.html.to_html`) need nothing. When a picture is asked for and ``dot`` is not
on ``PATH``, :class:`GraphvizNotFoundError` says how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..errors import MissingExtraError
from .dot import to_dot

#: the formats :func:`render` writes, by file extension
FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".pdf": "pdf", ".html": "html", ".htm": "html"}
#: resolution of PNG output (Graphviz's default is 96)
PNG_DPI = 144
#: seconds before a hanging ``dot`` is stopped
DOT_TIMEOUT = 60


class GraphvizNotFoundError(MissingExtraError):
    """Graphviz's ``dot`` program is needed and is not installed."""


def dot_program() -> str | None:
    """Path of Graphviz's ``dot`` (``$LAYERPROP_DOT`` if set, else ``dot`` on ``PATH``), or None."""
    override = os.environ.get("LAYERPROP_DOT")
    if override:
        return shutil.which(override)
    return shutil.which("dot")


def dot_available() -> bool:
    """True when Graphviz's ``dot`` program can be run."""
    return dot_program() is not None


def graphviz_missing(purpose: str = "drawing an SVG or PNG") -> GraphvizNotFoundError:
    return GraphvizNotFoundError(
        f"{purpose} needs Graphviz's 'dot' program, which was not found on PATH. Install it with "
        "'apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS) or "
        "'conda install graphviz'; or write .dot or .html, which need nothing."
    )


def run_dot(dot_text: str, fmt: str, extra_args=()) -> bytes:
    """Run ``dot -T<fmt>`` on ``dot_text`` and return what it prints (raises when it fails)."""
    program = dot_program()
    if program is None:
        raise graphviz_missing(f"drawing a {fmt.upper()}")
    try:
        done = subprocess.run(
            [program, f"-T{fmt}", *extra_args],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"Graphviz 'dot' did not finish within {DOT_TIMEOUT} s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        first = message[0] if message else f"exit status {done.returncode}"
        raise RuntimeError(f"Graphviz 'dot' failed: {first}")
    return done.stdout


def to_svg(target, **options) -> str:
    """SVG text of ``target``'s graph, laid out by Graphviz (needs ``dot``; options as for to_dot)."""
    return run_dot(to_dot(target, **options), "svg").decode("utf-8")


def to_png(target, *, dpi: int = PNG_DPI, **options) -> bytes:
    """PNG bytes of ``target``'s graph, laid out by Graphviz (needs ``dot``)."""
    return run_dot(to_dot(target, **options), "png", [f"-Gdpi={int(dpi)}"])


def render(target, path, *, format: str | None = None, **options) -> Path:  # noqa: A002 - the public keyword
    """Write ``target``'s graph to ``path``; the extension (or ``format``) picks what is written.

    ``.dot``/``.gv`` DOT text and ``.html`` the step-through page need nothing; ``.svg``, ``.png``
    and ``.pdf`` need Graphviz's ``dot``. ``options`` go to :func:`~layerprop.viz.model.build_model`
    (``digits``, ``x``, ``t``) and to the writer (``title``, ``legend``). Returns the path.
    """
    path = Path(path)
    fmt = (format or FORMATS.get(path.suffix.lower()) or "").lower()
    if fmt not in set(FORMATS.values()):
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"cannot tell what to write to {str(path)!r}: use one of the extensions {known} (or format=)")
    from ..storage.atomic import write_bytes  # every file layerprop writes is written atomically

    if fmt == "dot":
        write_bytes(path, to_dot(target, **options).encode("utf-8"))
    elif fmt == "html":
        from .html import to_html

        write_bytes(path, to_html(target, **options).encode("utf-8"))
    elif fmt == "png":
        write_bytes(path, to_png(target, **options))
    else:
        write_bytes(path, run_dot(to_dot(target, **options), fmt))
    return path

"""What the lab writes on stderr: one line per kind of problem, at most once a minute.

A hostile or broken client can make a server log the same problem thousands of times a second —
with a traceback each time, 145 MB in 12 s in one audit. :class:`OneLinePerKind` is the handler
of every logger the lab's server writes through (uvicorn's, asyncio's and ``layerprop.lab``): a
record becomes one line, ``layerprop lab: <message>[: <exception type>: <its message>]``; the same
kind (logger, first line of the message, exception type) is written again only after
``interval_s``, saying how many were left out. With ``debug`` (``layerprop --debug lab``) every
record is written in full, tracebacks included.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time

#: seconds before the same kind of problem is written again
INTERVAL_S = 60.0
#: kinds remembered at once (beyond them, the oldest is forgotten)
MAX_KINDS = 256
#: characters of one line
MAX_LINE = 300
#: the loggers the lab's server writes through
LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "asyncio", "layerprop.lab")


def _first_line(text) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


class OneLinePerKind(logging.Handler):
    """A logging handler that writes one short line per kind of record, rate-limited (module docstring)."""

    def __init__(self, stream=None, interval_s: float = INTERVAL_S, debug: bool = False, prefix="layerprop lab: "):
        super().__init__()
        self.stream = stream
        self.interval_s = interval_s
        self.debug = debug
        self.prefix = prefix
        self._kinds: dict = {}  # kind → [time written, left out since]
        self._lock = threading.Lock()

    def line(self, record: logging.LogRecord) -> str:
        """The one line for ``record`` (no traceback)."""
        text = _first_line(record.getMessage())
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            detail = _first_line(exc)
            text = f"{text}: {type(exc).__name__}" + (f": {detail}" if detail else "")
        if len(text) > MAX_LINE:
            text = text[: MAX_LINE - 1] + "…"
        return self.prefix + text

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self.stream or sys.stderr
            if self.debug:
                stream.write(logging.Formatter("%(name)s: %(message)s").format(record) + "\n")
                stream.flush()
                return
            exc = record.exc_info[1] if record.exc_info else None
            kind = (record.name, _first_line(record.msg)[:120], type(exc).__name__ if exc else None)
            now = time.monotonic()
            with self._lock:
                seen = self._kinds.get(kind)
                if seen is not None and now - seen[0] < self.interval_s:
                    seen[1] += 1
                    return
                left_out = seen[1] if seen is not None else 0
                self._kinds.pop(kind, None)
                if len(self._kinds) >= MAX_KINDS:
                    self._kinds.pop(next(iter(self._kinds)))
                self._kinds[kind] = [now, 0]
            suffix = f" ({left_out} more like this in the last {self.interval_s:g} s)" if left_out else ""
            stream.write(self.line(record) + suffix + "\n")
            stream.flush()
        except Exception:  # a logging handler never raises (a closed stderr, an odd record)
            self.handleError(record)


@contextlib.contextmanager
def one_line_logging(debug: bool = False, stream=None, level: int = logging.WARNING):
    """Route :data:`LOGGERS` through one :class:`OneLinePerKind` while the block runs; restore them after."""
    handler = OneLinePerKind(stream=stream, debug=debug)
    saved = []
    for name in LOGGERS:
        log = logging.getLogger(name)
        saved.append((log, log.handlers[:], log.propagate, log.level))
        log.handlers = [handler] if name in ("uvicorn", "asyncio", "layerprop.lab") else []
        log.propagate = name not in ("uvicorn", "asyncio", "layerprop.lab")  # children reach their parent's handler
        log.setLevel(level)
    try:
        yield handler
    finally:
        for log, handlers, propagate, old_level in saved:
            log.handlers, log.propagate = handlers, propagate
            log.setLevel(old_level)

"""Progress bars for downloads (bytes) and training (iterations): tqdm when it is installed, else a
plain one-line text display.

tqdm is optional (``pip install 'layerprop[progress]'``); it is imported only when a bar is shown,
and any failure to import it falls back to the text display -- progress reporting never fails.
"""

from __future__ import annotations

import sys
import time


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def _amount(count: int, unit: str) -> str:
    return _megabytes(count) if unit == "B" else f"{count} {unit}"


class TextProgress:
    """Minimal progress display on stderr, redrawn at most a few times per second."""

    def __init__(self, total: int | None, description: str, stream=None, unit: str = "B") -> None:
        self.total = total
        self.description = description
        self.stream = stream if stream is not None else sys.stderr
        self.unit = unit
        self.count = 0
        self.postfix = ""
        self._last_draw = 0.0

    def set_postfix(self, refresh: bool = False, **values) -> None:
        """Show ``key=value`` pairs after the counts (like tqdm's ``set_postfix``)."""
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())

    def update(self, count: int) -> None:
        self.count += count
        now = time.monotonic()
        if now - self._last_draw >= 0.2:
            self._last_draw = now
            self._draw()

    def _draw(self, end: str = "") -> None:
        if self.total:
            text = (
                f"{self.description}: {100 * self.count // self.total:3d}% "
                f"({_amount(self.count, self.unit)} of {_amount(self.total, self.unit)})"
            )
        else:
            text = f"{self.description}: {_amount(self.count, self.unit)}"
        if self.postfix:
            text += f"  {self.postfix}"
        try:
            self.stream.write(f"\r{text}{end}")
            self.stream.flush()
        except (OSError, ValueError):  # closed or broken stream: progress is not worth failing for
            pass

    def close(self) -> None:
        self._draw(end="\n")


class NoProgress:
    """A progress display that shows nothing."""

    def update(self, count: int) -> None:
        pass

    def set_postfix(self, refresh: bool = False, **values) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int | None, description: str, enabled: bool | None = None, unit: str = "B"):
    """Return an object with ``update(count)``, ``set_postfix(**values)`` and ``close()`` that shows progress.

    :param total: the expected count (bytes for ``unit="B"``, else items such as iterations), if known.
    :param unit: ``"B"`` (shown in MB) or the name of the items counted, e.g. ``"it"``.
    :param enabled: ``True`` to show progress, ``False`` not to, ``None`` to show it only when
        stderr is a terminal.
    """
    if enabled is None:
        enabled = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not enabled:
        return NoProgress()
    try:
        from tqdm.auto import tqdm
    except Exception:
        return TextProgress(total, description, unit=unit)
    if unit == "B":
        return tqdm(total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024, leave=False)
    return tqdm(total=total, desc=description, unit=unit, leave=False, dynamic_ncols=True, mininterval=0.25)

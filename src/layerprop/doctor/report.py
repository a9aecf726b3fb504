"""What the doctor found: a :class:`LayerReport` of :class:`Problem` and :class:`Note` items.

``report.ok`` is True when there is no problem (notes never change it); ``report.problems`` and
``report.notes`` list what was found, each with a stable ``code`` and its message in English
(``message``) and Korean (``message_ko``). ``print(report)`` is a table in the report's language,
Jupyter shows it as HTML (``_repr_html_``), and ``report.to_dict()`` is what ``layerprop doctor
--json`` prints.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from html import escape

import numpy as np

from ..display import format_number
from .messages import NOTE_CODES, PROBLEM_CODES, Text, word

#: significant digits of the numbers in messages and tables
DIGITS = 4


def number(value) -> str:
    """A number for a message: 4 significant digits, ``inf``/``nan`` as they are."""
    return format_number(value, DIGITS)


def index_text(index) -> str:
    """``[0, 2]`` for an element of a 2-D array, ``''`` for a scalar."""
    return "[" + ", ".join(str(i) for i in index) + "]" if index else ""


def width(text: str) -> int:
    """How many columns ``text`` takes in a terminal: a Korean syllable (a wide character) takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``columns`` terminal columns (on the left when ``right``)."""
    space = " " * max(columns - width(text), 0)
    return space + text if right else text + space


def _plain(value):
    """A JSON-friendly copy: tuples become lists, NumPy numbers Python numbers."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class Finding:
    """A problem or a note: ``code``, ``message`` (English), ``message_ko`` (Korean), and where it applies."""

    code: str
    message: str
    message_ko: str
    where: str | None = None  # the input or parameter ('x', 'W', 'dout'), or None

    @classmethod
    def of(cls, code: str, text: Text, **fields):
        return cls(code, text.en, text.ko, **fields)

    def text(self, lang: str = "en") -> str:
        """The message in ``lang`` ('en' or 'ko')."""
        return self.message_ko if lang == "ko" else self.message

    def to_dict(self) -> dict:
        return {key: _plain(value) for key, value in vars(self).items()}


@dataclass
class Problem(Finding):
    """Something wrong with the layer. For a gradient: the worst element's ``index`` and the
    ``analytic`` (backward's) and ``numerical`` values there, and the ``rel_error``."""

    index: tuple | None = None
    analytic: float | None = None
    numerical: float | None = None
    rel_error: float | None = None

    def __post_init__(self):
        if self.code not in PROBLEM_CODES:
            raise ValueError(f"unknown problem code {self.code!r}")


@dataclass
class Note(Finding):
    """Something worth knowing that is not wrong (a warning, a dtype change): ``report.ok`` stays True."""

    def __post_init__(self):
        if self.code not in NOTE_CODES:
            raise ValueError(f"unknown note code {self.code!r}")


@dataclass
class GradientRow:
    """One gradient against numerical differentiation: ``name`` ('x', 'W' …), ``shape``, the
    ``rel_error``, the ``worst`` element's index and the ``analytic``/``numerical`` values there;
    ``kinks`` elements at a kink were left out."""

    name: str
    shape: tuple
    rel_error: float
    worst: tuple
    analytic: float
    numerical: float
    kinks: int = 0

    def to_dict(self) -> dict:
        return {key: _plain(value) for key, value in vars(self).items()}


@dataclass(repr=False)
class LayerReport:
    """The doctor's verdict on one layer (see the module docstring)."""

    layer: str
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    gradients: list = field(default_factory=list)
    called: str = ""
    inputs: str = ""
    lang: str = "en"

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    @property
    def codes(self) -> list:
        """The problems' codes, in the order they were found."""
        return [p.code for p in self.problems]

    def verdict(self, lang: str | None = None) -> str:
        """``ok``, ``1 problem``, ``3 problems`` (in ``lang``)."""
        lang = lang or self.lang
        if self.ok:
            return word("ok", lang)
        count = len(self.problems)
        return word("problem", lang) if count == 1 else word("problems", lang, n=count)

    @property
    def max_rel_error(self) -> float | None:
        """The largest relative error of the gradients checked (None when none was)."""
        return max((row.rel_error for row in self.gradients), default=None)

    def problem(self, code: str):
        """The first problem with ``code``, or None."""
        return next((p for p in self.problems if p.code == code), None)

    def summary(self, lang: str | None = None) -> str:
        """One line: ``ok``, or the problems' codes and the first one's message."""
        lang = lang or self.lang
        if self.ok:
            return word("ok", lang)
        codes = ", ".join(dict.fromkeys(self.codes))
        return f"{codes}: {self.problems[0].text(lang)}"

    def to_dict(self) -> dict:
        """``{"layer", "ok", "problems": [{"code", "message", "message_ko", …}], "notes", "gradients", …}``."""
        return {
            "layer": self.layer,
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
            "notes": [n.to_dict() for n in self.notes],
            "gradients": [g.to_dict() for g in self.gradients],
            "called": self.called,
            "inputs": self.inputs,
        }

    # -- for people ------------------------------------------------------------------------------
    def _gradient_table(self, lang) -> list:
        header = [word(k, lang) for k in ("gradient", "shape", "rel_error", "worst", "backward", "numerical")]
        rows = [
            [
                f"d{g.name}",
                str(tuple(g.shape)),
                number(g.rel_error),
                f"{g.name}{index_text(g.worst)}",
                number(g.analytic),
                number(g.numerical),
            ]
            for g in self.gradients
        ]
        return [header, *rows]

    def text(self, lang: str | None = None) -> str:
        """The readable table (what ``print(report)`` shows) in ``lang`` (default: the report's)."""
        lang = lang or self.lang
        verdict = self.verdict(lang)
        lines = [f"{self.layer}: {'✓' if self.ok else '✗'} {verdict}"]
        if self.called:
            lines.append(f"  {word('called', lang)}: {self.called}")
        if self.inputs:
            lines.append(f"  {word('inputs', lang)}: {self.inputs}")
        if self.gradients:
            table = self._gradient_table(lang)
            widths = [max(width(row[i]) for row in table) for i in range(len(table[0]))]
            lines.append("")
            for k, row in enumerate(table):
                lines.append(
                    "  "
                    + "  ".join(
                        pad(cell, w, right=i not in (0, 1, 3)) for i, (cell, w) in enumerate(zip(row, widths))
                    ).rstrip()
                )
                if k == 0:
                    lines.append("  " + "  ".join("-" * w for w in widths))
        for heading, items in (("problems_heading", self.problems), ("notes_heading", self.notes)):
            if items:
                lines.append("")
                lines.append(f"  {word(heading, lang)}:")
                lines.extend(f"  - {item.code}: {item.text(lang)}" for item in items)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__  # at a prompt (and as a notebook's plain text) the report shows its table

    def _repr_html_(self) -> str:
        """Jupyter's display: the verdict (green ✓ or red ✗), the table of gradients, problems and notes."""
        lang = self.lang
        colour = "#1a7f37" if self.ok else "#c62828"
        mark = "✓" if self.ok else "✗"
        parts = [
            f'<div class="layerprop-doctor" data-ok="{str(self.ok).lower()}" style="font-family:system-ui,sans-serif">',
            f'<div style="font-weight:600;color:{colour}">{escape(self.layer)}: {mark} '
            f"{escape(self.verdict(lang))}</div>",
        ]
        details = [
            f"{escape(word(key, lang))}: <code>{escape(value)}</code>"
            for key, value in (("called", self.called), ("inputs", self.inputs))
            if value
        ]
        if details:
            parts.append(f'<div style="color:#555;font-size:90%">{" · ".join(details)}</div>')
        if self.gradients:
            table = self._gradient_table(lang)
            head = "".join(f"<th>{escape(cell)}</th>" for cell in table[0])
            body = []
            for row, gradient in zip(table[1:], self.gradients):
                wrong = any(p.where == gradient.name and p.rel_error is not None for p in self.problems)
                style = ' style="color:#c62828;font-weight:600"' if wrong else ""
                body.append(f"<tr{style}>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>")
            parts.append(f'<table style="border-collapse:collapse;margin:4px 0"><tr>{head}</tr>{"".join(body)}</table>')
        for heading, items, item_colour in (
            ("problems_heading", self.problems, "#c62828"),
            ("notes_heading", self.notes, "#555"),
        ):
            if items:
                parts.append(f"<div>{escape(word(heading, lang))}:</div><ul style='margin:2px 0'>")
                parts.extend(
                    f'<li><code style="color:{item_colour}">{escape(item.code)}</code> {escape(item.text(lang))}</li>'
                    for item in items
                )
                parts.append("</ul>")
        parts.append("</div>")
        return "".join(parts)

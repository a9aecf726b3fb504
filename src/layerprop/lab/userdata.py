"""The learner's own data for the train page: a CSV file, or points drawn with the mouse.

A **CSV file** has two feature columns and a label column, one point per line::

    x1,x2,label          ← a header is optional (the first line is one when its features are not numbers)
    0.5,1.25,setosa
    -1,0.75,versicolor

Commas separate the fields (semicolons or tabs are recognised too); blank lines and lines starting
with ``#`` are skipped. Labels are any text: integer labels are ordered as numbers, other labels
in the order they first appear, and each becomes a class 0, 1, 2, … of the network. The file is
held to :data:`~.limits.LIMITS`: at most ``csv_bytes`` bytes, ``toy_samples`` points and ``classes``
classes, at least two classes. Every mistake raises :class:`~.limits.LabLimitError` naming the
line, in English and in Korean.

**Points** (drawn on the page, or restored from a share link) arrive as ``{"x": [[x1, x2], …],
"t": [class, …]}`` with their class names: :func:`check_points` holds them to the same rules. The
page never decides alone what the server trains on.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from .limits import LabLimitError, check_limit

#: the longest class name kept
MAX_NAME = 40
DELIMITERS = ",;\t"


def _fail(line: int | None, english: str, korean: str):
    where, where_ko = (f"line {line}: ", f"{line}번째 줄: ") if line is not None else ("", "")
    raise LabLimitError(where + english, where_ko + korean)


def _number(text: str):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    return max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","


def _class_order(labels: list) -> list:
    """Class names: integer labels ordered as numbers, others in order of first appearance."""
    names = list(dict.fromkeys(labels))
    if all(_number(name) is not None and float(name).is_integer() for name in names):
        names.sort(key=float)
    return names


def _read(text, labelled: bool) -> tuple:
    """``(header or None, points, labels)`` of a CSV file's text; without ``labelled`` a third
    column is optional (and its labels are None where it is missing)."""
    if not isinstance(text, str):
        raise LabLimitError("the CSV file must be text", "CSV 파일은 텍스트여야 합니다")
    check_limit("csv_bytes", len(text.encode("utf-8")), "size of the CSV file (bytes)")
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        _fail(None, "this is not a text file (it holds NUL bytes)", "텍스트 파일이 아닙니다 (NUL 바이트가 있습니다)")
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    columns, points, labels = None, [], []
    try:
        for row in reader:
            line = reader.line_num
            fields = [field.strip() for field in row]
            if not any(fields) or fields[0].startswith("#"):
                continue
            if len(fields) != 3 and (labelled or len(fields) != 2):
                _fail(
                    line,
                    f"expected 3 columns (two features and a label), got {len(fields)}"
                    if labelled
                    else f"expected 2 columns (two features; a third, a label, may follow), got {len(fields)}",
                    f"열이 3개(특징 두 개와 레이블)여야 하는데 {len(fields)}개입니다"
                    if labelled
                    else f"열이 2개(특징 두 개, 그 뒤에 레이블이 있어도 됩니다)여야 하는데 {len(fields)}개입니다",
                )
            x1, x2 = _number(fields[0]), _number(fields[1])
            if columns is None and not points and (x1 is None or x2 is None):
                columns = fields  # the header
                continue
            for value, field, which in ((x1, fields[0], 1), (x2, fields[1], 2)):
                if value is None:
                    _fail(
                        line,
                        f"feature {which} must be a finite number, got {field[:30]!r}",
                        f"특징 {which}은(는) 유한한 숫자여야 하는데 {field[:30]!r}입니다",
                    )
            label = fields[2][:MAX_NAME] if len(fields) == 3 else None
            if labelled and not label:
                _fail(line, "the label is empty", "레이블이 비어 있습니다")
            points.append([x1, x2])
            labels.append(label)
            check_limit("toy_samples", len(points), "points in the CSV file")
    except csv.Error as exc:
        _fail(reader.line_num, f"not a valid CSV line ({exc})", f"CSV 형식이 아닙니다 ({exc})")
    if not points:
        _fail(None, "the file holds no points", "파일에 점이 없습니다")
    return columns, points, labels


def read_points(text) -> np.ndarray:
    """The points (float64, (n, 2)) of a CSV file of two feature columns (a label column may follow)."""
    return np.array(_read(text, labelled=False)[1], dtype=np.float64)


def parse_csv(text, name: str = "") -> dict:
    """The points of a CSV file (see the module docstring): ``{"x", "t", "classes", "columns", "name"}``."""
    columns, points, labels = _read(text, labelled=True)
    classes = _class_order(labels)
    index = {label: k for k, label in enumerate(classes)}
    result = {
        "x": points,
        "t": [index[label] for label in labels],
        "classes": classes,
        "columns": (columns or ["x1", "x2", "label"])[:2],
        "name": str(name)[:100],
    }
    check_points(result)
    return result


def check_points(points) -> tuple:
    """``(x, t, classes, columns)`` of a point set ``{"x", "t", "classes"[, "columns"]}`` (from
    :func:`parse_csv` or the page), checked: x float64 (n, 2) finite, t int64 in [0, classes)."""
    if not isinstance(points, dict):
        raise LabLimitError(
            "points must be an object {x: [[x1, x2], …], t: [class, …], classes: [name, …]}",
            "점은 {x: [[x1, x2], …], t: [클래스, …], classes: [이름, …]} 꼴이어야 합니다",
        )
    classes = points.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise LabLimitError("classes must be a list of names", "classes는 이름의 목록이어야 합니다")
    check_limit("classes", len(classes), "classes")
    if len(classes) < 2:
        raise LabLimitError(
            f"a data set needs at least 2 classes, this one has {len(classes)}",
            f"데이터에는 클래스가 2개 이상 있어야 하는데 {len(classes)}개입니다",
        )
    xs, ts = points.get("x"), points.get("t")
    if not isinstance(xs, list) or not isinstance(ts, list) or len(xs) != len(ts):
        raise LabLimitError("x and t must be lists of the same length", "x와 t는 길이가 같은 목록이어야 합니다")
    check_limit("toy_samples", len(xs), "points")
    if len(xs) < 2:
        raise LabLimitError(
            f"add at least 2 points (there are {len(xs)})", f"점을 2개 이상 찍으세요 (지금 {len(xs)}개)"
        )
    try:
        x = np.array(xs, dtype=np.float64)
    except (TypeError, ValueError):
        x = None
    if x is None or x.shape != (len(xs), 2) or not np.all(np.isfinite(x)):
        raise LabLimitError(
            "each point must be two finite numbers [x1, x2]", "점마다 유한한 숫자 두 개 [x1, x2]여야 합니다"
        )
    if not all(isinstance(k, int) and not isinstance(k, bool) and 0 <= k < len(classes) for k in ts):
        raise LabLimitError(
            f"each class must be an integer from 0 to {len(classes) - 1}",
            f"클래스는 0부터 {len(classes) - 1}까지의 정수여야 합니다",
        )
    columns = points.get("columns") or ["x1", "x2"]
    if not (isinstance(columns, list) and len(columns) == 2 and all(isinstance(c, str) for c in columns)):
        columns = ["x1", "x2"]
    return x, np.array(ts, dtype=np.int64), [c[:MAX_NAME] for c in classes], [c[:MAX_NAME] for c in columns]

"""The lab's stated limits: what one request or one job may ask for, and the message when it asks more.

Each limit is enforced on the server (the page only mirrors them); breaking one raises
:class:`LabLimitError`, whose one-line message the page shows as it is.
"""

from __future__ import annotations

import math

from ..errors import LayerpropError

#: every limit, by name (the page receives this table and shows it)
LIMITS = {
    "expression_length": 300,  # characters of one expression
    "expression_depth": 40,  # nesting of operations in one expression
    "expression_nodes": 120,  # operations recorded for one drawing
    "expression_names": 16,  # inputs (sliders) of one expression
    "tensor_elements": 64,  # elements of one tensor input on the graph page
    "toy_samples": 2000,  # points of a toy data set, of an uploaded CSV file or drawn by hand
    "csv_bytes": 256 * 1024,  # size of an uploaded CSV file
    "classes": 10,  # classes of an uploaded or drawn data set
    "mnist_samples": 6000,  # training images of the MNIST subset
    "hidden_layers": 4,  # hidden layers of a trained network
    "hidden_units": 256,  # units of one hidden layer
    "batch_size": 1000,
    "jobs": 2,  # training jobs running at once (one per open train page)
    "steps_per_second": 2000,  # the fastest a job may be asked to run
    # characters of a shared link that another lab opens (lab --open, the page's "Open a shared link"):
    # the longest the Share button makes — 2000 points of full-precision floats, 16 tensors of 64
    # numbers, percent-encoded — is about 150 000
    "link_chars": 256 * 1024,
}


#: what each limit counts, in Korean (the page shows a broken limit in the reader's language)
LIMITS_KO = {
    "expression_length": "수식 길이(글자 수)",
    "expression_depth": "수식의 중첩 깊이",
    "expression_nodes": "그래프의 연산 수",
    "expression_names": "입력 수",
    "tensor_elements": "텐서의 원소 수",
    "toy_samples": "데이터의 점 수",
    "csv_bytes": "CSV 파일의 크기(바이트)",
    "classes": "클래스 수",
    "mnist_samples": "MNIST 학습 이미지 수",
    "hidden_layers": "은닉층 수",
    "hidden_units": "은닉층의 뉴런 수",
    "batch_size": "배치 크기",
    "jobs": "동시에 실행 중인 학습 수",
    "steps_per_second": "초당 단계 수",
    "link_chars": "공유 링크의 길이(글자 수)",
}


#: the errors whose message a page shows (a mistake in the request, not a bug)
REQUEST_ERRORS = (LayerpropError, ValueError, TypeError, RecursionError)


#: characters of one error message sent to the page
MAX_ERROR_CHARS = 300


def _one_line(text: str) -> str:
    line = text.splitlines()[0] if text.strip() else ""
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"


def error_answer(exc) -> dict:
    """A page's error: ``{"error": one short line, "error_ko": its Korean wording (when it has one)}``."""
    answer = {"error": _one_line(str(exc)) or type(exc).__name__}
    if getattr(exc, "message_ko", None):
        answer["error_ko"] = _one_line(exc.message_ko)
    return answer


def finite_only(value):
    """``value`` with every float that is not finite replaced by None (dicts and lists walked): JSON
    has no NaN or Infinity, and a browser's JSON.parse refuses them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_only(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_only(item) for item in value]
    return value


class LabLimitError(LayerpropError, ValueError):
    """A request asks for more than a stated limit allows (the message names the limit and the value).

    ``message_ko`` is the same message in Korean, when there is one.
    """

    def __init__(self, message: str, message_ko: str | None = None):
        super().__init__(message)
        self.message_ko = message_ko


def check_limit(name: str, value: int, what: str) -> int:
    """``value`` if it is within ``LIMITS[name]``, else :class:`LabLimitError` saying so (in English and Korean)."""
    limit = LIMITS[name]
    if value > limit:
        raise LabLimitError(
            f"{what}: {value} is more than the limit of {limit}",
            f"{LIMITS_KO[name]}: {value} — 최대 {limit}까지 쓸 수 있습니다",
        )
    return value

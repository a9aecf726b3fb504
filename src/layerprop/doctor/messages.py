"""Every sentence the doctor says, in English and in Korean, written once.

:data:`PROBLEM_CODES` and :data:`NOTE_CODES` are the stable codes with what each one means;
:data:`MESSAGES` holds the templates of the messages, keyed by the code (or ``code/variant``),
each an ``(English, Korean)`` pair; :data:`WORDS` the words of the report's table. :func:`say`
fills a template in both languages. The Korean is written for the study notes' readers: the
book's Korean terms (계층, 순전파, 역전파, 기울기, 수치 미분) and the code as it is.
"""

from __future__ import annotations

#: the languages the doctor speaks
LANGUAGES = ("en", "ko")

#: code → (what it means in English, in Korean). A problem makes ``report.ok`` False.
PROBLEM_CODES = {
    "not-a-layer": ("it has no forward or no backward method", "forward나 backward 메서드가 없음"),
    "cannot-build": (
        "its constructor needs arguments the doctor cannot choose",
        "생성자에 닥터가 정할 수 없는 인수가 필요함",
    ),
    "init-error": ("its constructor raised an exception", "생성자에서 예외가 발생함"),
    "forward-error": ("forward raised an exception", "forward에서 예외가 발생함"),
    "backward-error": ("backward raised an exception", "backward에서 예외가 발생함"),
    "no-output": (
        "forward returned None or something that is not one array",
        "forward가 None이나 배열 하나가 아닌 것을 돌려줌",
    ),
    "missing-gradient": (
        "backward left out the gradient of an input or a parameter",
        "backward가 입력이나 매개변수의 기울기를 빠뜨림",
    ),
    "mutates-input": ("forward changed an input array in place", "forward가 입력 배열을 제자리에서 바꿈"),
    "mutates-dout": ("backward changed dout in place", "backward가 dout을 제자리에서 바꿈"),
    "wrong-shape": (
        "a gradient's shape differs from its input's or parameter's",
        "기울기의 형상이 입력이나 매개변수의 형상과 다름",
    ),
    "wrong-gradient": ("a gradient disagrees with numerical differentiation", "기울기가 수치 미분과 다름"),
    "stale-state": ("backward used values from an earlier call", "backward가 이전 호출의 값을 씀"),
    "unstable": ("inf or NaN where the math is finite", "수학적으로는 유한한데 inf나 NaN이 나옴"),
}

#: code → (what it means in English, in Korean). A note is worth knowing and leaves ``report.ok`` True.
NOTE_CODES = {
    "dtype-change": ("float32 inputs gave float64 results", "float32 입력에 float64 결과가 나옴"),
    "warning": ("NumPy or Python warned", "NumPy나 파이썬이 경고함"),
    "ignores-dout": (
        "a loss's backward ignores dout (the book's way)",
        "손실 계층의 backward가 dout을 쓰지 않음 (책의 방식)",
    ),
    "returns-dout": (
        "backward returned dout itself, not a new array",
        "backward가 새 배열이 아니라 dout 자체를 돌려줌",
    ),
    "kink": (
        "an input sits at a kink, where the gradient is not defined",
        "입력이 꺾이는 점에 있어 기울기가 정의되지 않음",
    ),
    "not-deterministic": (
        "forward is random, so the gradients were not checked",
        "forward가 무작위라 기울기를 검사하지 않음",
    ),
}

#: the report's words
WORDS = {
    "ok": ("ok", "통과"),
    "problem": ("1 problem", "문제 1개"),
    "problems": ("{n} problems", "문제 {n}개"),
    "gradient": ("gradient", "기울기"),
    "shape": ("shape", "형상"),
    "rel_error": ("rel. error", "상대 오차"),
    "worst": ("worst at", "최대 차이 위치"),
    "backward": ("backward", "역전파"),
    "numerical": ("numerical", "수치 미분"),
    "problems_heading": ("problems", "문제"),
    "notes_heading": ("notes", "참고"),
    "called": ("checked as", "검사 방법"),
    "inputs": ("inputs", "입력"),
    "no_gradients": ("no gradient was checked", "검사한 기울기 없음"),
    "graph_heading": ("nodes: {n}, with problems: {bad}", "노드 {n}개, 문제 있는 노드 {bad}개"),
    "node": ("node", "노드"),
    "layer": ("layer", "계층"),
    "verdict": ("verdict", "판정"),
}

MESSAGES = {
    "not-a-layer/forward": (
        "{name} has no forward method: a layer needs forward(…) and backward(dout)",
        "{name}에 forward 메서드가 없습니다: 계층에는 forward(…)와 backward(dout)가 있어야 합니다",
    ),
    "not-a-layer/backward": (
        "{name} has no backward method: a layer needs forward(…) and backward(dout)",
        "{name}에 backward 메서드가 없습니다: 계층에는 forward(…)와 backward(dout)가 있어야 합니다",
    ),
    "cannot-build": (
        "{name}({arguments}) needs arguments the doctor cannot choose: pass an instance, check_layer({name}(…))",
        "{name}({arguments})의 인수는 닥터가 정할 수 없습니다: 인스턴스를 넘겨 주세요. check_layer({name}(…))",
    ),
    "init-error": ("{call} raised {error}", "{call}에서 예외가 발생했습니다: {error}"),
    "forward-error": ("forward raised {error}", "forward에서 예외가 발생했습니다: {error}"),
    "backward-error": ("backward raised {error}", "backward에서 예외가 발생했습니다: {error}"),
    "forward-error/large": (
        "forward raised {error} for large inputs (up to ±{scale})",
        "큰 입력(±{scale}까지)에서 forward가 예외를 냈습니다: {error}",
    ),
    "no-output/none": (
        "forward returned None: end forward with return out",
        "forward가 None을 돌려줬습니다: forward 끝에 return out을 쓰세요",
    ),
    "no-output/other": (
        "forward returned {what}: a layer's forward returns one array (or one number)",
        "forward가 돌려준 값이 {what}입니다: 계층의 forward는 배열(또는 수) 하나를 돌려줍니다",
    ),
    "missing-gradient/none": (
        "backward returned None: end backward with return {expected}",
        "backward가 None을 돌려줬습니다: backward 끝에 return {expected}를 쓰세요",
    ),
    "missing-gradient/input": (
        "backward returned None as d{name}: return {expected}",
        "backward가 d{name} 자리에 None을 돌려줬습니다: return {expected}",
    ),
    "missing-gradient/count": (
        "backward returned {got} for forward's {count} inputs: return {expected}, one gradient per input",
        "forward의 입력은 {count}개인데 backward가 돌려준 것은 {got}입니다: 입력마다 기울기 하나씩, return {expected}",
    ),
    "missing-gradient/param": (
        "after backward, {where} is None: backward must store the gradient of {key} there",
        "backward 뒤에도 {where} 값이 None입니다: backward에서 {key}의 기울기를 저장하세요",
    ),
    "wrong-shape/count": (
        "backward returned {got} for forward's {count} input(s): return {expected}, one gradient per input",
        "forward의 입력은 {count}개인데 backward가 돌려준 것은 {got}입니다: 입력마다 기울기 하나씩, return {expected}",
    ),
    "wrong-shape": (
        "d{name} has shape {got}, but {name} has shape {expected}: a gradient has the shape of what it is the "
        "gradient of",
        "d{name}의 형상은 {got}인데 {name}의 형상은 {expected}입니다: 기울기는 미분한 대상과 형상이 같아야 합니다",
    ),
    "mutates-input": (
        "{stage} changed the input {name} in place ({count} of {size} elements, e.g. {name}{index}: {before} → "
        "{after}): "
        "the caller's array is not the layer's to change; work on a copy (out = {name}.copy())",
        "{stage}가 입력 {name}의 원소를 제자리에서 바꿨습니다 (원소 {size}개 중 {count}개, 예: {name}{index}: "
        "{before} → {after}): "
        "호출한 쪽의 배열은 바꾸면 안 됩니다. 복사본에서 계산하세요 (out = {name}.copy())",
    ),
    "mutates-dout": (
        "backward changed dout in place ({count} of {size} elements, e.g. dout{index}: {before} → {after}): when two "
        "branches share one dout, the second gets a corrupted gradient; build dx as a new array "
        "(dx = dout * …, or dx = dout.copy() before changing it)",
        "backward가 dout을 제자리에서 바꿨습니다 (원소 {size}개 중 {count}개, 예: dout{index}: {before} → "
        "{after}): 두 갈래가 "
        "같은 dout을 나눠 쓰면 두 번째 갈래는 망가진 기울기를 받습니다. dx는 새 배열로 만드세요 "
        "(dx = dout * …, 또는 바꾸기 전에 dx = dout.copy())",
    ),
    "wrong-gradient": (
        "d{name} is wrong: relative error {rel} against numerical differentiation; worst at {name}{index}: "
        "backward gives {analytic}, numerical differentiation {numerical}",
        "d{name}의 값이 틀렸습니다: 수치 미분과의 상대 오차 {rel}. 가장 큰 차이는 {name}{index}: "
        "backward는 {analytic}, 수치 미분은 {numerical}",
    ),
    "stale-state/first": (
        "after forward(a) then forward(b), backward gave d{name} at a, not at b (worst at {name}{index}: {analytic} "
        "instead of {numerical}): forward must save what backward needs on every call",
        "forward(a) 다음 forward(b)를 부른 뒤 backward가 b가 아니라 a에서의 d{name} 값을 줬습니다 ({name}{index}: "
        "{numerical} 대신 {analytic}): forward는 부를 때마다 backward에 필요한 값을 새로 저장해야 합니다",
    ),
    "stale-state/other": (
        "after two forward calls, d{name} from backward is not the gradient at the second input (relative error "
        "{rel}; worst at {name}{index}: {analytic} instead of {numerical}): forward must save what backward "
        "needs on every call",
        "forward를 두 번 부른 뒤 backward의 d{name} 값이 두 번째 입력에서의 기울기가 아닙니다 (상대 오차 {rel}; "
        "{name}{index}: {numerical} 대신 {analytic}): forward는 부를 때마다 backward에 필요한 값을 새로 "
        "저장해야 합니다",
    ),
    "stale-state/twice": (
        "calling backward twice with the same dout gave different d{name} (at {name}{index}: {first}, then {second}): "
        "backward must not change what the next backward uses (self.dW += … adds up; use self.dW = …)",
        "같은 dout으로 backward를 두 번 부르니 d{name} 값이 달라졌습니다 ({name}{index}: {first}, 다음엔 {second}): "
        "backward는 다음 backward가 쓰는 값을 바꾸면 안 됩니다 (self.dW += …는 누적됩니다. self.dW = …로 쓰세요)",
    ),
    "unstable/forward": (
        "forward gives {bad} for large inputs ({inputs} up to ±{scale}) although the math is finite{hint}",
        "큰 입력({inputs}: ±{scale}까지)에서 forward의 결과에 {bad} 값이 나옵니다. 수학적으로는 유한한 값입니다{hint}",
    ),
    "unstable/backward": (
        "backward gives {bad} in d{name} for large inputs ({inputs} up to ±{scale}) although forward is finite{hint}",
        "큰 입력({inputs}: ±{scale}까지)에서 backward의 d{name}에 {bad} 값이 나옵니다. forward는 유한합니다{hint}",
    ),
    "unstable/ordinary": (
        "forward gives {bad} at ordinary inputs ({inputs}){hint}",
        "평범한 입력({inputs})에서 forward의 결과에 {bad} 값이 나옵니다{hint}",
    ),
    "hint/exp": (
        ": exp overflowed — rewrite so that exp sees no large positive values (softmax: exp(x − max), max per row)",
        ": exp가 넘쳤습니다(overflow). exp에 큰 양수가 들어가지 않게 고치세요 (softmax라면 행마다 최댓값을 "
        "빼고 exp(x − max))",
    ),
    "hint/log": (
        ": log(0) — keep the log away from 0 (log(y + 1e-7), as the book does)",
        ": log(0)입니다. log에 0이 들어가지 않게 하세요 (책처럼 log(y + 1e-7))",
    ),
    "hint/divide": (": a division by zero", ": 0으로 나눴습니다"),
    "hint/invalid": (
        ": an invalid operation (inf − inf, inf / inf or 0 · inf)",
        ": 잘못된 연산입니다 (inf − inf, inf / inf 또는 0 · inf)",
    ),
    "dtype-change": (
        "float32 inputs gave a float64 {what}: a layer keeps the dtype it was given (float32 trains faster)",
        "float32 입력에 대한 {what}의 dtype이 float64입니다: 계층은 받은 dtype을 유지합니다 (float32가 학습이 "
        "빠릅니다)",
    ),
    "warning": ("{stage} warned: {category}: {message}", "{stage}에서 경고: {category}: {message}"),
    "ignores-dout": (
        "backward ignores dout: backward(2) gives the same dx as backward(1) — fine for the last layer of a network "
        "(the book's SoftmaxWithLoss does this), wrong anywhere else",
        "backward가 dout을 쓰지 않습니다: backward(2)와 backward(1)의 dx가 같습니다. 신경망의 마지막 "
        "계층이라면 괜찮지만 "
        "(책의 SoftmaxWithLoss가 이렇습니다) 다른 자리에서는 틀립니다",
    ),
    "returns-dout": (
        "backward returned dout itself as d{name}, not a new array: changing one later changes the other",
        "backward가 새 배열이 아니라 dout 자체를 d{name} 자리에 돌려줬습니다: 나중에 한쪽을 바꾸면 다른 쪽도 바뀝니다",
    ),
    "kink": (
        "{count} element(s) of {name} sit at a kink (e.g. {name}{index} = {value}: slope {left} on the left, "
        "{right} on "
        "the right): the gradient is not defined there and was not checked",
        "{name}의 원소 {count}개가 꺾이는 점에 있습니다 (예: {name}{index} = {value}: 왼쪽 기울기 {left}, "
        "오른쪽 {right}): "
        "그곳의 기울기는 정의되지 않아 검사하지 않았습니다",
    ),
    "not-deterministic": (
        "forward gave different outputs for the same input (it is random, like Dropout): the gradients were not "
        "checked numerically",
        "같은 입력에 forward가 다른 출력을 냈습니다 (Dropout처럼 무작위입니다): 기울기를 수치 미분으로 "
        "검사하지 않았습니다",
    ),
    # the one-line exception and its hints
    "error/line": ("{error} (line {line}: {code})", "{error} ({line}행: {code})"),
    "hint/attribute": ("self.{name} — did you mean self.{match}?", "self.{name} — self.{match}의 오타가 아닌가요?"),
    "hint/attribute-none": (
        "self.{name} is never set: set it in __init__ or forward",
        "self.{name}은(는) 어디에서도 정해지지 않았습니다: __init__이나 forward에서 값을 넣으세요",
    ),
    "hint/name": ("{name} — did you mean {match}?", "{name} — {match}의 오타가 아닌가요?"),
    "hint/numpy": (
        "np is not defined: add import numpy as np",
        "np가 정의되지 않았습니다: import numpy as np를 추가하세요",
    ),
    "hint/self": (
        "The method {method}({parameters}) has no self, so self.{method}(…) passes one argument too many: "
        "write def {method}(self, {parameters})",
        "메서드 {method}({parameters})에 self가 없어서 self.{method}(…)는 인수를 하나 더 넘깁니다: "
        "def {method}(self, {parameters})로 쓰세요",
    ),
    "hint/none-state": (
        "self.{name} is None here: backward uses it before forward has set it",
        "여기서 self.{name} 값이 None입니다: forward가 값을 넣기 전에 backward가 썼습니다",
    ),
    # layerprop doctor FILE.py: its one-line usage errors and its words
    "cli/error": ("layerprop doctor: error: {message}", "layerprop doctor: 오류: {message}"),
    "cli/no-file": ("no such file: {path}", "파일이 없습니다: {path}"),
    "cli/not-python": (
        "{path} is not a Python file (expected FILE.py)",
        "{path}은(는) 파이썬 파일이 아닙니다 (FILE.py를 주세요)",
    ),
    "cli/import-failed": (
        "{path} failed to run, so its layers cannot be checked: {error}",
        "{path} 파일을 실행하다가 오류가 나서 계층을 검사할 수 없습니다: {error}",
    ),
    "cli/no-class": (
        "{path} has no class {name} (its layers: {layers})",
        "{path}에 {name} 클래스가 없습니다 (있는 계층: {layers})",
    ),
    "cli/not-a-class": ("{name} in {path} is not a class", "{path}의 {name}은(는) 클래스가 아닙니다"),
    "cli/no-layers": (
        "{path} defines no class with forward and backward methods",
        "{path}에는 forward와 backward 메서드가 있는 클래스가 없습니다",
    ),
    "cli/none": ("none", "없음"),
    "cli/required": (
        "give the learner's file: layerprop doctor FILE.py [CLASS ...]",
        "검사할 파일을 주세요: layerprop doctor FILE.py [CLASS ...]",
    ),
    "cli/bad-lang": ("--lang takes ko or en, got {value}", "--lang에는 ko 또는 en을 주세요 (받은 값: {value})"),
    "stage/forward": ("forward", "forward"),
    "stage/backward": ("backward", "backward"),
    "stage/large": ("forward at large inputs", "큰 입력에서의 forward"),
    "what/output": ("output", "출력"),
    "what/gradient": ("gradient", "기울기"),
    "got/one": ("one array", "배열 하나"),
    "got/values": ("{n} values", "값 {n}개"),
    "got/type": ("a {type}", "{type}"),
    "got/type-of": ("a {type} of {n}", "길이 {n}인 {type}"),
}


class Text:
    """One message in both languages: ``en``, ``ko``; ``text(lang)`` picks one."""

    __slots__ = ("en", "ko")

    def __init__(self, en: str, ko: str):
        self.en, self.ko = en, ko

    def text(self, lang: str = "en") -> str:
        return self.ko if lang == "ko" else self.en

    def __add__(self, other) -> Text:
        if isinstance(other, Text):
            return Text(self.en + other.en, self.ko + other.ko)
        return Text(self.en + str(other), self.ko + str(other))

    def __repr__(self) -> str:
        return f"Text({self.en!r})"


def say(key: str, /, **values) -> Text:
    """The message ``key`` with ``values`` filled in, in both languages.

    A value may itself be a :class:`Text` (a message inside a message): each language gets its own.
    """
    en, ko = MESSAGES[key]
    return Text(
        en.format(**{k: (v.en if isinstance(v, Text) else v) for k, v in values.items()}),
        ko.format(**{k: (v.ko if isinstance(v, Text) else v) for k, v in values.items()}),
    )


def word(key: str, lang: str = "en", **values) -> str:
    """One of the report's :data:`WORDS` in ``lang``."""
    en, ko = WORDS[key]
    return (ko if lang == "ko" else en).format(**values)


def check_language(lang) -> str:
    """``lang`` if the doctor speaks it; a ValueError naming the choices otherwise."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(map(repr, LANGUAGES))}, got {lang!r}")
    return lang

"""An exception from a learner's layer, said in one line — with the hint a teacher would give.

:func:`describe_exception` writes ``ExceptionType: message (line N: the code)`` and adds a hint
for the mistakes of the study notes and their neighbours:

- an ``AttributeError`` on ``self`` names the attribute and the closest existing one
  (``self.maks — did you mean self.mask?``);
- a ``TypeError`` from calling a method that was written without ``self`` names that method
  (the notes' ``def softmax(x)`` inside ``SoftmaxWithLoss``);
- a ``NameError`` names the closest name that exists where it happened (``exp_x_sum`` for
  ``exp_X_sum``), or says to import NumPy when it is ``np``;
- a ``TypeError`` about ``NoneType`` in backward names the ``self`` attribute that is still None.
"""

from __future__ import annotations

import builtins
import difflib
import inspect
import linecache
import re
import traceback

from .messages import Text, say

#: how close a name must be to count as a typo of another (difflib's ratio)
TYPO_CUTOFF = 0.6


def _closest(name: str, candidates) -> str | None:
    matches = difflib.get_close_matches(name, [c for c in candidates if c != name], n=1, cutoff=TYPO_CUTOFF)
    return matches[0] if matches else None


def _layer_names(layer) -> list:
    names = set(getattr(layer, "__dict__", {}))
    names.update(n for n in dir(type(layer)) if not n.startswith("__"))
    return sorted(names)


def _learner_frame(exc: BaseException, layer):
    """The deepest traceback frame in the layer's own source file (else the deepest frame)."""
    frames = list(traceback.walk_tb(exc.__traceback__))
    if not frames:
        return None, None
    try:
        source = inspect.getsourcefile(type(layer))
    except (TypeError, OSError):
        source = None
    own = [(f, line) for f, line in frames if source and f.f_code.co_filename == source]
    if not own:  # a class typed into a notebook or a REPL: the frames that run its methods' code
        codes = {getattr(getattr(type(layer), n, None), "__code__", None) for n in dir(type(layer))}
        own = [(f, line) for f, line in frames if f.f_code in codes]
    return own[-1] if own else frames[-1]


def _self_attribute_hint(exc: AttributeError, layer) -> Text | None:
    if getattr(exc, "obj", None) is not layer or not getattr(exc, "name", None):
        return None
    match = _closest(exc.name, _layer_names(layer))
    if match:
        return say("hint/attribute", name=exc.name, match=match)
    return say("hint/attribute-none", name=exc.name)


_TAKES = re.compile(
    r"(?P<function>[\w.]+)\(\) takes (?P<takes>\d+) positional arguments? but (?P<given>\d+) (?:were|was) given"
)


def _missing_self_hint(exc: TypeError, layer) -> Text | None:
    found = _TAKES.search(str(exc))
    if not found or int(found["given"]) != int(found["takes"]) + 1:
        return None
    method = found["function"].rsplit(".", 1)[-1]
    function = inspect.getattr_static(type(layer), method, None)
    if not inspect.isfunction(function):  # a staticmethod or classmethod is written that way on purpose
        return None
    parameters = list(inspect.signature(function).parameters)
    if parameters and parameters[0] == "self":
        return None
    return say("hint/self", method=method, parameters=", ".join(parameters))


def _none_state_hint(exc: TypeError, code: str, layer) -> Text | None:
    """``TypeError: unsupported operand type(s) for *: 'NoneType' …`` — which ``self.<name>`` is None?"""
    if "NoneType" not in str(exc):
        return None
    for name in re.findall(r"self\.(\w+)", code):
        if name in getattr(layer, "__dict__", {}) and layer.__dict__[name] is None:
            return say("hint/none-state", name=name)
    return None


def _name_hint(exc: NameError, frame) -> Text | None:
    name = getattr(exc, "name", None)
    if not name:
        found = re.search(r"name '(\w+)' is not defined", str(exc))
        name = found and found[1]
    if not name:
        return None
    if name == "np":
        return say("hint/numpy")
    if frame is None:
        return None
    visible = {*frame.f_locals, *frame.f_globals, *dir(builtins)}
    match = _closest(name, visible)
    return say("hint/name", name=name, match=match) if match else None


def describe_exception(exc: BaseException, layer) -> Text:
    """``exc`` in one line, where it happened in the learner's code, and a hint when one fits."""
    message = str(exc).splitlines()[0] if str(exc) else ""
    error = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    frame, line = _learner_frame(exc, layer)
    code = linecache.getline(frame.f_code.co_filename, line).strip() if frame is not None else ""
    if code.endswith(("(", "[", "{", "\\")):  # the first line of a longer statement says little
        code = ""
    text = say("error/line", error=error, line=line, code=code) if code else Text(error, error)
    hint = None
    if isinstance(exc, AttributeError):
        hint = _self_attribute_hint(exc, layer)
    elif isinstance(exc, NameError):
        hint = _name_hint(exc, frame)
    elif isinstance(exc, TypeError):
        hint = _missing_self_hint(exc, layer) or _none_state_hint(exc, code, layer)
    return text + (Text(". ", ". ") + hint if hint else "")

"""A learner's own Python file, run as ``python FILE.py`` would run it, and the layers it defines.

``layerprop doctor FILE.py`` and ``layerprop lab --layers FILE.py`` run the learner's file, given on
their own command line (the one place where layerprop runs code from a file, and says so): it is
imported, so its top-level code runs, with the file's folder first on ``sys.path``; only an
``if __name__ == "__main__":`` block is skipped. :func:`layer_classes` lists the classes it defines
(not those it imports) that have ``forward`` and ``backward``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path

from .messages import Text, say


class LearnerFileError(Exception):
    """The learner's file cannot give layers to check: ``text`` says why, in English and Korean."""

    def __init__(self, key: str, **values):
        self.text: Text = say(key, **values)
        super().__init__(self.text.en)


def _module_name(path: Path) -> str:
    """The name the file is imported under: its stem, as ``import stem`` would, unless that is taken."""
    stem = path.stem
    if stem.isidentifier() and stem not in sys.modules:
        return stem
    safe = re.sub(r"\W", "_", stem)
    return f"layerprop_doctor_{safe}"


def one_line(exc: BaseException) -> str:
    """``SyntaxError: invalid syntax (line 3)``, ``NameError: name 'np' is not defined (line 5)``."""
    message = str(exc).splitlines()[0] if str(exc) else ""
    line = getattr(exc, "lineno", None)
    if line is None and exc.__traceback__ is not None:
        import traceback

        frames = traceback.extract_tb(exc.__traceback__)
        line = frames[-1].lineno if frames else None
    if isinstance(exc, SyntaxError):
        message = exc.msg
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text + (f" (line {line})" if line else "")


def load_file(path: Path, quiet: bool):
    """Import ``path`` as ``python FILE.py`` would run its top level; returns the module.

    The file's folder goes first on ``sys.path`` and stays there, as for ``python FILE.py`` (so
    ``from layer_naive import MulLayer`` works). With ``quiet`` what the file prints goes to stderr:
    stdout keeps only ``--json``'s JSON, or the lab's URL on its first line.
    """
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    redirect = contextlib.redirect_stdout(sys.stderr) if quiet else contextlib.nullcontext()
    try:
        with redirect:
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _is_layer(obj) -> bool:
    return inspect.isclass(obj) and callable(getattr(obj, "forward", None)) and callable(getattr(obj, "backward", None))


def layer_classes(module) -> list:
    """The classes defined in ``module`` (not imported into it) that have forward and backward."""
    return [obj for obj in vars(module).values() if _is_layer(obj) and obj.__module__ == module.__name__]


def load_layers(path, names=(), quiet: bool = False) -> list:
    """The layer classes of the learner's file ``path``: those named (in that order), or every class
    it defines with ``forward`` and ``backward``. Raises :class:`LearnerFileError` when there is no
    such file, it is not a .py file, it fails to run, a name is missing or not a class, or it defines
    no layer."""
    file = Path(path)
    if not file.is_file():
        raise LearnerFileError("cli/no-file", path=str(path))
    if file.suffix != ".py":
        raise LearnerFileError("cli/not-python", path=str(path))
    try:
        module = load_file(file, quiet)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a SyntaxError, an exception or sys.exit() at the file's top level
        raise LearnerFileError("cli/import-failed", path=str(path), error=one_line(exc)) from None
    found = layer_classes(module)
    if not names:
        if not found:
            raise LearnerFileError("cli/no-layers", path=str(path))
        return found
    classes = []
    for name in names:
        if name not in vars(module):
            layers = ", ".join(cls.__name__ for cls in found) or say("cli/none")
            raise LearnerFileError("cli/no-class", path=str(path), name=name, layers=layers)
        if not inspect.isclass(vars(module)[name]):
            raise LearnerFileError("cli/not-a-class", path=str(path), name=name)
        classes.append(vars(module)[name])
    return classes

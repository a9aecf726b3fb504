"""The ``layerprop`` command line: ``layerprop <command> [options]`` (also ``python -m layerprop``).

Each command lives in its own module of this package with ``add_parser(subparsers)`` and
``run(args) -> int``. Exit codes: 0 success, 2 usage error, 1 runtime error (one line on stderr;
the traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import codecs
import difflib
import importlib
import io
import signal
import sys
import threading

from .common import SIZE_LIST_OPTIONS, UsageError

COMMAND_MODULES = [
    "train_cmd",
    "evaluate_cmd",
    "predict_cmd",
    "gradcheck_cmd",
    "graph_cmd",
    "import_book_cmd",
    "export_cmd",
    "curves_cmd",
    "lab_cmd",
    "doctor_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = HintingParser(
        prog="layerprop",
        description="Backpropagation through layers: train, check and draw neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"layerprop {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    """Run one command; returns the exit code.

    Ctrl-C at any moment after Python has started this function -- while the commands' modules are
    imported, while arguments are parsed, while a command runs -- prints one line and returns 130.
    A closed output pipe (``layerprop evaluate … | head``) ends the command quietly with 141
    (128 + SIGPIPE), the code of a program stopped by SIGPIPE.
    """
    debug = argv is None and "--debug" in sys.argv[1:] or argv is not None and "--debug" in argv
    _printable_output()
    with _INTERRUPTS:
        try:
            try:
                return _run(argv)
            finally:
                sys.stdout.flush()  # a closed pipe shows here, inside the handlers below
        except KeyboardInterrupt:
            if debug:
                raise
            print("\nlayerprop: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            _silence_stdout()
            return 141
        except Exception as exc:
            if debug or not _caused_by_interrupt(exc):
                raise
            print("\nlayerprop: interrupted", file=sys.stderr)
            return 130


class _InterruptWatch:
    """Makes every Ctrl-C while a command runs reach :func:`main` as an interrupt.

    Python's own handler raises KeyboardInterrupt wherever the main thread is, and two kinds of
    place lose it. CPython drops an exception raised in a weakref callback or ``__del__`` and
    reports "Exception ignored in …" (importlib's module-lock clean-up is such a place, early in a
    command): the watch's unraisable hook sees that KeyboardInterrupt and delivers it again, to
    the code the main thread runs next, without the report. And some C code turns it into another
    error without the chain (NumPy's C extension, interrupted while it imports ``datetime``,
    raises "ImportError: … PyCapsule_Import could not import module 'datetime'"): the handler
    notes the interrupt, so :func:`_caused_by_interrupt` recognises such an error.

    It is put in place only over Python's default handler and only from the main thread, and the
    old handlers are back when :func:`main` returns.
    """

    #: how long after a lost KeyboardInterrupt it is raised again
    REDELIVER_SECONDS = 0.01

    def __init__(self):
        self.interrupted = False
        self._previous = None
        self._previous_unraisable = None

    def _handler(self, signum, frame):
        self.interrupted = True
        raise KeyboardInterrupt

    def _unraisable(self, unraisable):
        if issubclass(unraisable.exc_type, KeyboardInterrupt):  # lost where it was raised: raise it
            import _thread  # again from a moment later, after this hook has returned

            threading.Timer(self.REDELIVER_SECONDS, _thread.interrupt_main, (signal.SIGINT,)).start()
        else:
            self._previous_unraisable(unraisable)

    def __enter__(self):
        self.interrupted = False
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self._previous = signal.signal(signal.SIGINT, self._handler)
                self._previous_unraisable, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            sys.unraisablehook = self._previous_unraisable
        self._previous = None
        return False


_INTERRUPTS = _InterruptWatch()


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` stands for a Ctrl-C: some libraries turn a KeyboardInterrupt that lands
    inside them into another error (NumPy's C-extension import raises ImportError from it), with
    the interrupt in the chain or, where C code dropped it, only in the watch's note."""
    if _INTERRUPTS.interrupted:
        return True
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _run(argv) -> int:
    from .graph_cmd import expression_option_values

    parser = build_parser()
    argv = expression_option_values(sys.argv[1:] if argv is None else list(argv))
    HintingParser.argv = argv
    args, extras = parser.parse_known_args(argv)
    if extras:
        commands = parser._subparsers._group_actions[0].choices if parser._subparsers else {}
        commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extras)}")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        if args.debug:
            raise
        parser.exit(2, f"layerprop {args.command}: error: {exc}\n")
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:  # one line for people, the traceback for --debug
        if args.debug or _caused_by_interrupt(exc):
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"layerprop {args.command}: error: {message}", file=sys.stderr)
        return 1


class HintingParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors add a hint (:func:`hint`) about the command line
    being parsed (``HintingParser.argv``): the option meant, or commas for a list of sizes."""

    argv: list = []

    def error(self, message):
        super().error(message + hint(self, self.argv))


def hint(parser: argparse.ArgumentParser, argv: list) -> str:
    """`` (did you mean --optimizer?)`` for ``--optimiser`` (or ``train`` for ``traon``); `` (--hidden
    takes its sizes separated by commas …)`` for ``--hidden 100 200``; else ''."""
    options = [name for name in parser._option_string_actions if name.startswith("--")]
    commands = list(parser._subparsers._group_actions[0].choices) if parser._subparsers else []
    given = next((token for token in argv if not token.startswith("-")), None)
    if commands and given is not None and given not in commands:
        close = difflib.get_close_matches(given, commands, n=1, cutoff=0.6)
        if close:
            return f" (did you mean {close[0]}?)"
    for token in argv:
        name = token.split("=", 1)[0]
        if not name.startswith("--") or name == "--" or any(option.startswith(name) for option in options):
            continue  # a value, a known option, or a prefix argparse accepts for one
        close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
        if close:
            return f" (did you mean {close[0]}?)"
    for at, token in enumerate(argv):
        option, _, value = token.partition("=")
        if option not in SIZE_LIST_OPTIONS or option not in options:
            continue
        rest = argv[at + 1 :] if value else argv[at + 2 :]
        value = value or (argv[at + 1] if at + 1 < len(argv) else "")
        more = []
        for item in rest:
            if not item.replace(",", "").isdigit():
                break
            more.append(item)
        if more and value.replace(",", "").isdigit():
            sizes = ",".join([value, *more])
            return f" ({option} takes its sizes separated by commas, without spaces: {option} {sizes})"
    return ""


#: characters the commands print, spelled in ASCII for a stream that cannot encode them
ASCII_SPELLINGS = {
    "→": "->",
    "←": "<-",
    "↓": "v",
    "—": "-",
    "–": "-",
    "…": "...",
    "×": "x",
    "·": "*",
    "≥": ">=",
    "≤": "<=",
    "±": "+/-",
    "λ": "lambda",
    "½": "1/2",
    "Σ": "sum",
    "‖": "||",
    "²": "^2",
    "✓": "ok",
    "✗": "x",
}


def _ascii_spelling(error: UnicodeEncodeError):
    """An encoding error handler: the ASCII spelling of each character, else its \\u escape."""
    text = error.object[error.start : error.end]
    spelled = "".join(ASCII_SPELLINGS.get(c) or c.encode("ascii", "backslashreplace").decode("ascii") for c in text)
    return spelled, error.end


codecs.register_error("layerprop-ascii", _ascii_spelling)


def _printable_output() -> None:
    """Let stdout and stderr write what their encoding cannot (PYTHONIOENCODING=ascii, a C locale):
    an arrow becomes "->", other characters their escape, instead of a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if not isinstance(stream, io.TextIOWrapper):
            continue
        try:
            "→—…".encode(stream.encoding)
        except (UnicodeEncodeError, LookupError):
            stream.reconfigure(errors="layerprop-ascii")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit does not report the closed pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout already closed or replaced
        pass

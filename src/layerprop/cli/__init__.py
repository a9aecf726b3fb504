"""The ``layerprop`` command line: ``layerprop <command> [options]`` (also ``python -m layerprop``).

Each command lives in its own module of this package with ``add_parser(subparsers)`` and
``run(args) -> int``. Exit codes: 0 success, 2 usage error, 1 runtime error (one line on stderr;
the traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading

from .common import UsageError

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

    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(expression_option_values(sys.argv[1:] if argv is None else list(argv)))
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


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit does not report the closed pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout already closed or replaced
        pass

"""The ``layerprop`` command line: ``layerprop <command> [options]`` (also ``python -m layerprop``).

Each command lives in its own module of this package with ``add_parser(subparsers)`` and
``run(args) -> int``. Exit codes: 0 success, 2 usage error, 1 runtime error (one line on stderr;
the traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import sys

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


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` stands for a Ctrl-C: some libraries turn a KeyboardInterrupt that lands
    inside them into another error (NumPy's C-extension import raises ImportError from it)."""
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

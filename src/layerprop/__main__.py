"""``python -m layerprop`` runs the command line."""

import sys


def _exit(code: int) -> None:
    """Exit with ``code``, also after a Ctrl-C that was handled.

    A CPython quirk: under ``python -m``, a KeyboardInterrupt that ended inside a string
    ``exec``/``eval`` (dataclasses and namedtuple build their methods that way, so an import can
    be interrupted there) marks the interpreter, which then kills itself with SIGINT at exit even
    though the interrupt was handled and the exit code chosen. Every string evaluation clears that
    mark, so one harmless evaluation just before exiting keeps the code we return (130).
    """
    eval("None")
    sys.exit(code)


try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line itself is imported
    print("\nlayerprop: interrupted", file=sys.stderr)
    _exit(130)

_exit(main())

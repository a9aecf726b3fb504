"""Helper shared by the command-line tests (imported by them; not a test module)."""

from __future__ import annotations

from layerprop.cli import main


def run_cli(capsys, *argv):
    """Run ``layerprop ARGV`` in-process: (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's usage errors and parser.exit
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err

"""layerprop doctor: check your own layers and say what is wrong with them.

  layerprop doctor my_layers.py                 # every class with forward and backward
  layerprop doctor my_layers.py Relu Affine     # only these
  layerprop doctor my_layers.py --lang ko       # in Korean (한국어로)
  layerprop doctor my_layers.py --json          # for programs: a list of {"layer", "ok", "problems"}

FILE.py is run: it is imported, so its top-level code runs as `python FILE.py` would run it (with
FILE's folder first on sys.path; only an `if __name__ == "__main__":` block is skipped). Give it
your own files only. Each layer is then called with small float64 inputs and checked the way
layerprop checks its own layers: forward and backward run, nothing the caller passed is changed
in place, each gradient has its input's shape and matches numerical differentiation, backward
uses the latest forward, and large inputs give no inf or NaN where the math is finite.

A class is built when its constructor takes no argument or the book's (W, b). One line per class
(ok, or its problem codes and the first message), then the details. Exit status: 0 when every
layer passes, 1 when a problem was found, 2 for a usage error (no such file or class, a file that
fails to run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

LANGUAGES = ("en", "ko")


class _Language(argparse.Action):
    """Stores --lang and tells the parser at once, so that later usage errors speak it."""

    def __call__(self, parser, namespace, value, option_string=None):
        if value not in LANGUAGES:
            _usage_error(parser, "cli/bad-lang", value=value)
        parser.language = value
        setattr(namespace, self.dest, value)


def _say(key, lang, **values) -> str:
    from ..doctor.messages import say

    return say(key, **values).text(lang)


def _usage_error(parser, key, **values):
    """One line on stderr, in the language chosen so far, and exit status 2."""
    lang = getattr(parser, "language", "en")
    parser.exit(2, _say("cli/error", lang, message=_say(key, lang, **values)) + "\n")


def _argparse_error(parser, message):
    """argparse's own errors (a missing FILE, an unknown option) as one line, in Korean with --lang ko."""
    if "the following arguments are required" in message:
        _usage_error(parser, "cli/required")
    lang = getattr(parser, "language", "en")
    parser.exit(2, _say("cli/error", lang, message=message) + "\n")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "doctor",
        help="check your own layers (a FILE.py of classes with forward and backward): what is wrong with them",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE.py", help="your Python file; it is run, as `python FILE.py` would run it")
    p.add_argument(
        "classes",
        nargs="*",
        metavar="CLASS",
        help="the classes to check (default: every class in FILE.py with forward and backward)",
    )
    p.add_argument("--json", action="store_true", help='print a JSON list of {"layer", "ok", "problems": [...]}')
    p.add_argument(
        "--lang", action=_Language, default="en", metavar="ko|en", help="language of the report (default en)"
    )
    p.error = lambda message: _argparse_error(p, message)
    p.set_defaults(func=run, parser=p)


def run(args) -> int:
    from ..doctor import check_layer
    from ..doctor.learner_file import LearnerFileError, load_layers

    parser, lang = args.parser, args.lang
    try:
        classes = load_layers(args.file, args.classes, quiet=args.json)
    except LearnerFileError as exc:
        parser.exit(2, _say("cli/error", lang, message=exc.text.text(lang)) + "\n")
    redirect = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    with redirect:  # what the learner's layers print does not mix with the JSON
        reports = [check_layer(cls, lang=lang) for cls in classes]
    if args.json:
        print(json.dumps([report.to_dict() for report in reports], ensure_ascii=False, indent=2))
    else:
        width = max(len(report.layer) for report in reports)
        for report in reports:
            print(f"{'✓' if report.ok else '✗'} {report.layer:<{width}}  {report.summary(lang)}")
        for report in reports:
            print()
            print(report.text(lang))
    return 0 if all(report.ok for report in reports) else 1

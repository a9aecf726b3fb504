"""``layerprop graph``: draw a computational graph with forward values and backward gradients.

Draw one of the notes' examples, or your own expression:

  layerprop graph --example apple-orange -o apple_orange.svg
  layerprop graph --example sigmoid -o sigmoid.html
  layerprop graph --expr "(a*b + c*d)*t" --set a=100 b=2 c=150 d=3 t=1.1 -o shop.png

The extension of -o picks the format: .dot (Graphviz text), .svg / .png / .pdf (pictures; they need
Graphviz's 'dot' program), .html (a page that steps through forward and backward node by node;
needs nothing). Without -o the DOT text is printed.

Expressions use numbers (2, 2.5, .5, 1e-3), names, + - * / **, unary minus, parentheses and the
functions exp, log, sigmoid, relu, tanh, with Python's precedence (** is right-associative and
binds tighter than a unary minus on its left). Every name needs a value from --set NAME=NUMBER;
a --set for a name that the expression does not use is an error too (it is usually a typo).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import UsageError

EXAMPLE_NAMES = ("apple", "apple-orange", "sigmoid", "two-layer-net")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "graph",
        help="draw a computational graph with forward values and gradients",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--example", choices=EXAMPLE_NAMES, help="one of the notes' graphs")
    source.add_argument("--expr", metavar="EXPRESSION", help='your own expression, e.g. "(a*b + c*d)*t"')
    p.add_argument("--set", dest="values", metavar="NAME=NUMBER", nargs="+", action="extend", default=[],
                   help="values of the expression's names, e.g. --set a=100 b=2")
    p.add_argument("-o", "--output", metavar="FILE", help="output file; its extension picks the format (default: DOT on stdout)")
    p.add_argument("--format", choices=("dot", "svg", "png", "pdf", "html"),
                   help="format to write, overriding the extension of -o")
    p.add_argument("--digits", type=int, default=6, help="significant digits of the numbers shown (default 6)")
    p.add_argument("--title", help="title of the drawing")
    p.add_argument("--no-backward", action="store_true", help="(with --expr) draw the forward pass only")
    p.set_defaults(func=run)


def expression_option_values(argv: list) -> list:
    """``--expr -x**2`` → ``--expr=-x**2``: an expression may start with a minus sign.

    argparse takes an argument that starts with '-' (and is not a number) for an option, so
    ``layerprop graph --expr "-x**2"`` would fail with "expected one argument"; joining the
    value to its option keeps it a value.
    """
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--expr" and i + 1 < len(argv) and argv[i + 1].startswith("-") and argv[i + 1] != "--":
            out.append(f"--expr={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def expression_target(text: str, assignments, backward: bool = True):
    """Parse ``text`` and the ``--set`` strings, record the graph, run backward; UsageError if bad."""
    from ..viz.expr import ExpressionError, parse_assignment, parse_expression

    try:
        expression = parse_expression(text)
        values = {}
        for item in assignments:
            name, value = parse_assignment(item)
            values[name] = value
        unused = [name for name in values if name not in expression.names]
        if unused:
            names = ", ".join(expression.names) or "no names"
            raise UsageError(f"--set {unused[0]}=… is not used by the expression {text!r} (it uses {names})")
        output = expression.build(values, output_name="out")
    except ExpressionError as exc:
        raise UsageError(str(exc)) from None
    if backward:
        output.backward()
    return output


def run(args) -> int:
    from .. import viz

    if args.digits < 1 or args.digits > 17:
        raise UsageError(f"--digits must be between 1 and 17, got {args.digits}")
    if args.example is not None:
        if args.values:
            raise UsageError("--set goes with --expr, not with --example")
        target = viz.example(args.example)
        title = args.title or viz.examples.TITLES[args.example]
    else:
        target = expression_target(args.expr, args.values, backward=not args.no_backward)
        title = args.title or args.expr
    options = {"title": title, "digits": args.digits}
    if args.output is None:
        if args.format not in (None, "dot"):
            raise UsageError(f"--format {args.format} needs -o FILE (only DOT text goes to stdout)")
        sys.stdout.write(viz.to_dot(target, **options))
        return 0
    suffix = Path(args.output).suffix.lower()
    if args.format is None and suffix not in viz.FORMATS:
        known = ", ".join(sorted(viz.FORMATS))
        raise UsageError(f"cannot tell the format of {args.output!r} from its extension: use {known} (or --format)")
    path = viz.render(target, args.output, format=args.format, **options)
    print(f"wrote {path}")
    return 0

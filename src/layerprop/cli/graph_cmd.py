"""layerprop graph: draw a computational graph with forward values and backward gradients.

Draw one of the notes' examples, or your own expression:

  layerprop graph --example apple-orange -o apple_orange.svg
  layerprop graph --example sigmoid -o sigmoid.html
  layerprop graph --expr "(a*b + c*d)*t" --set a=100 b=2 c=150 d=3 t=1.1 -o shop.png

The extension of -o picks the format: .dot (Graphviz text), .svg / .png / .pdf (pictures; they need
Graphviz's 'dot' program), .html (a page that steps through forward and backward node by node;
needs nothing). Without -o the drawing goes to stdout: DOT text by default, or the --format asked
for (PNG and PDF only when stdout is redirected to a file or a pipe, never onto a terminal).

Expressions use numbers (2, 2.5, .5, 1e-3), names, + - * / **, unary minus, parentheses and the
functions exp, log, sigmoid, relu, tanh, with Python's precedence (** is right-associative and
binds tighter than a unary minus on its left). Every name needs a value from --set NAME=NUMBER;
a --set for a name that the expression does not use is an error too (it is usually a typo).
Values must be finite numbers (nan, inf and 1e400 are refused). Expressions are limited to 10,000
characters and 64 levels of nesting. When a value or gradient of the drawing is inf or NaN (1/x
at x = 0, log of a negative number), one line on stderr says which.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings
from pathlib import Path

import numpy as np

from .common import UsageError, check_output_file, needs_images, trained_on

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
    source.add_argument("--model", metavar="MODEL", help="a model file (layerprop train / import-book): its layers")
    p.add_argument(
        "--set",
        dest="values",
        metavar="NAME=NUMBER",
        nargs="+",
        action="extend",
        default=[],
        help="values of the expression's names, e.g. --set a=100 b=2",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="output file; its extension picks the format (default: DOT on stdout)"
    )
    p.add_argument(
        "--format", choices=("dot", "svg", "png", "pdf", "html"), help="format to write, overriding the extension of -o"
    )
    p.add_argument("--digits", type=int, default=6, help="significant digits of the numbers shown (default 6)")
    p.add_argument("--title", help="title of the drawing")
    p.add_argument("--no-backward", action="store_true", help="draw the forward pass only (no gradients)")
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
    """Parse ``text`` and the ``--set`` strings, record the graph, run backward; UsageError if bad.

    NumPy's floating-point warnings (1/0, log(−1)) are silenced here: the values come out as inf
    or NaN, and :func:`non_finite_values` reports them in one line instead."""
    from ..graph.expression import ExpressionError, parse_assignment, parse_expression

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
        with np.errstate(all="ignore"):
            output = expression.build(values, output_name="out")
            if backward:
                output.backward()
    except ExpressionError as exc:
        raise UsageError(str(exc)) from None
    return output


def forward_only(target):
    """``target`` drawn without gradients: the Variables' gradients cleared, or, for a drawing
    model (the network example), a copy of it whose edges carry no gradient."""
    from ..graph import Variable, clear_grads
    from ..viz import GraphModel

    if isinstance(target, GraphModel):
        edges = [dataclasses.replace(e, grad=None, grad_text=None) for e in target.edges]
        return dataclasses.replace(target, edges=edges)
    for variable in target.values() if isinstance(target, dict) else [target]:
        if isinstance(variable, Variable):
            clear_grads(variable)
    return target


def non_finite_values(target, limit: int = 4) -> list[str]:
    """'name = value' for the values and gradients of the drawing that are inf or NaN (at most
    ``limit``, then '…')."""
    from ..viz import build_model

    found = []
    model = build_model(target)
    for edge in model.edges:
        who = edge.name or f"the output of {model.node(edge.source).label}"
        for what, array, text in (("", edge.value, edge.value_text), ("gradient of ", edge.grad, edge.grad_text)):
            if array is None or text is None:
                continue
            if not _finite(array):
                entry = f"{what}{who} = {text}"
                if entry not in found:
                    found.append(entry)
    return found if len(found) <= limit else [*found[:limit], "…"]


def _finite(array) -> bool:
    """Whether every value of ``array`` is finite, without a copy of it (its minimum and maximum
    are finite exactly then: NaN makes both NaN)."""
    a = np.asarray(array)
    if a.dtype.kind != "f" or a.size == 0:  # integers, booleans (labels, flags) are always finite
        return True
    return bool(np.isfinite(a.min()) and np.isfinite(a.max()))


def example_image(network, dataset: str | None):
    """``(x, t, what)``: one input for drawing a network that takes images, and what it is.

    The first test image of the data set the model was trained on (MNIST when its file does not
    say, and when Fashion-MNIST is not on this machine: nothing is downloaded for a drawing), with
    its label; for an input shape other than 1×28×28, a fixed random image (seed 0) of that shape.
    """
    from ..datasets import load_fashion_mnist, load_mnist
    from ..errors import LayerpropError

    shape = tuple(network.to_config()["input_dim"])
    dtype = getattr(network, "dtype", np.float32)
    if shape == (1, 28, 28):
        loaded = None
        if dataset == "fashion-mnist":
            try:
                loaded = load_fashion_mnist(normalize=True, flatten=False, download=False)
            except (FileNotFoundError, LayerpropError):
                dataset = None
        if loaded is None:
            loaded, dataset = load_mnist(normalize=True, flatten=False), "mnist"
        images, labels = loaded[1]
        name = "MNIST" if dataset == "mnist" else "Fashion-MNIST"
        return images[:1].astype(dtype), labels[:1].astype(np.int64), f"the first {name} test image"
    x = np.random.default_rng(0).standard_normal((1, *shape)).astype(dtype)
    return x, np.zeros(1, dtype=np.int64), f"a random {'×'.join(map(str, shape))} input"


def drawing_bytes(target, fmt: str, options) -> bytes:
    """The drawing in ``fmt`` ('dot', 'svg', 'html', 'png' or 'pdf'), as bytes for stdout."""
    from .. import viz
    from ..viz.rendering import run_dot

    if fmt == "dot":
        return viz.to_dot(target, **options).encode("utf-8")
    if fmt == "html":
        return viz.to_html(target, **options).encode("utf-8")
    if fmt == "svg":
        return viz.to_svg(target, **options).encode("utf-8")
    if fmt == "png":
        return viz.to_png(target, **options)
    return run_dot(viz.to_dot(target, **options), fmt)


def run(args) -> int:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # inf and NaN are reported in one line instead
        return _run(args)


def _run(args) -> int:
    from .. import viz

    if args.digits < 1 or args.digits > 17:
        raise UsageError(f"--digits must be between 1 and 17, got {args.digits}")
    if args.output is not None:
        check_output_file("-o", args.output)
    if args.example is not None:
        if args.values:
            raise UsageError("--set goes with --expr, not with --example")
        target = viz.example(args.example)
        if args.no_backward:
            target = forward_only(target)
        title = args.title or viz.examples.TITLES[args.example]
    elif args.model is not None:
        from .common import load_model_file

        if args.values:
            raise UsageError("--set goes with --expr, not with --model")
        loaded = load_model_file(args.model)
        network, title = loaded.model, args.title or f"{type(loaded.model).__name__} ({args.model})"
        target = network
        if needs_images(network):  # a convolutional network: it is drawn on one image of its input shape
            x, t, shown = example_image(network, trained_on(loaded))
            target = viz.build_model(network, x=x, t=t, title=args.title or f"{title} on {shown}")
            title = target.title
    else:
        target = expression_target(args.expr, args.values, backward=not args.no_backward)
        title = args.title or args.expr
    options = {"title": title, "digits": args.digits}
    non_finite = non_finite_values(target)
    if non_finite:
        print(f"layerprop graph: note: not finite (inf or NaN): {', '.join(non_finite)}", file=sys.stderr)
    if args.output is None:
        fmt = args.format or "dot"
        if fmt in ("png", "pdf") and sys.stdout.isatty():
            raise UsageError(f"--format {fmt} is binary: give -o FILE, or redirect stdout to a file")
        data = drawing_bytes(target, fmt, options)  # made in full before anything is written
        binary = getattr(sys.stdout, "buffer", None)
        if binary is None:  # a text-only stream (a StringIO in place of stdout): text formats only
            if fmt in ("png", "pdf"):
                raise UsageError(f"--format {fmt} is binary and stdout takes only text: give -o FILE")
            sys.stdout.write(data.decode("utf-8"))
            return 0
        sys.stdout.flush()
        binary.write(data)
        binary.flush()
        return 0
    suffix = Path(args.output).suffix.lower()
    if args.format is None and suffix not in viz.FORMATS:
        known = ", ".join(sorted(viz.FORMATS))
        raise UsageError(f"cannot tell the format of {args.output!r} from its extension: use {known} (or --format)")
    path = viz.render(target, args.output, format=args.format, **options)
    print(f"wrote {path}")
    return 0

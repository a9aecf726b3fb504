"""``layerprop import-book FILE.pkl --model {ch03,simpleconvnet,deepconvnet} -o model.npz``: the book's trained
weights as a layerprop model file, read without running any code from the pickle."""

from __future__ import annotations

import os

from .common import UsageError, check_output_file


def add_parser(subparsers):
    from ..interop.book_import import BOOK_MODELS

    p = subparsers.add_parser(
        "import-book", help="turn the book's weight pickle into a layerprop model file (safely)", description=__doc__
    )
    p.add_argument(
        "file", help="the book's pickle: ch03/sample_weight.pkl, ch07/params.pkl or ch08/deep_convnet_params.pkl"
    )
    p.add_argument(
        "--model",
        required=True,
        choices=list(BOOK_MODELS),
        help="the network the weights belong to: " + ", ".join(f"{k} ({v[0]})" for k, v in BOOK_MODELS.items()),
    )
    p.add_argument("-o", "--output", required=True, help="the model file to write (.npz)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..interop.book_import import import_book

    if not os.path.exists(args.file):  # (a FIFO or a device exists: the reader refuses it in one line)
        raise UsageError(f"no such file: {args.file}")
    check_output_file("-o", args.output)
    written = import_book(args.file, args.model, args.output)
    print(f"{args.file} → {written} ({args.model}); try: layerprop evaluate {written}")
    return 0

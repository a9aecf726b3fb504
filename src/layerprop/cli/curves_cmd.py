"""``layerprop curves RUN_DIR``: redraw ``curves.png`` from a training run's ``history.json``.

  layerprop curves runs/20260101-120000-two-layer
  layerprop curves runs/20260101-120000-two-layer -o loss_and_accuracy.png

The loss per iteration and the accuracies per epoch, as ``layerprop train`` draws them at the end of
a run (needs matplotlib: ``pip install 'layerprop[plot]'``). The picture replaces the old one
atomically.
"""

from __future__ import annotations

import argparse
import math
import os

from .common import UsageError, check_output_file

#: history.json files larger than this are refused before they are read (a run of 10⁶ iterations
#: writes about 20 MB)
MAX_HISTORY_BYTES = 64 * 1024 * 1024
#: the most memory parsing history.json may take (bounded from its text before parsing; a run's
#: history of floats takes about five times its size)
MAX_HISTORY_MEMORY = 192 * 1024 * 1024
#: the keys whose lists are drawn
CURVE_KEYS = ("train_loss_list", "train_acc_list", "test_acc_list", "val_acc_list")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "curves",
        help="redraw curves.png of a training run from its history.json",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by layerprop train (holds history.json)")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write the PNG (default: RUN_DIR/curves.png)")
    p.set_defaults(func=run)


def read_history(path: str) -> dict:
    """The curves of ``history.json`` as lists of floats; UsageError naming what is wrong."""
    from ..storage.inputs import InputTooLarge, parse_json, read_input

    try:  # a regular file only: a FIFO or a link to /dev/zero is refused before anything is read
        text = read_input(path, max_bytes=MAX_HISTORY_BYTES, what="history")
        data = parse_json(text, max_memory=MAX_HISTORY_MEMORY, what="history")
    except FileNotFoundError:
        raise UsageError(f"{path} not found: RUN_DIR must be a folder written by layerprop train") from None
    except InputTooLarge as exc:  # too many bytes (the message names the file), or too costly to parse
        message = str(exc)
        raise UsageError(message if message.startswith(path) else f"{path}: {message}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise UsageError(
            f"{path} must hold a JSON object with the lists {', '.join(CURVE_KEYS)}, got {type(data).__name__}"
        )
    history = {}
    for key in CURVE_KEYS:
        values = data.get(key, [])
        if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
        ):
            raise UsageError(f"{path}: {key!r} must be a list of finite numbers")
        history[key] = [float(v) for v in values]
    if not any(history.values()):
        raise UsageError(f"{path} holds no curve: none of {', '.join(CURVE_KEYS)} has a value")
    settings = data.get("settings")
    history["title"] = ""
    if (
        isinstance(settings, dict)
        and isinstance(settings.get("model"), str)
        and isinstance(settings.get("dataset"), str)
    ):
        history["title"] = f"{settings['model'][:60]} on {settings['dataset'][:60]}"
    return history


def run(args) -> int:
    from ..training.curves import plot_history

    if not os.path.isdir(args.run_dir):
        raise UsageError(f"{args.run_dir} is not a folder: give the run folder that layerprop train wrote")
    output = args.output or os.path.join(args.run_dir, "curves.png")
    check_output_file("-o", output)
    history = read_history(os.path.join(args.run_dir, "history.json"))
    plot_history(history, output, title=history.pop("title"))
    print(f"wrote {output}")
    return 0

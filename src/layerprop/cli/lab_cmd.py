"""``layerprop lab``: see backprop live in the browser — edit a graph, train a network.

  layerprop lab                      # http://127.0.0.1:8765/?token=…, opens the browser
  layerprop lab --port 0 --no-browser
  layerprop lab --layers my_layers.py    # your own layers on the graph page (the file is run)
  layerprop lab --open 'http://127.0.0.1:8765/?token=…#tab=graph&expr=…'   # a link shared from any lab

Starts a local web app (needs the extra: pip install 'layerprop[lab]') and prints its URL. The
graph page recomputes forward and backward as you move a slider; the train page trains a small
network on a toy data set or MNIST and shows it learning. With --layers FILE.py the graph page can
run any node with one of your own classes (FILE.py is run, as `python FILE.py` would run it), steps
through its forward and backward with the numbers and shows the doctor's verdict on each node and,
in a "Doctor" panel, on each class. The app listens on 127.0.0.1 only and answers only requests
that carry the random token in the URL. The browser it opens is given a private redirect file, not
the URL, so the token never shows on a command line (ps); if your browser cannot open local files,
open the printed URL yourself. Ctrl-C stops it.

Share links: the Share button copies a link that holds the page's state after its #. That link
carries its lab's token, so another lab refuses it (and says how to open it). --open LINK starts
this lab on LINK's state: its own URL, with LINK's # part appended (LINK's token, host and port are
not used, and the # part never reaches the server). A running lab opens one with "Open a shared
link" at the top of its page. A very long link (many points) may not fit on a command line:
paste it there instead.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

from .common import UsageError

DEFAULT_PORT = 8765


def add_parser(subparsers):
    p = subparsers.add_parser(
        "lab",
        help="a live web app: edit a graph and watch its gradients, train a network and watch it learn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything else needs --allow-remote)",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free port)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that other machines can reach (they still need the token)",
    )
    p.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    p.add_argument(
        "--layers",
        metavar="FILE.py",
        help="your own layers on the graph page, checked by the doctor: FILE.py is run, as `python FILE.py` "
        "would run it (its classes with forward and backward can stand for the graph's nodes)",
    )
    p.add_argument(
        "--open",
        metavar="LINK",
        help="start on the state of LINK, a link copied with any lab's Share button (or just its #… part): "
        "the lab opens and prints its own URL with LINK's # part",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from ..lab.security import is_loopback
    from ..validation import integer

    try:
        integer("--port", args.port, minimum=0, maximum=65535)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    fragment = ""
    if args.open is not None:
        from ..lab.share_links import shared_fragment

        try:
            fragment = shared_fragment(args.open)
        except ValueError as exc:
            raise UsageError(f"--open: {exc}") from None
    missing = [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"layerprop lab: error: the lab needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed. Install them with:  pip install 'layerprop[lab]'",
            file=sys.stderr,
        )
        return 2
    if not args.host.strip():
        raise UsageError(
            "--host is empty; give an address such as 127.0.0.1 (or 0.0.0.0 with --allow-remote for every interface)"
        )
    if not is_loopback(args.host):
        if not args.allow_remote:
            raise UsageError(f"--host {args.host} lets other machines reach the lab; add --allow-remote if you mean it")
        print(
            f"warning: the lab listens on {args.host}: other machines can reach it "
            "(requests still need the token; anyone who sees the URL can run code on this machine)",
            file=sys.stderr,
        )
    layers = None
    if args.layers:
        from ..doctor.learner_file import LearnerFileError, load_layers
        from ..lab.learner_layers import LearnerLayers

        try:  # the learner's file, given here on the command line: never code from the browser
            layers = LearnerLayers(load_layers(args.layers, quiet=True), args.layers)
        except LearnerFileError as exc:
            raise UsageError(str(exc)) from None
    from ..lab.server import serve

    try:
        serve(
            args.host,
            args.port,
            open_browser=not args.no_browser,
            announce=lambda line: print(line, flush=True),
            layers=layers,
            fragment=fragment,
            debug=getattr(args, "debug", False),
        )
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0

"""layerprop gradcheck: the book's gradient check of a network on a few MNIST samples.

Backpropagation and numerical differentiation (central differences, h = 1e-4) compute the same
gradients in float64; the table shows, per parameter, the book's mean absolute difference and the
largest absolute and relative errors, and the time each method took — numerical differentiation is
very slow, backpropagation is not (note 003). Exits with 1 when an error is above --tol.
"""

from __future__ import annotations

import numpy as np

from .common import UsageError, parse_int_list


def add_parser(subparsers):
    p = subparsers.add_parser(
        "gradcheck",
        help="compare backprop with numerical gradients on MNIST samples",
        description=__doc__,
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
    )
    p.add_argument("--hidden", default="50", help="hidden sizes (default 50: the book's TwoLayerNet 784-50-10)")
    p.add_argument("--samples", type=int, default=3, help="number of MNIST training samples (default 3)")
    p.add_argument("--batchnorm", action="store_true", help="check a network with batch normalisation")
    p.add_argument("--tol", type=float, default=1e-6, help="largest relative error accepted (default 1e-6)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..datasets import load_mnist
    from ..gradcheck import check_network
    from ..nets import MultiLayerNetExtend, TwoLayerNet
    from ..validation import integer, non_negative

    try:
        integer("--samples", args.samples, minimum=1)
        integer("--seed", args.seed, minimum=0)
        non_negative("--tol", args.tol)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    hidden = parse_int_list(args.hidden, "--hidden")
    (x_train, t_train), _ = load_mnist(normalize=True, one_hot_label=True)
    x, t = x_train[: args.samples].astype(np.float64), t_train[: args.samples]
    if len(hidden) == 1 and not args.batchnorm:
        network = TwoLayerNet(784, hidden[0], 10, dtype="float64", seed=args.seed)
    else:
        network = MultiLayerNetExtend(784, hidden, 10, use_batchnorm=args.batchnorm, dtype="float64", seed=args.seed)
    print(f"gradient check of {network!r} on {args.samples} MNIST samples (float64)")
    n_params = sum(p.size for p in network.params.values())
    print(f"numerical differentiation evaluates the loss twice for each of {n_params:,} parameters …", flush=True)
    report = check_network(network, x, t)
    print()
    print(f"{'param':<8}{'mean |diff| (book)':>20}{'max abs error':>16}{'rel error':>12}")
    for row in report.rows:
        mean_diff = float(np.mean(np.abs(row.analytic - row.numeric)))
        print(f"{row.name:<8}{mean_diff:>20.3e}{row.max_abs_error:>16.3e}{row.rel_error:>12.3e}")
    seconds_num, seconds_bp = report.timings["numerical"], report.timings["backprop"]
    print(
        f"\nnumerical differentiation: {seconds_num:.3f} s   backpropagation: {seconds_bp * 1000:.3f} ms"
        f"   (backprop {seconds_num / max(seconds_bp, 1e-9):,.0f}× faster)"
    )
    if report.ok(args.tol):
        print(f"OK: every relative error is below {args.tol:g}")
        return 0
    print(f"FAILED: largest relative error {report.max_rel_error:.3e} is above {args.tol:g}")
    return 1

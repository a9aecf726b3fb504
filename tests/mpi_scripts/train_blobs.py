"""Train a small network on synthetic blobs under ``mpiexec`` (or alone); rank 0 writes the results.

Used by tests/test_distributed.py:  train_blobs.py OUT.npz [--overlap] [--weight-decay L] [--kind K]
[--batch B] [--epochs E] [--seed S] [--fail-rank R --fail-iter I] [--single] [--checkpoint PATH] [--resume]
[--stop-after E]. Every rank also writes its own final state to OUT.rank<r>.npz.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from layerprop.nets import MultiLayerNetExtend
from layerprop.training import Checkpoint, LearningRateSchedule, Trainer
from layerprop.training.communicators import SingleProcess, mpi_communicator

N_FEATURES, N_CLASSES = 20, 3


def make_data(n, seed):
    centres = np.random.default_rng(1234).standard_normal((N_CLASSES, N_FEATURES)) * 0.6
    rng = np.random.default_rng(seed)
    t = rng.integers(0, N_CLASSES, n)
    return centres[t] + rng.standard_normal((n, N_FEATURES)), t


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--overlap", action="store_true")
    p.add_argument("--single", action="store_true", help="no MPI at all: the single-process reference")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--kind", choices=("plain", "dropout", "batchnorm"), default="plain")
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--n-train", type=int, default=1003)
    p.add_argument("--dtype", default="float64")
    p.add_argument("--fail-rank", type=int, default=None)
    p.add_argument("--fail-iter", type=int, default=None)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--stop-after", type=int, default=None, help="train only this many epochs now")
    args = p.parse_args()

    comm = SingleProcess() if args.single else mpi_communicator(overlap=args.overlap)
    with comm.fail_together():
        x, t = make_data(args.n_train, 0)
        x_test, t_test = make_data(301, 1)
        net = MultiLayerNetExtend(
            N_FEATURES,
            [32, 16],
            N_CLASSES,
            dtype=args.dtype,
            seed=0,
            weight_decay_lambda=args.weight_decay,
            use_dropout=args.kind == "dropout",
            dropout_ration=0.2,
            use_batchnorm=args.kind == "batchnorm",
        )
        if args.fail_rank is not None and comm.rank == args.fail_rank:
            gradient, calls = net.gradient, [0]

            def failing_gradient(*a, **k):
                calls[0] += 1
                if calls[0] > args.fail_iter:
                    raise RuntimeError(f"injected failure at step {calls[0]}")
                return gradient(*a, **k)

            net.gradient = failing_gradient
        trainer = Trainer(
            net,
            x,
            t,
            x_test,
            t_test,
            epochs=args.epochs,
            mini_batch_size=args.batch,
            optimizer=args.optimizer,
            optimizer_param={"lr": 0.01},
            verbose=False,
            callbacks=[LearningRateSchedule("cosine"), *([Checkpoint(args.checkpoint)] if args.checkpoint else [])],
            seed=args.seed,
            communicator=comm,
        )
        if args.resume:
            trainer.callback(Checkpoint).restore()
        while trainer.epoch < trainer.epochs and (args.stop_after is None or trainer.epoch < args.stop_after):
            trainer.train_epoch()
        np.savez(f"{args.out}.rank{comm.rank}.npz", **net.state_dict())
        if comm.is_root:
            np.savez(args.out, **net.state_dict())
            with open(args.out + ".json", "w") as f:
                json.dump({"size": comm.size, "history": trainer.history}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``layerprop train`` on a small synthetic, learnable data set instead of MNIST (300 training and
100 test samples of 784 features, noisy labels, so that a validation accuracy wobbles): the
command line of ``layerprop`` with its data-set loader replaced. Used by the crash-safety and the
MPI tests, alone or under ``mpiexec``:  tiny_train.py train [options].

``TINY_TRAIN_NAN_FROM=k`` makes the loss NaN from the k-th gradient on (a run that diverges where
the test wants it).
"""

import os
import sys

import numpy as np

from layerprop.cli import main, train_cmd


def tiny_dataset(name, data_dir=None, flatten=True):
    rng = np.random.default_rng(123)
    projection = rng.standard_normal((784, 10)).astype(np.float32)
    x = rng.random((400, 784), dtype=np.float32)
    t = np.argmax((x - 0.5) @ projection + 4.0 * rng.standard_normal((400, 10)), axis=1)
    return (x[:300], t[:300]), (x[300:], t[300:])


def nan_from(step, build):
    def build_network(settings):
        network = build(settings)
        gradient, calls = network.gradient, [0]

        def poisoned(*args, **kwargs):
            grads = gradient(*args, **kwargs)
            calls[0] += 1
            if calls[0] >= step:
                network.last_loss = float("nan")
            return grads

        network.gradient = poisoned
        return network

    return build_network


def install():
    """Replace the data-set loader of ``layerprop train`` (and poison the loss if asked to)."""
    train_cmd.load_dataset = tiny_dataset
    if os.environ.get("TINY_TRAIN_NAN_FROM"):
        train_cmd.build_network = nan_from(int(os.environ["TINY_TRAIN_NAN_FROM"]), train_cmd.build_network)


if __name__ == "__main__":
    install()
    sys.exit(main(sys.argv[1:]))

"""``layerprop train``: train a network on MNIST or Fashion-MNIST and save it.

Default: the notes' network — 784-50-10 with Relu, SGD with lr 0.1, batch 100, 17 epochs (≈ the
book's 10,000 iterations), float32. Adam (and the other adaptive optimizers) start at their learning
rate and decay it to 0 on a cosine schedule, which gains a few tenths of a percent. Writes ``model.npz``, ``history.json``, ``curves.png`` and a
``checkpoint.npz`` after each epoch into ``--out`` (default ``runs/<timestamp>``).
"""

from __future__ import annotations

import json
import os
import sys
import time

from . import UsageError
from .common import DATASETS, add_device_option, load_dataset, parse_int_list, resolve_device

MODELS = ("mlp", "convnet", "deepconvnet")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
# Initial learning rates. Adam's 0.003 with cosine decay beats the book's constant 0.001 on the MLPs
# (784-100-10, 10 epochs: 98.0 % against 97.6 % on MNIST, 88.6 % against 87.8 % on Fashion-MNIST).
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.01, "rmsprop": 0.001, "adam": 0.003}
ADAPTIVE = ("adagrad", "rmsprop", "adam")  # optimizers whose default schedule is cosine
MODEL_DEFAULTS = {
    "mlp": {"optimizer": "sgd", "epochs": 17, "lr": {}},
    "convnet": {"optimizer": "adam", "epochs": 10, "lr": {}},
    "deepconvnet": {"optimizer": "adam", "epochs": 12, "lr": {"adam": 0.001}},
}
CHECKPOINT = "checkpoint.npz"


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train", help="train a network (default: the notes' 784-50-10 MLP on MNIST)",
        description=__doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[1],
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", choices=MODELS, default="mlp",
                   help="mlp (default), convnet (SimpleConvNet) or deepconvnet (the book's chapter-8 network)")
    p.add_argument("--dataset", choices=DATASETS, default=None, help="mnist (default, bundled) or fashion-mnist")
    p.add_argument("--data-dir", default=None, help="folder holding the data set's IDX files")
    p.add_argument("--hidden", default="50", help="hidden layer sizes of the MLP, comma-separated (default 50)")
    p.add_argument("--activation", choices=("relu", "sigmoid", "tanh"), default="relu")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None,
                   help="default sgd for mlp, adam for the convolutional networks")
    p.add_argument("--lr", type=float, default=None,
                   help="initial learning rate (default 0.1 for sgd, 0.003 for adam (0.001 for deepconvnet), "
                        "0.001 for rmsprop, 0.01 otherwise)")
    p.add_argument("--lr-schedule", choices=("cosine", "constant"), default=None,
                   help="cosine: decay the learning rate to 0 over the run (default for adam, rmsprop, adagrad); "
                        "constant: the book's fixed rate (default for sgd, momentum, nesterov)")
    p.add_argument("--epochs", type=int, default=None, help="number of epochs (default 17 for mlp)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay λ (loss + ½·λ·Σ‖W‖²)")
    p.add_argument("--batchnorm", action="store_true", help="batch normalisation after each hidden Affine (mlp)")
    p.add_argument("--dropout", type=float, nargs="?", const=0.5, default=None, metavar="RATIO",
                   help="dropout after each hidden layer (mlp; ratio default 0.5)")
    p.add_argument("--validation-split", type=float, default=0.0,
                   help="fraction of the training data held out for validation (enables --patience)")
    p.add_argument("--patience", type=int, default=None,
                   help="early stopping: epochs without validation improvement before stopping")
    p.add_argument("--seed", type=int, default=None, help="random seed: the same seed gives identical weights")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--out", default=None, help="output folder (default runs/<timestamp>)")
    p.add_argument("--resume", default=None, metavar="DIR_OR_CHECKPOINT",
                   help="continue an interrupted run from its folder or checkpoint file")
    p.add_argument("--quiet", action="store_true", help="print only the final result")
    add_device_option(p)
    p.set_defaults(func=run)


def _validate(args):
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if args.lr is not None and not args.lr > 0:
        raise UsageError(f"--lr must be positive, got {args.lr}")
    if args.dropout is not None and not 0 <= args.dropout < 1:
        raise UsageError(f"--dropout takes a ratio in [0, 1), got {args.dropout}")
    if not 0 <= args.validation_split < 1:
        raise UsageError(f"--validation-split takes a fraction in [0, 1), got {args.validation_split}")
    if args.patience is not None and not args.validation_split:
        raise UsageError("--patience needs --validation-split (early stopping watches the validation accuracy)")
    if args.weight_decay < 0:
        raise UsageError(f"--weight-decay must be ≥ 0, got {args.weight_decay}")


def build_network(settings: dict):
    """The network that ``settings`` (the run's recorded options) describe, with fresh weights."""
    from ..nets import MultiLayerNetExtend

    model, dtype, seed = settings["model"], settings["dtype"], settings["seed"]
    if model == "mlp":
        activation = settings["activation"]
        return MultiLayerNetExtend(
            784, settings["hidden"], 10, activation=activation,
            weight_init_std="relu" if activation == "relu" else "xavier",
            weight_decay_lambda=settings["weight_decay"], use_dropout=settings["dropout"] is not None,
            dropout_ration=0.5 if settings["dropout"] is None else settings["dropout"],
            use_batchnorm=settings["batchnorm"], dtype=dtype, seed=seed)
    from ..nets import DeepConvNet, SimpleConvNet

    if model == "convnet":
        return SimpleConvNet(dtype=dtype, seed=seed)
    return DeepConvNet(dtype=dtype, seed=seed)


def _settings_from_args(args) -> dict:
    model = args.model
    optimizer = args.optimizer or MODEL_DEFAULTS[model]["optimizer"]
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    return {
        "model": model,
        "dataset": args.dataset or "mnist",
        "data_dir": args.data_dir,
        "hidden": parse_int_list(args.hidden, "--hidden"),
        "activation": args.activation,
        "optimizer": optimizer,
        "lr": args.lr if args.lr is not None else MODEL_DEFAULTS[model]["lr"].get(optimizer, DEFAULT_LR[optimizer]),
        "lr_schedule": args.lr_schedule or ("cosine" if optimizer in ADAPTIVE else "constant"),
        "epochs": args.epochs or MODEL_DEFAULTS[model]["epochs"],
        "batch_size": args.batch_size,
        "weight_decay": args.weight_decay,
        "batchnorm": args.batchnorm,
        "dropout": args.dropout,
        "validation_split": args.validation_split,
        "patience": args.patience,
        "seed": seed,
        "dtype": args.dtype,
    }


def _resume_settings(args):
    """Settings and output folder of the run that ``--resume`` names."""
    from ..io import read_model_file

    path = args.resume
    checkpoint = os.path.join(path, CHECKPOINT) if os.path.isdir(path) else path
    if not os.path.exists(checkpoint):
        raise UsageError(f"--resume: no checkpoint at {checkpoint}")
    header, _, _ = read_model_file(checkpoint)
    settings = (header.get("metadata") or {}).get("run")
    if not settings:
        raise UsageError(f"--resume: {checkpoint} is not a checkpoint written by 'layerprop train'")
    if args.epochs:
        settings["epochs"] = args.epochs
    if args.data_dir:
        settings["data_dir"] = args.data_dir
    return settings, os.path.dirname(os.path.abspath(checkpoint)), checkpoint


def _make_trainer(network, settings, checkpoint, verbose, log):
    """Load the data set and build the Trainer (the data lives only as long as the trainer holds it)."""
    from ..train import Trainer

    flatten = settings["model"] == "mlp"
    (x_train, t_train), (x_test, t_test) = load_dataset(settings["dataset"], settings["data_dir"], flatten=flatten)
    return Trainer(
        network, x_train, t_train, x_test, t_test, epochs=settings["epochs"], mini_batch_size=settings["batch_size"],
        optimizer=settings["optimizer"], optimizer_param={"lr": settings["lr"]}, verbose=verbose,
        lr_schedule=settings.get("lr_schedule", "constant"),
        seed=settings["seed"], validation_split=settings["validation_split"],
        early_stopping_patience=settings["patience"], checkpoint_path=checkpoint,
        checkpoint_metadata={"run": settings}, log=log,
        train_acc_samples=None if settings["model"] == "mlp" else 10000,  # a conv net's forward pass is costly
    )


def run(args) -> int:
    from ..errors import TrainingDiverged
    from ..io import save_model

    _validate(args)
    device = resolve_device(args.device)  # before any work: a missing GPU is a usage error
    if args.resume:
        settings, out_dir, checkpoint = _resume_settings(args)
    else:
        settings = _settings_from_args(args)
        out_dir = args.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
        checkpoint = os.path.join(out_dir, CHECKPOINT)
    os.makedirs(out_dir, exist_ok=True)
    say = (lambda text: None) if args.quiet else (lambda text: print(text, flush=True))

    network = build_network(settings).to(device)  # a checkpoint resumes on any device
    trainer = _make_trainer(network, settings, checkpoint, verbose=not args.quiet, log=say)
    metadata = dict(trainer.checkpoint_metadata)  # {"run": settings}, as in every checkpoint
    if args.resume:
        trainer.load_checkpoint(checkpoint)
        say(f"resuming {out_dir} after epoch {trainer.epoch} of {trainer.epochs}")
    else:
        say(f"training {network!r} on {settings['dataset']} ({device}) "
            f"({settings['optimizer']}, lr {settings['lr']} {settings['lr_schedule']}, batch {settings['batch_size']}, "
            f"{settings['epochs']} epochs, seed {settings['seed']}) → {out_dir}")

    model_path = os.path.join(out_dir, "model.npz")
    try:
        history = trainer.train()
    except TrainingDiverged as exc:
        save_model(model_path, network, history=trainer.history, metadata={**metadata, "diverged": str(exc)})
        raise TrainingDiverged(f"{exc} The last good weights are in {model_path}.") from None
    except KeyboardInterrupt:
        if trainer.checkpointed_epoch:
            print(f"\ninterrupted; {checkpoint} holds epoch {trainer.checkpointed_epoch} of {trainer.epochs}. "
                  f"Continue with:  layerprop train --resume {out_dir}", file=sys.stderr)
        else:
            print("\ninterrupted before the first epoch ended: no checkpoint to resume from", file=sys.stderr)
        return 130

    trainer.release_data()  # the data sets are not needed for saving and plotting: free their memory
    test_acc = history["test_acc_list"][-1] if history["test_acc_list"] else None
    metadata["test_accuracy"] = test_acc
    save_model(model_path, network, optimizer=trainer.optimizer, history=history, metadata=metadata)
    with open(os.path.join(out_dir, "history.json"), "w", encoding="utf-8") as f:
        json.dump({**history, "settings": settings}, f, indent=1)
    _plot(history, os.path.join(out_dir, "curves.png"), settings, say)
    print(f"test accuracy {test_acc:.4f}  ({settings['model']} on {settings['dataset']}, "
          f"{trainer.epoch} epochs, {sum(history['epoch_seconds']):.1f} s of training) — saved {model_path}")
    return 0


def _plot(history, path, settings, say):
    from ..errors import MissingExtraError
    from ..plotting import plot_history

    try:
        plot_history(history, path, title=f"{settings['model']} on {settings['dataset']}")
        say(f"learning curves: {path}")
    except MissingExtraError:
        print("note: curves.png was not drawn because matplotlib is not installed; "
              "get it with  pip install 'layerprop[plot]'  (history.json has the numbers)", file=sys.stderr)

"""Learning curves as a PNG (matplotlib is an optional extra: ``pip install 'layerprop[plot]'``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import missing_extra
from ..storage.atomic import atomic_write


def plot_history(history: dict, path, title: str = "") -> None:
    """Draw the loss per iteration and the accuracies per epoch side by side, and save to ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise missing_extra("matplotlib", "plot", "Plotting the learning curves") from None
    import numpy as np

    losses = np.asarray(history.get("train_loss_list", []), dtype=float)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    if losses.size:
        ax_loss.plot(np.arange(1, losses.size + 1), losses, lw=0.6, alpha=0.5, color="tab:blue", label="per iteration")
        window = max(1, losses.size // 50)
        if window > 1:
            smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
            ax_loss.plot(np.arange(window, losses.size + 1), smooth, color="tab:blue", label=f"mean of {window}")
        if np.all(losses > 0):  # a log scale shows a loss falling by decades; it cannot show 0 or less
            ax_loss.set_yscale("log")
        ax_loss.legend(loc="upper right")  # (only with lines: an empty legend is a matplotlib warning)
    ax_loss.set(xlabel="iteration", ylabel="training loss", title="loss")
    drawn = 0
    for key, label in (("train_acc_list", "train"), ("test_acc_list", "test"), ("val_acc_list", "validation")):
        values = history.get(key) or []
        if values:
            ax_acc.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3, label=label)
            drawn += 1
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_acc.grid(alpha=0.3)
    if drawn:
        ax_acc.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:
        with atomic_write(path) as handle:  # a crash leaves the old picture or the new one
            fig.savefig(handle, format=Path(path).suffix.lstrip(".").lower() or "png", dpi=110)
    finally:
        plt.close(fig)

"""The batch-size tutorial's figure and table: a 2-D grid study of batch size x learning
rate (SGD with momentum, the same number of epochs for every batch size), showing the
best learning rate grows with the batch size, and how far the linear scaling rule
(lr proportional to batch size) lines the curves up.

    PYTHONPATH=src python docs/tutorials/scripts/batch_size.py
"""

from __future__ import annotations

import math

import _common
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import nn

import tunelab
from tunelab import torch as tl_torch

DATA = tl_torch.load_digits()
BATCHES = [16, 64, 256]
RATES = [3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0]
EPOCHS = 15


def objective(trial: tunelab.Trial) -> float:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)
    )
    return _common.train(
        model,
        DATA,
        trial,
        epochs=EPOCHS,
        optimizer="sgd",
        momentum=0.9,
        nesterov=False,
        batch_size=BATCHES,
        learning_rate=RATES,
    )


def main() -> None:
    storage = _common.fresh_storage("batch-size")
    study = tunelab.create_study(
        "batch-lr", storage=storage, metric="val_loss", direction="minimize", sampler="grid"
    )
    study.optimize(objective)
    _common.cli("show", "batch-lr", "--storage", storage, "--effects", name="bs-show.txt")
    scores: dict[int, dict[float, float]] = {b: {} for b in BATCHES}
    for t in study.trials:
        value = t.value if t.value is not None and math.isfinite(t.value) else math.nan
        scores[t.params["batch_size"]][t.params["learning_rate"]] = value
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=True)
    rows = []
    for b in BATCHES:
        rates = sorted(scores[b])
        values = [scores[b][r] for r in rates]
        axes[0].plot(rates, values, marker="o", label=f"batch {b}")
        axes[1].plot([r * 256 / b for r in rates], values, marker="o", label=f"batch {b}")
        finite = {r: v for r, v in scores[b].items() if math.isfinite(v)}
        best = min(finite, key=lambda r: finite[r])
        rows.append((b, f"{best:g}", f"{finite[best]:.4f}", f"{best * 256 / b:g}"))
    for ax, label in zip(axes, ("learning rate", "learning rate x 256 / batch size"), strict=True):
        ax.set_xscale("log")
        ax.set_xlabel(label)
    axes[0].set_ylabel("best-epoch validation loss")
    axes[0].set_ylim(0, 1.0)
    axes[0].legend(fontsize=8)
    _common.save(fig, "bs-lr.png")
    grid = [(f"{r:g}", *(f"{scores[b].get(r, math.nan):.4f}" for b in BATCHES)) for r in RATES]
    _common.write(
        "bs-grid.txt", _common.table(["learning rate", *(f"batch {b}" for b in BATCHES)], grid)
    )
    _common.write(
        "bs-best.txt",
        _common.table(["batch size", "best lr", "val loss", "best lr x 256 / batch"], rows),
    )


if __name__ == "__main__":
    with _common.Clock():
        main()

"""The learning-rate tutorial's figures and tables: a grid study of the learning rate
(training loss against epoch for 1e-5 … 1e-1), the range test on the same model, and the
check of lr_find's suggestion against the best rate of real studies in four set-ups.

    PYTHONPATH=src python docs/tutorials/scripts/learning_rate.py
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import _common
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import nn

import tunelab
from tunelab import torch as tl_torch
from tunelab.torch.lr_find import STEEPEST_TO_SUGGESTION

DATA = tl_torch.load_digits()
RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
EPOCHS = 20


def mlp(hidden: tuple[int, int] = (128, 64), dropout: float = 0.0) -> Callable[[], nn.Module]:
    """A builder of a two-hidden-layer MLP for the digits (dropout 0 adds no layer)."""

    def build() -> nn.Module:
        layers: list[nn.Module] = []
        width = 64
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
            width = h
        return nn.Sequential(*layers, nn.Linear(width, 10))

    return build


@dataclass(frozen=True)
class SetUp:
    name: str
    build: Callable[[], nn.Module]
    optimizer: str
    batch_size: int
    epochs: int = EPOCHS
    rates: tuple[float, ...] = tuple(RATES)


SETUPS = [
    SetUp("MLP 128-64, Adam, batch 64, 20 epochs", mlp(), "adam", 64),
    SetUp(
        "MLP 128-64, SGD momentum 0.9, batch 64, 20 epochs",
        mlp(),
        "sgd",
        64,
        rates=(*RATES, 0.3, 1.0),
    ),
    SetUp("MLP 256-64 dropout 0.2, Adam, batch 32, 20 epochs", mlp((256, 64), 0.2), "adam", 32),
    SetUp(
        "seed example at its defaults, Adam, batch 64, 10 epochs",
        mlp((32, 16), 0.1),
        "adam",
        64,
        epochs=10,
    ),
]


def study_of(setup: SetUp, storage: str, seeds: int) -> tunelab.Study:
    """Every rate in RATES, `seeds` times each, all epochs run (no early stop)."""

    def objective(trial: tunelab.Trial) -> float:
        seed = trial.hp.Choice("seed", list(range(seeds)))
        torch.manual_seed(seed)
        return _common.train(
            setup.build(),
            DATA,
            trial,
            epochs=setup.epochs,
            seed=seed,
            optimizer=setup.optimizer,
            learning_rate=list(setup.rates),
            batch_size=setup.batch_size,
            **({"momentum": 0.9, "nesterov": False} if setup.optimizer == "sgd" else {}),
        )

    name = f"lr-{SETUPS.index(setup)}"
    study = tunelab.create_study(
        name, storage=storage, metric="val_loss", direction="minimize", sampler="grid"
    )
    study.optimize(objective)
    return study


def best_rate(study: tunelab.Study) -> tuple[float, dict[float, float]]:
    """The rate with the lowest mean (over seeds) best-epoch validation loss."""
    by_rate: dict[float, list[float]] = {}
    for t in study.trials:
        if t.value is not None and math.isfinite(t.value):
            by_rate.setdefault(t.params["learning_rate"], []).append(t.value)
    means = {
        lr: statistics.mean(v) for lr, v in by_rate.items() if len(v) == len(by_rate[min(by_rate)])
    }
    return min(means, key=lambda lr: means[lr]), means


def loss_curves(study: tunelab.Study) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4))
    cmap = plt.get_cmap("viridis")
    for t in study.trials:
        if t.params["seed"] != 0:
            continue
        lr = t.params["learning_rate"]
        losses = [r.metrics["train_loss"] for r in t.reports]
        colour = cmap(math.log10(lr / RATES[0]) / math.log10(RATES[-1] / RATES[0]))
        ax.plot(range(1, len(losses) + 1), losses, color=colour, label=f"{lr:g}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_title("Effect of learning rate on training loss (Adam, digits)")
    ax.legend(title="learning rate", fontsize=7, ncol=2)
    _common.save(fig, "lr-training-loss.png")


def main() -> None:
    storage = _common.fresh_storage("learning-rate")
    rows = []
    for i, setup in enumerate(SETUPS):
        study = study_of(setup, storage, seeds=2)
        if i == 0:
            loss_curves(study)
            _common.cli(
                "show", study.name, "--storage", storage, "--effects", name="lr-show-effects.txt"
            )
        best, means = best_rate(study)
        runs = []
        for seed in range(4):
            torch.manual_seed(seed)
            runs.append(
                tl_torch.lr_find(
                    setup.build(),
                    DATA,
                    optimizer=setup.optimizer,
                    batch_size=setup.batch_size,
                    seed=seed,
                )
            )
        found = runs[0]
        spread = ", ".join(f"{r.suggestion:.2g}" for r in runs[1:])
        if i == 0:
            found.plot(_common.ASSETS / "lr-find.png")
        print(setup.name, {f"{k:g}": round(v, 4) for k, v in sorted(means.items())})
        print(f"  best {best:g}, suggestion {found.suggestion:g} ({found.method})")
        steepest = found.suggestion / STEEPEST_TO_SUGGESTION
        rows.append(
            (
                setup.name,
                f"{best:g}",
                f"{steepest:.2g} ({steepest / best:.1f}x)",
                f"{found.suggestion:.2g} ({spread})",
                f"{found.suggestion / best:.1f}x",
                f"{found.low:.2g} … {found.high:.2g}",
            )
        )
    _common.write(
        "lr-find-vs-study.txt",
        _common.table(
            [
                "set-up",
                "study's best lr",
                "steepest point (÷ best)",
                "suggestion, seed 0 (seeds 1-3)",
                "suggestion ÷ best",
                "suggested range",
            ],
            rows,
        ),
    )


if __name__ == "__main__":
    with _common.Clock():
        main()

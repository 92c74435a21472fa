"""The search-strategies tutorial's figure and table: grid, random, TPE and GP search on
the same 20-trial budget over the same three hyperparameters (learning rate, width,
dropout), the random and Bayesian ones repeated over three sampler seeds.

    PYTHONPATH=src python docs/tutorials/scripts/search_strategies.py
"""

from __future__ import annotations

import statistics

import _common
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import nn

import tunelab
from tunelab import torch as tl_torch
from tunelab.space import Float

DATA = tl_torch.load_digits()
BUDGET = 20
SEEDS = [0, 1, 2]
GRID = {  # 5 x 2 x 2 = 20 points, the grid's whole budget
    "learning_rate": [1e-4, 5.6e-4, 3.2e-3, 1.8e-2, 1e-1],
    "hidden": [32, 128],
    "dropout": [0.0, 0.3],
}


def objective_for(grid: bool):  # type: ignore[no-untyped-def]
    def objective(trial: tunelab.Trial) -> float:
        hp = trial.hp
        if grid:
            hidden = hp.Choice("hidden", GRID["hidden"])
            dropout = hp.Choice("dropout", GRID["dropout"])
            lr: object = GRID["learning_rate"]
        else:
            hidden = hp.Int("hidden", 16, 256, sampling="log")
            dropout = hp.Float("dropout", 0.0, 0.5)
            lr = Float("learning_rate", 1e-4, 1e-1, sampling="log")
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 10)
        )
        return _common.train(
            model, DATA, trial, epochs=8, optimizer="adam", learning_rate=lr, batch_size=64
        )

    return objective


def best_so_far(study: tunelab.Study) -> list[float]:
    out: list[float] = []
    for t in sorted(study.trials, key=lambda t: t.number):
        value = t.value if t.value is not None else float("inf")
        out.append(min(value, out[-1]) if out else value)
    return out


def main() -> None:
    storage = _common.fresh_storage("search-strategies")
    runs: dict[str, list[list[float]]] = {}
    for sampler in ("grid", "random", "tpe", "gp"):
        for seed in [0] if sampler == "grid" else SEEDS:
            study = tunelab.create_study(
                f"{sampler}-{seed}",
                storage=storage,
                metric="val_loss",
                direction="minimize",
                sampler=sampler,
                seed=seed,
            )
            study.optimize(objective_for(sampler == "grid"), n_trials=BUDGET)
            runs.setdefault(sampler, []).append(best_so_far(study))
            print(sampler, seed, f"{runs[sampler][-1][-1]:.4f}")
    _common.cli("show", "tpe-0", "--storage", storage, "--effects", name="search-tpe-show.txt")
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    rows = []
    for sampler, curves in runs.items():
        mean = [statistics.mean(c[i] for c in curves) for i in range(BUDGET)]
        ax.plot(range(1, BUDGET + 1), mean, label=sampler, marker=".")
        finals = [c[-1] for c in curves]
        at10 = [c[9] for c in curves]
        spread = f" ± {statistics.stdev(finals):.4f}" if len(finals) > 1 else " (deterministic)"
        rows.append(
            (
                sampler,
                len(curves),
                f"{statistics.mean(at10):.4f}",
                f"{statistics.mean(finals):.4f}{spread}",
                ", ".join(f"{v:.4f}" for v in finals),
            )
        )
    ax.set_xlabel("trials")
    ax.set_ylabel("best validation loss so far (mean over seeds)")
    ax.set_ylim(top=0.3)
    ax.legend()
    _common.save(fig, "search-best-so-far.png")
    _common.write(
        "search-table.txt",
        _common.table(
            ["sampler", "runs", "best after 10", f"best after {BUDGET} (mean ± sd)", "each run"],
            rows,
        ),
    )


if __name__ == "__main__":
    with _common.Clock():
        main()

"""The pruning tutorial's table: the same 24 random configurations (learning rate and
width of a digits MLP, 20 epochs each) run without a scheduler and under median stopping,
ASHA and Hyperband; epochs trained, trials pruned, time and the best score of each.

    PYTHONPATH=src python docs/tutorials/scripts/pruning.py
"""

from __future__ import annotations

import time

import _common
import torch
from torch import nn

import tunelab
from tunelab import TrialState
from tunelab import torch as tl_torch
from tunelab.space import Float

DATA = tl_torch.load_digits()
TRIALS = 24
EPOCHS = 20
SCHEDULERS = {
    "none": "none",
    "median": {"name": "median", "warmup_steps": 3, "min_trials": 5},
    "asha": {"name": "asha", "min_resource": 2, "max_resource": EPOCHS},
    "hyperband": {"name": "hyperband", "min_resource": 2, "max_resource": EPOCHS},
}


def objective(trial: tunelab.Trial) -> float:
    hidden = trial.hp.Int("hidden", 8, 256, sampling="log")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    lr = Float("learning_rate", 1e-5, 1e-1, sampling="log")
    return _common.train(
        model, DATA, trial, epochs=EPOCHS, optimizer="adam", learning_rate=lr, batch_size=64
    )


def main() -> None:
    storage = _common.fresh_storage("pruning")
    rows = []
    for name, scheduler in SCHEDULERS.items():
        study = tunelab.create_study(
            f"prune-{name}", storage=storage, sampler="random", seed=7, scheduler=scheduler
        )
        start = time.perf_counter()
        study.optimize(objective, n_trials=TRIALS)
        seconds = time.perf_counter() - start
        epochs = sum(len(t.reports) for t in study.trials)
        pruned = sum(t.state is TrialState.PRUNED for t in study.trials)
        best = study.best_trial
        rows.append(
            (
                name,
                f"{epochs} / {TRIALS * EPOCHS}",
                f"{pruned} / {TRIALS}",
                f"{seconds:.0f}",
                f"{best.value:.4f} (#{best.number})",
            )
        )
        print(rows[-1])
    _common.cli("show", "prune-asha", "--storage", storage, "--effects", name="prune-asha-show.txt")
    _common.write(
        "prune-table.txt",
        _common.table(
            [
                "scheduler",
                "epochs trained",
                "trials pruned",
                "seconds",
                "best val_accuracy (trial)",
            ],
            rows,
        ),
    )


if __name__ == "__main__":
    with _common.Clock():
        main()

"""Small real studies in SQLite files for the views of freeze-thaw, extrapolation and
population-based training (`tunelab show`, the report, the plot builders).

Any test module imports it as `training_studies` (tests/ is on sys.path). The objectives
keep their state in JSON files and pause when the study says so, as a training loop with
checkpoints does; the curves have known shapes so the tests can say what must be shown."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import tunelab
from tunelab.schedulers import FreezeThawScheduler, PBTScheduler
from tunelab.types import TrialState

EPOCHS = 8
PBT_LRS = (0.02, 0.03, 0.2, 0.3)  # two slow trials that take the fast ones' weights


def pbt_objective(folder: Path) -> Any:
    """Trains w towards 1 at the rate `lr` (log scale); the checkpoint is {"w", "next"}."""

    def objective(trial: tunelab.Trial) -> float:
        lr = trial.hp.Float("lr", 0.01, 0.5, sampling="log")
        w, start = 0.0, 0
        if trial.resume_from is not None:
            state = json.loads(Path(trial.resume_from).read_text())
            w, start = state["w"], state["next"]
        trial.set_resumable(folder / f"trial-{trial.number}" / "state.json")
        Path(trial.checkpoint or "").parent.mkdir(parents=True, exist_ok=True)
        for epoch in range(start, EPOCHS):
            w += lr * (1.0 - w)
            trial.report(epoch, acc=w)
            Path(trial.checkpoint or "").write_text(json.dumps({"w": w, "next": epoch + 1}))
            if epoch < EPOCHS - 1 and trial.should_pause():
                raise tunelab.TrialPaused
        return w

    return objective


def pbt_study(folder: Path, name: str = "pbt") -> tunelab.Study:
    """A population of 4 trained 8 steps in intervals of 2: the slow ones copy."""
    folder.mkdir(parents=True, exist_ok=True)
    study = tunelab.create_study(
        name,
        storage=str(folder / "tunelab.db"),
        metric="acc",
        direction="maximize",
        scheduler=PBTScheduler(population_size=4, interval=2, hyperparams=["lr"]),
    )
    for lr in PBT_LRS:
        study.enqueue({"lr": lr})
    study.optimize(pbt_objective(folder / "weights"), n_trials=len(PBT_LRS))
    return study


def freeze_thaw_objective(folder: Path) -> Any:
    """Rises to x over the steps; the checkpoint is {"next"}."""

    def objective(trial: tunelab.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        start = 0
        if trial.resume_from is not None:
            start = json.loads(Path(trial.resume_from).read_text())["next"]
        trial.set_resumable(folder / f"trial-{trial.number}.json")
        folder.mkdir(parents=True, exist_ok=True)
        acc = 0.0
        for epoch in range(start, EPOCHS):
            acc = x * (1 - math.exp(-(epoch + 1) / 3))
            trial.report(epoch, acc=acc)
            Path(trial.checkpoint or "").write_text(json.dumps({"next": epoch + 1}))
            if epoch < EPOCHS - 1 and trial.should_pause():
                raise tunelab.TrialPaused
        return acc

    return objective


def freeze_thaw_study(folder: Path, name: str = "ft") -> tunelab.Study:
    """Freeze-thaw over five trials, one clear winner: the winner is taken to its end,
    the losers stay paused once the budget is spent."""
    folder.mkdir(parents=True, exist_ok=True)
    study = tunelab.create_study(
        name,
        storage=str(folder / "tunelab.db"),
        metric="acc",
        direction="maximize",
        scheduler=FreezeThawScheduler(slice=2, initial=3),
    )
    for x in (0.9, 0.1, 0.12, 0.11, 0.13):
        study.enqueue({"x": x})
    study.optimize(freeze_thaw_objective(folder / "checkpoints"), n_trials=5)
    return study


def rising(top: float, rate: float, steps: int = 20) -> list[float]:
    return [0.1 + (top - 0.1) * (1 - math.exp(-rate * (s + 1))) for s in range(steps)]


def extrapolate_study(folder: Path, name: str = "ex") -> tunelab.Study:
    """Twelve smooth rising curves and two flat losers under scheduler='extrapolate':
    the flat ones (trials 12 and 13) are stopped at step 2."""
    folder.mkdir(parents=True, exist_ok=True)
    study = tunelab.create_study(
        name,
        storage=str(folder / "tunelab.db"),
        metric="acc",
        scheduler={"name": "extrapolate", "min_resource": 3},
    )
    curves = [rising(0.6 + 0.03 * i, 0.15 + 0.05 * (i % 5)) for i in range(12)]
    curves += [[0.3] * 20, [0.25] * 20]
    for curve in curves:
        trial = study.ask()
        trial.hp.Float("x", 0.0, 1.0)
        for step, value in enumerate(curve):
            trial.report(step, acc=value)
            if trial.should_prune():
                study.tell(trial, state=TrialState.PRUNED)
                break
        else:
            study.tell(trial, curve[-1])
    return study

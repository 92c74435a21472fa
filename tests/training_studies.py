"""Small real studies in SQLite files for the views of freeze-thaw, extrapolation and
population-based training (`tunelab show`, the report, the plot builders).

Any test module imports it as `training_studies` (tests/ is on sys.path). The objectives
keep their state in JSON files and pause when the study says so, as a training loop with
checkpoints does; the curves have known shapes so the tests can say what must be shown."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tunelab
from tunelab.schedulers import FreezeThawScheduler, PBTScheduler
from tunelab.types import TrialState

EPOCHS = 8
PBT_LRS = (0.02, 0.03, 0.2, 0.3)  # two slow trials that take the fast ones' weights


def resumable(folder: Path, step: Callable[[Any, float, int], float]) -> Any:
    """An objective whose state is {"w", "next"} in a JSON file: each epoch
    `w = step(trial.hp, w, epoch)` is reported as `acc`; it pauses when told."""

    def objective(trial: tunelab.Trial) -> float:
        state = {"w": 0.0, "next": 0}
        if trial.resume_from is not None:
            state = json.loads(Path(trial.resume_from).read_text())
        folder.mkdir(parents=True, exist_ok=True)
        trial.set_resumable(folder / f"trial-{trial.number}.json")
        w = state["w"]
        for epoch in range(int(state["next"]), EPOCHS):
            w = step(trial.hp, w, epoch)
            trial.report(epoch, acc=w)
            Path(trial.checkpoint or "").write_text(json.dumps({"w": w, "next": epoch + 1}))
            if epoch < EPOCHS - 1 and trial.should_pause():
                raise tunelab.TrialPaused
        return w

    return objective


def pbt_objective(folder: Path) -> Any:
    """Trains w towards 1 at the rate `lr` (log scale): a faster rate is better."""
    return resumable(
        folder, lambda hp, w, _: w + hp.Float("lr", 0.01, 0.5, sampling="log") * (1 - w)
    )


def _run(
    folder: Path, name: str, scheduler: Any, param: str, values: tuple[float, ...], objective: Any
) -> tunelab.Study:
    """A study in `folder`/tunelab.db that runs one trial per value of `param`."""
    folder.mkdir(parents=True, exist_ok=True)
    study = tunelab.create_study(
        name, storage=str(folder / "tunelab.db"), metric="acc", scheduler=scheduler
    )
    for value in values:
        study.enqueue({param: value})
    study.optimize(objective, n_trials=len(values))
    return study


def pbt_study(folder: Path, name: str = "pbt") -> tunelab.Study:
    """A population of 4 trained 8 steps in intervals of 2: the slow ones copy."""
    scheduler = PBTScheduler(population_size=4, interval=2, hyperparams=["lr"])
    return _run(folder, name, scheduler, "lr", PBT_LRS, pbt_objective(folder / "weights"))


def freeze_thaw_objective(folder: Path) -> Any:
    """Rises towards x over the steps: the trial of the largest x wins."""
    return resumable(
        folder, lambda hp, _, epoch: hp.Float("x", 0.0, 1.0) * (1 - math.exp(-(epoch + 1) / 3))
    )


def freeze_thaw_study(folder: Path, name: str = "ft") -> tunelab.Study:
    """Freeze-thaw over five trials, one clear winner: the winner is taken to its end,
    the losers stay paused once the budget is spent."""
    scheduler = FreezeThawScheduler(slice=2, initial=3)
    xs = (0.9, 0.1, 0.12, 0.11, 0.13)
    return _run(folder, name, scheduler, "x", xs, freeze_thaw_objective(folder / "checkpoints"))


def rising(top: float, rate: float, steps: int = 20) -> list[float]:
    return [0.1 + (top - 0.1) * (1 - math.exp(-rate * (s + 1))) for s in range(steps)]


def study_of(
    curves: list[list[float]], scheduler: object = None, storage: str = ":memory:", name: str = "ex"
) -> tunelab.Study:
    """One trial per curve, reported step by step, stopped when the scheduler says so."""
    study = tunelab.create_study(name, storage=storage, metric="acc", scheduler=scheduler)
    for curve in curves:
        trial = study.ask()
        for step, value in enumerate(curve):
            trial.report(step, acc=value)
            if trial.should_prune():
                study.tell(trial, state=TrialState.PRUNED)
                break
        else:
            study.tell(trial, curve[-1])
    return study


def extrapolate_study(folder: Path, name: str = "ex") -> tunelab.Study:
    """Twelve smooth rising curves and two flat losers under scheduler='extrapolate':
    the flat ones (trials 12 and 13) are stopped at step 2."""
    folder.mkdir(parents=True, exist_ok=True)
    curves = [rising(0.6 + 0.03 * i, 0.15 + 0.05 * (i % 5)) for i in range(12)]
    curves += [[0.3] * 20, [0.25] * 20]
    scheduler = {"name": "extrapolate", "min_resource": 3}
    return study_of(curves, scheduler, str(folder / "tunelab.db"), name)

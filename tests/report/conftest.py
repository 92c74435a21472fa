"""A synthetic study with everything a report shows: log, stepped, categorical and
conditional parameters, per-epoch curves, pruned and failed trials.

Trials are written with ask/tell and their curves follow a known shape: the metric
peaks at learning_rate 1e-2, so the plots have something true to show."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.types import TrialState


def run_trial(study: tunelab.Study, number: int, epochs: int = 6) -> None:
    """One trial: train-like curves whose quality depends on learning_rate and dropout."""
    trial = study.ask()
    hp = trial.hp
    lr = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    dropout = hp.Float("dropout", 0.1, 0.5, step=0.1)
    optimizer = hp.Choice("optimizer", ["adam", "sgd"])
    layers = hp.Int("num_layers", 1, 2)
    if layers == 2:
        hp.Int("units_1", 32, 128, step=32)
    if number % 7 == 5:
        study.tell(trial, state=TrialState.FAIL, reason="ValueError: synthetic failure")
        return
    quality = 1.0 - 0.15 * abs(math.log10(lr) + 2.0) - 0.1 * abs(dropout - 0.3)
    quality -= 0.05 if optimizer == "sgd" else 0.0
    for epoch in range(epochs):
        progress = 1.0 - math.exp(-(epoch + 1) / 2)
        train_loss = 2.3 * (1.0 - 0.9 * quality * progress)
        val_loss = train_loss * 1.05 + 0.01 * epoch
        acc = 0.1 + 0.85 * quality * progress
        trial.report(epoch, train_loss=train_loss, val_loss=val_loss, val_accuracy=acc)
        if number % 5 == 3 and epoch == 2:
            study.tell(trial, state=TrialState.PRUNED)
            return
    study.tell(trial, {"val_accuracy": acc, "val_loss": val_loss})


@pytest.fixture
def make_study(tmp_path: Path) -> Callable[..., tunelab.Study]:
    """make_study(n_trials, name="demo") -> a study stored in tmp_path/tunelab.db."""

    def make(n_trials: int = 24, name: str = "demo") -> tunelab.Study:
        study = tunelab.create_study(
            name,
            storage=str(tmp_path / "tunelab.db"),
            metric="val_accuracy",
            direction="maximize",
            sampler="random",
            seed=1,
        )
        for i in range(n_trials):
            run_trial(study, i)
        return study

    return make


@pytest.fixture(scope="session")
def demo_study(tmp_path_factory: pytest.TempPathFactory) -> tunelab.Study:
    """24 trials (complete, pruned, failed) shared by the tests that only read them."""
    folder = tmp_path_factory.mktemp("demo")
    study = tunelab.create_study(
        "demo", storage=str(folder / "tunelab.db"), metric="val_accuracy", sampler="random", seed=1
    )
    for i in range(24):
        run_trial(study, i)
    return study


@pytest.fixture
def add_trial() -> Callable[[tunelab.Study, int], None]:
    """add_trial(study, number): write one more synthetic trial with ask/tell."""
    return run_trial


# (accuracy, size, latency): maximize the first, minimize the others. In two objectives
# (the first two) the front is trials 0, 1, 4, 6 and 7; trial 8 would beat them all but
# breaks a constraint, and trial 5 breaks the study's size <= 4000.
MO_POINTS = [
    (0.90, 500.0, 3.0),
    (0.95, 1000.0, 2.0),
    (0.85, 600.0, 4.0),
    (0.95, 1200.0, 1.8),
    (0.80, 100.0, 5.0),
    (0.97, 5000.0, 1.0),
    (0.90, 500.0, 3.0),
    (0.99, 3000.0, 1.5),
    (1.00, 10.0, 0.5),
]
MO_METRICS = ("acc", "size", "latency")
MO_DIRECTIONS = ("maximize", "minimize", "minimize")


def make_mo_study(
    path: Path, n_objectives: int = 2, points: list[tuple[float, ...]] | None = None
) -> tunelab.Study:
    """A study of the first `n_objectives` of MO_METRICS in a SQLite file, one trial per
    point (trial 8 infeasible by its own constraint, 5 by the study's), each with a log
    learning rate, a choice and reported curves."""
    study = tunelab.create_study(
        f"mo{n_objectives}",
        storage=str(path),
        metrics=list(MO_METRICS[:n_objectives]),
        directions=list(MO_DIRECTIONS[:n_objectives]),
        constraints={"size": ("<=", 4000.0)},
        sampler="random",
        seed=5,
    )
    for number, point in enumerate(points or MO_POINTS):
        trial = study.ask()
        trial.hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        trial.hp.Choice("optimizer", ["adam", "sgd"])
        trial.hp.Float("dropout", 0.1, 0.5)
        for epoch in range(3):
            trial.report(epoch, val_loss=2.0 - point[0] * epoch / 2, train_loss=1.9 - epoch / 2)
        if number == 8:
            trial.set_constraint("memory", 1.0)
        study.tell(trial, dict(zip(MO_METRICS, point, strict=True)))
    return study


@pytest.fixture
def make_mo(tmp_path: Path) -> Callable[..., tunelab.Study]:
    """make_mo(n_objectives=2, points=None, name="mo.db") -> make_mo_study in tmp_path."""

    def make(
        n_objectives: int = 2, points: list[tuple[float, ...]] | None = None, name: str = "mo.db"
    ) -> tunelab.Study:
        return make_mo_study(tmp_path / name, n_objectives, points)

    return make


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's package) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium (scripts/dev-env.sh)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()

"""Small studies for the plot functions, written with ask/tell so each runs in
milliseconds: a single-objective one whose metric peaks at learning_rate 1e-2 (curves per
epoch, a pruned trial every fifth) and one of two objectives (accuracy against size)."""

from __future__ import annotations

import math

import pytest

import tunelab
from tunelab.types import TrialState


def _quality(lr: float, dropout: float, optimizer: str) -> float:
    return (
        1.0
        - 0.15 * abs(math.log10(lr) + 2.0)
        - 0.2 * abs(dropout - 0.3)
        - (0.05 if optimizer == "sgd" else 0.0)
    )


@pytest.fixture(scope="module")
def study() -> tunelab.Study:
    """16 trials: learning_rate (log), dropout, optimizer; 4 epochs of curves each."""
    study = tunelab.create_study(
        "plots", storage=":memory:", metric="val_accuracy", sampler="random", seed=3
    )
    for number in range(16):
        trial = study.ask()
        lr = trial.hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        dropout = trial.hp.Float("dropout", 0.1, 0.5)
        optimizer = trial.hp.Choice("optimizer", ["adam", "sgd"])
        quality = _quality(lr, dropout, optimizer)
        for epoch in range(4):
            progress = 1.0 - math.exp(-(epoch + 1) / 2)
            loss = 2.3 * (1.0 - 0.9 * quality * progress)
            acc = 0.1 + 0.85 * quality * progress
            trial.report(epoch, val_loss=loss, val_accuracy=acc)
            if number % 5 == 4 and epoch == 1:
                break
        if number % 5 == 4:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, acc)
    return study


@pytest.fixture(scope="module")
def two_objectives() -> tunelab.Study:
    """10 trials trading accuracy (maximize) against size (minimize)."""
    study = tunelab.create_study(
        "plots-mo",
        storage=":memory:",
        metrics=["accuracy", "size"],
        directions=["maximize", "minimize"],
        sampler="random",
        seed=3,
    )
    for _ in range(10):
        trial = study.ask()
        units = trial.hp.Int("units", 8, 256, sampling="log")
        lr = trial.hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        accuracy = 1.0 - 1.0 / math.sqrt(units) - 0.05 * abs(math.log10(lr) + 2.0)
        study.tell(trial, {"accuracy": accuracy, "size": float(units)})
    return study

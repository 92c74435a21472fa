"""Studies with a known answer, built with ask/tell on real SQLite files."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

import tunelab
from tunelab import Study


def known_study(path: Path, n: int = 60, seed: int = 0) -> Study:
    """val_accuracy depends strongly on the learning rate (best near 3e-3), a little on
    dropout, and not at all on `activation`; `units_1` exists only when num_layers=2."""
    study = tunelab.create_study(
        "known",
        storage=str(path),
        metric="val_accuracy",
        direction="maximize",
        sampler="random",
        seed=seed,
    )
    noise = random.Random(seed)
    for _ in range(n):
        trial = study.ask()
        hp = trial.hp
        lr = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        dropout = hp.Float("dropout", 0.0, 0.5)
        hp.Choice("activation", ["relu", "tanh", "gelu"])
        if hp.Int("num_layers", 1, 2) == 2:
            hp.Int("units_1", 16, 256)
        score = 0.95 - 0.12 * (math.log10(lr) - math.log10(3e-3)) ** 2 - 0.02 * dropout
        score += noise.gauss(0, 0.002)
        for epoch in range(3):
            trial.report(
                epoch, val_accuracy=score - 0.1 * (2 - epoch), train_loss=1.0 / (epoch + 1)
            )
        study.tell(trial, score)
    return study


@pytest.fixture(scope="session")
def known(tmp_path_factory: pytest.TempPathFactory) -> Study:
    """Built once: the tests only read it."""
    return known_study(tmp_path_factory.mktemp("known") / "known.db")

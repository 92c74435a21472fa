"""Importance from few trials, or from parameters that moved together, says so."""

from __future__ import annotations

import io
import math
import random

from rich.console import Console

import tunelab
from tunelab.cli.insight import importance_table
from tunelab.insight import importance
from tunelab.plot.scores import scores_of
from tunelab.report.insight_sections import importance_section


def study_of(n: int, confounded: bool) -> tunelab.Study:
    """score depends on the learning rate; with `confounded`, batch_size grows with it
    (a hand-made schedule), so the two cannot be told apart."""
    study = tunelab.create_study(
        f"imp{n}{confounded}", storage=":memory:", metric="score", sampler="random", seed=4
    )
    rng = random.Random(n)
    for i in range(n):
        lr = 10 ** (-4 + 3 * i / (n - 1))
        batch = int(32 * 2 ** round(3 * i / (n - 1))) if confounded else rng.choice([32, 256])
        study.enqueue({"learning_rate": lr, "batch_size": batch})
        trial = study.ask()
        x = trial.hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        trial.hp.Int("batch_size", 32, 256, sampling="log")
        trial.hp.Float("dropout", 0.0, 0.5)
        study.tell(trial, -((math.log10(x) + 2.5) ** 2) + rng.gauss(0, 0.05))
    return study


def test_eleven_trials_with_confounded_parameters_warn_naming_both() -> None:
    study = study_of(11, confounded=True)
    result = importance(study)
    assert any(w.startswith("only 11 complete trials") for w in result.warnings)
    (pair,) = [w for w in result.warnings if "moved together" in w]
    assert pair.startswith("learning_rate and batch_size moved together") or pair.startswith(
        "batch_size and learning_rate moved together"
    )
    assert "dropout" not in pair
    out = Console(file=io.StringIO(), width=200)
    out.print(importance_table(study))
    assert "warning: " in out.file.getvalue() and "moved together" in out.file.getvalue()
    section = importance_section((result, ""), scores_of(study)[0])
    assert "moved together" in section.html
    assert "moved together" in result._repr_html_()  # a notebook shows them too


def test_many_independent_trials_carry_no_warning() -> None:
    result = importance(study_of(40, confounded=False))
    assert result.warnings == []

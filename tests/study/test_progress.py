"""The progress bar's last column: the best value of a study of one objective; the size
and hypervolume of the Pareto front of a study of several, against the reference point
of the values so far (the front's nadir plus 10% of its range)."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunelab
from tunelab.study.progress import ProgressDisplay, best_text


def _mo(path: Path) -> tunelab.Study:
    return tunelab.create_study(
        "mo", storage=str(path), metrics=["acc", "size"], directions=["max", "min"],
        constraints={"size": ("<=", 4000.0)}, sampler="random", seed=1,
    )  # fmt: skip


def _tell(study: tunelab.Study, values: tuple[float, float]) -> None:
    trial = study.ask()
    trial.hp.Float("x", 0.0, 1.0)
    study.tell(trial, values)


def test_several_objectives_show_the_fronts_size_and_hypervolume(tmp_path: Path) -> None:
    study = _mo(tmp_path / "mo.db")
    display = ProgressDisplay(study, total=10, n_jobs=1)
    assert best_text(study, display.snapshot()["best"]) == "front -"
    _tell(study, (0.90, 500.0))
    _tell(study, (0.80, 9000.0))  # infeasible (size <= 4000): neither front nor volume
    _tell(study, (0.95, 1000.0))
    _tell(study, (0.85, 600.0))  # dominated by the first
    # negated: front (-0.90, 500), (-0.95, 1000); reference (-0.895, 1050); hv = 5.25
    snap = display.snapshot()
    assert snap["done"] == 4
    assert best_text(study, snap["best"]) == "front 2 · HV 5.25"


def test_one_objective_shows_the_best_value(tmp_path: Path) -> None:
    study = tunelab.create_study("so", storage=str(tmp_path / "so.db"), metric="acc")
    display = ProgressDisplay(study, total=3, n_jobs=1)
    assert best_text(study, display.snapshot()["best"]) == "best -"
    for value in (0.5, 0.7, 0.6):
        trial = study.ask()
        study.tell(trial, value)
    assert best_text(study, display.snapshot()["best"]) == "best acc=0.7"


@pytest.mark.parametrize("several", [True, False])
def test_the_bar_of_a_run_ends_with_that_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], several: bool
) -> None:
    if several:
        study = _mo(tmp_path / "run.db")
    else:
        study = tunelab.create_study("so", storage=str(tmp_path / "run.db"), metric="acc")

    def objective(trial: tunelab.Trial) -> object:
        x = trial.hp.Float("x", 0.0, 1.0)
        return (x, 1000.0 * x) if several else x

    study.optimize(objective, n_trials=4, show_progress_bar=True)
    err = capsys.readouterr().err
    assert "4/4" in err
    if several:
        assert "front " in err and " · HV " in err and "best" not in err
    else:
        assert f"best acc={study.best_value:.6g}" in err

"""examples/diabetes_regression.py: the kit on a regression task, run with a tiny budget
as a script and through `tunelab run`; `tunelab show` and `tunelab report` read the
regression study (val_rmse minimized, or val_r2 maximized) with no val_accuracy in it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

import tunelab
from cli_process import run_tunelab
from tunelab import Direction, TrialState
from tunelab import torch as tl_torch
from tunelab.cli.main import main

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "diabetes_regression.py"
SOUND = {
    "num_layers": 1, "units_0": 64, "dropout_0": 0.3, "activation": "relu", "init": "xavier",
    "batch_norm": False, "optimizer": "adam", "learning_rate": 1e-3, "batch_size": 32,
    "lr_schedule": "constant", "weight_decay": 0.0,
}  # fmt: skip


@pytest.fixture(scope="module")
def example():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("diabetes_regression", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_tunes_a_regressor_on_standardised_targets(example, tmp_path, capsys):  # type: ignore[no-untyped-def]
    data = example.DATA
    assert (data.task, data.n_outputs, data.n_train, data.n_val) == ("regression", 1, 353, 89)
    assert abs(float(data.y_train.mean())) < 1e-5 and abs(float(data.y_train.std()) - 1) < 1e-2
    url = str(tmp_path / "t.db")
    tunelab.create_study(
        "diabetes_regression", storage=url, metric="val_rmse", direction="minimize"
    ).enqueue(SOUND)
    study = example.main(n_trials=2, storage=url)
    assert study.metric == "val_rmse" and study.direction is Direction.MINIMIZE
    first = study.trials[0]
    assert first.state is TrialState.COMPLETE
    best_epoch = first.user_attrs["best_epoch"]
    assert first.value == first.intermediate("val_rmse")[best_epoch]
    # Predicting the mean scores an RMSE of about 1 standard deviation and R² 0: it learns.
    assert first.value < 0.9 and first.intermediate("val_r2")[best_epoch] > 0.2
    assert "score points, val_r2" in capsys.readouterr().out


def cli(*args: str) -> str:
    """`tunelab ARGS` in this process (show and report are no process feature): stdout."""
    with CliRunner().isolation(env={"COLUMNS": "200"}) as streams:
        try:
            main(list(args))
        except SystemExit as e:
            assert not e.code, streams[1].getvalue().decode()
        return streams[0].getvalue().decode()


def test_tunelab_run_show_and_report_a_regression_study(tmp_path: Path) -> None:
    url = str(tmp_path / "t.db")
    ran = run_tunelab(
        "run", str(EXAMPLE), "--trials", "2", "--storage", url, "--no-progress",
        cwd=tmp_path, timeout=240,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    study = tunelab.load_study("diabetes_regression", storage=url)
    assert (study.metric, study.direction) == ("val_rmse", Direction.MINIMIZE)  # the script's
    assert len(study.trials) == 2 and all(t.state.is_finished for t in study.trials)
    assert "minimize val_rmse" in cli("show", "diabetes_regression", "--storage", url)
    insight = cli("show", "diabetes_regression", "--storage", url, "--diagnose", "all", "--effects")
    assert "best val_rmse" in insight and "#0 " in insight
    cli("report", "diabetes_regression", "--storage", url, "-o", str(tmp_path / "r.html"))
    assert "val_rmse" in (tmp_path / "r.html").read_text()


def test_a_study_maximizing_val_r2_shows_and_reports(example, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = str(tmp_path / "t.db")
    study = tunelab.create_study("r2", storage=url, metric="val_r2", direction="maximize", seed=0)
    study.enqueue(SOUND)
    study.optimize(
        lambda t: tl_torch.fit(example.build_model(t.hp), example.DATA, t, **example.FIT),
        n_trials=1,
    )
    assert study.best_value > 0.2
    shown = cli("show", "r2", "--storage", url)
    assert "maximize val_r2" in shown and "top 1 trials" in shown
    assert "trial #0: GOOD_FIT" in cli("show", "r2", "--storage", url, "--diagnose")
    cli("report", "r2", "--storage", url, "-o", str(tmp_path / "r.html"))
    assert "val_r2" in (tmp_path / "r.html").read_text()

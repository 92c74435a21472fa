"""The seed tutorial's build_model(hp) under each tuner, with only the import changed;
best models come back trained, from disk, without retraining."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from kt_seed_model import build_model, kt

import tunelab
from tunelab import TrialState

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]

SEED_SPACE = {
    "hidden1": list(range(32, 513, 32)),
    "dropout1": [0.1, 0.2, 0.3, 0.4, 0.5],
    "hidden2": list(range(16, 129, 16)),
    "dropout2": [0.1, 0.2, 0.3, 0.4, 0.5],
    "learning_rate": [0.0001, 0.001, 0.01],
}


def _in_space(params: dict) -> bool:
    return set(params) == set(SEED_SPACE) and all(
        any(np.isclose(params[k], v) for v in values) for k, values in SEED_SPACE.items()
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda d: kt.RandomSearch(
            build_model,
            objective="val_accuracy",
            max_trials=3,
            seed=1,
            directory=d,
            project_name="p",
        ),
        lambda d: kt.BayesianOptimization(
            build_model,
            objective="val_accuracy",
            max_trials=3,
            num_initial_points=2,
            seed=1,
            directory=d,
            project_name="p",
        ),
        lambda d: kt.GridSearch(
            build_model, objective="val_accuracy", max_trials=3, directory=d, project_name="p"
        ),
    ],
    ids=["RandomSearch", "BayesianOptimization", "GridSearch"],
)
def test_the_tutorial_model_runs_under_each_tuner(make, digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = make(tmp_path)
    tuner.search(x_tr, y_tr, epochs=2, validation_data=(x_val, y_val), verbose=0)

    study = tunelab.load_study("p", str(tmp_path / "p" / "tunelab.db"))  # `tunelab show` sees it
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert all(_in_space(dict(t.params)) for t in trials)
    assert len({tuple(t.params.values()) for t in trials}) == 3
    for t in trials:
        assert sorted(t.intermediate("val_accuracy")) == [0, 1]  # one report per epoch
        assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(t.reports[0].metrics)
        assert t.value == max(t.intermediate("val_accuracy").values())  # best epoch's score
        assert t.user_attrs["rss_mb"] > 0
    best_hp = tuner.get_best_hyperparameters(1)[0]
    assert best_hp.values == dict(study.best_trial.params)
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.score == study.best_value and best.status == "COMPLETED"


def test_grid_search_visits_grid_cells_in_order(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.GridSearch(
        build_model, objective="val_loss", max_trials=2, directory=tmp_path, project_name="g"
    )
    tuner.search(x_tr, y_tr, epochs=1, validation_data=(x_val, y_val), verbose=0)
    params = [dict(t.params) for t in tuner.study.trials]
    # The same first four values (each parameter's first grid value), two learning rates.
    assert [p["hidden1"] for p in params] == [32, 32]
    assert sorted(p["learning_rate"] for p in params) == [0.0001, 0.001]
    assert tuner.study.direction.value == "minimize"  # "val_loss" is minimized


def test_hyperband_stops_trials_at_the_rungs(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.Hyperband(
        build_model,
        objective="val_accuracy",
        max_epochs=3,
        factor=3,
        seed=3,
        directory=tmp_path,
        project_name="h",
    )
    tuner.search(x_tr, y_tr, epochs=50, validation_data=(x_val, y_val), verbose=0)
    trials = tuner.study.trials
    # max_epochs=3, factor=3: bracket 0 has 3 trials and a rung at 1 epoch, bracket 1 has
    # 2 trials that train fully; tunelab's HyperbandScheduler interleaves them.
    assert len(trials) == 5
    assert [t.system_attrs["bracket"] for t in trials] == [0, 1, 0, 1, 0]
    seen_at_rung: list[float] = []
    for t in (t for t in trials if t.system_attrs["bracket"] == 0):
        at_rung = t.intermediate("val_accuracy")[0]
        if t.state is TrialState.PRUNED:
            assert sorted(t.intermediate("val_accuracy")) == [0]  # stopped after epoch 1
            assert "hyperband bracket 0" in (t.reason or "")
            assert at_rung <= max(seen_at_rung)  # not the best of its bracket at the rung
        else:
            assert t.state is TrialState.COMPLETE
            assert sorted(t.intermediate("val_accuracy")) == [0, 1, 2]  # max_epochs, not 50
            assert not seen_at_rung or at_rung >= max(seen_at_rung)
        seen_at_rung.append(at_rung)
    for t in (t for t in trials if t.system_attrs["bracket"] == 1):  # no rungs: full training
        assert t.state is TrialState.COMPLETE
        assert sorted(t.intermediate("val_accuracy")) == [0, 1, 2]
    assert any(t.state is TrialState.PRUNED for t in trials)


def test_best_models_come_back_trained_from_disk(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=3,
        seed=7,
        directory=tmp_path,
        project_name="b",
        keep_models=2,
    )
    tuner.search(x_tr, y_tr, epochs=3, validation_data=(x_val, y_val), verbose=0)

    files = sorted(p.name for p in (tmp_path / "b" / "models").iterdir())
    top = tuner.study.top_trials(2)
    assert files == sorted(f"trial_{t.number:05d}.keras" for t in top)  # only the top k kept
    models = tuner.get_best_models(num_models=2)
    for model, trial in zip(models, top, strict=True):
        loss, accuracy = model.evaluate(x_val, y_val, verbose=0)
        assert accuracy == pytest.approx(trial.value, abs=1e-6)
        best_epoch = trial.user_attrs["best_epoch"]
        assert loss == pytest.approx(trial.intermediate("val_loss")[best_epoch], rel=1e-4)
    with pytest.raises(kt.ModelNotKeptError, match="keep_models=2"):
        tuner.get_best_models(num_models=3)

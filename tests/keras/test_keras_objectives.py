"""A list of objectives: a real study of several objectives whose best trials are the
Pareto front (Keras Tuner sums the objectives instead); bad lists refused in one line."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pytest
from kt_seed_model import kt

from tunelab import Direction, TrialState

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]


def tiny(hp):  # type: ignore[no-untyped-def]
    """One hidden layer of 2 to 32 units: size and accuracy pull apart."""
    model = keras.Sequential(
        [
            keras.Input(shape=(64,)),
            keras.layers.Dense(hp.Int("units", 2, 32, step=2), activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-3, 1e-2])),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class SizedModel(kt.HyperModel):
    """fit returns the best epoch's validation accuracy and the model's size."""

    def build(self, hp):  # type: ignore[no-untyped-def]
        return tiny(hp)

    def fit(self, hp, model, *args, **kwargs):  # type: ignore[no-untyped-def]
        history = model.fit(*args, **kwargs)
        return {
            "val_accuracy": max(history.history["val_accuracy"]),
            "n_parameters": float(model.count_params()),
        }


def pareto_numbers(trials, signs: tuple[float, ...]) -> set[int]:
    """Brute force: the complete trials no other one dominates (signs: +1 to maximize)."""
    done = [t for t in trials if t.state is TrialState.COMPLETE]
    points = {t.number: np.array(t.values) * np.array(signs) for t in done}

    def dominated(a: np.ndarray) -> bool:
        return any(np.all(b >= a) and np.any(b > a) for b in points.values())

    return {n for n, p in points.items() if not dominated(p)}


def test_accuracy_against_size_gives_the_front_as_the_best(digits, tmp_path: Path, capsys) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.RandomSearch(
        SizedModel(),
        objective=["val_accuracy", kt.Objective("n_parameters", "min")],
        max_trials=6,
        seed=4,
        directory=tmp_path,
        project_name="size",
    )
    tuner.search(x_tr, y_tr, epochs=2, validation_data=(x_val, y_val), verbose=1)
    study = tuner.study
    assert study.metrics == ("val_accuracy", "n_parameters")
    assert study.directions == (Direction.MAXIMIZE, Direction.MINIMIZE)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    for t in trials:
        units = t.params["units"]
        assert t.values == (
            max(t.intermediate("val_accuracy").values()),
            64 * units + units + units * 10 + 10,
        )

    front = pareto_numbers(trials, (1.0, -1.0))
    assert {t.number for t in study.best_trials} == front
    top = study.top_trials(len(front))  # rank, then crowding
    order = [t.number for t in top]
    best_hp = tuner.get_best_hyperparameters(num_trials=10)  # more than the front holds
    assert [hp.values for hp in best_hp] == [dict(t.params) for t in top]
    assert len(tuner.get_best_hyperparameters(1)) == 1
    best = tuner.oracle.get_best_trials(10)
    assert [int(k.trial_id) for k in best] == order
    for k in best:
        assert k.values == dict(zip(study.metrics, k.frozen.values, strict=True))
        assert k.score == k.values["val_accuracy"]  # the first objective's value

    out = capsys.readouterr().out
    assert re.search(
        r"Trial 5 COMPLETE \[6/6\] val_accuracy=\S+ n_parameters=\S+, Pareto front of", out
    )
    tuner.results_summary(num_trials=10)
    out = capsys.readouterr().out
    assert f"Showing {len(front)} of the {len(front)} trials of the Pareto front" in out
    assert "Objective(name='val_accuracy', direction='max'), " in out
    assert "Objective(name='n_parameters', direction='min')" in out
    assert out.count("Scores: val_accuracy=") == len(front)


def test_names_and_objectives_mix_and_models_come_back_for_the_front(
    digits, tmp_path: Path
) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.RandomSearch(
        tiny,
        objective=[kt.Objective("val_accuracy", "max"), "val_loss"],  # val_loss: minimized
        max_trials=4,
        seed=2,
        executions_per_trial=2,
        directory=tmp_path,
        project_name="mix",
        keep_models=4,
    )
    tuner.search(x_tr, y_tr, epochs=2, validation_data=(x_val, y_val), verbose=0)
    study = tuner.study
    assert study.directions == (Direction.MAXIMIZE, Direction.MINIMIZE)
    for t in study.trials:
        assert t.state is TrialState.COMPLETE
        accuracy, loss = t.intermediate("val_accuracy"), t.intermediate("val_loss")
        # Two executions report steps 0-1 and 2-3; each counts with its epoch best in
        # the first objective, and the trial's values are the means over them.
        picks = [max(steps, key=lambda s: (accuracy[s], -s)) for steps in ((0, 1), (2, 3))]
        assert t.values[0] == pytest.approx(np.mean([accuracy[s] for s in picks]))
        assert t.values[1] == pytest.approx(np.mean([loss[s] for s in picks]))

    front = [t.number for t in study.top_trials(len(study.best_trials))]
    assert {*front} == pareto_numbers(study.trials, (1.0, -1.0))
    models = tuner.get_best_models(num_models=4)
    assert len(models) == len(front)  # the front only, even when more are asked for
    kept = {t.number: t for t in study.trials}
    for model, number in zip(models, front, strict=True):
        trial = kept[number]
        assert trial.user_attrs["model_file"] == f"trial_{number:05d}.keras"
        loss, accuracy = model.evaluate(x_val, y_val, verbose=0)
        seen = trial.intermediate("val_accuracy").values()
        assert any(accuracy == pytest.approx(v, abs=1e-6) for v in seen)


def test_hyperband_prunes_a_study_of_two_objectives(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.Hyperband(
        tiny,
        objective=["val_accuracy", "val_loss"],
        max_epochs=3,
        factor=3,
        seed=1,
        directory=tmp_path,
        project_name="hb",
    )
    tuner.search(x_tr, y_tr, validation_data=(x_val, y_val), verbose=0)
    trials = tuner.study.trials
    assert len(trials) == 5
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    for t in pruned:
        assert sorted(t.intermediate("val_loss")) == [0]  # stopped at bracket 0's rung
        assert "hyperband bracket 0" in (t.reason or "")
    assert pruned  # bracket 0: 3 trials, only the top 1/3 at its rung goes on
    assert all(len(t.values) == 2 for t in trials if t.state is TrialState.COMPLETE)


class NumberModel(kt.HyperModel):
    def build(self, hp):  # type: ignore[no-untyped-def]
        return tiny(hp)

    def fit(self, hp, model, *args, **kwargs):  # type: ignore[no-untyped-def]
        return max(model.fit(*args, **kwargs).history["val_accuracy"])


def test_a_number_or_a_missing_metric_names_the_objectives(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    data = dict(epochs=1, validation_data=(x_val, y_val), verbose=0)
    tuner = kt.RandomSearch(
        NumberModel(), objective=["val_accuracy", "val_loss"], directory=tmp_path, project_name="n"
    )
    with pytest.raises(
        kt.ObjectiveNotFoundError,
        match=r"one number.*\['val_accuracy', 'val_loss'\]; return a dict holding each",
    ):
        tuner.search(x_tr, y_tr, **data)
    tuner = kt.RandomSearch(
        tiny, objective=["val_accuracy", "val_auc"], directory=tmp_path, project_name="m"
    )
    with pytest.raises(kt.ObjectiveNotFoundError, match=r"'val_auc' is not among"):
        tuner.search(x_tr, y_tr, **data)
    (trial,) = tuner.study.trials
    assert trial.state is TrialState.FAIL


def test_bad_lists_are_refused_in_one_line_before_anything_is_stored(tmp_path: Path) -> None:
    repeated = ["val_loss", kt.Objective("val_loss", "min")]
    with pytest.raises(ValueError, match=r"\['val_loss'\] more than once") as info:
        kt.RandomSearch(tiny, objective=repeated, directory=tmp_path, project_name="r")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "r").exists()
    with pytest.raises(ValueError, match=r"'min' or 'max'.*Objective\('size'") as info:
        kt.RandomSearch(
            tiny,
            objective=["val_loss", kt.Objective("size", "smallest")],
            directory=tmp_path,
            project_name="d",
        )
    assert "\n" not in str(info.value)

"""HyperModel.fit overrides, conditional scopes and the tuner's hyperparameters= rules."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import pytest
from kt_seed_model import kt

from tunelab import SearchSpaceError, TrialState

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]


def _small(hp, units: int) -> keras.Model:  # type: ignore[no-untyped-def]
    model = keras.Sequential(
        [
            keras.Input(shape=(64,)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


class BatchSizeModel(kt.HyperModel):
    """Tunes the batch size in fit, as the Keras Tuner guide shows."""

    def build(self, hp):  # type: ignore[no-untyped-def]
        return _small(hp, hp.Choice("units", [8, 16]))

    def fit(self, hp, model, *args, **kwargs):  # type: ignore[no-untyped-def]
        batch_size = hp.Choice("batch_size", [32, 256])
        history = model.fit(*args, batch_size=batch_size, **kwargs)
        n = len(args[0])
        assert history.params["steps"] == math.ceil(n / batch_size)  # really used
        return history


def test_fit_override_tunes_the_batch_size(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.GridSearch(
        BatchSizeModel(), objective="val_accuracy", directory=tmp_path, project_name="bs"
    )
    tuner.search(x_tr, y_tr, epochs=1, validation_data=(x_val, y_val), verbose=0)
    trials = tuner.study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4  # 2 units x 2 batch sizes
    cells = {(t.params["units"], t.params["batch_size"]) for t in trials}
    assert cells == {(8, 32), (8, 256), (16, 32), (16, 256)}


class ScoreModel(kt.HyperModel):
    """fit may return the objective itself instead of a History."""

    def build(self, hp):  # type: ignore[no-untyped-def]
        return _small(hp, hp.Int("units", 8, 16, step=8))

    def fit(self, hp, model, x, y, validation_data, **kwargs):  # type: ignore[no-untyped-def]
        model.fit(x, y, **kwargs)
        return {"val_loss": 1.0 / hp.get("units"), "note": 1.0}


def test_fit_override_may_return_the_metrics(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.GridSearch(
        ScoreModel(), objective="val_loss", directory=tmp_path, project_name="score"
    )
    tuner.search(x_tr, y_tr, epochs=1, validation_data=(x_val, y_val), verbose=0)
    assert sorted(t.value for t in tuner.study.trials) == [1 / 16, 1 / 8]
    assert tuner.get_best_hyperparameters()[0].get("units") == 16


def build_conditional(hp):  # type: ignore[no-untyped-def]
    depth = hp.Choice("depth", ["one", "two"])
    units = hp.Choice("units1", [8, 16]) if depth == "one" else 8
    with hp.conditional_scope("depth", ["two"]):
        units2 = hp.Choice("units2", [4, 12])
    layers = [keras.Input(shape=(64,)), keras.layers.Dense(units, activation="relu")]
    if depth == "two":
        assert units2 is not None
        layers.append(keras.layers.Dense(units2, activation="relu"))
    else:
        assert units2 is None  # inactive scope: None, as in Keras Tuner
    layers.append(keras.layers.Dense(10, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_conditional_scopes(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.GridSearch(
        build_conditional, objective="val_accuracy", directory=tmp_path, project_name="cond"
    )
    tuner.search(x_tr, y_tr, epochs=1, validation_data=(x_val, y_val), verbose=0)
    params = sorted(tuple(sorted(t.params.items())) for t in tuner.study.trials)
    assert params == [
        (("depth", "one"), ("units1", 8)),
        (("depth", "one"), ("units1", 16)),
        (("depth", "two"), ("units2", 4)),
        (("depth", "two"), ("units2", 12)),
    ]
    conditions = {e.param.name: e.conditions for e in tuner.study.space}
    assert [c.parent_name for c in conditions["units2"]] == ["depth"]


def build_two(hp):  # type: ignore[no-untyped-def]
    model = _small(hp, hp.Int("units", 8, 64, step=8))
    model.optimizer.learning_rate = hp.Float("lr", 1e-3, 1e-2, sampling="log")
    return model


def test_declared_hyperparameters_and_new_entries(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    declared = kt.HyperParameters()
    declared.Fixed("units", 24)
    tuner = kt.RandomSearch(
        build_two,
        objective="val_accuracy",
        max_trials=2,
        seed=0,
        hyperparameters=declared,
        tune_new_entries=False,
        directory=tmp_path,
        project_name="decl",
    )
    tuner.search(x_tr, y_tr, epochs=1, validation_data=(x_val, y_val), verbose=0)
    # units pinned by the declaration, lr (new, not tuned) pinned to its default.
    assert [dict(t.params) for t in tuner.study.trials] == [{"units": 24, "lr": 1e-3}] * 2

    strict = kt.RandomSearch(
        build_two,
        objective="val_accuracy",
        max_trials=2,
        hyperparameters=declared,
        allow_new_entries=False,
        directory=tmp_path,
        project_name="strict",
    )
    with pytest.raises(SearchSpaceError, match=r"'lr'.*allow_new_entries=False"):
        strict.search(x_tr, y_tr, epochs=1, validation_data=(x_val, y_val), verbose=0)
    assert [t.state for t in strict.study.trials] == [TrialState.FAIL]  # stopped at once


def test_executions_per_trial_are_averaged(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.RandomSearch(
        lambda hp: _small(hp, hp.Int("units", 8, 16, step=8)),
        objective="val_accuracy",
        max_trials=1,
        executions_per_trial=2,
        directory=tmp_path,
        project_name="avg",
    )
    tuner.search(x_tr, y_tr, epochs=2, validation_data=(x_val, y_val), verbose=0)
    (trial,) = tuner.study.trials
    curve = trial.intermediate("val_accuracy")
    assert sorted(curve) == [0, 1, 2, 3]  # the second execution's epochs follow the first's
    first, second = max(curve[0], curve[1]), max(curve[2], curve[3])
    assert trial.value == pytest.approx((first + second) / 2)

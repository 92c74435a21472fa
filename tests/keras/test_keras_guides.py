"""Code from Keras Tuner's own guides, run with only the import changed: tuning anything
by overriding `run_trial`, keeping Keras code separate, tuning `fit` arguments through
`super().run_trial`, and the failed-trials guide's `FailedTrialError`/`FatalError`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import tunelab.keras as kt  # the guides: import keras_tuner as kt

# isort: split
import keras
from keras import layers

from tunelab import MedianStoppingScheduler, TrialState

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_tune_anything_run_trial_returns_the_value_to_minimize(tmp_path: Path) -> None:
    class MyTuner(kt.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):  # type: ignore[no-untyped-def]
            hp = trial.hyperparameters
            x = hp.Float("x", min_value=-1.0, max_value=1.0)
            return x * x + 1

    tuner = MyTuner(max_trials=6, overwrite=True, directory=tmp_path, project_name="anything")
    assert tuner.hypermodel is None
    tuner.search(verbose=0)
    study = tuner.study
    assert study.metrics == ("default_objective",) and study.direction.value == "minimize"
    values = {t.params["x"]: t.value for t in study.trials}
    assert len(values) == 6 and all(v == pytest.approx(x * x + 1) for x, v in values.items())
    best_x = tuner.get_best_hyperparameters()[0].get("x")
    assert best_x == min(values, key=lambda x: abs(x))  # minimized, not maximized
    tuner.search_space_summary()  # no hypermodel to probe: the study's space
    tuner.results_summary()


def keras_code(units: int, optimizer: str, saving_path: str) -> float:
    model = keras.Sequential([layers.Dense(units=units, activation="relu"), layers.Dense(units=1)])
    model.compile(optimizer=optimizer, loss="mean_squared_error")
    x_train, y_train = np.random.rand(100, 10), np.random.rand(100, 1)
    x_val, y_val = np.random.rand(20, 10), np.random.rand(20, 1)
    model.fit(x_train, y_train, verbose=0)
    model.save(saving_path)
    y_pred = model.predict(x_val, verbose=0)
    return np.mean(np.abs(y_pred - y_val))  # a NumPy float


def test_keep_keras_code_separate(tmp_path: Path) -> None:
    class MyTuner(kt.RandomSearch):
        def run_trial(self, trial, **kwargs):  # type: ignore[no-untyped-def]
            hp = trial.hyperparameters
            return keras_code(
                units=hp.Int("units", 32, 128, 32),
                optimizer=hp.Choice("optimizer", ["adam", "adadelta"]),
                saving_path=os.path.join(tmp_path, f"{trial.trial_id}.keras"),
            )

    tuner = MyTuner(max_trials=2, overwrite=True, directory=tmp_path, project_name="separate")
    tuner.search(verbose=0)
    assert sorted(p.name for p in tmp_path.glob("*.keras")) == ["0000.keras", "0001.keras"]
    best_hp = tuner.get_best_hyperparameters()[0]
    assert keras_code(**best_hp.values, saving_path=str(tmp_path / "best.keras")) >= 0
    with pytest.raises(kt.ModelNotKeptError):  # run_trial saved its models itself
        tuner.get_best_models()


def build_regressor(hp):  # type: ignore[no-untyped-def]
    model = keras.Sequential(
        [layers.Dense(units=hp.Int("units", 8, 16, 8), activation="relu"), layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mean_squared_error")
    return model


DATA = np.random.default_rng(0).random((64, 10)).astype("float32")
TARGET = DATA.sum(axis=1, keepdims=True)


def test_run_trial_building_the_hypermodel_itself_returns_the_history(tmp_path: Path) -> None:
    class MyTuner(kt.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):  # type: ignore[no-untyped-def]
            hp = trial.hyperparameters
            model = self.hypermodel.build(hp)
            return self.hypermodel.fit(hp, model, *args, **kwargs)

    tuner = MyTuner(build_regressor, objective="val_loss", max_trials=2, directory=tmp_path)
    tuner.search(DATA, TARGET, validation_split=0.25, epochs=3, verbose=0)
    for trial in tuner.study.trials:
        assert trial.state is TrialState.COMPLETE
        assert set(trial.metrics) == {"loss", "val_loss"}  # the History's best epoch
        assert trial.value == trial.metrics["val_loss"]


def test_super_run_trial_tunes_the_batch_size_and_keeps_the_tuners_scoring(
    tmp_path: Path,
) -> None:
    class MyTuner(kt.tuners.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):  # type: ignore[no-untyped-def]
            kwargs["batch_size"] = trial.hyperparameters.Int("batch_size", 16, 32, step=16)
            return super().run_trial(trial, *args, **kwargs)

    tuner = MyTuner(build_regressor, objective="val_loss", max_trials=2, directory=tmp_path)
    tuner.search(DATA, TARGET, validation_split=0.25, epochs=2, verbose=0)
    for trial in tuner.study.trials:
        assert set(trial.params) == {"units", "batch_size"}
        assert [r.step for r in trial.reports] == [0, 1]  # the tuner's callback reported
    model = tuner.get_best_models()[0]  # kept by the tuner's own run_trial
    assert model.predict(DATA[:2], verbose=0).shape == (2, 1)


def test_report_callback_inside_run_trial_reports_and_prunes(tmp_path: Path) -> None:
    class MyTuner(kt.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):  # type: ignore[no-untyped-def]
            lr = trial.hyperparameters.Choice("lr", [0.1, 0.0])
            model = keras.Sequential([keras.Input((10,)), layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
            callback = kt.ReportCallback(trial, monitor="val_loss")
            history = model.fit(*args, **kwargs, callbacks=[callback])
            return min(history.history["val_loss"])

    tuner = MyTuner(
        objective="val_loss",  # the metric the scheduler judges by: the one reported
        max_trials=2,
        scheduler=MedianStoppingScheduler(warmup_steps=1, min_trials=1),
        directory=tmp_path,
    )
    tuner.study.enqueue({"lr": 0.1})  # learns: the median to beat
    tuner.study.enqueue({"lr": 0.0})  # never learns: stopped after its second epoch
    tuner.search(DATA, TARGET, validation_split=0.25, epochs=4, verbose=0)
    good, bad = tuner.study.trials
    assert good.state is TrialState.COMPLETE and [r.step for r in good.reports] == [0, 1, 2, 3]
    assert good.value == min(r.metrics["val_loss"] for r in good.reports)
    assert bad.state is TrialState.PRUNED and [r.step for r in bad.reports] == [0, 1]


class LoopHyperModel(kt.HyperModel):
    """The custom-training-loop guide's HyperModel, its TensorFlow loop written with
    backend-neutral Keras calls: it drives the tuner's callbacks itself."""

    def build(self, hp):  # type: ignore[no-untyped-def]
        return build_regressor(hp)

    def fit(self, hp, model, x, y, validation_data, callbacks=None, **kwargs):  # type: ignore[no-untyped-def]
        batch_size = hp.Int("batch_size", 16, 32, step=16)
        x_val, y_val = validation_data
        for callback in callbacks:
            callback.set_model(model)
        best_epoch_loss = float("inf")
        for epoch in range(2):
            for start in range(0, len(x), batch_size):
                model.train_on_batch(x[start : start + batch_size], y[start : start + batch_size])
            epoch_loss = float(model.evaluate(x_val, y_val, verbose=0))
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs={"my_metric": epoch_loss})
            best_epoch_loss = min(best_epoch_loss, epoch_loss)
        return best_epoch_loss


def test_custom_training_loop_calling_the_callbacks_itself(tmp_path: Path) -> None:
    tuner = kt.RandomSearch(
        objective=kt.Objective("my_metric", "min"),
        max_trials=2,
        hypermodel=LoopHyperModel(),
        directory=tmp_path,
    )
    tuner.search(x=DATA, y=TARGET, validation_data=(DATA[:16], TARGET[:16]), verbose=0)
    for trial in tuner.study.trials:
        assert trial.state is TrialState.COMPLETE and set(trial.params) == {"units", "batch_size"}
        assert [r.step for r in trial.reports] == [0, 1]  # what the loop told the callback
        assert trial.value == min(r.metrics["my_metric"] for r in trial.reports)
    best_model = tuner.get_best_models()[0]  # the best epoch's weights, kept
    best = tuner.study.best_trial
    loss = best_model.evaluate(DATA[:16], TARGET[:16], verbose=0)
    assert float(loss) == pytest.approx(best.value, rel=1e-4)


def test_a_tuner_without_hypermodel_needs_its_own_run_trial(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"hypermodel=.*override run_trial"):
        kt.RandomSearch(objective="val_loss", directory=tmp_path)

    class Half(kt.RandomSearch):  # overrides run_trial, but calls the default without a model
        def run_trial(self, trial, *args, **kwargs):  # type: ignore[no-untyped-def]
            return super().run_trial(trial, *args, **kwargs)

    tuner = Half(directory=tmp_path, max_trials=3)
    with pytest.raises(TypeError, match="no hypermodel to build"):
        tuner.search(verbose=0)
    assert [t.state for t in tuner.study.trials] == [TrialState.FAIL]  # stopped at once


def test_run_trial_returning_nothing_stops_the_search(tmp_path: Path) -> None:
    class Forgot(kt.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):  # type: ignore[no-untyped-def]
            trial.hyperparameters.Float("x", 0.0, 1.0)

    tuner = Forgot(directory=tmp_path, max_trials=3)
    with pytest.raises(TypeError, match=r"returned None; add the missing `return`"):
        tuner.search(verbose=0)
    assert len(tuner.study.trials) == 1


# The failed-trials guide: models too large fail for good, without the 3 retries.
def build_model(hp):  # type: ignore[no-untyped-def]
    units_1 = hp.Int("units_1", 10, 40, step=10)
    units_2 = hp.Int("units_2", 10, 30, step=10)
    model = keras.Sequential(
        [
            layers.Dense(units=units_1, input_shape=(20,)),
            layers.Dense(units=units_2),
            layers.Dense(units=1),
        ]
    )
    model.compile(loss="mse")
    num_params = model.count_params()
    if num_params > 1200:
        raise kt.errors.FailedTrialError(f"Model too large! It contains {num_params} params.")
    return model


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`:UserWarning")  # the guide's code
def test_failed_trial_error_fails_the_trial_without_retries(tmp_path: Path) -> None:
    x = np.random.rand(40, 20)
    y = np.random.rand(40, 1)
    tuner = kt.GridSearch(
        hypermodel=build_model,
        objective="val_loss",
        overwrite=True,
        max_retries_per_trial=3,
        max_consecutive_failed_trials=8,
        directory=tmp_path,
    )
    tuner.search(x[:30], y[:30], validation_data=(x[30:], y[30:]), epochs=1, verbose=0)
    tuner.results_summary()
    trials = tuner.study.trials
    failed = {
        (t.params["units_1"], t.params["units_2"]) for t in trials if t.state is TrialState.FAIL
    }
    assert failed == {(30, 20), (30, 30), (40, 10), (40, 20), (40, 30)}  # over 1200 params
    assert len(trials) == 12  # the whole grid, each failed one tried once
    assert all(
        "FailedTrialError: Model too large!" in (t.reason or "")
        for t in trials
        if t.state is TrialState.FAIL
    )


def test_fatal_error_stops_the_search_at_once(tmp_path: Path) -> None:
    def build(hp):  # type: ignore[no-untyped-def]
        hp.Int("units", 8, 16, step=8)
        raise kt.errors.FatalValueError("the data cannot be read")

    tuner = kt.RandomSearch(build, max_trials=5, max_retries_per_trial=2, directory=tmp_path)
    with pytest.raises(kt.errors.FatalError, match="the data cannot be read") as info:
        tuner.search(DATA, TARGET, epochs=1, verbose=0)
    assert isinstance(info.value, ValueError)
    (trial,) = tuner.study.trials  # neither retried nor followed by another trial
    assert trial.state is TrialState.FAIL and "the data cannot be read" in (trial.reason or "")

"""`tunelab.keras.ReportCallback`: `model.fit` inside a plain tunelab objective reports
each epoch and is pruned by the study's scheduler, the trial ending PRUNED with its
curve kept."""

from __future__ import annotations

import numpy as np
import pytest

import tunelab
import tunelab.keras as kt  # before keras: it selects the torch backend

# isort: split
import keras

from tunelab import MedianStoppingScheduler, TrialState

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

_RNG = np.random.default_rng(0)
X = _RNG.normal(size=(64, 4)).astype("float32")
Y = (X @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32"))[:, None]


def _model(learning_rate: float) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return model


def _fit(model: keras.Model, callback: keras.callbacks.Callback, epochs: int = 4) -> float:
    history = model.fit(
        X, Y, validation_data=(X, Y), epochs=epochs, batch_size=16, verbose=0, callbacks=[callback]
    )
    return float(history.history["val_loss"][-1])


def test_reports_each_epoch_and_a_pruned_trial_ends_pruned_with_its_curve() -> None:
    def objective(trial: tunelab.Trial) -> float:
        model = _model(trial.hp.Choice("lr", [0.1, 0.0]))
        return _fit(model, kt.ReportCallback(trial, monitor="val_loss"))

    study = tunelab.create_study(
        "report",
        storage=tunelab.InMemoryStorage(),
        metric="val_loss",
        direction="minimize",
        scheduler=MedianStoppingScheduler(warmup_steps=1, min_trials=1),
    )
    study.enqueue({"lr": 0.1})  # learns: the median to beat
    study.enqueue({"lr": 0.0})  # never learns: stopped after its second epoch
    study.optimize(objective, n_trials=2)
    good, bad = study.trials
    assert good.state is TrialState.COMPLETE
    assert [r.step for r in good.reports] == [0, 1, 2, 3]  # step = epoch
    assert all(set(r.metrics) == {"val_loss"} for r in good.reports)  # the monitored only
    assert good.value == pytest.approx(good.reports[-1].metrics["val_loss"])
    assert bad.state is TrialState.PRUNED and "median rule at step 1" in (bad.reason or "")
    assert [r.step for r in bad.reports] == [0, 1]  # training stopped there, curve kept
    assert bad.reports[1].metrics["val_loss"] > good.reports[1].metrics["val_loss"]


def _study(name: str) -> tunelab.Study:
    return tunelab.create_study(
        name, storage=tunelab.InMemoryStorage(), metric="val_loss", direction="minimize"
    )


def test_every_log_without_monitor_and_a_second_fit_continues_the_steps() -> None:
    def objective(trial: tunelab.Trial) -> float:
        model = _model(0.05)
        callback = kt.ReportCallback(trial)
        _fit(model, callback, epochs=2)
        return _fit(model, callback, epochs=2)  # fine-tuning: steps 2 and 3

    study = _study("all-logs")
    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.COMPLETE
    assert [r.step for r in trial.reports] == [0, 1, 2, 3]
    assert all(set(r.metrics) == {"loss", "val_loss"} for r in trial.reports)


def test_a_monitor_keras_never_logs_stops_the_study_naming_what_it_logged() -> None:
    def objective(trial: tunelab.Trial) -> float:
        model = _model(0.05)
        model.fit(X, Y, epochs=3, verbose=0, callbacks=[kt.ReportCallback(trial, "val_loss")])
        return 0.0

    study = _study("no-val")
    with pytest.raises(
        tunelab.ConfigurationError,
        match=r"monitors 'val_loss'.*after epoch 1; it logged \['loss'\]: pass validation_data=",
    ):
        study.optimize(objective, n_trials=3)
    (trial,) = study.trials  # stopped at once, not three failures alike
    assert trial.state is TrialState.FAIL and trial.reports == ()


def test_bad_arguments_are_one_line_errors() -> None:
    with pytest.raises(TypeError, match="needs the tunelab trial the objective received"):
        kt.ReportCallback("trial")
    study = _study("bad-monitor")
    trial = study.ask()
    with pytest.raises(ValueError, match="monitor must be a metric name"):
        kt.ReportCallback(trial, monitor=[])
    study.tell(trial, 0.0)

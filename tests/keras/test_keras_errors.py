"""Bad input stops with one clear message; failing trials are retried and counted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kt_seed_model import build_model, kt

from tunelab import ConfigurationError, TrialState, TunelabError

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_unknown_objective_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'val_acuracy'.*check the spelling"):
        kt.RandomSearch(build_model, objective="val_acuracy", directory=tmp_path)


def test_bad_tuner_arguments_are_configuration_errors(tmp_path: Path) -> None:
    for bad in (
        dict(objective="val_acuracy"),
        dict(max_trials=0),
        dict(keep_models=-1),
        dict(objective=["val_loss", "val_loss"]),
        dict(objective=[kt.Objective("val_loss", "min"), kt.Objective("val_loss", "max")]),
    ):
        with pytest.raises(ConfigurationError) as info:
            kt.RandomSearch(build_model, directory=tmp_path, **bad)
        assert isinstance(info.value, TunelabError) and "\n" not in str(info.value)
    with pytest.raises(ConfigurationError, match="hyperband_iterations"):
        kt.Hyperband(build_model, objective="val_loss", hyperband_iterations=0, directory=tmp_path)


def none_model(hp):  # type: ignore[no-untyped-def]
    hp.Int("units", 8, 16, step=8)  # forgot `return model`


def test_a_build_that_returns_no_model_stops_at_the_first_trial(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.RandomSearch(none_model, objective="val_loss", max_trials=5, directory=tmp_path)
    with pytest.raises(TypeError, match=r"returned None; add the missing `return model`") as info:
        tuner.search(x_tr, y_tr, epochs=1, validation_data=(x_val, y_val), verbose=0)
    assert isinstance(info.value, ConfigurationError)
    (trial,) = tuner.study.trials  # not max_consecutive_failed_trials=3 failures alike
    assert trial.state is TrialState.FAIL and "returned None" in (trial.reason or "")


def test_a_tuner_needs_a_hypermodel(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="hypermodel="):
        kt.RandomSearch(objective="val_loss", directory=tmp_path)
    with pytest.raises(ValueError, match="max_trials must be an int >= 1"):
        kt.RandomSearch(build_model, max_trials=0, directory=tmp_path)


@pytest.mark.slow
def test_objective_metric_never_produced(digits, tmp_path: Path) -> None:
    x_tr, y_tr, _, _ = digits
    tuner = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=3,
        directory=tmp_path,
        project_name="noval",
    )
    with pytest.raises(
        kt.ObjectiveNotFoundError,
        match=r"'val_accuracy' is not among .*\['accuracy', 'loss'\].*validation_data",
    ):
        tuner.search(x_tr, y_tr, epochs=2, verbose=0)  # no validation data
    trials = tuner.study.trials
    assert len(trials) == 1 and trials[0].state is TrialState.FAIL  # stopped at once
    assert "validation_split" in (trials[0].reason or "")


def broken_model(hp):  # type: ignore[no-untyped-def]
    hp.Int("units", 8, 16, step=8)
    raise RuntimeError("out of memory (pretend)")


@pytest.mark.slow
def test_failing_trials_are_retried_then_the_search_stops(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    tuner = kt.RandomSearch(
        broken_model,
        objective="val_loss",
        max_trials=5,
        seed=0,
        max_retries_per_trial=1,
        max_consecutive_failed_trials=2,
        directory=tmp_path,
        project_name="broken",
    )
    with pytest.raises(TunelabError, match=r"2 trials in a row failed.*out of memory \(pretend\)"):
        tuner.search(x_tr, y_tr, epochs=1, validation_data=(x_val, y_val), verbose=0)
    trials = tuner.study.trials
    assert [t.state for t in trials] == [TrialState.FAIL] * 4  # 2 trials, each tried twice
    assert trials[1].params == trials[0].params  # the retry repeats the same values
    assert trials[3].params == trials[2].params
    assert [t.attempt for t in trials] == [0, 1, 0, 1]
    assert [t.retry_of for t in trials] == [None, 0, None, 2]
    assert "RuntimeError: out of memory (pretend)" in (trials[0].reason or "")


@pytest.mark.slow
def test_keras_on_another_backend_is_refused(tmp_path: Path) -> None:
    # Only the torch backend is installed here, so another backend fails while Keras loads.
    script = (
        "import tunelab.keras as kt\n"
        f"kt.RandomSearch(lambda hp: None, objective='val_loss', directory={str(tmp_path)!r})\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "could not start its 'jax' backend" in last
    assert "set KERAS_BACKEND=torch" in last

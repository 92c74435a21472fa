"""fit()'s two kinds of failure under `study.optimize` with its default `catch`: a
configuration mistake stops the search at the first trial, while a configuration that
only this trial drew (a batch larger than the data) fails that trial alone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import tunelab
from tunelab import ConfigurationError, TrialFailed, TrialState, TunelabError
from tunelab.space import Choice
from tunelab.torch import Schedule, TrainingError, fit
from tunelab.torch.data import Data, load_digits
from tunelab.torch.optim import scaled_learning_rate

FIXED = dict(optimizer="adam", learning_rate=1e-2, batch_size=32, lr_schedule="constant", epochs=1)


@pytest.fixture(scope="module")
def digits() -> Data:
    """200 training samples of the digits, so batch sizes can exceed them."""
    d = load_digits()
    return Data(d.x_train[:200], d.y_train[:200], d.x_val, d.y_val, d.num_classes)


def mlp(outputs: int = 10) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, outputs))


MISTAKES = [
    ({"optimizer": "adagrad"}, 10, "unknown optimizer 'adagrad'"),
    ({"optimizer": Choice("opt", ("adam", "adagrad"))}, 10, "unknown optimizer 'adagrad'"),
    ({"lr_schedule": ["cosine", "cyclic"]}, 10, "unknown lr_schedule 'cyclic'"),
    ({"learning_rat": 0.1}, 10, "unknown training hyperparameters ['learning_rat']"),
    ({"patience": 0}, 10, "but got epochs=1, patience=0"),
    ({"batch_size": 256}, 10, "batch_size=256 is larger than the 200 training samples"),
    ({"batch_size": [256, 512]}, 10, "use a batch size <= 200"),
    ({}, 7, "the last layer needs 10 outputs"),
]


@pytest.mark.parametrize(("settings", "outputs", "message"), MISTAKES, ids=[m[2] for m in MISTAKES])
def test_a_misconfigured_fit_stops_the_search_at_the_first_trial(
    digits, settings, outputs, message
):
    study = tunelab.create_study("bad", storage=":memory:", seed=0)
    with pytest.raises(TrainingError) as info:  # the default catch=(Exception,)
        study.optimize(lambda t: fit(mlp(outputs), digits, t, **{**FIXED, **settings}), n_trials=5)
    error = info.value
    assert isinstance(error, ConfigurationError) and isinstance(error, TunelabError)
    assert isinstance(error, ValueError)  # `except ValueError` callers keep working
    assert message in str(error) and "\n" not in str(error)
    (trial,) = study.trials  # stopped at once: not five trials failing alike
    assert trial.state is TrialState.FAIL
    assert message in (trial.reason or "")
    assert trial.reports == ()  # refused before the first step


def test_a_drawn_batch_larger_than_the_data_fails_that_trial_only(digits):
    study = tunelab.create_study("draws", storage=":memory:", seed=0)
    study.optimize(
        lambda t: fit(mlp(), digits, t, **{**FIXED, "batch_size": [32, 256]}), n_trials=6
    )
    trials = study.trials
    assert len(trials) == 6  # the search went on
    failed = [t for t in trials if t.state is TrialState.FAIL]
    done = [t for t in trials if t.state is TrialState.COMPLETE]
    assert failed and done
    assert all(t.params["batch_size"] == 256 for t in failed)
    assert all(t.params["batch_size"] == 32 for t in done)
    assert all("batch_size=256 is larger than the 200 training samples" in t.reason for t in failed)
    assert all("TrialFailed" in t.reason and "search goes on" in t.reason for t in failed)


def test_trial_failed_is_not_a_tunelab_error():
    assert not issubclass(TrialFailed, TunelabError)  # TunelabErrors stop the search


def test_the_kit_checks_names_given_to_it_directly():
    with pytest.raises(TrainingError, match=r"unknown lr_schedule 'cyclic'; choose from constant"):
        Schedule("cyclic", epochs=5)
    with pytest.raises(TrainingError, match=r"unknown lr_scaling 'cubic'; choose from none"):
        scaled_learning_rate(1e-3, 64, "cubic")

"""One error family: a configuration mistake anywhere in tunelab raises a
ConfigurationError (a TunelabError, so the search stops at the first trial, and a
ValueError, so `except ValueError` callers keep working) whose message is one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from torch import nn

import tunelab
from tunelab import (
    ASHAScheduler,
    ConfigurationError,
    ConfigurationTypeError,
    HyperbandScheduler,
    HyperParameters,
    RandomSampler,
    SearchSpaceError,
    TrialPruned,
    TunelabError,
)
from tunelab.insight import effect_tables, next_ranges, seed_spread
from tunelab.ray import launch
from tunelab.report import write_report
from tunelab.samplers import GPSampler, make_sampler
from tunelab.schedulers import make_scheduler
from tunelab.torch import MLP, SmallCNN, init_weights, load_digits, lr_find


def _study() -> tunelab.Study:
    return tunelab.create_study("s", storage=":memory:")


MISTAKES: list[tuple[str, Callable[[Path], Any], str]] = [
    ("sampler name", lambda _: make_sampler("tpee"), "unknown sampler 'tpee'"),
    ("sampler seed", lambda _: RandomSampler(seed=-1), "seed=-1"),
    ("gp setting", lambda _: GPSampler(n_restarts=0), "n_restarts=0"),
    ("scheduler name", lambda _: make_scheduler("ashaa"), "unknown scheduler 'ashaa'"),
    (
        "scheduler range",
        lambda _: ASHAScheduler(min_resource=5, max_resource=2),
        "min_resource <= max_resource must hold",
    ),
    ("hyperband flag", lambda _: HyperbandScheduler(adaptive="yes"), "adaptive='yes'"),
    ("bad domain", lambda _: HyperParameters().Int("n", 5, 1), "'n'"),
    ("insight bins", lambda _: effect_tables(_study(), bins=0), "bins=0"),
    ("insight fraction", lambda _: next_ranges(_study(), top_fraction=2), "top_fraction=2"),
    ("insight seeds", lambda _: seed_spread(_study(), lambda t: 0.0, seeds=0), "seeds=0"),
    ("report folder", lambda tmp: write_report(_study(), tmp), "it is a folder"),
    ("ray workers", lambda _: launch("s", "sqlite://", lambda t: 0.0, 0), "num_workers=0"),
    ("torch model", lambda _: MLP(HyperParameters(), 0, 10), "in_features=0"),
    ("torch shape", lambda _: SmallCNN(HyperParameters(), (28, 28), 10), "in_shape=(28, 28)"),
    ("torch init", lambda _: init_weights(nn.Linear(2, 2), "glorot"), "scheme='glorot'"),
    ("lr_find", lambda _: lr_find(nn.Linear(64, 10), load_digits(), num=3), "num=3"),
]


@pytest.mark.parametrize(("what", "make", "message"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_configuration_mistakes_raise_one_line_configuration_errors(
    tmp_path: Path, what: str, make: Callable[[Path], Any], message: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        make(tmp_path)
    error = info.value
    assert isinstance(error, TunelabError) and isinstance(error, ValueError)
    text = str(error)
    assert message in text and "\n" not in text
    assert "must" in text or "unknown" in text or "cannot" in text  # the rule, not just a value


def test_wrong_kinds_of_argument_are_type_errors_too() -> None:
    with pytest.raises(ConfigurationTypeError, match="but got int") as info:
        make_scheduler(42)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError) and isinstance(info.value, TunelabError)
    with pytest.raises(TypeError, match=r"define\(\) takes a tunelab.space parameter"):
        HyperParameters().define("lr")  # type: ignore[arg-type]


def test_the_two_levels() -> None:
    assert issubclass(SearchSpaceError, ConfigurationError)  # a bad space stops the search
    for one_trial in (tunelab.TrialFailed, TrialPruned):
        assert not issubclass(one_trial, TunelabError)


def test_a_configuration_error_in_the_objective_stops_the_search_at_the_first_trial() -> None:
    study = tunelab.create_study("stop", storage=":memory:", sampler=RandomSampler(seed=0))

    def objective(trial: tunelab.Trial) -> float:
        lr = trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")
        ASHAScheduler(min_resource=5, max_resource=2)  # a misconfigured component
        return lr

    with pytest.raises(ConfigurationError, match="min_resource <= max_resource"):
        study.optimize(objective, n_trials=5)
    (trial,) = study.trials
    assert trial.state is tunelab.TrialState.FAIL and "max_resource=2" in (trial.reason or "")

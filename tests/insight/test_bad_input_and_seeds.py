"""Bad input ends in one clear InsightError; seed_spread re-runs the top configurations."""

from __future__ import annotations

import random

import pytest

import tunelab
from tunelab import TrialState
from tunelab.insight import (
    InsightError,
    curves,
    diagnose,
    effect_tables,
    importance,
    next_ranges,
    seed_spread,
)


@pytest.fixture
def storage(tmp_path):
    return str(tmp_path / "bad.db")


def test_an_empty_study(storage):
    study = tunelab.create_study("empty", storage=storage)
    for analysis in (effect_tables, importance, next_ranges):
        with pytest.raises(InsightError, match="'empty' has no trials yet; run some first"):
            analysis(study)
    with pytest.raises(InsightError, match="no trials yet"):
        curves(study, "val_loss")


def test_a_study_whose_trials_all_failed(storage):
    study = tunelab.create_study("broken", storage=storage, metric="score")
    for _ in range(3):
        trial = study.ask()
        trial.hp.Float("x", 0, 1)
        study.tell(trial, state=TrialState.FAIL, reason="ZeroDivisionError at model.py:3")
    for analysis in (effect_tables, importance, next_ranges):
        with pytest.raises(
            InsightError, match=r"every finished trial .* failed \(3 trials; last: ZeroDivision"
        ):
            analysis(study)


def test_a_metric_never_reported(storage):
    study = tunelab.create_study("m", storage=storage, metric="score")
    trial = study.ask()
    trial.hp.Float("x", 0, 1)
    trial.report(0, train_loss=1.0)
    study.tell(trial, 0.5)
    with pytest.raises(InsightError, match=r"'val_acc' was never reported .* score, train_loss"):
        effect_tables(study, metric="val_acc")
    with pytest.raises(InsightError, match="'val_acc' was never reported"):
        importance(study, metric="val_acc")


def test_importance_needs_three_complete_trials_that_differ(storage):
    study = tunelab.create_study("few", storage=storage, metric="score")
    for _ in range(2):
        trial = study.ask()
        trial.hp.Float("x", 0, 1)
        study.tell(trial, 1.0)
    with pytest.raises(InsightError, match="at least 3 complete trials"):
        importance(study)
    trial = study.ask()
    trial.hp.Float("x", 0, 1)
    study.tell(trial, 1.0)
    with pytest.raises(InsightError, match="scored score=1"):
        importance(study)


def test_a_running_trial_can_be_diagnosed_as_unknown(storage):
    study = tunelab.create_study("r", storage=storage, metric="score")
    trial = study.ask()
    trial.hp.Float("x", 0, 1)
    running = study.trials[0]
    assert diagnose(running, study).kind.value == "UNKNOWN"
    study.tell(trial, 1.0)


def noisy(trial):
    """The score depends on x plus seed noise: re-runs differ."""
    x = trial.hp.Float("x", 0.0, 1.0)
    return x + random.Random(trial.seed).gauss(0, 0.05)


def test_seed_spread_reruns_the_top_configurations(storage):
    study = tunelab.create_study("s", storage=storage, metric="score", sampler="random", seed=0)
    study.optimize(noisy, n_trials=8)
    top = study.top_trials(2)
    spreads = seed_spread(study, noisy, top_k=2, seeds=3)
    assert {s.number for s in spreads} == {t.number for t in top}
    for s in spreads:
        assert len(s.values) == 3 and len(set(s.values)) == 3  # three different seeds
        assert s.std is not None and 0 < s.std < 0.2
        assert s.low <= s.mean <= s.high
        assert s.mean == pytest.approx(s.params["x"], abs=0.15)
        assert s.study == "s/seeds" and s.original == study.get_trials()[s.number].value
    sibling = tunelab.load_study("s/seeds", storage)
    assert len(sibling.trials) == 6
    again = seed_spread(study, noisy, top_k=2, seeds=3)  # nothing missing: no new runs
    assert len(sibling.trials) == 6 and [s.values for s in again] == [s.values for s in spreads]
    with pytest.raises(ValueError, match="seeds must be a positive int"):
        seed_spread(study, noisy, seeds=0)

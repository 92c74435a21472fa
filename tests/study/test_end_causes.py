"""Every way a trial can end is a typed EndCause on its record, stored and read back from
a real SQLite file; no code needs the reason text to tell them apart."""

from __future__ import annotations

import math
import multiprocessing as mp
import os

import pytest

import tunelab
from tunelab import EndCause, TrialState
from tunelab.schedulers import CurveRules


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "study.db")


def _study(db: str, name: str, **kwargs):
    return tunelab.create_study(name, storage=db, metric="loss", direction="minimize", **kwargs)


@pytest.mark.parametrize(
    ("result", "state", "cause"),
    [
        (0.5, TrialState.COMPLETE, EndCause.COMPLETED),
        ({"loss": 0.5, "acc": 0.9}, TrialState.COMPLETE, EndCause.COMPLETED),
        (math.nan, TrialState.FAIL, EndCause.DIVERGED),
        (-math.inf, TrialState.FAIL, EndCause.DIVERGED),
        ({"acc": 0.9}, TrialState.FAIL, EndCause.INVALID_RESULT),
        ("0.5", TrialState.FAIL, EndCause.INVALID_RESULT),
        (None, TrialState.FAIL, EndCause.INVALID_RESULT),
    ],
)
def test_returned_results(db, result, state, cause):
    study = _study(db, "returns")
    study.optimize(lambda t: result, n_trials=1)
    (trial,) = tunelab.load_study("returns", db).trials
    assert (trial.state, trial.end_cause) == (state, cause)
    assert trial.counts_toward_budget
    assert trial.values == ((0.5,) if state is TrialState.COMPLETE else None)


def test_raised_pruned_and_interrupted(db):
    study = _study(db, "ways")

    def objective(trial):
        trial.report(0, loss=1.0)
        if trial.number == 0:
            raise ValueError("bad configuration")
        if trial.number == 1:
            raise tunelab.TrialPruned("not promising")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=5)
    raised, pruned, interrupted = tunelab.load_study("ways", db).trials
    assert (raised.state, raised.end_cause) == (TrialState.FAIL, EndCause.RAISED)
    assert (pruned.state, pruned.end_cause) == (TrialState.PRUNED, EndCause.PRUNED)
    assert pruned.values == (1.0,)  # the last reported value
    assert (interrupted.state, interrupted.end_cause) == (TrialState.FAIL, EndCause.INTERRUPTED)
    assert not interrupted.counts_toward_budget


def test_a_loss_that_blows_up_is_pruned_as_diverged(db):
    study = _study(db, "rules", scheduler=CurveRules())

    def objective(trial):
        for step, loss in enumerate([1.0, 0.5, math.inf]):
            trial.report(step, loss=loss, train_loss=loss)
            if trial.should_prune():
                raise tunelab.TrialPruned()
        return 0.1

    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert (trial.state, trial.end_cause) == (TrialState.PRUNED, EndCause.DIVERGED)


def _start_and_die(db: str) -> None:
    study = tunelab.load_study("lost", db)
    study.ask()
    os._exit(0)  # the worker dies with its trial RUNNING


def test_a_dead_workers_trial_is_lost_and_retried(db):
    study = _study(db, "lost", max_retries=1)
    child = mp.get_context("fork").Process(target=_start_and_die, args=(db,))
    child.start()
    child.join()
    assert study.fail_lost_trials() != []
    lost, retry = study.trials
    assert (lost.state, lost.end_cause) == (TrialState.FAIL, EndCause.LOST)
    assert lost.retried_by == retry.number and retry.retry_of == lost.number
    assert (retry.state, retry.attempt) == (TrialState.WAITING, 1)
    assert not lost.counts_toward_budget

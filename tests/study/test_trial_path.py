"""The optimize loop's storage traffic: one write to start a trial and one to finish it,
no read-back of finished trials, and no trial started that the loop will not run."""

from __future__ import annotations

import collections
from typing import Any

import pytest

import tunelab
from tunelab import EndCause, TrialState
from tunelab.storage.sql import SQLStorage


class CountingStorage(SQLStorage):
    """SQL storage that counts the calls the study makes."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.calls: collections.Counter[str] = collections.Counter()

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        if not name.startswith("_") and callable(attr) and name != "calls":
            super().__getattribute__("calls")[name] += 1
        return attr


def objective(trial: tunelab.Trial) -> float:
    return trial.hp.Float("x", 0.0, 1.0)


@pytest.fixture
def storage(tmp_path):
    store = CountingStorage(str(tmp_path / "s.db"))
    yield store
    store.close()


def test_one_write_to_start_and_one_to_finish_and_no_read_back(storage):
    study = tunelab.create_study("s", storage=storage, metric="v", sampler="random")
    storage.calls.clear()
    study.optimize(objective, n_trials=10)
    calls = storage.calls
    # each trial starts and finishes; the eleventh start finds the budget used
    assert calls["start_trial"] == 11
    assert calls["finish_and_get_trial"] == 10
    assert calls["get_trial"] == 0 and calls["finish_trial"] == 0 and calls["finish"] == 0
    assert calls["create_trial"] == 0 and calls["claim_waiting_trial"] == 0
    trials = study.trials
    assert [t.number for t in trials] == list(range(10))
    assert all(t.state is TrialState.COMPLETE for t in trials)


def test_callbacks_get_the_stored_record(storage):
    seen = []
    study = tunelab.create_study("s", storage=storage, metric="v", sampler="random")
    study.optimize(objective, n_trials=3, callbacks=[lambda s, t: seen.append(t)])
    stored = {t.trial_id: t for t in study.trials}
    assert [t.number for t in seen] == [0, 1, 2]
    assert all(t == stored[t.trial_id] for t in seen)  # every field, as a later read gives


def test_enqueued_trials_are_claimed_by_the_start(storage):
    study = tunelab.create_study("s", storage=storage, metric="v", sampler="random")
    for x in (0.25, 0.5):
        study.enqueue({"x": x})
    study.optimize(objective, n_trials=4)
    assert [t.params["x"] for t in study.trials][:2] == [0.25, 0.5]
    assert study.storage.count_trials(study.study_id)[TrialState.COMPLETE] == 4


def test_a_raising_callback_leaves_no_trial_started(storage):
    study = tunelab.create_study("s", storage=storage, metric="v", sampler="random")

    def stop_at_second(s: Any, t: Any) -> None:
        if t.number == 1:
            raise RuntimeError("callback broke")

    with pytest.raises(RuntimeError, match="callback broke"):
        study.optimize(objective, n_trials=10, callbacks=[stop_at_second])
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    study.optimize(objective, n_trials=10)
    assert study.storage.count_trials(study.study_id)[TrialState.COMPLETE] == 10


def test_the_failure_limit_starts_no_trial_it_would_not_run(storage):
    study = tunelab.create_study("s", storage=storage, metric="v", sampler="random")

    def broken(trial: tunelab.Trial) -> float:
        trial.hp.Float("x", 0.0, 1.0)
        raise ValueError("always")

    with pytest.raises(tunelab.TunelabError, match="3 trials in a row"):
        study.optimize(broken, n_trials=10, max_consecutive_failures=3)
    trials = study.trials
    assert len(trials) == 3  # no fourth trial started and given back
    assert all(t.state is TrialState.FAIL and t.end_cause is EndCause.RAISED for t in trials)

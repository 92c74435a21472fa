"""Constraints: a trial breaking one is COMPLETE with feasible=False and never best, in
studies of one objective or several; the study's constraints read returned or reported
metrics; samplers that do not read feasibility see infeasible trials as failed ones."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.errors import TrialError
from tunelab.samplers import RandomSampler, SampleRequest
from tunelab.study.front import InfeasibleAsFailed
from tunelab.trial import FrozenTrial
from tunelab.types import EndCause, TrialState


def _bounded(storage: Any = ":memory:", **kwargs: Any) -> tunelab.Study:
    return tunelab.create_study(
        "c", storage, metric="acc", direction="maximize", sampler="random",
        constraints={"n_parameters": ("<=", 1000), "latency_ms": (">=", 1.0)}, **kwargs,
    )  # fmt: skip


def test_infeasible_trials_are_complete_but_never_best(tmp_path: Path) -> None:
    study = _bounded(f"sqlite:///{tmp_path / 'c.db'}")
    cases = [  # (acc, n_parameters, latency_ms): only 1 and 3 respect both bounds
        (0.99, 5000, 2.0),
        (0.80, 1000, 1.0),
        (0.95, 10, 0.5),
        (0.70, 10, 3.0),
    ]
    for acc, size, latency in cases:
        trial = study.ask()
        trial.report(0, n_parameters=size)  # reported, not returned
        study.tell(trial, {"acc": acc, "latency_ms": latency})
    trials = study.trials
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert [t.feasible for t in trials] == [False, True, False, True]
    assert dict(trials[0].constraints) == {"n_parameters": 4000.0, "latency_ms": -1.0}
    assert dict(trials[2].constraints) == {"n_parameters": -990.0, "latency_ms": 0.5}
    assert study.best_trial.number == 1 and study.best_value == 0.80
    assert [t.number for t in study.top_trials(10)] == [1, 3]
    assert [t.number for t in study.best_trials] == [1]
    assert tunelab.list_studies(study.storage)[0].best_value == 0.80
    assert study.to_pandas()["feasible"].tolist() == [False, True, False, True]


def test_set_constraint_makes_a_trial_infeasible_in_any_study() -> None:
    study = tunelab.create_study("s", ":memory:", metric="loss", direction="minimize")
    for value, memory in ((0.1, 5.0), (0.3, -1.0), (0.2, None)):
        trial = study.ask()
        if memory is not None:
            trial.set_constraint("memory", memory)
        study.tell(trial, value)
    assert [t.feasible for t in study.trials] == [False, True, True]
    assert study.best_trial.number == 2
    mo = tunelab.create_study(
        "m", ":memory:", metrics=["a", "b"], directions=["min", "min"], sampler="random"
    )
    for values, memory in (((0.0, 0.0), 1.0), ((1.0, 2.0), 0.0), ((2.0, 1.0), None)):
        trial = mo.ask()
        if memory is not None:
            trial.set_constraint("memory", memory)
        mo.tell(trial, values)
    assert [t.number for t in mo.best_trials] == [1, 2]


def test_a_constraint_on_a_metric_never_reported_fails_that_trial() -> None:
    study = _bounded()
    ok = study.ask()
    ok.report(0, n_parameters=10)
    study.tell(ok, {"acc": 0.5, "latency_ms": 2.0})
    missing = study.ask()  # reports n_parameters, not latency_ms: some trials only
    missing.report(0, n_parameters=10)
    stored = study.tell(missing, {"acc": 0.9})
    assert stored.state is TrialState.FAIL and stored.end_cause is EndCause.INVALID_RESULT
    assert stored.reason is not None and "\n" not in stored.reason
    assert "latency_ms >= 1" in stored.reason and "'latency_ms'" in stored.reason
    never = study.ask()
    stored = study.tell(never, {"acc": 0.9, "latency_ms": 2.0})
    assert stored.end_cause is EndCause.INVALID_RESULT and "'n_parameters'" in stored.reason
    assert study.best_trial.number == 0


def test_bad_constraint_values_are_refused_at_the_call() -> None:
    study = _bounded()
    trial = study.ask()
    for value, words in ((float("nan"), "finite"), ("1", "a number"), (True, "a number")):
        with pytest.raises(TrialError, match=words):
            trial.set_constraint("memory", value)  # type: ignore[arg-type]
    with pytest.raises(TrialError, match="the study's own constraint"):
        trial.set_constraint("n_parameters", 1.0)
    assert trial.constraints == {}


class Recorder(RandomSampler):
    """A random sampler that keeps the histories the study showed it."""

    name = "random"
    needs_history = True

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self.seen: list[Sequence[FrozenTrial]] = []

    def sample(self, request: SampleRequest) -> Any:
        self.seen.append(request.history)
        return super().sample(request)


def test_samplers_that_do_not_read_feasibility_see_infeasible_trials_as_failed() -> None:
    recorder = Recorder(seed=1)
    study = tunelab.create_study(
        "s", ":memory:", metric="loss", direction="minimize", sampler=recorder
    )
    for i in range(3):
        trial = study.ask()
        trial.hp.Float("x", 0.0, 1.0)
        if i == 0:
            trial.set_constraint("memory", 1.0)
        study.tell(trial, float(i))
    shown = recorder.seen[-1]
    assert [(t.state, t.value) for t in shown[:2]] == [
        (TrialState.FAIL, None),
        (TrialState.COMPLETE, 1.0),
    ]
    assert study.trials[0].state is TrialState.COMPLETE  # stored as it is


def test_the_failed_view_of_a_trial_is_made_once() -> None:
    view = InfeasibleAsFailed()
    infeasible = FrozenTrial(
        1, 0, TrialState.COMPLETE, value=0.1, system_attrs={"constraints": {"c": 2.0}}
    )
    feasible = FrozenTrial(2, 1, TrialState.COMPLETE, value=0.2)
    history = [infeasible, feasible]
    first, second = view(history), view(list(history))
    assert first[0] is second[0] and first[0].state is TrialState.FAIL
    assert first[0].values is None and first[1] is feasible
    assert view([feasible]) == [feasible]

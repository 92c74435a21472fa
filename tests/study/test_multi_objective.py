"""Studies of several objectives: the Pareto front and the ranking on a hand-computed
problem, what an objective may return, best_trial_by, the samplers that may serve such a
study, and two worker processes sharing one SQLite study."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.errors import ConfigurationError
from tunelab.objectives import Objective
from tunelab.samplers import AutoSampler, RandomSampler, SampleRequest
from tunelab.schedulers import CurveRules, PruneRequest, Verdict
from tunelab.space import Float, SearchSpace
from tunelab.trial import FrozenTrial, Report
from tunelab.types import Decision, Direction, EndCause, TrialState

MAX, MIN = Direction.MAXIMIZE, Direction.MINIMIZE
# (accuracy, size): maximize the first, minimize the second. Trial 8 would dominate all,
# but breaks a constraint.
POINTS = [
    (0.90, 500.0),  # 0: front
    (0.95, 1000.0),  # 1: front
    (0.85, 600.0),  # 2: dominated by 0 (and its copy 6)
    (0.95, 1200.0),  # 3: dominated by 1
    (0.80, 100.0),  # 4: front
    (0.97, 5000.0),  # 5: dominated by 7
    (0.90, 500.0),  # 6: a copy of 0: on the front too
    (0.99, 3000.0),  # 7: front
    (1.00, 10.0),  # 8: infeasible
]


def _study(name: str = "mo", storage: Any = ":memory:", **kwargs: Any) -> tunelab.Study:
    return tunelab.create_study(
        name, storage, metrics=["acc", "size"], directions=["max", "min"], sampler="random",
        **kwargs,
    )  # fmt: skip


def _filled() -> tunelab.Study:
    study = _study()
    for number, (acc, size) in enumerate(POINTS):
        trial = study.ask()
        if number == 8:
            trial.set_constraint("memory", 1.0)
        study.tell(trial, {"acc": acc, "size": size} if number % 2 else (acc, size))
    return study


def test_best_trials_is_the_hand_computed_front_of_feasible_trials() -> None:
    study = _filled()
    assert study.multi_objective and study.metrics == ("acc", "size")
    assert study.objectives == (Objective("acc", MAX), Objective("size", MIN))
    assert [t.number for t in study.best_trials] == [0, 1, 4, 6, 7]
    assert study.trials[8].state is TrialState.COMPLETE and not study.trials[8].feasible
    assert study.trials[3].values == (0.95, 1200.0) and study.trials[3].value is None
    assert study.trials[3].metrics == {"acc": 0.95, "size": 1200.0}


def test_top_trials_rank_by_front_then_crowding_then_number() -> None:
    # rank 0: 4 and 7 are the front's ends (infinite crowding); 1 (1.34) is less crowded
    # than 0 and 6 (1.10 each, equal: by number). rank 1: 2 and 5 are its ends, then 3.
    study = _filled()
    assert [t.number for t in study.top_trials(10)] == [4, 7, 1, 0, 6, 2, 5, 3]
    assert [t.number for t in study.top_trials(3)] == [4, 7, 1]


def test_best_trial_is_refused_and_best_trial_by_picks_one_objective() -> None:
    study = _filled()
    with pytest.raises(ConfigurationError) as refused:
        _ = study.best_trial
    message = str(refused.value)
    assert "\n" not in message and "best_trials" in message and "best_trial_by('acc')" in message
    with pytest.raises(ConfigurationError):
        _ = study.best_params
    assert study.best_trial_by("acc").number == 7  # 8 is more accurate, but infeasible
    assert study.best_trial_by("size").number == 4
    with pytest.raises(ConfigurationError, match=r"one of the study's metrics \['acc', 'size'\]"):
        study.best_trial_by("loss")


def test_a_single_objective_study_has_the_same_api() -> None:
    study = tunelab.create_study("so", ":memory:", metric="loss", direction="minimize")
    for value in (3.0, 1.0, 2.0, 1.0):
        study.tell(study.ask(), value)
    assert study.metrics == ("loss",) and not study.multi_objective
    assert study.best_trial.number == 1 and study.best_trial_by("loss").number == 1
    assert [t.number for t in study.best_trials] == [1, 3]  # the trials sharing the best
    assert [t.number for t in study.top_trials(2)] == [1, 3]


@pytest.mark.parametrize(
    ("result", "cause", "words"),
    [
        ({"acc": 0.9}, EndCause.INVALID_RESULT, "without the study's metrics ['size']"),
        ((0.9, 1.0, 2.0), EndCause.INVALID_RESULT, "returned 3 values, but the study has 2"),
        (0.9, EndCause.INVALID_RESULT, "a multi-objective study needs"),
        ({"acc": "high", "size": 1.0}, EndCause.INVALID_RESULT, "acc='high', which is not a number"),
        ((0.9, None), EndCause.INVALID_RESULT, "size=None"),
        ((math.nan, 1.0), EndCause.DIVERGED, "acc=nan (diverged?)"),
    ],
)  # fmt: skip
def test_bad_results_fail_the_trial_with_a_reason(result: Any, cause: EndCause, words: str) -> None:
    study = _study()
    stored = study.tell(study.ask(), result)
    assert stored.state is TrialState.FAIL and stored.end_cause is cause
    assert stored.reason is not None and words in stored.reason and "\n" not in stored.reason
    assert stored.values is None
    assert study.best_trials == []


def test_pruned_trials_keep_their_last_reported_values() -> None:
    study = _study()
    trial = study.ask()
    trial.report(0, acc=0.5, size=10.0)
    trial.report(1, acc=0.6)
    assert study.tell(trial, state=TrialState.PRUNED).values == (0.6, 10.0)
    partial = study.ask()
    partial.report(0, acc=0.5)
    assert study.tell(partial, state=TrialState.PRUNED).values is None  # size never came


class _OneObjective(RandomSampler):
    """A sampler that declares it models one objective only."""

    name = "one-objective"
    multi_objective = False


def test_samplers_that_model_one_objective_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(ConfigurationError) as refused:
        tunelab.create_study(
            "mo", url, metrics=["a", "b"], directions=["max", "min"], sampler=_OneObjective(0)
        )
    message = str(refused.value)
    assert "\n" not in message and "one-objective" in message
    for serving in ("random", "sobol", "grid", "gp", "tpe"):
        assert serving in message
    assert tunelab.list_studies(url) == []


def test_plateau_stops_only_once_no_objective_improves() -> None:
    objectives = (Objective("acc", MAX), Objective("loss", MIN), Objective("size", MIN))
    rules = CurveRules([{"name": "plateau", "patience": 2}])

    def decide(reports: list[dict[str, float]]) -> Verdict:
        trial = FrozenTrial(
            1,
            0,
            TrialState.RUNNING,
            {},
            reports=tuple(Report(i, m, float(i)) for i, m in enumerate(reports)),
        )
        return rules.decide(PruneRequest(trial, (), "acc", MAX, objectives))

    flat_acc = [{"acc": 0.5, "loss": 1.0 - 0.1 * i} for i in range(5)]
    flat_acc[0]["size"] = 100.0  # reported once: never watched
    assert decide(flat_acc).decision is Decision.CONTINUE  # the loss still falls
    both_flat = [dict(r, loss=0.6) for r in flat_acc]
    stop = decide(both_flat)
    assert stop.decision is Decision.STOP
    assert "acc did not improve" in stop.reason and "loss did not improve" in stop.reason
    assert "size" not in stop.reason


@pytest.mark.parametrize("n_objectives, chosen", [(2, "gp"), (3, "tpe")])
def test_auto_models_two_objectives_as_one_and_more_with_tpe(
    n_objectives: int, chosen: str
) -> None:
    auto = AutoSampler(seed=3)
    space = SearchSpace()
    param = Float("x", 0.0, 1.0)
    space.add(param)
    objectives = tuple(Objective(f"m{i}", MIN) for i in range(n_objectives))
    request = SampleRequest(0, param, (), {}, space, (), MIN, "m0", objectives)
    assert 0.0 <= auto.sample(request) <= 1.0
    assert auto.chosen_for(0).name == chosen  # type: ignore[union-attr]


def test_auto_searches_at_random_once_a_scheduler_pruned_a_trial_of_several_objectives() -> None:
    auto = AutoSampler(seed=3)
    space = SearchSpace()
    param = Float("x", 0.0, 1.0)
    space.add(param)
    objectives = (Objective("a", MIN), Objective("b", MIN))
    pruned = FrozenTrial(1, 0, TrialState.PRUNED, {"x": 0.5}, reports=(Report(0, {"a": 1.0}, 0.0),))
    request = SampleRequest(1, param, (), {}, space, (pruned,), MIN, "a", objectives)
    assert auto.sample(request) == RandomSampler(seed=3).sample(request)
    assert isinstance(auto.chosen_for(1), RandomSampler)
    one = SampleRequest(2, param, (), {}, space, (pruned,), MIN, "a", objectives[:1])
    auto.sample(one)
    assert auto.chosen_for(2).name == "gp"  # type: ignore[union-attr]


def two_objectives(trial: tunelab.Trial) -> tuple[float, float]:
    x = trial.hp.Float("x", 0.0, 1.0)
    return x, (1.0 - x) ** 2


def test_two_worker_processes_share_one_sqlite_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    study = tunelab.create_study("mo", url, metrics=["f1", "f2"], directions=["min", "min"], seed=5)
    study.optimize(two_objectives, n_trials=16, n_jobs=2)
    trials = study.trials
    assert len(trials) == 16 and all(t.state is TrialState.COMPLETE for t in trials)
    assert len({t.worker for t in trials}) == 2  # both processes ran trials
    assert sorted(t.number for t in trials) == list(range(16))
    # f2 falls as f1 rises on [0, 1]: every trial is on the front
    assert [t.number for t in study.best_trials] == list(range(16))
    again = tunelab.load_study("mo", url)
    assert again.objectives == study.objectives
    study.storage.close()
    again.storage.close()

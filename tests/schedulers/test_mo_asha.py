"""ASHA and Hyperband in studies of several objectives (MO-ASHA): a rung's trials ranked by
Pareto front, then crowding distance, on hand-made report sequences with hand-computed
fronts, and inside a real study."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.errors import ConfigurationError, TrialPruned
from tunelab.objectives import Constraint, Objective
from tunelab.schedulers import (
    ASHAScheduler,
    HyperbandScheduler,
    MedianStoppingScheduler,
    PruneRequest,
    Scheduler,
)
from tunelab.schedulers._pareto_rungs import best_point, rung_point
from tunelab.testing.scheduler_conformance import _population, _prefix
from tunelab.trial import FrozenTrial, Report
from tunelab.types import Decision, Direction, TrialState

MIN, MAX = Direction.MINIMIZE, Direction.MAXIMIZE
LOSS_SIZE = (Objective("loss", MIN), Objective("size", MIN))


def reported(number: int, reports: Sequence[Mapping[str, float]]) -> FrozenTrial:
    """A running trial that reported reports[i] at step i."""
    return FrozenTrial(
        number + 1,
        number,
        TrialState.RUNNING,
        {"x": number},
        reports=tuple(Report(i, dict(m), float(i)) for i, m in enumerate(reports)),
    )


def ask(
    scheduler: Scheduler,
    trial: FrozenTrial,
    history: Sequence[FrozenTrial],
    objectives: tuple[Objective, ...] = LOSS_SIZE,
    constraints: tuple[Constraint, ...] = (),
) -> Decision:
    first = objectives[0] if objectives else Objective("loss", MIN)
    request = PruneRequest(
        trial, tuple(history), first.metric, first.direction, objectives, constraints
    )
    return scheduler.decide(request).decision


def goes_on_at_full_rung(
    scheduler: Scheduler,
    trials: Sequence[FrozenTrial],
    objectives: tuple[Objective, ...] = LOSS_SIZE,
    constraints: tuple[Constraint, ...] = (),
) -> list[int]:
    """The trial numbers that go on when each one is the last of `trials` to reach the rung."""
    return [
        t.number
        for t in trials
        if ask(scheduler, t, [o for o in trials if o is not t], objectives, constraints)
        is Decision.CONTINUE
    ]


def asha() -> ASHAScheduler:
    return ASHAScheduler(min_resource=1, max_resource=9, reduction_factor=3)  # rungs 1, 3


# (loss, size), both minimized. Front 0: (0, 10), (1, 5), (6, 4), (10, 0); the other five
# are each dominated: (2, 11) by (0, 10), (7, 5) and (8, 8) by (6, 4), (11, 1) by (10, 0),
# (12, 12) by all. Crowding in front 0 (ranges 10 and 10): the ends (0, 10) and (10, 0)
# are infinite; (1, 5): (6 - 0) / 10 + (10 - 4) / 10 = 1.2; (6, 4): (10 - 1) / 10 +
# (5 - 0) / 10 = 1.4. 9 trials, eta 3: the top 3 are (0, 10), (10, 0) and (6, 4).
NINE = [(0, 10), (1, 5), (6, 4), (10, 0), (2, 11), (7, 5), (11, 1), (8, 8), (12, 12)]
NINE_ON = [0, 2, 3]


def nine(points: Sequence[tuple[float, float]], names: tuple[str, str] = ("loss", "size")):
    return [reported(i, [{names[0]: a, names[1]: b}]) for i, (a, b) in enumerate(points)]


def test_nine_trials_at_rung_0_exactly_the_top_third_by_front_and_crowding_go_on() -> None:
    assert goes_on_at_full_rung(asha(), nine(NINE)) == NINE_ON


def test_a_front_of_three_goes_on_whole_and_nothing_behind_it() -> None:
    points = [(1, 9), (5, 5), (9, 1), (2, 10), (6, 6), (10, 2), (7, 7), (8, 8), (10, 10)]
    assert goes_on_at_full_rung(asha(), nine(points)) == [0, 1, 2]


def test_maximized_objectives_are_flipped_before_ranking() -> None:
    # accuracy = 20 - loss, maximized: the same ranking as NINE, so the same three go on
    flipped = [(20 - a, b) for a, b in NINE]
    mixed = (Objective("accuracy", MAX), Objective("size", MIN))
    trials = nine(flipped, ("accuracy", "size"))
    assert goes_on_at_full_rung(asha(), trials, mixed) == NINE_ON
    # read as minimized, accuracy puts other trials on top: the direction decides
    both_min = (Objective("accuracy", MIN), Objective("size", MIN))
    assert goes_on_at_full_rung(asha(), trials, both_min) == [3, 6, 8]  # its front


def test_trials_breaking_a_constraint_at_the_rung_rank_after_those_holding_it() -> None:
    # size <= 6 cuts (0, 10) and (2, 11), (8, 8), (12, 12) off: of the five that hold it,
    # (1, 5), (6, 4) and (10, 0) are the front, with (7, 5) and (11, 1) behind; 9 trials,
    # eta 3: the top 3 are the front of those holding it, ends first by crowding
    small = (Constraint("size", "<=", 6.0),)
    assert goes_on_at_full_rung(asha(), nine(NINE), constraints=small) == [1, 2, 3]
    # one objective: the four smallest losses break it, so the next three go on
    loss = (Objective("loss", MIN),)
    assert goes_on_at_full_rung(asha(), nine(NINE), loss, small) == [1, 2, 5]
    # none holds it: the least violation goes first, as the three smallest sizes
    tiny = (Constraint("size", "<=", -1.0),)
    assert goes_on_at_full_rung(asha(), nine(NINE), constraints=tiny) == [2, 3, 6]


def test_a_pruned_trial_breaking_a_constraint_says_so(tmp_path: Path) -> None:
    study = tunelab.create_study(
        "c",
        f"sqlite:///{tmp_path / 's.db'}",
        metrics=["loss", "size"],
        directions=["min", "min"],
        constraints={"size": ("<=", 6.0)},
        scheduler=asha(),
        sampler="grid",
    )

    def objective(trial: tunelab.Trial) -> dict[str, float]:
        i = trial.hp.Int("i", 0, 8)
        loss, size = NINE[i]
        for step in range(3):
            trial.report(step, loss=loss, **({"size": size} if step == 0 else {}))
            if trial.should_prune():
                raise TrialPruned()
        return {"loss": loss, "size": size}

    study.optimize(objective)
    assert sorted(t.params["i"] for t in study.best_trials) == [1, 2, 3]  # never pruned
    reasons = [t.reason or "" for t in study.trials if t.state is TrialState.PRUNED]
    assert any("(loss 12, size 12) (breaking a constraint by 6)" in r for r in reasons)


def test_an_objective_reported_once_at_step_0_is_carried_to_later_rungs() -> None:
    # the rung at resource 3 is reached at step 2, where only the loss is reported
    def run(number: int, losses: Sequence[float], size: float) -> FrozenTrial:
        reports = [{"loss": losses[0], "size": size}, *({"loss": v} for v in losses[1:])]
        return reported(number, reports)

    me = run(0, [0.9, 0.7, 0.5], 100.0)
    others = [run(1, [0.8, 0.5, 0.4], 50.0), run(2, [0.6, 0.4, 0.3], 10.0)]
    assert rung_point(me.reports, LOSS_SIZE, 3) == (0.5, 100.0)
    request = PruneRequest(me, tuple(others), "loss", MIN, LOSS_SIZE)
    verdict = asha().decide(request)
    assert verdict.decision is Decision.STOP  # dominated by both: rank 3 of 3, keep 1
    assert verdict.reason == (
        "asha: rung 1 (resource 3): (loss 0.5, size 100) ranks 3 of 3 by Pareto front and "
        "crowding distance; only the top 1 go on"
    )
    assert verdict.attrs == {"pruned_by": "asha", "rung": 1, "pruned_at_step": 2}


def test_the_carried_value_is_the_last_one_reported_up_to_the_rung() -> None:
    t = reported(0, [{"loss": 1.0, "size": 9.0}, {"loss": 0.8, "size": 7.0}, {"loss": 0.6}])
    later = reported(1, [*(dict(r.metrics) for r in t.reports), {"loss": 0.5, "size": 1.0}])
    assert rung_point(t.reports, LOSS_SIZE, 3) == (0.6, 7.0)
    assert rung_point(later.reports, LOSS_SIZE, 3) == (0.6, 7.0)  # step 3 is past the rung
    assert rung_point(t.reports, LOSS_SIZE, 4) is None  # not reached yet


def test_a_trial_missing_an_objective_is_not_ranked_at_that_rung() -> None:
    me = reported(0, [{"loss": 0.5, "size": 100.0}])
    better = reported(1, [{"loss": 0.1, "size": 10.0}])
    no_size = [reported(n, [{"loss": 0.0}]) for n in range(2, 7)]
    # counted, the five would make 7 at the rung and keep 2; left out, 2 are there, keep 1
    request = PruneRequest(me, (better, *no_size), "loss", MIN, LOSS_SIZE)
    verdict = asha().decide(request)
    assert verdict.stop and "ranks 2 of 2" in (verdict.reason or "")
    # the trial asking, missing an objective, is not ranked either: it goes on
    assert ask(asha(), no_size[0], [me, better]) is Decision.CONTINUE
    assert rung_point(no_size[0].reports, LOSS_SIZE, 1) is None


def test_a_non_finite_objective_ranks_last() -> None:
    me = reported(0, [{"loss": math.nan, "size": 1.0}])
    others = [reported(n, [{"loss": 9.0, "size": 9.0}]) for n in range(1, 3)]
    assert ask(asha(), me, others) is Decision.STOP
    assert ask(asha(), others[0], [me, others[1]]) is Decision.CONTINUE


@pytest.mark.parametrize("objectives", [(), (Objective("loss", MIN),)])
def test_one_objective_decides_exactly_as_before(objectives: tuple[Objective, ...]) -> None:
    population = _population()
    for k in range(1, 13):
        for t in population:
            me = _prefix(t, k)
            plain = PruneRequest(me, tuple(population), "loss", MIN)
            listed = PruneRequest(me, tuple(population), "loss", MIN, objectives)
            assert asha().decide(listed) == asha().decide(plain)


def constant_size(population: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials with size 3 added to every report: fronts become loss levels."""
    return [
        FrozenTrial(
            t.trial_id,
            t.number,
            t.state,
            t.params,
            reports=tuple(Report(r.step, {**r.metrics, "size": 3.0}, r.time) for r in t.reports),
        )
        for t in population
    ]


def test_a_constant_second_objective_decides_as_the_first_alone() -> None:
    # every trial has the same size: fronts are loss levels, so MO-ASHA is ASHA
    population = _population()
    with_size = constant_size(population)
    stops = 0
    for k in (1, 3, 5):
        for t, s in zip(population, with_size, strict=True):
            one = ask(asha(), _prefix(t, k), population, (Objective("loss", MIN),))
            two = ask(asha(), _prefix(s, k), with_size, LOSS_SIZE)
            assert one is two
            stops += one is Decision.STOP
    assert stops > 10


def test_hyperband_ranks_a_bracket_by_front_and_crowding() -> None:
    hb = HyperbandScheduler(min_resource=1, max_resource=9, reduction_factor=3, adaptive=False)
    numbers = [n for n in range(200) if hb.bracket_of(n) == 0][:9]  # bracket 0: rungs 1, 3
    trials = [
        reported(n, [{"loss": a, "size": b}]) for n, (a, b) in zip(numbers, NINE, strict=True)
    ]
    outsider = reported(next(n for n in range(200) if hb.bracket_of(n) == 1), [{"loss": -1.0}])
    assert goes_on_at_full_rung(hb, [*trials, outsider]) == [numbers[i] for i in NINE_ON] + [
        outsider.number  # bracket 1 has no rung at resource 1: it never stops there
    ]


def test_median_stops_a_trial_when_more_than_half_rank_ahead_of_its_best_so_far() -> None:
    median = MedianStoppingScheduler(warmup_steps=1, min_trials=3)
    # best so far: loss 0.5 (step 0), size 50 carried from step 0
    me = reported(0, [{"loss": 0.5, "size": 50.0}, {"loss": 0.8}])
    assert best_point(me.reports, LOSS_SIZE) == (0.5, 50.0)

    def at_step_1(number: int, loss: float, size: float) -> FrozenTrial:
        return reported(number, [{"loss": 2.0, "size": size}, {"loss": loss}])

    # A and B dominate (0.5, 50), D and E it dominates: 2 of 4 ahead, not more than half
    a, b = at_step_1(1, 0.1, 10.0), at_step_1(2, 0.2, 20.0)
    d, e = at_step_1(4, 0.9, 90.0), at_step_1(5, 1.0, 100.0)
    assert ask(median, me, [a, b, d, e]) is Decision.CONTINUE
    c = at_step_1(3, 0.3, 30.0)  # a third ahead: 3 of 5
    verdict = median.decide(PruneRequest(me, (a, b, c, d, e), "loss", MIN, LOSS_SIZE))
    assert verdict.stop and verdict.reason == (
        "median rule at step 1: 3 of 5 trials at that step rank ahead of the best so far "
        "(loss 0.5, size 50) by Pareto front and crowding distance (more than half)"
    )
    # trials without a report at step 1, or without a size, are not counted: too few left
    early = reported(6, [{"loss": 0.0, "size": 1.0}])
    sizeless = [reported(n, [{"loss": 0.0}, {"loss": 0.0}]) for n in (7, 8)]
    assert ask(median, me, [a, b, early, *sizeless]) is Decision.CONTINUE


def test_best_point_takes_each_objectives_best_finite_value_in_its_direction() -> None:
    mixed = (Objective("accuracy", MAX), Objective("size", MIN))
    reports = reported(
        0, [{"accuracy": 0.5, "size": 9.0}, {"accuracy": 0.7}, {"accuracy": math.nan}]
    )
    assert best_point(reports.reports, mixed) == (0.7, 9.0)
    assert best_point(reports.reports[:1], (Objective("latency", MIN),)) is None


def test_median_with_a_constant_second_objective_decides_as_the_first_alone() -> None:
    median = MedianStoppingScheduler()
    population = _population()
    with_size = constant_size(population)
    stops = 0
    for k in range(1, 13):
        for t, s in zip(population, with_size, strict=True):
            one = ask(median, _prefix(t, k), population, (Objective("loss", MIN),))
            assert ask(median, _prefix(s, k), with_size, LOSS_SIZE) is one
            stops += one is Decision.STOP
    assert stops > 30


def accuracy_and_size(trial: tunelab.Trial) -> dict[str, float]:
    width = trial.hp.Int("width", 1, 64)
    lr = trial.hp.Float("lr", 0.0, 1.0)
    size = float(width * 10)
    accuracy = 0.0
    for step in range(9):
        accuracy = (1.0 - math.exp(-(step + 1) * lr)) * width / (width + 8)
        metrics = {"accuracy": accuracy, "size": size} if step == 0 else {"accuracy": accuracy}
        trial.report(step, **metrics)
        if trial.should_prune():
            raise TrialPruned("dominated at a rung")
    return {"accuracy": accuracy, "size": size}


@pytest.mark.parametrize(
    "scheduler",
    [
        {"name": "asha", "min_resource": 1, "max_resource": 9},
        {"name": "hyperband", "min_resource": 1, "max_resource": 9},
        {"name": "median"},
    ],
)
def test_a_two_objective_study_prunes_and_keeps_its_pareto_front(
    scheduler: dict[str, Any],
) -> None:
    study = tunelab.create_study(
        "mo",
        ":memory:",
        metrics=["accuracy", "size"],
        directions=["maximize", "minimize"],
        sampler="random",
        seed=3,
        scheduler=scheduler,
    )
    study.optimize(accuracy_and_size, n_trials=30)
    pruned = study.get_trials([TrialState.PRUNED])
    complete = study.get_trials([TrialState.COMPLETE])
    assert len(pruned) >= 5 and complete
    assert all("by Pareto front and crowding distance" in (t.reason or "") for t in pruned)
    front = study.best_trials
    assert front and all(t.state is TrialState.COMPLETE for t in front)
    for t in front:  # no complete trial dominates a front member
        acc, size = t.values  # type: ignore[misc]
        assert not any(
            o.values[0] >= acc and o.values[1] <= size and o.values != t.values  # type: ignore[index]
            for o in complete
        )


class FirstMetricOnly(ASHAScheduler):
    """A user's scheduler that does not say it ranks several objectives."""

    name = "first_metric_only"
    multi_objective = False


def test_a_scheduler_that_ranks_one_objective_is_refused_in_one_line(tmp_path: Path) -> None:
    scheduler = FirstMetricOnly()
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(ConfigurationError) as refused:
        tunelab.create_study(
            "mo", url, metrics=["a", "b"], directions=["max", "min"], scheduler=scheduler
        )
    message = str(refused.value)
    assert message == (
        "pruning by the first_metric_only scheduler in a study of several objectives is not "
        "supported yet; use one of asha, extrapolate, hyperband, median, rules, or "
        "scheduler='none'"
    )
    assert tunelab.list_studies(url) == []


# -- adaptive Hyperband's trust in a rung, with several objectives ----------------------


def curves(loss_at: Sequence[Sequence[float]], sizes: Sequence[float]) -> list[FrozenTrial]:
    """Trials that reported loss_at[i][s] at each step s, and a size once at step 0."""
    return [
        reported(
            i, [{"loss": v, **({"size": sizes[i]} if s == 0 else {})} for s, v in enumerate(c)]
        )
        for i, c in enumerate(loss_at)
    ]


def test_a_size_reported_once_is_known_exactly_and_does_not_lower_trust() -> None:
    from tunelab.schedulers._trust import rung_trust, rung_trust_objectives

    # losses at step 1 rank the trials as at step 3, except one swapped pair
    losses = [
        [0.9, 0.5, 0.4, 0.3],
        [0.8, 0.6, 0.5, 0.4],
        [0.7, 0.2, 0.6, 0.5],
        [0.6, 0.8, 0.7, 0.6],
    ]
    trials = curves(losses, sizes=[10.0, 10.0, 30.0, 20.0])  # tied sizes: no harm
    by_loss = rung_trust(trials, "loss", [1, 3], 3)
    both = rung_trust_objectives(trials, LOSS_SIZE, [1, 3], 3)
    assert both == by_loss
    assert both[1] == pytest.approx(1.0) and both[0] is not None and both[0] < 1.0
    # with the size alone every rung is exact
    assert rung_trust_objectives(trials, (Objective("size", MIN),), [0, 1], 3) == [1.0, 1.0]


def test_the_least_predictive_objective_sets_a_rungs_trust() -> None:
    from tunelab.schedulers._trust import rung_trust, rung_trust_objectives

    # "acc" at step 1 ranks as at the end; "loss" at step 1 ranks in reverse
    trials = [
        reported(i, [{"loss": 1.0 + i, "acc": 0.1 * i}, {"loss": 2.0 - 0.1 * i, "acc": 0.2 * i}])
        for i in range(5)
    ]
    objectives = (Objective("loss", MIN), Objective("acc", MAX))
    assert rung_trust(trials, "acc", [1], 2) == [pytest.approx(1.0)]
    assert rung_trust_objectives(trials, objectives, [1], 2) == [pytest.approx(-1.0)]
    # no trial reached the rung with every objective: no evidence
    assert rung_trust_objectives(trials[:1], objectives, [1], 5) == [None]

"""TPE in studies of several objectives: the MOTPE split on hand-made histories (which
trials are good when the fronts are known), the greedy hypervolume selection, and that
it reaches a larger hypervolume than random search."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tunelab
from tunelab._pareto import (
    crowding_distance,
    default_reference_point,
    hypervolume,
    non_dominated_mask,
)
from tunelab.objectives import Objective
from tunelab.samplers import RandomSampler, Sampler
from tunelab.samplers.tpe import TPESampler
from tunelab.samplers.tpe.mo_split import select_by_hypervolume, split_several
from tunelab.samplers.tpe.split import Kind, kind_of
from tunelab.trial import FrozenTrial, Report
from tunelab.types import Direction, TrialState

MIN_MAX = (Objective("a", Direction.MINIMIZE), Objective("b", Direction.MAXIMIZE))
MIN_MIN = (Objective("a", Direction.MINIMIZE), Objective("b", Direction.MINIMIZE))


def _done(number: int, values: tuple[float, ...], **attrs: Any) -> FrozenTrial:
    return FrozenTrial(
        number + 1,
        number,
        TrialState.COMPLETE,
        {"x": 0.5},
        values=values,
        system_attrs=attrs,
    )


def _pruned(number: int, steps: int, last: dict[str, float]) -> FrozenTrial:
    reports = tuple(Report(s, {"a": 9.0, "b": 9.0}, 0.0) for s in range(steps - 1))
    reports += (Report(steps - 1, last, 0.0),)
    return FrozenTrial(number + 1, number, TrialState.PRUNED, {"x": 0.5}, reports=reports)


def _numbers(trials: tuple[FrozenTrial, ...] | list[FrozenTrial]) -> list[int]:
    return [t.number for t in trials]


# Minimized (a, b): the front is A (0, 10), B (1, 4), C (2, 3.5), D (6, 0); E (3, 5) and
# F (7, 11) lie behind it. The reference point is the front's nadir (6, 10) plus 10% of
# its range: (6.6, 11). B's box is the largest (5.6 x 7 = 39.2); beside B, D adds 2.4,
# C 2.3 and A 1.0; beside B and D, C adds 2.0 and A 1.0. Crowding distance would pick
# the ends A and D instead. b is maximized here, so trials hold -b.
FRONT = {0: (6.0, 0.0), 1: (0.0, 10.0), 2: (3.0, 5.0), 3: (2.0, 3.5), 4: (1.0, 4.0), 5: (7.0, 11.0)}


def _front_history() -> list[FrozenTrial]:
    return [_done(n, (a, -b)) for n, (a, b) in FRONT.items()]


@pytest.mark.parametrize(
    ("gamma", "good"),
    [
        (0.1, [4, 0, 3]),  # at least 2m - 1 = 3: B (the largest box), D, then C
        (0.5, [4, 0, 3]),
        (0.6, [0, 1, 3, 4]),  # the whole front: the cut falls between fronts
    ],
)
def test_the_straddling_front_is_cut_by_greedy_hypervolume(gamma: float, good: list[int]) -> None:
    split = split_several(_front_history(), MIN_MAX, gamma)
    assert _numbers(split.good) == good
    ranked = _numbers(split.ranked())
    assert sorted(ranked[:4]) == [0, 1, 3, 4] and ranked[4:] == [2, 5]  # fronts in order


def test_the_directions_decide_the_fronts() -> None:
    """The same values with b minimized: A (0, -10) dominates B, C, D and E, and F
    (7, -11) joins it on the front."""
    split = split_several(_front_history(), MIN_MIN, gamma=1.0)
    assert _numbers(split.ranked())[:2] == [1, 5]


def test_three_objectives_choose_by_hypervolume_four_by_crowding() -> None:
    """Ends of the front (10 in one objective, 0 in the others) and a middle point (1 in
    each): the middle point's box dwarfs the ends', but crowding distance makes every
    end a boundary (infinite distance) and the middle point is not one."""
    three = np.vstack([10.0 * np.eye(3), np.ones(3)])
    assert select_by_hypervolume(three, 1).tolist() == [3]
    assert select_by_hypervolume(three, 2).tolist()[0] == 3
    four = np.vstack([10.0 * np.eye(4), np.ones(4)])
    assert select_by_hypervolume(four, 1).tolist() == [0]  # ties: the earlier row


def _assert_each_pick_greedy(front: np.ndarray, picks: list[int]) -> None:
    """Checked against `hypervolume` itself: the set chosen after each pick has the
    largest volume any remaining point could have given it."""
    reference = default_reference_point(front)
    for i in range(len(picks)):
        best = max(
            hypervolume(front[[*picks[:i], j]], reference)
            for j in range(len(front))
            if j not in picks[:i]
        )
        assert hypervolume(front[picks[: i + 1]], reference) == pytest.approx(best)


@pytest.mark.parametrize("m", [2, 3])
def test_each_greedy_pick_adds_the_most_hypervolume(m: int) -> None:
    """Small random fronts of two and three objectives."""
    rng = np.random.default_rng(m)
    for _ in range(5):
        raw = rng.random((40, m))
        front = raw[non_dominated_mask(raw)]
        k = min(len(front) - 1, 6)
        picks = select_by_hypervolume(front, k).tolist()
        assert len(set(picks)) == k
        _assert_each_pick_greedy(front, picks)


def test_three_objective_fronts_of_a_hundred_trials_choose_by_hypervolume() -> None:
    """A front of 60 trials with 10 good places (what 100 trials of three objectives
    give) is cut greedily by hypervolume, not by crowding distance, which would take
    the ends of the front first; only far larger fronts fall back to crowding."""
    rng = np.random.default_rng(7)
    sphere = rng.random((200, 3))
    sphere /= np.linalg.norm(sphere, axis=1, keepdims=True)  # every point non-dominated
    front, k = sphere[:60], 10
    picks = select_by_hypervolume(front, k).tolist()
    _assert_each_pick_greedy(front, picks)
    assert picks != np.argsort(-crowding_distance(front), kind="stable")[:k].tolist()
    large = sphere[:200]
    expected = np.argsort(-crowding_distance(large), kind="stable")[:25].tolist()
    assert select_by_hypervolume(large, 25).tolist() == expected


def test_pruned_trials_rank_after_complete_ones_further_first_then_by_front() -> None:
    history = [
        _done(0, (5.0, -5.0)),
        _pruned(1, 2, {"a": 0.0, "b": 99.0}),  # the best values, but stopped earliest
        _pruned(2, 5, {"a": 2.0, "b": 2.0}),  # behind 3 at step 4
        _pruned(3, 5, {"a": 1.0, "b": 3.0}),
        _pruned(4, 5, {"a": 0.5}),  # no b at its last report
        _pruned(5, 5, {"a": 3.0, "b": 8.0}),  # on the pruned trials' front with 3
    ]
    split = split_several(history, MIN_MAX, gamma=1.0)
    assert _numbers(split.ranked()) == [0, 3, 5, 2, 4, 1]
    assert split.n_valued == 5  # the complete trial and the pruned ones with both values


def test_infeasible_failed_and_running_trials() -> None:
    broke = {"constraints": {"c": 1.0}}
    history = [
        _done(0, (9.0, -9.0)),  # the worst feasible values
        _done(1, (0.0, 0.0), **broke),  # the best values, but breaks the constraint
        _done(2, (1.0, math.nan)),  # no finite value in every objective: a failure
        FrozenTrial(4, 3, TrialState.FAIL),
        FrozenTrial(5, 4, TrialState.RUNNING),
        _pruned(5, 3, {"a": 5.0, "b": 5.0}),
        _done(6, (0.1, 0.0), constraints={"c": 0.5}),  # breaks it by less
    ]
    assert kind_of(history[0]) is Kind.COMPLETE and kind_of(history[2]) is Kind.FAILED
    split = split_several(history, MIN_MAX, gamma=0.25)
    assert _numbers(split.ranked()) == [0, 5, 6, 1]
    assert _numbers(split.good) == [0, 5, 6]  # at least 2m - 1 = 3 good
    assert _numbers(split.bad) == [1, 2, 3, 4]
    honest = split_several(history, MIN_MAX, gamma=0.25, exclude=0, constant_liar=False)
    assert _numbers(honest.good) == [5, 6, 1] and 4 not in _numbers(honest.bad)


def test_no_feasible_trial_yet_the_least_violating_are_good() -> None:
    history = [
        _done(i, (float(i), -float(i)), constraints={"c": c}) for i, c in enumerate([3.0, 1.0, 2.0])
    ]
    split = split_several(history, MIN_MAX, gamma=0.1)
    assert _numbers(split.ranked()) == [1, 2, 0]  # least violating first


# -- searching ---------------------------------------------------------------------------------


def _zdt1(trial: tunelab.Trial) -> tuple[float, float]:
    """ZDT1 in four dimensions, the second objective returned negated (maximized)."""
    x = [trial.hp.Float(f"x{i}", 0.0, 1.0) for i in range(4)]
    g = 1.0 + 9.0 * float(np.mean(x[1:]))
    return x[0], -g * (1.0 - math.sqrt(x[0] / g))


def _hypervolume_reached(sampler: Sampler, n_trials: int) -> float:
    study = tunelab.create_study(
        "zdt1",
        ":memory:",
        metrics=["f1", "neg_f2"],
        directions=["minimize", "maximize"],
        sampler=sampler,
    )
    study.optimize(_zdt1, n_trials=n_trials)
    points = np.array([(a, -b) for a, b in (t.values for t in study.trials if t.values)])
    return hypervolume(points, [1.1, 11.0])


def test_tpe_reaches_a_larger_hypervolume_than_random_search() -> None:
    """At 60 trials, over 10 seeds: TPE's median hypervolume beats random search's by a
    wide margin (it drives x1..x3 to 0, onto the true front; the medians are about
    11.3 and 9.8 of a possible 11.77)."""
    seeds = range(10)
    tpe = [_hypervolume_reached(TPESampler(seed=s), 60) for s in seeds]
    rand = [_hypervolume_reached(RandomSampler(seed=s), 60) for s in seeds]
    assert np.median(tpe) > np.median(rand) + 0.8, (sorted(tpe), sorted(rand))
    assert sum(t > r for t, r in zip(tpe, rand, strict=True)) >= 9


def test_several_objectives_keep_at_least_2m_minus_1_good_trials() -> None:
    from tunelab.samplers.tpe.mo_split import least_good
    from tunelab.samplers.tpe.split import n_good

    assert [least_good(m) for m in (1, 2, 3)] == [1, 3, 5]
    assert n_good(20, 0.1, least_good(3)) == 5  # gamma alone would keep 2
    assert n_good(3, 0.1, least_good(3)) == 3  # never more than are ranked
    assert n_good(100, 0.1, least_good(3)) == 10  # gamma decides once it asks for more
    assert len(split_several(_front_history(), MIN_MAX, gamma=0.01).good) == 3

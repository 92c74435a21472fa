"""PB2's bandit on synthetic reward surfaces whose best value moves with time, and the
data it learns from, read off hand-made populations with stored schedules."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.errors import ConfigurationError
from tunelab.schedulers import ExploitRequest, PB2Scheduler, PBTScheduler, make_scheduler
from tunelab.schedulers.pb2 import Intervals, choose, intervals, kappa, standardised
from tunelab.space import Choice, Float, SearchSpace
from tunelab.trial import FrozenTrial, Report
from tunelab.types import Direction, TrialState


def _surface(best_at: object, times: list[int], per_time: int, seed: int) -> Intervals:
    """Rewards -(u - best(t))² plus a little noise, `per_time` random u at each time."""
    rng = np.random.default_rng(seed)
    t = np.repeat(np.array(times, dtype=float), per_time)
    u = rng.random(len(t))
    reward = -((u - np.array([best_at(x) for x in t])) ** 2) + 0.01 * rng.normal(size=len(t))  # type: ignore[operator]
    return Intervals(t, u[:, None], reward, 1.0, frozenset())


def decaying(t: float) -> float:
    return 0.9 - 0.12 * t  # the best rate falls as training goes on


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_choice_follows_the_optimum_as_it_moves(seed: int) -> None:
    start = np.array([0.5])
    early = _surface(decaying, [1, 2], 8, seed)
    late = _surface(decaying, [1, 2, 3, 4, 5, 6], 8, seed)
    chose_early = choose(early, 3.0, np.empty((0, 1)), start, np.random.default_rng(seed))[0]
    chose_late = choose(late, 7.0, np.empty((0, 1)), start, np.random.default_rng(seed))[0]
    # it tracks the optimum of the newest data (a GP does not extrapolate the trend):
    # with data up to t = 2 it goes near the optimum of then; by t = 6 it has moved down
    assert abs(chose_early - decaying(2.0)) < 0.15
    assert abs(chose_late - decaying(6.0)) < 0.15
    assert chose_late < chose_early - 0.3


def test_an_optimum_that_rises_is_followed_up() -> None:
    def rising(t: float) -> float:
        return 0.1 + 0.12 * t

    data = _surface(rising, [1, 2, 3, 4, 5, 6], 8, seed=4)
    chosen = choose(data, 7.0, np.empty((0, 1)), np.array([0.5]), np.random.default_rng(0))[0]
    assert abs(chosen - rising(6.0)) < 0.15


def test_pending_points_push_the_next_choice_away() -> None:
    data = _surface(lambda t: 0.5, [1, 2, 3], 4, seed=5)  # few points: the UCB is wide
    alone = choose(data, 4.0, np.empty((0, 1)), np.array([0.5]), np.random.default_rng(0))
    crowded = choose(data, 4.0, alone[None, :], np.array([0.5]), np.random.default_rng(0))
    assert abs(crowded[0] - alone[0]) > 0.02


def test_the_same_data_and_seed_give_the_same_choice() -> None:
    data = _surface(decaying, [1, 2, 3], 8, seed=6)
    a = choose(data, 4.0, np.empty((0, 1)), np.array([0.3]), np.random.default_rng([7, 3, 11]))
    b = choose(data, 4.0, np.empty((0, 1)), np.array([0.3]), np.random.default_rng([7, 3, 11]))
    assert a.tolist() == b.tolist()


def test_rewards_are_standardised_within_each_time_and_kappa_grows() -> None:
    times = np.array([1.0, 1.0, 2.0, 2.0, 3.0])
    z = standardised(times, np.array([100.0, 50.0, 0.2, 0.1, 7.0]))
    assert z.tolist() == pytest.approx([1.0, -1.0, 1.0, -1.0, 0.0])  # a lone point: 0
    assert kappa(2) == pytest.approx(0.2**0.5) and kappa(100) > kappa(10) > kappa(2)


def _space(*params: object) -> SearchSpace:
    space = SearchSpace()
    for param in params:
        space.add(param)  # type: ignore[arg-type]
    return space


def _trial(number: int, values: list[float], schedule: list[dict], lr: float) -> FrozenTrial:
    reports = tuple(Report(i, {"acc": v}, float(i)) for i, v in enumerate(values))
    return FrozenTrial(
        number + 1,
        number,
        TrialState.PAUSED,
        {"lr": lr},
        reports=reports,
        system_attrs={"schedule": schedule},
    )


def test_intervals_measure_improvement_from_the_weights_each_interval_began_with() -> None:
    space = _space(Float("lr", 0.01, 1.0, sampling="log"))
    top = _trial(0, [0.5, 0.6, 0.7, 0.8], [{"step": 0, "params": {"lr": 0.1}, "parent": None}], 0.1)
    child = _trial(
        1,
        [0.1, 0.2, 0.75, 0.9],  # took trial 0's weights of step 1 (0.6) at step 2
        [
            {"step": 0, "params": {"lr": 0.01}, "parent": None},
            {"step": 2, "params": {"lr": 1.0}, "parent": 0},
        ],
        1.0,
    )
    data = intervals([top, child], "acc", Direction.MAXIMIZE, ["lr"], space, interval=2)
    rows = sorted(zip(data.times * data.span, data.x[:, 0], data.rewards, strict=True))
    expected = [(1, 0.0, 0.1), (1, 0.5, 0.1), (3, 0.5, 0.8 - 0.6), (3, 1.0, 0.9 - 0.6)]
    assert np.array(rows) == pytest.approx(np.array(expected))
    assert data.span == 2 and data.keys == {(0, 0), (0, 2), (1, 0), (1, 2)}
    flipped = intervals([top, child], "acc", Direction.MINIMIZE, ["lr"], space, interval=2)
    assert flipped.rewards.tolist() == pytest.approx((-data.rewards).tolist())


def test_a_trial_without_reports_yet_gives_no_interval() -> None:
    """Another worker's trial that has just started has no curve: it is skipped, not an error."""
    space = _space(Float("lr", 0.01, 1.0, sampling="log"))
    top = _trial(0, [0.5, 0.6, 0.7, 0.8], [{"step": 0, "params": {"lr": 0.1}, "parent": None}], 0.1)
    fresh = _trial(1, [], [], 0.5)
    both = intervals([top, fresh], "acc", Direction.MAXIMIZE, ["lr"], space, interval=2)
    alone = intervals([top], "acc", Direction.MAXIMIZE, ["lr"], space, interval=2)
    assert both.keys == alone.keys and both.rewards.tolist() == alone.rewards.tolist()


def test_before_enough_data_the_values_are_explored_as_pbt_does() -> None:
    space = _space(Float("lr", 0.01, 1.0, sampling="log"))
    parent = _trial(0, [0.5, 0.6], [{"step": 0, "params": {"lr": 0.1}, "parent": None}], 0.1)
    child = _trial(1, [0.1, 0.2], [{"step": 0, "params": {"lr": 0.02}, "parent": None}], 0.02)
    pb2 = PB2Scheduler(population_size=4, interval=2, hyperparams=["lr"], seed=3)
    pbt = PBTScheduler(population_size=4, interval=2, hyperparams=["lr"], seed=3)
    history = [parent, child]
    request = ExploitRequest(child, parent, history, space, "acc", Direction.MAXIMIZE)
    assert pb2.new_values(request) == pbt.new_values(request)


def test_pb2_needs_a_numeric_value_to_choose() -> None:
    space = _space(Choice("optimizer", ["sgd", "adam"]), Float("lr", 0.01, 1.0))
    assert PB2Scheduler(hyperparams=["optimizer", "lr"]).mutable(space) == ["optimizer", "lr"]
    with pytest.raises(ConfigurationError, match=r"'pb2' chooses numeric.*optimizer.*'pbt'"):
        PB2Scheduler(hyperparams=["optimizer"]).mutable(space)
    built = make_scheduler({"name": "pb2", "population_size": 4, "interval": 2})
    assert isinstance(built, PB2Scheduler) and built.to_json()["name"] == "pb2"

"""ASHA follows the published rule (Li et al. 2020) on hand-made report sequences."""

from __future__ import annotations

import pytest

from tunelab.schedulers import ASHAScheduler
from tunelab.schedulers import _rungs as rungs
from tunelab.testing.scheduler_conformance import curve_trial, request
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState


def test_rungs_are_geometric_below_the_maximum() -> None:
    assert rungs.rung_resources(1, 3, 27) == [1, 3, 9]
    assert rungs.rung_resources(2, 2, 17) == [2, 4, 8, 16]
    assert rungs.rung_resources(5, 3, 5) == []
    assert rungs.rung_resources(1, 4, None)[:4] == [1, 4, 16, 64]


def test_a_report_reaches_a_rung_once_even_when_steps_skip() -> None:
    r = [1, 3, 9]
    assert rungs.rung_reached(r, 0, None) == 0  # step 0 = resource 1
    assert rungs.rung_reached(r, 1, 0) is None
    assert rungs.rung_reached(r, 2, 1) == 1
    assert rungs.rung_reached(r, 3, 2) is None
    assert rungs.rung_reached(r, 9, 3) == 2  # jumped over resource 9: reached at step 9
    assert rungs.rung_reached(r, 20, 9) is None


@pytest.mark.parametrize(
    ("n_before", "rank", "goes_on"),
    [
        (0, 1, True),  # alone at the rung: the best so far goes on
        (1, 2, False),  # 2 at the rung, top max(1, 2 // 3) = 1
        (2, 1, True),
        (2, 2, False),
        (5, 2, True),  # 6 at the rung: the top 2 go on
        (5, 3, False),
        (8, 3, True),  # 9 at the rung: the top 3
        (8, 4, False),
    ],
)
def test_top_one_over_eta_of_the_rung_so_far(n_before: int, rank: int, goes_on: bool) -> None:
    # earlier trials at the rung have losses 1, 2, ..., n_before; the new one ranks `rank`
    others = [float(v) for v in range(1, n_before + 1)]
    value = rank - 0.5
    got, got_rank, keep = rungs.promotable(value, others, 3, Direction.MINIMIZE)
    assert (got, got_rank) == (goes_on, rank)
    assert keep == max(1, (n_before + 1) // 3)


def test_ties_go_to_the_newcomer_and_nan_never_goes_on() -> None:
    assert rungs.promotable(1.0, [1.0, 5.0], 3, Direction.MINIMIZE)[0]
    assert not rungs.promotable(float("nan"), [], 3, Direction.MINIMIZE)[0]
    assert rungs.promotable(2.0, [float("nan"), 1.0, 3.0], 2, Direction.MINIMIZE)[0] is False


def _hist(curves: dict[int, list[float]]) -> list[FrozenTrial]:
    return [curve_trial(n, c, state=TrialState.PRUNED) for n, c in curves.items()]


def test_asha_hand_made_sequence() -> None:
    """eta=3, rungs at resource 1, 3, 9 (steps 0, 2, 8). Seven earlier trials."""
    asha = ASHAScheduler(min_resource=1, max_resource=27, reduction_factor=3)
    history = _hist(
        {
            0: [5.0, 4.0, 3.0, 2.9, 2.8, 2.7, 2.6, 2.5, 2.4],  # reached rung 2
            1: [6.0],
            2: [4.0, 3.5, 3.4],  # reached rung 1 (3.4)
            3: [7.0],
            4: [4.5, 3.9, 3.0],  # rung 1: 3.0
            5: [8.0],
            6: [9.0],
        }
    )
    # a newcomer at rung 0 (step 0): 8 values at the rung, top max(1, 8 // 3) = 2 go on
    assert not asha.decide(request(curve_trial(7, [4.2]), history)).stop  # rank 2
    v = asha.decide(request(curve_trial(7, [4.6]), history))
    assert v.stop and v.attrs["rung"] == 0 and v.attrs["pruned_at_step"] == 0
    assert "ranks 3 of 8" in (v.reason or "")
    # between rungs nothing is decided, whatever the value
    assert not asha.decide(request(curve_trial(7, [4.2, 100.0]), history)).stop
    # at rung 1 (step 2): earlier rung-1 values 3.0, 3.4, 3.0 -> 4 values, top 1 goes on
    assert not asha.decide(request(curve_trial(7, [4.2, 3.5, 2.9]), history)).stop
    assert not asha.decide(request(curve_trial(7, [4.2, 3.5, 3.0]), history)).stop  # tie
    assert asha.decide(request(curve_trial(7, [4.2, 3.5, 3.1]), history)).stop
    # at rung 2 (step 8) only trial 0 has a value: 2 values, the best goes on
    climb = [4.2, 3.5, 2.9, 2.8, 2.7, 2.6, 2.5, 2.45]
    assert not asha.decide(request(curve_trial(7, [*climb, 2.39]), history)).stop
    assert asha.decide(request(curve_trial(7, [*climb, 2.41]), history)).stop
    # past the last rung below max_resource nothing is decided
    assert not asha.decide(request(curve_trial(7, [*climb, 2.3, 9.0]), history)).stop


def test_asha_compares_only_at_equal_steps() -> None:
    """A trial's rung-1 value is its step-2 report, never a later, better one."""
    asha = ASHAScheduler(min_resource=1, reduction_factor=3)  # rung 1 = resource 3 = step 2
    history = _hist({0: [1.0, 1.0, 0.5, 0.1, 0.05]})  # step 2 value 0.5
    assert asha.decide(request(curve_trial(1, [1.0, 1.0, 0.6]), history)).stop
    assert not asha.decide(request(curve_trial(1, [1.0, 1.0, 0.4]), history)).stop


def test_no_pruning_before_min_resource() -> None:
    asha = ASHAScheduler(min_resource=4, reduction_factor=2)
    history = _hist({n: [0.0] * 8 for n in range(6)})
    stops = [asha.decide(request(curve_trial(9, [50.0] * k), history)).stop for k in range(1, 9)]
    assert stops == [False, False, False, True, False, False, False, True]  # rungs 4 and 8


def test_maximize_mirrors_minimize() -> None:
    asha = ASHAScheduler(min_resource=1, reduction_factor=3)
    history = _hist({n: [float(n)] for n in range(5)})  # 0..4
    up = request(curve_trial(9, [3.5]), history, direction=Direction.MAXIMIZE)
    down = request(curve_trial(9, [3.5]), history, direction=Direction.MINIMIZE)
    assert not asha.decide(up).stop  # 6 at the rung, top 2: 4.0 and 3.5
    assert asha.decide(down).stop


def test_waiting_trials_and_the_trial_itself_are_not_peers() -> None:
    asha = ASHAScheduler(min_resource=1, reduction_factor=2)
    me = curve_trial(3, [2.0])
    stale_me = curve_trial(3, [0.0])  # the storage's own (older or newer) copy of this trial
    waiting = FrozenTrial(99, 9, TrialState.WAITING)
    assert not asha.decide(request(me, [stale_me, waiting])).stop


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_resource": 0},
        {"reduction_factor": 1},
        {"min_resource": 5, "max_resource": 2},
        {"max_resource": 2.5},
        {"min_resource": True},
    ],
)
def test_bad_settings_raise_a_clear_error(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="must"):
        ASHAScheduler(**kwargs)

"""PBTScheduler's decisions on hand-made populations: who exploits whom, and how values
are explored (within their ranges, on their steps, to neighbouring choices)."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.errors import ConfigurationError
from tunelab.schedulers import PBTScheduler
from tunelab.space import Boolean, Choice, Fixed, Float, Int, SearchSpace
from tunelab.testing.scheduler_conformance import curve_trial
from tunelab.types import Direction, TrialState


def _population(finals: list[float], state: TrialState = TrialState.PAUSED) -> list:
    return [curve_trial(n, [v / 2, v], state=state) for n, v in enumerate(finals)]


def test_the_bottom_quantile_exploits_the_top_and_the_rest_go_on() -> None:
    pbt = PBTScheduler(population_size=8, quantile=0.25)
    trials = _population([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])  # loss: lower is better
    minimize = Direction.MINIMIZE
    for bottom in (6, 7):
        parents = pbt.parents(trials[bottom], trials, "loss", minimize)
        assert set(parents[:2]) == {0, 1}  # the top quarter first ...
        assert parents[2:] == [2, 3]  # ... then the rest of the upper half, best first
    for middle in range(6):
        assert pbt.parents(trials[middle], trials, "loss", minimize) == []
    # maximizing turns it round; the same decision in any worker (seeded)
    assert set(pbt.parents(trials[0], trials, "loss", Direction.MAXIMIZE)[:2]) == {6, 7}
    assert pbt.parents(trials[7], trials, "loss", minimize) == pbt.parents(
        trials[7], trials, "loss", minimize
    )


def test_a_trial_alone_at_its_step_and_failed_peers_do_not_count() -> None:
    pbt = PBTScheduler(population_size=4)
    trials = _population([0.9, 0.1])
    failed = [curve_trial(n, [0.0, 0.0], state=TrialState.FAIL) for n in (2, 3)]
    assert pbt.parents(trials[0], [*trials, *failed], "loss", Direction.MINIMIZE) == [1]
    assert pbt.parents(trials[0], trials[:1], "loss", Direction.MINIMIZE) == []


def test_explore_stays_in_range_on_the_grid_and_moves_choices_to_neighbours() -> None:
    space = SearchSpace()
    space.add(Float("lr", 1e-4, 1e-1, sampling="log"))
    space.add(Int("units", 8, 64, step=8))
    space.add(Choice("wd", [0.0, 1e-4, 1e-3, 1e-2], ordered=True))
    pbt = PBTScheduler(resample_probability=0.0, perturb=(0.5, 2.0))
    rng = np.random.default_rng(0)
    seen_lr, seen_wd = set(), set()
    for _ in range(200):
        new = pbt.explore({"lr": 0.08, "units": 32, "wd": 1e-4}, ["lr", "units", "wd"], space, rng)
        assert new["lr"] in (pytest.approx(0.04), pytest.approx(0.1))  # 0.16 clipped to 0.1
        assert new["units"] in (16, 64) and new["wd"] in (0.0, 1e-3)
        seen_lr.add(round(new["lr"], 6))
        seen_wd.add(new["wd"])
    assert seen_lr == {0.04, 0.1} and seen_wd == {0.0, 1e-3}
    resampled = PBTScheduler(resample_probability=1.0).explore({"lr": 0.08}, ["lr"], space, rng)
    assert resampled["lr"] != 0.08 and 1e-4 <= resampled["lr"] <= 1e-1


def test_mutable_names_are_checked_against_the_space() -> None:
    space = SearchSpace()
    space.add(Float("lr", 1e-4, 1e-1, sampling="log"))
    space.add(Fixed("width", 32))
    assert PBTScheduler(hyperparams=["lr"]).mutable(space) == ["lr"]
    with pytest.raises(ConfigurationError, match="'width' is fixed"):
        PBTScheduler(hyperparams=["lr", "width"]).mutable(space)
    with pytest.raises(ConfigurationError, match="'depth' is not a hyperparameter"):
        PBTScheduler(hyperparams=["depth"]).mutable(space)
    with pytest.raises(ConfigurationError, match=r"hyperparams=\['lr', \.\.\.\]"):
        PBTScheduler().mutable(space)  # none of fit's training knobs: name them


def test_a_boolean_that_could_never_change_is_refused() -> None:
    space = SearchSpace()
    space.add(Float("lr", 1e-4, 1e-1, sampling="log"))
    space.add(Boolean("nesterov"))
    assert PBTScheduler(hyperparams=["lr", "nesterov"]).mutable(space) == ["lr", "nesterov"]
    with pytest.raises(ConfigurationError, match=r"'nesterov' is a Boolean.*resample_probability"):
        PBTScheduler(hyperparams=["lr", "nesterov"], resample_probability=0).mutable(space)

"""The GP under a scheduler: it learns from values at one fidelity (BOHB-style), and
without scheduler-pruned trials its training data is the history as it was."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from tunelab.samplers import SampleRequest
from tunelab.samplers.gp import GPSampler
from tunelab.samplers.gp import planner as planner_module
from tunelab.samplers.gp.observations import collect, learning_history, model_dims
from tunelab.space import Float, SearchSpace
from tunelab.testing.scheduler_conformance import curve_trial
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

C, P = TrialState.COMPLETE, TrialState.PRUNED
X = Float("x", 0.0, 1.0)


def _t(n: int, losses: list[float], state: TrialState = C, by: str | None = "asha") -> FrozenTrial:
    """Trial `n` at x = n / 10 that reported `losses` at steps 0, 1, ...; a PRUNED one was
    stopped by scheduler `by` (None: the objective gave up by itself)."""
    t = curve_trial(n, losses, metric="loss", state=state)
    attrs = {"pruned_by": by} if state is P and by is not None else {}
    return replace(t, params={"x": n / 10}, system_attrs=attrs)


def _space() -> SearchSpace:
    space = SearchSpace()
    space.add(X)
    return space


def _pruned_history(by: str | None = "asha") -> list[FrozenTrial]:
    """Step 2 is the highest that five trials reached (0-2 complete, 3-4 pruned there);
    5 and 6 were pruned at step 0, one with a good loss, one with a bad one; 7 failed."""
    return [
        _t(0, [0.9, 0.6, 0.5]),
        _t(1, [0.8, 0.5, 0.2]),
        _t(2, [0.7, 0.6, 0.4]),
        _t(3, [0.6, 0.4, 0.3], P, by),
        _t(4, [0.9, 0.8, 0.7], P, by),
        _t(5, [0.1], P, by),
        _t(6, [2.0], P, by),
        replace(_t(7, [], TrialState.FAIL), params={"x": 0.7}),
    ]


def test_with_a_pruned_history_the_gp_learns_values_at_the_chosen_step() -> None:
    """Trials 0-4 count with their values at step 2, the failed one as the worst of them;
    trials 5 and 6, stopped before step 2, are left out (BOHB), not given a made-up value."""
    history = _pruned_history()
    view = learning_history(history, "loss", Direction.MINIMIZE)
    assert [t.number for t in view] == [0, 1, 2, 3, 4, 7]
    dims = model_dims(_space(), view)
    obs = collect(view, dims, Direction.MINIMIZE, 8, 500)
    assert obs.y.tolist() == pytest.approx([0.5, 0.2, 0.4, 0.3, 0.7, 0.7])
    assert obs.complete.tolist() == [True] * 5 + [False]
    assert obs.x[:, 0].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.7])


def test_maximizing_the_step_values_are_negated() -> None:
    flipped = [
        replace(
            t,
            value=None if t.value is None else -t.value,
            reports=tuple(replace(r, metrics={"loss": -r.metrics["loss"]}) for r in t.reports),
        )
        for t in _pruned_history()
    ]
    view = learning_history(flipped, "loss", Direction.MAXIMIZE)
    obs = collect(view, model_dims(_space(), view), Direction.MAXIMIZE, 8, 500)
    assert obs.y.tolist() == pytest.approx([0.5, 0.2, 0.4, 0.3, 0.7, 0.7])


@pytest.mark.parametrize(
    ("history", "metric"),
    [
        ([_t(0, [0.9, 0.5]), _t(1, [0.8, 0.4]), _t(2, [0.3])], "loss"),  # nothing pruned
        (_pruned_history(by=None), "loss"),  # the objective stopped itself: no scheduler
        (_pruned_history(), None),  # no metric to read the curves by
    ],
)
def test_without_scheduler_pruned_trials_the_history_is_unchanged(
    history: list[FrozenTrial], metric: str | None
) -> None:
    assert learning_history(history, metric, Direction.MINIMIZE) is history


def test_too_few_reports_leave_the_history_as_it_is() -> None:
    """No step has five trials: pruned trials keep the rule of a plain history (their last
    value clipped to [median, worst] of the complete ones)."""
    history = [_t(0, [0.5, 0.4]), _t(1, [0.3], P), _t(2, [0.2, 0.1])]
    assert list(learning_history(history, "loss", Direction.MINIMIZE)) == history


def _planned_histories(
    monkeypatch: pytest.MonkeyPatch, history: Sequence[FrozenTrial], metric: str | None
) -> list[Sequence[FrozenTrial]]:
    seen: list[Sequence[FrozenTrial]] = []
    original = planner_module.plan

    def spy(space: SearchSpace, h: Sequence[FrozenTrial], *args: Any) -> Any:
        seen.append(h)
        return original(space, h, *args)

    monkeypatch.setattr(planner_module, "plan", spy)
    sampler = GPSampler(seed=0, n_startup_trials=2, n_candidates=64, n_restarts=2)
    running = FrozenTrial(9, 8, TrialState.RUNNING, {})
    full = [*history, running]
    value = sampler.sample(SampleRequest(8, X, (), {}, _space(), full, Direction.MINIMIZE, metric))
    assert 0.0 <= value <= 1.0
    return seen


def test_the_sampler_plans_on_the_learning_history(monkeypatch: pytest.MonkeyPatch) -> None:
    history = _pruned_history()
    (planned,) = _planned_histories(monkeypatch, history, "loss")
    assert [t.number for t in planned] == [0, 1, 2, 3, 4, 7, 8]
    assert [t.state for t in planned[:5]] == [C] * 5
    assert [t.value for t in planned[:5]] == [0.5, 0.2, 0.4, 0.3, 0.7]


def test_the_sampler_plans_on_the_history_itself_without_pruning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    history = [_t(n, [1.0 - n / 10, 0.5 - n / 20]) for n in range(8)]
    (planned,) = _planned_histories(monkeypatch, history, "loss")
    assert list(planned) == [*history, planned[-1]] and planned[-1].number == 8

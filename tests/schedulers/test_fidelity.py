"""samplers/fidelity.py: the BOHB-style choice of observations for model-based samplers."""

from __future__ import annotations

import pytest

from tunelab.samplers.fidelity import default_min_points, fidelity_observations, model_history
from tunelab.testing.scheduler_conformance import curve_trial
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

P = TrialState.PRUNED
C = TrialState.COMPLETE


def _t(n: int, values: list[float], state: TrialState = P) -> FrozenTrial:
    return curve_trial(n, values, metric="acc", state=state)


def test_highest_step_with_enough_points_pruned_trials_included() -> None:
    history = [
        _t(0, [0.1, 0.2, 0.3, 0.4, 0.5], C),
        _t(1, [0.1, 0.3, 0.35]),
        _t(2, [0.2, 0.25, 0.5]),
        _t(3, [0.05]),
        _t(4, [0.3, 0.4, 0.45]),
        _t(5, [0.0]),
        FrozenTrial(99, 6, TrialState.RUNNING, reports=_t(6, [0.9, 0.9, 0.9]).reports),
    ]
    obs = fidelity_observations(history, "acc", "maximize", min_points=4)
    assert obs.step == 2  # trials 0, 1, 2, 4 reported step 2; running trial 6 does not count
    assert [t.number for t in obs.trials] == [0, 1, 2, 4]
    assert obs.values == (0.3, 0.35, 0.5, 0.45)
    assert obs.losses == (-0.3, -0.35, -0.5, -0.45)
    obs = fidelity_observations(history, "acc", Direction.MAXIMIZE, min_points=6)
    assert obs.step == 0 and len(obs.trials) == 6


def test_complete_trials_that_stopped_by_themselves_carry_their_last_value() -> None:
    history = [_t(n, [0.5] * 10, C) for n in range(3)] + [_t(3, [0.4] * 4, C), _t(4, [0.6] * 2)]
    obs = fidelity_observations(history, "acc", "maximize", min_points=4)
    assert obs.step == 9 and [t.number for t in obs.trials] == [0, 1, 2, 3]
    assert obs.values[-1] == 0.4


def test_falls_back_to_final_values_and_skips_nan() -> None:
    history = [_t(0, [0.5, float("nan")], C), _t(1, [0.2]), _t(2, [0.3, 0.6], C)]
    history = [
        FrozenTrial(
            t.trial_id,
            t.number,
            t.state,
            t.params,
            0.7 if t.state is C else None,
            reports=t.reports,
        )
        for t in history
    ]
    obs = fidelity_observations(history, "acc", "maximize", min_points=5)
    assert obs.step is None and [t.number for t in obs.trials] == [0, 2]
    assert obs.values == (0.7, 0.7)


def test_default_min_points_is_dims_plus_one_at_least_five() -> None:
    few = [FrozenTrial(1, 0, C, {"a": 1, "b": 2})]
    many = [FrozenTrial(1, 0, C, {f"p{i}": i for i in range(8)})]
    assert default_min_points(few) == 5 and default_min_points(many) == 9
    assert default_min_points([]) == 5


def test_bad_min_points() -> None:
    with pytest.raises(ValueError, match="min_points must be >= 1"):
        fidelity_observations([], "acc", "maximize", min_points=0)


def _population(late_bloomers: bool) -> list[FrozenTrial]:
    """8 trials ran 5 steps, 10 were pruned after step 0. Final order by n; at step 0 the
    same order, or its reverse (late bloomers)."""
    history = []
    for n in range(8):
        first = 0.1 + (0.8 - 0.1 * n if late_bloomers else 0.1 * n) / 10
        final = 0.5 + 0.05 * n
        history.append(_t(n, [first + (final - first) * s / 4 for s in range(5)], C))
    history += [_t(n, [0.01 * n]) for n in range(8, 18)]
    return history


def test_a_lower_step_that_ranks_alike_brings_its_extra_trials() -> None:
    obs = fidelity_observations(_population(late_bloomers=False), "acc", "maximize")
    assert obs.step == 0 and len(obs.trials) == 18
    top = fidelity_observations(
        _population(late_bloomers=False), "acc", "maximize", explained_at_least=None
    )
    assert top.step == 4 and len(top.trials) == 8


def test_late_bloomers_keep_the_model_on_the_top_step() -> None:
    obs = fidelity_observations(_population(late_bloomers=True), "acc", "maximize")
    assert obs.step == 4 and [t.number for t in obs.trials] == list(range(8))


def test_bad_explained_at_least() -> None:
    with pytest.raises(ValueError, match=r"explained_at_least must be in \(0, 1\]"):
        fidelity_observations([], "acc", "maximize", explained_at_least=1.5)


def test_model_history_keeps_trials_stopped_below_the_step_as_pruned() -> None:
    """Trials at the chosen step become COMPLETE with their value there; pruned trials that
    stopped before it stay PRUNED as they were (split.py ranks them after every valued one),
    instead of vanishing from the model; unfinished trials keep their roles."""
    history = _population(late_bloomers=True)  # step 4: trials 0-7; 8-17 pruned at step 0
    running = FrozenTrial(99, 18, TrialState.RUNNING, {"x": 18}, reports=_t(18, [0.9]).reports)
    view = model_history([*history, running], "acc", "maximize")
    assert [t.number for t in view] == list(range(19))
    assert all(t.state is C for t in view[:8])
    assert [t.value for t in view[:8]] == [h.reports[4].metrics["acc"] for h in history[:8]]
    assert view[8:18] == history[8:18]  # the same records: PRUNED, last value, step 0
    assert view[18] is running
    # BOHB's per-budget model would have dropped them
    obs = fidelity_observations(history, "acc", "maximize")
    assert obs.step == 4 and len(obs.trials) == 8


def test_model_history_can_leave_out_trials_stopped_below_the_step() -> None:
    """BOHB's rule, which the GP follows: only the trials valued at the step, and the
    unfinished ones; trials pruned before the step are left out."""
    history = _population(late_bloomers=True)  # step 4: trials 0-7; 8-17 pruned at step 0
    running = FrozenTrial(99, 18, TrialState.RUNNING, {"x": 18}, reports=_t(18, [0.9]).reports)
    view = model_history([*history, running], "acc", "maximize", keep_stopped_below=False)
    assert [t.number for t in view] == [*range(8), 18]
    assert view[:8] == model_history(history, "acc", "maximize")[:8]


def test_model_history_without_enough_reports_is_the_history() -> None:
    history = [_t(0, [0.5, 0.6], C), _t(1, [0.2])]
    assert model_history(history, "acc", "maximize") == history


def test_a_trial_stopped_by_a_curve_model_counts_with_its_prediction_at_the_final_step() -> None:
    from dataclasses import replace

    finished = [_t(n, [0.2, 0.5, 0.7, 0.8], C) for n in range(4)]
    stopped = replace(
        _t(4, [0.1, 0.2]),
        system_attrs={"pruned_by": "extrapolate", "predicted_step": 3, "predicted": {"acc": 0.3}},
    )
    other_metric = replace(
        stopped,
        number=5,
        trial_id=6,
        system_attrs={"pruned_by": "extrapolate", "predicted_step": 3, "predicted": {"loss": 0.3}},
    )
    obs = fidelity_observations([*finished, stopped, other_metric], "acc", "maximize", min_points=5)
    assert obs.step == 3
    assert [t.number for t in obs.trials] == [0, 1, 2, 3, 4]
    assert obs.values == (0.8, 0.8, 0.8, 0.8, 0.3)

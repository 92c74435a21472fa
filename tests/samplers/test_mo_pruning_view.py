"""Studies of several objectives under a scheduler: the samplers learn from one rung step
(fidelity.several_model_history), exact repeats of an evaluated configuration rank last in
TPE's split, and neither TPE nor the GP proposes a finished configuration again while
the finite space still holds an unevaluated one."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest

import tunelab
from tunelab.objectives import Objective
from tunelab.samplers.fidelity import several_model_history
from tunelab.samplers.tpe.mo_split import objective_rows, rank_several
from tunelab.samplers.tpe.observations import repeated_rows
from tunelab.samplers.tpe.split import TrialArrays
from tunelab.schedulers import ASHAScheduler
from tunelab.space import Choice, SearchSpace, UnitEncoding
from tunelab.trial import FrozenTrial, Report
from tunelab.types import Direction, TrialState

OBJECTIVES = (Objective("acc", Direction.MAXIMIZE), Objective("size", Direction.MINIMIZE))
METRICS = ["acc", "size"]


def _trial(
    number: int, accs: list[float], size: float, state: TrialState, x: str = "a"
) -> FrozenTrial:
    reports = tuple(Report(s, {"acc": a, "size": size}, 0.0) for s, a in enumerate(accs))
    attrs = {"pruned_by": "asha"} if state is TrialState.PRUNED else {}
    values = (accs[-1], size) if state is TrialState.COMPLETE else None
    return FrozenTrial(number + 1, number, state, {"x": x}, values=values, reports=reports, system_attrs=attrs)  # fmt: skip


def test_without_a_scheduler_the_history_is_left_as_it_is() -> None:
    history = [_trial(i, [0.1 * i, 0.2 * i], 10.0 + i, TrialState.COMPLETE) for i in range(8)]
    assert several_model_history(history, METRICS) is history


def test_the_view_values_every_trial_at_the_highest_step_enough_trials_reached() -> None:
    """Eight trials reach step 1, three of them complete at step 2 (too few): the view ranks
    the eight by their values at step 1; the two stopped at step 0 stay PRUNED below."""
    rng = np.random.default_rng(0)
    history = []
    for i in range(10):
        steps = 3 if i < 3 else 2 if i < 8 else 1
        accs = sorted(rng.random(steps).tolist())
        state = TrialState.COMPLETE if steps == 3 else TrialState.PRUNED
        history.append(_trial(i, accs, float(100 - i), state))
    view = several_model_history(history, METRICS)
    assert [t.number for t in view] == list(range(10))
    for t, old in zip(view[:8], history[:8], strict=True):
        assert t.state is TrialState.COMPLETE
        assert t.values == (old.reports[1].metrics["acc"], old.reports[1].metrics["size"])
    assert [t.state for t in view[8:]] == [TrialState.PRUNED] * 2
    gp_view = several_model_history(history, METRICS, keep_stopped_below=False)
    assert [t.number for t in gp_view] == list(range(8))


def test_exact_repeats_rank_after_every_other_trial() -> None:
    """Copies of the front's end (configuration "a", best size) fill no good place: the
    first evaluation ranks first, its copies last, behind the pruned trial."""
    history = [_trial(0, [0.5, 0.6], 1.0, TrialState.COMPLETE, "a")]
    history += [_trial(i, [0.5, 0.6], 1.0, TrialState.COMPLETE, "a") for i in range(1, 6)]
    history += [_trial(6, [0.7, 0.9], 5.0, TrialState.COMPLETE, "b")]
    history += [_trial(7, [0.8, 0.8], 9.0, TrialState.COMPLETE, "c")]
    history += [_trial(8, [0.1], 7.0, TrialState.PRUNED, "d")]
    space = SearchSpace()
    space.add(Choice("x", ("a", "b", "c", "d")))
    trials = TrialArrays.of(history)
    coordinates = UnitEncoding.of(space).encode([t.params for t in history])
    repeats = repeated_rows(trials, coordinates)
    assert repeats.tolist() == [1, 2, 3, 4, 5]
    points = objective_rows(history, OBJECTIVES)
    ranking = rank_several(trials, points, 0.3, repeats=repeats)
    assert ranking.ranked.tolist()[:3] == [0, 6, 7]
    assert ranking.ranked.tolist()[4:] == [1, 2, 3, 4, 5]
    assert set(ranking.good.tolist()) == {0, 6, 7}


def _curve(config: tuple[int, ...]) -> tuple[list[float], float]:
    """A deterministic learning curve and a size per configuration: the smallest models
    learn fast early, so ASHA's front end survives every rung."""
    a, b, c = config
    size = float(1 + a)
    final = 0.5 + 0.1 * a - 0.05 * abs(b - 1) - 0.03 * c
    return [final * (1 - 0.5 ** (s + 1)) for s in range(9)], size


@pytest.mark.parametrize("sampler", ["tpe", "gp"])
def test_a_finished_configuration_is_not_proposed_again_while_others_are_left(sampler: str) -> None:
    """27 configurations, 24 trials under ASHA: before these rules the samplers proposed the
    surviving end of the front over and over."""
    study = tunelab.create_study(
        storage=":memory:",
        metrics=METRICS,
        directions=["maximize", "minimize"],
        sampler=sampler,
        seed=1,
        scheduler=ASHAScheduler(1, 9, 3),
    )
    seen: collections.Counter[tuple[int, ...]] = collections.Counter()
    for _ in range(24):
        trial = study.ask()
        config = tuple(trial.hp.Int(name, 0, 2) for name in ("a", "b", "c"))
        seen[config] += 1
        accs, size = _curve(config)
        for step, acc in enumerate(accs):
            trial.report(step, acc=acc, size=size)
            if trial.should_prune():
                study.tell(trial, state=TrialState.PRUNED)
                break
        else:
            study.tell(trial, {"acc": accs[-1], "size": size})
    assert len(seen) >= 22, seen.most_common(3)
    assert set(seen) <= set(itertools.product(range(3), repeat=3))


def test_a_metric_reported_once_stands_at_later_steps_of_a_pruned_trial() -> None:
    """tunelab.torch.fit reports a model's size at step 0 only: a trial pruned at step 1
    still counts at step 1 with that size, while one that never got there does not."""
    history = []
    for i in range(8):
        accs = [1 - 0.1 * i, 0.1 * i + 0.05] if i < 6 else [1 - 0.1 * i]  # ranks reverse
        reports = tuple(
            Report(s, {"acc": a, **({"size": 50.0 + i} if s == 0 else {})}, 0.0)
            for s, a in enumerate(accs)
        )
        history.append(
            FrozenTrial(
                i + 1,
                i,
                TrialState.PRUNED,
                {"x": "a"},
                reports=reports,
                system_attrs={"pruned_by": "asha"},
            )
        )
    view = several_model_history(history, METRICS)
    assert [t.values for t in view[:6]] == [(0.1 * i + 0.05, 50.0 + i) for i in range(6)]
    assert [t.state for t in view[6:]] == [TrialState.PRUNED] * 2

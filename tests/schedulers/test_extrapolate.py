"""The extrapolate scheduler: stop a trial whose own curve says it cannot win."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import tunelab
from tunelab.errors import ConfigurationError
from tunelab.objectives import Objective
from tunelab.schedulers import ExtrapolateScheduler, PruneRequest, make_scheduler
from tunelab.testing.scheduler_conformance import curve_trial
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

E = 27


def accuracy(top: float, rate: float, seed: int) -> list[float]:
    t = np.arange(1, E + 1)
    noise = np.random.default_rng(seed).normal(0.0, 0.003, E)
    return list(0.1 + (top - 0.1) * (1 - np.exp(-rate * t)) + noise)


def finished(n: int = 20) -> list[FrozenTrial]:
    rng = np.random.default_rng(0)
    return [
        curve_trial(
            i,
            accuracy(rng.uniform(0.6, 0.93), 10 ** rng.uniform(-1.2, 0.0), i),
            metric="acc",
            first_step=1,
        )
        for i in range(n)
    ]


def ask(values: list[float], history: list[FrozenTrial]) -> PruneRequest:
    running = curve_trial(99, values, metric="acc", state=TrialState.RUNNING, first_step=1)
    return PruneRequest(running, tuple(history), "acc", Direction.MAXIMIZE)


def test_a_flat_loser_is_stopped_and_a_late_bloomer_kept() -> None:
    history = finished()
    best = max(t.intermediate("acc")[E] for t in history)
    scheduler = ExtrapolateScheduler()
    flat = [0.6 + 0.002 * math.sin(s) for s in range(6)]
    verdict = scheduler.decide(ask(flat, history))
    assert verdict.stop
    assert "predicted" in (verdict.reason or "") and f"{best:.4g}" in (verdict.reason or "")
    assert verdict.attrs["chance"] < 0.05 and verdict.attrs["predicted_step"] == E
    assert json.loads(json.dumps(dict(verdict.attrs))) == dict(verdict.attrs)
    # far behind now (0.45 at epoch 6) but still climbing steeply towards ~0.96
    bloomer = accuracy(0.97, 0.09, 1)[:6]
    assert bloomer[-1] < 0.5 < best
    assert not scheduler.decide(ask(bloomer, history)).stop


def test_nothing_stops_before_min_resource_or_before_enough_finished_trials() -> None:
    history = finished()
    flat = [0.3] * 6
    # steps 1..6 reported: 7 units of resource spent, as the other schedulers count
    assert not ExtrapolateScheduler(min_resource=8).decide(ask(flat, history)).stop
    assert ExtrapolateScheduler(min_resource=7).decide(ask(flat, history)).stop
    calibrated_only = {"min_trials": 8, "early_threshold": 0}
    assert not ExtrapolateScheduler(**calibrated_only).decide(ask(flat, history[:7])).stop
    assert ExtrapolateScheduler(**calibrated_only).decide(ask(flat, history[:8])).stop
    # the final step itself, or a study where nobody has finished: nothing to predict
    assert not ExtrapolateScheduler().decide(ask([0.3] * E, history)).stop
    running = [curve_trial(i, [0.5] * 10, "acc", TrialState.RUNNING) for i in range(20)]
    assert not ExtrapolateScheduler().decide(ask(flat, running)).stop


def test_before_enough_trials_finished_only_hopeless_curves_stop() -> None:
    history = finished(3)
    best = max(t.intermediate("acc")[E] for t in history)
    verdict = ExtrapolateScheduler().decide(ask([0.2 + 0.001 * s for s in range(6)], history))
    assert verdict.stop and "uncalibrated: only 3 finished curves" in (verdict.reason or "")
    # behind now but still rising: under the wide early prediction it may still win
    rising = accuracy(0.95, 0.15, 2)[:6]
    assert rising[-1] < best
    assert not ExtrapolateScheduler().decide(ask(rising, history)).stop
    assert not ExtrapolateScheduler(early_threshold=0).decide(ask([0.2] * 6, history)).stop


def test_several_objectives_stop_a_trial_that_cannot_join_the_front() -> None:
    rng = np.random.default_rng(4)
    history = []
    for i in range(12):
        acc = accuracy(rng.uniform(0.7, 0.93), 0.4, i)
        size = [100.0 + 50 * i] * E
        history.append(curve_trial(i, acc, "acc", first_step=1, extra={"size": size}))
    objectives = (Objective("acc", Direction.MAXIMIZE), Objective("size", Direction.MINIMIZE))

    def decide(acc: list[float], size: float) -> bool:
        own = curve_trial(
            99, acc, "acc", TrialState.RUNNING, first_step=1, extra={"size": [size] * len(acc)}
        )
        request = PruneRequest(own, tuple(history), "acc", Direction.MAXIMIZE, objectives)
        return ExtrapolateScheduler().decide(request).stop

    assert decide([0.3 + 0.001 * s for s in range(6)], size=2000.0)  # worse and bigger
    assert not decide([0.3 + 0.001 * s for s in range(6)], size=10.0)  # smallest: on the front


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"threshold": 0.0}, "threshold must lie between 0 and 1"),
        ({"threshold": 1.5}, "threshold must lie between 0 and 1"),
        ({"threshold": "low"}, "threshold must be a probability, but got threshold='low'"),
        ({"early_threshold": -0.1}, r"early_threshold must lie between 0 \(off\) and 1"),
        ({"min_resource": 5, "max_resource": 5}, "min_resource < max_resource"),
        ({"min_trials": 1}, "min_trials must be an int >= 2"),
    ],
)
def test_bad_settings_are_one_clear_line(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_scheduler({"name": "extrapolate", **settings})


def test_a_study_prunes_losers_and_keeps_the_best(tmp_path: object) -> None:
    """Through a real SQLite file with two worker processes: the best configuration
    finishes, poor ones are stopped with a prediction in their reason."""
    study = tunelab.create_study(
        storage=f"sqlite:///{tmp_path}/x.db",  # type: ignore[str-bytes-safe]
        metric="acc",
        direction="maximize",
        sampler="random",
        seed=5,
        scheduler={"name": "extrapolate", "min_trials": 6},
    )
    study.optimize(late_bloomers, n_trials=24, n_jobs=2)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) >= 3
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    assert pruned and all("predicted" in (t.reason or "") for t in pruned)
    complete = [t.value for t in study.trials if t.state is TrialState.COMPLETE]
    assert study.best_trial.value == max(complete)


def late_bloomers(trial: tunelab.Trial) -> float:
    lr = trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")
    x = math.log10(lr)
    top = 0.95 - 0.1 * (x + 2.5) ** 2
    rate = 2 * 10 ** (0.6 * (x + 1.5))
    value = 0.0
    for step in range(1, E + 1):
        value = 0.1 + (top - 0.1) * (1 - math.exp(-rate * step))
        trial.report(step, acc=value)
        if trial.should_prune():
            raise tunelab.TrialPruned()
    return value

"""The contract every scheduler fulfils, as checks a test suite can run.

Subclass `SchedulerConformance` in a pytest module and implement `make_scheduler`
to get one test per check:

    class TestMyScheduler(SchedulerConformance):
        def make_scheduler(self):
            return MyScheduler(...)

The checks use hand-built curves (`curve_trial`) and a real in-memory study.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pytest

from tunelab.errors import ConfigurationError, TrialPruned
from tunelab.schedulers import PruneRequest, Scheduler, make_scheduler
from tunelab.study import create_study
from tunelab.trial import FrozenTrial, Report, Trial
from tunelab.types import Direction, TrialState


def curve_trial(
    number: int,
    values: Sequence[float],
    metric: str = "loss",
    state: TrialState = TrialState.COMPLETE,
    first_step: int = 0,
    extra: dict[str, Sequence[float]] | None = None,
) -> FrozenTrial:
    """A frozen trial that reported `values[i]` at step first_step + i."""
    reports = []
    for i, v in enumerate(values):
        metrics = {metric: float(v)}
        for key, series in (extra or {}).items():
            metrics[key] = float(series[i])
        reports.append(Report(first_step + i, metrics, float(i)))
    last = float(values[-1]) if values else None
    return FrozenTrial(number + 1, number, state, {"x": number}, last, reports=tuple(reports))


def request(
    trial: FrozenTrial,
    history: Sequence[FrozenTrial],
    metric: str = "loss",
    direction: Direction = Direction.MINIMIZE,
) -> PruneRequest:
    return PruneRequest(trial, tuple(history), metric, direction)


def _flip(t: FrozenTrial) -> FrozenTrial:
    reports = tuple(
        Report(r.step, {k: -v for k, v in r.metrics.items()}, r.time) for r in t.reports
    )
    return FrozenTrial(t.trial_id, t.number, t.state, t.params, None, reports=reports)


def _population(n: int = 30, steps: int = 12) -> list[FrozenTrial]:
    """Loss curves that fall at config-dependent speed toward config-dependent floors."""
    out = []
    for i in range(n):
        floor = 0.1 + 0.9 * ((i * 7) % n) / n
        rate = 0.2 + 0.5 * ((i * 11) % n) / n
        out.append(curve_trial(i, [floor + math.exp(-rate * (s + 1)) for s in range(steps)]))
    return out


def _prefix(t: FrozenTrial, k: int) -> FrozenTrial:
    return FrozenTrial(t.trial_id, t.number, TrialState.RUNNING, t.params, reports=t.reports[:k])


class SchedulerConformance:
    """One test per rule of the scheduler contract. A scheduler that judges a trial by the
    curves of finished trials (extrapolate) sets `reads_finished_curves`: it compares more
    than values at equal steps, by design."""

    reads_finished_curves = False

    def make_scheduler(self) -> Scheduler:
        raise NotImplementedError

    def decisions(self, scheduler: Scheduler, direction: Direction) -> list[tuple[int, int, bool]]:
        """(trial, step, stop) for each trial replayed step by step against the others' full
        curves, in trial order, stopping at the first STOP."""
        population = _population()
        if direction is Direction.MAXIMIZE:
            population = [_flip(t) for t in population]
        out = []
        for i, t in enumerate(population):
            earlier = population[:i]
            for k in range(1, len(t.reports) + 1):
                verdict = scheduler.decide(request(_prefix(t, k), earlier, direction=direction))
                out.append((t.number, k - 1, verdict.stop))
                if verdict.stop:
                    break
        return out

    def test_json_round_trip(self) -> None:
        scheduler = self.make_scheduler()
        stored = json.loads(json.dumps(scheduler.to_json()))
        again = make_scheduler(stored)
        assert again is not None and type(again) is type(scheduler)
        assert again.to_json() == scheduler.to_json()
        direction = Direction.MINIMIZE
        assert self.decisions(again, direction) == self.decisions(scheduler, direction)

    def test_deterministic_and_direction_symmetric(self) -> None:
        scheduler = self.make_scheduler()
        low = self.decisions(scheduler, Direction.MINIMIZE)
        assert low == self.decisions(self.make_scheduler(), Direction.MINIMIZE)
        assert low == self.decisions(scheduler, Direction.MAXIMIZE)

    def test_the_first_trial_and_the_best_curve_always_go_on(self) -> None:
        scheduler = self.make_scheduler()
        best = curve_trial(99, [0.001 * (20 - s) for s in range(20)])
        others = _population()
        for k in range(1, 21):
            assert not scheduler.decide(request(_prefix(best, k), [])).stop
            assert not scheduler.decide(request(_prefix(best, k), others)).stop

    def test_a_stop_carries_its_reason_and_step(self) -> None:
        scheduler = self.make_scheduler()
        stops = [d for d in self.decisions(scheduler, Direction.MINIMIZE) if d[2]]
        population = _population()
        for number, step, _ in stops:
            t = population[number]
            verdict = scheduler.decide(request(_prefix(t, step + 1), population[:number]))
            assert verdict.stop and verdict.reason
            assert verdict.attrs["pruned_at_step"] == step
            assert json.loads(json.dumps(dict(verdict.attrs))) == dict(verdict.attrs)

    def test_later_reports_of_others_do_not_matter(self) -> None:
        """Decisions at step s compare with values at steps <= s only (equal steps)."""
        if self.reads_finished_curves:
            return
        scheduler = self.make_scheduler()
        population = _population(steps=12)
        for t in population[10:]:
            for k in range(1, 7):
                short = [_prefix(o, k + 1) for o in population[:10]]  # up to step k
                full = population[:10]
                a = scheduler.decide(request(_prefix(t, k), short))
                b = scheduler.decide(request(_prefix(t, k), full))
                assert a.stop == b.stop, (t.number, k)

    def test_in_a_study_pruned_trials_keep_their_reports(self) -> None:
        study = create_study(
            storage=":memory:",
            metric="loss",
            direction="minimize",
            sampler="random",
            seed=3,
            scheduler=self.make_scheduler(),
        )

        def objective(trial: Trial) -> float:
            x = trial.hp.Float("x", 0.0, 1.0)
            for step in range(12):
                trial.report(step, loss=x + math.exp(-(step + 1) * (0.2 + x)))
                if trial.should_prune():
                    raise TrialPruned(f"pruned at {step}")
            return x + math.exp(-12 * (0.2 + x))

        if study.scheduler is not None and study.scheduler.requires_resume:
            # PBT and replays need checkpoints: a trial that cannot resume is told how
            with pytest.raises(ConfigurationError, match="set_resumable"):
                study.optimize(objective, n_trials=25)
            return
        study.optimize(objective, n_trials=25)
        for t in study.trials:
            assert t.state in (TrialState.COMPLETE, TrialState.PRUNED)
            assert t.reports and [r.step for r in t.reports] == list(range(len(t.reports)))
            if t.state is TrialState.PRUNED:
                assert t.value == t.reports[-1].metrics["loss"]
                assert t.reason and t.system_attrs["pruned_at_step"] == t.reports[-1].step

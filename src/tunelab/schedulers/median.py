"""The median stopping rule (Golovin et al., "Google Vizier", 2017), at equal steps.

After a report at step s, a trial stops when its best value so far is worse than the
median of the other trials' values reported at that same step s. No trial stops
before `warmup_steps` steps have been reported, nor while fewer than `min_trials`
other trials have a value at step s: early steps and thin evidence stop nobody.

In a study of several objectives the trial's point is its best value so far in each
objective, the others' points their values at step s (an objective reported earlier, such
as n_parameters at step 0, carried: see _pareto_rungs.py), and the trial stops when more
than half of those others rank ahead of it by Pareto front, then crowding distance: with
one objective that is being worse than their median.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from tunelab.schedulers import _pareto_rungs
from tunelab.schedulers.base import Scheduler
from tunelab.schedulers.decision import GO_ON, PruneRequest, Verdict, check_int
from tunelab.types import Decision, Direction


class MedianStoppingScheduler(Scheduler):
    """The median stopping rule: after a report at step s, stop a trial whose best value so far
    is worse than the median of the other trials' values at step s.

    Args:
        warmup_steps: No trial stops before reporting this many steps.
        min_trials: No trial stops while fewer other trials have a value at the step.
        interval: Check every `interval` steps after the warm-up.
        rules: Curve rules (`Divergence`, `Plateau`, `Overfitting`, or their names) checked
            before ranking.
    """

    name = "median"
    multi_objective = True

    def __init__(
        self, warmup_steps: int = 2, min_trials: int = 5, interval: int = 1, rules: Any = ()
    ) -> None:
        super().__init__(rules)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, 0)
        self.min_trials = check_int("min_trials", min_trials, 1)
        self.interval = check_int("interval", interval, 1)

    def config(self) -> dict[str, Any]:
        return {
            "warmup_steps": self.warmup_steps,
            "min_trials": self.min_trials,
            "interval": self.interval,
        }

    def _checks(self, step: int) -> bool:
        return step >= self.warmup_steps and (step - self.warmup_steps) % self.interval == 0

    def needs_history(self, step: int, previous_step: int | None) -> bool:
        return self._checks(step)

    def rank_decision(self, request: PruneRequest) -> Verdict:
        step = request.step
        if not self._checks(step):
            return GO_ON
        if request.multi_objective:
            return self._pareto_decision(request, step)
        metric, direction = request.metric, request.direction
        own = [
            r.metrics[metric]
            for r in request.trial.reports
            if metric in r.metrics and math.isfinite(r.metrics[metric])
        ]
        if not own:
            return GO_ON  # nothing to judge by: a NaN is the divergence rule's business
        best = max(own) if direction is Direction.MAXIMIZE else min(own)
        others = []
        for t in request.others():
            value = t.intermediate(metric).get(step)
            if value is not None and math.isfinite(value):
                others.append(value)
        if len(others) < self.min_trials:
            return GO_ON
        median = statistics.median(others)
        if not direction.better(median, best):
            return GO_ON
        return Verdict(
            Decision.STOP,
            f"median rule at step {step}: best {metric} so far {best:.4g} is worse than the "
            f"median {median:.4g} of {len(others)} trials at that step",
            {"pruned_by": self.name, "pruned_at_step": step},
        )

    def _pareto_decision(self, request: PruneRequest, step: int) -> Verdict:
        objectives = request.objectives
        own = _pareto_rungs.best_point(request.trial.reports, objectives)
        if own is None:
            return GO_ON  # an objective with no finite value yet: nothing to judge by
        others = _pareto_rungs.finite(
            point
            for t in request.others()
            if any(r.step == step for r in t.reports)
            and (point := _pareto_rungs.rung_point(t.reports, objectives, step + 1)) is not None
        )
        if len(others) < self.min_trials:
            return GO_ON
        ahead = _pareto_rungs.pareto_rank(own, others, objectives) - 1
        if 2 * ahead <= len(others):
            return GO_ON
        return Verdict(
            Decision.STOP,
            f"median rule at step {step}: {ahead} of {len(others)} trials at that step rank "
            f"ahead of the best so far {_pareto_rungs.describe(own, objectives)} by Pareto "
            "front and crowding distance (more than half)",
            {"pruned_by": self.name, "pruned_at_step": step},
        )

"""Freeze-thaw: resumable trials train in slices of `slice` steps (epochs) and pause at
each slice's end; a free worker then either resumes the paused trial whose next slice
promises most, or starts a new configuration (as DyHPO and ifBO choose, with tunelab's
own curve model in place of theirs).

The promise of a paused trial is the expected improvement, over the best value any trial
has reported, of its metric at the next slice's end (predicted by `tunelab.curves` from
its curve, calibrated on the curves of trials that got that far), per step of the slice.
A new configuration's promise is the same expectation over the values the trials reached
at the end of their first slice. Until `initial` trials have completed a first slice, new
configurations come first. Once the study's budget of trials is spent, only paused trials
run, and only while the chance that one beats the best by the study's last step is at
least `min_chance`: the others stay PAUSED (a later run with a larger budget resumes
them). Trials that cannot resume ignore all of this: they run to their end."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tunelab.curves import Curve, CurveModel, Prediction
from tunelab.errors import ConfigurationError
from tunelab.schedulers.base import Scheduler
from tunelab.schedulers.decision import GO_ON, PruneRequest, ResumeRequest, Verdict, check_int
from tunelab.trial import FrozenTrial
from tunelab.types import Direction

DRAWS = 256  # draws of a prediction that make its expected improvement


class FreezeThawScheduler(Scheduler):
    """Pause resumable trials after each slice and, whenever a worker is free, resume the
    paused trial or start the new configuration whose next slice promises the larger
    expected improvement (freeze-thaw search).

    Args:
        slice: Reports (epochs) a trial trains before it pauses.
        initial: New configurations that complete a first slice before any paused trial is
            resumed.
        min_chance: Once the study's budget of trials is spent, a paused trial goes on only
            while its chance of beating the best value by the last step is at least this.
        rules: Curve rules (`Divergence`, `Plateau`, `Overfitting`, or their names) that still
            stop a trial for good.
    """

    name = "freeze-thaw"
    pauses = True

    def __init__(
        self, slice: int = 3, initial: int = 4, min_chance: float = 0.05, rules: Any = ()
    ) -> None:
        super().__init__(rules)
        self.slice = check_int("slice", slice, 1)
        self.initial = check_int("initial", initial, 1)
        if isinstance(min_chance, bool) or not isinstance(min_chance, int | float):
            raise ConfigurationError(f"min_chance must be a probability, but got {min_chance!r}")
        if not 0.0 <= min_chance < 1.0:
            raise ConfigurationError(
                f"min_chance must lie in [0, 1) (a probability), but got {min_chance!r}"
            )
        self.min_chance = float(min_chance)
        self.model = CurveModel(min_references=4)

    def config(self) -> dict[str, Any]:
        return {"slice": self.slice, "initial": self.initial, "min_chance": self.min_chance}

    def needs_history(self, step: int, previous_step: int | None) -> bool:
        return False

    def rank_decision(self, request: PruneRequest) -> Verdict:
        return GO_ON  # it pauses instead of stopping; curve rules may still stop a trial

    def pause_due(self, steps_this_run: int) -> bool:
        return steps_this_run >= self.slice

    def choose_resume(self, request: ResumeRequest) -> int | None:
        paused = [t for t in request.paused if _curve(t, request.metric)]
        if not paused:
            return None
        sign = 1.0 if request.direction is Direction.MAXIMIZE else -1.0
        curves = {t.trial_id: _curve(t, request.metric) for t in request.history}
        seen = [v for c in curves.values() for v in c.values()]
        firsts = [
            v for t in request.history if (v := self._first_slice(t, request.metric)) is not None
        ]
        if not seen or (len(firsts) < self.initial and not request.budget_spent):
            return None if not request.budget_spent else paused[0].number
        best = max(sign * v for v in seen)  # in "higher is better" units
        scores = {
            t.number: _expected_gain(
                self._predict(
                    t, request.metric, curves, max(_curve(t, request.metric)) + self.slice
                ),
                best,
                sign,
            )
            for t in paused
        }
        number = max(scores, key=lambda n: (scores[n], -n))
        if not request.budget_spent:
            new = float(np.mean([max(sign * v - best, 0.0) for v in firsts]))
            return number if scores[number] > new else None
        final = max(t.last_step or 0 for t in request.history)
        chosen = next(t for t in paused if t.number == number)
        if chosen.last_step is not None and chosen.last_step < final:
            chance = self._predict(chosen, request.metric, curves, final).probability_beyond(
                sign * best, above=sign > 0
            )
            if chance < self.min_chance:
                return None
        return number

    def _first_slice(self, t: FrozenTrial, metric: str) -> float | None:
        """The trial's value at the end of its first slice (the `slice`-th report)."""
        curve = _curve(t, metric)
        if len(curve) < self.slice:
            return None
        return list(curve.values())[self.slice - 1]

    def _predict(
        self, t: FrozenTrial, metric: str, curves: dict[int, dict[int, float]], step: int
    ) -> Prediction:
        """The trial's value at `step`, from its own curve, calibrated on the `curves` of
        the other trials (by trial id; read once per choice) that reached `step`."""
        own = _curve(t, metric)
        references = [
            Curve(key, sorted(c), [c[s] for s in sorted(c)])
            for key, c in curves.items()
            if key != t.trial_id and step in c
        ]
        return self.model.predict(list(own), list(own.values()), step, references)


def _curve(t: FrozenTrial, metric: str) -> dict[int, float]:
    return {s: v for s, v in t.intermediate(metric).items() if math.isfinite(v)}


def _expected_gain(prediction: Prediction, best: float, sign: float) -> float:
    """E[max(value - best, 0)] in "higher is better" units, from the prediction's draws."""
    draws = prediction.sample(np.random.default_rng(0), DRAWS) * sign
    return float(np.mean(np.maximum(draws - best, 0.0)))

"""Stop a trial when its own learning curve says it cannot win (`scheduler="extrapolate"`).

After each report from `min_resource` on (resource as the other schedulers count it: a
report at step s has spent s + 1), the trial's curve of the study's metric is extrapolated
to the final step (the one that spends `max_resource`, or the last step complete trials
reached)
by tunelab.curves, calibrated on the curves of the trials that got there. The trial stops
when the chance that it ends better than the best finished value falls below `threshold`.
In a study of several objectives the question is whether its final point joins the Pareto
front of the finished trials, answered by drawing each objective's final value.

Unlike successive halving, nothing is compared at equal steps: a late bloomer whose curve
still climbs steeply is kept however far behind it is now, and a trial that has flattened
below the best is stopped however good it looked early. Until `min_trials` trials have
reached the final step the model cannot be calibrated: meanwhile only the far stricter
`early_threshold` applies, to the ensemble's own (widened) uncertainty, which stops the
flat losers of the first trials and keeps anything plausible.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np

from tunelab._pareto import non_dominated_ranks
from tunelab.curves import Curve, CurveModel, Prediction
from tunelab.errors import ConfigurationError
from tunelab.schedulers._rungs import resource_of
from tunelab.schedulers.base import Scheduler
from tunelab.schedulers.decision import GO_ON, PruneRequest, Verdict, check_int
from tunelab.trial import FrozenTrial
from tunelab.types import Decision, Direction, TrialState

DRAWS = 512  # joint draws per decision in a study of several objectives


class ExtrapolateScheduler(Scheduler):
    """Stop a trial when the chance that its extrapolated final value beats the best finished
    one (or, with several objectives, joins the Pareto front) falls below `threshold`.

    Nothing is compared at equal steps: a late bloomer still climbing steeply is kept, a
    flattened curve below the best is stopped however good it looked early.

    Args:
        threshold: The chance of winning below which a trial stops.
        min_resource: No trial stops before it has spent this much (steps + 1).
        max_resource: The resource a full trial spends; None: the last step complete trials
            reached.
        min_trials: Trials that must reach the final step before `threshold` applies (the
            model is calibrated on them).
        early_threshold: Before that, the chance (under the uncalibrated, widened
            prediction) below which a trial stops; 0 stops nothing early.
        rules: Curve rules (`Divergence`, `Plateau`, `Overfitting`, or their names) checked
            before extrapolating.
    """

    name = "extrapolate"
    multi_objective = True

    def __init__(
        self,
        threshold: float = 0.05,
        min_resource: int = 3,
        max_resource: int | None = None,
        min_trials: int = 8,
        early_threshold: float = 0.0025,
        rules: Any = (),
    ) -> None:
        super().__init__(rules)
        self.threshold = _probability("threshold", threshold)
        self.early_threshold = _probability("early_threshold", early_threshold, zero=True)
        self.min_resource = check_int("min_resource", min_resource, 1)
        self.max_resource = (
            None if max_resource is None else check_int("max_resource", max_resource, 1)
        )
        if self.max_resource is not None and self.max_resource <= self.min_resource:
            raise ConfigurationError(
                "min_resource < max_resource must hold, but got "
                f"(min_resource={min_resource}, max_resource={max_resource})"
            )
        self.min_trials = check_int("min_trials", min_trials, 2)
        self.model = CurveModel(min_references=self.min_trials)

    def config(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "min_trials": self.min_trials,
            "early_threshold": self.early_threshold,
        }

    def needs_history(self, step: int, previous_step: int | None) -> bool:
        return resource_of(step) >= self.min_resource

    def rank_decision(self, request: PruneRequest) -> Verdict:
        step = request.step
        if resource_of(step) < self.min_resource:
            return GO_ON
        others = request.others()
        final = _final_step(others) if self.max_resource is None else self.max_resource - 1
        if final is None or step >= final:
            return GO_ON
        objectives = request.objectives or ()
        metrics = [o.metric for o in objectives] if request.multi_objective else [request.metric]
        predictions: list[Prediction] = []
        for metric in metrics:
            prediction = self._predict(request.trial, others, metric, final)
            if prediction is None:
                return GO_ON
            predictions.append(prediction)
        if request.multi_objective:
            return self._front_decision(request, predictions, final)
        return self._best_decision(request, predictions[0], final)

    def _predict(
        self, trial: FrozenTrial, others: list[FrozenTrial], metric: str, final: int
    ) -> Prediction | None:
        own = sorted((s, v) for s, v in trial.intermediate(metric).items() if math.isfinite(v))
        if not own:
            return None  # no finite value to extrapolate: a NaN is the divergence rule's business
        references = [c for t in others if (c := _reference(t, metric, final)) is not None]
        if not references or (len(references) < self.min_trials and not self.early_threshold):
            return None
        return self.model.predict([s for s, _ in own], [v for _, v in own], final, references)

    def _best_decision(self, request: PruneRequest, prediction: Prediction, final: int) -> Verdict:
        metric, direction = request.metric, request.direction
        finals = [
            t.intermediate(metric)[final]
            for t in request.others()
            if math.isfinite(t.intermediate(metric).get(final, math.nan))
        ]
        best = max(finals) if direction is Direction.MAXIMIZE else min(finals)
        chance = prediction.probability_beyond(best, above=direction is Direction.MAXIMIZE)
        threshold = self._threshold(prediction)
        if chance >= threshold:
            return GO_ON
        low, high = prediction.interval(0.8)
        return Verdict(
            Decision.STOP,
            f"extrapolated at step {request.step}: {metric} at step {final} predicted "
            f"{prediction.mean:.4g} (80% interval {low:.4g} to {high:.4g}); chance to beat the "
            f"best {best:.4g} is {chance:.3g}, below {threshold:g}"
            + ("" if prediction.calibrated else _EARLY.format(n=prediction.references)),
            self._attrs(request.step, final, chance, [metric], [prediction]),
        )

    def _front_decision(
        self, request: PruneRequest, predictions: list[Prediction], final: int
    ) -> Verdict:
        objectives = request.objectives
        signs = np.array([-1.0 if o.direction is Direction.MAXIMIZE else 1.0 for o in objectives])
        front_points = []
        for t in request.others():
            point = [t.intermediate(o.metric).get(final, math.nan) for o in objectives]
            if all(math.isfinite(v) for v in point):
                front_points.append(point)
        front = np.asarray(front_points, dtype=float) * signs
        front = front[non_dominated_ranks(front) == 0]
        seed = zlib.crc32(f"{request.trial.trial_id}:{request.step}".encode())
        rng = np.random.default_rng(seed)
        draws = np.column_stack([p.sample(rng, DRAWS) for p in predictions]) * signs
        # a draw joins the front unless some front point is at least as good everywhere
        # and better somewhere
        no_worse = (front[None, :, :] <= draws[:, None, :]).all(axis=2)
        better = (front[None, :, :] < draws[:, None, :]).any(axis=2)
        dominated = (no_worse & better).any(axis=1)
        chance = float(1.0 - dominated.mean())
        threshold = min(self._threshold(p) for p in predictions)
        if chance >= threshold:
            return GO_ON
        shown = ", ".join(
            f"{o.metric} {p.mean:.4g}" for o, p in zip(objectives, predictions, strict=True)
        )
        return Verdict(
            Decision.STOP,
            f"extrapolated at step {request.step}: predicted at step {final} ({shown}); "
            f"chance to join the Pareto front of {len(front)} is {chance:.3g}, below "
            f"{threshold:g}"
            + (
                ""
                if all(p.calibrated for p in predictions)
                else _EARLY.format(n=predictions[0].references)
            ),
            self._attrs(request.step, final, chance, [o.metric for o in objectives], predictions),
        )

    def _threshold(self, prediction: Prediction) -> float:
        """`threshold` once the model is calibrated on `min_trials` finished curves; before,
        the stricter `early_threshold` on the widened, uncalibrated Gaussian."""
        return self.threshold if prediction.calibrated else self.early_threshold

    def _attrs(
        self,
        step: int,
        final: int,
        chance: float,
        metrics: list[str],
        predictions: list[Prediction],
    ) -> dict[str, Any]:
        return {
            "pruned_by": self.name,
            "pruned_at_step": step,
            "predicted_step": final,
            "predicted": {m: p.mean for m, p in zip(metrics, predictions, strict=True)},
            "predicted_interval": {
                m: list(p.interval(0.8)) for m, p in zip(metrics, predictions, strict=True)
            },
            "chance": chance,
        }


_EARLY = " (uncalibrated: only {n} finished curves so far, so the early threshold applies)"


def _probability(name: str, value: Any, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a probability, but got {name}={value!r}")
    if not (0.0 <= value < 1.0 if zero else 0.0 < value < 1.0):
        low = "0 (off)" if zero else "0"
        raise ConfigurationError(
            f"{name} must lie between {low} and 1 (a probability), but got {name}={value!r}"
        )
    return float(value)


def _final_step(others: list[FrozenTrial]) -> int | None:
    """The last step the complete trials reached: the study's full length."""
    finished = [t.reports[-1].step for t in others if t.state is TrialState.COMPLETE and t.reports]
    return max(finished) if finished else None


def _reference(trial: FrozenTrial, metric: str, final: int) -> Curve | None:
    curve = trial.intermediate(metric)
    if final not in curve:
        return None
    steps = sorted(curve)
    return Curve((trial.trial_id, metric), steps, [curve[s] for s in steps])

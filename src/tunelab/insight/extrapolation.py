"""How far to trust the curve model on this study: a leave-one-out check on its own
complete trials.

A trial the extrapolate scheduler stopped never shows its final value, so the model's
mistakes cannot be read off the stopped trials. The complete ones can: each is cut at the
step where the scheduler decides, predicted from the other complete trials exactly as the
scheduler would, and compared with where it really ended. The check reports how often the
80 % intervals held the final value, and, what matters most, whether the rule would have
stopped a trial that went on to beat all the others.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tunelab.curves import Curve, CurveModel
from tunelab.insight._common import InsightError, metric_direction
from tunelab.study import Study
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

MIN_TRIALS = 9  # eight references for each trial checked, as the scheduler's default


@dataclass(frozen=True)
class StoppedTrial:
    """A trial the curve model stopped: where, its value then, and the prediction."""

    number: int
    step: int
    value: float | None
    predicted: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class CheckedTrial:
    """A complete trial of the leave-one-out check: its prediction from the cut step
    (the median of the predictive distribution and its 80 % interval), where it really
    ended, and whether the rule would have stopped it."""

    number: int
    predicted: float
    low: float
    high: float
    actual: float
    would_stop: bool


@dataclass(frozen=True)
class ExtrapolationCheck:
    """The curve model judged on the study's complete trials (`extrapolation_check`).

    Attributes:
        metric: The metric checked.
        step: The step the predictions start from (where the scheduler decided).
        final_step: The step predicted.
        checked: Complete trials checked.
        covered: How many of them ended inside their 80 % interval.
        wrongly_stopped: Trials the rule would have stopped that ended better than every
            other complete trial.
        threshold: The stopping threshold applied.
        stopped: The trials the scheduler did stop, with their predictions.
        trials: Each complete trial checked, with its prediction and final value.
    """

    metric: str
    step: int
    final_step: int
    checked: int
    covered: int
    wrongly_stopped: tuple[int, ...]
    threshold: float
    stopped: tuple[StoppedTrial, ...] = field(default_factory=tuple)
    trials: tuple[CheckedTrial, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The check as a dict of JSON values."""
        return asdict(self)

    def text(self, limit: int | None = None) -> str:
        """The check in two lines, then one line per stopped trial (the first `limit`)."""
        share = self.covered / self.checked if self.checked else math.nan
        wrong = (
            "it would have stopped none of the trials that ended best"
            if not self.wrongly_stopped
            else "it would have stopped trial(s) "
            + ", ".join(f"#{n}" for n in self.wrongly_stopped)
            + " that ended better than all the others"
        )
        lines = [
            f"curve model on {self.checked} complete trials, predicting {self.metric} at step "
            f"{self.final_step} from step {self.step}: 80% intervals held {self.covered} of "
            f"{self.checked} final values ({share:.0%});",
            f"at a threshold of {self.threshold:g}, {wrong}.",
        ]
        shown = [s for s in self.stopped if s.predicted is not None]
        for s in shown[:limit]:
            if s.predicted is None or s.low is None or s.high is None:
                continue
            at = "" if s.value is None else f" at {s.value:.4g}"
            lines.append(
                f"  #{s.number} stopped at step {s.step}{at}: predicted {s.predicted:.4g} "
                f"({s.low:.4g} to {s.high:.4g})"
            )
        if limit is not None and len(shown) > limit:
            lines.append(f"  … and {len(shown) - limit} more stopped trials")
        return "\n".join(lines)


def extrapolation_check(
    study: Study, *, metric: str | None = None, step: int | None = None, threshold: float = 0.05
) -> ExtrapolationCheck:
    """Judge the curve model on the study's complete trials, leaving each out in turn.

    `step`: where predictions start; by default the median step at which the extrapolate
    scheduler stopped trials (2 when it stopped none). `threshold`: the chance below which
    the rule stops a trial (the scheduler's default)."""
    name, direction = metric_direction(study, metric)
    trials = study.trials
    complete = [t for t in trials if t.state is TrialState.COMPLETE and _curve(t, name)]
    finals = [max(_curve(t, name)) for t in complete]
    if not finals:
        raise InsightError(f"study {study.name!r} has no complete trial reporting {name!r}")
    final_step = statistics.mode(finals)
    full = [t for t, f in zip(complete, finals, strict=True) if f == final_step]
    if len(full) < MIN_TRIALS:
        raise InsightError(
            f"checking the curve model needs {MIN_TRIALS} complete trials that reached step "
            f"{final_step}; study {study.name!r} has {len(full)}: run more trials"
        )
    stopped = [t for t in trials if t.system_attrs.get("pruned_by") == "extrapolate"]
    if step is None:
        steps = [int(t.system_attrs.get("pruned_at_step", 2)) for t in stopped]
        step = int(statistics.median(steps)) if steps else 2
    model = CurveModel(min_references=MIN_TRIALS - 1)
    curves = {t.number: _curve(t, name) for t in full}
    references = {n: Curve(n, sorted(c), [c[s] for s in sorted(c)]) for n, c in curves.items()}
    maximize = direction is Direction.MAXIMIZE
    covered, wrong, checked = 0, [], []
    for number, curve in curves.items():
        seen = sorted(s for s in curve if s <= step)
        if not seen:
            continue
        others = [r for n, r in references.items() if n != number]
        prediction = model.predict(seen, [curve[s] for s in seen], final_step, others)
        actual = curve[final_step]
        low, high = prediction.interval(0.8)
        covered += low <= actual <= high
        rest = [curves[n][final_step] for n in curves if n != number]
        best = max(rest) if maximize else min(rest)
        would_stop = prediction.probability_beyond(best, above=maximize) < threshold
        if would_stop and direction.better(actual, best):
            wrong.append(number)
        checked.append(
            CheckedTrial(
                number,
                prediction.quantile(0.5),
                float(low),
                float(high),
                actual,
                bool(would_stop),
            )
        )
    return ExtrapolationCheck(
        name,
        step,
        final_step,
        len(curves),
        covered,
        tuple(wrong),
        threshold,
        stopped_trials(trials, name),
        tuple(checked),
    )


def _curve(trial: FrozenTrial, metric: str) -> dict[int, float]:
    return {s: v for s, v in trial.intermediate(metric).items() if math.isfinite(v)}


def stopped_trials(trials: Sequence[FrozenTrial], metric: str) -> tuple[StoppedTrial, ...]:
    """The trials the extrapolate scheduler stopped, with what it predicted for `metric`
    (readable without the check, which needs enough complete trials)."""
    return tuple(
        _stopped(t, metric) for t in trials if t.system_attrs.get("pruned_by") == "extrapolate"
    )


def _stopped(trial: FrozenTrial, metric: str) -> StoppedTrial:
    attrs = trial.system_attrs
    predicted = attrs.get("predicted") or {}
    interval = (attrs.get("predicted_interval") or {}).get(metric) or [None, None]
    curve = _curve(trial, metric)
    return StoppedTrial(
        trial.number,
        int(attrs.get("pruned_at_step", max(curve, default=0))),
        curve[max(curve)] if curve else None,
        predicted.get(metric),
        interval[0],
        interval[1],
    )

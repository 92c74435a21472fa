"""What every insight function needs: the study's usable trials, the metric a trial
scored, and one clear error when there is nothing to analyse."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tunelab.errors import ConfigurationError, TunelabError
from tunelab.space import Fixed, Param
from tunelab.study import Study
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

DASH = "\u2013"  # en dash for ranges in messages: "try 0.3\u20130.5"
TIMES = "\u00d7"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
_MINIMIZE_HINTS = ("loss", "error", "err", "seconds", "time", "mse", "mae", "rmse", "perplexity")


class InsightError(TunelabError, ValueError):
    """The study holds nothing that this analysis can use (no trials, all failed,
    a metric never reported); the message says what to do instead."""


def finished_trials(study: Study) -> list[FrozenTrial]:
    """Finished trials, or an InsightError naming why there are none worth reading."""
    trials = study.trials
    if not trials:
        raise InsightError(
            f"study {study.name!r} has no trials yet; run some first "
            f"(tunelab run SCRIPT.py --study {study.name} --trials N)"
        )
    done = [t for t in trials if t.state in FINISHED and t.counts_toward_budget]
    if not done:
        raise InsightError(
            f"study {study.name!r} has {len(trials)} trials but none has finished yet; "
            "wait for the running ones or run more"
        )
    if all(t.state is TrialState.FAIL for t in done):
        last = done[-1].reason or "no reason recorded"
        raise InsightError(
            f"every finished trial of study {study.name!r} failed ({len(done)} trials; last: "
            f"{last.splitlines()[0]}); fix the objective and run again"
        )
    return done


def metric_direction(study: Study, metric: str | None) -> tuple[str, Direction]:
    """The metric to read and which way is better: one of the study's objectives in its
    own direction (by default its only one; a study of several objectives must be told
    which), or another metric, whose direction is guessed from its name: losses, errors
    and times are minimized."""
    if metric is None:
        if study.multi_objective:
            raise ConfigurationError(
                f"study {study.name!r} has several objectives {list(study.metrics)}; pass "
                f"metric= one of them (e.g. metric={study.metrics[0]!r}) to analyse it"
            )
        return study.metric, study.direction
    for objective in study.objectives:
        if objective.metric == metric:
            return metric, objective.direction
    lowered = metric.lower()
    if any(hint in lowered for hint in _MINIMIZE_HINTS):
        return metric, Direction.MINIMIZE
    return metric, Direction.MAXIMIZE


def objective_value(trial: FrozenTrial, study: Study, metric: str) -> float | None:
    """The trial's value in the study's objective `metric` (None when it has none, or
    `metric` is not an objective)."""
    if metric not in study.metrics or trial.values is None:
        return None
    index = study.metrics.index(metric)
    if len(trial.values) <= index or trial.values[index] is None:
        return None
    return float(trial.values[index])


def reported_metrics(trials: Sequence[FrozenTrial]) -> list[str]:
    names: dict[str, None] = {}
    for t in trials:
        for key, value in t.metrics.items():
            if _is_number(value):
                names.setdefault(key, None)
        for r in t.reports:
            for key in r.metrics:
                names.setdefault(key, None)
    return list(names)


def check_metric(study: Study, trials: Sequence[FrozenTrial], metric: str) -> None:
    """Raise when no trial ever recorded `metric`, listing the ones that were."""
    if any(objective_value(t, study, metric) is not None for t in trials):
        return
    known = reported_metrics(trials)
    if metric not in known:
        listed = ", ".join(known) if known else "none"
        raise InsightError(
            f"metric {metric!r} was never reported in study {study.name!r}; "
            f"reported metrics: {listed}"
        )


def trial_score(trial: FrozenTrial, study: Study, metric: str) -> float | None:
    """The trial's result for `metric`: its value for one of the study's objectives; for
    another metric the returned value, else the report at the trial's best epoch
    (`best_epoch`, set by tunelab.torch.fit), else its last finite report."""
    value = objective_value(trial, study, metric)
    if value is not None:
        return value
    returned: Any = trial.metrics.get(metric)
    if _is_number(returned) and math.isfinite(returned):
        return float(returned)
    series = trial.intermediate(metric)
    best_epoch = trial.user_attrs.get("best_epoch")
    if isinstance(best_epoch, int) and best_epoch in series and math.isfinite(series[best_epoch]):
        return float(series[best_epoch])
    finite = [v for _, v in sorted(series.items()) if math.isfinite(v)]
    return finite[-1] if finite else None


def tuned_params(study: Study, trials: Sequence[FrozenTrial]) -> list[tuple[str, Param | None]]:
    """Parameters worth analysing, in the space's order: every non-Fixed one, plus Fixed
    ones whose value differs between trials (they may depend on another parameter)."""
    names: dict[str, None] = {}
    for name in study.space.names():
        names.setdefault(name, None)
    for t in trials:
        for name in t.params:
            names.setdefault(name, None)
    out: list[tuple[str, Param | None]] = []
    for name in names:
        param = study.space.entries[name].param if name in study.space else None
        seen = {repr(t.params[name]) for t in trials if name in t.params}
        if not seen:
            continue
        if (param is None or isinstance(param, Fixed)) and len(seen) < 2:
            continue
        out.append((name, param))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fmt_value(value: Any) -> str:
    """A parameter value as people write it: 0.001, 1e-05, 64, relu."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2

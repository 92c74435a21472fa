"""What a trial scored: each execution's metrics (its best epoch's logs, or what an
overridden `HyperModel.fit` or `Tuner.run_trial` returned) and their mean over
`executions_per_trial`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab.errors import ConfigurationTypeError
from tunelab.keras.errors import ObjectiveNotFoundError
from tunelab.keras.objective import Objective


def _is_number(result: Any) -> bool:
    """A Python or NumPy number, or a one-element array or tensor (what `float()` takes)."""
    if isinstance(result, (bool, str, bytes, Mapping)):
        return False
    return isinstance(result, (int, float)) or hasattr(result, "__float__")


def _is_history(result: Any) -> bool:
    return isinstance(getattr(result, "history", None), Mapping)


def _history_metrics(
    history: Mapping[str, Any], objectives: Sequence[Objective], source: str
) -> dict[str, float]:
    """The logs of the epoch best in the first objective (Keras Tuner's rule)."""
    names = [o.name for o in objectives]
    missing = [n for n in names if n not in history]
    if missing:
        raise ObjectiveNotFoundError(
            f"the History that {source} returned has no {missing[0]!r} among its metrics "
            f"{sorted(history)}; pick one of these for objective= (or log the metric)"
        )
    first = objectives[0]
    epochs = len(history[first.name])
    best: int | None = None
    for epoch in range(epochs):
        value = float(history[first.name][epoch])
        if math.isfinite(value) and (
            best is None or first.better(value, float(history[first.name][best]))
        ):
            best = epoch
    if best is None:
        return {}  # diverged or no epoch: the study records it as such
    return {str(k): float(v[best]) for k, v in history.items() if len(v) > best}


def result_metrics(result: Any, objectives: Sequence[Objective], source: str) -> dict[str, float]:
    """The metrics in what user code returned: a dict holding every objective, a number
    (one objective), or a Keras History (its best epoch's logs)."""
    names = [o.name for o in objectives]
    if isinstance(result, Mapping):
        missing = [n for n in names if n not in result]
        if missing:
            raise ObjectiveNotFoundError(
                f"{source} returned metrics {sorted(result)} without the objective "
                f"{missing[0]!r}; return it, or pick among these for objective="
            )
        return {str(k): float(v) for k, v in result.items()}
    if _is_number(result):
        if len(names) > 1:
            raise ObjectiveNotFoundError(
                f"{source} returned one number, but the tuner has the objectives "
                f"{names}; return a dict holding each"
            )
        return {names[0]: float(result)}
    if _is_history(result):
        return _history_metrics(result.history, objectives, source)
    raise ConfigurationTypeError(
        f"{source} must return the objective's value: a number, a dict of metrics holding "
        f"{names[0]!r}, a Keras History or a list of these, but it returned {result!r:.80}"
        + ("; add the missing `return`" if result is None else "")
    )


def execution_metrics(
    result: Any, reporter: Any, objectives: Sequence[Objective]
) -> dict[str, float]:
    """One execution's metrics, holding every objective: its best epoch's logs (Keras
    Tuner's rule; the epoch best in the first objective), or what `HyperModel.fit`
    returned (a dict of metrics, or a number when there is one objective). Empty when
    the training gave only NaN/inf values, so the study records a diverged trial."""
    if isinstance(result, Mapping) or _is_number(result):
        return result_metrics(result, objectives, "HyperModel.fit")
    if reporter.best_value is not None:
        return dict(reporter.best_logs)
    if reporter.seen_objective:
        return {}
    raise ObjectiveNotFoundError(
        f"the training produced no value of the objective {objectives[0].name!r}"
        + (" (it ran no epoch)" if reporter.epochs_done == 0 else "")
        + "; check that fit receives the data and that the model logs this metric"
    )


def primary_score(metrics: Mapping[str, float], objectives: Sequence[Objective]) -> float:
    """The first objective's value (NaN when the execution diverged): it picks the
    execution whose model is kept."""
    return float(metrics.get(objectives[0].name, math.nan))


def trial_values(
    runs: Sequence[Mapping[str, float]], best: Mapping[str, float], objectives: Sequence[Objective]
) -> dict[str, float]:
    """What the study is told: the best execution's metrics, with each objective's mean
    over the executions (NaN if any diverged)."""
    means = {o.name: sum(r.get(o.name, math.nan) for r in runs) / len(runs) for o in objectives}
    return {**best, **means}


def run_trial_values(result: Any, objectives: Sequence[Objective]) -> dict[str, float]:
    """What the study is told for what an overridden `Tuner.run_trial` returned: one
    result, or a list of them (one per execution: the best one's metrics, with each
    objective's mean, as for the tuner's own executions)."""
    results = list(result) if isinstance(result, (list, tuple)) else [result]
    if not results:
        raise ConfigurationTypeError(
            "Tuner.run_trial returned an empty list; return the objective's value"
        )
    runs = [result_metrics(r, objectives, "Tuner.run_trial") for r in results]
    best = runs[0]
    for run in runs[1:]:
        score, so_far = primary_score(run, objectives), primary_score(best, objectives)
        if math.isfinite(score) and (
            not math.isfinite(so_far) or objectives[0].better(score, so_far)
        ):
            best = run
    return trial_values(runs, best, objectives)

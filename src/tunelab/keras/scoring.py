"""What a trial scored: each execution's metrics (its best epoch's logs, or what an
overridden `HyperModel.fit` returned) and their mean over `executions_per_trial`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab.keras.errors import ObjectiveNotFoundError
from tunelab.keras.objective import Objective


def execution_metrics(
    result: Any, reporter: Any, objectives: Sequence[Objective]
) -> dict[str, float]:
    """One execution's metrics, holding every objective: its best epoch's logs (Keras
    Tuner's rule; the epoch best in the first objective), or what `HyperModel.fit`
    returned (a dict of metrics, or a number when there is one objective). Empty when
    the training gave only NaN/inf values, so the study records a diverged trial."""
    names = [o.name for o in objectives]
    if isinstance(result, Mapping):
        missing = [n for n in names if n not in result]
        if missing:
            raise ObjectiveNotFoundError(
                f"HyperModel.fit returned metrics {sorted(result)} without the objective "
                f"{missing[0]!r}; return it, or pick among these for objective="
            )
        return {str(k): float(v) for k, v in result.items()}
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        if len(names) > 1:
            raise ObjectiveNotFoundError(
                f"HyperModel.fit returned one number, but the tuner has the objectives "
                f"{names}; return a dict holding each"
            )
        return {names[0]: float(result)}
    if reporter.best_value is not None:
        return dict(reporter.best_logs)
    if reporter.seen_objective:
        return {}
    raise ObjectiveNotFoundError(
        f"the training produced no value of the objective {names[0]!r}"
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

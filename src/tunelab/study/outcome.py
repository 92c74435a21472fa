"""Judging what an objective returned: a number, or a dict of metrics holding the
study's metric. Anything else fails the trial with a reason that says what to return."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tunelab._names import METRIC_NAME_MAX, name_problem
from tunelab.types import EndCause, TrialState


@dataclass(frozen=True)
class Judged:
    """What finishing a trial with a returned result stores."""

    state: TrialState
    cause: EndCause
    values: tuple[float, ...] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


def judge(result: Any, metric: str) -> Judged:
    """COMPLETE with the metric's value when `result` is a finite number or a dict that
    holds one under `metric`; otherwise FAIL, DIVERGED (NaN, inf) or INVALID_RESULT."""
    if isinstance(result, Mapping):
        metrics = {str(k): v for k, v in result.items()}
        for key in metrics:
            problem = name_problem("a returned metric name", key, METRIC_NAME_MAX)
            if problem is not None:
                return _invalid({}, f"the objective returned a bad metric: {problem}")
        if metric not in metrics:
            return _invalid(
                metrics,
                f"the objective returned metrics {sorted(metrics)} without the study's "
                f"metric {metric!r}; return it, or create the study with metric= one of these",
            )
        raw = metrics[metric]
    else:
        raw, metrics = result, {}
    hint = f"return a number or a dict with {metric!r}"
    if raw is None:
        return _invalid(metrics, f"the objective returned None; {hint}")
    if isinstance(raw, (bool, str, bytes)):  # float("0.5"), float(b"1"), float(True) would pass
        return _invalid(metrics, f"the objective returned {raw!r}, which is not a number; {hint}")
    try:
        number = float(raw)
    except OverflowError:
        return _invalid(
            _clean(metrics),
            f"the objective returned {_short(raw)}, a number too large for a float (about "
            f"1.8e308 at most); {hint}",
        )
    except (TypeError, ValueError):
        return _invalid(
            metrics, f"the objective returned {_short(raw)}, which is not a number; {hint}"
        )
    if not math.isfinite(number):
        return Judged(
            TrialState.FAIL,
            EndCause.DIVERGED,
            None,
            {**metrics, metric: number},
            f"the objective returned {metric}={number} (diverged?)",
        )
    metrics[metric] = number
    return Judged(TrialState.COMPLETE, EndCause.COMPLETED, (number,), _clean(metrics))


def _invalid(metrics: dict[str, Any], reason: str) -> Judged:
    return Judged(TrialState.FAIL, EndCause.INVALID_RESULT, None, metrics, reason)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _clean(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Numbers as floats, strings and booleans as they are, anything else as its text."""
    clean: dict[str, Any] = {}
    for key, v in metrics.items():
        try:
            clean[key] = float(v) if not isinstance(v, (str, bool)) else v
        except (TypeError, ValueError, OverflowError):
            clean[key] = str(v)
    return clean

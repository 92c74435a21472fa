"""Judging what an objective returned: a number, or a dict of metrics holding the
study's metric; in a multi-objective study a dict holding every metric or a tuple in the
metrics' order. Anything else fails the trial with a reason that says what to return.
Then the study's constraints are evaluated on what the trial returned or reported."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tunelab._names import METRIC_NAME_MAX, name_problem
from tunelab.objectives import Constraint
from tunelab.types import EndCause, TrialState


@dataclass(frozen=True)
class Judged:
    """What finishing a trial with a returned result stores."""

    state: TrialState
    cause: EndCause
    values: tuple[float, ...] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    constraints: dict[str, float] = field(default_factory=dict)


def judge_all(result: Any, metrics: Sequence[str]) -> Judged:
    """`judge` for a study of one or more objectives: COMPLETE with one value per metric
    when the result holds a finite number for each."""
    if len(metrics) == 1:
        return judge(result, metrics[0])
    hint = f"return a dict with {list(metrics)} or a tuple of {len(metrics)} numbers in that order"
    if isinstance(result, Mapping):
        returned = {str(k): v for k, v in result.items()}
        bad = _bad_name(returned)
        if bad is not None:
            return bad
        missing = [m for m in metrics if m not in returned]
        if missing:
            return _invalid(
                returned,
                f"the objective returned metrics {sorted(returned)} without the study's "
                f"metrics {missing}; {hint}",
            )
    elif isinstance(result, (tuple, list)):
        if len(result) != len(metrics):
            return _invalid(
                {},
                f"the objective returned {len(result)} values, but the study has "
                f"{len(metrics)} objectives; {hint}",
            )
        returned = dict(zip(metrics, result, strict=True))
    else:
        return _invalid(
            {}, f"the objective returned {_short(result)}; a multi-objective study needs: {hint}"
        )
    values = []
    for metric in metrics:
        number = _number(returned[metric])
        if isinstance(number, str):
            return _invalid(_clean(returned), f"the objective returned {metric}={number}; {hint}")
        if not math.isfinite(number):
            return _diverged(_clean(returned), metric, number)
        values.append(number)
        returned[metric] = number
    return Judged(TrialState.COMPLETE, EndCause.COMPLETED, tuple(values), _clean(returned))


def constrain(
    judged: Judged,
    constraints: Sequence[Constraint],
    reported: Callable[[str], float | None],
    own: Mapping[str, float],
) -> Judged:
    """The judged result with its constraint values: the study's `constraints` over the
    metrics the trial returned (else its last `reported` value), and those the objective
    set itself (`own`). A COMPLETE trial lacking a constrained metric, or holding a
    non-finite one, becomes INVALID_RESULT: its feasibility cannot be known."""
    values = dict(own)
    for c in constraints:
        observed = judged.metrics.get(c.metric)
        if observed is None or isinstance(observed, (str, bool)):
            observed = reported(c.metric)
        if observed is not None and math.isfinite(observed):
            values[c.metric] = c.value(float(observed))
        elif judged.state is TrialState.COMPLETE:
            what = "neither returned nor reported" if observed is None else f"got {observed} for"
            return _invalid(
                judged.metrics,
                f"the study's constraint {c.describe()} cannot be checked: the trial {what} "
                f"{c.metric!r}; return it or report it with trial.report(step, "
                f"{c.metric}=...)",
            )
    return replace(judged, constraints=values)


def judge(result: Any, metric: str) -> Judged:
    """COMPLETE with the metric's value when `result` is a finite number or a dict that
    holds one under `metric`; otherwise FAIL, DIVERGED (NaN, inf) or INVALID_RESULT."""
    if isinstance(result, Mapping):
        metrics = {str(k): v for k, v in result.items()}
        bad = _bad_name(metrics)
        if bad is not None:
            return bad
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
    number = _number(raw)
    if isinstance(number, str):
        return _invalid(_clean(metrics), f"the objective returned {number}; {hint}")
    if not math.isfinite(number):
        return _diverged({**metrics, metric: number}, metric, number)
    metrics[metric] = number
    return Judged(TrialState.COMPLETE, EndCause.COMPLETED, (number,), _clean(metrics))


def _number(raw: Any) -> float | str:
    """`raw` as a float, or what is wrong with it."""
    if raw is None:
        return "None"
    if isinstance(raw, (bool, str, bytes)):  # float("0.5"), float(b"1"), float(True) would pass
        return f"{raw!r}, which is not a number"
    try:
        return float(raw)
    except OverflowError:
        return f"{_short(raw)}, a number too large for a float (about 1.8e308 at most)"
    except (TypeError, ValueError):
        return f"{_short(raw)}, which is not a number"


def _bad_name(metrics: Mapping[str, Any]) -> Judged | None:
    """INVALID_RESULT when a returned metric's name breaks the limits names keep."""
    for key in metrics:
        problem = name_problem("a returned metric name", key, METRIC_NAME_MAX)
        if problem is not None:
            return _invalid({}, f"the objective returned a bad metric: {problem}")
    return None


def _diverged(metrics: dict[str, Any], metric: str, number: float) -> Judged:
    """NaN or inf for `metric`: FAIL, DIVERGED."""
    reason = f"the objective returned {metric}={number} (diverged?)"
    return Judged(TrialState.FAIL, EndCause.DIVERGED, None, metrics, reason)


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

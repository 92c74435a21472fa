"""Learning curves: each trial's reported values of one metric, step by step, optionally
grouped by a hyperparameter (say, training loss per epoch for each learning rate).
Pruned and diverged trials keep their partial curves, marked, so they show cut short."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tunelab.insight._common import InsightError, fmt_value, reported_metrics
from tunelab.insight.effects import bin_edges
from tunelab.space import Choice, Float, Int
from tunelab.study import Study
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

ABSENT = "(absent)"


@dataclass(frozen=True)
class Curve:
    """One trial's learning curve: a metric against step, as `curves` returns it.

    Attributes:
        number: The trial's number.
        state: The trial's state: COMPLETE, PRUNED, FAIL or RUNNING.
        group: The value of the `by` hyperparameter as text (a bin for numbers); None when
            not grouped.
        steps: The reported steps.
        values: The metric at each step, NaN or inf kept as reported.
        pruned: Whether a scheduler stopped the trial.
        diverged: Whether the trial ended because its loss blew up.
        group_value: The value of `by` itself, for a colour scale.
    """

    number: int
    state: str  # COMPLETE, PRUNED, FAIL or RUNNING
    group: str | None  # the value of `by` as text; None when not grouped
    steps: list[int]
    values: list[float]  # NaN/inf as reported (divergence); to_dict() writes them as None
    pruned: bool
    diverged: bool = False
    group_value: Any = None  # the value of `by` itself, for colour scales

    def to_dict(self) -> dict[str, Any]:
        """The curve as a dict of JSON values (NaN and inf become None)."""
        data = asdict(self)
        data["values"] = [v if math.isfinite(v) else None for v in self.values]
        return data


def curves(study: Study, metric: str, by: str | None = None, bins: int = 5) -> list[Curve]:
    """One curve per trial that reported `metric`, in trial order (running trials too,
    so a live view can draw them). Grouped by a numeric `by` with more than `bins`
    distinct values, the group is its effect-table bin ("[0.001, 0.00398)", log bins for
    log parameters); `group_value` keeps the value itself."""
    trials = [t for t in study.trials if t.state is not TrialState.WAITING]
    if not trials:
        raise InsightError(
            f"study {study.name!r} has no trials yet; run some first "
            f"(tunelab run SCRIPT.py --study {study.name} --trials N)"
        )
    if not any(metric in r.metrics for t in trials for r in t.reports):
        known = [
            m
            for m in reported_metrics(trials)
            if any(m in r.metrics for t in trials for r in t.reports)
        ]
        raise InsightError(
            f"metric {metric!r} was never reported step by step in study {study.name!r}; "
            f"reported: {', '.join(known) if known else 'none (call trial.report(step, ...))'}"
        )
    if by is not None and by not in study.space and not any(by in t.params for t in trials):
        raise InsightError(
            f"study {study.name!r} has no hyperparameter {by!r} to group by; "
            f"its hyperparameters: {', '.join(study.space.names()) or 'none'}"
        )
    label = _grouper(study, trials, by, bins) if by is not None else None
    out = []
    for t in trials:
        series = sorted(t.intermediate(metric).items())
        if not series:
            continue
        group = None
        value = None
        if by is not None:
            value = t.params.get(by)
            group = label(value) if label is not None and by in t.params else ABSENT
        out.append(
            Curve(
                number=t.number,
                state=t.state.value,
                group=group,
                steps=[s for s, _ in series],
                values=[float(v) for _, v in series],
                pruned=t.state is TrialState.PRUNED,
                diverged=bool(t.user_attrs.get("diverged"))
                or any(not math.isfinite(v) for _, v in series),
                group_value=value,
            )
        )
    return out


def _grouper(
    study: Study, trials: Sequence[FrozenTrial], by: str, bins: int
) -> Callable[[Any], str]:
    """Value -> group label: the value itself, or its bin for many-valued numbers."""
    param = study.space.entries[by].param if by in study.space else None
    values = [t.params[by] for t in trials if by in t.params]
    numeric = bool(values) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    )
    if not numeric or len({float(v) for v in values}) <= bins or isinstance(param, Choice):
        return fmt_value
    log = isinstance(param, (Int, Float)) and param.sampling == "log"
    lo = float(param.min_value) if isinstance(param, (Int, Float)) else float(min(values))
    hi = float(param.max_value) if isinstance(param, (Int, Float)) else float(max(values))
    edges = bin_edges(lo, hi, bins, log, isinstance(param, Int))

    def label(value: Any) -> str:
        x = float(value)
        for i in range(len(edges) - 1):
            last = i == len(edges) - 2
            if edges[i] <= x < edges[i + 1] or (last and x <= edges[i + 1]):
                close = "]" if last else ")"
                return f"[{fmt_value(edges[i])}, {fmt_value(edges[i + 1])}{close}"
        return fmt_value(value)

    return label

"""Tables for the terminal (rich)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from tunelab.storage import StudySummary
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def studies_table(summaries: Sequence[StudySummary]) -> Table:
    table = Table(title="Studies")
    for col in ("study", "metric", "direction", "complete", "pruned", "failed", "running", "best"):
        table.add_column(
            col, justify="right" if col not in ("study", "metric", "direction") else "left"
        )
    for s in summaries:
        c = s.counts
        table.add_row(
            s.record.name,
            s.record.metric,
            s.record.direction.value,
            str(c[TrialState.COMPLETE]),
            str(c[TrialState.PRUNED]),
            str(c[TrialState.FAIL]),
            str(c[TrialState.RUNNING]),
            fmt(s.best_value),
        )
    return table


def trials_table(trials: Sequence[FrozenTrial], metric: str, title: str) -> Table:
    names: list[str] = []
    for t in trials:
        names.extend(n for n in t.params if n not in names)
    table = Table(title=title)
    table.add_column("#", justify="right")
    table.add_column(metric, justify="right")
    table.add_column("seconds", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    for t in trials:
        table.add_row(
            str(t.number),
            fmt(t.value),
            "-" if t.duration is None else f"{t.duration:.3g}",
            *[fmt(t.params.get(n)) if n in t.params else "" for n in names],
        )
    return table


def params_table(params: dict[str, Any], title: str) -> Table:
    table = Table(title=title)
    table.add_column("hyperparameter")
    table.add_column("value", justify="right")
    for key, value in params.items():
        table.add_row(key, fmt(value))
    return table

"""Effect tables: for each hyperparameter, what happened at each of its values.

The tutorials' "value → training time → accuracy" tables, computed from a stored study:
one row per value (choices, booleans, numbers with few distinct values) or per bin
(numbers; log-spaced bins for log-sampled parameters), with the trial count, the best and
median of the metric, the median training time and the share of trials pruned. Trials
that lack the parameter (a conditional layer that was not built) form an "(absent)" row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tunelab.errors import ConfigurationError
from tunelab.insight._common import (
    check_metric,
    finished_trials,
    fmt_value,
    median,
    metric_direction,
    trial_score,
    tuned_params,
)
from tunelab.insight.display import EffectTables, effect_table_html
from tunelab.space import Boolean, Choice, Float, Int, Param
from tunelab.study import Study
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

ABSENT = "(absent)"


@dataclass(frozen=True)
class EffectRow:
    """One value or bin of a hyperparameter. `best`/`median` read complete trials only;
    `n` counts every finished trial (complete, pruned, failed) in the row."""

    label: str
    n: int
    best: float | None
    median: float | None
    median_seconds: float | None
    pruned_share: float
    n_complete: int = 0
    n_failed: int = 0
    low: float | None = None  # a numeric bin's edges; None for a single value
    high: float | None = None
    value: Any = None  # the value itself for one-value rows

    def to_dict(self) -> dict[str, Any]:
        """The row as a dict of JSON values."""
        return asdict(self)


@dataclass(frozen=True)
class EffectTable:
    """All rows of one hyperparameter. `kind`: int, float, choice, bool or fixed."""

    param: str
    kind: str
    rows: list[EffectRow]
    metric: str = ""
    direction: str = "maximize"
    log_scale: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The table as a dict of JSON values, its rows included."""
        return {
            "param": self.param,
            "kind": self.kind,
            "metric": self.metric,
            "direction": self.direction,
            "log_scale": self.log_scale,
            "rows": [r.to_dict() for r in self.rows],
        }

    def _repr_html_(self) -> str:
        return effect_table_html(self)


def effect_tables(study: Study, metric: str | None = None, bins: int = 5) -> list[EffectTable]:
    """One table per hyperparameter the study's trials used, in the space's order."""
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ConfigurationError(f"bins must be a positive int, but got bins={bins!r}")
    trials = finished_trials(study)
    name, direction = metric_direction(study, metric)
    check_metric(study, trials, name)
    scores = {t.number: trial_score(t, study, name) for t in trials}
    tables = []
    for pname, param in tuned_params(study, trials):
        groups, kind, log_scale = _group(pname, param, trials, bins)
        rows = [_row(label, members, scores, direction, extra) for label, members, extra in groups]
        absent = [t for t in trials if pname not in t.params]
        if absent:
            rows.append(_row(ABSENT, absent, scores, direction, {}))
        tables.append(EffectTable(pname, kind, rows, name, direction.value, log_scale))
    return EffectTables(tables)


Group = tuple[str, list[FrozenTrial], dict[str, Any]]


def _group(
    name: str, param: Param | None, trials: Sequence[FrozenTrial], bins: int
) -> tuple[list[Group], str, bool]:
    having = [t for t in trials if name in t.params]
    values = [t.params[name] for t in having]
    kind = param.kind if param is not None else _infer_kind(values)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    distinct = _distinct(values, param)
    if not numeric or len(distinct) <= bins or isinstance(param, (Choice, Boolean)):
        groups = [
            (fmt_value(v), [t for t in having if _same(t.params[name], v)], {"value": v})
            for v in distinct
        ]
        return groups, kind, False
    log = isinstance(param, (Int, Float)) and param.sampling == "log"
    lo = float(param.min_value) if isinstance(param, (Int, Float)) else float(min(values))
    hi = float(param.max_value) if isinstance(param, (Int, Float)) else float(max(values))
    edges = bin_edges(lo, hi, bins, log, isinstance(param, Int))
    groups = []
    for i in range(len(edges) - 1):
        a, b = edges[i], edges[i + 1]
        last = i == len(edges) - 2
        members = [t for t in having if a <= t.params[name] < b or (last and t.params[name] == b)]
        label = f"[{fmt_value(a)}, {fmt_value(b)}{']' if last else ')'}"
        groups.append((label, members, {"low": a, "high": b}))
    return groups, kind, log


def bin_edges(lo: float, hi: float, bins: int, log: bool, integer: bool = False) -> list[float]:
    """`bins` equal-width bins over [lo, hi] (equal factors when `log`). With `integer`,
    inner edges are rounded up to whole numbers, so bins of an Int read [16, 39), not
    [16, 38.4), and hold the same values (empty bins merge away)."""
    edges = _raw_edges(lo, hi, bins, log)
    if not integer:
        return edges
    inner = sorted({float(math.ceil(e)) for e in edges[1:-1]} - {lo, hi})
    return [lo, *(e for e in inner if lo < e < hi), hi]


def _raw_edges(lo: float, hi: float, bins: int, log: bool) -> list[float]:
    if log and lo > 0:
        a, b = math.log(lo), math.log(hi)
        edges = [math.exp(a + (b - a) * k / bins) for k in range(bins + 1)]
    else:
        edges = [lo + (hi - lo) * k / bins for k in range(bins + 1)]
    edges[0], edges[-1] = lo, hi  # exact bounds, so the first and last value fall inside
    return [float(f"{e:.6g}") if 0 < k < bins else e for k, e in enumerate(edges)]


def _distinct(values: Sequence[Any], param: Param | None) -> list[Any]:
    """Distinct values in the parameter's own order (a Choice's order, else sorted)."""
    seen = list({(isinstance(v, bool), v): v for v in values}.values())  # True != 1 here
    if isinstance(param, Choice):
        order = list(param.values)
        return sorted(
            seen, key=lambda v: next((i for i, o in enumerate(order) if _same(v, o)), 1e9)
        )
    try:
        return sorted(seen)
    except TypeError:
        return sorted(seen, key=repr)


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _infer_kind(values: Sequence[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    return "choice"


def _row(
    label: str,
    members: Sequence[FrozenTrial],
    scores: dict[int, float | None],
    direction: Direction,
    extra: dict[str, Any],
) -> EffectRow:
    complete = [t for t in members if t.state is TrialState.COMPLETE]
    values = [s for t in complete if (s := scores.get(t.number)) is not None]
    best = None
    if values:
        best = max(values) if direction is Direction.MAXIMIZE else min(values)
    seconds = [d for t in complete if (d := t.duration) is not None]
    pruned = sum(t.state is TrialState.PRUNED for t in members)
    return EffectRow(
        label=label,
        n=len(members),
        best=best,
        median=median(values),
        median_seconds=median(seconds),
        pruned_share=pruned / len(members) if members else 0.0,
        n_complete=len(complete),
        n_failed=sum(t.state is TrialState.FAIL for t in members),
        low=extra.get("low"),
        high=extra.get("high"),
        value=extra.get("value"),
    )

"""Training data for a study of several objectives or with constraints: one output column
per objective (lower is better; maximized ones negated) and one per constraint.

Which trials and inputs: as for one objective (observations.py, `gather`): finished trials
holding every modelled parameter; COMPLETE ones only with a finite value per objective.
RUNNING and WAITING trials are pending points or trials being planned, as there.

Objective columns, each on its own (observations.py, `impute`): COMPLETE trials' values,
feasible or not (an infeasible trial still shows what the objectives are like there);
PRUNED trials' last reported values clipped to [median, worst] of the COMPLETE values,
the worst without them; FAIL trials the worst COMPLETE value per objective.

Constraint columns: a trial's constraint values (`FrozenTrial.constraints`, feasible when
<= 0), NaN where the trial has none (a FAIL trial, a PRUNED one that did not report the
metric): each constraint's GP trains on the trials that have its value. An infinite value
becomes the column's worst (or best) finite one. The constraints are the names any
finished trial holds, sorted.

`feasible` marks the rows that define the current front (or incumbent): COMPLETE and
feasible. Over `max_train` rows, the best half by non-dominated rank (objective value with
one objective) and the most recent of the rest are kept (observations.py, `cap`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunelab._pareto import non_dominated_ranks
from tunelab.objectives import Objective
from tunelab.samplers.gp.encoding import Dim
from tunelab.samplers.gp.observations import cap, gather, impute, valued
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState


@dataclass(frozen=True)
class Targets:
    """Inputs in the unit cube and every output column, not yet standardised."""

    dims: tuple[Dim, ...]
    x: np.ndarray  # (n, d)
    y: np.ndarray  # (n, m): objectives, lower is better
    complete: np.ndarray  # (n,) bool: COMPLETE rows (not imputed)
    feasible: np.ndarray  # (n,) bool: COMPLETE and feasible rows
    constraints: np.ndarray  # (n, k): constraint values, NaN where unknown
    constraint_names: tuple[str, ...]
    pending: np.ndarray  # (p, d)
    planning: int = 0


def constraint_names(history: Sequence[FrozenTrial]) -> tuple[str, ...]:
    """The constraints some finished trial holds a value for, sorted."""
    names = {n for t in history if t.state.is_finished for n in t.constraints}
    return tuple(sorted(names))


def _objective_values(trial: FrozenTrial, m: int) -> tuple[float, ...] | None:
    if m == 1:  # a study's one value is `value` (the fidelity view revalues only it)
        return None if trial.value is None else (trial.value,)
    return trial.values if trial.values is not None and len(trial.values) == m else None


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def _finite_columns(c: np.ndarray) -> np.ndarray:
    """Infinite values replaced by their column's most extreme finite value (NaN kept)."""
    out = c.copy()
    for k in range(c.shape[1]):
        column = c[:, k]
        finite = column[np.isfinite(column)]
        high, low = (finite.max(), finite.min()) if finite.size else (math.nan, math.nan)
        out[:, k] = np.where(column == np.inf, high, np.where(column == -np.inf, low, column))
    return out


def collect_targets(
    history: Sequence[FrozenTrial],
    dims: tuple[Dim, ...],
    objectives: Sequence[Objective],
    current: int,
    max_train: int,
) -> Targets:
    """Training rows, output columns and pending points for planning trial `current`."""
    m = len(objectives)
    g = gather(history, dims, current, lambda t: t.state is not TrialState.COMPLETE or valued(t, m))
    names = constraint_names(g.trials)
    d, n = len(dims), len(g.trials)
    states = [t.state for t in g.trials]
    if TrialState.COMPLETE not in states:
        empty = np.empty((0, d))
        return Targets(
            dims, empty, np.empty((0, m)), np.empty(0, bool), np.empty(0, bool),
            np.empty((0, len(names))), names, g.pending, g.planning,
        )  # fmt: skip
    signs = np.array([-1.0 if o.direction is Direction.MAXIMIZE else 1.0 for o in objectives])
    raw = np.full((n, m), np.nan)
    for i, t in enumerate(g.trials):
        values = _objective_values(t, m)
        if values is not None:
            raw[i] = [
                v * s if math.isfinite(v) else math.nan for v, s in zip(values, signs, strict=True)
            ]
    y = np.column_stack([impute(raw[:, j], states) for j in range(m)])
    complete = np.array([s is TrialState.COMPLETE for s in states], dtype=bool)
    feasible = complete & np.array([t.feasible for t in g.trials], dtype=bool)
    c = np.array(
        [[_number(t.constraints.get(k)) for k in names] for t in g.trials], dtype=float
    ).reshape(n, len(names))
    key = y[:, 0] if m == 1 else non_dominated_ranks(y).astype(float)
    keep = cap(np.array([t.number for t in g.trials]), key, max_train)
    return Targets(
        dims,
        np.array([g.points[i] for i in keep], dtype=float).reshape(len(keep), d),
        y[keep],
        complete[keep],
        feasible[keep],
        _finite_columns(c[keep]),
        names,
        g.pending,
        g.planning,
    )

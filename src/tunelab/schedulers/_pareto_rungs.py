"""Successive halving on several objectives (MO-ASHA, Schmucker et al., "Multi-objective
Asynchronous Successive Halving", 2021): pure functions, no I/O.

A trial's point at a rung holds, per objective, the last value it reported up to the
report that reached the rung, so an objective reported once (n_parameters at step 0) is
carried to every later rung. A trial that has reported no value yet for some objective
has no point there: it is not ranked at that rung (when it is the trial asking, it goes
on, as a trial whose report lacks the metric does with one objective).

The trials at a rung are ordered by non-dominated rank (the Pareto front first), and
within a front by crowding distance, largest first; the top max(1, n // eta) go on, as
in ASHA. Crowding distance rather than hypervolume contribution: it needs no reference
point (a rung's values, e.g. a loss early in training beside a parameter count, suggest
none that is not arbitrary), it ranks every member of a front (a hypervolume contribution
is zero for every copy of a point), and it is the order `Study.top_trials` gives. The
median rule (median.py) ranks by the same order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from tunelab._pareto import crowding_distance, non_dominated_ranks
from tunelab.objectives import Objective
from tunelab.schedulers._rungs import carried, promotable_by
from tunelab.trial import Report
from tunelab.types import Direction

Point = tuple[float, ...]


def rung_point(
    reports: Iterable[Report], objectives: Sequence[Objective], resource: int
) -> Point | None:
    """Each objective's last value reported up to the trial's first report whose
    resource is >= `resource`; None when the trial has not reached the rung or has not
    reported every objective by then."""
    latest, reached = carried(reports, [o.metric for o in objectives], resource)
    if not reached or len(latest) < len(objectives):
        return None
    return tuple(latest[o.metric] for o in objectives)


def best_point(reports: Iterable[Report], objectives: Sequence[Objective]) -> Point | None:
    """Each objective's best finite value reported so far (in its direction); None when
    some objective has no finite value yet."""
    best: list[float] = []
    for o in objectives:
        values = [
            float(v)
            for r in reports
            if (v := r.metrics.get(o.metric)) is not None and math.isfinite(v)
        ]
        if not values:
            return None
        best.append(max(values) if o.direction is Direction.MAXIMIZE else min(values))
    return tuple(best)


def describe(point: Point, objectives: Sequence[Objective]) -> str:
    """'(loss 0.5, size 100)' for messages."""
    shown = ", ".join(f"{o.metric} {v:.4g}" for o, v in zip(objectives, point, strict=True))
    return f"({shown})"


def pareto_rank(own: Point, others: Sequence[Point], objectives: Sequence[Objective]) -> int:
    """1-based rank of `own` among itself and `others` (finite points, in the objectives'
    directions): by front, then crowding distance within the front, largest first; ties
    go to `own`."""
    signs = np.array([-1.0 if o.direction is Direction.MAXIMIZE else 1.0 for o in objectives])
    points = np.array([own, *others], dtype=float).reshape(-1, len(objectives)) * signs
    fronts = non_dominated_ranks(points)
    crowding = np.zeros(len(points))
    for front in np.unique(fronts):
        members = fronts == front
        crowding[members] = crowding_distance(points[members])
    mine = (fronts[0], -crowding[0])
    return 1 + int(sum((fronts[i], -crowding[i]) < mine for i in range(1, len(points))))


def finite(points: Iterable[Point]) -> list[Point]:
    return [p for p in points if all(math.isfinite(v) for v in p)]


def pareto_promotable(
    own: Point,
    others: Sequence[Point],
    reduction_factor: int,
    objectives: Sequence[Objective],
    violation: float = 0.0,
    violations: Sequence[float] | None = None,
) -> tuple[bool, int, int]:
    """The MO-ASHA rule at the moment a trial reaches a rung: it goes on iff it ranks
    within the best max(1, n // eta) of the n finite points recorded there so far (itself
    included; see pareto_rank), trials breaking a constraint there ranked last
    (`_rungs.deb_rank`). A point with a NaN or an infinite value ranks last. Returns
    (goes_on, rank, keep)."""
    return promotable_by(
        own,
        others,
        reduction_factor,
        lambda p: bool(finite([p])),
        lambda kept: pareto_rank(own, kept, objectives),
        violation,
        violations,
    )

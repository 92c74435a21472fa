"""Rung bookkeeping for successive halving: pure functions, no I/O, no clock.

Resource is counted in reported steps: a report at step s means s + 1 units were
spent (steps count from 0, as `tunelab.torch.fit` reports epochs 0, 1, 2, ...).
A trial *reaches* rung k with its first report whose resource is at least the rung's
resource r_k; the metric of that report is its rung value. When every trial reports
every step, rung values are therefore compared at exactly equal steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from tunelab.objectives import Constraint
from tunelab.trial import Report
from tunelab.types import Direction

T = TypeVar("T")


def resource_of(step: int) -> int:
    """Units of resource spent once step `step` has been reported."""
    return step + 1


def rung_resources(min_resource: int, reduction_factor: int, max_resource: int | None) -> list[int]:
    """r_k = min_resource * eta**k for every rung strictly below max_resource (the last
    rung needs no decision: the trial ends there). Unbounded rungs stop at 2**31."""
    limit = max_resource if max_resource is not None else 2**31
    out: list[int] = []
    r = min_resource
    while r < limit:
        out.append(r)
        r *= reduction_factor
    return out


def rung_reached(rungs: Sequence[int], step: int, previous_step: int | None) -> int | None:
    """The rung index this report reaches for the first time, or None. A report that
    jumps over several rungs reaches the highest of them."""
    now = resource_of(step)
    before = resource_of(previous_step) if previous_step is not None else 0
    reached = None
    for k, r in enumerate(rungs):
        if before < r <= now:
            reached = k
    return reached


def rung_value(reports: Iterable[Report], metric: str, resource: int) -> float | None:
    """The metric at the trial's first report whose resource is >= `resource`."""
    for report in reports:
        if resource_of(report.step) >= resource:
            value = report.metrics.get(metric)
            return None if value is None else float(value)
    return None


def keep_count(n: int, reduction_factor: int) -> int:
    """How many of n trials at a rung go on: the top 1/eta, at least the best one."""
    return max(1, n // reduction_factor)


def rank(value: float, others: Sequence[float], direction: Direction) -> int:
    """1-based rank of `value` among itself and `others`; ties go to `value`."""
    if direction is Direction.MAXIMIZE:
        return 1 + sum(o > value for o in others)
    return 1 + sum(o < value for o in others)


def promotable(
    value: float,
    others: Sequence[float],
    reduction_factor: int,
    direction: Direction,
    violation: float = 0.0,
    violations: Sequence[float] | None = None,
) -> tuple[bool, int, int]:
    """The ASHA rule at the moment a trial reaches a rung: it goes on iff its value ranks
    within the best max(1, n // eta) of the n finite values recorded at that rung so far
    (itself included), trials breaking a constraint there ranked last (`deb_rank`).
    Returns (goes_on, its rank, how many go on)."""
    return promotable_by(
        value,
        others,
        reduction_factor,
        math.isfinite,
        lambda kept: rank(value, kept, direction),
        violation,
        violations,
    )


def promotable_by(
    own: T,
    others: Sequence[T],
    reduction_factor: int,
    is_finite: Callable[[T], bool],
    rank_among: Callable[[list[T]], int],
    violation: float = 0.0,
    violations: Sequence[float] | None = None,
) -> tuple[bool, int, int]:
    """The successive-halving rule over any rung values (a number, or a point of several
    objectives): `own` goes on iff it ranks within the best max(1, n // eta) of the n
    finite values at the rung, itself included; a non-finite `own` ranks last; under
    Deb's rule (`deb_rank`) `rank_among(feasible finite others)` ranks it among those
    holding every constraint. Returns (goes_on, its rank, how many go on)."""
    pairs = zip(others, violations or [0.0] * len(others), strict=True)
    kept = [(o, c) for o, c in pairs if is_finite(o)]
    keep = keep_count(len(kept) + 1, reduction_factor)
    if not is_finite(own):
        return False, len(kept) + 1, keep
    r = deb_rank(
        violation, [c for _, c in kept], lambda: rank_among([o for o, c in kept if c <= 0])
    )
    return r <= keep, r, keep


def carried(
    reports: Iterable[Report], metrics: Sequence[str], resource: int, finite_only: bool = False
) -> tuple[dict[str, float], bool]:
    """Each metric's last value reported up to the trial's first report whose resource is
    >= `resource` (non-finite values skipped with `finite_only`), and whether the trial
    reached that report: a metric reported once (n_parameters at step 0) is carried to
    every later rung."""
    latest: dict[str, float] = {}
    for report in reports:
        for metric in metrics:
            value = report.metrics.get(metric)
            if value is not None and (not finite_only or math.isfinite(value)):
                latest[metric] = float(value)
        if resource_of(report.step) >= resource:
            return latest, True
    return latest, False


def rung_violation(
    reports: Iterable[Report], constraints: Sequence[Constraint], resource: int
) -> float:
    """How far the trial breaks the study's constraints at the rung: the sum of the
    positive constraint values of the metrics carried there (each one's last value reported
    up to the trial's first report whose resource is >= `resource`). A metric not
    reported yet counts as holding: nothing says otherwise."""
    if not constraints:
        return 0.0
    latest, _ = carried(reports, [c.metric for c in constraints], resource, finite_only=True)
    return sum(max(0.0, c.value(latest[c.metric])) for c in constraints if c.metric in latest)


def deb_rank(
    violation: float, violations: Sequence[float], among_feasible: Callable[[], int]
) -> int:
    """1-based rank at a rung under Deb's rule: a trial holding every constraint there
    ranks among the others that do (`among_feasible()`), ahead of every trial breaking
    one; a trial breaking one ranks after all those that hold, by its violation (ties go
    to it). A trial that breaks a bound on, say, its parameter count should not take a
    place that a trial which may end up among the best could use."""
    if violation <= 0:
        return among_feasible()
    return 1 + sum(1 for c in violations if c < violation)


def cutoff(values: Sequence[float], reduction_factor: int, direction: Direction) -> float | None:
    """The worst value still inside the top 1/eta of `values` (for messages and tables)."""
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        return None
    if direction is Direction.MAXIMIZE:
        finite.reverse()
    return finite[keep_count(len(finite), reduction_factor) - 1]

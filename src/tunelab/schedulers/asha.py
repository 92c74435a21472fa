"""ASHA: asynchronous successive halving (Li et al., "A System for Massively Parallel
Hyperparameter Tuning", MLSys 2020), in its stopping form.

Rungs sit at resources r_k = min_resource * eta**k below max_resource (resource =
reported steps, see _rungs.py). When a trial reaches rung k it goes on iff its value
ranks within the top max(1, n // eta) of the n values recorded at rung k so far,
itself included. The decision is made at once and never revisited: nobody waits for a
rung to fill, and since rung values are read from stored reports, every worker
process reaches the same decision from the same data.

In a study of several objectives the trials at a rung are ranked by Pareto front, then
crowding distance (MO-ASHA, see _pareto_rungs.py), and the same top 1/eta go on.
Either way, a trial breaking a study constraint by the metrics carried to the rung ranks
after every trial holding them there (`_rungs.deb_rank`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tunelab.errors import ConfigurationError
from tunelab.schedulers import _pareto_rungs, _rungs
from tunelab.schedulers.base import Scheduler
from tunelab.schedulers.decision import GO_ON, PruneRequest, Verdict, check_int
from tunelab.trial import FrozenTrial
from tunelab.types import Decision


class ASHAScheduler(Scheduler):
    """Asynchronous successive halving: at each rung a trial goes on only if it ranks in the
    top 1/`reduction_factor` of the values seen at that rung so far; nobody waits for a rung
    to fill.

    Resource means reported steps (epochs): rungs sit at `min_resource * reduction_factor**k`.

    Args:
        min_resource: The first rung: steps every trial runs before it can be stopped.
        max_resource: The steps a full trial reports; None: no rung is capped.
        reduction_factor: The share of trials that go on past each rung is 1/`reduction_factor`.
        rules: Curve rules (`Divergence`, `Plateau`, `Overfitting`, or their names) checked
            before ranking.

    Example:
        ```python
        study = tunelab.create_study("digits", metric="val_accuracy", direction="maximize",
                                     scheduler=ASHAScheduler(min_resource=1, max_resource=20))
        ```
    """

    name = "asha"
    multi_objective = True

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int | None = None,
        reduction_factor: int = 3,
        rules: Any = (),
    ) -> None:
        super().__init__(rules)
        self.min_resource = check_int("min_resource", min_resource, 1)
        self.max_resource = (
            None if max_resource is None else check_int("max_resource", max_resource, 1)
        )
        self.reduction_factor = check_int("reduction_factor", reduction_factor, 2)
        if self.max_resource is not None and self.max_resource < self.min_resource:
            raise ConfigurationError(
                "min_resource <= max_resource must hold, but got "
                f"(min_resource={min_resource}, max_resource={max_resource})"
            )

    def config(self) -> dict[str, Any]:
        return {
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "reduction_factor": self.reduction_factor,
        }

    @property
    def rungs(self) -> list[int]:
        """The steps at which trials are compared, in increasing order."""
        return _rungs.rung_resources(self.min_resource, self.reduction_factor, self.max_resource)

    def needs_history(self, step: int, previous_step: int | None) -> bool:
        return _rungs.rung_reached(self.rungs, step, previous_step) is not None

    def rank_decision(self, request: PruneRequest) -> Verdict:
        return successive_halving(request, self.rungs, self.reduction_factor, self.name, {})


def successive_halving(
    request: PruneRequest,
    rungs: Sequence[int],
    reduction_factor: int,
    who: str,
    attrs: dict[str, Any],
    label: str | None = None,
    peer: Callable[[FrozenTrial], bool] | None = None,
) -> Verdict:
    """The ASHA decision for `request.trial` against the other trials (those `peer`
    accepts, when given). One pass over the history, only when a rung is reached: this
    runs after every report of every trial."""
    k = _rungs.rung_reached(rungs, request.step, request.previous_step)
    if k is None:
        return GO_ON
    resource = rungs[k]
    if request.multi_objective:
        return _pareto_halving(request, k, resource, reduction_factor, who, attrs, label, peer)
    metric = request.metric
    own = _rungs.rung_value(request.trial.reports, metric, resource)
    if own is None:
        return GO_ON  # the metric was not in this report: nothing to compare
    constraints = request.constraints
    others: list[float] = []
    violations: list[float] = []
    for t in _at_rung(request, resource, peer):
        reports = t.reports
        first = reports[0]
        if first.step + 1 >= resource:
            value = first.metrics.get(metric)
        else:
            value = _rungs.rung_value(reports, metric, resource)
        if value is not None:
            others.append(value)
            violations.append(_rungs.rung_violation(reports, constraints, resource))
    violation = _rungs.rung_violation(request.trial.reports, constraints, resource)
    goes_on, rank, keep = _rungs.promotable(
        own, others, reduction_factor, request.direction, violation, violations
    )
    if goes_on:
        return GO_ON
    return Verdict(
        Decision.STOP,
        f"{label or who}: rung {k} (resource {resource}): {metric} {own:.4g}"
        f"{_breaking(violation)} ranks {rank} of {len(others) + 1}; only the top {keep} go on",
        {**attrs, "pruned_by": who, "rung": k, "pruned_at_step": request.step},
    )


def _at_rung(
    request: PruneRequest, resource: int, peer: Callable[[FrozenTrial], bool] | None
) -> Iterator[FrozenTrial]:
    """The other trials (those `peer` accepts, when given) that have reached the rung."""
    me = request.trial.trial_id
    for t in request.history:
        reports = t.reports
        if not reports or reports[-1].step + 1 < resource or t.trial_id == me:
            continue  # never reached the rung (WAITING trials have no reports)
        if peer is not None and not peer(t):
            continue
        yield t


def _pareto_halving(
    request: PruneRequest,
    k: int,
    resource: int,
    reduction_factor: int,
    who: str,
    attrs: dict[str, Any],
    label: str | None,
    peer: Callable[[FrozenTrial], bool] | None,
) -> Verdict:
    """The MO-ASHA decision at rung k over every objective (see _pareto_rungs)."""
    objectives = request.objectives
    own = _pareto_rungs.rung_point(request.trial.reports, objectives, resource)
    if own is None:
        return GO_ON  # an objective not reported yet: not ranked at this rung
    constraints = request.constraints
    others: list[_pareto_rungs.Point] = []
    violations: list[float] = []
    for t in _at_rung(request, resource, peer):
        point = _pareto_rungs.rung_point(t.reports, objectives, resource)
        if point is not None:
            others.append(point)
            violations.append(_rungs.rung_violation(t.reports, constraints, resource))
    violation = _rungs.rung_violation(request.trial.reports, constraints, resource)
    goes_on, rank, keep = _pareto_rungs.pareto_promotable(
        own, others, reduction_factor, objectives, violation, violations
    )
    if goes_on:
        return GO_ON
    shown = _pareto_rungs.describe(own, objectives) + _breaking(violation)
    return Verdict(
        Decision.STOP,
        f"{label or who}: rung {k} (resource {resource}): {shown} ranks {rank} of "
        f"{len(others) + 1} by Pareto front and crowding distance; only the top {keep} go on",
        {**attrs, "pruned_by": who, "rung": k, "pruned_at_step": request.step},
    )


def _breaking(violation: float) -> str:
    """' (breaking a constraint by 0.5)' for a message, or nothing."""
    return f" (breaking a constraint by {violation:.4g})" if violation > 0 else ""

"""What a study optimizes and what it requires: its objectives (a metric and a direction
each) and its constraints (a metric and a bound each). Both are fixed when the study is
created and stored as JSON beside it; this module checks what a user passes and reads
what storage holds."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tunelab._names import METRIC_NAME_MAX, name_problem
from tunelab.errors import ConfigurationError
from tunelab.types import Direction

OPERATORS = ("<=", ">=")


@dataclass(frozen=True)
class Objective:
    """One metric the study optimizes, in one direction."""

    metric: str
    direction: Direction

    def to_json(self) -> dict[str, str]:
        return {"metric": self.metric, "direction": self.direction.value}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Objective:
        return cls(str(data["metric"]), Direction(data["direction"]))


@dataclass(frozen=True)
class Constraint:
    """A bound on a metric a trial returns or reports: `metric op bound`. A trial breaking
    it is feasible=False: complete, but never among the best."""

    metric: str
    op: str
    bound: float

    def value(self, observed: float) -> float:
        """The constraint's value for an observed metric: <= 0 when it holds (the
        convention of `Trial.set_constraint`), the distance past the bound otherwise."""
        return observed - self.bound if self.op == "<=" else self.bound - observed

    def describe(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "op": self.op, "bound": self.bound}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Constraint:
        return cls(str(data["metric"]), str(data["op"]), float(data["bound"]))


def _metric_name(value: Any, what: str) -> str:
    problem = name_problem(what, value, METRIC_NAME_MAX)
    if problem is None and not value.strip():
        problem = f"{what} must be a non-empty string, but got {value!r}"
    if problem is not None:
        raise ConfigurationError(problem)
    return str(value)


def objectives_of(
    metric: str,
    direction: str | Direction,
    metrics: Sequence[str] | None = None,
    directions: Sequence[str | Direction] | None = None,
) -> tuple[Objective, ...]:
    """The study's objectives: `metrics` with `directions` (one each), or else the single
    `metric` in `direction`."""
    if metrics is None:
        if directions is not None:
            raise ConfigurationError(
                "directions= goes with metrics=; pass metrics=[...] too, or use direction= "
                "for one metric"
            )
        return (Objective(_metric_name(metric, "metric"), Direction.parse(direction)),)
    if isinstance(metrics, str) or not isinstance(metrics, Sequence) or not metrics:
        raise ConfigurationError(
            f"metrics must be a non-empty list of metric names, but got {metrics!r}"
        )
    names = [_metric_name(m, "every metric") for m in metrics]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"metrics must be distinct, but got {names}")
    if directions is None:
        raise ConfigurationError(
            f"metrics={names} needs directions= too, one per metric "
            "(e.g. directions=['maximize', 'minimize'])"
        )
    if isinstance(directions, str) or not isinstance(directions, Sequence):
        raise ConfigurationError(
            f"directions must be a list with one direction per metric, but got {directions!r}"
        )
    if len(directions) != len(names):
        raise ConfigurationError(
            f"metrics and directions must have the same length, but got {len(names)} metrics "
            f"{names} and {len(directions)} directions {list(directions)}"
        )
    return tuple(Objective(m, Direction.parse(d)) for m, d in zip(names, directions, strict=True))


def constraints_of(spec: Mapping[str, Any] | None) -> tuple[Constraint, ...]:
    """Constraints from `{"n_parameters": ("<=", 100_000), ...}`."""
    if spec is None:
        return ()
    if not isinstance(spec, Mapping):
        raise ConfigurationError(
            "constraints must be a dict of metric -> (operator, bound), e.g. "
            f"{{'n_parameters': ('<=', 100_000)}}, but got {spec!r}"
        )
    out = []
    for metric, rule in spec.items():
        name = _metric_name(metric, "a constraint's metric")
        if (
            isinstance(rule, (str, bytes))
            or not isinstance(rule, Sequence)
            or len(rule) != 2
            or rule[0] not in OPERATORS
            or isinstance(rule[1], bool)
            or not isinstance(rule[1], (int, float))
            or not math.isfinite(rule[1])
        ):
            raise ConfigurationError(
                f"constraint on {name!r} must be (operator, bound) with operator '<=' or "
                f"'>=' and a finite number as bound, e.g. ('<=', 100_000), but got {rule!r}"
            )
        out.append(Constraint(name, rule[0], float(rule[1])))
    return tuple(out)

"""FrozenTrial: an immutable record of one trial, as storage last saw it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from tunelab.types import EndCause, TrialState

CONSTRAINTS_ATTR = "constraints"  # the system attribute holding a trial's constraint values
"""The system attribute that holds a trial's constraint values."""


def _freeze(mapping: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Report:
    """Metrics reported at one step (usually an epoch) of a trial."""

    step: int
    metrics: Mapping[str, float]
    time: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", _freeze(self.metrics))


@dataclass(frozen=True)
class FrozenTrial:
    """A trial record. Later writes to storage never change an existing instance.

    `values` holds one float per objective; `value` is the first of them (the study's
    metric in a single-objective study). Either may be given: the other is filled in.
    How the trial ended is `end_cause`; `reason` is text for people. A retry names the
    trial it repeats by number (`retry_of`), and the original names its retry
    (`retried_by`); `attempt` counts the retries before this one. `enqueued` holds the
    values fixed before the trial ran (by `Study.enqueue` or a retry)."""

    trial_id: int
    number: int
    state: TrialState
    params: Mapping[str, Any] = field(default_factory=dict)
    value: float | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    reports: tuple[Report, ...] = ()
    datetime_start: float | None = None
    datetime_complete: float | None = None
    reason: str | None = None
    worker: str | None = None
    heartbeat: float | None = None
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    system_attrs: Mapping[str, Any] = field(default_factory=dict)
    values: tuple[float, ...] | None = None
    end_cause: EndCause | None = None
    retry_of: int | None = None
    retried_by: int | None = None
    attempt: int = 0
    enqueued: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _MAPPINGS:
            object.__setattr__(self, name, _freeze(getattr(self, name)))
        object.__setattr__(self, "reports", tuple(self.reports))
        value, values = _value_and_values(self.value, self.values)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "values", values)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish; None while the trial has not finished (or never started)."""
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return self.datetime_complete - self.datetime_start

    @property
    def constraints(self) -> Mapping[str, float]:
        """The trial's constraint values by name (the study's constraints and those the
        objective set with `trial.set_constraint`); each holds when <= 0."""
        stored = self.system_attrs.get(CONSTRAINTS_ATTR)
        return MappingProxyType(dict(stored)) if isinstance(stored, Mapping) else _NONE

    @property
    def feasible(self) -> bool:
        """Whether every constraint holds. An infeasible trial may be COMPLETE, but it is
        never among a study's best."""
        return feasible_attrs(self.system_attrs)

    @property
    def last_step(self) -> int | None:
        """The step of the trial's last report; None before its first."""
        return self.reports[-1].step if self.reports else None

    def intermediate(self, metric: str) -> dict[int, float]:
        """step -> value of one reported metric."""
        return {r.step: r.metrics[metric] for r in self.reports if metric in r.metrics}

    @property
    def counts_toward_budget(self) -> bool:
        """Whether the trial uses up one of the study's `n_trials`: not while it waits,
        not when it was interrupted or lost (it never got its chance), and not once a
        retry repeats it (the retry counts instead)."""
        if self.state is TrialState.WAITING or self.retried_by is not None:
            return False
        return self.end_cause is None or self.end_cause.counts_toward_budget


def feasible_attrs(system_attrs: Mapping[str, Any]) -> bool:
    """Whether the constraint values held in a trial's system attributes all hold (a
    value that is not a number does not)."""
    stored = system_attrs.get(CONSTRAINTS_ATTR)
    if not isinstance(stored, Mapping):
        return True
    return all(isinstance(v, (int, float)) and v <= 0 for v in stored.values())


def _value_and_values(
    value: float | None, values: tuple[float, ...] | None
) -> tuple[float | None, tuple[float, ...] | None]:
    """`values` from `value` or the other way round; `value` is None when several
    objectives make `values`."""
    if values is None:
        return value, None if value is None else (value,)
    values = tuple(values)
    if value is None and len(values) == 1:
        value = values[0]
    return value, values


_NONE: Mapping[str, float] = MappingProxyType({})
_MAPPINGS = ("params", "metrics", "user_attrs", "system_attrs", "enqueued")


def holds_containers(mapping: Mapping[str, Any]) -> bool:
    """Whether a value of `mapping` is a list or a dict (which a caller could change)."""
    return any(isinstance(v, (list, dict)) for v in mapping.values())


def frozen_throughout(t: FrozenTrial) -> bool:
    """A FrozenTrial is frozen down to its values unless one holds a list or a dict:
    such a record can be handed to every caller as it is, without a copy."""
    return not any(holds_containers(getattr(t, name)) for name in _MAPPINGS) and not any(
        holds_containers(r.metrics) for r in t.reports
    )


def fresh_report(step: int, metrics: dict[str, float], time: float) -> Report:
    """A Report of a metrics dict that nothing else holds: wrapped, not copied."""
    out = object.__new__(Report)
    out.__dict__.update(step=step, metrics=MappingProxyType(metrics), time=time)
    return out


def fresh_trial(
    trial_id: int,
    number: int,
    state: TrialState,
    params: dict[str, Any],
    metrics: dict[str, Any],
    reports: tuple[Report, ...],
    datetime_start: float | None,
    datetime_complete: float | None,
    reason: str | None,
    worker: str | None,
    heartbeat: float | None,
    user_attrs: dict[str, Any],
    system_attrs: dict[str, Any],
    values: tuple[float, ...] | None,
    end_cause: EndCause | None,
    retry_of: int | None,
    retried_by: int | None,
    attempt: int,
    enqueued: dict[str, Any],
) -> FrozenTrial:
    """A FrozenTrial of dicts that nothing else holds (decoded from storage just now):
    they are wrapped read-only as __post_init__ would, without its copies. A history read
    builds a thousand of these."""
    value, values = _value_and_values(None, values)
    out = object.__new__(FrozenTrial)
    out.__dict__.update(
        trial_id=trial_id,
        number=number,
        state=state,
        params=MappingProxyType(params),
        value=value,
        metrics=MappingProxyType(metrics),
        reports=reports,
        datetime_start=datetime_start,
        datetime_complete=datetime_complete,
        reason=reason,
        worker=worker,
        heartbeat=heartbeat,
        user_attrs=MappingProxyType(user_attrs),
        system_attrs=MappingProxyType(system_attrs),
        values=values,
        end_cause=end_cause,
        retry_of=retry_of,
        retried_by=retried_by,
        attempt=attempt,
        enqueued=MappingProxyType(enqueued),
    )
    return out


def evolve(trial: FrozenTrial, **changes: Any) -> FrozenTrial:
    """`dataclasses.replace` for a record whose kept fields are already frozen: the
    changed ones are frozen as __post_init__ would, the others are not rebuilt. Storages
    write a trial at every suggestion and report; this is several times faster."""
    fields = dict(trial.__dict__)
    for name, value in changes.items():
        if name not in fields:
            raise TypeError(f"FrozenTrial has no field {name!r}")
        if name in _MAPPINGS:
            value = _freeze(value)
        elif name == "reports":
            value = tuple(value)
        fields[name] = value
    if "value" in changes or "values" in changes:
        fields["value"], fields["values"] = _value_and_values(
            changes.get("value"), changes.get("values")
        )
    out = object.__new__(FrozenTrial)
    out.__dict__.update(fields)
    return out

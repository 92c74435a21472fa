"""Rows to records and back: how SQLStorage decodes a row into a StudyRecord or a
FrozenTrial (by position: a history read builds a thousand records), and encodes a trial's
Outcome once, before the transaction that stores it (which may be retried)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Row

from tunelab.objectives import Constraint, Objective
from tunelab.storage import codec
from tunelab.storage.base import Outcome, StudyRecord
from tunelab.storage.codec import DamagedData
from tunelab.storage.sql import schema
from tunelab.trial import FrozenTrial, Report
from tunelab.trial.frozen import fresh_trial
from tunelab.types import Direction, EndCause, TrialState


def study_record(row: Row[Any]) -> StudyRecord:
    def mapping(column: str) -> dict[str, Any]:
        return stored_mapping(getattr(row, column), row.name, None, f"{S}.{column}")

    try:
        direction = Direction(row.direction)
    except ValueError:
        raise DamagedData(
            f"it holds {row.direction!r}, not one of {[d.value for d in Direction]}",
            row.name, None, f"{S}.direction",
        ) from None  # fmt: skip
    return StudyRecord(
        study_id=row.study_id,
        name=row.name,
        metric=row.metric,
        direction=direction,
        sampler=mapping("sampler_json"),
        settings=mapping("settings_json"),
        created_at=row.created_at,
        user_attrs=mapping("user_attrs_json"),
        objectives=_listed(row, "objectives_json", Objective.from_json),
        constraints=_listed(row, "constraints_json", Constraint.from_json),
    )


def _listed(row: Row[Any], column: str, build: Callable[[Any], T]) -> tuple[T, ...]:
    """A study's stored list (its objectives, its constraints), each item built; damage is
    reported with its study and column."""
    text = getattr(row, column)
    items = stored_json(text, row.name, None, f"{S}.{column}")
    try:
        if not isinstance(items, list):
            raise TypeError
        return tuple(build(item) for item in items)
    except (KeyError, TypeError, ValueError):
        raise DamagedData(
            f"it holds {text!r:.60}, not the list tunelab wrote", row.name, None, f"{S}.{column}"
        ) from None


def json_mapping(text: str | None) -> dict[str, Any]:
    """A stored JSON object; most attribute columns hold "{}", which needs no parser."""
    if text == "{}":
        return {}
    value = codec.loads(text, {})
    if type(value) is not dict:
        raise DamagedData(f"it holds {text!r:.60}, but a JSON object is expected")
    return value


def stored_mapping(
    text: str | None, study: int | str | None, trial: int | None, column: str
) -> dict[str, Any]:
    """`json_mapping`, with any damage reported with where it is."""
    try:
        return json_mapping(text)
    except DamagedData as e:
        raise e.at(study, trial, column) from None


def stored_json(text: str | None, study: int | str | None, trial: int | None, column: str) -> Any:
    """`codec.loads` of one stored value; damage is reported with where it is."""
    try:
        return codec.loads(text)
    except DamagedData as e:
        raise e.at(study, trial, column) from None


T = TypeVar("T")

S, TR, R = schema.studies.name, schema.trials.name, schema.reports.name
_STATES = {state.value: state for state in TrialState}
_CAUSES = {cause.value: cause for cause in EndCause}


_FIELDS = (
    "trial_id",
    "number",
    "state",
    "params_json",
    "values_json",
    "metrics_json",
    "datetime_start",
    "datetime_complete",
    "reason",
    "worker",
    "heartbeat",
    "user_attrs_json",
    "system_attrs_json",
    "end_cause",
    "retry_of",
    "retried_by",
    "attempt",
    "enqueued_json",
)


def _values(text: str | None) -> tuple[float, ...] | None:
    """The stored objective values; None when absent or not all numbers (NaN)."""
    if text is None:
        return None
    stored = codec.loads(text)
    if type(stored) is not list or not all(type(v) is float or type(v) is int for v in stored):
        raise DamagedData(f"it holds {text!r:.60}, but a list of numbers is expected")
    values = tuple(stored)
    return None if any(v != v for v in values) else values


def trial_records(
    rows: Sequence[Row[Any]], reports: Mapping[int, Sequence[Report]]
) -> list[FrozenTrial]:
    """`_trial` of many rows, reading each row by position (a history read builds a
    thousand records: by name, the lookups alone cost more than the JSON)."""
    if not rows:
        return []
    at = {name: i for i, name in enumerate(rows[0]._fields)}
    index = [at[name] for name in _FIELDS]
    out: list[FrozenTrial] = []
    try:
        _decode(rows, reports, index, out)
    except (DamagedData, ValueError, TypeError):
        damage = _damage(rows[len(out)])  # the row that failed: the ones before it are out
        if damage is None:
            raise
        raise damage from None
    return out


def _decode(
    rows: Sequence[Row[Any]],
    reports: Mapping[int, Sequence[Report]],
    index: list[int],
    out: list[FrozenTrial],
) -> None:
    for row in rows:
        (
            tid, number, state, params, values, metrics, start, end, reason, worker, beat,
            user, system, cause, retry_of, retried_by, attempt, enqueued,
        ) = (row[i] for i in index)  # fmt: skip
        known = _STATES.get(state)
        out.append(
            fresh_trial(
                tid,
                number,
                known if known is not None else TrialState(state),
                json_mapping(params),
                json_mapping(metrics),
                tuple(reports.get(tid, ())),
                start,
                end,
                reason,
                worker,
                beat,
                json_mapping(user),
                json_mapping(system),
                _values(values),
                None if cause is None else _CAUSES.get(cause) or EndCause(cause),
                retry_of,
                retried_by,
                attempt or 0,
                json_mapping(enqueued),
            )
        )


_OBJECT_COLUMNS = (
    "params_json", "metrics_json", "user_attrs_json", "system_attrs_json", "enqueued_json",
)  # fmt: skip


def _damage(row: Row[Any]) -> DamagedData | None:
    """Which value of a trial row that failed to decode is damaged (None: none is)."""

    def at(detail: str, column: str) -> DamagedData:
        return DamagedData(detail, row.study_id, row.number, f"{TR}.{column}")

    for column in _OBJECT_COLUMNS:
        try:
            stored_mapping(getattr(row, column), row.study_id, row.number, f"{TR}.{column}")
        except DamagedData as e:
            return e
    try:
        _values(row.values_json)
    except DamagedData as e:
        return e.at(row.study_id, row.number, f"{TR}.values_json")
    if row.state not in _STATES:
        return at(f"it holds {row.state!r}, not one of {sorted(_STATES)}", "state")
    if row.end_cause is not None and row.end_cause not in _CAUSES:
        return at(f"it holds {row.end_cause!r}, not one of {sorted(_CAUSES)}", "end_cause")
    return None


def report_damage(error: Exception, study_id: int, number: int, step: int) -> DamagedData:
    """Where a report that failed to decode is: `error` is what decoding raised."""
    detail = (
        error.detail if isinstance(error, DamagedData) else f"it is not a JSON object ({error})"
    )
    return DamagedData(detail, study_id, number, f"{R}.metrics_json at step {step}")


def trial_record(row: Row[Any], reports: Sequence[Report] = ()) -> FrozenTrial:
    return trial_records([row], {row.trial_id: tuple(reports)})[0]


class EncodedOutcome(NamedTuple):
    """A finish, validated and encoded once before its transaction (which may be retried)."""

    bound: dict[str, Any]  # the finish statement's parameters, but the trial id and time
    extra: dict[str, Any]  # system attributes merged into the stored ones
    with_params: bool


def encode_outcome(outcome: Outcome) -> EncodedOutcome:
    extra = dict(outcome.system_attrs or {})
    if extra:
        codec.dumps(extra, "system attributes")
    values = outcome.values
    bound: dict[str, Any] = {
        "b_state": outcome.state.value,
        "b_cause": outcome.end_cause.value,
        "b_value": outcome.value,
        "b_values": None if values is None else codec.dumps(list(values), "values"),
        "b_interrupted": not outcome.counts_toward_budget,
        "b_metrics": codec.dumps(outcome.metrics, "metrics") if outcome.metrics else "{}",
        "b_reason": outcome.reason,
    }
    if outcome.params is not None:
        bound["b_params"] = codec.dumps(outcome.params, "params")
    return EncodedOutcome(bound, extra, outcome.params is not None)

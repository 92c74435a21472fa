"""Rows to records and back: how SQLStorage decodes a row into a StudyRecord or a
FrozenTrial (by position: a history read builds a thousand records), and encodes a trial's
Outcome once, before the transaction that stores it (which may be retried)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Row

from tunelab.objectives import Constraint, Objective
from tunelab.storage import codec
from tunelab.storage.base import Outcome, StudyRecord
from tunelab.trial import FrozenTrial, Report
from tunelab.trial.frozen import fresh_trial
from tunelab.types import Direction, EndCause, TrialState


def study_record(row: Row[Any]) -> StudyRecord:
    return StudyRecord(
        study_id=row.study_id,
        name=row.name,
        metric=row.metric,
        direction=Direction(row.direction),
        sampler=codec.loads(row.sampler_json, {}),
        settings=codec.loads(row.settings_json, {}),
        created_at=row.created_at,
        user_attrs=codec.loads(row.user_attrs_json, {}),
        objectives=tuple(Objective.from_json(o) for o in codec.loads(row.objectives_json, [])),
        constraints=tuple(Constraint.from_json(c) for c in codec.loads(row.constraints_json, [])),
    )


def json_mapping(text: str | None) -> Any:
    """A stored JSON object; most attribute columns hold "{}", which needs no parser."""
    return {} if text == "{}" else codec.loads(text, {})


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
    values = tuple(codec.loads(text))
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
    out = []
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
    return out


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

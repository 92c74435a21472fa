"""Where trials begin, inside one write transaction: numbering, the budget, claiming a
queued trial, queueing a retry, and finding a start of one's own again after a retry.

Functions over an open Connection: SQLStorage runs them in its transactions (and
retries those), a locked study view runs them in the caller's."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select, update

from tunelab.errors import TrialError
from tunelab.storage import codec
from tunelab.storage.sql import schema
from tunelab.storage.sql.records import json_mapping, trial_record
from tunelab.storage.sql.statements import (
    CLAIM,
    INSERT_TRIAL,
    LOCK_STUDY,
    OLDEST_RETRY,
    OLDEST_WAITING,
    OWN_START,
    START_STATE,
    insert_next_statement,
)
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

TR = schema.trials


def lock_study(conn: Connection, study_id: int) -> None:
    """SQLite write transactions are exclusive already; PostgreSQL locks the study row."""
    if conn.dialect.name == "postgresql":
        conn.execute(LOCK_STUDY, {"sid": study_id})


def budget_used(conn: Connection, study_id: int) -> int:
    """Trials that count toward the budget; an index-only count."""
    return conn.execute(
        select(func.count()).where(
            TR.c.study_id == study_id,
            TR.c.state != TrialState.WAITING.value,
            TR.c.interrupted.is_(False),
        )
    ).scalar_one()


def insert_trial(
    conn: Connection,
    study_id: int,
    state: TrialState,
    worker: str | None,
    params: Mapping[str, Any] | None,
    system_attrs: Mapping[str, Any] | None,
    budget: int | None = None,
    enqueued: Mapping[str, Any] | None = None,
    retry_of: int | None = None,
    attempt: int = 0,
    now: float | None = None,
) -> FrozenTrial | None:
    """The study's next trial, or None when `budget` trials count toward it already."""
    lock_study(conn, study_id)  # numbering and budget are per study
    start = conn.execute(START_STATE, {"sid": study_id}).one()
    if budget is not None and start.used >= budget:
        return None
    return insert_numbered(
        conn, study_id, start.next_number, state, worker, params, system_attrs,
        enqueued, retry_of, attempt, now,
    )  # fmt: skip


def insert_numbered(
    conn: Connection,
    study_id: int,
    number: int,
    state: TrialState,
    worker: str | None,
    params: Mapping[str, Any] | None,
    system_attrs: Mapping[str, Any] | None,
    enqueued: Mapping[str, Any] | None = None,
    retry_of: int | None = None,
    attempt: int = 0,
    now: float | None = None,
) -> FrozenTrial:
    """Insert trial `number` (the caller holds the study lock and chose the number)."""
    now = time.time() if now is None else now
    running = state is TrialState.RUNNING
    params_json = codec.dumps(params, "params") if params else "{}"
    attrs_json = codec.dumps(system_attrs, "system attributes") if system_attrs else "{}"
    enqueued_json = codec.dumps(enqueued, "enqueued values") if enqueued else "{}"
    trial_id = conn.execute(
        INSERT_TRIAL,
        dict(
            study_id=study_id,
            number=number,
            state=state.value,
            params_json=params_json,
            metrics_json="{}",
            worker=worker,
            heartbeat=now if running else None,
            datetime_start=now if running else None,
            user_attrs_json="{}",
            system_attrs_json=attrs_json,
            interrupted=False,
            retry_of=retry_of,
            attempt=attempt,
            enqueued_json=enqueued_json,
        ),
    ).scalar_one()
    return FrozenTrial(  # from the stored JSON, exactly as a later read returns it
        trial_id=trial_id,
        number=number,
        state=state,
        params=codec.loads(params_json),
        datetime_start=now if running else None,
        worker=worker,
        heartbeat=now if running else None,
        system_attrs=codec.loads(attrs_json),
        retry_of=retry_of,
        attempt=attempt,
        enqueued=codec.loads(enqueued_json),
    )


def claim_oldest(
    conn: Connection, study_id: int, worker: str, now: float, retries_only: bool = False
) -> FrozenTrial | None:
    """Move the oldest WAITING trial no other transaction holds to RUNNING; with
    `retries_only` (the budget is used up), only a queued retry: that is owed work."""
    oldest = OLDEST_RETRY if retries_only else OLDEST_WAITING
    row = conn.execute(oldest, {"sid": study_id}).first()
    if row is None:
        return None
    claimed = conn.execute(CLAIM, {"tid": row.trial_id, "b_worker": worker, "b_now": now}).first()
    return trial_record(claimed) if claimed is not None else None


def claim(
    conn: Connection, study_id: int, worker: str, budget: int | None, now: float, replay: bool
) -> FrozenTrial | None:
    """The oldest queued trial for `worker`, within `budget` unless it is a retry."""
    if replay and (mine := own_start(conn, study_id, worker, now)) is not None:
        return mine
    spent = False
    if budget is not None:
        lock_study(conn, study_id)
        spent = budget_used(conn, study_id) >= budget
    return claim_oldest(conn, study_id, worker, now, retries_only=spent)


def start(
    conn: Connection, study_id: int, worker: str, budget: int | None, now: float, replay: bool
) -> FrozenTrial | None:
    """The study lock, one statement that inserts the next trial when nothing waits and
    the budget allows (the common case), else the claim of a queued trial or the insert."""
    if replay and (mine := own_start(conn, study_id, worker, now)) is not None:
        return mine
    lock_study(conn, study_id)
    bound: dict[str, Any] = {"sid": study_id, "b_worker": worker, "b_now": now}
    if budget is not None:
        bound["budget"] = budget
    row = conn.execute(insert_next_statement(budget is not None), bound).first()
    if row is not None:
        return trial_record(row)
    state = conn.execute(START_STATE, {"sid": study_id}).one()
    spent = budget is not None and state.used >= budget
    if state.waiting:
        claimed = claim_oldest(conn, study_id, worker, now, retries_only=spent)
        if claimed is not None or spent:
            return claimed
    if spent:
        return None
    return insert_numbered(
        conn, study_id, state.next_number, TrialState.RUNNING, worker, None, None, now=now
    )


def own_start(conn: Connection, study_id: int, worker: str, now: float) -> FrozenTrial | None:
    """The trial `worker` started at `now`, if that start was committed."""
    row = conn.execute(OWN_START, {"sid": study_id, "b_worker": worker, "b_now": now}).first()
    return None if row is None else trial_record(row)


def queue_retry(conn: Connection, trial_id: int) -> FrozenTrial | None:
    """A WAITING trial that repeats FAIL trial `trial_id` with its parameters, once."""
    study_id = conn.execute(select(TR.c.study_id).where(TR.c.trial_id == trial_id)).scalar()
    if study_id is None:
        raise TrialError(f"no trial with id {trial_id}")
    lock_study(conn, study_id)  # the same lock order as every trial insert
    row = conn.execute(
        select(
            TR.c.state, TR.c.number, TR.c.params_json, TR.c.enqueued_json,
            TR.c.retried_by, TR.c.attempt,
        ).where(TR.c.trial_id == trial_id)
    ).one()  # fmt: skip
    if row.state != TrialState.FAIL.value or row.retried_by is not None:
        return None
    fixed = {**json_mapping(row.enqueued_json), **json_mapping(row.params_json)}
    new = insert_trial(
        conn, study_id, TrialState.WAITING, None, None, None, None, fixed,
        row.number, (row.attempt or 0) + 1,
    )  # fmt: skip
    assert new is not None  # no budget given: always inserted
    conn.execute(
        update(TR).where(TR.c.trial_id == trial_id).values(retried_by=new.number, interrupted=True)
    )
    return new

"""The statements a worker runs once per trial, built once: only their bind parameters
change from trial to trial, so SQLAlchemy finds each compiled form in its cache without
rebuilding the construct. Used by `SQLStorage` (storage.py)."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    String,
    Text,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    update,
)

from tunelab.storage.sql import schema
from tunelab.types import TrialState

S, TR, R = schema.studies, schema.trials, schema.reports
WAITING, RUNNING = TrialState.WAITING.value, TrialState.RUNNING.value

LOCK_STUDY = select(S.c.study_id).where(S.c.study_id == bindparam("sid")).with_for_update()
START_STATE = select(  # what starting a trial needs to know, in one statement
    select(func.count())
    .where(TR.c.study_id == bindparam("sid"), TR.c.state != WAITING, TR.c.interrupted.is_(False))
    .scalar_subquery()
    .label("used"),
    select(func.coalesce(func.max(TR.c.number), -1) + 1)
    .where(TR.c.study_id == bindparam("sid"))
    .scalar_subquery()
    .label("next_number"),
    exists().where(TR.c.study_id == bindparam("sid"), TR.c.state == WAITING).label("waiting"),
)
OLDEST_WAITING = (
    select(TR.c.trial_id)
    .where(TR.c.study_id == bindparam("sid"), TR.c.state == WAITING)
    .order_by(TR.c.number)
    .limit(1)
    .with_for_update(skip_locked=True)
)
OLDEST_RETRY = OLDEST_WAITING.where(TR.c.retry_of.is_not(None))  # owed even past the budget
CLAIM = (
    update(TR)
    .where(TR.c.trial_id == bindparam("tid"), TR.c.state == WAITING)
    .values(
        state=RUNNING,
        worker=bindparam("b_worker"),
        heartbeat=bindparam("b_now"),
        datetime_start=bindparam("b_now"),
    )
    .returning(*TR.c)
)
INSERT_TRIAL = insert(TR).returning(TR.c.trial_id)


@functools.cache
def insert_next_statement(with_budget: bool) -> Any:
    """INSERT of the next RUNNING trial, numbered in the statement, and only while no trial
    waits and the budget allows: a new trial in one round trip. No row: ask START_STATE."""
    sid = bindparam("sid", type_=Integer)
    now = bindparam("b_now", type_=Float)
    where = [~exists().where(TR.c.study_id == sid, TR.c.state == WAITING)]
    if with_budget:
        used = (
            select(func.count())
            .where(TR.c.study_id == sid, TR.c.state != WAITING, TR.c.interrupted.is_(False))
            .scalar_subquery()
        )
        where.append(used < bindparam("budget", type_=Integer))
    row = select(
        sid,
        select(func.coalesce(func.max(TR.c.number), -1) + 1)
        .where(TR.c.study_id == sid)
        .scalar_subquery(),
        literal(RUNNING, String),
        literal("{}", Text),
        literal("{}", Text),
        bindparam("b_worker", type_=String),
        now,
        now,
        literal("{}", Text),
        literal("{}", Text),
        false(),
    ).where(*where)
    columns = [
        "study_id", "number", "state", "params_json", "metrics_json", "worker", "heartbeat",
        "datetime_start", "user_attrs_json", "system_attrs_json", "interrupted",
    ]  # fmt: skip
    return insert(TR).from_select(columns, row).returning(*TR.c)


REPORTS = select(R).where(R.c.trial_id == bindparam("tid")).order_by(R.c.step)
STATE_AND_ATTRS = select(TR.c.state, TR.c.system_attrs_json).where(
    TR.c.trial_id == bindparam("tid")
)


@functools.cache
def finish_statement(with_params: bool, with_attrs: bool) -> Any:
    """UPDATE of a RUNNING trial to its final state, returning the stored row: the state
    test in the WHERE clause is what makes a late or second finish change nothing."""
    values: dict[str, Any] = dict(
        state=bindparam("b_state"),
        end_cause=bindparam("b_cause"),
        value=bindparam("b_value"),
        values_json=bindparam("b_values"),
        interrupted=bindparam("b_interrupted"),
        metrics_json=bindparam("b_metrics"),
        reason=bindparam("b_reason"),
        datetime_complete=bindparam("b_done"),
    )
    if with_params:
        values["params_json"] = bindparam("b_params")
    if with_attrs:
        values["system_attrs_json"] = bindparam("b_attrs")
    return (
        update(TR)
        .where(TR.c.trial_id == bindparam("tid"), TR.c.state == RUNNING)
        .values(**values)
        .returning(*TR.c)
    )


# A write whose connection broke may have committed: its retry looks for it first, by
# the time it stamped (and the worker, or the state it wrote).
OWN_START = select(TR).where(
    TR.c.study_id == bindparam("sid"),
    TR.c.worker == bindparam("b_worker"),
    TR.c.datetime_start == bindparam("b_now"),
    TR.c.state == RUNNING,
)
OWN_FINISH = select(TR).where(
    TR.c.trial_id == bindparam("tid"),
    TR.c.state == bindparam("b_state"),
    TR.c.datetime_complete == bindparam("b_done"),
)
OWN_REPORT = select(R.c.step).where(
    R.c.trial_id == bindparam("tid"), R.c.step == bindparam("step"), R.c.time == bindparam("t")
)

# A report, once an epoch of every trial: the trial's state and its last step in one
# read, then the row and the heartbeat it renews.
REPORT_CHECK = select(
    TR.c.state,
    select(func.max(R.c.step)).where(R.c.trial_id == TR.c.trial_id).scalar_subquery(),
).where(TR.c.trial_id == bindparam("tid"))
INSERT_REPORT = insert(R).values(
    trial_id=bindparam("tid"),
    step=bindparam("step"),
    metrics_json=bindparam("b_metrics"),
    time=bindparam("t"),
)
RENEW_HEARTBEAT = (
    update(TR).where(TR.c.trial_id == bindparam("tid")).values(heartbeat=bindparam("t"))
)

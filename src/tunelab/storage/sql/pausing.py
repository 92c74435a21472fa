"""Freeze-thaw in SQL: pausing a RUNNING trial, claiming a PAUSED one back, and putting
back to PAUSED a trial whose worker was lost, each a conditional UPDATE inside one write transaction (SQLite's are exclusive; PostgreSQL locks
the row first), so of two workers resuming one trial exactly one gets it.

Functions over an open Connection; SQLStorage runs them in its retried transactions and
tells them whether an earlier try may have committed (`replay`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from tunelab.errors import TrialError
from tunelab.storage import codec
from tunelab.storage.base import RESUMES_ATTR
from tunelab.storage.sql import schema
from tunelab.storage.sql.records import json_mapping
from tunelab.types import TrialState

TR, R = schema.trials, schema.reports
PAUSED, RUNNING = TrialState.PAUSED.value, TrialState.RUNNING.value


def _locked_row(conn: Connection, trial_id: int) -> Any:
    row = conn.execute(
        select(TR.c.state, TR.c.worker, TR.c.heartbeat, TR.c.system_attrs_json)
        .where(TR.c.trial_id == trial_id)
        .with_for_update()
    ).first()
    if row is None:
        raise TrialError(f"no trial with id {trial_id}")
    return row


def pause(
    conn: Connection,
    trial_id: int,
    extra: Mapping[str, Any] | None,
    reason: str | None,
    replay: bool,
) -> bool:
    """RUNNING -> PAUSED with `extra` merged into the system attributes; False when the
    trial was not RUNNING (True when it is PAUSED by an earlier try of this same call)."""
    row = _locked_row(conn, trial_id)
    if row.state != RUNNING:
        return replay and row.state == PAUSED
    values: dict[str, Any] = {"state": PAUSED, "heartbeat": None, "reason": reason}
    if extra:
        attrs = {**json_mapping(row.system_attrs_json), **extra}
        values["system_attrs_json"] = codec.dumps(attrs, "system attributes")
    done = conn.execute(
        update(TR).where(TR.c.trial_id == trial_id, TR.c.state == RUNNING).values(**values)
    ).rowcount
    return bool(done)


def repause(
    conn: Connection,
    trial_id: int,
    worker: str,
    step: int,
    extra: Mapping[str, Any],
    values: Mapping[str, Any],
    replay: bool,
) -> bool:
    """RUNNING (held by the lost `worker`) -> PAUSED at `step`: the reports after it go,
    `extra` is merged into the system attributes, `values` (the reason, the params) are
    set; False when the trial is not RUNNING or
    another worker holds it (True when an earlier try of this same call re-paused it)."""
    row = _locked_row(conn, trial_id)
    if row.state != RUNNING or row.worker != worker:
        return replay and row.state == PAUSED and row.worker == worker
    conn.execute(delete(R).where(R.c.trial_id == trial_id, R.c.step > step))
    attrs = {**json_mapping(row.system_attrs_json), **extra}
    done = conn.execute(
        update(TR)
        .where(TR.c.trial_id == trial_id, TR.c.state == RUNNING, TR.c.worker == worker)
        .values(
            **values,
            state=PAUSED,
            heartbeat=None,
            system_attrs_json=codec.dumps(attrs, "system attributes"),
        )
    ).rowcount
    return bool(done)


def merge_attrs(conn: Connection, trial_id: int, extra: Mapping[str, Any]) -> None:
    """Merge `extra` into a RUNNING trial's system attributes (TrialError otherwise)."""
    row = _locked_row(conn, trial_id)
    if row.state != RUNNING:
        raise TrialError(f"trial id {trial_id} is not RUNNING; it cannot be changed")
    attrs = {**json_mapping(row.system_attrs_json), **extra}
    conn.execute(
        update(TR)
        .where(TR.c.trial_id == trial_id)
        .values(system_attrs_json=codec.dumps(attrs, "system attributes"))
    )


def claim(
    conn: Connection, trial_id: int, worker: str, now: float, replay: bool
) -> Row[Any] | None:
    """PAUSED -> RUNNING for `worker` at time `now`, one more resumption counted; the
    stored row, or None when the trial was not PAUSED. A retry whose first try committed
    finds its own claim by the worker and the heartbeat it wrote."""
    row = _locked_row(conn, trial_id)
    if row.state != PAUSED:
        if replay and row.state == RUNNING and row.worker == worker and row.heartbeat == now:
            return conn.execute(select(TR).where(TR.c.trial_id == trial_id)).first()
        return None
    attrs = json_mapping(row.system_attrs_json)
    attrs[RESUMES_ATTR] = int(attrs.get(RESUMES_ATTR, 0)) + 1
    return conn.execute(
        update(TR)
        .where(TR.c.trial_id == trial_id, TR.c.state == PAUSED)
        .values(
            state=RUNNING,
            worker=worker,
            heartbeat=now,
            reason=None,
            system_attrs_json=codec.dumps(attrs, "system attributes"),
        )
        .returning(*TR.c)
    ).first()

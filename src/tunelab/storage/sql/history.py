"""What a SQL storage object keeps of finished trials between history reads.

Model-based samplers read a study's whole history at each suggestion. A finished trial
changes afterwards only in its user and system attributes and when a retry repeats it, and
takes no more reports, so its record and reports are kept in this process once read and
checked by one narrow query (its number and start time too, as SQLite may reuse the id of a
deleted trial). A read then fetches and decodes only the trials that are new, unfinished or
changed. Records holding lists or dicts are not kept: they are handed out fresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from tunelab.storage import codec
from tunelab.storage.codec import DamagedData
from tunelab.storage.sql import schema
from tunelab.storage.sql.records import report_damage, trial_records
from tunelab.trial import FrozenTrial, Report
from tunelab.trial.frozen import fresh_report, frozen_throughout
from tunelab.types import TrialState

TR, R = schema.trials, schema.reports
_FINISHED = frozenset(s.value for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
_MAX_LISTED_IDS = 256  # more trials whose reports are wanted: read the study's instead
_MAX_KEPT = 200_000  # finished trials whose records (and, apart, reports) are kept


class KeptRecords:
    """The finished trials' records and reports one storage object has read."""

    def __init__(self) -> None:
        # trial id -> (user attrs, system attrs as stored, record)
        self._trials: dict[int, tuple[str, str, FrozenTrial]] = {}
        # trial id -> (number, start time, reports)
        self._reports: dict[int, tuple[int, float, tuple[Report, ...]]] = {}

    def history(self, conn: Connection, study_id: int) -> list[FrozenTrial]:
        """Every trial of the study with its reports, in number order (see the module
        docstring for what is read again)."""
        narrow = conn.execute(
            select(
                TR.c.trial_id,
                TR.c.number,
                TR.c.datetime_start,
                TR.c.user_attrs_json,
                TR.c.system_attrs_json,
                TR.c.retried_by,
            )
            .where(TR.c.study_id == study_id)
            .order_by(TR.c.number)
        ).all()
        kept = self._trials
        out: list[FrozenTrial | None] = []
        wanted: set[int] = set()
        for tid, number, start, user, system, retried_by in narrow:
            hit = kept.get(tid)
            if (
                hit is not None
                and hit[0] == user
                and hit[1] == system
                and hit[2].retried_by == retried_by
                and hit[2].number == number
                and hit[2].datetime_start == start
            ):
                out.append(hit[2])
            else:
                out.append(None)
                wanted.add(tid)
        made: dict[int, FrozenTrial] = {}
        if wanted:
            query = select(TR).where(TR.c.study_id == study_id)
            if len(wanted) <= _MAX_LISTED_IDS:
                query = query.where(TR.c.trial_id.in_(sorted(wanted)))
            rows = [row for row in conn.execute(query).all() if row.trial_id in wanted]
            made = {
                t.trial_id: t for t in trial_records(rows, self.reports_of(conn, study_id, rows))
            }
            if len(kept) > _MAX_KEPT:
                kept.clear()
            for row in rows:
                t = made[row.trial_id]
                if (
                    row.state in _FINISHED
                    and row.datetime_start is not None
                    and frozen_throughout(t)
                ):
                    kept[row.trial_id] = (row.user_attrs_json, row.system_attrs_json, t)
        history = []
        for (tid, *_), known in zip(narrow, out, strict=True):
            record = known if known is not None else made.get(tid)  # None: deleted meanwhile
            if record is not None:
                history.append(record)
        return history

    def reports_of(
        self, conn: Connection, study_id: int, rows: Sequence[Row[Any]]
    ) -> dict[int, tuple[Report, ...]]:
        """The reports of the trials in `rows`: a history read of a multi-fidelity study
        fetches and decodes only the running trials' reports instead of tens of thousands."""
        kept = self._reports
        out: dict[int, tuple[Report, ...]] = {}
        wanted: list[int] = []
        for row in rows:
            hit = kept.get(row.trial_id)
            if hit is not None and hit[0] == row.number and hit[1] == row.datetime_start:
                out[row.trial_id] = hit[2]
            else:
                wanted.append(row.trial_id)
        if not wanted:
            return out
        rq = select(R.c.trial_id, R.c.step, R.c.metrics_json, R.c.time).order_by(
            R.c.trial_id, R.c.step
        )
        if len(wanted) > _MAX_LISTED_IDS:  # most of the study: one join over its reports
            rq = rq.join(TR, TR.c.trial_id == R.c.trial_id).where(TR.c.study_id == study_id)
        else:
            rq = rq.where(R.c.trial_id.in_(wanted))
        fetched: dict[int, list[Report]] = {}
        # built without Report's copies: each metrics dict is fresh from the decoder
        try:
            for tid, step, metrics, time_ in conn.execute(rq).all():
                fetched.setdefault(tid, []).append(fresh_report(step, codec.loads(metrics), time_))
        except (DamagedData, TypeError) as e:
            number = next(row.number for row in rows if row.trial_id == tid)
            raise report_damage(e, study_id, number, step) from None
        if len(kept) > _MAX_KEPT:
            kept.clear()
        for row in rows:
            tid = row.trial_id
            if tid in out:
                continue
            reports = out[tid] = tuple(fetched.get(tid, ()))
            if row.state in _FINISHED and row.datetime_start is not None:
                kept[tid] = (row.number, row.datetime_start, reports)
        return out

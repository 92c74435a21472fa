"""SQLStorage: every trial in a database through SQLAlchemy Core (SQLite or PostgreSQL)."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Row,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import exc as sa_exc

from tunelab.errors import StudyConflictError, TrialError
from tunelab.objectives import Constraint, Objective
from tunelab.storage import codec
from tunelab.storage.base import (
    BaseStorage,
    LockedView,
    Outcome,
    StudyRecord,
    StudySummary,
    TrialCounts,
    study_objectives,
)
from tunelab.storage.codec import DamagedData
from tunelab.storage.sql import pausing, schema, starts
from tunelab.storage.sql.engine import make_engine, normalize_url
from tunelab.storage.sql.history import KeptRecords
from tunelab.storage.sql.migrations import ensure_schema
from tunelab.storage.sql.records import (
    EncodedOutcome,
    encode_outcome,
    json_mapping,
    report_damage,
    stored_mapping,
    study_record,
    trial_record,
    trial_records,
)
from tunelab.storage.sql.retry import Retrier
from tunelab.storage.sql.statements import (
    INSERT_REPORT,
    OWN_FINISH,
    OWN_REPORT,
    RENEW_HEARTBEAT,
    REPORT_CHECK,
    REPORTS,
    RUNNING,
    STATE_AND_ATTRS,
    finish_statement,
)
from tunelab.trial import FrozenTrial, Report, feasible_attrs
from tunelab.types import Direction, EndCause, TrialState

T = TypeVar("T")

S, P, TR, R = schema.studies, schema.params, schema.trials, schema.reports


class SQLStorage(BaseStorage):
    """Storage in a SQL database. A bare path is taken as a SQLite file."""

    shared_across_processes = True

    def for_workers(self, fork: bool) -> BaseStorage | str:
        """A forked worker reuses this object (the caller closes its pool before the fork;
        its compiled statements and checked schema come along); others open the URL."""
        return self if fork else self.url

    def __init__(self, url: str, create_schema: bool = True, wait_s: float | None = None) -> None:
        """`wait_s`: how long a transaction waits for a held lock or a server that went
        away (default: TUNELAB_DB_WAIT_S, else 60 s; see retry.py)."""
        self.url = normalize_url(url)
        self._engine = make_engine(self.url, must_exist=not create_schema)
        self._postgres = self._engine.dialect.name == "postgresql"
        database = self._engine.url.database
        if self._engine.dialect.name == "sqlite" and database:
            self.local_file = Path(database).resolve()
        self.display_url = self._engine.url.render_as_string(hide_password=True)
        try:
            self._retrier = Retrier(self.display_url, wait_s)
            ensure_schema(self._engine, self.display_url, create_schema, self._retrier)
        except BaseException:
            self._engine.dispose()
            raise
        self._kept = KeptRecords()  # finished trials, between history reads

    # -- transactions ---------------------------------------------------------------------
    def _read(self, fn: Callable[[Connection], T], what: str) -> T:
        def run() -> T:
            with self._engine.connect() as conn, conn.begin():
                return fn(conn)

        try:
            return self._retrier.run(run, what)
        except DamagedData as e:
            raise self._named(e) from None

    def _write(self, fn: Callable[[Connection], T], what: str) -> T:
        def run() -> T:
            with self._engine.connect().execution_options(tunelab_write=True) as conn, conn.begin():
                return fn(conn)

        try:
            return self._retrier.run(run, what)
        except DamagedData as e:
            raise self._named(e) from None

    def _write_once(self, fn: Callable[[Connection, bool], T], what: str) -> T:
        """A write that must not happen twice: `fn(conn, replay)` is told whether an
        earlier try ran, whose commit may have reached the database although its answer
        was lost with the connection; it then looks for its own write first."""
        tries = itertools.count()
        return self._write(lambda conn: fn(conn, next(tries) > 0), what)

    def _named(self, damage: DamagedData) -> DamagedData:
        """The damage with its study's name for the id that decoding knew."""
        if not isinstance(damage.study, int):
            return damage
        try:
            with self._engine.connect() as conn:
                name = conn.execute(select(S.c.name).where(S.c.study_id == damage.study)).scalar()
        except sa_exc.SQLAlchemyError:
            return damage
        return damage if name is None else damage.at(study=name)

    def close(self) -> None:
        self._engine.dispose()

    # -- studies ---------------------------------------------------------------------------
    def create_study(
        self,
        name: str,
        metric: str,
        direction: Direction,
        sampler: Mapping[str, Any],
        settings: Mapping[str, Any],
        objectives: Sequence[Objective] = (),
        constraints: Sequence[Constraint] = (),
    ) -> StudyRecord:
        objectives = study_objectives(metric, Direction.parse(direction), objectives)
        values = dict(
            name=name,
            metric=metric,
            direction=Direction.parse(direction).value,
            sampler_json=codec.dumps(sampler, "sampler"),
            settings_json=codec.dumps(settings, "settings"),
            user_attrs_json="{}",
            created_at=time.time(),
            objectives_json=codec.dumps([o.to_json() for o in objectives], "objectives"),
            constraints_json=codec.dumps([c.to_json() for c in constraints], "constraints"),
        )

        def op(conn: Connection) -> StudyRecord:
            if conn.execute(select(S.c.study_id).where(S.c.name == name)).first():
                raise StudyConflictError(f"a study named {name!r} already exists")
            conn.execute(insert(S).values(**values))
            return study_record(conn.execute(select(S).where(S.c.name == name)).one())

        try:
            return self._write(op, f"creating study {name!r}")
        except sa_exc.IntegrityError:
            raise StudyConflictError(f"a study named {name!r} already exists") from None

    def get_study(self, name: str) -> StudyRecord | None:
        row = self._read(
            lambda c: c.execute(select(S).where(S.c.name == name)).first(),
            f"reading study {name!r}",
        )
        return study_record(row) if row else None

    def list_studies(self) -> list[StudySummary]:
        def op(conn: Connection) -> list[StudySummary]:
            records = [study_record(r) for r in conn.execute(select(S).order_by(S.c.study_id))]
            out = []
            for rec in records:
                best = None if rec.multi_objective else self._best_value(conn, rec)
                out.append(StudySummary(rec, self._counts(conn, rec.study_id), best))
            return out

        return self._read(op, "listing studies")

    @staticmethod
    def _best_value(conn: Connection, rec: StudyRecord) -> float | None:
        """The best value of a feasible COMPLETE trial: the first, best first, whose
        constraints hold (almost always the very first row)."""
        value = TR.c.value.desc() if rec.direction is Direction.MAXIMIZE else TR.c.value.asc()
        rows = conn.execute(
            select(TR.c.value, TR.c.system_attrs_json)
            .where(
                TR.c.study_id == rec.study_id,
                TR.c.state == TrialState.COMPLETE.value,
                TR.c.value.is_not(None),
            )
            .order_by(value, TR.c.number)
        )
        for best, attrs in rows:
            if attrs == "{}" or feasible_attrs(json_mapping(attrs)):
                return float(best)
        return None

    def set_study_setting(self, study_id: int, key: str, value: Any) -> StudyRecord:
        codec.dumps(value, f"setting {key!r}")

        def op(conn: Connection) -> StudyRecord:
            row = conn.execute(
                select(S.c.settings_json).where(S.c.study_id == study_id).with_for_update()
            ).first()
            if row is None:
                raise TrialError(f"no study with id {study_id}")
            settings = codec.loads(row.settings_json, {})
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
            conn.execute(
                update(S)
                .where(S.c.study_id == study_id)
                .values(settings_json=codec.dumps(settings, "settings"))
            )
            return study_record(conn.execute(select(S).where(S.c.study_id == study_id)).one())

        return self._write(op, f"changing the study setting {key!r}")

    def delete_study(self, name: str) -> bool:
        def op(conn: Connection) -> bool:
            sid = conn.execute(select(S.c.study_id).where(S.c.name == name)).scalar()
            if sid is None:
                return False
            trial_ids = select(TR.c.trial_id).where(TR.c.study_id == sid)
            conn.execute(delete(R).where(R.c.trial_id.in_(trial_ids)))
            conn.execute(delete(TR).where(TR.c.study_id == sid))
            conn.execute(delete(P).where(P.c.study_id == sid))
            conn.execute(delete(S).where(S.c.study_id == sid))
            return True

        return self._write(op, f"deleting study {name!r}")

    # -- space -----------------------------------------------------------------------------
    @staticmethod
    def _space(conn: Connection, study_id: int) -> list[dict[str, Any]]:
        rows = conn.execute(
            select(P.c.name, P.c.definition_json)
            .where(P.c.study_id == study_id)
            .order_by(P.c.position)
        )
        return [
            stored_mapping(
                r.definition_json, study_id, None, f"{P.name}.definition_json of {r.name!r}"
            )
            for r in rows
        ]

    def get_space(self, study_id: int) -> list[dict[str, Any]]:
        return self._read(lambda c: self._space(c, study_id), "reading the search space")

    def space_size(self, study_id: int) -> int:
        def op(conn: Connection) -> int:
            count = select(func.count()).select_from(P).where(P.c.study_id == study_id)
            return int(conn.execute(count).scalar_one())

        return self._read(op, "reading the search space")

    def register_params(
        self, study_id: int, entries: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        def op(conn: Connection) -> list[dict[str, Any]]:
            # PostgreSQL: without the lock, two workers registering the first parameter
            # at once both see none and the second insert fails its trial.
            starts.lock_study(conn, study_id)
            rows = conn.execute(select(P.c.name, P.c.position).where(P.c.study_id == study_id))
            known = {r.name: r.position for r in rows}
            position = max(known.values(), default=-1) + 1
            for entry in entries:
                if entry["name"] in known:
                    continue
                conn.execute(
                    insert(P).values(
                        study_id=study_id,
                        name=entry["name"],
                        position=position,
                        definition_json=codec.dumps(entry, "parameter definition"),
                    )
                )
                known[entry["name"]] = position
                position += 1
            return self._space(conn, study_id)

        return self._write(op, "registering hyperparameters")

    # -- trials ----------------------------------------------------------------------------
    def create_trial(
        self,
        study_id: int,
        state: TrialState,
        worker: str | None = None,
        params: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
        budget: int | None = None,
        enqueued: Mapping[str, Any] | None = None,
    ) -> FrozenTrial | None:
        state = TrialState(state)
        return self._write(
            lambda c: starts.insert_trial(
                c, study_id, state, worker, params, system_attrs, budget, enqueued
            ),
            "creating a trial",
        )

    def claim_waiting_trial(
        self, study_id: int, worker: str, budget: int | None = None
    ) -> FrozenTrial | None:
        waiting = (
            select(TR.c.trial_id)
            .where(TR.c.study_id == study_id, TR.c.state == TrialState.WAITING.value)
            .limit(1)
        )
        if self._read(lambda c: c.execute(waiting).first(), "looking for enqueued trials") is None:
            return None  # the common case, answered without taking the write lock
        now = time.time()  # with the worker, what tells a retry the trial it claimed
        return self._write_once(
            lambda c, replay: starts.claim(c, study_id, worker, budget, now, replay),
            "claiming an enqueued trial",
        )

    def start_trial(
        self, study_id: int, worker: str, budget: int | None = None
    ) -> FrozenTrial | None:
        """One write transaction (see starts.start)."""
        now = time.time()  # with the worker, what tells a retry the trial it started
        return self._write_once(
            lambda c, replay: starts.start(c, study_id, worker, budget, now, replay),
            "starting a trial",
        )

    def retry_trial(self, trial_id: int) -> FrozenTrial | None:
        return self._write(lambda c: starts.queue_retry(c, trial_id), "queueing a retry")

    def _update_running(self, conn: Connection, trial_id: int, **values: Any) -> None:
        done = conn.execute(
            update(TR)
            .where(TR.c.trial_id == trial_id, TR.c.state == TrialState.RUNNING.value)
            .values(**values)
        ).rowcount
        if not done:
            raise TrialError(f"trial id {trial_id} is not RUNNING; it cannot be changed")

    def set_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        text = codec.dumps(params, "params")
        self._write(lambda c: self._update_running(c, trial_id, params_json=text), "storing params")

    def add_report(self, trial_id: int, step: int, metrics: Mapping[str, float]) -> None:
        text = codec.dumps(metrics, "metrics")
        now = time.time()  # what tells a retry its own report

        def op(conn: Connection, replay: bool) -> None:
            bound = {"tid": trial_id, "step": step, "t": now}
            if replay and conn.execute(OWN_REPORT, bound).first():
                return
            found = conn.execute(REPORT_CHECK, bound).first()
            state, last = found if found is not None else (None, None)
            if state != TrialState.RUNNING.value:
                raise TrialError(f"trial id {trial_id} is {state}, not RUNNING; report refused")
            if last is not None and step <= last:
                raise TrialError(
                    f"report steps must increase, but trial id {trial_id} got step={step} "
                    f"after step={last}"
                )
            conn.execute(INSERT_REPORT, {**bound, "b_metrics": text})
            conn.execute(RENEW_HEARTBEAT, bound)

        try:
            self._write_once(op, "storing a report")
        except sa_exc.IntegrityError:
            raise TrialError(f"trial id {trial_id} already has a report at step {step}") from None

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        codec.dumps(value, f"user attribute {key!r}")

        def op(conn: Connection) -> None:
            text = conn.execute(
                select(TR.c.user_attrs_json).where(TR.c.trial_id == trial_id)
            ).scalar()
            if text is None:
                raise TrialError(f"no trial with id {trial_id}")
            attrs = {**codec.loads(text, {}), key: value}
            conn.execute(
                update(TR)
                .where(TR.c.trial_id == trial_id)
                .values(user_attrs_json=codec.dumps(attrs))
            )

        self._write(op, "storing a user attribute")

    def heartbeat(self, trial_ids: Sequence[int], now: float) -> None:
        if not trial_ids:
            return
        self._write(
            lambda c: c.execute(
                update(TR)
                .where(TR.c.trial_id.in_(list(trial_ids)), TR.c.state == TrialState.RUNNING.value)
                .values(heartbeat=now)
            ),
            "heartbeat",
        )

    @staticmethod
    def _finish(
        conn: Connection, trial_id: int, encoded: EncodedOutcome, done: float
    ) -> Row[Any] | None:
        """Finish a RUNNING trial at time `done`; its stored row, or None if it was not
        RUNNING. A retry whose first try committed finds that row by its state and time."""
        bound = {**encoded.bound, "tid": trial_id, "b_done": done}
        own = {"tid": trial_id, "b_state": encoded.bound["b_state"], "b_done": done}
        if encoded.extra:  # merged into the stored attributes: read them first
            row = conn.execute(STATE_AND_ATTRS, {"tid": trial_id}).first()
            if row is None:
                raise TrialError(f"no trial with id {trial_id}")
            if row.state != RUNNING:
                return conn.execute(OWN_FINISH, own).first()
            attrs = {**codec.loads(row.system_attrs_json, {}), **encoded.extra}
            bound["b_attrs"] = codec.dumps(attrs)
        statement = finish_statement(encoded.with_params, bool(encoded.extra))
        finished = conn.execute(statement, bound).first()
        if finished is None:
            finished = conn.execute(OWN_FINISH, own).first()
            if (
                finished is None
                and conn.execute(STATE_AND_ATTRS, {"tid": trial_id}).first() is None
            ):
                raise TrialError(f"no trial with id {trial_id}")
        return finished

    def finish(self, outcome: Outcome) -> bool:
        encoded, done = encode_outcome(outcome), time.time()
        return self._write(
            lambda c: self._finish(c, outcome.trial_id, encoded, done) is not None,
            "finishing a trial",
        )

    def _finish_outcome(
        self,
        conn: Connection,
        outcome: Outcome,
        encoded: EncodedOutcome,
        done: float,
        with_reports: bool,
    ) -> FrozenTrial | None:
        row = self._finish(conn, outcome.trial_id, encoded, done)
        if row is None:
            return None
        return trial_record(row, self._reports(conn, row) if with_reports else ())

    def finish_and_get_trial(
        self, outcome: Outcome, with_reports: bool = True
    ) -> FrozenTrial | None:
        """One write transaction: the UPDATE returns the stored row. On PostgreSQL the
        commit does not wait for its disk flush: the result is visible to every worker
        at once and survives any client crash; a crash of the server itself within
        wal_writer_delay (0.2 s by default) could lose it, and the next trial's start,
        which waits for its flush, makes it durable too. It halves the disk flushes per
        trial (one commit starts a trial, one finishes it)."""
        encoded, done = encode_outcome(outcome), time.time()

        def op(conn: Connection) -> FrozenTrial | None:
            if self._postgres:
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            return self._finish_outcome(conn, outcome, encoded, done, with_reports)

        return self._write(op, "finishing a trial")

    def pause_trial(
        self,
        trial_id: int,
        system_attrs: Mapping[str, Any] | None = None,
        reason: str | None = None,
    ) -> bool:
        extra = dict(system_attrs or {})
        codec.dumps(extra, "system attributes")
        return self._write_once(
            lambda c, replay: pausing.pause(c, trial_id, extra, reason, replay),
            "pausing a trial",
        )

    def repause_trial(
        self,
        trial_id: int,
        worker: str,
        step: int,
        system_attrs: Mapping[str, Any] | None = None,
        reason: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> bool:
        extra = dict(system_attrs or {})
        codec.dumps(extra, "system attributes")
        values: dict[str, Any] = {"reason": reason}
        if params is not None:
            values["params_json"] = codec.dumps(params, "params")
        return self._write_once(
            lambda c, replay: pausing.repause(c, trial_id, worker, step, extra, values, replay),
            "re-pausing a lost trial",
        )

    def set_system_attrs(self, trial_id: int, system_attrs: Mapping[str, Any]) -> None:
        extra = dict(system_attrs)
        codec.dumps(extra, "system attributes")
        self._write(lambda c: pausing.merge_attrs(c, trial_id, extra), "storing system attributes")

    def claim_paused_trial(self, trial_id: int, worker: str) -> FrozenTrial | None:
        now = time.time()  # with the worker, what tells a retry its own claim

        def op(conn: Connection, replay: bool) -> FrozenTrial | None:
            row = pausing.claim(conn, trial_id, worker, now, replay)
            return None if row is None else trial_record(row, self._reports(conn, row))

        return self._write_once(op, "resuming a paused trial")

    @staticmethod
    def _reports(conn: Connection, trial: Row[Any]) -> list[Report]:
        out = []
        for r in conn.execute(REPORTS, {"tid": trial.trial_id}):
            try:
                out.append(Report(r.step, codec.loads(r.metrics_json), r.time))
            except (DamagedData, TypeError) as e:
                raise report_damage(e, trial.study_id, trial.number, r.step) from None
        return out

    def get_trial(self, trial_id: int) -> FrozenTrial:
        def op(conn: Connection) -> FrozenTrial:
            row = conn.execute(select(TR).where(TR.c.trial_id == trial_id)).first()
            if row is None:
                raise TrialError(f"no trial with id {trial_id}")
            return trial_record(row, self._reports(conn, row))

        return self._read(op, "reading a trial")

    def _get_trials(
        self,
        conn: Connection,
        study_id: int,
        states: Sequence[TrialState] | None,
        with_reports: bool,
    ) -> list[FrozenTrial]:
        if states is None and with_reports:
            return self._kept.history(conn, study_id)
        query = select(TR).where(TR.c.study_id == study_id).order_by(TR.c.number)
        if states is not None:
            query = query.where(TR.c.state.in_([TrialState(s).value for s in states]))
        rows = conn.execute(query).all()
        by_trial: dict[int, tuple[Report, ...]] = {}
        if with_reports and rows:
            by_trial = self._kept.reports_of(conn, study_id, rows)
        return trial_records(rows, by_trial)

    def get_trials(
        self,
        study_id: int,
        states: Sequence[TrialState] | None = None,
        with_reports: bool = True,
    ) -> list[FrozenTrial]:
        return self._read(
            lambda c: self._get_trials(c, study_id, states, with_reports), "reading trials"
        )

    @staticmethod
    def _counts(conn: Connection, study_id: int) -> TrialCounts:
        rows = conn.execute(
            select(TR.c.state, TR.c.interrupted, func.count())
            .where(TR.c.study_id == study_id)
            .group_by(TR.c.state, TR.c.interrupted)
        )
        by_state: dict[TrialState, int] = {}
        interrupted = 0
        for state, was_interrupted, n in rows:
            try:
                known = TrialState(state)
            except ValueError:
                raise DamagedData(
                    f"a trial holds {state!r}, not one of {[s.value for s in TrialState]}",
                    study_id,
                    None,
                    f"{TR.name}.state",
                ) from None
            by_state[known] = by_state.get(known, 0) + n
            interrupted += n if was_interrupted else 0
        return TrialCounts(by_state, interrupted)

    def count_trials(self, study_id: int) -> TrialCounts:
        return self._read(lambda c: self._counts(c, study_id), "counting trials")

    def locked(self, study_id: int, fn: Callable[[LockedView], T]) -> T:
        now = time.time()

        def op(conn: Connection, replay: bool) -> T:
            starts.lock_study(conn, study_id)
            return fn(_SQLView(self, conn, study_id, now, replay))

        return self._write_once(op, "a locked study operation")

    def fail_lost_trials(
        self,
        study_id: int,
        is_lost: Callable[[FrozenTrial], bool],
        reason: str,
        cause: EndCause = EndCause.LOST,
    ) -> list[int]:
        """As the base class, but a heartbeat missed while this process waited for the
        database does not count: after a server restart or a long-held lock, the other
        workers get their full grace to beat again before they are judged lost."""
        resumed = self._retrier.resumed_at

        def judged(t: FrozenTrial) -> bool:
            if resumed and (t.heartbeat or t.datetime_start or resumed) < resumed:
                t = dataclasses.replace(t, heartbeat=resumed)
            return is_lost(t)

        return super().fail_lost_trials(study_id, judged, reason, cause)


class _SQLView(LockedView):
    def __init__(
        self, storage: SQLStorage, conn: Connection, study_id: int, now: float, replay: bool
    ) -> None:
        self._s, self._c, self._id = storage, conn, study_id
        self._now, self._replay = now, replay

    def get_trials(self) -> list[FrozenTrial]:
        return self._s._get_trials(self._c, self._id, None, False)

    def create_trial(
        self, state: TrialState, worker: str | None, budget: int | None = None
    ) -> FrozenTrial | None:
        state = TrialState(state)
        if self._replay and state is TrialState.RUNNING and worker is not None:
            mine = starts.own_start(self._c, self._id, worker, self._now)
            if mine is not None:
                return mine
        return starts.insert_trial(
            self._c, self._id, state, worker, None, None, budget, now=self._now
        )

    def set_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        self._s._update_running(self._c, trial_id, params_json=codec.dumps(params, "params"))

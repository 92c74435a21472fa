"""In-memory storage: for tests, notebooks and single-process studies."""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from tunelab.errors import StudyConflictError, TrialError
from tunelab.objectives import Constraint, Objective
from tunelab.storage import codec
from tunelab.storage.base import (
    RESUMES_ATTR,
    BaseStorage,
    LockedView,
    Outcome,
    StudyRecord,
    StudySummary,
    TrialCounts,
    study_objectives,
)
from tunelab.trial import FrozenTrial, Report, best_trial
from tunelab.trial.frozen import evolve, frozen_throughout, holds_containers
from tunelab.types import Direction, TrialState

T = TypeVar("T")


_PLAIN = (str, int, bool, type(None))


def _flat_plain(obj: Any) -> bool:
    """A dict of plain scalars under plain keys: JSON gives it back equal to itself."""
    if type(obj) is not dict:
        return False
    for key, value in obj.items():
        if type(key) is not str or key.startswith("$"):
            return False
        kind = type(value)
        if kind not in _PLAIN and not (kind is float and math.isfinite(value)):
            return False
    return True


def _json(obj: Any, what: str) -> Any:
    """Round-trip through JSON so memory behaves exactly like SQL storage. A flat dict
    of plain scalars (every parameter set, most reports) comes back equal to itself, so
    it is copied without the round trip."""
    if _flat_plain(obj):
        return dict(obj)
    return codec.loads(codec.dumps(obj, what))


def _copy_json(obj: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars: all this storage holds went
    through `_json`), several times faster than copy.deepcopy."""
    if type(obj) is dict:
        return {k: _copy_json(v) for k, v in obj.items()}
    if type(obj) is list:
        return [_copy_json(v) for v in obj]
    return obj


def _own(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """The mapping itself when its values are immutable, else a deep copy."""
    return _copy_json(dict(mapping)) if holds_containers(mapping) else mapping


def _detached(t: FrozenTrial) -> FrozenTrial:
    """A record that shares no mutable value with what the storage holds, so a caller that
    changes a list inside `params` changes neither storage nor other callers' records."""
    return evolve(
        t,
        params=_own(t.params),
        metrics=_own(t.metrics),
        user_attrs=_own(t.user_attrs),
        system_attrs=_own(t.system_attrs),
        enqueued=_own(t.enqueued),
        reports=tuple(replace(r, metrics=_own(r.metrics)) for r in t.reports),
    )


def _tally_key(t: FrozenTrial) -> tuple[TrialState, bool]:
    """(state, left out of the budget although finished)."""
    return t.state, t.state is not TrialState.WAITING and not t.counts_toward_budget


def _detached_study(r: StudyRecord) -> StudyRecord:
    return replace(
        r, sampler=_own(r.sampler), settings=_own(r.settings), user_attrs=_own(r.user_attrs)
    )


class InMemoryStorage(BaseStorage):
    """A storage that lives in this process's memory: fast, private, gone at exit.

    The default of `create_study(storage=None)` is a SQLite file; pass `storage=":memory:"` (or
    this object) for a study nothing else needs to read. Workers in other processes cannot
    share it (use SQLite or PostgreSQL for that).
    """

    url = ":memory:"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[str, StudyRecord] = {}
        self._spaces: dict[int, list[dict[str, Any]]] = {}
        self._trials: dict[int, FrozenTrial] = {}
        self._study_of: dict[int, int] = {}
        # Indexes, so reading a study of a thousand trials copies nothing it need not:
        self._listed: dict[int, list[FrozenTrial]] = {}  # study -> its records, by number
        self._private: set[int] = set()  # records holding a list or dict: copied when read
        self._bare: dict[int, FrozenTrial] = {}  # records without reports, made when asked
        self._waiting: dict[int, dict[int, None]] = {}  # study -> WAITING trial ids, oldest first
        self._tally: dict[int, dict[tuple[TrialState, bool], int]] = {}  # (state, interrupted)
        self._ids = itertools.count(1)
        self._trial_ids = itertools.count(1)

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
        with self._lock:
            objectives = study_objectives(metric, Direction.parse(direction), objectives)
            if name in self._studies:
                raise StudyConflictError(f"a study named {name!r} already exists")
            record = StudyRecord(
                next(self._ids),
                name,
                metric,
                Direction.parse(direction),
                _json(sampler, "sampler"),
                _json(settings, "settings"),
                time.time(),
                objectives=tuple(objectives),
                constraints=tuple(constraints),
            )
            self._studies[name] = record
            self._spaces[record.study_id] = []
            self._listed[record.study_id] = []
            self._waiting[record.study_id] = {}
            self._tally[record.study_id] = {}
            return _detached_study(record)

    def get_study(self, name: str) -> StudyRecord | None:
        record = self._studies.get(name)
        return _detached_study(record) if record is not None else None

    def list_studies(self) -> list[StudySummary]:
        with self._lock:
            out = []
            for record in self._studies.values():
                trials = self.get_trials(record.study_id, with_reports=False)
                best = None if record.multi_objective else best_trial(trials, record.direction)
                out.append(
                    StudySummary(
                        _detached_study(record),
                        self.count_trials(record.study_id),
                        best.value if best else None,
                    )
                )
            return out

    def delete_study(self, name: str) -> bool:
        with self._lock:
            record = self._studies.pop(name, None)
            if record is None:
                return False
            self._waiting.pop(record.study_id, None)
            self._tally.pop(record.study_id, None)
            for t in self._listed.pop(record.study_id, []):
                tid = t.trial_id
                del self._trials[tid], self._study_of[tid]
                self._bare.pop(tid, None)
                self._private.discard(tid)
            self._spaces.pop(record.study_id, None)
            return True

    # -- space -----------------------------------------------------------------------------
    def get_space(self, study_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [_copy_json(entry) for entry in self._spaces.get(study_id, [])]

    def space_size(self, study_id: int) -> int:
        with self._lock:
            return len(self._spaces.get(study_id, []))

    def register_params(
        self, study_id: int, entries: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        with self._lock:
            space = self._spaces[study_id]
            known = {e["name"] for e in space}
            for entry in entries:
                if entry["name"] not in known:
                    space.append(_json(entry, "parameter definition"))
                    known.add(entry["name"])
            return self.get_space(study_id)

    # -- trials ----------------------------------------------------------------------------
    def _put(self, trial: FrozenTrial, shareable: bool | None = None) -> FrozenTrial:
        """Store a record; `shareable` says `frozen_throughout(trial)` if the caller knows."""
        tid = trial.trial_id
        sid = self._study_of[tid]
        tally = self._tally[sid]
        old = self._trials.get(tid)
        if old is not None:
            tally[_tally_key(old)] -= 1
        key = _tally_key(trial)
        tally[key] = tally.get(key, 0) + 1
        if trial.state is TrialState.WAITING:
            self._waiting[sid][tid] = None
        else:
            self._waiting[sid].pop(tid, None)
        self._trials[tid] = trial
        listed = self._listed[sid]  # a trial's position in its study is its number
        if trial.number < len(listed):
            listed[trial.number] = trial
        else:
            listed.append(trial)
        self._bare.pop(tid, None)
        if shareable if shareable is not None else frozen_throughout(trial):
            self._private.discard(tid)
            return trial
        self._private.add(tid)
        return _detached(trial)

    def _read(self, tid: int, with_reports: bool = True) -> FrozenTrial:
        """The stored record, copied only where a caller could change what it holds."""
        t = self._trials[tid]
        if not with_reports and t.reports:
            bare = self._bare.get(tid)
            if bare is None:
                bare = self._bare[tid] = evolve(t, reports=())
            t = bare
        return _detached(t) if tid in self._private else t

    def _running(self, trial_id: int) -> FrozenTrial:
        trial = self.get_trial(trial_id)
        if trial.state is not TrialState.RUNNING:
            raise TrialError(f"trial {trial.number} is {trial.state.value}, not RUNNING")
        return trial

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
        return self._create(study_id, state, worker, params, system_attrs, budget, enqueued)

    def _create(
        self,
        study_id: int,
        state: TrialState,
        worker: str | None,
        params: Mapping[str, Any] | None,
        system_attrs: Mapping[str, Any] | None,
        budget: int | None,
        enqueued: Mapping[str, Any] | None,
        retry_of: int | None = None,
        attempt: int = 0,
    ) -> FrozenTrial | None:
        with self._lock:
            if budget is not None and self.count_trials(study_id).budget_used >= budget:
                return None
            number = len(self._listed[study_id])  # _put appends the record there
            now = time.time()
            trial = FrozenTrial(
                trial_id=next(self._trial_ids),
                number=number,
                state=TrialState(state),
                params=_json(params or {}, "params"),
                datetime_start=now if state is TrialState.RUNNING else None,
                worker=worker,
                heartbeat=now if state is TrialState.RUNNING else None,
                system_attrs=_json(system_attrs or {}, "system attributes"),
                enqueued=_json(enqueued or {}, "enqueued values"),
                retry_of=retry_of,
                attempt=attempt,
            )
            self._study_of[trial.trial_id] = study_id
            return self._put(trial)

    def claim_waiting_trial(
        self, study_id: int, worker: str, budget: int | None = None
    ) -> FrozenTrial | None:
        with self._lock:
            spent = budget is not None and self.count_trials(study_id).budget_used >= budget
            for tid in self._waiting.get(study_id, {}):
                t = self._trials[tid]
                if t.state is TrialState.WAITING and (t.retry_of is not None or not spent):
                    now = time.time()
                    return self._put(
                        evolve(
                            t,
                            state=TrialState.RUNNING,
                            worker=worker,
                            datetime_start=now,
                            heartbeat=now,
                        )
                    )
            return None

    def set_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        with self._lock:
            found = self._trials.get(trial_id)
            t = found if found is not None and found.state is TrialState.RUNNING else None
            if t is None:
                t = self._running(trial_id)  # raises, naming the problem
            if not _flat_plain(params):
                self._put(evolve(t, params=_json(params, "params")))
                return
            # Only the parameters change (a model-based sampler's study writes them one at
            # a time): the state, so the tallies and the waiting list, stays; a record that
            # was shareable stays so with plain values.
            t = evolve(t, params=dict(params))
            self._trials[trial_id] = t
            self._listed[self._study_of[trial_id]][t.number] = t
            self._bare.pop(trial_id, None)

    def add_report(self, trial_id: int, step: int, metrics: Mapping[str, float]) -> None:
        with self._lock:
            t = self._running(trial_id)
            if t.reports and step <= t.reports[-1].step:
                raise TrialError(
                    f"report steps must increase, but trial {t.number} got step={step} "
                    f"after step={t.reports[-1].step}"
                )
            report = Report(step, _json(metrics, "metrics"), time.time())
            self._put(evolve(t, reports=(*t.reports, report)))

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            t = self.get_trial(trial_id)
            attrs = {**t.user_attrs, key: _json(value, f"user attribute {key!r}")}
            self._put(evolve(t, user_attrs=attrs))

    def heartbeat(self, trial_ids: Sequence[int], now: float) -> None:
        with self._lock:
            for tid in trial_ids:
                t = self._trials.get(tid)
                if t is not None and t.state is TrialState.RUNNING:
                    self._put(evolve(t, heartbeat=now))

    def finish(self, outcome: Outcome) -> bool:
        with self._lock:
            t = self.get_trial(outcome.trial_id)
            if t.state is not TrialState.RUNNING:
                return False
            values = outcome.values
            if values is not None and any(math.isnan(v) for v in values):
                values = None  # as in SQL, which has no NaN
            self._put(
                evolve(
                    t,
                    state=outcome.state,
                    values=values,
                    end_cause=outcome.end_cause,
                    metrics=_json(outcome.metrics or {}, "metrics"),
                    params=(
                        _json(outcome.params, "params") if outcome.params is not None else t.params
                    ),
                    reason=outcome.reason,
                    datetime_complete=time.time(),
                    system_attrs={
                        **t.system_attrs,
                        **_json(outcome.system_attrs or {}, "system attributes"),
                    },
                )
            )
            return True

    def pause_trial(
        self,
        trial_id: int,
        system_attrs: Mapping[str, Any] | None = None,
        reason: str | None = None,
    ) -> bool:
        with self._lock:
            t = self.get_trial(trial_id)
            if t.state is not TrialState.RUNNING:
                return False
            self._put(_paused(t, system_attrs, reason))
            return True

    def repause_trial(
        self,
        trial_id: int,
        worker: str,
        step: int,
        system_attrs: Mapping[str, Any] | None = None,
        reason: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> bool:
        with self._lock:
            t = self.get_trial(trial_id)
            if t.state is not TrialState.RUNNING or t.worker != worker:
                return False
            kept = tuple(r for r in t.reports if r.step <= step)
            values = t.params if params is None else _json(params, "params")
            self._put(_paused(evolve(t, reports=kept, params=values), system_attrs, reason))
            return True

    def set_system_attrs(self, trial_id: int, system_attrs: Mapping[str, Any]) -> None:
        with self._lock:
            t = self._running(trial_id)  # raises, naming the problem
            extra = _json(dict(system_attrs), "system attributes")
            self._put(evolve(t, system_attrs={**t.system_attrs, **extra}))

    def claim_paused_trial(self, trial_id: int, worker: str) -> FrozenTrial | None:
        with self._lock:
            t = self.get_trial(trial_id)
            if t.state is not TrialState.PAUSED:
                return None
            resumes = t.system_attrs.get(RESUMES_ATTR, 0)
            attrs = {**t.system_attrs, RESUMES_ATTR: resumes + 1}
            changed = evolve(
                t,
                state=TrialState.RUNNING,
                worker=worker,
                heartbeat=time.time(),
                reason=None,
                system_attrs=_copy_json(attrs),
            )
            return self._put(changed)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        try:
            return self._read(trial_id)
        except KeyError:
            raise TrialError(f"no trial with id {trial_id}") from None

    def get_trials(
        self,
        study_id: int,
        states: Sequence[TrialState] | None = None,
        with_reports: bool = True,
    ) -> list[FrozenTrial]:
        with self._lock:
            trials = self._listed.get(study_id, [])
            if states is not None:
                wanted = set(states)
                trials = [t for t in trials if t.state in wanted]
            if with_reports and not self._private:
                return list(trials)
            return [self._read(t.trial_id, with_reports) for t in trials]

    def count_trials(self, study_id: int) -> TrialCounts:
        with self._lock:
            tally = list(self._tally.get(study_id, {}).items())
        counts: dict[TrialState, int] = {}
        interrupted = 0
        for (state, was_interrupted), n in tally:
            if n:
                counts[state] = counts.get(state, 0) + n
                interrupted += n if was_interrupted else 0
        return TrialCounts(counts, interrupted)

    def locked(self, study_id: int, fn: Callable[[LockedView], T]) -> T:
        with self._lock:
            saved = (
                dict(self._trials),
                dict(self._study_of),
                {sid: list(trials) for sid, trials in self._listed.items()},
                set(self._private),
                {sid: dict(ids) for sid, ids in self._waiting.items()},
                {sid: dict(tally) for sid, tally in self._tally.items()},
            )
            try:
                return fn(_MemoryView(self, study_id))
            except BaseException:  # one transaction: all of it or nothing
                (
                    self._trials,
                    self._study_of,
                    self._listed,
                    self._private,
                    self._waiting,
                    self._tally,
                ) = saved
                self._bare.clear()
                raise

    # -- operations: stop flags and retries (see BaseStorage) --------------------------------
    def set_study_setting(self, study_id: int, key: str, value: Any) -> StudyRecord:
        with self._lock:
            record = next((r for r in self._studies.values() if r.study_id == study_id), None)
            if record is None:
                raise TrialError(f"no study with id {study_id}")
            settings = {k: v for k, v in record.settings.items() if k != key}
            if value is not None:
                settings[key] = _json(value, f"setting {key!r}")
            self._studies[record.name] = replace(record, settings=settings)
            return _detached_study(self._studies[record.name])

    def retry_trial(self, trial_id: int) -> FrozenTrial | None:
        with self._lock:
            t = self.get_trial(trial_id)
            if t.state is not TrialState.FAIL or t.retried_by is not None:
                return None
            new = self._create(
                self._study_of[trial_id],
                TrialState.WAITING,
                None,
                None,
                None,
                None,
                {**t.enqueued, **t.params},
                retry_of=t.number,
                attempt=t.attempt + 1,
            )
            assert new is not None  # no budget given: always created
            self._put(evolve(t, retried_by=new.number))
            return new


class _MemoryView(LockedView):
    def __init__(self, storage: InMemoryStorage, study_id: int) -> None:
        self._s, self._id = storage, study_id

    def get_trials(self) -> list[FrozenTrial]:
        return self._s.get_trials(self._id, with_reports=False)

    def create_trial(
        self, state: TrialState, worker: str | None, budget: int | None = None
    ) -> FrozenTrial | None:
        return self._s.create_trial(self._id, state, worker, budget=budget)

    def set_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        self._s.set_params(trial_id, params)


def _paused(
    t: FrozenTrial, system_attrs: Mapping[str, Any] | None, reason: str | None
) -> FrozenTrial:
    """The record of `t` PAUSED: no heartbeat, `system_attrs` merged into its own."""
    extra = _json(system_attrs or {}, "system attributes")
    return evolve(
        t,
        state=TrialState.PAUSED,
        heartbeat=None,
        reason=reason,
        system_attrs={**t.system_attrs, **extra},
    )

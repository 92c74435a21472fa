"""The per-trial path of the storage contract on every backend: `start_trial`,
`finish_and_get_trial` and `finish_and_start_trial` (what a worker calls once per trial;
SQL storage does each in one transaction)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunelab.errors import TrialError
from tunelab.storage import BaseStorage, InMemoryStorage, StudyRecord
from tunelab.storage.base import Outcome
from tunelab.storage.sql import SQLStorage
from tunelab.testing.storage_conformance import _run_threads, _snapshot
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

RUNNING, WAITING = TrialState.RUNNING, TrialState.WAITING
COMPLETE, FAIL = TrialState.COMPLETE, TrialState.FAIL


class TrialPathContract:
    """Subclasses give `storage` (and `open_again` for a second handle on the same data)."""

    def open_again(self, storage: BaseStorage) -> BaseStorage:
        return storage

    @pytest.fixture
    def study(self, storage: BaseStorage) -> StudyRecord:
        return storage.create_study("s", "loss", Direction.MINIMIZE, {"name": "random"}, {})

    def test_start_creates_the_next_numbered_running_trial(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        first = storage.start_trial(sid, "w1")
        second = storage.start_trial(sid, "w2")
        assert first is not None and second is not None
        assert (first.number, second.number) == (0, 1)
        assert second.state is RUNNING and second.worker == "w2"
        assert second.datetime_start is not None and second.heartbeat is not None
        assert _snapshot(second) == _snapshot(storage.get_trial(second.trial_id))

    def test_start_claims_waiting_trials_oldest_first(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        storage.create_trial(sid, RUNNING, "w")
        for x in (10, 20):
            storage.create_trial(sid, WAITING, system_attrs={"fixed_params": {"x": x}})
        got = [storage.start_trial(sid, f"w{i}") for i in range(3)]
        assert [t.number for t in got if t] == [1, 2, 3]  # two claimed, then a new one
        claimed = got[0]
        assert claimed is not None and claimed.worker == "w0" and claimed.state is RUNNING
        assert dict(claimed.system_attrs) == {"fixed_params": {"x": 10}}
        assert _snapshot(claimed) == _snapshot(storage.get_trial(claimed.trial_id))
        assert storage.get_trials(sid, [WAITING]) == []

    def test_start_respects_the_budget_and_leaves_the_queue(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        lost = storage.create_trial(sid, FAIL, system_attrs={"interrupted": True})
        assert lost is not None  # interrupted: does not count toward the budget
        assert storage.start_trial(sid, "w", budget=1) is not None
        storage.create_trial(sid, WAITING)
        assert storage.start_trial(sid, "w", budget=1) is None
        assert len(storage.get_trials(sid, [WAITING])) == 1  # not claimed past the budget
        claimed = storage.start_trial(sid, "w", budget=2)
        assert claimed is not None and claimed.number == 2

    def test_concurrent_starts_claim_each_queued_trial_once_within_budget(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        for x in range(10):
            storage.create_trial(sid, WAITING, system_attrs={"fixed_params": {"x": x}})
        handles = [self.open_again(storage) for _ in range(4)]
        got: list[FrozenTrial] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            while (t := handles[i].start_trial(sid, f"w{i}", budget=25)) is not None:
                with lock:
                    got.append(t)

        try:
            _run_threads(4, work)
        finally:
            for h in handles:
                if h is not storage:
                    h.close()
        assert sorted(t.number for t in got) == list(range(25))
        queued = [t.system_attrs["fixed_params"]["x"] for t in got if t.system_attrs]
        assert sorted(queued) == list(range(10))  # every queued trial claimed exactly once
        assert storage.count_trials(sid).total == 25

    def test_finish_and_get_returns_the_stored_record(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w", system_attrs={"a": 1})
        assert t is not None
        storage.add_report(t.trial_id, 0, {"loss": 2.0})
        outcome = Outcome(
            t.trial_id,
            COMPLETE,
            value=1.5,
            metrics={"loss": 1.5},
            params={"x": [1, 2]},
            system_attrs={"b": 2},
        )
        got = storage.finish_and_get_trial(outcome)
        assert got is not None
        assert _snapshot(got) == _snapshot(storage.get_trial(t.trial_id))
        assert got.state is COMPLETE and got.value == 1.5 and dict(got.params) == {"x": [1, 2]}
        assert dict(got.system_attrs) == {"a": 1, "b": 2}  # merged, as finish_trial does
        assert [r.step for r in got.reports] == [0]

    def test_finish_and_get_without_reports_and_without_attrs(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w", system_attrs={"a": 1})
        assert t is not None
        storage.add_report(t.trial_id, 0, {"loss": 2.0})
        got = storage.finish_and_get_trial(
            Outcome(t.trial_id, FAIL, reason="boom"), with_reports=False
        )
        assert got is not None and got.reports == ()
        stored = storage.get_trial(t.trial_id)
        assert (got.state, got.reason, dict(got.system_attrs)) == (FAIL, "boom", {"a": 1})
        assert _snapshot(got) == {**_snapshot(stored), "reports": []}

    def test_finish_and_get_refuses_a_trial_that_is_not_running(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w")
        assert t is not None
        assert storage.finish_trial(t.trial_id, FAIL, reason="worker lost")
        before = _snapshot(storage.get_trial(t.trial_id))
        late = Outcome(t.trial_id, COMPLETE, value=1.0, system_attrs={"late": True})
        assert storage.finish_and_get_trial(late) is None
        assert storage.finish_and_get_trial(Outcome(t.trial_id, COMPLETE, value=1.0)) is None
        assert _snapshot(storage.get_trial(t.trial_id)) == before  # nothing changed
        with pytest.raises(TrialError):
            storage.finish_and_get_trial(Outcome(10**9, COMPLETE, value=1.0))

    def test_finish_and_start_counts_the_finish_toward_the_budget(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        first = storage.start_trial(sid, "w", budget=2)
        assert first is not None
        done, nxt = storage.finish_and_start_trial(
            Outcome(first.trial_id, COMPLETE, value=1.0), sid, "w", budget=2
        )
        assert done is not None and done.state is COMPLETE and done.value == 1.0
        assert nxt is not None and nxt.number == 1 and nxt.state is RUNNING
        assert _snapshot(nxt) == _snapshot(storage.get_trial(nxt.trial_id))
        done, last = storage.finish_and_start_trial(
            Outcome(nxt.trial_id, COMPLETE, value=2.0), sid, "w", budget=2
        )
        assert done is not None and last is None  # the budget is used
        assert storage.count_trials(sid)[COMPLETE] == 2 and storage.count_trials(sid).total == 2

    def test_finish_and_start_starts_even_when_the_finish_is_refused(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        t = storage.start_trial(sid, "w")
        assert t is not None
        storage.finish_trial(
            t.trial_id, FAIL, reason="worker lost", system_attrs={"interrupted": True}
        )
        done, nxt = storage.finish_and_start_trial(
            Outcome(t.trial_id, COMPLETE, value=1.0), sid, "w", budget=1
        )
        assert done is None  # the late result is refused
        assert nxt is not None and nxt.number == 1  # the lost trial does not use the budget
        assert storage.get_trial(t.trial_id).state is FAIL


class TestInMemory(TrialPathContract):
    @pytest.fixture
    def storage(self) -> BaseStorage:
        return InMemoryStorage()


class TestSQLite(TrialPathContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[BaseStorage]:
        store = SQLStorage(str(tmp_path / "studies.db"))
        try:
            yield store
        finally:
            store.close()

    def open_again(self, storage: BaseStorage) -> BaseStorage:
        return SQLStorage(storage.url)


class TestPostgreSQL(TrialPathContract):
    @pytest.fixture
    def storage(self, postgres_url: str) -> Iterator[BaseStorage]:
        store = SQLStorage(postgres_url)
        try:
            yield store
        finally:
            store.close()

    def open_again(self, storage: BaseStorage) -> BaseStorage:
        return SQLStorage(storage.url)

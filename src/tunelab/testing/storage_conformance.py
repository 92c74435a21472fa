"""The storage conformance suite: the `BaseStorage` contract, as tests.

Subclass `StorageConformance` in a test module and implement `make_storage`:

    class TestMyStorage(StorageConformance):
        def make_storage(self, tmp_path):
            return MyStorage(tmp_path / "db")

Every test then runs on that backend. `open_again` may return a second handle on
the same data (another connection), so that records handed out by one handle are
checked against writes made through another.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tunelab.errors import StorageError, StudyConflictError, TrialError
from tunelab.storage.base import BaseStorage, LockedView, Outcome, StudyRecord
from tunelab.testing.storage_objectives import ObjectivesConformance
from tunelab.testing.storage_pausing import PausingConformance
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, EndCause, TrialState

RUNNING, WAITING = TrialState.RUNNING, TrialState.WAITING
COMPLETE, FAIL, PRUNED = TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED


def _snapshot(trial: FrozenTrial) -> dict[str, Any]:
    """Every field of a record as plain values, to compare before and after."""
    out = {f.name: getattr(trial, f.name) for f in dataclasses.fields(trial)}
    for name in ("params", "metrics", "user_attrs", "system_attrs", "enqueued"):
        out[name] = dict(out[name])
    out["reports"] = [(r.step, dict(r.metrics), r.time) for r in trial.reports]
    return out


def _run_threads(n: int, target: Callable[[int], object]) -> None:
    """Run `target(i)` on n threads that start together; re-raise the first error."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as e:  # handed to the test thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]


class StorageConformance(ObjectivesConformance, PausingConformance):
    """Tests every storage backend must pass. Subclasses implement `make_storage`."""

    def make_storage(self, tmp_path: Path) -> BaseStorage:
        raise NotImplementedError("a conformance test class must implement make_storage()")

    def open_again(self, storage: BaseStorage) -> BaseStorage:
        """A second handle on the same data; backends without one return `storage`."""
        return storage

    def on_handles(
        self, storage: BaseStorage, n: int, target: Callable[[BaseStorage, int], object]
    ) -> None:
        """Run `target(handle, i)` on n threads that start together, each with its own
        handle (`open_again`), as n workers would; the handles are closed afterwards."""
        handles = [self.open_again(storage) for _ in range(n)]
        try:
            _run_threads(n, lambda i: target(handles[i], i))
        finally:
            for h in handles:
                if h is not storage:
                    h.close()

    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[BaseStorage]:
        store = self.make_storage(tmp_path)
        try:
            yield store
        finally:
            store.close()

    @pytest.fixture
    def other(self, storage: BaseStorage) -> Iterator[BaseStorage]:
        store = self.open_again(storage)
        try:
            yield store
        finally:
            if store is not storage:
                store.close()

    @pytest.fixture
    def study(self, storage: BaseStorage) -> StudyRecord:
        return storage.create_study("s", "loss", Direction.MINIMIZE, {"name": "random"}, {})

    # -- studies -----------------------------------------------------------------------------
    def test_create_and_get_study(self, storage: BaseStorage) -> None:
        rec = storage.create_study(
            "digits",
            "val_accuracy",
            Direction.MAXIMIZE,
            {"name": "grid", "seed": 3},
            {"heartbeat_interval": 0.5, "nested": {"a": [1, 2]}},
        )
        assert (rec.name, rec.metric, rec.direction) == (
            "digits",
            "val_accuracy",
            Direction.MAXIMIZE,
        )
        got = storage.get_study("digits")
        assert got is not None
        assert got.study_id == rec.study_id
        assert got.direction is Direction.MAXIMIZE
        assert dict(got.sampler) == {"name": "grid", "seed": 3}
        assert dict(got.settings) == {"heartbeat_interval": 0.5, "nested": {"a": [1, 2]}}
        assert got.created_at > 0
        assert storage.get_study("nope") is None

    def test_duplicate_study_name_conflicts(self, storage: BaseStorage, study: StudyRecord) -> None:
        storage.create_trial(study.study_id, RUNNING, "w")
        with pytest.raises(StudyConflictError, match="'s'"):
            storage.create_study("s", "acc", Direction.MAXIMIZE, {}, {})
        kept = storage.get_study("s")
        assert kept is not None
        assert (kept.study_id, kept.metric, kept.direction) == (
            study.study_id,
            "loss",
            Direction.MINIMIZE,
        )
        assert len(storage.get_trials(study.study_id)) == 1

    def test_study_settings_must_be_json(self, storage: BaseStorage) -> None:
        with pytest.raises(StorageError, match="JSON"):
            storage.create_study(
                "bad", "loss", Direction.MINIMIZE, {"name": "random"}, {"fn": object()}
            )
        assert storage.get_study("bad") is None
        assert storage.list_studies() == []

    def test_list_studies_summarises_each_study(self, storage: BaseStorage) -> None:
        lo = storage.create_study("lo", "loss", Direction.MINIMIZE, {}, {})
        hi = storage.create_study("hi", "acc", Direction.MAXIMIZE, {}, {})
        storage.create_study("empty", "acc", Direction.MAXIMIZE, {}, {})
        for rec in (lo, hi):
            for value in (0.3, 0.1, 0.7):
                t = storage.create_trial(rec.study_id, RUNNING, "w")
                assert t is not None
                storage.finish_trial(t.trial_id, COMPLETE, value=value)
            t = storage.create_trial(rec.study_id, RUNNING, "w")
            assert t is not None
            storage.finish_trial(t.trial_id, FAIL, reason="boom")
        summaries = {s.record.name: s for s in storage.list_studies()}
        assert set(summaries) == {"lo", "hi", "empty"}
        assert summaries["lo"].best_value == pytest.approx(0.1)
        assert summaries["hi"].best_value == pytest.approx(0.7)  # ignores the failed trial
        assert summaries["empty"].best_value is None
        assert summaries["lo"].counts[COMPLETE] == 3
        assert summaries["lo"].counts[FAIL] == 1
        assert summaries["empty"].counts.total == 0

    def test_delete_study_removes_everything_of_it_only(self, storage: BaseStorage) -> None:
        gone = storage.create_study("gone", "loss", Direction.MINIMIZE, {}, {})
        kept = storage.create_study("kept", "loss", Direction.MINIMIZE, {}, {})
        storage.register_params(gone.study_id, [{"name": "x"}])
        for rec in (gone, kept):
            t = storage.create_trial(rec.study_id, RUNNING, "w")
            assert t is not None
            storage.add_report(t.trial_id, 0, {"loss": 1.0})
        gone_trial = storage.get_trials(gone.study_id)[0]

        assert storage.delete_study("gone") is True
        assert storage.get_study("gone") is None
        assert storage.delete_study("gone") is False
        with pytest.raises(TrialError):
            storage.get_trial(gone_trial.trial_id)
        assert [t.number for t in storage.get_trials(kept.study_id)] == [0]
        assert len(storage.get_trials(kept.study_id)[0].reports) == 1

        again = storage.create_study("gone", "acc", Direction.MAXIMIZE, {}, {})  # the name is free
        assert storage.get_space(again.study_id) == []
        first = storage.create_trial(again.study_id, RUNNING, "w")
        assert first is not None and first.number == 0

    # -- the search space registry -----------------------------------------------------------
    def test_register_params_first_writer_wins_in_order(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        a: dict[str, Any] = {"name": "a", "type": "Choice", "values": [1, 2]}
        b: dict[str, Any] = {"name": "b", "type": "Float", "low": 0.0, "high": 1.0}
        space = storage.register_params(study.study_id, [a, b])
        assert space == [a, b]
        later: list[dict[str, Any]] = [
            {"name": "c", "type": "Int"},
            {"name": "a", "type": "Choice", "values": [9]},
        ]
        space = storage.register_params(study.study_id, later)
        assert [e["name"] for e in space] == ["a", "b", "c"]
        assert space[0] == a  # the first definition of `a` stays
        assert storage.get_space(study.study_id) == space

    def test_register_params_duplicate_names_in_one_call(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        space = storage.register_params(
            study.study_id, [{"name": "z", "v": 1}, {"name": "y"}, {"name": "z", "v": 2}]
        )
        assert space == [{"name": "z", "v": 1}, {"name": "y"}]

    def test_spaces_are_per_study(self, storage: BaseStorage, study: StudyRecord) -> None:
        other = storage.create_study("t", "loss", Direction.MINIMIZE, {}, {})
        storage.register_params(study.study_id, [{"name": "x", "v": 1}])
        storage.register_params(other.study_id, [{"name": "y"}, {"name": "x", "v": 2}])
        assert storage.get_space(study.study_id) == [{"name": "x", "v": 1}]
        assert storage.get_space(other.study_id) == [{"name": "y"}, {"name": "x", "v": 2}]
        assert storage.space_size(study.study_id) == 1
        assert storage.space_size(other.study_id) == 2

    def test_space_size_counts_the_registered_definitions(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        assert storage.space_size(study.study_id) == 0
        storage.register_params(study.study_id, [{"name": "a"}, {"name": "b"}])
        storage.register_params(study.study_id, [{"name": "b", "v": 2}, {"name": "c"}])
        assert storage.space_size(study.study_id) == len(storage.get_space(study.study_id)) == 3

    def test_space_handed_out_is_a_copy(self, storage: BaseStorage, study: StudyRecord) -> None:
        space = storage.register_params(study.study_id, [{"name": "a", "values": [1, 2]}])
        space[0]["values"].append(3)
        space.append({"name": "intruder"})
        storage.get_space(study.study_id)[0]["name"] = "renamed"
        assert storage.get_space(study.study_id) == [{"name": "a", "values": [1, 2]}]

    def test_params_definitions_must_be_json(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        with pytest.raises(StorageError, match="JSON"):
            storage.register_params(study.study_id, [{"name": "a", "fn": object()}])
        assert storage.get_space(study.study_id) == []

    # -- creating trials ---------------------------------------------------------------------
    def test_trial_numbers_count_from_zero_per_study(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        other = storage.create_study("t", "loss", Direction.MINIMIZE, {}, {})
        mine: list[FrozenTrial] = []
        theirs: list[FrozenTrial] = []
        for _ in range(3):
            for rec, out in ((study, mine), (other, theirs)):
                t = storage.create_trial(rec.study_id, RUNNING, "w")
                assert t is not None
                out.append(t)
        assert [t.number for t in mine] == [0, 1, 2]
        assert [t.number for t in theirs] == [0, 1, 2]
        ids = [t.trial_id for t in mine + theirs]
        assert len(set(ids)) == 6
        assert [t.number for t in storage.get_trials(study.study_id)] == [0, 1, 2]

    def test_waiting_trials_take_numbers_too(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        states = [RUNNING, WAITING, RUNNING]
        numbers = [storage.create_trial(study.study_id, s).number for s in states]  # type: ignore[union-attr]
        assert numbers == [0, 1, 2]

    def test_created_trial_fields(self, storage: BaseStorage, study: StudyRecord) -> None:
        run = storage.create_trial(
            study.study_id,
            RUNNING,
            "host:1:ab",
            params={"b": (1, 2), "a": np.float64(0.5)},
            enqueued={"x": 1},
        )
        assert run is not None
        assert run.state is RUNNING and run.worker == "host:1:ab"
        assert run.datetime_start is not None and run.heartbeat is not None
        assert run.datetime_complete is None and run.value is None and run.reports == ()
        assert run.values is None and run.end_cause is None and dict(run.enqueued) == {"x": 1}
        assert (run.retry_of, run.retried_by, run.attempt) == (None, None, 0)
        # what comes back is the stored JSON: a tuple becomes a list, numpy a float
        assert dict(run.params) == {"b": [1, 2], "a": 0.5}
        assert list(run.params) == ["b", "a"]
        assert type(run.params["a"]) is float
        stored = storage.get_trial(run.trial_id)
        assert _snapshot(stored) == _snapshot(run)

        wait = storage.create_trial(study.study_id, WAITING)
        assert wait is not None
        assert wait.state is WAITING
        assert wait.datetime_start is None and wait.heartbeat is None and wait.worker is None

    def test_trial_params_must_be_json(self, storage: BaseStorage, study: StudyRecord) -> None:
        with pytest.raises(StorageError, match="JSON"):
            storage.create_trial(study.study_id, RUNNING, "w", params={"f": object()})
        with pytest.raises(StorageError, match="JSON"):
            storage.create_trial(study.study_id, WAITING, system_attrs={"f": {1, 2}})
        assert storage.get_trials(study.study_id) == []
        t = storage.create_trial(study.study_id, RUNNING, "w")
        assert t is not None and t.number == 0  # nothing was half-stored

    def test_budget_refuses_beyond_it(self, storage: BaseStorage, study: StudyRecord) -> None:
        sid = study.study_id
        made = [storage.create_trial(sid, RUNNING, "w", budget=3) for _ in range(5)]
        assert [t.number for t in made[:3]] == [0, 1, 2]  # type: ignore[union-attr]
        assert made[3:] == [None, None]
        assert storage.count_trials(sid).total == 3
        assert storage.create_trial(sid, RUNNING, "w", budget=0) is None

    def test_budget_ignores_waiting_and_interrupted(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        storage.create_trial(sid, WAITING)
        first = storage.create_trial(sid, RUNNING, "w", budget=2)
        assert first is not None
        storage.finish_trial(first.trial_id, FAIL, reason="lost", end_cause=EndCause.LOST)
        raised = storage.create_trial(sid, RUNNING, "w", budget=2)
        assert raised is not None
        storage.finish_trial(
            raised.trial_id, FAIL, reason="ValueError", end_cause=EndCause.RAISED
        )  # an ordinary failure counts
        assert storage.create_trial(sid, RUNNING, "w", budget=2) is not None
        assert storage.create_trial(sid, RUNNING, "w", budget=2) is None
        counts = storage.count_trials(sid)
        assert counts.budget_used == 2
        assert counts.total == 4

    def test_end_causes_round_trip_and_decide_the_budget(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        for cause in EndCause:
            t = storage.create_trial(sid, RUNNING, "w")
            assert t is not None
            state = {EndCause.COMPLETED: COMPLETE, EndCause.PRUNED: PRUNED}.get(cause, FAIL)
            value = 1.0 if state is COMPLETE else None
            assert storage.finish_trial(t.trial_id, state, value, end_cause=cause)
            got = storage.get_trial(t.trial_id)
            assert got.end_cause is cause and got.state is state
            assert got.counts_toward_budget is cause.counts_toward_budget
        counts = storage.count_trials(sid)
        assert counts.interrupted == 2  # INTERRUPTED and LOST
        assert counts.budget_used == len(EndCause) - 2

    def test_concurrent_creates_respect_budget_and_numbering(
        self, storage: BaseStorage, study: StudyRecord, other: BaseStorage
    ) -> None:
        got: list[FrozenTrial | None] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            store = storage if i % 2 else other
            for _ in range(8):
                t = store.create_trial(study.study_id, RUNNING, f"w{i}", budget=25)
                with lock:
                    got.append(t)

        _run_threads(6, work)
        made = [t for t in got if t is not None]
        assert len(made) == 25
        assert sorted(t.number for t in made) == list(range(25))
        assert storage.count_trials(study.study_id).total == 25

    # -- claiming enqueued trials ------------------------------------------------------------
    def test_claim_waiting_trial_oldest_first(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        storage.create_trial(sid, RUNNING, "w")
        for x in (10, 20, 30):
            storage.create_trial(sid, WAITING, enqueued={"x": x})
        claimed = [storage.claim_waiting_trial(sid, f"worker-{i}") for i in range(4)]
        assert claimed[3] is None
        assert [t.number for t in claimed[:3]] == [1, 2, 3]  # type: ignore[union-attr]
        first = claimed[0]
        assert first is not None
        assert first.state is RUNNING and first.worker == "worker-0"
        assert first.datetime_start is not None and first.heartbeat is not None
        assert dict(first.enqueued) == {"x": 10} and dict(first.system_attrs) == {}
        assert storage.get_trial(first.trial_id).state is RUNNING
        assert storage.get_trials(sid, [WAITING]) == []

    def test_claim_respects_budget(self, storage: BaseStorage, study: StudyRecord) -> None:
        sid = study.study_id
        storage.create_trial(sid, RUNNING, "w")
        storage.create_trial(sid, WAITING)
        assert storage.claim_waiting_trial(sid, "w", budget=1) is None
        assert storage.get_trials(sid, [WAITING])[0].number == 1  # still waiting
        claimed = storage.claim_waiting_trial(sid, "w", budget=2)
        assert claimed is not None and claimed.number == 1

    def test_claim_is_atomic(
        self, storage: BaseStorage, study: StudyRecord, other: BaseStorage
    ) -> None:
        sid = study.study_id
        for _ in range(24):
            storage.create_trial(sid, WAITING)
        claims: list[tuple[int, int]] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            store = storage if i % 2 else other
            while (t := store.claim_waiting_trial(sid, f"w{i}")) is not None:
                with lock:
                    claims.append((i, t.number))

        _run_threads(6, work)
        numbers = sorted(n for _, n in claims)
        assert numbers == list(range(24))  # each enqueued trial claimed exactly once
        by_number = {t.number: t.worker for t in storage.get_trials(sid)}
        assert all(by_number[n] == f"w{i}" for i, n in claims)

    # -- params, reports, user attributes ----------------------------------------------------
    def test_set_params_only_while_running(self, storage: BaseStorage, study: StudyRecord) -> None:
        sid = study.study_id
        t = storage.create_trial(sid, RUNNING, "w")
        assert t is not None
        storage.set_params(t.trial_id, {"b": 1, "a": [0.5, "x"]})
        stored = storage.get_trial(t.trial_id).params
        assert list(stored.items()) == [("b", 1), ("a", [0.5, "x"])]  # order kept

        storage.finish_trial(t.trial_id, COMPLETE, value=1.0)
        with pytest.raises(TrialError):
            storage.set_params(t.trial_id, {"c": 3})
        assert dict(storage.get_trial(t.trial_id).params) == {"b": 1, "a": [0.5, "x"]}

        waiting = storage.create_trial(sid, WAITING, params={"q": 1})
        assert waiting is not None
        with pytest.raises(TrialError):
            storage.set_params(waiting.trial_id, {"q": 2})
        assert dict(storage.get_trial(waiting.trial_id).params) == {"q": 1}

    def test_set_params_must_be_json(self, storage: BaseStorage, study: StudyRecord) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w", params={"a": 1})
        assert t is not None
        with pytest.raises(StorageError, match="JSON"):
            storage.set_params(t.trial_id, {"a": 2, "f": object()})
        assert dict(storage.get_trial(t.trial_id).params) == {"a": 1}

    def test_reports_keep_step_order_and_refuse_old_steps(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w")
        assert t is not None
        for step in (0, 1, 5):
            storage.add_report(t.trial_id, step, {"loss": 1.0 / (step + 1), "acc": step})
        with pytest.raises(TrialError):
            storage.add_report(t.trial_id, 5, {"loss": 0.0})  # a duplicate step
        with pytest.raises(TrialError):
            storage.add_report(t.trial_id, 3, {"loss": 0.0})  # an older step
        reports = storage.get_trial(t.trial_id).reports
        assert [r.step for r in reports] == [0, 1, 5]
        assert [dict(r.metrics) for r in reports] == [
            {"loss": 1.0, "acc": 0},
            {"loss": 0.5, "acc": 1},
            {"loss": 1 / 6, "acc": 5},
        ]
        assert all(r.time > 0 for r in reports)
        assert storage.get_trials(study.study_id)[0].reports == reports

    def test_history_reads_give_every_report_as_trials_run_finish_and_studies_go(
        self, storage: BaseStorage, other: BaseStorage
    ) -> None:
        """Repeated history reads (a storage may keep finished trials' reports between
        them) give each trial exactly its reports: a running trial's new ones, finished
        trials' unchanged, a handle opened elsewhere the same, and a study deleted and
        made again (a database may reuse the deleted trials' ids) only its own."""

        def reports(store: BaseStorage, study_id: int) -> list[list[tuple[int, float]]]:
            return [
                [(r.step, r.metrics["loss"]) for r in t.reports] for t in store.get_trials(study_id)
            ]

        study = storage.create_study("r", "loss", Direction.MINIMIZE, {}, {})
        a, b = (storage.create_trial(study.study_id, RUNNING, "w") for _ in range(2))
        assert a is not None and b is not None
        storage.add_report(a.trial_id, 0, {"loss": 1.0})
        storage.add_report(a.trial_id, 1, {"loss": 0.5})
        storage.add_report(b.trial_id, 0, {"loss": 2.0})
        storage.finish_trial(a.trial_id, COMPLETE, value=0.5)
        assert reports(storage, study.study_id) == [[(0, 1.0), (1, 0.5)], [(0, 2.0)]]
        storage.add_report(b.trial_id, 3, {"loss": 1.5})
        assert reports(storage, study.study_id) == [[(0, 1.0), (1, 0.5)], [(0, 2.0), (3, 1.5)]]
        storage.finish_trial(b.trial_id, PRUNED, value=1.5)
        for _ in range(2):
            assert reports(storage, study.study_id) == [[(0, 1.0), (1, 0.5)], [(0, 2.0), (3, 1.5)]]
        assert reports(other, study.study_id) == reports(storage, study.study_id)

        assert storage.delete_study("r") is True
        again = storage.create_study("r", "loss", Direction.MINIMIZE, {}, {})
        c, d = (storage.create_trial(again.study_id, RUNNING, "w") for _ in range(2))
        assert c is not None and d is not None
        storage.add_report(c.trial_id, 0, {"loss": 9.0})
        storage.finish_trial(c.trial_id, COMPLETE, value=9.0)
        storage.finish_trial(d.trial_id, FAIL)
        assert reports(storage, again.study_id) == [[(0, 9.0)], []]
        assert reports(other, again.study_id) == [[(0, 9.0)], []]

    def test_history_reads_follow_finished_trials_attributes(
        self, storage: BaseStorage, other: BaseStorage, study: StudyRecord
    ) -> None:
        """A finished trial changes afterwards only in its attributes (a user attribute
        set, a retry queued for a failed one); every history read, here or through
        another handle, shows them as they are now, and a record holding a list is handed
        out fresh each time."""
        sid = study.study_id
        done, failed, nested = (storage.create_trial(sid, RUNNING, "w") for _ in range(3))
        assert done is not None and failed is not None and nested is not None
        storage.set_params(nested.trial_id, {"layers": [32, 64]})
        storage.finish_trial(done.trial_id, COMPLETE, value=1.0)
        storage.finish_trial(failed.trial_id, FAIL)
        storage.finish_trial(nested.trial_id, COMPLETE, value=2.0)
        for store in (storage, other, storage):
            assert [dict(t.user_attrs) for t in store.get_trials(sid)] == [{}, {}, {}]
        storage.set_user_attr(done.trial_id, "note", "best so far")
        queued = storage.retry_trial(failed.trial_id)
        assert queued is not None
        for store in (storage, other):
            history = store.get_trials(sid)
            assert dict(history[0].user_attrs) == {"note": "best so far"}
            assert history[1].retried_by == queued.number
            assert not history[1].counts_toward_budget  # interrupted: queued again
            assert [t.number for t in history] == [0, 1, 2, 3]
        for store in (storage, other):
            store.get_trials(sid)[2].params["layers"].append(128)
            assert dict(store.get_trials(sid)[2].params) == {"layers": [32, 64]}

    def test_reports_only_while_running(self, storage: BaseStorage, study: StudyRecord) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w")
        assert t is not None
        storage.add_report(t.trial_id, 0, {"loss": 1.0})
        storage.finish_trial(t.trial_id, PRUNED)
        with pytest.raises(TrialError):
            storage.add_report(t.trial_id, 1, {"loss": 0.5})
        assert [r.step for r in storage.get_trial(t.trial_id).reports] == [0]
        waiting = storage.create_trial(study.study_id, WAITING)
        assert waiting is not None
        with pytest.raises(TrialError):
            storage.add_report(waiting.trial_id, 0, {"loss": 0.5})
        assert storage.get_trial(waiting.trial_id).reports == ()

    def test_nonfinite_metrics_round_trip(
        self, storage: BaseStorage, study: StudyRecord, other: BaseStorage
    ) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w")
        assert t is not None
        storage.add_report(t.trial_id, 0, {"loss": math.nan, "grad": math.inf, "low": -math.inf})
        storage.set_user_attr(t.trial_id, "history", [1.0, math.nan, -math.inf])
        storage.finish_trial(
            t.trial_id, FAIL, metrics={"loss": math.nan, "n": [math.inf]}, reason="diverged"
        )
        for store in (storage, other):
            got = store.get_trial(t.trial_id)
            rep = got.reports[0].metrics
            assert math.isnan(rep["loss"]) and rep["grad"] == math.inf and rep["low"] == -math.inf
            assert math.isnan(got.metrics["loss"]) and got.metrics["n"] == [math.inf]
            h = got.user_attrs["history"]
            assert h[0] == 1.0 and math.isnan(h[1]) and h[2] == -math.inf

    def test_infinite_values_round_trip(self, storage: BaseStorage, study: StudyRecord) -> None:
        for value in (math.inf, -math.inf, 0.25):
            t = storage.create_trial(study.study_id, RUNNING, "w")
            assert t is not None
            storage.finish_trial(t.trial_id, COMPLETE, value=value)
            assert storage.get_trial(t.trial_id).value == value

    def test_user_attrs_round_trip(self, storage: BaseStorage, study: StudyRecord) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w")
        assert t is not None
        storage.set_user_attr(t.trial_id, "epochs", np.int64(7))
        storage.set_user_attr(t.trial_id, "curve", {"x": [1, 2], "note": "ok"})
        storage.set_user_attr(t.trial_id, "epochs", 8)  # the last write wins
        storage.finish_trial(t.trial_id, COMPLETE, value=1.0)
        storage.set_user_attr(t.trial_id, "checked", True)  # allowed after the end too
        attrs = storage.get_trial(t.trial_id).user_attrs
        assert dict(attrs) == {"epochs": 8, "curve": {"x": [1, 2], "note": "ok"}, "checked": True}
        with pytest.raises(TrialError):
            storage.set_user_attr(10**9, "k", 1)

    def test_values_that_look_like_the_float_marker_round_trip(
        self, storage: BaseStorage, study: StudyRecord, other: BaseStorage
    ) -> None:
        tricky: dict[str, Any] = {
            "note": {"$float": "hello"},
            "not_inf": {"$float": "inf"},
            "$$": [{"$": 1}],
        }
        t = storage.create_trial(study.study_id, RUNNING, "w", params={"$float": "nan"})
        assert t is not None
        for key, value in tricky.items():
            storage.set_user_attr(t.trial_id, key, value)
        for store in (storage, other):
            got = store.get_trial(t.trial_id)
            assert dict(got.user_attrs) == tricky
            assert dict(got.params) == {"$float": "nan"}
            assert len(store.get_trials(study.study_id)) == 1  # the study stays readable

    def test_user_attrs_must_be_json(self, storage: BaseStorage, study: StudyRecord) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w")
        assert t is not None
        storage.set_user_attr(t.trial_id, "ok", 1)
        bad_values: list[Any] = [object(), {1, 2}, b"bytes", {"model": object()}, print]
        for bad in bad_values:
            with pytest.raises(StorageError, match="JSON"):
                storage.set_user_attr(t.trial_id, "bad", bad)
        assert dict(storage.get_trial(t.trial_id).user_attrs) == {"ok": 1}

    # -- finishing ---------------------------------------------------------------------------
    def test_finish_trial_stores_the_result(self, storage: BaseStorage, study: StudyRecord) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w", system_attrs={"a": 1})
        assert t is not None
        storage.set_params(t.trial_id, {"x": 1})
        ok = storage.finish_trial(
            t.trial_id,
            COMPLETE,
            value=0.5,
            metrics={"loss": 0.5, "acc": 0.9},
            params={"x": 1, "y": "relu"},
            system_attrs={"b": 2},
        )
        assert ok is True
        got = storage.get_trial(t.trial_id)
        assert got.state is COMPLETE and got.value == 0.5 and got.reason is None
        assert dict(got.metrics) == {"loss": 0.5, "acc": 0.9}
        assert list(got.params.items()) == [("x", 1), ("y", "relu")]
        assert dict(got.system_attrs) == {"a": 1, "b": 2}  # merged, not replaced
        assert got.datetime_complete is not None
        assert got.datetime_start is not None
        assert got.datetime_complete >= got.datetime_start
        assert got.duration is not None and got.duration >= 0

    def test_finish_without_params_keeps_params(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w", params={"x": 1})
        assert t is not None
        storage.finish_trial(t.trial_id, FAIL, reason="ValueError: bad")
        got = storage.get_trial(t.trial_id)
        assert dict(got.params) == {"x": 1}
        assert got.reason == "ValueError: bad" and got.value is None

    def test_finish_non_running_returns_false_and_changes_nothing(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w")
        assert t is not None
        storage.add_report(t.trial_id, 0, {"loss": 1.0})
        assert storage.finish_trial(t.trial_id, FAIL, reason="worker lost", end_cause=EndCause.LOST)
        before = _snapshot(storage.get_trial(t.trial_id))
        counts = storage.count_trials(study.study_id)
        late = storage.finish_trial(
            t.trial_id,
            COMPLETE,
            value=0.1,
            metrics={"loss": 0.1},
            params={"x": 2},
            reason=None,
            system_attrs={"late": True},
        )
        assert late is False
        assert _snapshot(storage.get_trial(t.trial_id)) == before
        assert storage.count_trials(study.study_id) == counts

        waiting = storage.create_trial(study.study_id, WAITING)
        assert waiting is not None
        assert storage.finish_trial(waiting.trial_id, COMPLETE, value=1.0) is False
        assert storage.get_trial(waiting.trial_id).state is WAITING

    def test_unknown_trial_is_a_trial_error(self, storage: BaseStorage) -> None:
        with pytest.raises(TrialError):
            storage.get_trial(10**9)
        with pytest.raises(TrialError):
            storage.finish_trial(10**9, COMPLETE, value=1.0)
        with pytest.raises(TrialError):
            storage.set_params(10**9, {"a": 1})
        with pytest.raises(TrialError):
            storage.add_report(10**9, 0, {"a": 1.0})

    # -- frozen records ----------------------------------------------------------------------
    def test_records_handed_out_never_change(
        self, storage: BaseStorage, study: StudyRecord, other: BaseStorage
    ) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w", params={"a": [1]})
        assert t is not None
        storage.add_report(t.trial_id, 0, {"loss": 2.0})
        early = [
            t,
            storage.get_trial(t.trial_id),
            storage.get_trials(study.study_id)[0],
            other.get_trial(t.trial_id),
        ]
        snapshots = [_snapshot(x) for x in early]

        for store in (storage, other):  # writes through either handle
            store.set_params(t.trial_id, {"a": [1, 2], "b": 3})
        other.add_report(t.trial_id, 1, {"loss": 1.0})
        storage.set_user_attr(t.trial_id, "k", "v")
        storage.heartbeat([t.trial_id], 10**10)
        other.finish_trial(
            t.trial_id, COMPLETE, value=1.0, metrics={"loss": 1.0}, system_attrs={"done": 1}
        )

        assert [_snapshot(x) for x in early] == snapshots
        assert early[0].state is RUNNING and early[1].reports[0].step == 0
        final = storage.get_trial(t.trial_id)
        assert final.state is COMPLETE and len(final.reports) == 2

    def test_records_are_read_only(self, storage: BaseStorage, study: StudyRecord) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w", params={"a": 1})
        assert t is not None
        storage.add_report(t.trial_id, 0, {"loss": 1.0})
        storage.set_user_attr(t.trial_id, "u", 1)
        got = storage.get_trial(t.trial_id)
        with pytest.raises(dataclasses.FrozenInstanceError):
            got.state = COMPLETE  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            got.value = 1.0  # type: ignore[misc]
        for mapping in (
            got.params,
            got.metrics,
            got.user_attrs,
            got.system_attrs,
            got.reports[0].metrics,
        ):
            with pytest.raises(TypeError):
                mapping["new"] = 1  # type: ignore[index]
        with pytest.raises(TypeError):
            del got.params["a"]  # type: ignore[attr-defined]
        with pytest.raises(dataclasses.FrozenInstanceError):
            got.reports[0].step = 9  # type: ignore[misc]
        rec = storage.get_study(study.name)
        assert rec is not None
        with pytest.raises(dataclasses.FrozenInstanceError):
            rec.metric = "acc"  # type: ignore[misc]
        with pytest.raises(TypeError):
            rec.settings["x"] = 1  # type: ignore[index]

    def test_changing_nested_values_changes_no_stored_record(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        t = storage.create_trial(
            study.study_id,
            RUNNING,
            "w",
            params={"layers": [32, 64]},
            system_attrs={"rung": {"lr": 0.1}},
            enqueued={"widths": [8]},
        )
        assert t is not None
        storage.add_report(t.trial_id, 0, {"loss": 1.0})
        storage.set_user_attr(t.trial_id, "curve", [1.0])
        got = storage.get_trial(t.trial_id)
        got.params["layers"].append(128)
        got.system_attrs["rung"]["lr"] = 99.0
        got.enqueued["widths"].append(16)
        got.user_attrs["curve"].append(2.0)
        t.params["layers"].clear()
        again = storage.get_trial(t.trial_id)
        assert dict(again.params) == {"layers": [32, 64]}
        assert dict(again.system_attrs) == {"rung": {"lr": 0.1}}
        assert dict(again.enqueued) == {"widths": [8]}
        assert dict(again.user_attrs) == {"curve": [1.0]}

        rec = storage.create_study(
            "nested", "loss", Direction.MINIMIZE, {"name": "x", "grid": [1]}, {"levels": [1, 2]}
        )
        rec.settings["levels"].append(3)
        got_rec = storage.get_study("nested")
        assert got_rec is not None
        got_rec.sampler["grid"].append(2)
        fresh = storage.get_study("nested")
        assert fresh is not None
        assert dict(fresh.settings) == {"levels": [1, 2]}
        assert dict(fresh.sampler) == {"name": "x", "grid": [1]}

    # -- reading and counting ----------------------------------------------------------------
    def test_get_trials_filters_by_state_and_leaves_out_reports(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        a = storage.create_trial(sid, RUNNING, "w")
        b = storage.create_trial(sid, RUNNING, "w")
        storage.create_trial(sid, WAITING)
        assert a is not None and b is not None
        storage.add_report(a.trial_id, 0, {"loss": 1.0})
        storage.finish_trial(b.trial_id, COMPLETE, value=1.0)
        assert [t.number for t in storage.get_trials(sid, [RUNNING])] == [0]
        assert [t.number for t in storage.get_trials(sid, [COMPLETE, WAITING])] == [1, 2]
        assert storage.get_trials(sid, []) == []
        assert len(storage.get_trials(sid)[0].reports) == 1
        assert storage.get_trials(sid, with_reports=False)[0].reports == ()
        assert storage.get_trials(10**6) == []

    def test_count_trials(self, storage: BaseStorage, study: StudyRecord) -> None:
        sid = study.study_id
        outcomes = [
            (COMPLETE, None),
            (COMPLETE, None),
            (PRUNED, None),
            (FAIL, EndCause.RAISED),
            (FAIL, EndCause.INTERRUPTED),
            (FAIL, EndCause.LOST),
        ]
        for state, cause in outcomes:
            t = storage.create_trial(sid, RUNNING, "w")
            assert t is not None
            storage.finish_trial(
                t.trial_id, state, value=1.0 if state is COMPLETE else None, end_cause=cause
            )
        storage.create_trial(sid, RUNNING, "w")
        storage.create_trial(sid, WAITING)
        counts = storage.count_trials(sid)
        assert (counts[COMPLETE], counts[PRUNED], counts[FAIL]) == (2, 1, 3)
        assert (counts[RUNNING], counts[WAITING]) == (1, 1)
        assert counts.interrupted == 2
        assert counts.total == 8
        assert counts.budget_used == 8 - 1 - 2
        empty = storage.count_trials(
            storage.create_study("e", "l", Direction.MINIMIZE, {}, {}).study_id
        )
        assert (empty.total, empty.interrupted, empty[COMPLETE]) == (0, 0, 0)

    def test_heartbeat_touches_running_trials_only(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        run = storage.create_trial(sid, RUNNING, "w")
        done = storage.create_trial(sid, RUNNING, "w")
        assert run is not None and done is not None
        storage.finish_trial(done.trial_id, COMPLETE, value=1.0)
        done_beat = storage.get_trial(done.trial_id).heartbeat
        storage.heartbeat([run.trial_id, done.trial_id, 10**9], 5e9)
        storage.heartbeat([], 6e9)
        assert storage.get_trial(run.trial_id).heartbeat == 5e9
        assert storage.get_trial(done.trial_id).heartbeat == done_beat

    # -- the locked view ---------------------------------------------------------------------
    def test_locked_view_reads_and_writes(self, storage: BaseStorage, study: StudyRecord) -> None:
        sid = study.study_id
        storage.create_trial(sid, RUNNING, "w")

        def decide(view: LockedView) -> tuple[int, FrozenTrial | None, FrozenTrial | None]:
            seen = len(view.get_trials())
            made = view.create_trial(RUNNING, "me", budget=2)
            assert made is not None
            view.set_params(made.trial_id, {"seen": seen})
            refused = view.create_trial(RUNNING, "me", budget=2)
            return seen, made, refused

        seen, made, refused = storage.locked(sid, decide)
        assert seen == 1 and refused is None
        assert made is not None and made.number == 1 and made.worker == "me"
        assert dict(storage.get_trial(made.trial_id).params) == {"seen": 1}
        assert storage.count_trials(sid).total == 2

    def test_locked_is_all_or_nothing(self, storage: BaseStorage, study: StudyRecord) -> None:
        sid = study.study_id
        t = storage.create_trial(sid, RUNNING, "w", params={"a": 1})
        assert t is not None

        def half_done(view: LockedView) -> None:
            view.set_params(t.trial_id, {"a": 2})
            view.create_trial(RUNNING, "me")
            raise KeyError("the sampler changed its mind")

        with pytest.raises(KeyError):
            storage.locked(sid, half_done)
        assert [x.number for x in storage.get_trials(sid)] == [0]
        assert dict(storage.get_trial(t.trial_id).params) == {"a": 1}
        made = storage.create_trial(sid, RUNNING, "w")
        assert made is not None and made.number == 1

    def test_locked_is_exclusive(
        self, storage: BaseStorage, study: StudyRecord, other: BaseStorage
    ) -> None:
        sid = study.study_id

        def decide(view: LockedView) -> None:
            seen = len(view.get_trials())  # read, then write what was read
            made = view.create_trial(RUNNING, "w")
            assert made is not None
            view.set_params(made.trial_id, {"seen": seen})

        def work(i: int) -> None:
            for _ in range(5):
                (storage if i % 2 else other).locked(sid, decide)

        _run_threads(6, work)
        trials = storage.get_trials(sid)
        assert len(trials) == 30
        # had two decisions overlapped, two trials would have seen the same count
        assert sorted(t.params["seen"] for t in trials) == list(range(30))
        assert all(t.params["seen"] == t.number for t in trials)

    # -- lost trials -------------------------------------------------------------------------
    def test_fail_lost_trials(self, storage: BaseStorage, study: StudyRecord) -> None:
        sid = study.study_id
        alive = storage.create_trial(sid, RUNNING, "alive")
        dead = [storage.create_trial(sid, RUNNING, "dead") for _ in range(2)]
        finished = storage.create_trial(sid, RUNNING, "dead")
        waiting = storage.create_trial(sid, WAITING)
        assert alive and finished and waiting and all(dead)
        storage.finish_trial(finished.trial_id, COMPLETE, value=1.0)
        seen: list[int] = []

        def is_lost(t: FrozenTrial) -> bool:
            seen.append(t.number)
            return t.worker == "dead"

        lost = storage.fail_lost_trials(sid, is_lost, reason="worker lost: gone")
        assert sorted(lost) == sorted(t.trial_id for t in dead)  # type: ignore[union-attr]
        assert sorted(seen) == [0, 1, 2]  # only RUNNING trials are judged
        for t in dead:
            got = storage.get_trial(t.trial_id)  # type: ignore[union-attr]
            assert got.state is FAIL and got.reason == "worker lost: gone"
            assert got.end_cause is EndCause.LOST and not got.counts_toward_budget
        assert storage.get_trial(alive.trial_id).state is RUNNING
        assert storage.get_trial(finished.trial_id).state is COMPLETE
        assert storage.get_trial(waiting.trial_id).state is WAITING
        counts = storage.count_trials(sid)
        assert counts.interrupted == 2 and counts.budget_used == 2
        assert storage.fail_lost_trials(sid, is_lost, reason="again") == []

    # -- operations: settings and retries ----------------------------------------------------
    def test_set_study_setting(
        self, storage: BaseStorage, other: BaseStorage, study: StudyRecord
    ) -> None:
        before = dict(study.settings)
        record = storage.set_study_setting(study.study_id, "stop", 123.5)
        assert record.settings["stop"] == 123.5 and record.name == study.name
        got = other.get_study(study.name)
        assert got is not None and dict(got.settings) == {**before, "stop": 123.5}
        storage.set_study_setting(study.study_id, "stop", None)  # None removes it
        got = storage.get_study(study.name)
        assert got is not None and dict(got.settings) == before
        assert dict(study.settings) == before  # the record handed out earlier is unchanged
        with pytest.raises(StorageError):
            storage.set_study_setting(study.study_id, "bad", object())

    def test_retry_trial_queues_the_same_params_once(
        self, storage: BaseStorage, other: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        failed = storage.create_trial(sid, RUNNING, "w", params={"x": 0.25, "act": "relu"})
        done = storage.create_trial(sid, RUNNING, "w")
        assert failed is not None and done is not None
        assert storage.retry_trial(failed.trial_id) is None  # still RUNNING: nothing to retry
        storage.finish_trial(failed.trial_id, FAIL, reason="boom")
        storage.finish_trial(done.trial_id, COMPLETE, value=1.0)
        assert storage.count_trials(sid).budget_used == 2
        assert storage.retry_trial(done.trial_id) is None  # only FAIL trials

        retry = storage.retry_trial(failed.trial_id)
        assert retry is not None and retry.state is WAITING and retry.number == 2
        assert dict(retry.enqueued) == {"x": 0.25, "act": "relu"}
        assert retry.retry_of == failed.number and retry.attempt == 1
        assert dict(retry.system_attrs) == {}
        original = storage.get_trial(failed.trial_id)
        assert original.state is FAIL and original.reason == "boom"
        assert original.retried_by == retry.number and not original.counts_toward_budget
        assert original.end_cause is EndCause.RAISED  # how it ended does not change
        assert storage.count_trials(sid).budget_used == 1  # the retry will count instead
        assert other.retry_trial(failed.trial_id) is None  # once only

        claimed = storage.claim_waiting_trial(sid, "w2")
        assert claimed is not None and claimed.trial_id == retry.trial_id
        storage.finish_trial(claimed.trial_id, FAIL, reason="again")
        second = storage.retry_trial(claimed.trial_id)
        assert second is not None and second.attempt == 2
        assert second.retry_of == retry.number

    def test_a_queued_retry_runs_past_the_budget(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        """An interrupted trial used no budget and a later trial took its place; its retry,
        queued by hand, is still owed, while a trial merely enqueued waits for budget."""
        sid = study.study_id
        cut = storage.create_trial(sid, RUNNING, "w", params={"x": 0.5})
        assert cut is not None
        storage.finish_trial(cut.trial_id, FAIL, reason="Ctrl-C", end_cause=EndCause.INTERRUPTED)
        for _ in range(2):
            t = storage.start_trial(sid, "w", budget=2)
            assert t is not None
            storage.finish_trial(t.trial_id, COMPLETE, value=1.0)
        enqueued = storage.create_trial(sid, WAITING, enqueued={"x": 0.1})
        retry = storage.retry_trial(cut.trial_id)
        assert enqueued is not None and retry is not None
        assert storage.count_trials(sid).budget_used == 2

        claimed = storage.start_trial(sid, "w", budget=2)
        assert claimed is not None and claimed.trial_id == retry.trial_id
        assert storage.start_trial(sid, "w", budget=2) is None
        assert storage.claim_waiting_trial(sid, "w", budget=2) is None
        assert storage.get_trial(enqueued.trial_id).state is WAITING
        assert storage.start_trial(sid, "w", budget=4) is not None  # budget left: it runs

    def test_concurrent_retries_queue_one(self, storage: BaseStorage, study: StudyRecord) -> None:
        t = storage.create_trial(study.study_id, RUNNING, "w", params={"x": 1})
        assert t is not None
        storage.finish_trial(t.trial_id, FAIL, reason="lost")
        got: list[FrozenTrial | None] = []
        self.on_handles(storage, 4, lambda h, _: got.append(h.retry_trial(t.trial_id)))
        assert sum(r is not None for r in got) == 1
        waiting = storage.get_trials(study.study_id, [WAITING])
        assert len(waiting) == 1

    def test_concurrent_first_registrations_do_not_conflict(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        """Workers that start together all register the same first parameter at once."""
        entry = {"type": "float", "name": "x", "min_value": 0.0, "max_value": 1.0}
        self.on_handles(storage, 4, lambda h, _: h.register_params(study.study_id, [entry]))
        assert [e["name"] for e in storage.get_space(study.study_id)] == ["x"]

    # -- the per-trial path: start_trial and finish_and_get_trial --------------------------
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
            storage.create_trial(sid, WAITING, enqueued={"x": x})
        got = [storage.start_trial(sid, f"w{i}") for i in range(3)]
        assert [t.number for t in got if t] == [1, 2, 3]  # two claimed, then a new one
        claimed = got[0]
        assert claimed is not None and claimed.worker == "w0" and claimed.state is RUNNING
        assert dict(claimed.enqueued) == {"x": 10}
        assert _snapshot(claimed) == _snapshot(storage.get_trial(claimed.trial_id))
        assert storage.get_trials(sid, [WAITING]) == []

    def test_start_respects_the_budget_and_leaves_the_queue(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        lost = storage.create_trial(sid, RUNNING, "w")
        assert lost is not None
        storage.finish_trial(lost.trial_id, FAIL, end_cause=EndCause.LOST)  # uses no budget
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
            storage.create_trial(sid, WAITING, enqueued={"x": x})
        got: list[FrozenTrial] = []
        lock = threading.Lock()

        def work(handle: BaseStorage, i: int) -> None:
            while (t := handle.start_trial(sid, f"w{i}", budget=25)) is not None:
                with lock:
                    got.append(t)

        self.on_handles(storage, 4, work)
        assert sorted(t.number for t in got) == list(range(25))
        queued = [t.enqueued["x"] for t in got if t.enqueued]
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
            EndCause.COMPLETED,
            values=(1.5,),
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
            Outcome(t.trial_id, FAIL, EndCause.RAISED, reason="boom"), with_reports=False
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
        done = Outcome(t.trial_id, COMPLETE, EndCause.COMPLETED, values=(1.0,))
        late = dataclasses.replace(done, system_attrs={"late": True})
        assert storage.finish_and_get_trial(late) is None
        assert storage.finish_and_get_trial(done) is None
        assert _snapshot(storage.get_trial(t.trial_id)) == before  # nothing changed
        with pytest.raises(TrialError):
            storage.finish_and_get_trial(dataclasses.replace(done, trial_id=10**9))

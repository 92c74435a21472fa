"""Storage conformance for freeze-thaw: part of `StorageConformance` (which mixes it in),
kept apart so each file holds one subject.

A RUNNING trial pauses with everything it holds kept; a PAUSED trial is neither finished
nor running (no heartbeat, never judged lost, no reports taken) and counts once toward
the budget; claiming it back is atomic, so of many workers exactly one resumes it, and
its curve goes on after its last step."""

from __future__ import annotations

import threading

import pytest

from tunelab.errors import TrialError
from tunelab.storage.base import RESUMES_ATTR, BaseStorage, StudyRecord
from tunelab.types import Direction, TrialState

RUNNING, PAUSED, COMPLETE = TrialState.RUNNING, TrialState.PAUSED, TrialState.COMPLETE


class PausingConformance:
    """Mixed into StorageConformance, whose `storage`, `other` and `on_handles` it uses."""

    def _paused(self, storage: BaseStorage, sid: int, steps: int = 2) -> int:
        """A trial that ran `steps` steps with params and attributes, then paused."""
        t = storage.create_trial(sid, RUNNING, "w0", params={"lr": 0.01, "units": 64})
        assert t is not None
        for step in range(steps):
            storage.add_report(t.trial_id, step, {"loss": 1.0 / (step + 1)})
        storage.set_user_attr(t.trial_id, "note", [1, 2])
        assert storage.pause_trial(
            t.trial_id, {"checkpoint": "/ckpt/trial-0.pt"}, reason="slice done"
        )
        return t.trial_id

    def test_pause_keeps_everything_but_the_heartbeat(
        self, storage: BaseStorage, other: BaseStorage
    ) -> None:
        sid = storage.create_study("p", "loss", Direction.MINIMIZE, {}, {}).study_id
        tid = self._paused(storage, sid)
        for handle in (storage, other):
            got = handle.get_trial(tid)
            assert got.state is PAUSED and not got.state.is_finished
            assert dict(got.params) == {"lr": 0.01, "units": 64}
            assert [r.step for r in got.reports] == [0, 1]
            assert got.system_attrs["checkpoint"] == "/ckpt/trial-0.pt"
            assert got.user_attrs["note"] == [1, 2]
            assert got.heartbeat is None and got.datetime_complete is None
            assert got.reason == "slice done" and got.end_cause is None and got.value is None
            assert [t.trial_id for t in handle.get_trials(sid, [PAUSED])] == [tid]
            assert handle.get_trials(sid, [RUNNING]) == []

    def test_paused_counts_once_toward_the_budget(self, storage: BaseStorage) -> None:
        sid = storage.create_study("p", "loss", Direction.MINIMIZE, {}, {}).study_id
        tid = self._paused(storage, sid)
        counts = storage.count_trials(sid)
        assert counts[PAUSED] == 1 and counts[RUNNING] == 0 and counts.budget_used == 1
        assert storage.create_trial(sid, RUNNING, "w1", budget=1) is None
        assert storage.start_trial(sid, "w1", budget=1) is None  # a paused trial is not queued
        assert storage.claim_paused_trial(tid, "w1") is not None
        counts = storage.count_trials(sid)
        assert counts[RUNNING] == 1 and counts[PAUSED] == 0 and counts.budget_used == 1
        assert [s.counts[PAUSED] for s in storage.list_studies()] == [0]

    def test_a_paused_trial_takes_no_reports_heartbeats_or_finish(
        self, storage: BaseStorage
    ) -> None:
        sid = storage.create_study("p", "loss", Direction.MINIMIZE, {}, {}).study_id
        tid = self._paused(storage, sid)
        with pytest.raises(TrialError):
            storage.add_report(tid, 5, {"loss": 0.1})
        storage.heartbeat([tid], 123.0)
        assert not storage.finish_trial(tid, COMPLETE, value=0.1)
        assert storage.fail_lost_trials(sid, lambda t: True, reason="lost") == []
        got = storage.get_trial(tid)
        assert got.state is PAUSED and got.heartbeat is None and len(got.reports) == 2

    def test_only_a_running_trial_pauses(self, storage: BaseStorage) -> None:
        sid = storage.create_study("p", "loss", Direction.MINIMIZE, {}, {}).study_id
        tid = self._paused(storage, sid)
        assert not storage.pause_trial(tid, {"checkpoint": "elsewhere"})
        assert storage.get_trial(tid).system_attrs["checkpoint"] == "/ckpt/trial-0.pt"
        done = storage.create_trial(sid, RUNNING, "w0")
        assert done is not None
        storage.finish_trial(done.trial_id, COMPLETE, value=0.5)
        assert not storage.pause_trial(done.trial_id)
        assert storage.get_trial(done.trial_id).state is COMPLETE
        assert storage.claim_paused_trial(done.trial_id, "w1") is None
        with pytest.raises(TrialError):
            storage.pause_trial(10_000)

    def test_resuming_continues_the_same_trial_and_curve(
        self, storage: BaseStorage, other: BaseStorage
    ) -> None:
        sid = storage.create_study("p", "loss", Direction.MINIMIZE, {}, {}).study_id
        tid = self._paused(storage, sid)
        before = storage.get_trial(tid)
        resumed = other.claim_paused_trial(tid, "w1")
        assert resumed is not None and resumed.trial_id == tid and resumed.number == 0
        assert resumed.state is RUNNING and resumed.worker == "w1"
        assert resumed.heartbeat is not None and resumed.reason is None
        assert resumed.datetime_start == before.datetime_start
        assert [r.step for r in resumed.reports] == [0, 1]
        assert resumed.system_attrs[RESUMES_ATTR] == 1
        assert resumed.system_attrs["checkpoint"] == "/ckpt/trial-0.pt"
        with pytest.raises(TrialError):
            other.add_report(tid, 1, {"loss": 0.2})  # the curve goes on after its last step
        other.add_report(tid, 2, {"loss": 0.3})
        assert other.pause_trial(tid, {"checkpoint": "/ckpt/trial-0-b.pt"})
        again = storage.claim_paused_trial(tid, "w2")
        assert again is not None and again.system_attrs[RESUMES_ATTR] == 2
        storage.add_report(tid, 3, {"loss": 0.25})
        assert storage.finish_trial(tid, COMPLETE, value=0.25)
        done = other.get_trial(tid)
        assert done.state is COMPLETE and [r.step for r in done.reports] == [0, 1, 2, 3]
        assert done.system_attrs["checkpoint"] == "/ckpt/trial-0-b.pt"
        assert storage.count_trials(sid).budget_used == 1

    def test_concurrent_claims_resume_each_paused_trial_once(
        self, storage: BaseStorage, study: StudyRecord
    ) -> None:
        sid = study.study_id
        paused = [self._paused(storage, sid, steps=1) for _ in range(8)]
        won: list[tuple[int, int]] = []
        lock = threading.Lock()

        def work(handle: BaseStorage, i: int) -> None:
            for tid in paused:  # every worker tries every trial, in the same order
                got = handle.claim_paused_trial(tid, f"w{i}")
                if got is not None:
                    with lock:
                        won.append((tid, i))

        self.on_handles(storage, 4, work)  # type: ignore[attr-defined]
        assert sorted(tid for tid, _ in won) == sorted(paused)  # each exactly once
        for tid, i in won:
            got = storage.get_trial(tid)
            assert got.state is RUNNING and got.worker == f"w{i}"
            assert got.system_attrs[RESUMES_ATTR] == 1

    def test_a_running_trial_takes_system_attributes(
        self, storage: BaseStorage, other: BaseStorage
    ) -> None:
        """What population-based training records as a resumed trial goes on."""
        sid = storage.create_study("p", "loss", Direction.MINIMIZE, {}, {}).study_id
        tid = self._paused(storage, sid)
        with pytest.raises(TrialError):  # a paused trial is changed only by its claim
            storage.set_system_attrs(tid, {"schedule": []})
        assert storage.claim_paused_trial(tid, "w1") is not None
        schedule = [{"step": 2, "params": {"lr": 0.02}, "parent": 3}]
        storage.set_system_attrs(tid, {"schedule": schedule})
        got = other.get_trial(tid)
        assert got.system_attrs["schedule"] == schedule
        assert got.system_attrs["checkpoint"] == "/ckpt/trial-0.pt"  # merged, not replaced
        assert got.system_attrs[RESUMES_ATTR] == 1

    def test_a_lost_trial_goes_back_to_paused_at_its_step(
        self, storage: BaseStorage, other: BaseStorage
    ) -> None:
        """Its worker died mid-slice: the reports after the paused step go, and the
        resumed run reports those steps again, each stored once."""
        sid = storage.create_study("p", "loss", Direction.MINIMIZE, {}, {}).study_id
        tid = self._paused(storage, sid)
        assert storage.claim_paused_trial(tid, "w1") is not None
        for step in (2, 3):
            storage.add_report(tid, step, {"loss": 0.5})
        assert not other.repause_trial(tid, "w9", 1)  # held by w1, not the lost w9
        assert storage.get_trial(tid).state is RUNNING
        assert other.repause_trial(
            tid, "w1", 1, {"lost": [{"step": 1}]}, reason="re-paused", params={"lr": 0.02}
        )
        for handle in (storage, other):
            got = handle.get_trial(tid)
            assert got.state is PAUSED and got.heartbeat is None and got.reason == "re-paused"
            assert [r.step for r in got.reports] == [0, 1]
            assert got.system_attrs["lost"] == [{"step": 1}]
            assert got.system_attrs["checkpoint"] == "/ckpt/trial-0.pt"  # merged
            assert dict(got.params) == {"lr": 0.02}  # the values it paused with
            assert [r.step for r in handle.get_trials(sid)[0].reports] == [0, 1]
        assert not storage.repause_trial(tid, "w1", 1)  # paused already
        assert storage.fail_lost_trials(sid, lambda t: True, reason="lost") == []
        resumed = storage.claim_paused_trial(tid, "w2")
        assert resumed is not None and [r.step for r in resumed.reports] == [0, 1]
        for step in (2, 3, 4):
            storage.add_report(tid, step, {"loss": 0.1 * step})
        assert storage.finish_trial(tid, COMPLETE, value=0.4)
        done = other.get_trial(tid)
        assert [r.step for r in done.reports] == [0, 1, 2, 3, 4]
        assert [r.metrics["loss"] for r in done.reports][2:] == pytest.approx([0.2, 0.3, 0.4])
        assert not storage.repause_trial(tid, "w2", 1)  # finished: never re-paused
        assert storage.count_trials(sid).budget_used == 1

    def test_concurrent_repauses_act_once(self, storage: BaseStorage, study: StudyRecord) -> None:
        sid = study.study_id
        lost = []
        for _ in range(6):
            tid = self._paused(storage, sid, steps=1)
            assert storage.claim_paused_trial(tid, "dead") is not None
            storage.add_report(tid, 1, {"loss": 0.5})
            lost.append(tid)
        won: list[int] = []
        lock = threading.Lock()

        def work(handle: BaseStorage, i: int) -> None:
            for tid in lost:
                if handle.repause_trial(tid, "dead", 0, {"by": i}):
                    with lock:
                        won.append(tid)

        self.on_handles(storage, 4, work)  # type: ignore[attr-defined]
        assert sorted(won) == sorted(lost)  # each exactly once
        for tid in lost:
            got = storage.get_trial(tid)
            assert got.state is PAUSED and [r.step for r in got.reports] == [0]

"""A SQLite file whose write lock another real process holds: reads answer at once, a
write says within a second that it waits, goes on when the lock is free, and gives up
after its time budget with one line."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from lock_holder import write_lock_held
from tunelab.errors import StorageError
from tunelab.storage.sql import SQLStorage
from tunelab.storage.sql.retry import WAIT_ENV, wait_budget
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

WAITING = "waiting for the database lock held by another process"


def _storage(path: Path, wait_s: float | None = None) -> tuple[SQLStorage, int]:
    storage = SQLStorage(str(path), wait_s=wait_s)
    sid = storage.create_study("s", "loss", Direction.MINIMIZE, {"name": "random"}, {}).study_id
    return storage, sid


def _said(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


def test_reads_answer_while_another_process_holds_the_write_lock(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    storage, sid = _storage(db)
    trial = storage.create_trial(sid, TrialState.RUNNING, "w")
    assert trial is not None
    storage.finish_trial(trial.trial_id, TrialState.COMPLETE, value=1.0)
    storage.close()
    with write_lock_held(db):
        # SQLite's own wait for a lock is 0.75 s: anything faster took no lock
        for read in (
            lambda: SQLStorage(str(db), create_schema=False),
            lambda: SQLStorage(str(db)).list_studies(),
            lambda: SQLStorage(str(db)).get_trials(sid),
            lambda: SQLStorage(str(db)).count_trials(sid),
        ):
            started = time.monotonic()
            read()
            assert time.monotonic() - started < 0.7


def test_a_write_waits_for_the_lock_says_so_once_and_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "t.db"
    storage, sid = _storage(db)
    with write_lock_held(db) as release:
        threading.Timer(2.5, release).start()
        started = time.time()
        storage.set_study_setting(sid, "k", 1)
        waited = time.time() - started
    assert waited >= 2.0  # it really waited for the other process
    said = _said(caplog, WAITING)
    assert len(said) == 1 and said[0].created - started < 1.2  # within a second, once
    assert len(_said(caplog, "got the database lock after")) == 1
    assert SQLStorage(str(db)).get_study("s").settings["k"] == 1  # type: ignore[union-attr]


def test_a_write_gives_up_after_its_budget_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "t.db"
    storage, sid = _storage(db, wait_s=1.5)
    with write_lock_held(db):
        started = time.monotonic()
        with pytest.raises(StorageError) as caught:
            storage.set_study_setting(sid, "k", 1)
        waited = time.monotonic() - started
    assert 1.5 <= waited < 3.5
    message = str(caught.value)
    assert "\n" not in message
    assert "another process held the lock" in message and f"{WAIT_ENV}=" in message
    assert len(_said(caplog, WAITING)) == 1
    assert "k" not in SQLStorage(str(db)).get_study("s").settings  # type: ignore[union-attr]


def test_a_heartbeat_missed_while_waiting_does_not_make_a_worker_lost(tmp_path: Path) -> None:
    """After a long wait for the database, other workers' heartbeats are as late as this
    process's writes were: they get their grace again before they are judged lost."""
    db = tmp_path / "t.db"
    storage, sid = _storage(db)
    other = storage.create_trial(sid, TrialState.RUNNING, "elsewhere:1:abc")
    assert other is not None
    storage.heartbeat([other.trial_id], time.time() - 3.0)  # its last beat: 3 s ago
    waited = SQLStorage(str(db))
    with write_lock_held(db) as release:
        threading.Timer(1.0, release).start()
        waited.set_study_setting(sid, "k", 1)  # waits about a second for the lock

    def lost(t: FrozenTrial) -> bool:
        return time.time() - (t.heartbeat or 0.0) > 2.0  # a grace of 2 s

    assert waited.fail_lost_trials(sid, lost, "worker lost") == []
    assert SQLStorage(str(db)).fail_lost_trials(sid, lost, "worker lost") == [other.trial_id]


def test_the_budget_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(WAIT_ENV, raising=False)
    assert wait_budget() == 60.0
    monkeypatch.setenv(WAIT_ENV, "2.5")
    assert wait_budget() == 2.5
    for bad in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv(WAIT_ENV, bad)
        with pytest.raises(StorageError, match=f"{WAIT_ENV} must be a number of seconds"):
            SQLStorage(str(tmp_path / "t.db"))

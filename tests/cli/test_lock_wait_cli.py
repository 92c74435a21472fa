"""The `tunelab` command while another real process holds the SQLite file's write lock:
reading commands answer at once; a command that writes says that it waits, then gives
up after TUNELAB_DB_WAIT_S with one line, and changes nothing."""

from __future__ import annotations

import time
from pathlib import Path

import tunelab
from cli_process import run_tunelab
from lock_holder import write_lock_held
from tunelab import TrialState

WAIT = {"TUNELAB_DB_WAIT_S": "3"}


def _study_with_a_failed_trial(db: Path) -> None:
    study = tunelab.create_study("s", storage=str(db), metric="loss", direction="minimize")
    study.optimize(lambda t: t.hp.Float("x", 0, 1), n_trials=2)
    trial = study.ask()
    study.tell(trial, state=TrialState.FAIL, reason="boom")
    study.storage.close()


def test_reading_commands_answer_while_the_lock_is_held(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _study_with_a_failed_trial(db)
    with write_lock_held(db):
        for command in (("show", "s"), ("studies",), ("status", "s")):
            started = time.monotonic()
            done = run_tunelab(*command, "--storage", str(db), cwd=tmp_path, timeout=60, env=WAIT)
            took = time.monotonic() - started
            assert done.returncode == 0, done.stderr
            assert "waiting" not in done.stderr and took < 3, (command, took, done.stderr)
            assert "s" in done.stdout


def test_a_writing_command_says_it_waits_then_gives_up_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _study_with_a_failed_trial(db)
    with write_lock_held(db):
        started = time.monotonic()
        done = run_tunelab(
            "retry", "s", "--failed", "--storage", str(db), cwd=tmp_path, timeout=60, env=WAIT
        )
        took = time.monotonic() - started
    assert done.returncode == 1 and 3 <= took < 20
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    waiting = [ln for ln in lines if "waiting for the database lock held by another process" in ln]
    assert len(waiting) == 1 and "TUNELAB_DB_WAIT_S" in waiting[0]
    assert lines[-1].startswith("error: queueing a retry failed: another process held the lock")
    assert "TUNELAB_DB_WAIT_S=" in lines[-1]
    after = tunelab.load_study("s", storage=str(db)).trials
    assert [t.state for t in after].count(TrialState.WAITING) == 0  # nothing was queued


def test_verbose_shows_each_try_and_quiet_only_the_error(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _study_with_a_failed_trial(db)
    args = ("retry", "s", "--failed", "--storage", str(db))
    short = {"TUNELAB_DB_WAIT_S": "1"}
    with write_lock_held(db):
        verbose = run_tunelab("-v", *args, cwd=tmp_path, timeout=60, env=short)
        quiet = run_tunelab(*args, "-q", cwd=tmp_path, timeout=60, env=short)
    tries = [ln for ln in verbose.stderr.splitlines() if "(try " in ln]
    assert verbose.returncode == 1 and tries, verbose.stderr
    assert "database is locked" in tries[0] and "trying again in" in tries[0]
    assert quiet.returncode == 1
    assert quiet.stderr.strip().splitlines() == [
        next(ln for ln in verbose.stderr.splitlines() if ln.startswith("error: "))
    ]

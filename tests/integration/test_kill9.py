"""A worker killed with SIGKILL mid-trial loses nothing, and the study can be completed.

Its RUNNING trial is found at once on the same host (the process is gone), or
by its stale heartbeat from another host; it is marked FAIL ('worker lost'),
does not use the trial budget, and rerunning the same optimize call finishes
the study with exactly `n_trials` trials that count.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import tunelab
from tunelab.storage.sql import SQLStorage
from tunelab.types import EndCause, TrialState

from .workers import Spawn, finish, open_study, wait_for

pytestmark = pytest.mark.slow

N_TRIALS = 6
HANG_AT = 2  # the trial the first worker is killed in


def _kill9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)  # reaped: a zombie's pid would still look alive
    assert proc.returncode == -signal.SIGKILL


def _killed_mid_trial(spawn: Spawn, tmp_path: Path) -> int:
    """Run a worker until it is inside trial HANG_AT (one report stored), SIGKILL it, and
    return the orphaned trial's id."""
    marker = tmp_path / "inside-trial"
    proc = spawn(n_trials=N_TRIALS, steps=3, sleep=0.05, hang_at=HANG_AT, marker=str(marker))
    wait_for(marker.exists, what="the worker to enter the trial")
    _kill9(proc)
    return int(marker.read_text())


def _study_id(storage: SQLStorage) -> int:
    record = storage.get_study("s")
    assert record is not None
    return record.study_id


def _assert_orphan(db_url: str, trial_id: int) -> None:
    with SQLStorage(db_url).session() as storage:
        orphan = storage.get_trial(trial_id)
        assert orphan.state is TrialState.RUNNING and orphan.number == HANG_AT
        assert [r.step for r in orphan.reports] == [0]  # written before the kill, kept
        counts = storage.count_trials(_study_id(storage))
        assert counts[TrialState.COMPLETE] == HANG_AT and counts[TrialState.RUNNING] == 1


def _assert_completed(study: tunelab.Study, lost_id: int) -> None:
    trials = study.trials
    assert [t.number for t in trials] == list(range(N_TRIALS + 1))
    lost = next(t for t in trials if t.trial_id == lost_id)
    assert lost.state is TrialState.FAIL
    assert lost.reason is not None and lost.reason.startswith("worker lost")
    assert lost.end_cause is EndCause.LOST and not lost.counts_toward_budget
    assert [r.step for r in lost.reports] == [0]
    others = [t for t in trials if t.trial_id != lost_id]
    assert all(t.state is TrialState.COMPLETE for t in others)
    assert all(len(t.reports) == 3 and "x" in t.params for t in others)
    counts = study.storage.count_trials(study.study_id)
    assert counts.budget_used == N_TRIALS  # the lost trial does not count
    assert counts.interrupted == 1 and counts[TrialState.RUNNING] == 0


def test_next_worker_fails_the_orphan_and_completes_the_study(
    spawn: Spawn, tmp_path: Path, db_url: str
) -> None:
    lost_id = _killed_mid_trial(spawn, tmp_path)
    _assert_orphan(db_url, lost_id)

    finish(spawn(n_trials=N_TRIALS, steps=3))  # the same call again, in a new process

    study = open_study(db_url)
    _assert_completed(study, lost_id)
    study.optimize(lambda t: t.hp.Float("x", 0, 1), n_trials=N_TRIALS)  # nothing left to do
    assert len(study.trials) == N_TRIALS + 1
    study.storage.close()


def test_this_process_fails_the_orphan_then_resumes(
    spawn: Spawn, tmp_path: Path, db_url: str
) -> None:
    lost_id = _killed_mid_trial(spawn, tmp_path)
    study = open_study(db_url)
    assert study.fail_lost_trials() == [lost_id]  # pid gone on this host: at once
    assert study.fail_lost_trials() == []

    def objective(trial: tunelab.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        trial.hp.Int("units", 8, 64, step=8)
        for step in range(3):
            trial.report(step, loss=x + step)
        return x

    study.optimize(objective, n_trials=N_TRIALS)
    _assert_completed(study, lost_id)
    study.storage.close()


def test_kill_during_a_burst_of_writes_leaves_a_sound_database(
    spawn: Spawn, tmp_path: Path, db_url: str
) -> None:
    proc = spawn(n_trials=1000, steps=40)  # reports as fast as it can
    with SQLStorage(db_url).session() as storage:
        wait_for(
            lambda: (
                storage.get_study("s") is not None
                and storage.count_trials(_study_id(storage))[TrialState.COMPLETE] >= 3
            ),
            what="a few trials",
        )
    time.sleep(0.13)
    _kill9(proc)

    con = sqlite3.connect(db_url)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
    study = open_study(db_url)
    before = study.storage.count_trials(study.study_id)
    lost = study.fail_lost_trials()
    assert len(lost) == before[TrialState.RUNNING] <= 1
    done = before[TrialState.COMPLETE]
    study.optimize(lambda t: t.hp.Float("x", 0, 1), n_trials=done + 2)
    after = study.storage.count_trials(study.study_id)
    assert after[TrialState.COMPLETE] == done + 2
    assert after[TrialState.RUNNING] == 0 and after.budget_used == done + 2
    for t in study.trials:  # every report a finished trial wrote is there, in order
        steps = [r.step for r in t.reports]
        assert steps == list(range(len(steps)))
        if t.state is TrialState.COMPLETE and t.number < done:
            assert len(steps) == 40
    study.storage.close()


def test_killed_grid_worker_leaves_its_cell_to_the_next_run(
    spawn: Spawn, tmp_path: Path, db_url: str
) -> None:
    marker = tmp_path / "inside-trial"
    proc = spawn(
        kind="grid", sampler="grid", sleep=0.0, n_trials=None, hang_at=4, marker=str(marker)
    )
    wait_for(marker.exists, what="the worker to enter the trial")
    _kill9(proc)
    lost_id = int(marker.read_text())
    with SQLStorage(db_url).session() as storage:
        held = storage.get_trial(lost_id)
        assert held.state is TrialState.RUNNING and len(held.params) == 3  # a whole cell

    finish(spawn(kind="grid", sampler="grid", sleep=0.0, n_trials=None))

    study = open_study(db_url)
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    cells = [(t.params["a"], t.params["b"], t.params["c"]) for t in done]
    assert len(cells) == len(set(cells)), "a grid cell ran twice"
    lost_cell = (held.params["a"], held.params["b"], held.params["c"])
    assert lost_cell in cells, f"the lost trial's cell {lost_cell} was never run again"
    assert len(cells) == 12
    lost = study.storage.get_trial(lost_id)
    assert lost.state is TrialState.FAIL
    assert lost.reason is not None and lost.reason.startswith("worker lost")
    study.storage.close()


def test_ctrl_c_records_the_trial_as_interrupted(spawn: Spawn, tmp_path: Path, db_url: str) -> None:
    marker = tmp_path / "inside-trial"
    proc = spawn(n_trials=N_TRIALS, steps=3, sleep=0.0, hang_at=HANG_AT, marker=str(marker))
    wait_for(marker.exists, what="the worker to enter the trial")
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    trial_id = int(marker.read_text())
    with SQLStorage(db_url).session() as storage:
        got = storage.get_trial(trial_id)
        assert got.state is TrialState.FAIL and got.end_cause is EndCause.INTERRUPTED
        assert got.reason is not None and "interrupted" in got.reason
        assert storage.count_trials(_study_id(storage))[TrialState.RUNNING] == 0

    finish(spawn(n_trials=N_TRIALS, steps=3))
    study = open_study(db_url)
    assert study.storage.count_trials(study.study_id).budget_used == N_TRIALS
    assert len(study.trials) == N_TRIALS + 1
    study.storage.close()


def test_ctrl_c_in_a_terminal_records_every_running_trial(spawn: Spawn, tmp_path: Path) -> None:
    """Ctrl-C in a terminal sends SIGINT to the whole process group: the parent of
    `n_jobs=2` and both its workers. Each worker must record its trial as interrupted.
    (Three rounds, each on a new file: a race that loses the record shows up in one.)"""
    for round_ in range(3):
        url, marker = str(tmp_path / f"r{round_}.db"), tmp_path / f"inside{round_}"
        proc = spawn(url=url, n_trials=20, n_jobs=2, steps=1, hang_from=3, marker=str(marker))
        wait_for(
            lambda m=marker.name: len(list(tmp_path.glob(f"{m}.*"))) == 2,
            what="both workers to enter a trial",
        )
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0 and "KeyboardInterrupt" in err
        with SQLStorage(url).session() as storage:
            trials = storage.get_trials(_study_id(storage))
        left = [(t.number, t.state.value) for t in trials if not t.state.is_finished]
        assert left == [], f"round {round_}: Ctrl-C left trials unfinished: {left}"
        stopped = [t for t in trials if t.end_cause is EndCause.INTERRUPTED]
        assert len(stopped) == 2
        assert all(t.reason == "interrupted (Ctrl-C)" for t in stopped)


# -- heartbeats: a worker on another host ------------------------------------------------------
def test_stale_heartbeat_from_another_host_is_lost_a_fresh_one_is_not(db_url: str) -> None:
    study = tunelab.create_study(
        "hb", storage=db_url, metric="loss", direction="minimize", heartbeat_interval=0.2
    )  # grace: 4 beats = 0.8 s
    storage, sid = study.storage, study.study_id
    stale = storage.create_trial(sid, TrialState.RUNNING, worker="otherhost:123:abc")
    kept_alive = storage.create_trial(sid, TrialState.RUNNING, worker="otherhost:124:abd")
    assert stale is not None and kept_alive is not None
    assert study.fail_lost_trials() == []  # both fresh

    deadline = time.time() + 1.0
    while time.time() < deadline:  # one worker keeps beating, the other is silent
        storage.heartbeat([kept_alive.trial_id], time.time())
        time.sleep(0.1)
    # pids 123-125 need not exist here: on another host only the heartbeat tells
    fresh = storage.create_trial(sid, TrialState.RUNNING, worker="otherhost:125:abe")
    assert fresh is not None

    assert study.fail_lost_trials() == [stale.trial_id]
    got = storage.get_trial(stale.trial_id)
    assert got.state is TrialState.FAIL and got.reason is not None
    assert got.reason.startswith("worker lost") and got.end_cause is EndCause.LOST
    assert storage.get_trial(kept_alive.trial_id).state is TrialState.RUNNING
    assert storage.get_trial(fresh.trial_id).state is TrialState.RUNNING
    assert storage.count_trials(sid).budget_used == 2

    late = storage.finish_trial(stale.trial_id, TrialState.COMPLETE, value=1.0)
    assert late is False  # the lost worker's late result is not stored
    assert storage.get_trial(stale.trial_id).state is TrialState.FAIL
    storage.close()


def test_heartbeat_keeps_a_long_trial_of_a_live_worker(
    spawn: Spawn, tmp_path: Path, db_url: str
) -> None:
    proc = spawn(n_trials=2, steps=2, sleep=0.9, heartbeat=0.2)  # each trial 1.8 s > grace
    with SQLStorage(db_url).session() as storage:
        wait_for(lambda: storage.get_study("s") is not None, what="the study")
        study = tunelab.load_study("s", storage=storage)
        wait_for(
            lambda: bool(storage.get_trials(study.study_id, [TrialState.RUNNING])),
            what="a running trial",
        )
        checks = 0
        while proc.poll() is None:
            assert study.fail_lost_trials() == [], "a live worker's trial was declared lost"
            checks += 1
            time.sleep(0.1)
        assert checks > 20
        finish(proc)
        trials = storage.get_trials(study.study_id)
        assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
        assert all(t.duration is not None and t.duration > 1.5 for t in trials)


def test_worker_paused_past_the_grace_goes_on_with_the_study(
    spawn: Spawn, tmp_path: Path, db_url: str
) -> None:
    """A worker stopped longer than the grace (SIGSTOP here; a suspended VM or a long
    network cut in life) has its trial declared lost by another process. When it wakes,
    its late result must be dropped (the trial stays FAIL, outside the budget) and the
    worker must go on to finish the study: one trial's trouble must not stop the search."""
    marker = tmp_path / "inside-trial"
    proc = spawn(n_trials=4, steps=1, heartbeat=0.2, hang_at=1, hang_s=0.5, marker=str(marker))
    wait_for(marker.exists, what="the worker to enter the trial")
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        time.sleep(1.2)  # > grace = 4 x 0.2 s
        lost_id = int(marker.read_text())
        with SQLStorage(db_url).session() as storage:
            study = tunelab.load_study("s", storage=storage)
            assert study.fail_lost_trials() == [lost_id]
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, f"the woken worker stopped the search:\n{err[-2000:]}"
    study = open_study(db_url)
    counts = study.storage.count_trials(study.study_id)
    assert counts[TrialState.COMPLETE] == 4 and counts.interrupted == 1
    assert study.storage.get_trial(lost_id).state is TrialState.FAIL
    study.storage.close()

"""`tunelab worker` processes under faults: kill -9 of random workers, PostgreSQL
connections terminated mid-run, eight workers on one SQLite file. Nothing is lost,
nothing runs twice, no error reaches the user, and the database stays sound."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

import tunelab
from tunelab.types import EndCause, TrialState

from .cli_workers import (
    OBJECTIVE,
    assert_every_config_completed_once,
    clean_exit,
    kill9,
    make_queued_study,
    sqlite_integrity,
    tunelab_cmd,
)
from .workers import Spawn, completed, finish, wait_for

pytestmark = pytest.mark.slow

N_TRIALS = 100
N_WORKERS = 4
N_KILLS = 10


def _busy_pids(url: str) -> set[int]:
    """Pids of the workers inside a trial right now."""
    with tunelab.get_storage(url).session() as storage:
        record = storage.get_study("s")
        assert record is not None
        running = storage.get_trials(record.study_id, [TrialState.RUNNING], with_reports=False)
    return {int(t.worker.split(":")[1]) for t in running if t.worker}


def _kill_random_workers(url: str, tmp_path: Path, seed: int) -> list[subprocess.Popen[str]]:
    """Run N_WORKERS workers; kill -9 a random one N_KILLS times (each replaced at once, as
    a cluster manager would): two kills in three hit a worker inside a trial, the others
    land anywhere (start-up, a write, between trials). Return the survivors, running."""
    rng = random.Random(seed)
    args = ("worker", "s", "--storage", url, "--script", "obj.py", "--trials", str(N_TRIALS))
    workers = [tunelab_cmd(*args, cwd=tmp_path) for _ in range(N_WORKERS)]
    wait_for(lambda: completed(url) >= 5, timeout=60, what="the first trials")
    kills = 0
    while kills < N_KILLS:
        time.sleep(rng.uniform(0.05, 0.2))
        alive = [w for w in workers if w.poll() is None]
        assert alive, f"the study finished after only {kills} kills; slow the trials down"
        if kills % 3 != 2:
            busy = _busy_pids(url)
            alive = [w for w in alive if w.pid in busy]
            if not alive:
                continue
        victim = rng.choice(alive)
        kill9(victim)
        workers.remove(victim)
        workers.append(tunelab_cmd(*args, cwd=tmp_path))
        kills += 1
    return workers


def _kill_test(url: str, tmp_path: Path, seed: int) -> list[tunelab.FrozenTrial]:
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    make_queued_study(url, N_TRIALS)
    for w in _kill_random_workers(url, tmp_path, seed):
        clean_exit(w)
    lost = assert_every_config_completed_once(url, N_TRIALS)
    return lost


def test_kill9_random_workers_sqlite(tmp_path: Path) -> None:
    url = str(tmp_path / "s.db")
    lost = _kill_test(url, tmp_path, seed=1)
    assert len(lost) >= 4, "too few kills landed inside a trial to prove anything"
    sqlite_integrity(url)


def test_kill9_random_workers_postgres(tmp_path: Path, postgres_url: str) -> None:
    lost = _kill_test(postgres_url, tmp_path, seed=2)
    assert len(lost) >= 4, "too few kills landed inside a trial to prove anything"
    _postgres_consistent(postgres_url)


def _postgres_consistent(url: str) -> None:
    """No orphan rows, unique numbers, counts that match: PostgreSQL's integrity check."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        orphans = conn.execute(
            "SELECT count(*) FROM tunelab_reports r LEFT JOIN tunelab_trials t "
            "ON t.trial_id = r.trial_id WHERE t.trial_id IS NULL"
        ).fetchone()
        dupes = conn.execute(
            "SELECT count(*) FROM (SELECT study_id, number FROM tunelab_trials "
            "GROUP BY study_id, number HAVING count(*) > 1) d"
        ).fetchone()
        flags = conn.execute(
            "SELECT count(*) FROM tunelab_trials WHERE interrupted <> (coalesce("
            "end_cause IN ('INTERRUPTED', 'LOST'), false) OR retried_by IS NOT NULL)"
        ).fetchone()
    assert orphans == (0,) and dupes == (0,) and flags == (0,)


def test_postgres_connections_terminated_mid_run(tmp_path: Path, postgres_url: str) -> None:
    """The server drops every worker connection five times (pg_terminate_backend, as in a
    failover or restart): workers reconnect and finish; every trial is stored once."""
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    make_queued_study(postgres_url, 60)
    args = ("worker", "s", "--storage", postgres_url, "--script", "obj.py", "--trials", "60")
    workers = [tunelab_cmd(*args, cwd=tmp_path) for _ in range(3)]
    wait_for(lambda: completed(postgres_url) >= 3, timeout=60, what="the first trials")
    name = postgres_url.rsplit("/", 1)[1]
    admin = psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True)
    terminated = 0
    try:
        for _ in range(5):
            time.sleep(0.3)
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchall()
            terminated += sum(1 for (ok,) in rows if ok)
    finally:
        admin.close()
    assert terminated >= 5, "no worker connection was open to terminate"
    for w in workers:
        clean_exit(w)
    lost = assert_every_config_completed_once(postgres_url, 60)
    assert lost == []  # the workers lived: a dropped connection loses no trial
    _postgres_consistent(postgres_url)


def test_eight_workers_on_one_sqlite_file(tmp_path: Path) -> None:
    """Eight processes write one SQLite file as fast as they can: the user sees no
    'database is locked', the budget is exact, every configuration runs once."""
    url = str(tmp_path / "s.db")
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    make_queued_study(url, 160, heartbeat=10.0)
    args = ("worker", "s", "--storage", url, "--script", "obj.py", "--trials", "160")
    workers = [tunelab_cmd(*args, cwd=tmp_path, env={"TEST_TRIAL_SLEEP": "0"}) for _ in range(8)]
    for w in workers:
        clean_exit(w, timeout=120)
    assert assert_every_config_completed_once(url, 160) == []
    sqlite_integrity(url)


def test_killed_grid_worker_on_postgres_leaves_its_cell_to_the_others(
    spawn: Spawn, tmp_path: Path, postgres_url: str
) -> None:
    """Two grid workers on PostgreSQL, one killed inside a cell: the other (and a
    replacement) finish the grid; every cell completes exactly once."""
    marker = tmp_path / "inside-trial"
    cfg = {"url": postgres_url, "kind": "grid", "sampler": "grid", "n_trials": None}
    doomed = spawn(**cfg, sleep=0.05, hang_from=2, marker=str(marker))  # hangs in its 1st
    other = spawn(**cfg, sleep=0.05)  # trial numbered 2 or more
    wait_for(lambda: bool(list(tmp_path.glob("inside-trial.*"))), what="a hanging trial")
    kill9(doomed)
    marker = next(tmp_path.glob("inside-trial.*"))
    finish(other)
    finish(spawn(**cfg))
    study = tunelab.load_study("s", storage=postgres_url)
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    cells = [(t.params["a"], t.params["b"], t.params["c"]) for t in done]
    assert len(cells) == 12 and len(set(cells)) == 12, "a grid cell ran twice or never"
    lost = study.storage.get_trial(int(marker.read_text()))
    assert lost.state is TrialState.FAIL and lost.reason.startswith("worker lost")
    study.storage.close()
    _postgres_consistent(postgres_url)


def test_a_worker_declared_lost_mid_trial_drops_that_trial_and_goes_on(tmp_path: Path) -> None:
    """Starved past the heartbeat grace, a live worker's trial is failed by another
    worker; its next write (a report) is refused. The worker drops that trial and
    finishes the study instead of stopping with an error."""
    study = tunelab.create_study(
        "s", storage=str(tmp_path / "s.db"), metric="loss", direction="minimize",
        sampler="random", max_retries=1,
    )  # fmt: skip

    def objective(trial: tunelab.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        if trial.number == 1:  # what another worker's fail_lost_trials does
            study.storage.finish_trial(
                trial.trial_id, TrialState.FAIL, reason="worker lost: silent too long",
                end_cause=EndCause.LOST,
            )  # fmt: skip
        trial.report(0, loss=x)
        return x

    study.optimize(objective, n_trials=4)
    trials = study.trials
    lost = trials[1]
    assert lost.state is TrialState.FAIL and lost.reason == "worker lost: silent too long"
    assert study.storage.count_trials(study.study_id)[TrialState.COMPLETE] == 4
    study.storage.close()

"""The PostgreSQL server restarts while four `tunelab worker` processes run one study:
each worker says once that it waits, rides the restart out, and goes on; the trials that
finished while the server was down keep their results; every configuration completes
exactly once and nothing is left RUNNING.

The test restarts the local server for real, as the user the suite runs as (CI starts
the same cluster in scripts/ensure-postgres.sh): `pg_ctlcluster … stop`, DOWN_S seconds,
then `start`, since a plain restart of an idle test server is over in a fraction of a
second, too short to be noticed."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

import tunelab
from tunelab.types import TrialState

from .cli_workers import (
    OBJECTIVE,
    assert_every_config_completed_once,
    make_queued_study,
    tunelab_cmd,
)
from .workers import completed, wait_for

pytestmark = pytest.mark.slow

N_TRIALS = 60
N_WORKERS = 4
WAITING = "waiting for the database server of"
DOWN_S = 3.0


def _postgres(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    done = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"could not {action} PostgreSQL: {done.stderr}"


def test_workers_ride_out_a_server_restart(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    make_queued_study(postgres_url, N_TRIALS, max_retries=0)  # a lost trial would stay FAIL
    args = ("worker", "s", "--storage", postgres_url, "--script", "obj.py")
    env = {"TEST_TRIAL_SLEEP": "0.3"}
    workers = [
        tunelab_cmd(*args, "--trials", str(N_TRIALS), cwd=tmp_path, env=env)
        for _ in range(N_WORKERS)
    ]
    wait_for(lambda: completed(postgres_url) >= 12, timeout=90, what="the first trials")
    down = time.time()
    try:
        _postgres("stop")
        time.sleep(DOWN_S)
    finally:
        _postgres("start")
    up = time.time()

    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, f"worker exited with {worker.returncode}:\n{out}\n{err}"
        assert "worker done" in out
        for bad in ("Traceback", "error:", "Error"):
            assert bad not in err, err
        said = [line for line in err.splitlines() if WAITING in line]
        assert len(said) == 1, f"the wait was not said once:\n{err}"

    assert assert_every_config_completed_once(postgres_url, N_TRIALS) == []  # none lost
    trials = tunelab.load_study("s", storage=postgres_url).trials
    finished_while_down = [
        t for t in trials if t.datetime_complete is not None and down < t.datetime_complete < up
    ]
    assert finished_while_down, "no trial finished while the server was down"
    for t in finished_while_down:
        assert t.state is TrialState.COMPLETE and t.value == float(t.params["cfg"])

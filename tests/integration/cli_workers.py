"""Helpers for tests that start `tunelab worker` processes and check the study after."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sqlite3
import subprocess
from collections import Counter

import tunelab
from cli_process import run_tunelab, start_tunelab
from tunelab.types import EndCause, TrialState

# Each trial asks for the enqueued configuration `cfg`, reports once and sleeps a little.
OBJECTIVE = """
import os, time
METRIC = "loss"
DIRECTION = "minimize"
SLEEP = float(os.environ.get("TEST_TRIAL_SLEEP", "0.05"))

def objective(trial):
    cfg = trial.hp.Int("cfg", 0, 10_000)
    trial.report(0, loss=float(cfg))
    time.sleep(SLEEP)
    return float(cfg)
"""


tunelab_cmd = start_tunelab  # a worker, in its own process group: the test waits for it
run_cli = functools.partial(run_tunelab, timeout=60)  # `tunelab status`, `stop`, `retry`…


def kill9(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the worker's whole process group and reap it (a zombie's pid looks alive)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def clean_exit(proc: subprocess.Popen[str], timeout: float = 90, failing: bool = False) -> str:
    """Wait for a worker: exit 0 and no error on stderr (a `failing` objective's trials
    may log their exceptions)."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"worker exited with {proc.returncode}:\n{out}\n{err}"
    for bad in ("Traceback", "database is locked", "error:", *(() if failing else ("Error",))):
        assert bad not in err, err
    return out


def make_queued_study(url: str, n: int, max_retries: int = 5, heartbeat: float = 1.0) -> None:
    """A study whose n trials are enqueued configurations cfg=0..n-1. A killed worker on
    this host is found by its pid at once; the heartbeat only sets how often workers look
    (and the grace, 4 beats, that a live but starved worker must not exceed)."""
    study = tunelab.create_study(
        "s",
        storage=url,
        metric="loss",
        direction="minimize",
        sampler="random",
        heartbeat_interval=heartbeat,
        max_retries=max_retries,
    )
    for cfg in range(n):
        study.enqueue({"cfg": cfg})
    study.storage.close()


def assert_every_config_completed_once(url: str, n: int) -> list[tunelab.FrozenTrial]:
    """Every configuration ended COMPLETE exactly once; each FAIL is a lost worker's trial
    whose retry chain ends in COMPLETE; nothing is left running or queued; numbering and
    counts are consistent. Returns the lost trials."""
    study = tunelab.load_study("s", storage=url)
    try:
        trials = study.trials
        by_number = {t.number: t for t in trials}
        assert sorted(t.number for t in trials) == list(range(len(trials)))
        left = [(t.number, t.state.value) for t in trials if not t.state.is_finished]
        assert left == [], f"trials left unfinished: {left}"
        done = Counter(t.params["cfg"] for t in trials if t.state is TrialState.COMPLETE)
        assert sorted(done) == list(range(n)), "a configuration never completed"
        twice = [cfg for cfg, k in done.items() if k > 1]
        assert twice == [], f"configurations that ran to COMPLETE twice: {twice}"
        lost = [t for t in trials if t.state is TrialState.FAIL]
        for t in lost:
            assert t.reason is not None and t.reason.startswith("worker lost"), t.reason
            assert t.end_cause is EndCause.LOST
            follow = t
            while follow.state is TrialState.FAIL:
                assert follow.retried_by is not None
                follow = by_number[follow.retried_by]
                assert follow.retry_of is not None
                cfg = follow.enqueued["cfg"]
                assert cfg == (t.enqueued or t.params)["cfg"]  # the same configuration
            assert follow.state is TrialState.COMPLETE
        counts = study.storage.count_trials(study.study_id)
        assert counts.total == len(trials)
        assert counts[TrialState.COMPLETE] == n and counts.budget_used == n
        assert counts.interrupted == len(lost)
        for t in trials:  # reports belong to their trial and are whole
            assert [r.step for r in t.reports] in ([], [0])
        return lost
    finally:
        study.storage.close()


def sqlite_integrity(path: str) -> None:
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()

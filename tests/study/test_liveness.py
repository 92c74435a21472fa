"""Which worker ids name a dead process on this host, judged with real processes: a
freed pid, a zombie, a reused pid (same number, another start time), a former boot. Ids
stored before the start time was part of them still parse and are judged by the pid."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tunelab
from tunelab import EndCause, TrialState
from tunelab._process import process_alive, start_time
from tunelab.study.liveness import BOOT, HOST, WorkerName, is_lost, worker_id

pytestmark = pytest.mark.skipif(
    start_time() is None or BOOT is None, reason="needs /proc (Linux) to tell processes apart"
)


def _zombie() -> subprocess.Popen[bytes]:
    """A child that has exited and is not yet reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while process_alive(proc.pid):
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    return proc


def test_a_worker_id_names_this_process_and_its_start() -> None:
    me = WorkerName.parse(worker_id())
    assert me == WorkerName(HOST, os.getpid(), BOOT, start_time())
    assert not me.gone()
    assert worker_id() != worker_id()  # two study objects in one process: two workers


def test_old_and_foreign_ids_parse_without_a_start_time() -> None:
    assert WorkerName.parse(f"{HOST}:{os.getpid()}:ab12cd") == WorkerName(HOST, os.getpid())
    assert WorkerName.parse("host:1:ab") == WorkerName("host", 1)
    assert WorkerName.parse("worker-0") is None
    assert WorkerName.parse("host:x:ab") is None
    assert not WorkerName(HOST, os.getpid()).gone()  # judged by the pid alone: alive


def test_a_reused_pid_or_a_former_boot_is_gone_at_once() -> None:
    started = start_time()
    assert started is not None and BOOT is not None
    assert WorkerName(HOST, os.getpid(), BOOT, started + 1).gone()  # same pid, other process
    assert WorkerName(HOST, os.getpid(), "0" * len(BOOT), started).gone()  # before a reboot
    assert not WorkerName("elsewhere/1", os.getpid(), "0" * len(BOOT), 1).gone()  # can't tell


def test_a_zombie_or_a_freed_pid_is_gone() -> None:
    proc = _zombie()
    try:
        assert not process_alive(proc.pid)
        assert WorkerName(HOST, proc.pid).gone()
    finally:
        proc.wait()
    assert WorkerName(HOST, proc.pid).gone()  # reaped: the pid is free (or another's)


def test_a_trial_of_a_dead_worker_on_this_host_is_lost_whatever_its_heartbeat(
    tmp_path: Path,
) -> None:
    study = tunelab.create_study("ids", storage=str(tmp_path / "s.db"), heartbeat_interval=60.0)
    storage, sid = study.storage, study.study_id
    started = start_time()
    assert started is not None
    reused = f"{HOST}:{os.getpid()}:ab12cd.{BOOT}.{started + 1}"
    old_alive = f"{HOST}:{os.getpid()}:ab12cd"  # a row stored before start times
    trials = [storage.create_trial(sid, TrialState.RUNNING, worker=w) for w in (reused, old_alive)]
    assert trials[0] is not None and trials[1] is not None
    now = time.time()  # the heartbeats are fresh: only the worker ids can tell
    assert is_lost(trials[0], now, 240.0, worker_id())
    assert not is_lost(trials[1], now, 240.0, worker_id())
    assert study.fail_lost_trials() == [trials[0].trial_id]
    lost = storage.get_trial(trials[0].trial_id)
    assert (lost.state, lost.end_cause) == (TrialState.FAIL, EndCause.LOST)
    storage.close()

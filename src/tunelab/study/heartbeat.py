"""Heartbeats: a worker's running trials stay visibly alive; dead workers' trials are found.

A background thread refreshes the heartbeat of this process's running trials
and flushes their buffered parameters. A trial is lost when its worker ran on
this host and that process is gone (found at once), or when its heartbeat is
older than the study's grace period (any host).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

from tunelab.storage import BaseStorage
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

LOST_REASON = "worker lost: its process stopped without finishing the trial"


def _host() -> str:
    """The host name plus the pid namespace: containers that share a host name but not a
    process list must not judge each other's pids."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}/{namespace}"


HOST = _host()


def worker_id() -> str:
    """host:pid:token — the token tells a reused pid apart."""
    return f"{HOST}:{os.getpid()}:{secrets.token_hex(3)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_lost(trial: FrozenTrial, now: float, grace: float, me: str) -> bool:
    if trial.worker == me:
        return False
    if trial.worker:
        host, _, rest = trial.worker.partition(":")
        pid = rest.partition(":")[0]
        if host == HOST and pid.isdigit() and not _pid_alive(int(pid)):
            return True
    beat = trial.heartbeat or trial.datetime_start or now
    return now - beat > grace


def retry_lost(storage: BaseStorage, study_id: int, max_retries: int) -> list[FrozenTrial]:
    """Queue a retry (same params) of every lost trial not yet retried `max_retries` times.

    A sweep over all lost trials, not only those this process just failed: a worker
    killed between failing a trial and queueing its retry leaves the retry to the next
    sweep, and `retry_trial` makes sure two workers never queue the same one twice."""
    queued = []
    for t in storage.get_trials(study_id, [TrialState.FAIL], with_reports=False):
        attrs = t.system_attrs
        if (
            (t.reason or "").startswith("worker lost")
            and "retried_by" not in attrs
            and int(attrs.get("retries", 0)) < max_retries
        ):
            new = storage.retry_trial(t.trial_id)
            if new is not None:
                queued.append(new)
    return queued


class Heartbeat:
    """Calls `beat()` every `interval` seconds on a daemon thread until stopped."""

    def __init__(self, beat: Callable[[], None], interval: float) -> None:
        self._beat = beat
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="tunelab-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._beat()
            except Exception:
                time.sleep(self._interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            if self._thread.ident is not None:  # a Ctrl-C can land inside Thread.start()
                self._thread.join(timeout=5)
            self._thread = None

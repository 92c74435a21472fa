"""Liveness: a worker's running trials stay visibly alive; dead workers' trials are found;
Ctrl-C records the trials this process runs.

A background thread refreshes the heartbeat of this process's running trials
and flushes their buffered parameters. A trial is lost when its worker ran on
this host and that process is gone (found at once), or when its heartbeat is
older than the study's grace period (any host). Lost trials end as LOST (they
use no budget) and, with `max_retries`, are queued again with their parameters. Under
freeze-thaw and PBT, a trial that paused before and whose worker is provably gone goes
back to PAUSED from its last paused checkpoint instead (tunelab.study.repause).

A worker id is `host:pid:token`. The token is random (two study objects in one
process are two workers) and, where the platform tells, carries the boot and the
process's start time: `a1b2c3.<boot>.<start>`. With them a pid that has been
reused, or one from before a reboot, is known dead at once; ids without them
(older rows, other platforms) are judged by the pid alone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunelab._process import boot_id, process_alive, start_time
from tunelab.errors import StorageError, TrialError
from tunelab.storage import BaseStorage
from tunelab.study import repause
from tunelab.trial import FrozenTrial
from tunelab.types import EndCause, TrialState

if TYPE_CHECKING:
    from tunelab.study.host import Host
    from tunelab.study.study import Study

LOST_REASON = "worker lost: its process stopped without finishing the trial"
INTERRUPTED = "interrupted (Ctrl-C)"  # the reason a Ctrl-C records
ORPHANED = "worker lost: the process that started it died"  # a trial process's own record


def _host() -> str:
    """The host name plus the pid namespace: containers that share a host name but not a
    process list must not judge each other's pids."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}/{namespace}"


HOST = _host()
BOOT = boot_id()


@dataclass(frozen=True)
class WorkerName:
    """A worker id taken apart; `boot` and `started` are None where the id lacks them."""

    host: str
    pid: int
    boot: str | None = None
    started: int | None = None

    @classmethod
    def parse(cls, worker: str) -> WorkerName | None:
        """The parts of `host:pid:token`; None for an id of another shape."""
        host, _, rest = worker.partition(":")
        pid, _, token = rest.partition(":")
        if not pid.isdigit():
            return None
        _, boot, started = [*token.split("."), "", "", ""][:3]
        if boot and started.isdigit():
            return cls(host, int(pid), boot, int(started))
        return cls(host, int(pid))

    def gone(self) -> bool:
        """Whether this worker ran on this host and is provably not running any more: its
        pid is free, a zombie, or another process's now, or the host has rebooted since."""
        if self.host != HOST:
            return False
        if self.boot is not None and BOOT is not None and self.boot != BOOT:
            return True
        return not process_alive(self.pid, self.started)


def worker_id() -> str:
    """host:pid:token, the token random plus, where known, `.boot.start` (module doc)."""
    token = secrets.token_hex(3)
    started = start_time()
    if BOOT is not None and started is not None:
        token = f"{token}.{BOOT}.{started}"
    return f"{HOST}:{os.getpid()}:{token}"


def is_lost(trial: FrozenTrial, now: float, grace: float, me: str) -> bool:
    if trial.worker == me:
        return False
    name = WorkerName.parse(trial.worker) if trial.worker else None
    if name is not None and name.gone():
        return True
    beat = trial.heartbeat or trial.datetime_start or now
    return now - beat > grace


def _provably_gone(trial: FrozenTrial) -> bool:
    """Whether the trial's worker ran on this host and its process is gone: a stale
    heartbeat alone may hide a live worker that would go on writing into the trial."""
    name = WorkerName.parse(trial.worker) if trial.worker else None
    return name is not None and name.gone()


def retry_lost(storage: BaseStorage, study_id: int, max_retries: int) -> list[FrozenTrial]:
    """Queue a retry (same params) of every lost trial not yet retried `max_retries` times.

    A sweep over all lost trials, not only those this process just failed: a worker
    killed between failing a trial and queueing its retry leaves the retry to the next
    sweep, and `retry_trial` makes sure two workers never queue the same one twice."""
    queued = []
    for t in storage.get_trials(study_id, [TrialState.FAIL], with_reports=False):
        if t.end_cause is EndCause.LOST and t.retried_by is None and t.attempt < max_retries:
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


DEFAULT_HEARTBEAT_S = 10.0


def heartbeat_grace(settings: Mapping[str, Any]) -> float:
    """Seconds without a heartbeat after which a study's workers call a trial lost: the
    study's `heartbeat_grace`, else 4 heartbeat intervals."""
    interval = float(settings.get("heartbeat_interval", DEFAULT_HEARTBEAT_S))
    return float(settings.get("heartbeat_grace", 4 * interval))


class Liveness:
    """A study object's heartbeat, its search for lost trials, and its Ctrl-C record."""

    def __init__(self, study: Study, host: Host) -> None:
        self._study = study
        self._host = host
        settings = study.settings
        self.worker = worker_id()
        self._interval = float(settings.get("heartbeat_interval", DEFAULT_HEARTBEAT_S))
        self._grace = heartbeat_grace(settings)
        self._heartbeat = Heartbeat(self._beat, self._interval)
        self._next_lost_check = 0.0

    def start(self) -> None:
        self._heartbeat.start()

    def stop(self) -> None:
        self._heartbeat.stop()

    def _beat(self) -> None:
        running = self._host.running()
        for trial in running:
            with contextlib.suppress(TrialError, StorageError):
                self._host.flush(trial)
        self._study.storage.heartbeat([t.trial_id for t in running], time.time())

    def fail_lost_trials(self, force: bool = True) -> list[int]:
        """End trials whose worker died as LOST; queue retries if the study asks for them.
        Under a scheduler that pauses, a trial that paused before and whose worker is
        provably gone goes back to PAUSED instead (tunelab.study.repause). Returns the ids
        of both. Without `force`, at most once per heartbeat interval."""
        now = time.time()
        if not force and now < self._next_lost_check:
            return []
        self._next_lost_check = now + self._interval
        study = self._study
        pauses = study.scheduler is not None and study.scheduler.pauses
        repaused: list[int] = []

        def judged(t: FrozenTrial) -> bool:
            """Lost and to be failed; a lost trial that can go back to PAUSED is re-paused
            here instead (or left: another worker changed it first), never failed."""
            if not is_lost(t, time.time(), self._grace, self.worker):
                return False
            if pauses and repause.paused_step(t) is not None and _provably_gone(t):
                if repause.repause(study.storage, t):
                    repaused.append(t.trial_id)
                return False
            return True

        lost = study.storage.fail_lost_trials(study.study_id, judged, reason=LOST_REASON)
        max_retries = int(study.settings.get("max_retries", 0))
        if max_retries and not study.sampler.needs_lock:  # a grid re-runs a lost cell itself
            retry_lost(study.storage, study.study_id, max_retries)
        return lost + repaused

    def interrupt_running(self, reason: str, cause: EndCause = EndCause.INTERRUPTED) -> None:
        """Record every trial this process runs as FAIL with `cause` (INTERRUPTED after
        Ctrl-C; LOST when the process that started this one died), outside the budget.
        Further Ctrl-C is ignored meanwhile, so a second signal cannot cut the record short."""
        previous = signal.getsignal(signal.SIGINT)
        in_main = threading.current_thread() is threading.main_thread()
        if in_main:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for trial in self._host.running():
                self._study.tell(trial, state=TrialState.FAIL, reason=reason, cause=cause)
            # a trial started in storage but not yet known here (Ctrl-C landed between the
            # commit and the handle) is found by its worker id
            study = self._study
            study.storage.fail_lost_trials(
                study.study_id, lambda t: t.worker == self.worker, reason, cause
            )
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)

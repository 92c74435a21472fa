"""Stopping worker processes after Ctrl-C, the same way wherever they run.

`optimize(n_jobs=k)` runs k worker processes and a supervised worker (`tunelab worker
--trials-per-process`, limits) runs trials in child processes; both stop them with
`stop_processes`: each process still running is sent Ctrl-C (it records its running
trial as interrupted and exits) and may take up to `CHILD_STOP_S` seconds; Ctrl-C pressed
again ends the wait at once. Processes left then are killed, and every trial they still
hold RUNNING is recorded here, so no trial is ever left RUNNING by a Ctrl-C.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from tunelab.study.liveness import HOST
from tunelab.types import EndCause

log = logging.getLogger("tunelab")

CHILD_STOP_S = 30.0  # after Ctrl-C, how long worker processes may take to record their trials
POLL_S = 0.05


class CtrlC:
    """While installed (main thread only), Ctrl-C is counted instead of raised wherever
    it lands; the caller looks at `count` between its steps. A process started with
    Ctrl-C ignored (`nohup`, `cmd &` in a script) keeps ignoring it, children too."""

    def __init__(self) -> None:
        self.count = 0
        self._previous: Any = None
        self._installed = False

    def _hit(self, signum: int, frame: Any) -> None:
        self.count += 1

    def __enter__(self) -> CtrlC:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
        ):
            self._previous = signal.signal(signal.SIGINT, self._hit)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def stop_processes(
    procs: Sequence[Any],
    ctrl_c: CtrlC,
    pressed: int,
    reason: str,
    open_study: Callable[[], Any],
    grace_s: float = 0.0,
) -> None:
    """Stop worker processes (multiprocessing.Process) as the module docstring says.

    `pressed`: how many Ctrl-C `ctrl_c` has counted that are not "again". `grace_s`: how
    long processes that the terminal's Ctrl-C reached too may take to stop on their own
    before they are sent one (a process that runs trials takes only the first)."""
    procs = [p for p in procs if p.pid]

    def waiting(alive: list[Any], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while any(p.is_alive() for p in alive):
            if ctrl_c.count > pressed or time.monotonic() >= deadline:
                return
            time.sleep(POLL_S)

    waiting(procs, grace_s)
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGINT)
    if alive:
        log.warning(
            "stopping: %d trial process(es) record their trials; waiting up to %g s "
            "(press Ctrl-C again to stop them now: their trials are recorded either way)",
            len(alive),
            CHILD_STOP_S,
        )
    waiting(alive, CHILD_STOP_S)
    for p in alive:
        if p.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
        p.join()
    record_left_running(open_study, {p.pid for p in procs}, reason)


def record_left_running(open_study: Callable[[], Any], pids: set[int], reason: str) -> None:
    """Record as FAIL, INTERRUPTED, the RUNNING trials of these (exited) worker processes
    of this host. Called on the way out of a Ctrl-C or an error, which goes on: a failure
    here is logged, not raised."""
    ours = {f"{HOST}:{pid}" for pid in pids}
    try:
        study = open_study()
        left = study.storage.fail_lost_trials(
            study.study_id,
            lambda t: (t.worker or "").rpartition(":")[0] in ours,
            reason,
            EndCause.INTERRUPTED,
        )
    except Exception as e:
        log.error("could not record the trials of the stopped worker processes: %s", e)
        return
    for trial_id in left:
        log.warning("trial id %d: its process stopped; recorded as %s", trial_id, reason)

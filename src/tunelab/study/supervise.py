"""The one worker-process model: trials run in child processes that a supervisor
watches and replaces. `optimize(n_jobs=k)` is k slots, `gpus` one per device and trial
sharing it (gpus.py); `tunelab worker` adds recycling and limits (`Hygiene`).

Each slot (one per concurrent trial; with GPUs, one per device) runs a child
process forked from the worker. The child runs ordinary `run_trials` and tells
the supervisor through its own pipe when a trial starts and ends. The
supervisor replaces a child after `trials_per_process` trials or once its
memory passes `max_rss_mb` (leaks die with it), and fails only the trial that
runs past `trial_timeout` seconds or `trial_memory_mb` MiB: it records the
trial as FAIL (KILLED) with the reason first, then kills the child, so the limit's
reason is what the study keeps. A child that dies on its own (a segfault, the
kernel's OOM killer) fails its trial (KILLED) with the signal as the reason, and
another child takes its place. A child that stops on an error (a TunelabError, or
`max_consecutive_failures` in a row) stops the whole run with that message.

Ctrl-C: each child records its running trial as interrupted (outside the budget)
and exits; a child heeds only the first Ctrl-C, so the terminal's and the
supervisor's signals cannot cut that record short. The supervisor takes Ctrl-C
only between its own steps (never mid-fork or mid-write), gives the children up
to `CHILD_STOP_S` seconds (or until Ctrl-C is pressed again), kills those left,
and then records as interrupted every trial its children still hold RUNNING: a
child killed or hung while recording, or interrupted between starting a trial
and knowing it had, loses no record.

A supervisor killed outright (kill -9) takes its children with it within moments:
each records its running trial as LOST and exits (parent_death.py).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tunelab._process import exit_now, rss_mb
from tunelab.errors import ConfigurationError, TunelabError
from tunelab.study.gpus import check_cuda_fork
from tunelab.study.liveness import INTERRUPTED, ORPHANED
from tunelab.study.optimize import (
    Callback,
    Objective,
    RunPlan,
    describe_error,
    run_trials,
    stop_requested,
)
from tunelab.study.parent_death import ParentLink, ParentWatch, die_with_parent
from tunelab.study.stopping import CtrlC, stop_processes
from tunelab.trial import Trial
from tunelab.types import EndCause, TrialState

if TYPE_CHECKING:
    from tunelab.study.study import Study

log = logging.getLogger("tunelab")

POLL_S = 0.05
MAX_CRASHES_IN_ROW = 5
STOPPED_ON_ERROR = "interrupted: its worker stopped on an error"


@dataclass(frozen=True)
class Hygiene:
    """How a worker runs its trials; every field None/empty means 'in this process'."""

    slots: int = 1  # concurrent trials
    gpus: tuple[str, ...] = ()  # one CUDA_VISIBLE_DEVICES value per slot
    trials_per_process: int | None = None
    max_rss_mb: float | None = None
    trial_timeout: float | None = None
    trial_memory_mb: float | None = None

    def __post_init__(self) -> None:
        if self.gpus and len(self.gpus) != self.slots:
            raise ConfigurationError(
                f"give one GPU per concurrent trial: {self.slots} slots but gpus={self.gpus!r}"
            )
        for name in ("trials_per_process", "max_rss_mb", "trial_timeout", "trial_memory_mb"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigurationError(f"{name} must be > 0 or None, got {value!r}")

    @property
    def recycles(self) -> bool:
        """Whether children are replaced along the way (each replacement starts cold)."""
        return self.trials_per_process is not None or self.max_rss_mb is not None

    @property
    def needs_children(self) -> bool:
        return (
            self.slots > 1
            or bool(self.gpus)
            or any(
                v is not None
                for v in (
                    self.trials_per_process,
                    self.max_rss_mb,
                    self.trial_timeout,
                    self.trial_memory_mb,
                )
            )
        )


def _child_main(
    open_study: Callable[[], Study],
    objective: Objective,
    plan: RunPlan,
    callbacks: Sequence[Callback],
    conn: Any,
    gpu: str | None,
    parent: ParentLink,
) -> None:
    """Run trials and say what happens: ('start', id), ('end', id), then ('exit', why).
    Dies with the supervisor (parent_death.py)."""
    opened: list[Study] = []
    die_with_parent(parent, lambda: _lose_running(opened))
    if gpu is not None:  # before the objective's torch initialises CUDA
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu

    def watched(trial: Trial) -> Any:
        conn.send(("start", trial.trial_id))
        return objective(trial)

    def ended(study: Study, frozen: Any) -> None:
        conn.send(("end", frozen.trial_id))

    try:
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, _interrupt_once)  # not the supervisor's, inherited
        _sigint_blocked(False)  # a Ctrl-C sent during the fork arrives now
        if gpu is not None:
            check_cuda_fork()
        study = open_study()
        opened.append(study)
        done = run_trials(study, watched, plan, [*callbacks, ended])
        spent = plan.trials_per_process is not None and done >= plan.trials_per_process
        big = plan.max_rss_mb is not None and (rss_mb() or 0.0) > plan.max_rss_mb
        conn.send(("exit", "recycle" if spent or big else "done"))
    except KeyboardInterrupt:
        conn.send(("exit", "interrupted"))
        exit_now(130)
    except BaseException as e:
        if _after_ctrl_c(e):  # cleanup failed on the way out (Ctrl-C mid-thread start…)
            log.warning("trial process %d: %s after Ctrl-C", os.getpid(), describe_error(e))
            with contextlib.suppress(Exception):
                conn.send(("exit", "interrupted"))
            exit_now(130)
        with contextlib.suppress(Exception):
            conn.send(("error", str(e) if isinstance(e, TunelabError) else describe_error(e)))
        exit_now(1)
    conn.close()
    exit_now(0)


def _lose_running(opened: list[Study]) -> None:
    """An orphaned child's record: its running trial is LOST, as a dead worker's is."""
    for study in opened:
        study.interrupt_running(ORPHANED, EndCause.LOST)


def _after_ctrl_c(error: BaseException) -> bool:
    """Whether `error` was raised while a Ctrl-C was being handled."""
    seen: BaseException | None = error.__context__
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__context__
    return False


def _interrupt_once(signum: int, frame: Any) -> None:
    """A child's Ctrl-C: the first interrupts it; later ones (the terminal's, the
    supervisor's, a user's pressing again) are ignored, so that none can cut short the
    recording of its trial or its exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _sigint_blocked(blocked: bool) -> None:
    """Hold Ctrl-C back (pending, not lost) while a child is forked, until it has its own
    handler; where the platform cannot, do nothing."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK if blocked else signal.SIG_UNBLOCK, {signal.SIGINT})


def _preload() -> None:
    """Import once, before forking, what model-based samplers load on first use (scipy.stats
    takes ~2 s): otherwise every replacement child pays for it again in its first trial."""
    with contextlib.suppress(ImportError):
        importlib.import_module("scipy.stats")


class _Slot:
    """One concurrent trial's child process, replaced as needed."""

    def __init__(self, index: int, gpu: str | None) -> None:
        self.index = index
        self.gpu = gpu
        self.proc: Any = None
        self.conn: Any = None
        self.trial: int | None = None
        self.trial_start = 0.0
        self.exit_reason: str | None = None
        self.killed_for: str | None = None
        self.finished = False
        self.crashes = 0


class Supervisor:
    """Keeps `hygiene.slots` children running trials until the study's work is done."""

    def __init__(
        self,
        study: Study,
        open_study: Callable[[], Study],
        objective: Objective,
        plan: RunPlan,
        hygiene: Hygiene,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.study = study
        self.open_study = open_study
        self.objective = objective
        self.plan = replace(
            plan,
            trials_per_process=hygiene.trials_per_process,
            max_rss_mb=hygiene.max_rss_mb,
        )
        self.hygiene = hygiene
        self.callbacks = list(callbacks)
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        self.ctx: Any = mp.get_context(method)
        gpus = hygiene.gpus or (None,) * hygiene.slots
        self.slots = [_Slot(i, gpu) for i, gpu in enumerate(gpus)]
        self.parent_watch = ParentWatch(self.ctx)  # open until run() returns
        self.started = 0  # children started, for tests and status

    # -- children -------------------------------------------------------------------------
    def _start(self, slot: _Slot) -> None:
        self.study.storage.close()  # no pooled connection may cross a fork
        parent, child = self.ctx.Pipe(duplex=False)
        slot.proc = self.ctx.Process(
            target=_child_main,
            args=(
                self.open_study,
                self.objective,
                self.plan,
                self.callbacks,
                child,
                slot.gpu,
                self.parent_watch.link(),
            ),
            name=f"tunelab-trial-{slot.index}",
            daemon=False,
        )
        _sigint_blocked(True)
        try:
            slot.proc.start()
        finally:
            _sigint_blocked(False)
        child.close()
        slot.conn, slot.trial, slot.exit_reason, slot.killed_for = parent, None, None, None
        self.started += 1

    def _drain(self, slot: _Slot) -> None:
        with contextlib.suppress(EOFError, OSError):
            while slot.conn.poll():
                kind, value = slot.conn.recv()
                if kind == "start":
                    slot.trial, slot.trial_start = int(value), time.monotonic()
                elif kind == "end":
                    slot.trial = None
                    slot.crashes = 0
                elif kind == "exit":
                    slot.exit_reason = str(value)
                elif kind == "error":
                    raise TunelabError(str(value))

    def _over_limit(self, slot: _Slot) -> str | None:
        if slot.trial is None:
            return None
        h = self.hygiene
        elapsed = time.monotonic() - slot.trial_start
        if h.trial_timeout is not None and elapsed > h.trial_timeout:
            return f"trial time limit: ran past {h.trial_timeout:g} s and was stopped"
        if h.trial_memory_mb is not None:
            rss = rss_mb(slot.proc.pid)
            if rss is not None and rss > h.trial_memory_mb:
                return (
                    f"trial memory limit: used {rss:.0f} MiB, over {h.trial_memory_mb:g} MiB, "
                    "and was stopped"
                )
        return None

    def _fail_trial(self, trial_id: int, reason: str) -> None:
        stored = self.study.storage.finish_trial(
            trial_id, TrialState.FAIL, reason=reason, end_cause=EndCause.KILLED
        )
        if stored:
            log.warning("trial id %d failed: %s", trial_id, reason)

    def _check(self, slot: _Slot) -> None:
        """Enforce the limits on a running child; handle one that has exited."""
        self._drain(slot)
        if slot.proc.is_alive():
            reason = self._over_limit(slot)
            if reason is not None and slot.trial is not None:
                self._fail_trial(slot.trial, reason)  # first the record
                slot.killed_for = reason
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.proc.pid, signal.SIGKILL)
                slot.proc.join()
                slot.trial = None
            else:
                return
        slot.proc.join()
        self._drain(slot)
        slot.conn.close()
        code = slot.proc.exitcode
        if slot.killed_for is not None or slot.exit_reason == "recycle":
            self._after_child(slot, again=True)
        elif slot.exit_reason == "done" and code == 0:
            self._after_child(slot, again=False)
        elif slot.exit_reason == "interrupted" or code == 130:
            raise KeyboardInterrupt
        else:  # died on its own: fail its trial, start another
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            if slot.trial is not None:
                self._fail_trial(
                    slot.trial, f"the process running the trial died ({how}); out of memory?"
                )
            slot.crashes += 1
            if slot.crashes >= MAX_CRASHES_IN_ROW:
                raise TunelabError(
                    f"{slot.crashes} trial processes in a row died ({how}); "
                    "fix the objective or raise the memory available, then rerun"
                )
            self._after_child(slot, again=True)

    def _after_child(self, slot: _Slot, again: bool) -> None:
        if again and self.plan.time_left() and not stop_requested(self.study, self.plan.started_at):
            self._start(slot)
        else:
            slot.finished = True

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> int:
        """Run until every slot is finished; return how many child processes were started."""
        if self.hygiene.recycles:
            _preload()
        with CtrlC() as sigint:
            try:
                for slot in self.slots:
                    self._start(slot)
                while not all(s.finished for s in self.slots):
                    for slot in self.slots:
                        if not slot.finished:
                            self._check(slot)
                    if sigint.count:
                        raise KeyboardInterrupt
                    self._wait()
            except KeyboardInterrupt:
                self._stop_children(sigint, INTERRUPTED)
                raise
            except BaseException:
                self._stop_children(sigint, STOPPED_ON_ERROR)
                raise
            finally:
                self.parent_watch.close()  # every child has exited
        return self.started

    def _wait(self) -> None:
        """Until a child says something or exits, or POLL_S passes (when the limits and
        Ctrl-C are checked again)."""
        live = [s for s in self.slots if not s.finished]  # every one started: it has a process
        mp_connection.wait([s.conn for s in live] + [s.proc.sentinel for s in live], POLL_S)

    def _stop_children(self, sigint: CtrlC, reason: str) -> None:
        """Stop the children; afterwards none of their trials is left RUNNING.

        Each child is sent Ctrl-C (one the terminal already reached ignores it) and may
        take up to CHILD_STOP_S seconds to record its trial and exit; Ctrl-C pressed again
        ends the wait. Children still alive then are killed, and whatever trial of theirs
        is still RUNNING is recorded here as interrupted, with `reason`."""
        procs = [s.proc for s in self.slots if s.proc is not None]
        # The Ctrl-C that stopped the loop may be counted yet (the terminal sent it to the
        # children too): only a count past it, and past 1, is the user pressing again.
        stop_processes(procs, sigint, max(sigint.count, 1), reason, lambda: self.study)
